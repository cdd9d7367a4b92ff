/**
 * The server stacks the bench starts fresh for every round: a `next start` of bench/app (alone, with
 * glibc's heap thresholds raised, or behind a proxy from example-app/deploy), nginx serving the files
 * itself, and a plain Node server with `send`. Every target in bench/plan.ts names one. The remote
 * stacks (`next-remote`, `next-redirect`, `next-nginx-remote`) reach the Blob store of
 * bench/remote-store.ts, which is started once per run (storage outlives the app).
 */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { freePort, startNext } from '../test/helpers/next-server.js';
import { PROXY_KINDS, startProxy, type ProxyKind } from '../test/helpers/proxies.js';
import { withRemoteDirectLocation, withStaticLocation } from './proxy-static.js';
import { BLOB_PREFIX, type BenchStore } from './remote-store.js';

const benchDir = path.dirname(fileURLToPath(import.meta.url));
export const benchAppDir = path.join(benchDir, 'app');

export interface RunningStack {
  /** Base URL the load generator and the byte checks use (the proxy, when there is one). */
  front: string;
  /** The Next server's own port behind a proxy, where offload answers are checked. */
  appPort?: number;
  /** The process whose RSS is the server's memory (Next, or the Node server). */
  pid: number;
  /** Processes whose trees do the serving (Next and the proxy in front): their CPU is measured. */
  cpuRoots: number[];
  stop(): Promise<void>;
}

export interface StackContext {
  /** Real path of the generated files (1k.bin, 100m.bin, 1g.bin), readable by `nobody`. */
  mediaRoot: string;
  /** The run's Blob store, started on first use (remote stacks only). */
  store(): Promise<BenchStore>;
}

type Env = Record<string, string>;

export type StartStack = (context: StackContext) => Promise<RunningStack>;

/** What a proxy stack adds to the shipped config and its template values. */
interface ProxySetup {
  kind: ProxyKind;
  templateValues?: Record<string, string>;
  configure(config: string): string;
}

/** The shipped config as is, plus the media root served by the proxy itself at STATIC_PREFIX. */
const withStatic = (kind: ProxyKind) => (context: StackContext): ProxySetup => ({ kind, configure: (config) => withStaticLocation(kind, config, context.mediaRoot) });

/** The bench app's environment for the store: the dispatcher preload, API URL and token. */
const storeEnv = async (context: StackContext, extra: Env = {}): Promise<Env> => ({ ...(await context.store()).nextEnv, ...extra });

/** A fresh `next start` of the bench app with `env`, and the proxy `kind` in front when given. */
function benchApp(env: (context: StackContext) => Env | Promise<Env>, proxySetup?: (context: StackContext) => ProxySetup | Promise<ProxySetup>): StartStack {
  return async (context) => {
    const next = await startNext(benchAppDir, { BENCH_MEDIA_ROOT: context.mediaRoot, ...(await env(context)) });
    if (!proxySetup) return { front: next.url, pid: next.pid, cpuRoots: [next.pid], stop: () => next.stop() };
    try {
      const { kind, templateValues, configure } = await proxySetup(context);
      const proxy = await startProxy(kind, { upstreamPort: next.port, mediaRoot: context.mediaRoot, ...(templateValues ? { templateValues } : {}), configure });
      return {
        front: proxy.url,
        appPort: next.port,
        pid: next.pid,
        cpuRoots: [next.pid, proxy.pid],
        async stop() {
          await proxy.stop();
          await next.stop();
        },
      };
    } catch (error) {
      await next.stop();
      throw error;
    }
  };
}

/** The stacks that need the run's Blob store (its start-up counts once in the estimate). */
export const REMOTE_STACKS: readonly string[] = ['next-remote', 'next-redirect', 'next-nginx-remote'];

export const stacks: Readonly<Record<string, StartStack>> = {
  next: benchApp(() => ({})),
  // glibc gives freed heap back to the kernel once enough sits free at the top; the next chunks are
  // then fresh pages the kernel must fault in and zero. A larger trim threshold keeps it for reuse.
  // Setting it turns off glibc's adaptive mmap threshold, which must then be set above the 256 KiB
  // chunk size too, or every chunk is mmap'd and faulted in afresh.
  'next-malloc': benchApp(() => ({ MALLOC_TRIM_THRESHOLD_: String(128 * 1024 * 1024), MALLOC_MMAP_THRESHOLD_: String(1024 * 1024) })),
  // The library behind a real proxy, configured as the docs recommend: DOWNLOADVIEW_BACKEND (read by
  // the library and by the hand-written offload route alike) and the Content-Length hook, so both
  // routes' empty offload answers carry `Content-Length: 0` and nginx and Caddy reuse connections.
  ...Object.fromEntries(
    PROXY_KINDS.map((kind) => [
      `next-${kind}`,
      benchApp(
        (context) => ({
          BENCH_LENGTH_HOOK: '1',
          DOWNLOADVIEW_BACKEND: kind,
          // nginx maps the root to its internal location; the others see the same paths (identity).
          ...(kind === 'nginx' ? { DOWNLOADVIEW_RULES: `${context.mediaRoot}=/_protected/media` } : {}),
        }),
        withStatic(kind),
      ),
    ]),
  ),
  // Remote sources (issue #16): streamed, redirected, and offloaded to nginx, which then resolves
  // the object host with the store's DNS server and verifies its certificate against the test CA.
  'next-remote': benchApp((context) => storeEnv(context)),
  'next-redirect': benchApp((context) => storeEnv(context, { DOWNLOADVIEW_BACKEND: 'redirect' })),
  'next-nginx-remote': benchApp(
    (context) => storeEnv(context, { BENCH_LENGTH_HOOK: '1', DOWNLOADVIEW_BACKEND: 'nginx', DOWNLOADVIEW_RULES: `${context.mediaRoot}=/_protected/media` }),
    async (context) => {
      const store = await context.store();
      return {
        kind: 'nginx',
        templateValues: { RESOLVER: `127.0.0.1:${store.dns.port}`, CA_FILE: store.world.certificates.caFile },
        configure: (config) => withRemoteDirectLocation(config, store.publicOrigin, BLOB_PREFIX.public),
      };
    },
  ),
  'nginx-static': (context) => startNginxStatic(context.mediaRoot),
  'node-send': (context) => startSendServer(context.mediaRoot),
};

async function startNginxStatic(mediaRoot: string): Promise<RunningStack> {
  const runtimeDir = await mkdtemp(path.join(tmpdir(), 'ndv-bench-nginx-'));
  const port = await freePort();
  const template = await readFile(path.join(benchDir, 'nginx-static.conf'), 'utf8');
  const config = path.join(runtimeDir, 'nginx.conf');
  await writeFile(config, template.replaceAll('{{LISTEN_PORT}}', String(port)).replaceAll('{{MEDIA_ROOT}}', mediaRoot).replaceAll('{{RUNTIME_DIR}}', runtimeDir));
  const child = spawn('/usr/sbin/nginx', ['-p', runtimeDir, '-e', path.join(runtimeDir, 'error.log'), '-c', config, '-g', 'daemon off;'], { stdio: ['ignore', 'pipe', 'pipe'] });
  return ready(child, `http://127.0.0.1:${port}`, async () => rm(runtimeDir, { recursive: true, force: true }));
}

async function startSendServer(mediaRoot: string): Promise<RunningStack> {
  const port = await freePort();
  const child = spawn(process.execPath, [path.join(benchDir, 'send-server.mjs'), String(port), mediaRoot], { stdio: ['ignore', 'pipe', 'pipe'] });
  return ready(child, `http://127.0.0.1:${port}`, async () => undefined);
}

/** Wait until `url` answers (any status), then hand out a stop() that SIGTERMs and waits. */
async function ready(child: ReturnType<typeof spawn>, url: string, cleanup: () => Promise<void>): Promise<RunningStack> {
  let output = '';
  child.stdout?.on('data', (chunk) => (output += chunk));
  child.stderr?.on('data', (chunk) => (output += chunk));
  const exited = once(child, 'exit');
  const stop = async (): Promise<void> => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
      await exited;
      clearTimeout(timer);
    }
    await cleanup();
  };
  const deadline = Date.now() + 15_000;
  for (;;) {
    if (child.exitCode !== null) {
      await cleanup();
      throw new Error(`${url}: server exited with ${child.exitCode}:\n${output}`);
    }
    try {
      await fetch(`${url}/__ready`, { signal: AbortSignal.timeout(1000) });
      return { front: url, pid: child.pid!, cpuRoots: [child.pid!], stop };
    } catch {
      if (Date.now() > deadline) {
        await stop();
        throw new Error(`${url}: no answer within 15 s:\n${output}`);
      }
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }
}
