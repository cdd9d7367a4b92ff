import { describe, expect, it, vi } from 'vitest';
import { MAX_KEY_LENGTH, memoize } from '../../src/memoize.js';

describe('memoize', () => {
  it('computes once per pair of arguments and keeps pairs apart', () => {
    const compute = vi.fn((first: string | undefined, second: string) => `${first ?? '-'}|${second}`);
    const cached = memoize(compute);
    expect(cached(undefined, 'a.pdf')).toBe('-|a.pdf');
    expect(cached(undefined, 'a.pdf')).toBe('-|a.pdf');
    expect(cached('text/plain', 'a.pdf')).toBe('text/plain|a.pdf');
    // Joined keys would collide here ('a' + 'b|c' vs 'a|b' + 'c'); nested maps do not.
    expect(cached('a', 'b|c')).toBe('a|b|c');
    expect(cached('a|b', 'c')).toBe('a|b|c');
    expect(compute).toHaveBeenCalledTimes(4);
  });

  it('remembers undefined results too', () => {
    const compute = vi.fn((_first: string, _second: string): string | undefined => undefined);
    const cached = memoize(compute);
    cached('a', 'b');
    cached('a', 'b');
    expect(compute).toHaveBeenCalledTimes(1);
  });

  it('keeps at most `max` results, then starts afresh', () => {
    const compute = vi.fn((first: string, second: number) => `${first}${second}`);
    const cached = memoize(compute, 3);
    for (const n of [1, 2, 3]) cached('x', n);
    cached('x', 1);
    expect(compute).toHaveBeenCalledTimes(3);
    cached('x', 4); // the fourth result clears the first three
    cached('x', 1);
    expect(compute).toHaveBeenCalledTimes(5);
    expect(cached('x', 4)).toBe('x4');
    expect(compute).toHaveBeenCalledTimes(5);
  });
});

describe('memoize with long string arguments', () => {
  it('computes them every time and keeps none, so memory stays bounded', () => {
    const compute = vi.fn((first: string | undefined, second: string) => second.length);
    const cached = memoize(compute);
    const long = 'x'.repeat(MAX_KEY_LENGTH + 1);
    expect(cached(undefined, long)).toBe(MAX_KEY_LENGTH + 1);
    expect(cached(undefined, long)).toBe(MAX_KEY_LENGTH + 1);
    expect(cached(long, 'a')).toBe(1);
    expect(cached(long, 'a')).toBe(1);
    expect(compute).toHaveBeenCalledTimes(4);
    // Names up to the limit are still remembered.
    const limit = 'y'.repeat(MAX_KEY_LENGTH);
    cached(undefined, limit);
    cached(undefined, limit);
    expect(compute).toHaveBeenCalledTimes(5);
  });
});
