// Starts real nginx / Apache / lighttpd / Caddy instances from the shipped example-app/deploy configs.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { chown, mkdir, mkdtemp, readFile, realpath, rm, writeFile } from 'node:fs/promises';
import { createConnection, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startNext, type RunningNext } from './next-server.js';
import { resolveBinary } from './system.js';

export type ProxyKind = 'nginx' | 'apache' | 'lighttpd' | 'caddy';
export const PROXY_KINDS: readonly ProxyKind[] = ['nginx', 'apache', 'lighttpd', 'caddy'];

export interface ProxyOptions {
  /** Port of the app (`next start` or a test upstream) on 127.0.0.1. */
  upstreamPort: number;
  /** Directory of the offloaded files; resolved to its real path before rendering. */
  mediaRoot: string;
  /** Where the rendered config, pid file and logs go. Default: a new dir under os.tmpdir(), removed by stop(). */
  runtimeDir?: string;
  /**
   * Further template values, e.g. nginx's remote-file `RESOLVER` (default `127.0.0.53`) and
   * `CA_FILE` (default `/etc/ssl/certs/ca-certificates.crt`).
   */
  templateValues?: Record<string, string>;
  /** Port to listen on (127.0.0.1). Default: a free one. */
  port?: number;
  /** Changes the rendered config before the proxy reads it (the bench adds a static location). */
  configure?: (config: string) => string;
}

export interface RunningProxy {
  kind: ProxyKind;
  port: number;
  url: string;
  pid: number;
  stop(): Promise<void>;
}

const DEPLOY_DIR = fileURLToPath(new URL('../../example-app/deploy/', import.meta.url));
const APACHE_MODULES_DIR = '/usr/lib/apache2/modules';
const START_TIMEOUT_MS = 15_000;
const STOP_TIMEOUT_MS = 10_000;

const TEMPLATE: Record<ProxyKind, string> = {
  nginx: 'nginx.conf',
  apache: 'apache.conf',
  lighttpd: 'lighttpd.conf',
  caddy: 'Caddyfile',
};

/**
 * The environment that makes the fixture app's routes offload to `kind` when it serves files from
 * `mediaRoot` (explicit rules for nginx, which needs them; the others map paths one to one).
 */
export function offloadEnv(kind: ProxyKind, mediaRoot: string): Record<string, string> {
  return kind === 'nginx' ? { DOWNLOADVIEW_BACKEND: 'nginx', DOWNLOADVIEW_RULES: `${mediaRoot}=/_protected/media` } : { DOWNLOADVIEW_BACKEND: kind };
}

/** `next start` of `appDir` offloading files under `mediaRoot` to a started `kind` in front of it. */
export async function startOffloading(kind: ProxyKind, appDir: string, mediaRoot: string, env: NodeJS.ProcessEnv = {}): Promise<{ next: RunningNext; proxy: RunningProxy; stop(): Promise<void> }> {
  const next = await startNext(appDir, { MEDIA_ROOT: mediaRoot, ...offloadEnv(kind, mediaRoot), ...env });
  const proxy = await startProxy(kind, { upstreamPort: next.port, mediaRoot }).catch(async (error: unknown) => {
    await next.stop();
    throw error;
  });
  return {
    next,
    proxy,
    async stop() {
      await proxy.stop();
      await next.stop();
    },
  };
}

/** Replaces every `{{NAME}}`; throws if one has no value, so a template and its caller never drift apart. */
export function renderTemplate(text: string, values: Record<string, string>): string {
  const rendered = text.replace(/\{\{([A-Za-z0-9_]+)\}\}/g, (match, name: string) =>
    Object.hasOwn(values, name) ? values[name]! : match,
  );
  const left = rendered.match(/\{\{[^{}]*\}\}/g);
  if (left) throw new Error(`renderTemplate: no value for ${[...new Set(left)].join(', ')}`);
  return rendered;
}

/** Every `{{NAME}}` the shipped configs use, for a proxy on `port` in front of `upstreamPort`. */
export function templateValuesFor(where: { port: number; upstreamPort: number; mediaRoot: string; runtimeDir: string }): Record<string, string> {
  return {
    LISTEN_PORT: String(where.port),
    UPSTREAM: `127.0.0.1:${where.upstreamPort}`,
    UPSTREAM_HOST: '127.0.0.1',
    UPSTREAM_PORT: String(where.upstreamPort),
    MEDIA_ROOT: where.mediaRoot,
    RUNTIME_DIR: where.runtimeDir,
    MODULES_DIR: APACHE_MODULES_DIR,
    // nginx's remote-file location: the resolver for storage hostnames and the CA bundle it verifies against.
    RESOLVER: '127.0.0.53',
    CA_FILE: '/etc/ssl/certs/ca-certificates.crt',
  };
}

export async function startProxy(kind: ProxyKind, options: ProxyOptions): Promise<RunningProxy> {
  const mediaRoot = await realpath(options.mediaRoot);
  checkPathForConfig('mediaRoot', mediaRoot);
  // Caddy 2.6's `uri strip_prefix` never matches a non-ASCII prefix (see the Caddyfile header).
  if (kind === 'caddy' && /[^\x20-\x7e]/.test(mediaRoot)) {
    throw new Error(`startProxy(caddy): mediaRoot must be ASCII for Caddy 2.6, got ${mediaRoot}`);
  }
  const ownsRuntimeDir = options.runtimeDir === undefined;
  const runtimeDir = options.runtimeDir ?? (await mkdtemp(join(tmpdir(), `ndv-${kind}-`)));
  await mkdir(runtimeDir, { recursive: true });
  checkPathForConfig('runtimeDir', runtimeDir);

  // As root, run the proxy as `nobody`, like a packaged service's workers: nginx and Apache would
  // switch users anyway (Apache refuses to serve as root), and a permission problem in a config
  // should show up here rather than in production.
  const ids = process.getuid?.() === 0 ? nobodyIds() : undefined;
  if (ids) {
    await chown(runtimeDir, ids.uid, ids.gid);
    const probe = spawnSync('test', ['-r', mediaRoot, '-a', '-x', mediaRoot], { ...ids });
    if (probe.status !== 0) {
      throw new Error(
        `startProxy(${kind}): ${mediaRoot} is not readable by nobody (uid ${ids.uid}), which the proxy runs as ` +
          'under root. fs.mkdtemp creates 0700 directories: chmod 0755 the media root and its parents.',
      );
    }
  }

  let lastError: unknown;
  // A port found free can be taken before the proxy binds it; try a few times.
  for (let attempt = 0; attempt < (options.port === undefined ? 3 : 1); attempt++) {
    const port = options.port ?? (await freePort());
    const values = { ...templateValuesFor({ port, upstreamPort: options.upstreamPort, mediaRoot, runtimeDir }), ...options.templateValues };
    const configPath = join(runtimeDir, TEMPLATE[kind]);
    const template = await readFile(join(DEPLOY_DIR, TEMPLATE[kind]), 'utf8');
    const rendered = renderTemplate(template, values);
    await writeFile(configPath, options.configure ? options.configure(rendered) : rendered);

    const { command, args, env } = commandFor(kind, configPath, runtimeDir);
    const child = spawn(resolveBinary(command), args, {
      cwd: runtimeDir,
      env: { ...process.env, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: false,
      ...ids,
    });
    const output = captureOutput(child);
    let spawnError: Error | undefined;
    const exited = new Promise<void>((resolve) => {
      child.once('exit', () => resolve());
      child.once('error', (error) => {
        spawnError = error; // e.g. ENOENT: the proxy is not installed (scripts/install-system-deps.sh)
        resolve();
      });
    });
    try {
      await waitForPort(port, child, exited);
      if (spawnError) throw spawnError;
      const pid = child.pid!;
      return {
        kind,
        port,
        url: `http://127.0.0.1:${port}`,
        pid,
        async stop() {
          await stopChild(child, exited);
          if (ownsRuntimeDir) await rm(runtimeDir, { recursive: true, force: true });
        },
      };
    } catch (caught) {
      const error = spawnError ?? caught;
      await stopChild(child, exited);
      const errorLog = await readFile(join(runtimeDir, 'error.log'), 'utf8').catch(() => '');
      lastError = new Error(
        `startProxy(${kind}) on port ${port}: ${(error as Error).message}\n` +
          `--- output ---\n${output().trim()}\n--- ${runtimeDir}/error.log ---\n${errorLog.trim()}`,
      );
      if (!/in use|EADDRINUSE/i.test(String((lastError as Error).message))) break;
    }
  }
  if (ownsRuntimeDir) await rm(runtimeDir, { recursive: true, force: true });
  throw lastError;
}

function commandFor(kind: ProxyKind, config: string, runtimeDir: string) {
  switch (kind) {
    case 'nginx':
      // -e: nginx opens its compiled-in error log before reading the config.
      return {
        command: 'nginx',
        args: ['-p', runtimeDir, '-e', join(runtimeDir, 'error.log'), '-c', config, '-g', 'daemon off;'],
        env: {},
      };
    case 'apache':
      return { command: 'apache2', args: ['-f', config, '-DFOREGROUND'], env: {} };
    case 'lighttpd':
      return { command: 'lighttpd', args: ['-D', '-f', config], env: {} };
    case 'caddy':
      // Caddy autosaves its config under XDG_CONFIG_HOME and keeps data under XDG_DATA_HOME.
      return {
        command: 'caddy',
        args: ['run', '--adapter', 'caddyfile', '--config', config],
        env: { HOME: runtimeDir, XDG_CONFIG_HOME: runtimeDir, XDG_DATA_HOME: runtimeDir },
      };
  }
}

/** The config files quote these paths; a quote, backslash, `$` or braces would change their meaning. */
function checkPathForConfig(name: string, path: string): void {
  if (/["'`\\${};\x00-\x1f\x7f]/.test(path)) {
    throw new Error(`startProxy: ${name} contains a character the proxy configs cannot quote: ${path}`);
  }
}

function nobodyIds(): { uid: number; gid: number } {
  const line = readFileSync('/etc/passwd', 'utf8')
    .split('\n')
    .find((l) => l.startsWith('nobody:'));
  const [, , uid, gid] = line?.split(':') ?? [];
  return { uid: Number(uid ?? 65534), gid: Number(gid ?? 65534) };
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

function captureOutput(child: ChildProcess): () => string {
  let text = '';
  const append = (chunk: Buffer) => {
    text = (text + chunk.toString('utf8')).slice(-32_768);
  };
  child.stdout?.on('data', append);
  child.stderr?.on('data', append);
  return () => text;
}

async function waitForPort(port: number, child: ChildProcess, exited: Promise<void>): Promise<void> {
  const deadline = Date.now() + START_TIMEOUT_MS;
  let gone = false;
  void exited.then(() => (gone = true));
  while (Date.now() < deadline) {
    if (gone) throw new Error(`exited during startup (code ${child.exitCode}, signal ${child.signalCode})`);
    if (await canConnect(port)) {
      // Whoever took the port first also accepts connections: ours is up only if it is still running
      // a moment later (a proxy that could not bind exits at once, and startup is retried).
      await new Promise((resolve) => setTimeout(resolve, 200));
      if (gone) throw new Error(`exited during startup (code ${child.exitCode}, signal ${child.signalCode})`);
      return;
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error(`did not accept connections within ${START_TIMEOUT_MS} ms`);
}

function canConnect(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = createConnection({ host: '127.0.0.1', port });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

async function stopChild(child: ChildProcess, exited: Promise<void>): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  // SIGTERM: nginx's and Apache's parents stop their workers before exiting, so the port is free
  // once the parent is gone.
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), STOP_TIMEOUT_MS);
  await exited;
  clearTimeout(timer);
}
