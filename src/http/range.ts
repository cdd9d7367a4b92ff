/**
 * The Range header: parse it (RFC 9110 §14.1.2, §14.2), resolve it against a size, format Content-Range.
 * Written here rather than taken from `range-parser` 1.2, which reads numbers with parseInt
 * (`bytes=1x-2y` passes), drops malformed specs instead of ignoring the whole header, answers 416
 * for `bytes=5-2` (invalid, so RFC 9110 says 200), does not cap the number of specs, and merges
 * only overlapping or adjacent ranges.
 */

import { isOws, scanToken, skipOws, trimFieldValue } from './field-value.js';
import type { ByteRange } from '../types.js';

/** One `range-spec` as written: `first-last`, `first-` (no `last`), or `-length` (a suffix). */
export type RangeSpec = { kind: 'int'; first: number; last?: number } | { kind: 'suffix'; length: number };

/**
 * A parsed `Range` header.
 * `absent`: no header. `invalid`: ignore the header and serve 200 (RFC 9110 §14.2).
 * `ranges`: at least one syntactically valid spec, not yet checked against the size.
 */
export type ParsedRange = { kind: 'absent' } | { kind: 'invalid' } | { kind: 'ranges'; specs: RangeSpec[] };

/**
 * Ranges resolved against the representation's size.
 * `full`: ignore the header (200). `unsatisfiable`: 416 with {@link unsatisfiedRange}.
 * `partial`: 206 with these ranges, ascending, disjoint, clipped to the size.
 */
export type ResolvedRanges = { kind: 'full' } | { kind: 'unsatisfiable' } | { kind: 'partial'; ranges: ByteRange[] };

/** Options for {@link parseRange}. */
export interface ParseRangeOptions {
  /**
   * Most range-specs accepted in one header, counted as written (like nginx's `max_ranges`);
   * more makes the whole header `invalid`. The handler passes its `maxRanges`; the default only
   * bounds direct callers (a 16 KiB header holds at most ~5,000 specs either way).
   * @default 100
   */
  maxSpecs?: number;
}

/** Options for {@link resolveRanges}. */
export interface ResolveRangesOptions {
  /**
   * Ranges separated by fewer than this many bytes are merged into one.
   * @default 80
   */
  coalesceGap?: number;
}

const DEFAULT_MAX_SPECS = 100;
// RFC 9110 §15.3.7.2: "the typical overhead between each part of a multipart/byteranges is
// around 80 bytes"; sending a gap shorter than that costs less than a new part does.
const DEFAULT_COALESCE_GAP = 80;

const INT_RANGE = /^([0-9]+)-([0-9]*)$/;
const SUFFIX_RANGE = /^-([0-9]+)$/;

/**
 * Parse a `Range` header value with the strict RFC 9110 §14.1.2 grammar.
 * Any malformed spec, an unknown unit, or more than `maxSpecs` specs makes the whole header
 * `invalid`; the caller then serves the full representation (§14.2). One pass over the value:
 * list separators are found by index, not by a regex split on OWS "," OWS, which retries at every
 * space of a long run (quadratic).
 * @example parseRange('bytes=0-99, -500') // { kind: 'ranges', specs: [{kind:'int',first:0,last:99}, {kind:'suffix',length:500}] }
 */
export function parseRange(header: string | null, options: ParseRangeOptions = {}): ParsedRange {
  if (header === null) return { kind: 'absent' };
  const maxSpecs = options.maxSpecs ?? DEFAULT_MAX_SPECS;
  // RFC 9110 §5.5: leading and trailing whitespace is not part of a field value.
  const text = trimFieldValue(header);
  // RFC 9110 §14.1: ranges-specifier = range-unit "=" range-set; the unit is a token, only
  // `bytes` is understood, compared case-insensitively; §14.2: an unknown unit is ignored.
  const unitEnd = scanToken(text, 0);
  if (unitEnd === 0 || text.charCodeAt(unitEnd) !== 0x3d /* = */) return { kind: 'invalid' };
  if (unitEnd !== 5 || text.slice(0, 5).toLowerCase() !== 'bytes') return { kind: 'invalid' };

  const specs: RangeSpec[] = [];
  // RFC 9110 §5.6.1.2: a recipient tolerates empty list elements, but 1#range-spec needs one.
  // Elements are separated by OWS "," OWS; whitespace directly after "=" stays inside the first
  // element, where the spec patterns reject it, as the grammar does.
  for (let start = unitEnd + 1; start <= text.length; ) {
    let comma = text.indexOf(',', start);
    if (comma < 0) comma = text.length;
    let end = comma;
    while (end > start && isOws(text.charCodeAt(end - 1))) end -= 1;
    if (end > start) {
      const spec = parseSpec(text.slice(start, end));
      if (!spec) return { kind: 'invalid' };
      specs.push(spec);
      // RFC 9110 §14.2: a server MAY ignore a Range with many ranges (a denial-of-service sign).
      if (specs.length > maxSpecs) return { kind: 'invalid' };
    }
    start = skipOws(text, comma + 1);
  }
  return specs.length === 0 ? { kind: 'invalid' } : { kind: 'ranges', specs };
}

function parseSpec(element: string): RangeSpec | undefined {
  const int = INT_RANGE.exec(element);
  if (int) {
    const [, first = '', last = ''] = int;
    if (last === '') return { kind: 'int', first: Number(first) };
    // RFC 9110 §14.1.1: an int-range is invalid if last-pos is less than first-pos. Compared as
    // digit strings so that values beyond 2^53 (which Number() rounds) still compare exactly.
    if (compareDigits(last, first) < 0) return undefined;
    return { kind: 'int', first: Number(first), last: Number(last) };
  }
  const suffix = SUFFIX_RANGE.exec(element);
  if (suffix) return { kind: 'suffix', length: Number(suffix[1]) };
  return undefined;
}

/** Compare two non-negative decimal digit strings exactly, whatever their length. */
function compareDigits(a: string, b: string): number {
  const x = a.replace(/^0+(?=.)/, '');
  const y = b.replace(/^0+(?=.)/, '');
  if (x.length !== y.length) return x.length - y.length;
  return x < y ? -1 : x > y ? 1 : 0;
}

/**
 * Resolve parsed specs against a representation of `size` bytes (RFC 9110 §14.1.2).
 * Unsatisfiable specs are dropped; the rest are clipped, sorted ascending and coalesced when
 * they overlap, touch, or are fewer than `coalesceGap` bytes apart, so there are never more
 * ranges than specs (the limit on their number is {@link parseRange}'s `maxSpecs`). An empty
 * `specs` list, or a size that is not a non-negative safe integer, resolves to `full`.
 * @example resolveRanges([{ kind: 'suffix', length: 500 }], 10000) // { kind: 'partial', ranges: [{ start: 9500, end: 9999 }] }
 */
export function resolveRanges(specs: RangeSpec[], size: number, options: ResolveRangesOptions = {}): ResolvedRanges {
  const coalesceGap = options.coalesceGap ?? DEFAULT_COALESCE_GAP;
  if (specs.length === 0 || !Number.isSafeInteger(size) || size < 0) return { kind: 'full' };

  if (size === 0) {
    // RFC 9110 §14.1.2: on a zero-length representation every int-range is unsatisfiable, but
    // "the only satisfiable form of range-spec ... is a suffix-range with a non-zero
    // suffix-length". No Content-Range can describe those zero bytes (§14.4), so take §14.2's
    // permission to ignore Range "when the selected representation has no content".
    const anySuffix = specs.some((spec) => spec.kind === 'suffix' && spec.length > 0);
    return anySuffix ? { kind: 'full' } : { kind: 'unsatisfiable' };
  }

  const ranges: ByteRange[] = [];
  for (const spec of specs) {
    const range = satisfy(spec, size);
    if (range) ranges.push(range);
  }
  // RFC 9110 §15.5.17: 416 when none of the ranges overlap the current extent.
  if (ranges.length === 0) return { kind: 'unsatisfiable' };

  // RFC 9110 §15.3.7.2 asks parts in request order (SHOULD) but lets a server coalesce
  // "regardless of the order"; ascending order is required here because FileBody reads only
  // move forward, and §14.2 allows ignoring out-of-order sets as a denial-of-service sign.
  ranges.sort((a, b) => a.start - b.start || a.end - b.end);
  const merged: ByteRange[] = [];
  for (const range of ranges) {
    const last = merged[merged.length - 1];
    // Bytes strictly between the two ranges: negative on overlap, 0 when they touch.
    const gap = last ? range.start - last.end - 1 : Infinity;
    if (last && (gap <= 0 || gap < coalesceGap)) {
      last.end = Math.max(last.end, range.end);
    } else {
      merged.push({ start: range.start, end: range.end });
    }
  }
  return { kind: 'partial', ranges: merged };
}

function satisfy(spec: RangeSpec, size: number): ByteRange | undefined {
  if (spec.kind === 'int') {
    // RFC 9110 §14.1.2: satisfiable when first-pos < length; last-pos past the end, or absent,
    // means the remainder of the representation.
    if (spec.first >= size) return undefined;
    const last = spec.last === undefined ? size - 1 : Math.min(spec.last, size - 1);
    return { start: spec.first, end: last };
  }
  // RFC 9110 §14.1.2: a suffix-range is satisfiable with a non-zero length; a length past the
  // size means the whole representation.
  if (spec.length <= 0) return undefined;
  return { start: Math.max(0, size - spec.length), end: size - 1 };
}

/**
 * The `Content-Range` value of a 206 part (RFC 9110 §14.4).
 * @example contentRange({ start: 0, end: 99 }, 1000) // 'bytes 0-99/1000'
 */
export function contentRange(range: ByteRange, size: number): string {
  return `bytes ${range.start}-${range.end}/${size}`;
}

/**
 * The `Content-Range` value of a 416 response (RFC 9110 §14.4, §15.5.17): `bytes`, a space,
 * an asterisk, a slash and the complete length (for 1000: bytes, space, `*`, `/1000`).
 */
export function unsatisfiedRange(size: number): string {
  return `bytes */${size}`;
}
