import { describe, expect, it } from 'vitest';
import { bootstrapMedian, median, quantile, seededRandom, tooThin, verdictAtLeast, verdictAtMost, type Interval } from '../../../bench/stats.js';

const interval = (low: number, high: number, n = 24, clusters = 3): Interval => ({ estimate: (low + high) / 2, low, high, n, clusters, confidence: 0.95 });

describe('median', () => {
  it('takes the middle value, or the mean of the two middle ones, ignoring non-finite values', () => {
    expect(median([3, 1, 2])).toBe(2);
    expect(median([4, 1, 3, 2])).toBe(2.5);
    expect(median([1, Number.NaN, 3])).toBe(2);
    expect(median([])).toBeNaN();
  });
});

describe('quantile', () => {
  it('interpolates linearly between order statistics (type 7)', () => {
    expect(quantile([10, 20, 30, 40, 50], 0)).toBe(10);
    expect(quantile([10, 20, 30, 40, 50], 0.5)).toBe(30);
    expect(quantile([10, 20, 30, 40, 50], 0.1)).toBe(14);
    expect(quantile([10, 20, 30, 40, 50], 1)).toBe(50);
  });
});

describe('seededRandom', () => {
  it('gives the same sequence for the same seed and another for another seed', () => {
    const draw = (seed: string) => Array.from({ length: 5 }, seededRandom(seed));
    expect(draw('a')).toEqual(draw('a'));
    expect(draw('a')).not.toEqual(draw('b'));
    for (const value of draw('c')) expect(value >= 0 && value < 1).toBe(true);
  });
});

describe('bootstrapMedian', () => {
  const noisy = (center: number, count: number, seed: string): number[] => {
    const random = seededRandom(seed);
    return Array.from({ length: count }, () => center + (random() - 0.5) * 0.2);
  };

  it('is deterministic for a seed, brackets the median and narrows with more samples', () => {
    const few = [noisy(1, 8, 'x')];
    const many = [noisy(1, 200, 'y')];
    const first = bootstrapMedian(few, { seed: 's' })!;
    expect(bootstrapMedian(few, { seed: 's' })).toEqual(first);
    expect(first.low).toBeLessThanOrEqual(first.estimate);
    expect(first.high).toBeGreaterThanOrEqual(first.estimate);
    const narrow = bootstrapMedian(many, { seed: 's' })!;
    expect(narrow.high - narrow.low).toBeLessThan(first.high - first.low);
    expect(narrow.low).toBeLessThan(1);
    expect(narrow.high).toBeGreaterThan(1);
  });

  it('widens when servers disagree: rounds are resampled, not only the samples within them', () => {
    // Two servers, each tight, one at 0.9 and one at 1.1: pooled as one sample the interval is
    // narrow; as two clusters it must cover most of the gap between the servers.
    const servers = [noisy(0.9, 12, 'p'), noisy(1.1, 12, 'q')];
    const pooled = bootstrapMedian([servers.flat()], { seed: 's' })!;
    const clustered = bootstrapMedian(servers, { seed: 's' })!;
    expect(clustered.clusters).toBe(2);
    expect(clustered.high - clustered.low).toBeGreaterThan(pooled.high - pooled.low);
    expect(clustered.low).toBeLessThan(0.95);
    expect(clustered.high).toBeGreaterThan(1.05);
  });

  it('returns undefined without values and drops empty clusters', () => {
    expect(bootstrapMedian([], { seed: 's' })).toBeUndefined();
    expect(bootstrapMedian([[], [Number.NaN]], { seed: 's' })).toBeUndefined();
    expect(bootstrapMedian([[], [1, 2, 3]], { seed: 's' })!.clusters).toBe(1);
  });
});

describe('verdictAtLeast', () => {
  it('passes only when the whole interval clears the target and misses only when all of it is below', () => {
    expect(verdictAtLeast(interval(0.95, 1.1), 0.95)).toBe('PASS');
    expect(verdictAtLeast(interval(0.8, 0.949), 0.95)).toBe('MISS');
    expect(verdictAtLeast(interval(0.9, 1.0), 0.95)).toBe('UNDECIDED');
    expect(verdictAtLeast(undefined, 0.95)).toBe('UNDECIDED');
  });

  it('decides nothing from too few samples or a single server', () => {
    expect(verdictAtLeast(interval(1.2, 1.3, 5, 2), 0.95)).toBe('UNDECIDED');
    expect(verdictAtLeast(interval(1.2, 1.3, 24, 1), 0.95)).toBe('UNDECIDED');
    expect(tooThin(interval(1.2, 1.3, 24, 1))).toMatch(/1 server/);
    expect(tooThin(interval(1.2, 1.3, 6, 2))).toBeUndefined();
  });
});

describe('verdictAtMost', () => {
  it('passes when the whole interval is at or below the limit and misses when all of it is above', () => {
    expect(verdictAtMost(interval(-3, 4), 4)).toBe('PASS');
    expect(verdictAtMost(interval(4.1, 9), 4)).toBe('MISS');
    expect(verdictAtMost(interval(1, 6), 4)).toBe('UNDECIDED');
  });
});
