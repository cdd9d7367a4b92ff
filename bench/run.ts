/**
 * `npm run bench`: executes bench/plan.ts. Started by scripts/bench.sh (after `npm run build`) as
 * `node --import ./bench/ts-loader.mjs bench/run.ts`. Settings: bench/README.md (BENCH_* variables).
 *
 * A session round starts the session's stacks fresh, checks every side's bytes (and, where a
 * comparison asks for it, that target and reference answer with the same headers), warms every side
 * up the same way, then loads the sides in turn, cycle after cycle, small loads before large ones.
 * Judged sessions run in every round (order reversed every other round), informational ones in the
 * first rounds only. Then the memory tests, each on a fresh server.
 */
import { createHash, randomFillSync } from 'node:crypto';
import { chmodSync, closeSync, copyFileSync, linkSync, mkdirSync, openSync, readFileSync, rmSync, writeFileSync, writeSync } from 'node:fs';
import { mkdtemp, realpath } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { ensureBuilt } from '../test/helpers/fixture.js';
import { rawGet } from '../test/helpers/http.js';
import { checkBodies, cpuSecondsOf, downloadConcurrently, headerDifferences, ioBytesOf, NOTHING_COMPLETED, probeSemantics, rssOf, runWrk, sampleProblems, sampleRss, type ExpectedBody } from './measure.js';
import { checkPlan, plan as fullPlan, type Load, type Plan, type SessionSpec, type TargetSpec } from './plan.js';
import { defaultResultsDir, describeMachine, docsPath, provenance, repositoryRoot, writeReport } from './report.js';
import { startBenchStore, type BenchStore } from './remote-store.js';
import { RESULTS_SCHEMA, type AppBytes, type BenchResults, type LoadRun, type MemoryRun, type Sample, type SessionRound, type Settings } from './results.js';
import { benchAppDir, REMOTE_STACKS, stacks, type RunningStack } from './stacks.js';

const numberEnv = (name: string, fallback: number, { integer = true, minimum = 0 } = {}): number => {
  const value = process.env[name];
  if (value === undefined || value.trim() === '') return fallback;
  const parsed = Number(value);
  if (!Number.isFinite(parsed) || parsed < minimum || (integer && !Number.isInteger(parsed))) {
    throw new Error(`${name} must be ${integer ? 'an integer' : 'a number'} >= ${minimum}, got "${value}"`);
  }
  return parsed;
};
const listEnv = (name: string): string[] | undefined => process.env[name]?.split(',').map((entry) => entry.trim()).filter(Boolean);

const settings: Settings = {
  rounds: numberEnv('BENCH_ROUNDS', 3, { minimum: 1 }),
  infoRounds: numberEnv('BENCH_INFO_ROUNDS', 1),
  cycles: numberEnv('BENCH_PAIRED_RUNS', 8, { minimum: 1 }),
  sampleSeconds: numberEnv('BENCH_PAIRED_SECONDS', 2, { minimum: 1 }),
  warmup: numberEnv('BENCH_WARMUP', 5),
  threads: numberEnv('BENCH_THREADS', 2, { minimum: 1 }),
  smallConnections: numberEnv('BENCH_SMALL_CONNECTIONS', 32, { minimum: 1 }),
  largeConnections: numberEnv('BENCH_LARGE_CONNECTIONS', 4, { minimum: 1 }),
  memory: numberEnv('BENCH_MEMORY', 1) !== 0,
  memoryRounds: numberEnv('BENCH_MEMORY_ROUNDS', 8, { minimum: 1 }),
  memoryClients: numberEnv('BENCH_MEMORY_CLIENTS', 8, { minimum: 1 }),
  huge: numberEnv('BENCH_HUGE', 1) !== 0,
  resamples: numberEnv('BENCH_RESAMPLES', 10_000, { minimum: 1000 }),
  confidence: numberEnv('BENCH_CONFIDENCE', 0.95, { integer: false, minimum: 0.5 }),
};
const known = new Set([
  'BENCH_ROUNDS', 'BENCH_INFO_ROUNDS', 'BENCH_PAIRED_RUNS', 'BENCH_PAIRED_SECONDS', 'BENCH_WARMUP', 'BENCH_THREADS', 'BENCH_SMALL_CONNECTIONS',
  'BENCH_LARGE_CONNECTIONS', 'BENCH_MEMORY', 'BENCH_MEMORY_ROUNDS', 'BENCH_MEMORY_CLIENTS', 'BENCH_HUGE', 'BENCH_RESAMPLES', 'BENCH_CONFIDENCE',
  'BENCH_TARGETS', 'BENCH_SESSIONS', 'BENCH_LOADS', 'BENCH_RESULTS_DIR', 'BENCH_PLAN',
]);
const selectedTargets = listEnv('BENCH_TARGETS');
const selectedSessions = listEnv('BENCH_SESSIONS');
const loads = new Set(listEnv('BENCH_LOADS') ?? ['small', 'large']);
const resultsDir = path.resolve(repositoryRoot, process.env.BENCH_RESULTS_DIR ?? 'bench/results');

const KiB = 1024;
const MiB = 1024 * KiB;
const files = { small: { name: '1k.bin', size: KiB }, large: { name: '100m.bin', size: 100 * MiB }, huge: { name: '1g.bin', size: 1024 * MiB } };
type FileKey = keyof typeof files;

function log(message: string): void {
  console.log(`[bench ${new Date().toISOString().slice(11, 19)}] ${message}`);
}

/** The plan narrowed to BENCH_TARGETS / BENCH_SESSIONS / BENCH_LOADS (a full run keeps all of it). */
function selectPlan(plan: Plan): Plan {
  const keepTarget = (id: string): boolean => selectedTargets?.includes(id) ?? true;
  const sessions = plan.sessions
    .filter((session) => selectedSessions?.includes(session.id) ?? true)
    .map((session): SessionSpec => {
      const sides = (load: Load): string[] | undefined => (loads.has(load) ? session[load]?.filter(keepTarget) : undefined);
      const [small, large] = [sides('small'), sides('large')];
      return { id: session.id, title: session.title, judged: session.judged, ...(small?.length ? { small } : {}), ...(large?.length ? { large } : {}) };
    })
    .filter((session) => session.small !== undefined || session.large !== undefined);
  for (const id of [...(selectedTargets ?? []), ...(selectedSessions ?? [])]) {
    if (!plan.targets.some((target) => target.id === id) && !plan.sessions.some((session) => session.id === id)) throw new Error(`BENCH_TARGETS/BENCH_SESSIONS: no target or session "${id}"`);
  }
  return {
    targets: plan.targets,
    sessions,
    comparisons: plan.comparisons.filter((comparison) => sessions.some((session) => session.id === comparison.session && session[comparison.load]?.includes(comparison.id) && session[comparison.load]?.includes(comparison.referenceId))),
    memory: {
      targets: settings.memory ? plan.memory.targets.filter((entry) => keepTarget(entry.id) && loads.has('large')) : [],
      comparisons: settings.memory ? plan.memory.comparisons.filter((entry) => keepTarget(entry.id) && keepTarget(entry.referenceId) && loads.has('large')) : [],
    },
  };
}

const roundsOf = (session: SessionSpec): number => (session.judged ? settings.rounds : Math.min(settings.infoRounds, settings.rounds));
const stacksOf = (plan: Plan, session: SessionSpec): string[] => [...new Set([...(session.small ?? []), ...(session.large ?? [])].map((id) => targetOf(plan, id).stack))];
const targetOf = (plan: Plan, id: string): TargetSpec => plan.targets.find((target) => target.id === id)!;

/** Seconds the plan takes with these settings, from what each step measured on the 2-core CI machine. */
function estimateSeconds(plan: Plan): number {
  const start = (stack: string): number => (stack.startsWith('next-') && stack !== 'next-malloc' ? 5 : stack.startsWith('next') ? 3 : 1);
  let total = 90; // next build, generating the files
  // The Blob store, once: test CA, servers, the 1 KiB and 100 MiB files uploaded public and private.
  const usesStore = [...plan.sessions.flatMap((session) => stacksOf(plan, session)), ...plan.memory.targets.map((entry) => targetOf(plan, entry.id).stack)].some((stack) => REMOTE_STACKS.includes(stack));
  if (usesStore) total += 15;
  for (const session of plan.sessions) {
    const sides = [...new Set([...(session.small ?? []), ...(session.large ?? [])])];
    let round = stacksOf(plan, session).reduce((sum, stack) => sum + start(stack) + 1.5, 0);
    round += sides.reduce((sum, id) => sum + (targetOf(plan, id).files ? 1 : 0.3) + (targetOf(plan, id).semantics ? 0.5 : 0) + (targetOf(plan, id).appBytes ? 2 : 0), 0);
    for (const load of ['small', 'large'] as const) {
      const count = session[load]?.length ?? 0;
      round += count * (settings.warmup + 0.3) + settings.cycles * count * (settings.sampleSeconds + 0.3);
      // readFile streams ~90 MB/s here: its 100 MiB samples last ~9 s (see sampleSecondsFor).
      if (load === 'large' && session.large?.includes('next-readfile')) round += settings.cycles * Math.max(0, 9 - settings.sampleSeconds);
      // 100 MiB from the Blob store (TLS, in this process) ran at ~100-150 MB/s in a smoke run: ~10 s samples.
      if (load === 'large') round += settings.cycles * (session.large ?? []).filter((id) => REMOTE_STACKS.includes(targetOf(plan, id).stack)).length * Math.max(0, 10 - settings.sampleSeconds);
    }
    total += round * roundsOf(session);
  }
  for (const entry of plan.memory.targets) {
    const runs = entry.judged ? settings.memoryRounds : 1;
    // A remote target's 8 x 100 MiB come from the store over TLS, in this process: ~6 s here.
    const perRun = (key: FileKey): number => 5 + (key === 'huge' ? (entry.id === 'next-readfile' ? 90 : 12) : REMOTE_STACKS.includes(targetOf(plan, entry.id).stack) ? 6 : 2);
    total += runs * (perRun('large') + (settings.huge && entry.huge ? perRun('huge') : 0));
    if (entry.warm) total += perRun('large') + 1 + (settings.huge && entry.huge ? perRun('huge') + 1 : 0);
  }
  return total;
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

interface Context {
  plan: Plan;
  mediaRoot: string;
  sums: Partial<Record<FileKey, { sha256: string; head: Buffer }>>;
  /** The Blob store of the remote stacks, started by the first one that asks (bench/remote-store.ts). */
  store(): Promise<BenchStore>;
}

/** An empty file: the body every response of a redirect target must have. */
const EMPTY_BODY = 'empty.body';

async function main(): Promise<void> {
  const problems = checkPlan(fullPlan);
  if (problems.length > 0) throw new Error(`bench/plan.ts is inconsistent:\n${problems.join('\n')}`);
  for (const name of Object.keys(process.env).filter((key) => key.startsWith('BENCH_') && !known.has(key))) {
    log(`${name} is not a setting of this harness and is ignored (see bench/README.md; BENCH_DURATION became BENCH_PAIRED_SECONDS)`);
  }
  const plan = selectPlan(fullPlan);
  const sessionRounds = plan.sessions.reduce((sum, session) => sum + roundsOf(session), 0);
  log(`settings ${JSON.stringify(settings)}`);
  log(`plan: ${plan.sessions.map((session) => `${session.id} x${roundsOf(session)}`).join(', ')} (${sessionRounds} session rounds); memory: ${plan.memory.targets.map((entry) => entry.id).join(', ') || 'off'}`);
  log(`estimated duration: ${Math.round(estimateSeconds(plan) / 60)} min`);
  if (process.env.BENCH_PLAN === '1') return;

  const started = provenance(`npm run bench`);
  // Files live in a fresh temp dir, world-readable: the proxies' workers run as `nobody`.
  const mediaRoot = await realpath(await mkdtemp(path.join(os.tmpdir(), 'ndv-bench-media-')));
  chmodSync(mediaRoot, 0o755);
  // The bench app meets the library as a user's app does: the packed tarball, installed and built
  // outside the repository (scripts/consumer-app.mjs, reused while nothing changed).
  log('installing bench/app with the packed library (scripts/consumer-app.mjs)');
  const installedApp = await ensureBuilt(benchAppDir);
  const publicDir = path.join(installedApp, 'public');
  let store: Promise<BenchStore> | undefined;
  const context: Context = {
    plan,
    mediaRoot,
    sums: {},
    store: () => {
      if (!store) log('starting the Blob store for the remote targets (bench/remote-store.ts)');
      store ??= startBenchStore(mediaRoot, [files.small.name, files.large.name]);
      return store;
    },
  };
  try {
    writeFileSync(path.join(mediaRoot, EMPTY_BODY), '');
    for (const key of Object.keys(files) as FileKey[]) {
      if (key === 'huge' && !(plan.memory.targets.length > 0 && settings.huge)) continue;
      log(`generating ${files[key].name}`);
      context.sums[key] = generateFile(path.join(mediaRoot, files[key].name), files[key].size);
    }
    // Next serves public/ from the folder it finds at start: link the files in (copy across devices).
    rmSync(publicDir, { recursive: true, force: true });
    mkdirSync(publicDir);
    for (const key of Object.keys(context.sums) as FileKey[]) {
      const [from, to] = [path.join(mediaRoot, files[key].name), path.join(publicDir, files[key].name)];
      try {
        linkSync(from, to);
      } catch {
        copyFileSync(from, to);
      }
    }

    const results: BenchResults = {
      schema: RESULTS_SCHEMA,
      provenance: started,
      machine: await describeMachine(),
      settings,
      plan,
      sessions: plan.sessions.map((session) => ({ id: session.id, rounds: [] })),
      memory: [],
    };
    // Only a run into bench/results writes the docs section: smoke runs elsewhere leave the docs alone.
    const docs = resultsDir === defaultResultsDir ? docsPath : undefined;
    const save = (): void => {
      results.provenance.finished = new Date().toISOString();
      writeReport(results, resultsDir, docs);
    };

    for (let round = 1; round <= settings.rounds; round += 1) {
      const order = round % 2 === 1 ? plan.sessions : [...plan.sessions].reverse();
      for (const session of order.filter((candidate) => round <= roundsOf(candidate))) {
        log(`session ${session.id}, round ${round} (load average ${os.loadavg()[0]?.toFixed(2)})`);
        results.sessions.find((entry) => entry.id === session.id)!.rounds.push(await runSessionRound(context, session, round));
        save();
      }
    }
    for (let round = 1; round <= settings.memoryRounds; round += 1) {
      const entries = plan.memory.targets.filter((entry) => entry.judged || round === 1);
      for (const entry of round % 2 === 1 ? entries : [...entries].reverse()) {
        for (const key of ['large', 'huge'] as const) {
          if (key === 'huge' && !(settings.huge && entry.huge)) continue;
          results.memory.push(await measureMemory(context, targetOf(plan, entry.id), key, false, round));
          if (entry.warm && round === 1) results.memory.push(await measureMemory(context, targetOf(plan, entry.id), key, true, round));
        }
      }
      save();
    }
    save();
    log(`wrote ${path.relative(repositoryRoot, resultsDir)}/latest.{json,md,svg}${docs ? ' and the section of docs/benchmarks.md' : ''}`);
    console.log(`\n${readFileSync(path.join(resultsDir, 'latest.md'), 'utf8').split('\n## Rounds')[0]}`);
  } finally {
    await store?.then((running) => running.close()).catch(() => undefined);
    rmSync(publicDir, { recursive: true, force: true });
    rmSync(mediaRoot, { recursive: true, force: true });
  }
}

/** What each target must send, byte for byte: the 1 KiB body, one range, and the 100 MiB body if it serves files. */
function expectedBodies(context: Context, target: TargetSpec): ExpectedBody[] {
  const { small, large } = context.sums as Record<'small' | 'large', { sha256: string; head: Buffer }>;
  const hashOf = (bytes: Buffer): string => createHash('sha256').update(bytes).digest('hex');
  const follow = target.redirect === true ? { follow: true } : {};
  const bodies: ExpectedBody[] = [{ path: target.small, sha256: small.sha256, size: KiB, ...follow }];
  if (target.range) {
    const [rangePath, head, start, end] = target.files === undefined ? [target.small, small.head, 100, 611] : [`${target.files}${files.large.name}`, large.head, 65_000, 600_000];
    bodies.push({ path: rangePath, headers: { range: `bytes=${start}-${end}` }, status: 206, size: end - start + 1, sha256: hashOf(head.subarray(start, end + 1)), ...follow });
  }
  if (target.files !== undefined) bodies.push({ path: `${target.files}${files.large.name}`, sha256: large.sha256, size: files.large.size });
  return bodies;
}

/** Start `ids` in order; if one fails, stop the ones already running and rethrow. */
async function startStacks(context: Context, ids: string[]): Promise<Map<string, RunningStack>> {
  const running = new Map<string, RunningStack>();
  try {
    for (const id of ids) running.set(id, await stacks[id]!({ mediaRoot: context.mediaRoot, store: context.store }));
    return running;
  } catch (error) {
    await stopStacks(running);
    throw error;
  }
}

async function stopStacks(running: Map<string, RunningStack>): Promise<void> {
  for (const stack of [...running.values()].reverse()) await stack.stop();
  // Let sockets from the last run drain before the next server starts.
  await new Promise((resolve) => setTimeout(resolve, 500));
}

async function runSessionRound(context: Context, session: SessionSpec, round: number): Promise<SessionRound> {
  const result: SessionRound = { round, started: new Date().toISOString(), loadAverage: os.loadavg()[0] ?? 0, checks: {}, headerChecks: {}, loads: [] };
  let running: Map<string, RunningStack>;
  try {
    running = await startStacks(context, stacksOf(context.plan, session));
  } catch (error) {
    result.error = firstLine(error);
    log(`${session.id}: ${result.error}`);
    return result;
  }
  try {
    const stackOf = (id: string): RunningStack => running.get(targetOf(context.plan, id).stack)!;
    for (const id of new Set([...(session.small ?? []), ...(session.large ?? [])])) {
      const target = targetOf(context.plan, id);
      result.checks[id] = await checkBodies(stackOf(id).front, expectedBodies(context, target));
      if (result.checks[id].length > 0) log(`${id}: byte check FAILED, not timed: ${result.checks[id].join('; ')}`);
      if (target.semantics) {
        try {
          (result.semantics ??= {})[id] = await probeSemantics(stackOf(id).front + target.small, context.sums.small!.head.subarray(0, KiB));
        } catch (error) {
          (result.semantics ??= {})[id] = { range: `no answer: ${firstLine(error)}`, conditional: '' };
        }
        log(`${id}: Range ${result.semantics![id]!.range}; If-None-Match ${result.semantics![id]!.conditional}`);
      }
      if (target.appBytes) {
        (result.appBytes ??= {})[id] = await measureAppBytes(stackOf(id), target);
        const entry = result.appBytes![id]!;
        log(`${id}: during one 100 MiB download Next read ${entry.read} and wrote ${entry.written} bytes${entry.problems.length ? `: ${entry.problems.join('; ')}` : ''}`);
      }
    }
    for (const comparison of context.plan.comparisons.filter((entry) => entry.session === session.id && entry.sameHeaders)) {
      const key = `${comparison.id}/${comparison.referenceId}`;
      if (key in result.headerChecks) continue;
      const portOf = (stack: RunningStack): number => (comparison.sameHeaders === 'app' ? stack.appPort! : Number(new URL(stack.front).port));
      const answerOf = (id: string) => rawGet(portOf(stackOf(id)), targetOf(context.plan, id).small);
      try {
        const [mine, theirs] = [await answerOf(comparison.id), await answerOf(comparison.referenceId)];
        result.headerChecks[key] = headerDifferences(mine.headers, theirs.headers);
      } catch (error) {
        result.headerChecks[key] = [`no answer to compare: ${firstLine(error)}`];
      }
      if (result.headerChecks[key].length > 0) log(`${key}: the app's answers differ: ${result.headerChecks[key].join('; ')}`);
    }
    for (const load of ['small', 'large'] as const) {
      const sides = (session[load] ?? []).filter((id) => result.checks[id]?.length === 0);
      if (sides.length > 0) result.loads.push(await runLoad(context, load, sides, stackOf, round));
    }
  } finally {
    await stopStacks(running);
  }
  return result;
}

/**
 * One 100 MiB download through the stack's front while the Next process tree's rchar/wchar are read
 * before and after: what Next moved itself. An offload target must stay below 1% of the body.
 */
async function measureAppBytes(stack: RunningStack, target: TargetSpec): Promise<AppBytes> {
  const before = ioBytesOf([stack.pid]);
  const download = await downloadConcurrently(`${stack.front}${target.files}${files.large.name}`, 1, files.large.size);
  const after = ioBytesOf([stack.pid]);
  const [read, written] = [after.read - before.read, after.written - before.written];
  const problems: string[] = [];
  if (!download.ok) problems.push(`download failed: ${download.detail}`);
  if (target.offload && read + written > files.large.size / 100) problems.push(`Next moved ${read + written} bytes, more than 1% of the body`);
  return { downloaded: download.ok ? files.large.size : 0, read, written, problems };
}

/** Warm every side up alike, then `cycles` cycles loading each side once, in an order rotated every cycle. */
async function runLoad(context: Context, load: Load, sides: string[], stackOf: (id: string) => RunningStack, round: number): Promise<LoadRun> {
  const run: LoadRun = { load, sides, warmup: {}, cycles: [] };
  const rotated = (offset: number): string[] => sides.map((_, index) => sides[(index + offset) % sides.length]!);
  if (settings.warmup > 0) {
    for (const id of rotated(round)) {
      const warm = await sample(context, load, targetOf(context.plan, id), stackOf(id), settings.warmup);
      run.warmup[id] = { throughput: warm.throughput, problems: warm.problems };
    }
  }
  const seconds = Object.fromEntries(sides.map((id) => [id, sampleSecondsFor(load, run.warmup[id]?.throughput)]));
  for (let cycle = 0; cycle < settings.cycles; cycle += 1) {
    const samples: Record<string, Sample> = {};
    for (const id of rotated(round + cycle)) samples[id] = await sample(context, load, targetOf(context.plan, id), stackOf(id), seconds[id]!);
    run.cycles.push(samples);
  }
  const list = (id: string): string => run.cycles.map((cycle) => (cycle[id]!.problems.length ? 'x' : cycle[id]!.throughput.toFixed(0))).join(' ');
  log(`  ${load === 'small' ? '1 KiB req/s' : '100 MiB MB/s'}: ${sides.map((id) => `${id} ${list(id)}`).join(' | ')}`);
  const rejected = run.cycles.flatMap((cycle) => Object.entries(cycle).filter(([, entry]) => entry.problems.length > 0).map(([id, entry]) => `${id}: ${entry.problems.join(', ')}`));
  if (rejected.length > 0) log(`  rejected samples: ${rejected.join('; ')}`);
  return run;
}

/**
 * A 100 MiB sample must see responses complete, or nothing in it is checked (wrk counts statuses and
 * lost requests at completion): long enough for three full downloads per connection at the speed the
 * side reached while warming up (readFile's 8 x 100 MiB took ~9 s on the 2-core CI machine), at most 30 s.
 */
function sampleSecondsFor(load: Load, warmupMegabytesPerSecond: number | undefined): number {
  if (load === 'small') return settings.sampleSeconds;
  // Without a warm-up there is no speed to go by; a warm-up that moved nothing gets the most time.
  if (warmupMegabytesPerSecond === undefined) return settings.sampleSeconds;
  const needed = warmupMegabytesPerSecond > 0 ? Math.ceil((3 * settings.largeConnections * files.large.size) / (warmupMegabytesPerSecond * 1e6)) : 30;
  return Math.min(30, Math.max(settings.sampleSeconds, needed));
}

/**
 * One timed wrk run of one side. A 100 MiB sample in which no download completed (the machine
 * slowed down since the warm-up) checked nothing, and is taken once more, three times as long.
 */
async function sample(context: Context, load: Load, target: TargetSpec, stack: RunningStack, seconds: number): Promise<Sample> {
  const first = await timedSample(context, load, target, stack, seconds);
  const incomplete = first.problems.length === 1 && first.problems[0] === NOTHING_COMPLETED;
  return load === 'large' && incomplete ? timedSample(context, load, target, stack, seconds * 3) : first;
}

/** One timed wrk run of one side, with the server's CPU time and every check on what came back. */
async function timedSample(context: Context, load: Load, target: TargetSpec, stack: RunningStack, seconds: number): Promise<Sample> {
  const small = load === 'small';
  const connections = small ? settings.smallConnections : settings.largeConnections;
  const url = stack.front + (small ? target.small : `${target.files}${files.large.name}`);
  const cpuBefore = cpuSecondsOf(stack.cpuRoots);
  try {
    // A redirect target's every answer is the empty 302; the others', the 1 KiB file.
    const expected = target.redirect ? { expectedBody: path.join(context.mediaRoot, EMPTY_BODY), expectedStatus: 302 } : { expectedBody: path.join(context.mediaRoot, files.small.name) };
    const wrk = await runWrk({ url, threads: settings.threads, connections, seconds, ...(small ? expected : {}) });
    const cpuSeconds = cpuSecondsOf(stack.cpuRoots) - cpuBefore;
    return {
      throughput: small ? wrk.requestsPerSecond : wrk.megabytesPerSecond,
      cpuUs: (cpuSeconds * 1e6) / Math.max(1, wrk.requests),
      p50Ms: wrk.p50Ms,
      p99Ms: wrk.p99Ms,
      requests: wrk.requests,
      bytes: wrk.bytes,
      seconds: wrk.seconds,
      problems: sampleProblems(wrk, { connections, bodyBytes: target.redirect ? 0 : small ? files.small.size : files.large.size }),
    };
  } catch (error) {
    return { throughput: 0, cpuUs: 0, p50Ms: 0, p99Ms: 0, requests: 0, bytes: 0, seconds: 0, problems: [firstLine(error)] };
  }
}

/**
 * A fresh stack, warmed with 20 requests for the 1 KiB file on the target's route, then
 * `memoryClients` concurrent downloads of one file while the server's RSS is sampled.
 * `warm`: one full 100 MiB download first, so "before" already holds what the first large
 * streamed body costs any Next process once (heap growth, GC thresholds), library or not.
 */
async function measureMemory(context: Context, target: TargetSpec, key: 'large' | 'huge', warm: boolean, round: number): Promise<MemoryRun> {
  const file = files[key];
  const clients = settings.memoryClients;
  const base: MemoryRun = { id: target.id, key, warm, round };
  // readFile holds every body whole: skip it rather than push a shared machine into swap or the OOM killer.
  const needed = target.id === 'next-readfile' ? clients * file.size * 2 : 0;
  if (needed > availableMemory()) {
    log(`${target.id}: ${clients} x ${file.name} skipped (needs ~${(needed / 2 ** 30).toFixed(0)} GiB free)`);
    return { ...base, skipped: 'not enough free memory' };
  }
  let running: Map<string, RunningStack>;
  try {
    running = await startStacks(context, [target.stack]);
  } catch (error) {
    return { ...base, skipped: firstLine(error) };
  }
  try {
    const stack = running.get(target.stack)!;
    // Warm the route with the 1 KiB file only: a large body here would raise "before" and hide part of the growth.
    for (let i = 0; i < 20; i += 1) await fetch(`${stack.front}${target.files}${files.small.name}`).then((response) => response.arrayBuffer());
    if (warm) await downloadConcurrently(`${stack.front}${target.files}${files.large.name}`, 1, files.large.size);
    await new Promise((resolve) => setTimeout(resolve, 500));
    const before = rssOf(stack.pid) ?? 0;
    const sampler = sampleRss(stack.pid);
    const downloads = await downloadConcurrently(`${stack.front}${target.files}${file.name}`, clients, file.size);
    const peak = sampler.stop();
    log(
      `${target.id}: ${clients} x ${file.name}${warm ? ' (warm)' : ''} RSS ${(before / MiB).toFixed(0)} -> ${(peak / MiB).toFixed(0)} MiB (+${((peak - before) / MiB).toFixed(1)}) in ${downloads.seconds.toFixed(1)} s` +
        (downloads.ok ? '' : `; downloads FAILED: ${downloads.detail}`),
    );
    return { ...base, before, peak, seconds: downloads.seconds, ok: downloads.ok, ...(downloads.ok ? {} : { detail: downloads.detail }) };
  } catch (error) {
    return { ...base, skipped: firstLine(error) };
  } finally {
    await stopStacks(running);
  }
}

function availableMemory(): number {
  const match = /^MemAvailable:\s+(\d+) kB/m.exec(readFileSync('/proc/meminfo', 'utf8'));
  return match ? Number(match[1]) * 1024 : os.freemem();
}

const firstLine = (error: unknown): string => (error instanceof Error ? error.message : String(error)).split('\n')[0] ?? '';

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
