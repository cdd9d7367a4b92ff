/**
 * The mixed-load soak (issue 18): for each target — `next start` serving the files itself, or the
 * same app offloading to nginx / Apache / lighttpd / Caddy in front of it — minutes of the mix in
 * soak-traffic.ts, with the servers' resident memory and descriptors sampled every second.
 * `npm run soak` (scripts/soak.sh) runs it from the command line and writes
 * bench/results/soak-latest.{json,md,svg}; test/e2e/soak.test.ts runs a short version in `npm test`.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { ensureBuilt, fixtureApp } from '../test/helpers/fixture.js';
import { createMediaRoot, writeLargeFile } from '../test/helpers/media.js';
import { startNext, type RunningNext } from '../test/helpers/next-server.js';
import { descriptorsOf, residentBytesOf } from '../test/helpers/process.js';
import { startProxy, type ProxyKind, type RunningProxy } from '../test/helpers/proxies.js';
import type { LeakMarkers } from '../test/helpers/hygiene.js';
import { upstreamLeakMarkers, worldLeakMarkers } from '../test/servers/remote-world.js';
import { startUpstreamServer, storedObject } from '../test/servers/upstream-server.js';
import { startBenchStore } from './remote-store.js';
import { runTraffic, type SoakFile, type TrafficResult } from './soak-traffic.js';
import { quantile } from './stats.js';

const KiB = 1024;
const MiB = 1 << 20;

/**
 * `remote`: the app's `remote()` route, reading the same files from an HTTP upstream (test/servers);
 * `blob`: its private `blob()` route, streaming them from the Blob-compatible store (test/servers).
 */
export type SoakTarget = 'direct' | ProxyKind | 'remote' | 'blob';
export const SOAK_TARGETS: readonly SoakTarget[] = ['direct', 'nginx', 'apache', 'lighttpd', 'caddy', 'remote', 'blob'];

export interface SoakSettings {
  targets: readonly SoakTarget[];
  /** Seconds of traffic per target. */
  seconds: number;
  /** Concurrent keep-alive connections. */
  connections: number;
  /** Sizes of the served files, in bytes. */
  sizes: readonly number[];
  seed: string;
}

export const defaultSizes: readonly number[] = [0, KiB, 100 * KiB, MiB, 10 * MiB, 100 * MiB];

/** One sample of a server's process tree, once a second. */
export interface Sample {
  second: number;
  completed: number;
  appRss: number;
  appDescriptors: number;
  proxyRss?: number;
  proxyDescriptors?: number;
}

export interface TargetRun {
  target: SoakTarget;
  traffic: Omit<TrafficResult, 'latencies'>;
  latency: { p50: number; p99: number; max: number };
  samples: Sample[];
  /** The app's descriptors before the traffic, and after it once idle connections closed. */
  descriptors: { before: number; after: number };
  rss: { before: number; peak: number; after: number };
}

/** Where a target's files come from, and what the fixture app needs to serve them. */
interface SoakSource {
  /** The fixture app's route for the files. */
  routePrefix: string;
  /** A key the route denies (403), when it has an authorize policy. */
  deniedKey?: string;
  env: Record<string, string>;
  /** What no response may hold here besides paths and stacks: the upstream's address, tokens, the denied file's bytes. */
  leakMarkers: LeakMarkers;
  close(): Promise<void>;
}

const DENIED_KEY = 'private/secret.bin';
const DENIED_BYTES = 'denied bytes\n';

/**
 * The files' source per target: the media root (direct, and offloaded to a proxy), the HTTP upstream
 * (remote) or the Blob-compatible store with the files uploaded as private blobs by the real
 * `@vercel/blob` client (blob: bench/remote-store.ts, as the benchmark starts it).
 */
async function startSource(target: SoakTarget, files: readonly SoakFile[], mediaRoot: string): Promise<SoakSource> {
  if (target === 'remote') {
    const upstream = await startUpstreamServer();
    for (const { key, file } of files) upstream.routes.set(`/${key}`, { object: storedObject(readFileSync(file.path)) });
    // The remote route has no authorize policy (an upstream 403 is the upstream's failure, a 502).
    return { routePrefix: '/remote', env: { REMOTE_UPSTREAM_URL: upstream.url }, leakMarkers: { paths: [mediaRoot], urls: upstreamLeakMarkers(upstream) }, close: () => upstream.close() };
  }
  if (target === 'blob') {
    // The fixture's /blob route: private store, prefix `files/`, denies keys under private/.
    const store = await startBenchStore(mediaRoot, [...files.map((file) => file.key), DENIED_KEY], { private: 'files/' });
    const markers = worldLeakMarkers(store.world);
    return {
      routePrefix: '/blob',
      deniedKey: DENIED_KEY,
      env: { ...store.world.nextEnv, TEST_BLOB_TOKEN: store.world.blob.token },
      leakMarkers: { paths: [mediaRoot], urls: markers.urls, secrets: [...markers.secrets, DENIED_BYTES] },
      close: () => store.close(),
    };
  }
  const env: Record<string, string> =
    target === 'direct' ? {} : target === 'nginx' ? { DOWNLOADVIEW_BACKEND: 'nginx', DOWNLOADVIEW_RULES: `${mediaRoot}=/_protected/media` } : { DOWNLOADVIEW_BACKEND: target };
  return { routePrefix: '/files', deniedKey: DENIED_KEY, env, leakMarkers: { paths: [mediaRoot], secrets: [DENIED_BYTES] }, close: async () => undefined };
}

const isProxy = (target: SoakTarget): target is ProxyKind => target !== 'direct' && target !== 'remote' && target !== 'blob';

const pause = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** Run every target in turn on one set of files; `log` gets progress lines. */
export async function soak(settings: SoakSettings, log: (line: string) => void = () => undefined): Promise<TargetRun[]> {
  const media = createMediaRoot('dv-soak-');
  try {
    const files: SoakFile[] = settings.sizes.map((size, index) => {
      const key = `size-${index}-${size}.bin`;
      return { key, file: writeLargeFile(path.join(media.root, key), size) };
    });
    media.write(DENIED_KEY, DENIED_BYTES);
    await ensureBuilt(fixtureApp);
    const runs: TargetRun[] = [];
    for (const target of settings.targets) {
      log(`[soak] ${target}: ${settings.seconds} s, ${settings.connections} connections`);
      runs.push(await soakOne(target, settings, files, media.root));
      const run = runs[runs.length - 1]!;
      log(`[soak] ${target}: ${run.traffic.requests} requests, ${run.traffic.errors} errors, ${run.traffic.corrupt} corrupt, ${run.traffic.leaks} leaks, p50 ${run.latency.p50.toFixed(1)} ms, p99 ${run.latency.p99.toFixed(1)} ms`);
    }
    return runs;
  } finally {
    media.cleanup();
  }
}

async function soakOne(target: SoakTarget, settings: SoakSettings, files: SoakFile[], mediaRoot: string): Promise<TargetRun> {
  let app: RunningNext | undefined;
  let proxy: RunningProxy | undefined;
  let source: SoakSource | undefined;
  try {
    source = await startSource(target, files, mediaRoot);
    // A 1 s idle for the open-file cache: more opens and closes under load, and a quick return to the baseline.
    app = await startNext(fixtureApp, { MEDIA_ROOT: mediaRoot, FIXTURE_OPEN_FILE_IDLE_MS: '1000', ...source.env });
    if (isProxy(target)) proxy = await startProxy(target, { upstreamPort: app.port, mediaRoot });
    const appPid = app.pid;
    const proxyPid = proxy?.pid;
    const sample = (second: number, completed: number): Sample => ({
      second,
      completed,
      appRss: residentBytesOf(appPid),
      appDescriptors: descriptorsOf(appPid),
      ...(proxyPid === undefined ? {} : { proxyRss: residentBytesOf(proxyPid), proxyDescriptors: descriptorsOf(proxyPid) }),
    });
    const before = sample(0, 0);
    const samples: Sample[] = [before];
    const traffic = await runTraffic({
      baseUrl: proxy?.url ?? app.url,
      routePrefix: source.routePrefix,
      files,
      deniedKey: source.deniedKey,
      seconds: settings.seconds,
      connections: settings.connections,
      seed: `${settings.seed}/${target}`,
      onSecond: (second, completed) => samples.push(sample(second, completed)),
      leakMarkers: source.leakMarkers,
    });
    // Idle keep-alive sockets and cached descriptors close within seconds (the fixture's open-file
    // cache idles out after 10 s by default): wait for them before the last sample.
    let after = sample(samples.length, traffic.requests);
    for (let waited = 0; waited < 15 && after.appDescriptors > before.appDescriptors; waited += 1) {
      await pause(1000);
      after = sample(samples.length, traffic.requests);
    }
    samples.push(after);
    const sorted = [...traffic.latencies].sort((a, b) => a - b);
    const { latencies: _, ...counts } = traffic;
    return {
      target,
      traffic: counts,
      latency: { p50: quantile(sorted, 0.5), p99: quantile(sorted, 0.99), max: sorted[sorted.length - 1] ?? 0 },
      samples,
      descriptors: { before: before.appDescriptors, after: after.appDescriptors },
      rss: { before: before.appRss, peak: Math.max(...samples.map((entry) => entry.appRss)), after: after.appRss },
    };
  } finally {
    await proxy?.stop();
    await app?.stop();
    await source?.close();
  }
}
