import { describe, expect, it } from 'vitest';
import { contentRange, parseRange, resolveRanges, unsatisfiedRange, type RangeSpec } from '../../../src/http/range.js';

const int = (first: number, last?: number): RangeSpec =>
  last === undefined ? { kind: 'int', first } : { kind: 'int', first, last };
const suffix = (length: number): RangeSpec => ({ kind: 'suffix', length });

describe('parseRange', () => {
  describe('when the header is absent', () => {
    it('returns absent for null', () => {
      expect(parseRange(null)).toEqual({ kind: 'absent' });
    });
  });

  describe('with one range-spec', () => {
    it.each([
      ['bytes=0-99', [int(0, 99)]],
      ['bytes=0-0', [int(0, 0)]],
      ['bytes=500-', [int(500)]],
      ['bytes=-500', [suffix(500)]],
      ['bytes=-0', [suffix(0)]],
      ['bytes=9500-', [int(9500)]],
      ['bytes=007-0009', [int(7, 9)]],
      ['bytes=5-5', [int(5, 5)]],
    ])('%s', (header, specs) => {
      expect(parseRange(header)).toEqual({ kind: 'ranges', specs });
    });

    it('omits last when the int-range is open', () => {
      const parsed = parseRange('bytes=10-');
      expect(parsed.kind === 'ranges' && 'last' in parsed.specs[0]!).toBe(false);
    });
  });

  describe('with the RFC 9110 §14.1.2 examples', () => {
    it.each([
      ['bytes=0-499', [int(0, 499)]],
      ['bytes=500-999', [int(500, 999)]],
      ['bytes=-500', [suffix(500)]],
      ['bytes=9500-', [int(9500)]],
      ['bytes=0-0,-1', [int(0, 0), suffix(1)]],
      ['bytes=0-999, 4500-5499, -1000', [int(0, 999), int(4500, 5499), suffix(1000)]],
      ['bytes=500-600,601-999', [int(500, 600), int(601, 999)]],
      ['bytes=500-700,601-999', [int(500, 700), int(601, 999)]],
    ])('%s', (header, specs) => {
      expect(parseRange(header)).toEqual({ kind: 'ranges', specs });
    });
  });

  describe('with several range-specs', () => {
    it('keeps the order written', () => {
      expect(parseRange('bytes=500-600,0-99,-5')).toEqual({
        kind: 'ranges',
        specs: [int(500, 600), int(0, 99), suffix(5)],
      });
    });

    it('accepts spaces and tabs around commas', () => {
      expect(parseRange('bytes=0-1 ,\t2-3 , 4-5')).toEqual({
        kind: 'ranges',
        specs: [int(0, 1), int(2, 3), int(4, 5)],
      });
    });

    it('tolerates empty list elements (RFC 9110 §5.6.1.2)', () => {
      expect(parseRange('bytes=,0-1,, ,2-3,')).toEqual({ kind: 'ranges', specs: [int(0, 1), int(2, 3)] });
    });

    it('keeps duplicates for resolveRanges to coalesce', () => {
      expect(parseRange('bytes=0-1,0-1')).toEqual({ kind: 'ranges', specs: [int(0, 1), int(0, 1)] });
    });
  });

  describe('with the unit', () => {
    it.each(['Bytes=0-1', 'BYTES=0-1', 'bYtEs=0-1'])('accepts %s case-insensitively', (header) => {
      expect(parseRange(header)).toEqual({ kind: 'ranges', specs: [int(0, 1)] });
    });

    it.each(['items=0-1', 'byte=0-1', 'bytess=0-1', 'none=0-1', 'bytes 0-1', 'bytes:0-1'])(
      'returns invalid for %s',
      (header) => {
        expect(parseRange(header)).toEqual({ kind: 'invalid' });
      },
    );
  });

  describe('with surrounding whitespace', () => {
    it('ignores whitespace around the whole value (RFC 9110 §5.5)', () => {
      expect(parseRange('  bytes=0-1\t ')).toEqual({ kind: 'ranges', specs: [int(0, 1)] });
    });

    it.each(['bytes =0-1', 'bytes= 0-1', 'bytes = 0-1', 'bytes=0 -1', 'bytes=0- 1', 'bytes=- 1'])(
      'returns invalid for %j',
      (header) => {
        expect(parseRange(header)).toEqual({ kind: 'invalid' });
      },
    );
  });

  describe('with malformed range-specs', () => {
    it.each([
      '',
      'bytes',
      'bytes=',
      'bytes=,',
      'bytes=, ,',
      'bytes=-',
      'bytes=--1',
      'bytes=1--2',
      'bytes=1-2-3',
      'bytes=1-2junk',
      'bytes=+1-2',
      'bytes=1-+2',
      'bytes=-+1',
      'bytes=1.5-2',
      'bytes=1-2.5',
      'bytes=a-b',
      'bytes=0x10-0x20',
      'bytes=1e3-2e3',
      'bytes=１-２',
      'bytes=0-1;2-3',
      'bytes=0-1 2-3',
      'bytes=0-1,junk',
      'bytes=0-1,-',
      'bytes=*',
      '=0-1',
      'bytes==0-1',
    ])('returns invalid for %j', (header) => {
      expect(parseRange(header)).toEqual({ kind: 'invalid' });
    });
  });

  describe('when last-pos is less than first-pos', () => {
    it.each(['bytes=5-4', 'bytes=1-0', 'bytes=0-1,5-4', 'bytes=100-99'])('returns invalid for %s', (header) => {
      expect(parseRange(header)).toEqual({ kind: 'invalid' });
    });

    it('compares positions beyond 2^53 exactly', () => {
      expect(parseRange('bytes=9007199254740993-9007199254740992')).toEqual({ kind: 'invalid' });
    });

    it('ignores leading zeros when comparing', () => {
      expect(parseRange('bytes=0010-9')).toEqual({ kind: 'invalid' });
      expect(parseRange('bytes=9-0010')).toEqual({ kind: 'ranges', specs: [int(9, 10)] });
    });
  });

  describe('with huge numbers', () => {
    it('does not throw on a 400-digit position', () => {
      const huge = '9'.repeat(400);
      expect(parseRange(`bytes=${huge}-`)).toEqual({ kind: 'ranges', specs: [int(Infinity)] });
      expect(parseRange(`bytes=-${huge}`)).toEqual({ kind: 'ranges', specs: [suffix(Infinity)] });
      expect(parseRange(`bytes=0-${huge}`)).toEqual({ kind: 'ranges', specs: [int(0, Infinity)] });
    });

    it('still rejects a huge last below a huger first', () => {
      expect(parseRange(`bytes=${'9'.repeat(401)}-${'9'.repeat(400)}`)).toEqual({ kind: 'invalid' });
    });
  });

  describe('with maxSpecs', () => {
    const many = (count: number) => `bytes=${Array.from({ length: count }, (_, i) => `${i * 10}-${i * 10 + 1}`).join(',')}`;

    it('accepts exactly 100 specs by default', () => {
      const parsed = parseRange(many(100));
      expect(parsed.kind).toBe('ranges');
      expect(parsed.kind === 'ranges' && parsed.specs.length).toBe(100);
    });

    it('returns invalid for 101 specs by default', () => {
      expect(parseRange(many(101))).toEqual({ kind: 'invalid' });
    });

    it('honours a custom limit', () => {
      expect(parseRange(many(3), { maxSpecs: 3 }).kind).toBe('ranges');
      expect(parseRange(many(4), { maxSpecs: 3 })).toEqual({ kind: 'invalid' });
    });

    it('does not count empty list elements', () => {
      expect(parseRange('bytes=0-1,,,,,2-3', { maxSpecs: 2 }).kind).toBe('ranges');
    });
  });
});

describe('resolveRanges', () => {
  describe('with a single int-range', () => {
    it.each([
      [int(0, 99), 1000, { start: 0, end: 99 }],
      [int(0, 0), 1000, { start: 0, end: 0 }],
      [int(999, 999), 1000, { start: 999, end: 999 }],
      [int(500), 1000, { start: 500, end: 999 }],
      [int(0), 1, { start: 0, end: 0 }],
      [int(0, 5000), 1000, { start: 0, end: 999 }],
      [int(900, Infinity), 1000, { start: 900, end: 999 }],
    ])('%j of %i bytes gives %j', (spec, size, range) => {
      expect(resolveRanges([spec], size)).toEqual({ kind: 'partial', ranges: [range] });
    });

    it('gives the whole representation as a partial range, not full', () => {
      expect(resolveRanges([int(0)], 10)).toEqual({ kind: 'partial', ranges: [{ start: 0, end: 9 }] });
    });
  });

  describe('with a single suffix-range', () => {
    it.each([
      [suffix(500), 10000, { start: 9500, end: 9999 }],
      [suffix(1), 10, { start: 9, end: 9 }],
      [suffix(10), 10, { start: 0, end: 9 }],
      [suffix(11), 10, { start: 0, end: 9 }],
      [suffix(Infinity), 10, { start: 0, end: 9 }],
    ])('%j of %i bytes gives %j', (spec, size, range) => {
      expect(resolveRanges([spec], size)).toEqual({ kind: 'partial', ranges: [range] });
    });
  });

  describe('when nothing is satisfiable (416)', () => {
    it.each([
      [[int(1000)], 1000],
      [[int(1000, 2000)], 1000],
      [[int(Infinity)], 1000],
      [[suffix(0)], 1000],
      [[int(1000), suffix(0), int(5000, 6000)], 1000],
    ])('%j of %i bytes', (specs, size) => {
      expect(resolveRanges(specs, size)).toEqual({ kind: 'unsatisfiable' });
    });
  });

  describe('when some specs are unsatisfiable', () => {
    it('drops them and serves the rest', () => {
      expect(resolveRanges([int(5000), int(0, 9), suffix(0)], 1000)).toEqual({
        kind: 'partial',
        ranges: [{ start: 0, end: 9 }],
      });
    });
  });

  describe('with a zero-length representation', () => {
    it.each([[[int(0)]], [[int(0, 0)]], [[suffix(0)]], [[int(0, 0), suffix(0)]]])('%j is unsatisfiable', (specs) => {
      expect(resolveRanges(specs, 0)).toEqual({ kind: 'unsatisfiable' });
    });

    it('ignores the header when a non-zero suffix-range is present (RFC 9110 §14.1.2, §14.2)', () => {
      expect(resolveRanges([suffix(1)], 0)).toEqual({ kind: 'full' });
      expect(resolveRanges([int(0, 0), suffix(5)], 0)).toEqual({ kind: 'full' });
    });
  });

  describe('with several ranges', () => {
    it('keeps disjoint ranges apart when the gap is at least coalesceGap', () => {
      expect(resolveRanges([int(0, 9), int(90, 99)], 1000)).toEqual({
        kind: 'partial',
        ranges: [
          { start: 0, end: 9 },
          { start: 90, end: 99 },
        ],
      });
    });

    it('merges ranges whose gap is below coalesceGap', () => {
      // 79 bytes (10..88) between the ranges.
      expect(resolveRanges([int(0, 9), int(89, 99)], 1000)).toEqual({
        kind: 'partial',
        ranges: [{ start: 0, end: 99 }],
      });
    });

    it('sorts ascending whatever the request order', () => {
      expect(resolveRanges([int(500, 599), int(0, 99), int(200, 299)], 1000)).toEqual({
        kind: 'partial',
        ranges: [
          { start: 0, end: 99 },
          { start: 200, end: 299 },
          { start: 500, end: 599 },
        ],
      });
    });

    it('merges overlapping ranges', () => {
      expect(resolveRanges([int(500, 700), int(601, 999)], 10000, { coalesceGap: 0 })).toEqual({
        kind: 'partial',
        ranges: [{ start: 500, end: 999 }],
      });
    });

    it('merges touching ranges even with coalesceGap 0', () => {
      expect(resolveRanges([int(500, 600), int(601, 999)], 10000, { coalesceGap: 0 })).toEqual({
        kind: 'partial',
        ranges: [{ start: 500, end: 999 }],
      });
    });

    it('keeps a one-byte gap with coalesceGap 0 or 1', () => {
      const expected = {
        kind: 'partial',
        ranges: [
          { start: 0, end: 9 },
          { start: 11, end: 20 },
        ],
      };
      expect(resolveRanges([int(0, 9), int(11, 20)], 100, { coalesceGap: 0 })).toEqual(expected);
      expect(resolveRanges([int(0, 9), int(11, 20)], 100, { coalesceGap: 1 })).toEqual(expected);
      expect(resolveRanges([int(0, 9), int(11, 20)], 100, { coalesceGap: 2 })).toEqual({
        kind: 'partial',
        ranges: [{ start: 0, end: 20 }],
      });
    });

    it('merges a range contained in another', () => {
      expect(resolveRanges([int(0, 999), int(100, 199)], 1000)).toEqual({
        kind: 'partial',
        ranges: [{ start: 0, end: 999 }],
      });
    });

    it('merges duplicates', () => {
      expect(resolveRanges([int(0, 0), int(0, 0), int(0, 0)], 10)).toEqual({
        kind: 'partial',
        ranges: [{ start: 0, end: 0 }],
      });
    });

    it('merges suffix and int ranges after clipping', () => {
      // RFC 9110 §14.1.2 example: first and last bytes only.
      expect(resolveRanges([int(0, 0), suffix(1)], 10000)).toEqual({
        kind: 'partial',
        ranges: [
          { start: 0, end: 0 },
          { start: 9999, end: 9999 },
        ],
      });
      expect(resolveRanges([suffix(5), int(90)], 100)).toEqual({
        kind: 'partial',
        ranges: [{ start: 90, end: 99 }],
      });
    });

    it('chains merges across several ranges out of order', () => {
      expect(resolveRanges([int(300, 399), int(0, 99), int(100, 199), int(1000, 1099), int(200, 250)], 5000)).toEqual({
        kind: 'partial',
        ranges: [
          { start: 0, end: 399 },
          { start: 1000, end: 1099 },
        ],
      });
    });

    it('does not shrink a merged range when a later one ends earlier', () => {
      expect(resolveRanges([int(0, 500), int(10, 20), int(30, 40)], 1000)).toEqual({
        kind: 'partial',
        ranges: [{ start: 0, end: 500 }],
      });
    });

    it('does not mutate the input specs', () => {
      const specs = [int(10, 20), int(0, 5)];
      resolveRanges(specs, 100);
      expect(specs).toEqual([int(10, 20), int(0, 5)]);
    });
  });

  describe('without a limit of its own (parseRange counts the specs)', () => {
    it('never returns more ranges than specs: 500 disjoint specs stay 500 ranges', () => {
      const spread = Array.from({ length: 500 }, (_, i) => int(i * 1000, i * 1000 + 9));
      const resolved = resolveRanges(spread, 1_000_000);
      expect(resolved.kind === 'partial' && resolved.ranges.length).toBe(500);
    });

    it('coalesces adjacent specs into fewer ranges', () => {
      const adjacent = Array.from({ length: 50 }, (_, i) => int(i * 10, i * 10 + 9));
      expect(resolveRanges(adjacent, 1000)).toEqual({ kind: 'partial', ranges: [{ start: 0, end: 499 }] });
    });
  });

  describe('with odd inputs', () => {
    it('returns full for an empty spec list', () => {
      expect(resolveRanges([], 100)).toEqual({ kind: 'full' });
    });

    it.each([-1, NaN, Infinity, 1.5])('returns full for size %s', (size) => {
      expect(resolveRanges([int(0, 1)], size)).toEqual({ kind: 'full' });
    });
  });

  describe('after parseRange', () => {
    it('resolves the RFC 9110 §14.1.2 examples against 10000 bytes', () => {
      const resolve = (header: string) => {
        const parsed = parseRange(header);
        return parsed.kind === 'ranges' ? resolveRanges(parsed.specs, 10000) : parsed;
      };
      expect(resolve('bytes=0-499')).toEqual({ kind: 'partial', ranges: [{ start: 0, end: 499 }] });
      expect(resolve('bytes=500-999')).toEqual({ kind: 'partial', ranges: [{ start: 500, end: 999 }] });
      expect(resolve('bytes=-500')).toEqual({ kind: 'partial', ranges: [{ start: 9500, end: 9999 }] });
      expect(resolve('bytes=9500-')).toEqual({ kind: 'partial', ranges: [{ start: 9500, end: 9999 }] });
      expect(resolve(`bytes=${'9'.repeat(30)}-`)).toEqual({ kind: 'unsatisfiable' });
    });
  });
});

describe('contentRange', () => {
  it.each([
    [{ start: 0, end: 99 }, 1000, 'bytes 0-99/1000'],
    [{ start: 0, end: 0 }, 1, 'bytes 0-0/1'],
    [{ start: 9500, end: 9999 }, 10000, 'bytes 9500-9999/10000'],
    [{ start: 21010, end: 47021 }, 47022, 'bytes 21010-47021/47022'],
    [{ start: 2 ** 40, end: 2 ** 41 - 1 }, 2 ** 41, 'bytes 1099511627776-2199023255551/2199023255552'],
  ])('%j of %i', (range, size, expected) => {
    expect(contentRange(range, size)).toBe(expected);
  });

  it('is accepted by Headers', () => {
    expect(new Headers({ 'content-range': contentRange({ start: 1, end: 2 }, 3) }).get('content-range')).toBe(
      'bytes 1-2/3',
    );
  });
});

describe('unsatisfiedRange', () => {
  it.each([
    [1000, 'bytes */1000'],
    [0, 'bytes */0'],
    [47022, 'bytes */47022'],
  ])('%i', (size, expected) => {
    expect(unsatisfiedRange(size)).toBe(expected);
  });
});
