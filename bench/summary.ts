/**
 * From a run's raw samples to what the report states: every comparison's per-pair ratios, their
 * median and bootstrap interval, and a verdict; each target's absolute numbers; the memory tests.
 * Pure (no I/O, no clock): the same latest.json always gives the same summary.
 */
import type { ComparisonSpec, Load, TargetSpec } from './plan.js';
import type { BenchResults, MemoryRun, Sample, SessionRound } from './results.js';
import { bootstrapMedian, median, tooThin, verdictAtLeast, verdictAtMost, type Enough, type Interval, type Verdict } from './stats.js';

/** A memory round is one fresh server per side: five of them before the difference may decide. */
export const ENOUGH_MEMORY_ROUNDS: Enough = { values: 5, clusters: 5, unit: 'round' };

/** PASS/MISS/UNDECIDED for a target; INFO for an informational comparison; the rest when it could not be judged. */
export type Outcome = Verdict | 'INFO' | 'INVALID' | 'NOT RUN';

export interface ComparisonSummary {
  spec: ComparisonSpec;
  target: string;
  reference: string;
  /** Every per-pair ratio used, by round. */
  ratios: number[][];
  interval?: Interval;
  /** Pairs dropped because a side's sample had problems, and why (side: problem, with counts). */
  rejected: number;
  rejections: string[];
  /** Why the two sides are not comparable in some round (a failed byte or header check). */
  invalid: string[];
  outcome: Outcome;
  /** Why the outcome is what it is when it is no verdict. */
  note?: string;
}

export interface TargetNumbers {
  samples: number;
  rejected: number;
  throughput?: number;
  cpuUs?: number;
  p50Ms?: number;
  p99Ms?: number;
}

export interface TargetSummary {
  spec: TargetSpec;
  small: TargetNumbers;
  large: TargetNumbers;
  /** Byte-check problems in any round of any session. */
  problems: string[];
}

export interface MemoryNumbers {
  id: string;
  key: 'large' | 'huge';
  warm: boolean;
  runs: number;
  before?: number;
  growth?: number;
  peak?: number;
  failed: string[];
  skipped?: string;
}

export interface MemoryComparisonSummary {
  id: string;
  referenceId: string;
  key: 'large' | 'huge';
  slackMiB: number;
  question: string;
  /** Per round: growth of the target minus growth of the reference, in MiB. */
  differences: number[];
  interval?: Interval;
  outcome: Outcome;
  note?: string;
}

export interface Summary {
  comparisons: ComparisonSummary[];
  targets: TargetSummary[];
  memory: MemoryNumbers[];
  memoryComparisons: MemoryComparisonSummary[];
}

const MiB = 1024 * 1024;

export function summarise(results: BenchResults): Summary {
  const labelOf = (id: string): string => results.plan.targets.find((target) => target.id === id)?.label ?? id;
  const options = { resamples: results.settings.resamples, confidence: results.settings.confidence };
  const comparisons = results.plan.comparisons.map((spec) => summariseComparison(results, spec, labelOf, options));
  const targets = results.plan.targets.map((spec) => summariseTarget(results, spec));
  const memory = summariseMemory(results);
  const memoryComparisons = results.plan.memory.comparisons.flatMap((spec) =>
    (['large', 'huge'] as const)
      // 1 GiB only where both sides are measured with it (the remote store holds 100 MiB objects only).
      .filter((key) => key === 'large' || (results.settings.huge && [spec.id, spec.referenceId].every((id) => results.plan.memory.targets.some((entry) => entry.id === id && entry.huge))))
      .map((key) => summariseMemoryComparison(results.memory, { ...spec, key }, options)),
  );
  return { comparisons, targets, memory, memoryComparisons };
}

/** The problems of a sample, or of a side that has none in that cycle. */
const problemsOf = (sample: Sample | undefined): string[] => (sample ? sample.problems : ['not sampled']);

function summariseComparison(
  results: BenchResults,
  spec: ComparisonSpec,
  labelOf: (id: string) => string,
  options: { resamples: number; confidence: number },
): ComparisonSummary {
  const session = results.sessions.find((run) => run.id === spec.session);
  const ratios: number[][] = [];
  const invalid: string[] = [];
  const rejectionCounts = new Map<string, number>();
  let rejected = 0;
  for (const round of session?.rounds ?? []) {
    const problems = roundProblems(round, spec);
    if (problems.length > 0) {
      invalid.push(...problems.map((problem) => `round ${round.round}: ${problem}`));
      continue;
    }
    const loadRun = round.loads.find((entry) => entry.load === spec.load);
    const values: number[] = [];
    for (const cycle of loadRun?.cycles ?? []) {
      const [mine, theirs] = [cycle[spec.id], cycle[spec.referenceId]];
      const sideProblems = [...problemsOf(mine).map((problem) => `${spec.id}: ${problem}`), ...problemsOf(theirs).map((problem) => `${spec.referenceId}: ${problem}`)];
      if (sideProblems.length > 0 || !mine || !theirs) {
        rejected += 1;
        for (const problem of sideProblems) rejectionCounts.set(problem, (rejectionCounts.get(problem) ?? 0) + 1);
        continue;
      }
      values.push(spec.metric === 'throughput' ? mine.throughput / theirs.throughput : theirs.cpuUs / mine.cpuUs);
    }
    if (values.length > 0) ratios.push(values);
  }
  const rejections = [...rejectionCounts].map(([problem, count]) => (count > 1 ? `${problem} (${count} samples)` : problem));
  const interval = bootstrapMedian(ratios, { seed: `${spec.session}:${spec.id}/${spec.referenceId}:${spec.load}:${spec.metric}`, ...options });
  const base = { spec, target: labelOf(spec.id), reference: labelOf(spec.referenceId), ratios, rejected, rejections, invalid };
  if (!session || session.rounds.length === 0) return { ...base, outcome: 'NOT RUN', note: 'the session did not run' };
  if (invalid.length > 0) return { ...base, ...(interval ? { interval } : {}), outcome: 'INVALID', note: 'a check failed: the two sides are not comparable' };
  if (!interval) return { ...base, outcome: spec.minimum === undefined ? 'INFO' : 'UNDECIDED', note: rejected > 0 ? 'every pair was rejected' : 'no pairs' };
  if (spec.minimum === undefined) return { ...base, interval, outcome: 'INFO' };
  const thin = tooThin(interval);
  return { ...base, interval, outcome: verdictAtLeast(interval, spec.minimum), ...(thin ? { note: thin } : {}) };
}

/**
 * Byte-check failures of either side, an offload side whose Next moved the body itself (app-bytes
 * check: it was not offloaded), header differences the comparison forbids, or a round that never ran.
 */
function roundProblems(round: SessionRound, spec: ComparisonSpec): string[] {
  if (round.error) return [`not measured: ${round.error}`];
  const problems = [spec.id, spec.referenceId].flatMap((id) => [
    ...(round.checks[id] ?? []).map((problem) => `${id} byte check: ${problem}`),
    ...(round.appBytes?.[id]?.problems ?? []).map((problem) => `${id} app bytes: ${problem}`),
  ]);
  if (spec.sameHeaders) {
    const differences = round.headerChecks[`${spec.id}/${spec.referenceId}`];
    if (differences === undefined) problems.push('the header check did not run');
    else problems.push(...differences.map((difference) => `headers differ: ${difference}`));
  }
  return problems;
}

function summariseTarget(results: BenchResults, spec: TargetSpec): TargetSummary {
  const collect = (load: Load): TargetNumbers => {
    const samples = results.sessions.flatMap((session) =>
      session.rounds.flatMap((round) => round.loads.filter((run) => run.load === load).flatMap((run) => run.cycles.map((cycle) => cycle[spec.id]).filter((sample): sample is Sample => sample !== undefined))),
    );
    const valid = samples.filter((sample) => sample.problems.length === 0);
    const medianOf = (pick: (sample: Sample) => number): number | undefined => (valid.length > 0 ? median(valid.map(pick)) : undefined);
    return {
      samples: valid.length,
      rejected: samples.length - valid.length,
      throughput: medianOf((sample) => sample.throughput),
      cpuUs: medianOf((sample) => sample.cpuUs),
      p50Ms: medianOf((sample) => sample.p50Ms),
      p99Ms: medianOf((sample) => sample.p99Ms),
    };
  };
  const problems = new Set(results.sessions.flatMap((session) => session.rounds.flatMap((round) => round.checks[spec.id] ?? [])));
  return { spec, small: collect('small'), large: collect('large'), problems: [...problems] };
}

function summariseMemory(results: BenchResults): MemoryNumbers[] {
  const groups = new Map<string, MemoryRun[]>();
  for (const run of results.memory) {
    const key = `${run.id}|${run.key}|${run.warm}`;
    groups.set(key, [...(groups.get(key) ?? []), run]);
  }
  return [...groups.values()].map((runs) => {
    const [first] = runs as [MemoryRun];
    const complete = runs.filter((run) => run.before !== undefined && run.peak !== undefined && run.ok);
    const failed = runs.filter((run) => run.ok === false).map((run) => `round ${run.round}: ${run.detail ?? 'downloads failed'}`);
    const skipped = runs.find((run) => run.skipped)?.skipped;
    return {
      id: first.id,
      key: first.key,
      warm: first.warm,
      runs: complete.length,
      ...(complete.length > 0
        ? {
            before: median(complete.map((run) => run.before!)),
            peak: median(complete.map((run) => run.peak!)),
            growth: median(complete.map((run) => run.peak! - run.before!)),
          }
        : {}),
      failed,
      ...(skipped ? { skipped } : {}),
    };
  });
}

function summariseMemoryComparison(
  runs: readonly MemoryRun[],
  spec: { id: string; referenceId: string; slackMiB: number; question: string; key: 'large' | 'huge' },
  options: { resamples: number; confidence: number },
): MemoryComparisonSummary {
  const growthIn = (id: string, round: number): number | undefined => {
    const run = runs.find((candidate) => candidate.id === id && candidate.key === spec.key && !candidate.warm && candidate.round === round);
    return run?.ok && run.before !== undefined && run.peak !== undefined ? (run.peak - run.before) / MiB : undefined;
  };
  const rounds = [...new Set(runs.filter((run) => run.id === spec.id && run.key === spec.key && !run.warm).map((run) => run.round))].sort((a, b) => a - b);
  const differences: number[] = [];
  for (const round of rounds) {
    const [mine, theirs] = [growthIn(spec.id, round), growthIn(spec.referenceId, round)];
    if (mine !== undefined && theirs !== undefined) differences.push(mine - theirs);
  }
  // Each round is one fresh server per side: the rounds are the units resampled.
  const interval = bootstrapMedian(
    differences.map((difference) => [difference]),
    { seed: `memory:${spec.id}/${spec.referenceId}:${spec.key}`, ...options },
  );
  const base = { ...spec, differences };
  if (rounds.length === 0) return { ...base, outcome: 'NOT RUN', note: 'the memory test did not run' };
  if (!interval) return { ...base, outcome: 'UNDECIDED', note: 'no round with both measured' };
  const thin = tooThin(interval, ENOUGH_MEMORY_ROUNDS);
  return { ...base, interval, outcome: verdictAtMost(interval, spec.slackMiB, ENOUGH_MEMORY_ROUNDS), ...(thin ? { note: thin } : {}) };
}
