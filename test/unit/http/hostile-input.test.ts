/**
 * Worst inputs we can construct for every parser a request header or a download name reaches, at
 * the largest size each can have: ~16 KiB for a header value (Node's default max header size for
 * the whole head), 1 MiB for a name (names come from the app, e.g. a stored upload name). Each must
 * be handled in linear time: a safety bound, not a benchmark (the best of three runs must stay
 * under 50 ms; the quadratic and exponential versions took 100 ms to seconds, see issue 14).
 */
import { describe, expect, it } from 'vitest';
import { contentDisposition, sanitizeFilename } from '../../../src/http/content-disposition.js';
import { contentTypeFor, isValidMediaType, parseMediaType } from '../../../src/http/content-type.js';
import { parseETagCondition, parseEntityTag } from '../../../src/http/etag.js';
import { isFieldValue, trimFieldValue } from '../../../src/http/field-value.js';
import { parseHttpDate } from '../../../src/http/http-date.js';
import { evaluatePreconditions, isRangeFresh } from '../../../src/http/preconditions.js';
import { parseRange } from '../../../src/http/range.js';

const BOUND_MS = 50;
const HEADER = 16 * 1024;
const NAME = 1 << 20;

/** `unit` repeated to fill `size` characters, between `before` and `after`. */
function fill(before: string, unit: string, after: string, size: number): string {
  return before + unit.repeat(Math.max(1, Math.floor((size - before.length - after.length) / unit.length))) + after;
}

/**
 * Fails fast when `check` is slow on the smaller `input(16 KiB)`: a quadratic regression on the
 * 1 MiB input would otherwise block the test worker for minutes before failing.
 */
function expectBoundedFromSmall(input: (size: number) => string, size: number, check: (value: string) => void): void {
  if (size > HEADER) check(input(HEADER));
  check(input(size));
}

/** Exponential backtracking on 24 `; ` pairs (0.3 s with the old regex) would never finish on 16 KiB. */
function expectNoExponentialMediaType(): void {
  const time = bestOfThree(() => isValidMediaType(`text/plain${'; '.repeat(24)}\u0000`));
  expect(time, 'media type validation backtracks: the full-size inputs would never finish').toBeLessThan(BOUND_MS);
}

/** Best of three wall-clock timings of `run()`, in ms (a GC pause or a busy core can hit one run). */
function bestOfThree(run: () => unknown): number {
  let best = Infinity;
  for (let round = 0; round < 3; round += 1) {
    const start = performance.now();
    run();
    best = Math.min(best, performance.now() - start);
  }
  return best;
}

const S = ' ';
const T = '\t';
const headerInputs: Record<string, string[]> = {
  range: [
    fill('bytes=0-1', S, 'x', HEADER),
    fill('bytes=0-1', S, ',0-2', HEADER),
    fill('bytes=0-1,', S, 'x', HEADER),
    fill('bytes=', ' ,', '0-1', HEADER),
    fill('bytes=', `${S}${T},`, 'x', HEADER),
    fill('bytes=', ',', '0-1', HEADER),
    fill('bytes=', '0-0,', '0-0', HEADER),
    fill('bytes=', '-1,', 'x', HEADER),
    fill('bytes=', '0', '-', HEADER),
    fill('bytes=1-', '0', '', HEADER),
    fill('', S, 'bytes=0-1', HEADER),
    fill('bytes=0-1', S, '', HEADER),
    fill('', 'b', '=0-1', HEADER),
    fill('', 'b', '', HEADER),
  ],
  etagList: [
    fill('"a"', S, 'x', HEADER),
    fill('"a",', S, 'x', HEADER),
    fill('', ', ', '"a" x', HEADER),
    fill('', `"a"${S},${S}`, 'x', HEADER),
    fill('', 'W/', '"a"', HEADER),
    fill('"', 'a', '', HEADER),
    fill('', '"', '', HEADER),
    fill('W/"', 'a', ' x', HEADER),
    fill('', 'W/"a",', 'W/"', HEADER),
  ],
  date: [
    fill('Sun', S, 'x', HEADER),
    fill('', S, 'Sun, 06 Nov 1994 08:49:37 GMT x', HEADER),
    fill('Sun, 06 Nov 1994 08:49:37 GMT', S, 'x', HEADER),
    fill('Sunday, ', '0', '', HEADER),
    fill('Sun Nov ', S, '6 08:49:37 1994', HEADER),
    fill('', 'Sun, ', '', HEADER),
  ],
  ifRange: [
    fill('W/', S, 'x', HEADER),
    fill('"', 'a', '', HEADER),
    fill('W/"a"', S, 'x', HEADER),
    fill('', S, '"a"', HEADER),
    fill('Sun, 06 Nov 1994', S, ' 08:49:37 GMT', HEADER),
  ],
  mediaType: [
    // The exponential shape of issue 14, item 1, at the full size.
    fill('text/plain', '; ', '\u0000', HEADER),
    fill('text/plain', ';', '\u0000', HEADER),
    fill('text/plain', ' ;', '\u0000', HEADER),
    fill('text/plain', `;${S}${T}`, '\u0000', HEADER),
    fill('text/plain;', S, 'x', HEADER),
    fill('text/plain', S, '; x=y', HEADER),
    fill('text/plain', '; x=y', ' z', HEADER),
    fill('text/plain; x="', '\\ ', '', HEADER),
    fill('text/plain; x="', 'a', '', HEADER),
    fill('text/plain', '; x=""', '"', HEADER),
    fill('', 'a', '/', HEADER),
    fill('a/', 'b', ' x', HEADER),
    fill('', S, 'a/b', HEADER),
  ],
};

describe('header parsers on hostile 16 KiB values', () => {
  const date = new Date('2026-01-01T00:00:00Z');
  const validators = { etag: '"a"', lastModified: date };

  it.each(headerInputs.range!.map((value, index) => [index, value] as const))('Range #%i', (_, value) => {
    expect(bestOfThree(() => parseRange(value))).toBeLessThan(BOUND_MS);
    expect(bestOfThree(() => parseRange(value, { maxSpecs: 100_000 }))).toBeLessThan(BOUND_MS);
  });

  it.each(headerInputs.etagList!.map((value, index) => [index, value] as const))('If-Match / If-None-Match #%i', (_, value) => {
    expect(bestOfThree(() => parseETagCondition(value))).toBeLessThan(BOUND_MS);
    expect(bestOfThree(() => parseEntityTag(value))).toBeLessThan(BOUND_MS);
    for (const name of ['if-match', 'if-none-match']) {
      const headers = new Headers({ [name]: value });
      expect(bestOfThree(() => evaluatePreconditions('GET', headers, validators))).toBeLessThan(BOUND_MS);
    }
  });

  it.each(headerInputs.date!.map((value, index) => [index, value] as const))('If-Modified-Since / If-Unmodified-Since #%i', (_, value) => {
    expect(bestOfThree(() => parseHttpDate(value))).toBeLessThan(BOUND_MS);
    for (const name of ['if-modified-since', 'if-unmodified-since']) {
      const headers = new Headers({ [name]: value });
      expect(bestOfThree(() => evaluatePreconditions('GET', headers, validators))).toBeLessThan(BOUND_MS);
    }
  });

  it.each([...headerInputs.ifRange!, ...headerInputs.etagList!, ...headerInputs.date!].map((value, index) => [index, value] as const))('If-Range #%i', (_, value) => {
    expect(bestOfThree(() => isRangeFresh(value, validators))).toBeLessThan(BOUND_MS);
  });

  it.each(headerInputs.mediaType!.map((value, index) => [index, value] as const))('media type #%i (contentType from an app, e.g. a stored upload type)', (_, value) => {
    expectNoExponentialMediaType();
    expect(bestOfThree(() => isValidMediaType(value))).toBeLessThan(BOUND_MS);
    expect(bestOfThree(() => contentTypeFor('file.txt', value))).toBeLessThan(BOUND_MS);
  });

  it('field values (every header value the app configures or a name becomes)', () => {
    for (const [before, after] of [['a', '\u0000'], ['a', ''], ['', 'a']] as const) {
      expectBoundedFromSmall((size) => fill(before, S, after, size), NAME, (value) => {
        expect(bestOfThree(() => isFieldValue(value))).toBeLessThan(BOUND_MS);
        expect(bestOfThree(() => trimFieldValue(value))).toBeLessThan(BOUND_MS);
      });
    }
  });
});

describe('media type validation (issue 14, item 1)', () => {
  it('is linear on the shape that backtracked exponentially (`; ` pairs then a bad character)', () => {
    // 24 pairs took ~0.3 s with the regex (each pair doubled it); the full-size shape is above.
    for (const pairs of [16, 20, 24]) {
      const value = `text/plain${'; '.repeat(pairs)}\u0000`;
      expect(bestOfThree(() => isValidMediaType(value))).toBeLessThan(BOUND_MS);
      expect(isValidMediaType(value)).toBe(false);
      expect(isValidMediaType(value.slice(0, -1))).toBe(true);
    }
  });

  it('agrees with the RFC 9110 grammar, written as a regex, on 20,000 random short values', () => {
    // The grammar as a regex is correct but backtracks exponentially on long values: fine as an
    // oracle for short ones. Values are drawn from the characters the grammar cares about.
    const token = "[!#$%&'*+.^_`|~0-9A-Za-z-]+";
    const quoted = '"(?:[\\t \\x21\\x23-\\x5b\\x5d-\\x7e]|\\\\[\\t \\x20-\\x7e])*"';
    const parameter = `(${token})=(?:${token}|${quoted})`;
    const grammar = new RegExp(`^[ \\t]*${token}/${token}(?:[ \\t]*;[ \\t]*(?:${parameter})?)*[ \\t]*$`);
    const alphabet = ['a', 'b', '/', ';', '=', '"', '\\', ' ', '\t', ',', '\u0000', '\r', 'é', 'c', 'h', 'x', 't'];
    let seed = 7;
    const random = (n: number) => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      return seed % n;
    };
    for (let i = 0; i < 20_000; i += 1) {
      let value = ['a/b', 'text/plain', 'a/b; x=y', ''][random(4)]!;
      const length = random(12);
      for (let j = 0; j < length; j += 1) value += alphabet[random(alphabet.length)];
      expect(isValidMediaType(value), JSON.stringify(value)).toBe(grammar.test(value));
    }
  });

  it('reports a charset parameter only where the grammar has one', () => {
    expect(parseMediaType('text/plain; Charset=x')).toEqual({ value: 'text/plain; Charset=x', hasCharset: true });
    expect(parseMediaType(' text/plain; x="charset=y" ')).toEqual({ value: 'text/plain; x="charset=y"', hasCharset: false });
    expect(parseMediaType('text/plain; charsets=y')?.hasCharset).toBe(false);
    expect(parseMediaType('text/plain; a=b x')).toBeUndefined();
  });
});

describe('download names of 1 MiB', () => {
  const names: Record<string, (size: number) => string> = {
    'inner spaces': (size) => fill('a', S, 'b.txt', size),
    'inner dots and spaces': (size) => fill('a', '. ', 'b.txt', size),
    'leading spaces': (size) => fill('', S, 'a.txt', size),
    'trailing dots': (size) => fill('a', '.', '', size),
    'only dots': (size) => fill('', '.', '', size),
    'alternating combining marks (NFC reorders them by insertion)': (size) => fill('a', '\u0301\u0316', '.txt', size),
    'combining marks on one base': (size) => fill('a', '\u0301', '', size),
    'controls and bidi': (size) => fill('a', '\u202e\u0000', 'b.pdf', size),
    separators: (size) => fill('', '/\\', 'x.txt', size),
    'lone surrogates': (size) => fill('', '\ud800', '.txt', size),
    'emoji flags': (size) => fill('', '\u{1f1eb}\u{1f1f7}', '.txt', size),
    'hangul jamo': (size) => fill('', '\u1100\u1161\u11a8', '.txt', size),
    'a long extension': (size) => fill('a.', 'b', '', size),
    'many dots': (size) => fill('', 'a.', 'txt', size),
    'NFKD expanders': (size) => fill('', '\ufdfa', '.pdf', size),
  };

  it.each(Object.entries(names))('%s: sanitised, disposition and type in bounded time', (_, input) => {
    expectBoundedFromSmall(input, NAME, (value) => {
      expect(bestOfThree(() => sanitizeFilename(value))).toBeLessThan(BOUND_MS);
      expect(bestOfThree(() => contentDisposition('attachment', value))).toBeLessThan(BOUND_MS);
      expect(bestOfThree(() => contentTypeFor(value))).toBeLessThan(BOUND_MS);
    });
    const name = input(NAME);
    const sanitised = sanitizeFilename(name);
    expect(new TextEncoder().encode(sanitised).byteLength).toBeLessThanOrEqual(255);
    const disposition = contentDisposition('attachment', name);
    expect(new Headers({ 'content-disposition': disposition }).get('content-disposition')).toBe(disposition);
  });

  it('keeps the extension of a long name', () => {
    expect(sanitizeFilename(fill('report ', 'x', '.pdf', NAME))).toMatch(/^report x+\.pdf$/);
    expect(sanitizeFilename(fill('a', '\u0301\u0316', '.txt', NAME)).endsWith('.txt')).toBe(true);
    expect(contentTypeFor(fill('a', 'b', '.pdf', NAME))).toBe('application/pdf');
    expect(contentTypeFor(fill('a.', 'b', '', NAME))).toBe('application/octet-stream');
  });
});
