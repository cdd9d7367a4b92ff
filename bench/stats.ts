/**
 * Statistics for the bench report: medians, a seeded two-stage (cluster) bootstrap interval for the
 * median, and the verdicts drawn from an interval. Deterministic: the same values and seed give the
 * same interval, so the report generated from a committed latest.json can be checked byte for byte.
 *
 * Why these choices (docs/benchmarks.md, "Method"):
 * - Each sample of a target is paired with the reference's sample from the same cycle (seconds
 *   apart, same processes), and the ratio is taken per pair: whatever load other tenants put on the
 *   machine in that cycle hits both sides and cancels. A ratio of medians would discard the pairing.
 * - The median of the per-pair ratios, not their mean: one side of one pair hit by a burst of
 *   someone else's work gives one wild ratio, which moves a mean by a share of the whole sample.
 * - The servers (rounds) are clusters: samples from one process share its state (JIT, heap, GC
 *   mode), so they are not independent draws. The bootstrap resamples rounds first, then the pairs
 *   within each chosen round (Davison & Hinkley 1997, §3.8), so the interval includes how much the
 *   ratio varies from one fresh server to the next, not only within one.
 * - Percentile interval from 10,000 resamples.
 */

export function median(values: readonly number[]): number {
  const sorted = values.filter((value) => Number.isFinite(value)).sort((a, b) => a - b);
  if (sorted.length === 0) return Number.NaN;
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
}

/** The `q` quantile of ascending `sorted` values, interpolating linearly (R's type 7). */
export function quantile(sorted: ArrayLike<number>, q: number): number {
  if (sorted.length === 0) return Number.NaN;
  const position = (sorted.length - 1) * q;
  const below = Math.floor(position);
  const above = Math.min(below + 1, sorted.length - 1);
  return sorted[below]! + (sorted[above]! - sorted[below]!) * (position - below);
}

/** A small, fast PRNG (mulberry32) seeded from a string by FNV-1a: deterministic across runs and platforms. */
export function seededRandom(seed: string): () => number {
  let state = 0x811c9dc5;
  for (let index = 0; index < seed.length; index += 1) state = Math.imul(state ^ seed.charCodeAt(index), 0x01000193) >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export interface Interval {
  /** The median of every value. */
  estimate: number;
  low: number;
  high: number;
  /** Values and clusters (rounds) it was computed from. */
  n: number;
  clusters: number;
  confidence: number;
}

export interface BootstrapOptions {
  seed: string;
  resamples?: number;
  confidence?: number;
}

/**
 * Percentile bootstrap interval for the median of all values, resampling clusters with replacement
 * and then values within each chosen cluster. One cluster is the ordinary bootstrap over its values.
 * Undefined when there are no values.
 */
export function bootstrapMedian(clusters: readonly (readonly number[])[], options: BootstrapOptions): Interval | undefined {
  const groups = clusters.map((cluster) => cluster.filter((value) => Number.isFinite(value))).filter((cluster) => cluster.length > 0);
  const n = groups.reduce((sum, cluster) => sum + cluster.length, 0);
  if (n === 0) return undefined;
  const resamples = options.resamples ?? 10_000;
  const confidence = options.confidence ?? 0.95;
  const random = seededRandom(options.seed);
  const pick = (length: number): number => Math.min(length - 1, Math.floor(random() * length));
  const statistics = new Float64Array(resamples);
  for (let resample = 0; resample < resamples; resample += 1) {
    const pooled: number[] = [];
    for (let draw = 0; draw < groups.length; draw += 1) {
      const cluster = groups.length === 1 ? groups[0]! : groups[pick(groups.length)]!;
      for (let value = 0; value < cluster.length; value += 1) pooled.push(cluster[pick(cluster.length)]!);
    }
    statistics[resample] = median(pooled);
  }
  statistics.sort();
  const tail = (1 - confidence) / 2;
  return {
    estimate: median(groups.flat()),
    low: quantile(statistics, tail),
    high: quantile(statistics, 1 - tail),
    n,
    clusters: groups.length,
    confidence,
  };
}

export type Verdict = 'PASS' | 'MISS' | 'UNDECIDED';

/** How much an interval needs before it may decide: values, and clusters (servers) they come from. */
export interface Enough {
  values: number;
  clusters: number;
  /** What one value is, for the message: a pair of samples, or a round of the memory test. */
  unit: string;
}

/** Throughput pairs: at least 6, from at least 2 servers (one server's samples say nothing about the next). */
export const ENOUGH_PAIRS: Enough = { values: 6, clusters: 2, unit: 'valid pair' };

/** Why `interval` may not decide anything yet, or undefined when it may. */
export function tooThin(interval: Interval | undefined, enough: Enough = ENOUGH_PAIRS): string | undefined {
  const plural = (count: number, word: string): string => `${count} ${word}${count === 1 ? '' : 's'}`;
  if (!interval) return `no ${enough.unit}s`;
  if (interval.n < enough.values) return `only ${plural(interval.n, enough.unit)} (need ${enough.values})`;
  if (interval.clusters < enough.clusters) return `${plural(interval.n, enough.unit)} from ${plural(interval.clusters, 'server')} only (need ${enough.clusters})`;
  return undefined;
}

/** A "higher is better" target: PASS when the whole interval is at or above `minimum`, MISS when all of it is below. */
export function verdictAtLeast(interval: Interval | undefined, minimum: number, enough: Enough = ENOUGH_PAIRS): Verdict {
  if (!interval || tooThin(interval, enough)) return 'UNDECIDED';
  if (interval.low >= minimum) return 'PASS';
  if (interval.high < minimum) return 'MISS';
  return 'UNDECIDED';
}

/** A "lower is better" limit: PASS when the whole interval is at or below `maximum`, MISS when all of it is above. */
export function verdictAtMost(interval: Interval | undefined, maximum: number, enough: Enough = ENOUGH_PAIRS): Verdict {
  if (!interval || tooThin(interval, enough)) return 'UNDECIDED';
  if (interval.high <= maximum) return 'PASS';
  if (interval.low > maximum) return 'MISS';
  return 'UNDECIDED';
}
