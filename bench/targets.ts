/** The benchmark targets: how to start each one fresh, and which URLs serve the three files. */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { freePort, startNext } from '../test/helpers/next-server.js';
import { PROXY_KINDS, startProxy, type ProxyKind } from '../test/helpers/proxies.js';

const benchDir = path.dirname(fileURLToPath(import.meta.url));
export const benchAppDir = path.join(benchDir, 'app');

export interface Running {
  url: string;
  /** The process whose memory is reported (the Next server for Next targets). */
  pid: number;
  /** Processes whose trees do the serving (Next, and the proxy in front): their CPU is measured. */
  cpuRoots: number[];
  stop(): Promise<void>;
}

export interface BenchContext {
  /** Real path of the generated files (1k.bin, 100m.bin, 1g.bin), readable by `nobody`. */
  mediaRoot: string;
}

export interface Target {
  id: string;
  label: string;
  /** Path serving the 1 KiB file (or 1 KiB from memory). */
  small: string;
  /** Path prefix serving any generated file (`${files}100m.bin`); absent for 1-KiB-only targets. */
  files?: string;
  /** Whether the target implements Range (checked with one 206). */
  range: boolean;
  /** Whether the Next server's RSS is measured under 8 concurrent large downloads. */
  memory: boolean;
  start(context: BenchContext): Promise<Running>;
}

type Paths = Pick<Target, 'small' | 'files' | 'range' | 'memory'>;
type EnvFor = (context: BenchContext) => NodeJS.ProcessEnv;

/** A fresh `next start` of the bench app (with `env`) on this run's media root. */
function nextTarget(id: string, label: string, paths: Paths, env: EnvFor = () => ({})): Target {
  return { id, label, ...paths, start: (context) => startBenchApp(context, env) };
}

/** The same, with the proxy from example-app/deploy in front of it. */
function behindProxy(kind: ProxyKind, id: string, label: string, paths: Paths, env: EnvFor = () => ({})): Target {
  return { id, label, ...paths, start: (context) => startBenchApp(context, env, kind) };
}

async function startBenchApp(context: BenchContext, env: EnvFor, proxyKind?: ProxyKind): Promise<Running> {
  const next = await startNext(benchAppDir, { BENCH_MEDIA_ROOT: context.mediaRoot, ...env(context) });
  if (!proxyKind) return { url: next.url, pid: next.pid, cpuRoots: [next.pid], stop: () => next.stop() };
  try {
    const proxy = await startProxy(proxyKind, { upstreamPort: next.port, mediaRoot: context.mediaRoot });
    return {
      url: proxy.url,
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
}

/**
 * The library behind a real proxy: `next start` with DOWNLOADVIEW_BACKEND, and the proxy in front.
 * With the Content-Length hook, as the README recommends behind a proxy: the empty offload
 * responses carry `Content-Length: 0`, so nginx and Caddy keep their connections to Next.
 */
function offloadTarget(kind: ProxyKind, label: string): Target {
  return behindProxy(kind, `lib-${kind}`, label, { small: '/files/1k.bin', files: '/files/', range: true, memory: false }, (context) => ({
    BENCH_LENGTH_HOOK: '1',
    DOWNLOADVIEW_BACKEND: kind,
    // nginx maps the root to its internal location; the others see the same paths (identity).
    ...(kind === 'nginx' ? { DOWNLOADVIEW_RULES: `${context.mediaRoot}=/_protected/media` } : {}),
  }));
}

const proxyName: Record<ProxyKind, string> = { nginx: 'nginx', apache: 'Apache', lighttpd: 'lighttpd', caddy: 'Caddy' };

export const targets: readonly Target[] = [
  {
    id: 'nginx-static',
    label: 'nginx static',
    small: '/1k.bin',
    files: '/',
    range: true,
    memory: false,
    start: (context) => startNginxStatic(context.mediaRoot),
  },
  {
    id: 'node-send',
    label: 'Node http + send',
    small: '/1k.bin',
    files: '/',
    range: true,
    // Measured for memory too: Node's own floor for streaming, without Next or web streams.
    memory: true,
    start: (context) => startSendServer(context.mediaRoot),
  },
  nextTarget('next-public', 'Next public/', { small: '/1k.bin', files: '/', range: true, memory: true }),
  nextTarget('next-bare', 'Next bare handler (1 KiB in memory)', { small: '/bare', range: false, memory: false }),
  nextTarget('next-bare-param', 'Next bare handler on [...path] (1 KiB in memory)', { small: '/bare-param/1k.bin', range: false, memory: false }),
  nextTarget('next-bare-headers', "Next bare handler on [...path] with the library's headers", { small: '/bare-headers/1k.bin', range: false, memory: false }),
  nextTarget('next-minimal-fs', 'Next minimal file handler on [...path] (lstat + cached pread, inline)', { small: '/minimal-fs/1k.bin', range: false, memory: false }),
  nextTarget('next-readfile', 'Next readFile handler', { small: '/readfile/1k.bin', files: '/readfile/', range: false, memory: true }),
  nextTarget('next-toweb', 'Next toWeb(createReadStream) handler', { small: '/toweb/1k.bin', files: '/toweb/', range: false, memory: true }),
  nextTarget('lib-direct', 'library direct (filesystem, io auto)', { small: '/files/1k.bin', files: '/files/', range: true, memory: true }),
  nextTarget('lib-direct-threadpool', "library direct (filesystem, io 'threadpool')", { small: '/files/1k.bin', files: '/files/', range: true, memory: false }, () => ({
    BENCH_FS_IO: 'threadpool',
  })),
  // glibc gives freed heap back to the kernel once 2 x the largest freed mmap'd block (512 KiB after the
  // first 256 KiB chunk) sits free at the top; after every such trim the next chunks are fresh pages the
  // kernel must fault in and zero (83% of the page faults while streaming were in pread's copy into new
  // chunks). A larger trim threshold keeps the memory for reuse: the README's tuning knob, measured.
  // Setting it turns off glibc's adaptive mmap threshold, which must then be set above the chunk size
  // too, or every 256 KiB chunk is mmap'd and faulted in afresh (measured: 262 faults per MB, 5x the CPU).
  nextTarget('lib-direct-malloc', 'library direct, glibc trim 128 MiB / mmap 1 MiB thresholds', { small: '/files/1k.bin', files: '/files/', range: true, memory: true }, () => ({
    MALLOC_TRIM_THRESHOLD_: String(128 * 1024 * 1024),
    MALLOC_MMAP_THRESHOLD_: String(1024 * 1024),
  })),
  nextTarget('lib-virtual', 'library direct (virtual, 1 KiB in memory)', { small: '/virtual', range: true, memory: false }),
  // The proxy hop's own cost: the bare handler through the same proxy, the floor for lib-<proxy>'s 1 KiB.
  ...PROXY_KINDS.map((kind) =>
    behindProxy(kind, `next-bare-${kind}`, `Next bare handler on [...path] behind ${proxyName[kind]} (1 KiB in memory)`, { small: '/bare-param/1k.bin', range: false, memory: false }),
  ),
  ...PROXY_KINDS.map((kind) => offloadTarget(kind, `library + ${proxyName[kind]} offload`)),
];

async function startNginxStatic(mediaRoot: string): Promise<Running> {
  const runtimeDir = await mkdtemp(path.join(tmpdir(), 'ndv-bench-nginx-'));
  const port = await freePort();
  const template = await readFile(path.join(benchDir, 'nginx-static.conf'), 'utf8');
  const config = path.join(runtimeDir, 'nginx.conf');
  await writeFile(config, template.replaceAll('{{LISTEN_PORT}}', String(port)).replaceAll('{{MEDIA_ROOT}}', mediaRoot).replaceAll('{{RUNTIME_DIR}}', runtimeDir));
  const child = spawn('/usr/sbin/nginx', ['-p', runtimeDir, '-e', path.join(runtimeDir, 'error.log'), '-c', config, '-g', 'daemon off;'], { stdio: ['ignore', 'pipe', 'pipe'] });
  return ready(child, `http://127.0.0.1:${port}`, async () => rm(runtimeDir, { recursive: true, force: true }));
}

async function startSendServer(mediaRoot: string): Promise<Running> {
  const port = await freePort();
  const child = spawn(process.execPath, [path.join(benchDir, 'send-server.mjs'), String(port), mediaRoot], { stdio: ['ignore', 'pipe', 'pipe'] });
  return ready(child, `http://127.0.0.1:${port}`, async () => undefined);
}

/** Wait until `url` answers (any status), then hand out a stop() that SIGTERMs and waits. */
async function ready(child: ReturnType<typeof spawn>, url: string, cleanup: () => Promise<void>): Promise<Running> {
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
      return { url, pid: child.pid!, cpuRoots: [child.pid!], stop };
    } catch {
      if (Date.now() > deadline) {
        await stop();
        throw new Error(`${url}: no answer within 15 s:\n${output}`);
      }
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }
}

/** Which file a side-by-side pair loads: the 1 KiB one (req/s) or the 100 MiB one (MB/s). */
export type PairLoad = 'small' | 'large';

/**
 * Target and reference measured side by side (interleaved runs) for the ratio claims. 1 KiB: the
 * library against the bare handler on the terms (a fixed route) and on equal terms (the same
 * `[...path]` route shape; behind the same proxy for offloads; the same response headers, which
 * leaves only the library's own work), plus what those headers cost Next by themselves, and the
 * least any handler that reads the file must do (next-minimal-fs), against both. 100 MiB:
 * every offload against nginx serving the file itself, direct streaming against Next `public/` and the
 * `toWeb` handler, and the glibc trim-threshold knob against the default.
 */
export const pairs: readonly { id: string; referenceId: string; load: PairLoad }[] = [
  ...([
    ['lib-direct', 'next-bare'],
    ['lib-virtual', 'next-bare'],
    ['lib-direct', 'next-bare-param'],
    ['lib-direct', 'next-bare-headers'],
    ['next-bare-headers', 'next-bare-param'],
    ['lib-direct', 'next-minimal-fs'],
    ['next-minimal-fs', 'next-bare-param'],
    ...PROXY_KINDS.flatMap((kind) => [
      [`lib-${kind}`, 'next-bare'],
      [`lib-${kind}`, `next-bare-${kind}`],
    ]),
  ] as const).map(([id, referenceId]) => ({ id, referenceId, load: 'small' as const })),
  ...([
    ...PROXY_KINDS.map((kind) => [`lib-${kind}`, 'nginx-static']),
    ['lib-direct', 'next-public'],
    ['lib-direct', 'next-toweb'],
    ['lib-direct-malloc', 'lib-direct'],
  ] as const).map(([id, referenceId]) => ({ id, referenceId, load: 'large' as const })),
];
