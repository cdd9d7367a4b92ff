/**
 * `npm run bench`: every target on one machine, in alternating order over several rounds.
 * Started by scripts/bench.sh (after `npm run build`) as `node --import ./bench/ts-loader.mjs bench/run.ts`.
 *
 * Environment (seconds unless noted):
 *   BENCH_DURATION=10   each timed wrk run          BENCH_WARMUP=2      untimed 1 KiB load first
 *   BENCH_ROUNDS=2      rounds (order alternates)   BENCH_TARGETS=a,b   only these target ids
 *   BENCH_SMALL_CONNECTIONS=32  BENCH_LARGE_CONNECTIONS=4  BENCH_THREADS=2
 *   BENCH_MEMORY=1      RSS under 8 concurrent downloads (0 skips)   BENCH_MEMORY_CLIENTS=8
 *   BENCH_HUGE=1        also the 1 GiB file in the memory test (0 skips)
 *   BENCH_MEMORY_TARGETS=a,b  memory test only for these ids (default: every Next target that streams files)
 *   BENCH_LOADS=small,large  which wrk loads to run (profiling runs may skip one)
 *   BENCH_PAIRED_RUNS=8 interleaved runs per side-by-side pair (0 skips)   BENCH_PAIRED_SECONDS=2 each
 *   BENCH_SKIP_BUILD=1  reuse bench/app/.next       BENCH_RESULTS_DIR=bench/results
 */
import { createHash, randomFillSync } from 'node:crypto';
import { chmodSync, copyFileSync, linkSync, mkdirSync, readFileSync, rmSync, openSync, writeSync, closeSync } from 'node:fs';
import { mkdtemp, realpath } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildApp } from '../test/helpers/next-server.js';
import { checkBodies, cpuSecondsOf, downloadConcurrently, rssOf, runWrk, sampleRss, type ExpectedBody } from './measure.js';
import { describeMachine, writeReport, type BenchResults, type MemoryResult, type PairResult, type TargetRound } from './report.js';
import { benchAppDir, pairs, targets, type BenchContext, type PairLoad, type Running, type Target } from './targets.js';

const benchDir = path.dirname(fileURLToPath(import.meta.url));
const repositoryRoot = path.dirname(benchDir);

const numberEnv = (name: string, fallback: number): number => {
  const value = process.env[name];
  if (value === undefined || value.trim() === '') return fallback;
  const parsed = Number(value);
  if (!Number.isFinite(parsed) || parsed < 0) throw new Error(`${name} must be a non-negative number, got "${value}"`);
  return parsed;
};

const settings = {
  duration: numberEnv('BENCH_DURATION', 10),
  warmup: numberEnv('BENCH_WARMUP', 2),
  rounds: Math.max(1, Math.round(numberEnv('BENCH_ROUNDS', 2))),
  smallConnections: numberEnv('BENCH_SMALL_CONNECTIONS', 32),
  largeConnections: numberEnv('BENCH_LARGE_CONNECTIONS', 4),
  threads: numberEnv('BENCH_THREADS', 2),
  memory: numberEnv('BENCH_MEMORY', 1) !== 0,
  memoryClients: numberEnv('BENCH_MEMORY_CLIENTS', 8),
  huge: numberEnv('BENCH_HUGE', 1) !== 0,
  pairedRuns: Math.round(numberEnv('BENCH_PAIRED_RUNS', 8)),
  pairedSeconds: numberEnv('BENCH_PAIRED_SECONDS', 2),
};
const loads = new Set((process.env.BENCH_LOADS ?? 'small,large').split(',').map((load) => load.trim()));
const memorySelected = process.env.BENCH_MEMORY_TARGETS?.split(',').map((id) => id.trim()).filter(Boolean);
const selected = process.env.BENCH_TARGETS?.split(',').map((id) => id.trim()).filter(Boolean);
const resultsDir = path.resolve(repositoryRoot, process.env.BENCH_RESULTS_DIR ?? 'bench/results');

const KiB = 1024;
const MiB = 1024 * KiB;
const files = { small: { name: '1k.bin', size: KiB }, large: { name: '100m.bin', size: 100 * MiB }, huge: { name: '1g.bin', size: 1024 * MiB } };
type FileKey = keyof typeof files;

function log(message: string): void {
  console.log(`[bench ${new Date().toISOString().slice(11, 19)}] ${message}`);
}

/** Random bytes written in 8 MiB blocks; returns the sha256 and keeps the first MiB for range checks. */
function generateFile(file: string, size: number): { sha256: string; head: Buffer } {
  const hash = createHash('sha256');
  const block = Buffer.allocUnsafe(Math.min(size, 8 * MiB));
  const fd = openSync(file, 'w', 0o644);
  let head = Buffer.alloc(0);
  for (let written = 0; written < size; ) {
    const length = Math.min(block.length, size - written);
    randomFillSync(block, 0, length);
    const part = block.subarray(0, length);
    if (written === 0) head = Buffer.from(block.subarray(0, Math.min(length, MiB)));
    hash.update(part);
    writeSync(fd, part);
    written += length;
  }
  closeSync(fd);
  return { sha256: hash.digest('hex'), head };
}

async function main(): Promise<void> {
  const chosen = selected ? targets.filter((target) => selected.includes(target.id)) : [...targets];
  if (chosen.length === 0) throw new Error(`BENCH_TARGETS matched nothing; ids: ${targets.map((target) => target.id).join(', ')}`);
  log(`settings ${JSON.stringify(settings)}; targets ${chosen.map((target) => target.id).join(', ')}`);

  // Files live in a fresh temp dir, world-readable: the proxies' workers run as `nobody`.
  const mediaRoot = await realpath(await mkdtemp(path.join(os.tmpdir(), 'ndv-bench-media-')));
  chmodSync(mediaRoot, 0o755);
  const publicDir = path.join(benchAppDir, 'public');
  const sums = {} as Record<FileKey, { sha256: string; head: Buffer }>;
  try {
    for (const key of Object.keys(files) as FileKey[]) {
      if (key === 'huge' && !(settings.memory && settings.huge)) continue;
      log(`generating ${files[key].name}`);
      sums[key] = generateFile(path.join(mediaRoot, files[key].name), files[key].size);
    }
    // Next serves public/ from the folder it finds at start: link the files in (copy across devices).
    rmSync(publicDir, { recursive: true, force: true });
    mkdirSync(publicDir);
    for (const key of Object.keys(sums) as FileKey[]) {
      const from = path.join(mediaRoot, files[key].name);
      const to = path.join(publicDir, files[key].name);
      try {
        linkSync(from, to);
      } catch {
        copyFileSync(from, to);
      }
    }

    if (process.env.BENCH_SKIP_BUILD !== '1') {
      log('building bench/app (next build)');
      await buildApp(benchAppDir);
    }

    const machine = await describeMachine();
    const results: BenchResults = { settings, machine, started: new Date().toISOString(), rounds: [], targets: chosen.map(({ id, label }) => ({ id, label })) };
    const context: BenchContext = { mediaRoot };
    const expected = expectedBodies(sums);

    for (let round = 0; round < settings.rounds; round += 1) {
      const order = round % 2 === 0 ? chosen : [...chosen].reverse();
      const roundResult: Record<string, TargetRound> = {};
      results.rounds.push({ loadAverage: os.loadavg()[0] ?? 0, targets: roundResult });
      log(`round ${round + 1}/${settings.rounds} (load average ${os.loadavg()[0]?.toFixed(2)})`);
      for (const target of order) roundResult[target.id] = await measureTarget(target, context, expected);
      if (settings.memory) {
        for (const target of order.filter((candidate) => candidate.memory && candidate.files !== undefined && (memorySelected?.includes(candidate.id) ?? true))) {
          const memory: Partial<Record<'large' | 'huge', MemoryResult>> = {};
          const memoryWarm: Partial<Record<'large' | 'huge', MemoryResult>> = {};
          for (const key of ['large', 'huge'] as const) {
            if (key === 'huge' && !settings.huge) continue;
            memory[key] = await measureMemory(target, context, key, false);
            // readFile's growth is the files themselves; a warm server changes nothing there.
            if (target.id !== 'next-readfile') memoryWarm[key] = await measureMemory(target, context, key, true);
          }
          roundResult[target.id] = { check: [], ...roundResult[target.id], memory, memoryWarm };
        }
      }
      // Written after every round so an interrupted run still leaves numbers behind.
      results.finished = new Date().toISOString();
      writeReport(results, resultsDir);
    }
    if (settings.pairedRuns > 0) {
      const byId = new Map(chosen.map((target) => [target.id, target]));
      results.pairs = [];
      for (const { id, referenceId, load } of pairs.filter((pair) => loads.has(pair.load))) {
        const target = byId.get(id);
        const reference = byId.get(referenceId);
        if (target && reference) results.pairs.push(await measurePair(target, reference, context, load));
      }
    }
    results.finished = new Date().toISOString();
    const report = writeReport(results, resultsDir);
    console.log(`\n${report.checks.join('\n')}\n\nwrote ${path.relative(repositoryRoot, report.markdown)} and ${path.relative(repositoryRoot, report.svg)}`);
  } finally {
    rmSync(publicDir, { recursive: true, force: true });
    rmSync(mediaRoot, { recursive: true, force: true });
  }
}

/** What each target must send, byte for byte: full bodies and one range of each file. */
function expectedBodies(sums: Record<FileKey, { sha256: string; head: Buffer }>): (target: Target) => ExpectedBody[] {
  const hashOf = (bytes: Buffer): string => createHash('sha256').update(bytes).digest('hex');
  return (target) => {
    const bodies: ExpectedBody[] = [{ path: target.small, sha256: sums.small.sha256, size: KiB }];
    if (target.range) {
      const rangeOf = target.files === undefined ? { path: target.small, bytes: sums.small.head } : { path: `${target.files}${files.large.name}`, bytes: sums.large.head };
      const [start, end] = target.files === undefined ? [100, 611] : [65_000, 600_000];
      bodies.push({ path: rangeOf.path, headers: { range: `bytes=${start}-${end}` }, status: 206, size: end - start + 1, sha256: hashOf(rangeOf.bytes.subarray(start, end + 1)) });
    }
    if (target.files !== undefined) bodies.push({ path: `${target.files}${files.large.name}`, sha256: sums.large.sha256, size: files.large.size });
    return bodies;
  };
}

async function withTarget<T>(target: Target, context: BenchContext, body: (running: Running) => Promise<T>): Promise<T> {
  const running = await target.start(context);
  try {
    return await body(running);
  } finally {
    await running.stop();
    // Let sockets from the last run drain before the next server starts.
    await new Promise((resolve) => setTimeout(resolve, 500));
  }
}

async function measureTarget(target: Target, context: BenchContext, expected: (target: Target) => ExpectedBody[]): Promise<TargetRound> {
  try {
    return await withTarget(target, context, async (running) => {
      const problems = await checkBodies(running.url, expected(target));
      if (problems.length > 0) {
        log(`${target.id}: byte check FAILED, not timed: ${problems.join('; ')}`);
        return { check: problems };
      }
      const wrk = { threads: settings.threads, seconds: settings.duration };
      if (settings.warmup > 0) await runWrk({ ...wrk, url: running.url + target.small, connections: settings.smallConnections, seconds: settings.warmup });
      const cpuBefore = cpuSecondsOf(running.cpuRoots);
      const small = loads.has('small') ? await runWrk({ ...wrk, url: running.url + target.small, connections: settings.smallConnections }) : undefined;
      const smallCpuUs = small && small.requests > 0 ? ((cpuSecondsOf(running.cpuRoots) - cpuBefore) * 1e6) / small.requests : undefined;
      const large =
        target.files === undefined || !loads.has('large')
          ? undefined
          : await runWrk({ ...wrk, url: `${running.url}${target.files}${files.large.name}`, connections: settings.largeConnections });
      const rss = rssOf(running.pid);
      log(
        `${target.id}:` +
          (small ? ` 1 KiB ${small.requestsPerSecond.toFixed(0)} req/s ${smallCpuUs?.toFixed(0)} µs CPU/req p50 ${small.p50Ms.toFixed(2)} ms p99 ${small.p99Ms.toFixed(2)} ms` : '') +
          (large ? `; 100 MiB ${large.megabytesPerSecond.toFixed(0)} MB/s` : '') +
          ((small?.errors ?? 0) + (large?.errors ?? 0) > 0 ? `; errors ${JSON.stringify(small?.errorKinds ?? {})}/${JSON.stringify(large?.errorKinds ?? {})}` : ''),
      );
      return { check: [], small, smallCpuUs, large, rssAfter: rss };
    });
  } catch (error) {
    log(`${target.id}: ${error instanceof Error ? error.message : String(error)}`);
    return { check: [], error: error instanceof Error ? error.message.split('\n')[0] : String(error) };
  }
}

/**
 * One target against its reference, both running at once and loaded in alternation with short runs
 * (1 KiB: req/s and server CPU per request; 100 MiB: MB/s), so both see the same machine: on a
 * shared VM the load from other tenants drifts over minutes, which shows in ratios of runs made
 * minutes apart (the rounds) far more than in these.
 */
async function measurePair(target: Target, reference: Target, context: BenchContext, load: PairLoad): Promise<PairResult> {
  const result: PairResult = { id: target.id, referenceId: reference.id, load, throughput: [], cpu: [] };
  const pathOf = (side: Target): string => (load === 'small' ? side.small : `${side.files}${files.large.name}`);
  try {
    return await withTarget(target, context, (runningTarget) =>
      withTarget(reference, context, async (runningReference) => {
        const wrk = { threads: settings.threads, connections: load === 'small' ? settings.smallConnections : settings.largeConnections };
        const sides = [
          { running: runningTarget, path: pathOf(target) },
          { running: runningReference, path: pathOf(reference) },
        ];
        for (const side of sides) await runWrk({ ...wrk, url: side.running.url + side.path, seconds: Math.max(1, settings.warmup) });
        for (let run = 0; run < settings.pairedRuns; run += 1) {
          const measured = new Map<number, { throughput: number; cpuUs: number }>();
          // Alternate which side goes first, so neither always follows the other.
          const order = run % 2 === 0 ? [0, 1] : [1, 0];
          for (const index of order) {
            const side = sides[index]!;
            const cpuBefore = cpuSecondsOf(side.running.cpuRoots);
            const timed = await runWrk({ ...wrk, url: side.running.url + side.path, seconds: settings.pairedSeconds });
            measured.set(index, {
              throughput: load === 'small' ? timed.requestsPerSecond : timed.megabytesPerSecond,
              cpuUs: ((cpuSecondsOf(side.running.cpuRoots) - cpuBefore) * 1e6) / Math.max(1, timed.requests),
            });
          }
          const [mine, theirs] = [measured.get(0)!, measured.get(1)!];
          result.throughput.push(mine.throughput / theirs.throughput);
          // Requests per CPU-second, so the ratio reads like the throughput one (higher is better).
          // Only for 1 KiB: a 100 MiB download's CPU is mostly the proxy's or the kernel's copy.
          if (load === 'small') result.cpu.push(theirs.cpuUs / mine.cpuUs);
        }
        const list = (values: number[]): string => values.map((value) => value.toFixed(2)).join(' ');
        log(`pair ${target.id} / ${reference.id} (${load === 'small' ? '1 KiB' : '100 MiB'}): throughput ratios ${list(result.throughput)}${result.cpu.length ? `; CPU ratios ${list(result.cpu)}` : ''}`);
        return result;
      }),
    );
  } catch (error) {
    log(`pair ${target.id} / ${reference.id}: ${error instanceof Error ? error.message : String(error)}`);
    return { ...result, error: error instanceof Error ? error.message.split('\n')[0] : String(error) };
  }
}

/**
 * A fresh server, warmed with small requests, then `memoryClients` concurrent downloads of one file.
 * `warm`: one full 100 MiB download first, so "before" already includes what the first large
 * streamed body costs any Next process once (heap growth, GC thresholds), library or not.
 */
async function measureMemory(target: Target, context: BenchContext, key: 'large' | 'huge', warm: boolean): Promise<MemoryResult> {
  const file = files[key];
  const clients = settings.memoryClients;
  // readFile holds every body whole: skip it rather than push a shared machine into swap or the OOM killer.
  const needed = target.id === 'next-readfile' ? clients * file.size * 2 : 0;
  if (needed > availableMemory()) {
    log(`${target.id}: ${clients} x ${file.name} skipped (needs ~${(needed / 2 ** 30).toFixed(0)} GiB free)`);
    return { skipped: 'not enough free memory' };
  }
  try {
    return await withTarget(target, context, async (running) => {
      // Warm the route with the 1 KiB file only: a large body here (a Range is a full download on
      // targets without Range support) would raise "before" and hide part of the growth.
      for (let i = 0; i < 20; i += 1) await fetch(`${running.url}${target.files}${files.small.name}`).then((response) => response.arrayBuffer());
      if (warm) await downloadConcurrently(`${running.url}${target.files}${files.large.name}`, 1, files.large.size);
      await new Promise((resolve) => setTimeout(resolve, 500));
      const before = rssOf(running.pid) ?? 0;
      const sampler = sampleRss(running.pid);
      const downloads = await downloadConcurrently(`${running.url}${target.files}${file.name}`, clients, file.size);
      const peak = sampler.stop();
      const result: MemoryResult = { before, peak, seconds: downloads.seconds, ok: downloads.ok };
      log(
        `${target.id}: ${clients} x ${file.name}${warm ? ' (warm)' : ''} RSS ${(before / MiB).toFixed(0)} -> ${(peak / MiB).toFixed(0)} MiB (+${((peak - before) / MiB).toFixed(0)}) in ${downloads.seconds.toFixed(1)} s` +
          (downloads.ok ? '' : `; downloads FAILED: ${downloads.detail}`),
      );
      return result;
    });
  } catch (error) {
    log(`${target.id}: memory ${file.name}: ${error instanceof Error ? error.message : String(error)}`);
    return { skipped: error instanceof Error ? error.message.split('\n')[0] : String(error) };
  }
}

function availableMemory(): number {
  const match = /^MemAvailable:\s+(\d+) kB/m.exec(readFileSync('/proc/meminfo', 'utf8'));
  return match ? Number(match[1]) * 1024 : os.freemem();
}

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
