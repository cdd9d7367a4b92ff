/**
 * Property-based checks of the HTTP core (issue 18): generators of conditional and Range request
 * headers that carry their own meaning, an independent reference model of RFC 9110 that turns
 * that meaning into the allowed outcomes, and a checker of one response against them.
 *
 * The oracle never parses the headers it generated and never calls src/http: each generator
 * returns the text it wrote together with what that text means (a date, a tag list, range specs,
 * or "malformed"), so the model only applies the RFC's rules to known values.
 */
import fc from 'fast-check';

/** The validators the server sent for the file (learned from a plain GET), and its size. */
export interface Representation {
  size: number;
  etag: string | undefined;
  /** Last-Modified as sent, in ms (whole seconds). */
  lastModified: number | undefined;
}

/** An entity-tag as meant: `opaque` keeps its quotes. */
export interface Tag {
  weak: boolean;
  opaque: string;
}

/** One range-spec as meant, with exact integers (values may exceed 2^53). */
export type Spec = { first: bigint; last?: bigint } | { suffix: bigint };

type TagList = 'any' | 'invalid' | Tag[];
// `invalid`: not a ranges-specifier (§14.1.1); `unknown-unit`: a well-formed one in a unit other than bytes.
// `valid`: the well-formed specs of an invalid set, for servers that drop only the bad ones.
type RangeMeaning = { kind: 'specs'; specs: Spec[] } | { kind: 'invalid'; valid?: Spec[] } | { kind: 'unknown-unit' };
type IfRangeMeaning = { kind: 'tag'; tag: Tag } | { kind: 'date'; ms: number } | { kind: 'invalid' };

/** A generated request: the headers as written and what each one means. */
export interface RequestCase {
  method: 'GET' | 'HEAD';
  headers: Record<string, string>;
  range?: RangeMeaning;
  ifRange?: IfRangeMeaning;
  ifMatch?: TagList;
  ifNoneMatch?: TagList;
  /** `null`: a malformed date, which the RFC says to ignore. */
  ifModifiedSince?: number | null;
  ifUnmodifiedSince?: number | null;
}

/**
 * One response the RFC allows: a status without file bytes, the full file, or parts covering
 * `wanted`. (A bodiless 206 is never the RFC's answer; only a proxy deviation lists one.)
 */
export type Outcome = { kind: 'status'; status: 304 | 412 | 416 | 206 } | { kind: 'full' } | { kind: 'partial'; wanted: Interval[] };

/** Inclusive byte interval. */
export interface Interval {
  start: number;
  end: number;
}

// ---------------------------------------------------------------------------------------------
// Generators
// ---------------------------------------------------------------------------------------------

const DAYS = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'];
const LONG_DAYS = ['Sunday', 'Monday', 'Tuesday', 'Wednesday', 'Thursday', 'Friday', 'Saturday'];
const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
const pad = (value: number, width = 2) => String(value).padStart(width, '0');
const ows = fc.constantFrom('', '', ' ', '\t', '  ');
/**
 * `wellFormed` inputs keep to what every server parses alike (SP only, no empty list elements,
 * no malformed values, numbers within int64, no zero-length suffix): for targets whose handling
 * of malformed input is their own (the proxies), which the in-process suite covers strictly.
 */
const owsFor = (wellFormed: boolean) => (wellFormed ? fc.constantFrom('', ' ') : ows);

/** RFC 9110 §5.6.7, written by hand (not Date#toUTCString) in each of the three forms. */
function writeDate(ms: number, form: 'imf' | 'rfc850' | 'asctime'): string {
  const d = new Date(ms);
  const time = `${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())}:${pad(d.getUTCSeconds())}`;
  const month = MONTHS[d.getUTCMonth()]!;
  if (form === 'imf') return `${DAYS[d.getUTCDay()]}, ${pad(d.getUTCDate())} ${month} ${pad(d.getUTCFullYear(), 4)} ${time} GMT`;
  if (form === 'rfc850') return `${LONG_DAYS[d.getUTCDay()]}, ${pad(d.getUTCDate())}-${month}-${pad(d.getUTCFullYear() % 100)} ${time} GMT`;
  return `${DAYS[d.getUTCDay()]} ${month} ${String(d.getUTCDate()).padStart(2, ' ')} ${time} ${d.getUTCFullYear()}`;
}

const YEAR_MS = 365.25 * 86_400_000;

/**
 * A date header around `anchor` (ms, whole seconds): valid in all three forms (RFC 850 only for
 * years its two digits name unambiguously, 1980-2060, §5.6.7) or nonsense. Meaning: ms or null.
 */
export function dateHeader(anchor: number, wellFormed = false): fc.Arbitrary<{ text: string; ms: number | null }> {
  const offset = fc.oneof(
    fc.constantFrom(0, 0, -1000, 1000, -86_400_000, 86_400_000),
    fc.integer({ min: -40 * 365, max: 40 * 365 }).map((days) => days * 86_400_000),
    fc.integer({ min: -5, max: 5 }).map((s) => s * 1000),
  );
  const valid = fc.tuple(offset, fc.constantFrom('imf', 'rfc850', 'asctime') as fc.Arbitrary<'imf' | 'rfc850' | 'asctime'>, owsFor(wellFormed), owsFor(wellFormed)).map(([delta, form, before, after]) => {
    let ms = anchor + delta;
    const year = new Date(ms).getUTCFullYear();
    if (form === 'rfc850' && (year < 1980 || year > 2060)) ms = anchor;
    return { text: `${before}${writeDate(ms, form)}${after}`, ms };
  });
  const nonsense = fc.oneof(
    fc.constantFrom('', 'yesterday', '0', '-1', 'GMT', 'Sun, 31 Feb 2024 10:00:00 GMT', 'Sun, 06 Nov 1994 24:00:00 GMT', 'Sun, 06 Nov 1994 08:49:37 UTC'),
    fc.constant(new Date(anchor).toISOString()),
    fc.constant(String(Math.floor(anchor / 1000))),
    // HTTP-date is case-sensitive (§5.6.7).
    fc.constant(writeDate(anchor, 'imf').toLowerCase()),
    fc.constant(writeDate(anchor, 'imf').replace(' GMT', '')),
    // A list of dates is not a date.
    fc.constant(`${writeDate(anchor, 'imf')}, ${writeDate(anchor, 'imf')}`),
    fc.string({ maxLength: 40, unit: fc.constantFrom(...'0123456789 ,:-abcJanGMTSun'.split('')) }),
  );
  if (wellFormed) return valid;
  return fc.oneof({ weight: 3, arbitrary: valid }, { weight: 1, arbitrary: nonsense.map((text) => ({ text, ms: null })) });
}

const etagChar = fc.constantFrom(...'abcXYZ019-_.,/W!#~'.split(''), '\u00e9');
const opaque = fc.string({ maxLength: 12, unit: etagChar }).map((text) => `"${text}"`);

/** Entity-tags a client might send: the current one in both strengths, or another. */
function tag(current: string | undefined): fc.Arbitrary<Tag> {
  const parsed = current === undefined ? undefined : toTag(current);
  const others = fc.record({ weak: fc.boolean(), opaque });
  if (!parsed) return others;
  return fc.oneof(fc.constant(parsed), fc.constant({ weak: !parsed.weak, opaque: parsed.opaque }), others);
}

function toTag(text: string): Tag {
  return text.startsWith('W/') ? { weak: true, opaque: text.slice(2) } : { weak: false, opaque: text };
}

const writeTag = (t: Tag) => `${t.weak ? 'W/' : ''}${t.opaque}`;

/** An If-Match / If-None-Match value (RFC 9110 §13.1.1-2): `*`, a tag list, or malformed. */
export function tagListHeader(current: string | undefined, wellFormed = false): fc.Arbitrary<{ text: string; meaning: TagList }> {
  const list = fc
    .array(fc.tuple(tag(current), owsFor(wellFormed), owsFor(wellFormed), wellFormed ? fc.constant(false) : fc.boolean()), { minLength: 1, maxLength: 6 })
    .map((members) => {
      // RFC 9110 §5.6.1.2: recipients accept empty list elements (`a, , b`).
      const text = members.map(([t, before, after, empty]) => `${before}${writeTag(t)}${after}${empty ? ',' : ''}`).join(',');
      return { text, meaning: members.map(([t]) => t) as TagList };
    });
  const malformed = fc.oneof(
    fc.constantFrom('abc', '"unterminated', 'w/"lowercase-weak"', '* , "a"', '"a" "b"', 'W/ "space"', '"a";"b"'),
    tag(current).map((t) => `${writeTag(t)} junk`),
  );
  const any = fc.tuple(owsFor(wellFormed), owsFor(wellFormed)).map(([a, b]) => ({ text: `${a}*${b}`, meaning: 'any' as TagList }));
  if (wellFormed) return fc.oneof({ weight: 1, arbitrary: any }, { weight: 4, arbitrary: list });
  return fc.oneof(
    { weight: 1, arbitrary: any },
    { weight: 4, arbitrary: list },
    { weight: 1, arbitrary: malformed.map((text) => ({ text, meaning: 'invalid' as TagList })) },
  );
}

/** An If-Range value (§13.1.5): an entity-tag, an HTTP-date, or neither. */
export function ifRangeHeader(rep: Representation, wellFormed = false): fc.Arbitrary<{ text: string; meaning: IfRangeMeaning }> {
  const anchor = rep.lastModified ?? Date.UTC(2024, 4, 6, 7, 8, 9);
  const tagged = tag(rep.etag).map((t) => ({ text: writeTag(t), meaning: { kind: 'tag', tag: t } as IfRangeMeaning }));
  const dated = dateHeader(anchor, wellFormed).map(({ text, ms }) => ({ text, meaning: ms === null ? ({ kind: 'invalid' } as const) : ({ kind: 'date', ms } as const) }));
  if (wellFormed) return fc.oneof(tagged, dated);
  return fc.oneof(tagged, dated, fc.constantFrom('*', 'abc', '"unterminated').map((text) => ({ text, meaning: { kind: 'invalid' } as IfRangeMeaning })));
}

/** A position near something interesting for `size`: 0, the ends, chunk edges, or huge. */
function position(size: number, wellFormed = false): fc.Arbitrary<bigint> {
  const near = (n: number) => fc.integer({ min: -2, max: 2 }).map((d) => BigInt(Math.max(0, n + d)));
  return fc.oneof(
    near(0),
    near(size),
    near(Math.floor(size / 2)),
    near(256 * 1024),
    fc.integer({ min: 0, max: Math.max(0, size + 10) }).map(BigInt),
    wellFormed ? fc.constantFrom(2n ** 31n, 2n ** 53n) : fc.constantFrom(2n ** 53n, 2n ** 53n + 1n, 10n ** 20n, 2n ** 64n),
  );
}

function spec(size: number, wellFormed = false): fc.Arbitrary<Spec> {
  const at = () => position(size, wellFormed);
  return fc.oneof(
    { weight: 4, arbitrary: fc.tuple(at(), at()).map(([a, b]) => (a <= b ? { first: a, last: b } : { first: b, last: a })) },
    { weight: 1, arbitrary: at().map((first) => ({ first })) },
    { weight: 2, arbitrary: at().filter((n) => !wellFormed || n > 0n).map((suffix) => ({ suffix })) },
  );
}

/** How a spec is written: maybe with leading zeros (valid: digits are digits, §14.1.2). */
function writeSpec(s: Spec, zeros: number): string {
  const z = '0'.repeat(zeros);
  if ('suffix' in s) return `-${z}${s.suffix}`;
  return `${z}${s.first}-${s.last === undefined ? '' : `${z}${s.last}`}`;
}

/** Elements no range-spec grammar accepts; one of them spoils the whole header (§14.2). */
const badElement = (size: number) =>
  fc.oneof(
    fc.tuple(position(size), position(size)).filter(([a, b]) => a !== b).map(([a, b]) => (a < b ? `${b}-${a}` : `${a}-${b}`)), // reversed
    fc.constantFrom('-', 'abc', '1-2-3', '+1-2', '1 - 2', '0x10-20', '-1-2', '1.5-2', '\u00b2-3', '--1'),
  );

/**
 * A Range header (RFC 9110 §14.1.2) for a `size`-byte file: valid sets of up to `maxSpecs`
 * specs (overlapping, reversed order, adjacent, huge values, OWS around commas, empty
 * elements), an unknown unit or malformed text. Meaning: the specs, `invalid` or `unknown-unit`.
 */
export function rangeHeader(size: number, maxSpecs = 24, wellFormed = false): fc.Arbitrary<{ text: string; meaning: RangeMeaning }> {
  const unit = fc.constantFrom('bytes', 'bytes', 'bytes', 'BYTES', 'Bytes');
  const element = fc.tuple(spec(size, wellFormed), fc.constantFrom(0, 0, 0, 1, 3), owsFor(wellFormed), owsFor(wellFormed), wellFormed ? fc.constant('') : fc.constantFrom('', '', ','));
  // Mostly short sets (where 416 and single parts live), sometimes up to `maxSpecs`.
  const elements = fc.oneof({ weight: 3, arbitrary: fc.array(element, { minLength: 1, maxLength: 3 }) }, { weight: 1, arbitrary: fc.array(element, { minLength: 1, maxLength: maxSpecs, size: 'max' }) });
  const valid = fc.tuple(unit, elements, owsFor(wellFormed), owsFor(wellFormed)).map(([u, elements, lead, trail]) => {
    const body = elements.map(([s, zeros, before, after, extra], i) => `${i === 0 ? '' : before}${writeSpec(s, zeros)}${after}${extra}`).join(',');
    return { text: `${lead}${u}=${body}${trail}`, meaning: { kind: 'specs', specs: elements.map(([s]) => s) } as RangeMeaning };
  });
  const spoiled = fc.tuple(fc.array(spec(size), { maxLength: 4 }), badElement(size), fc.nat(4)).map(([specs, bad, at]) => {
    const written = specs.map((s) => writeSpec(s, 0));
    written.splice(Math.min(at, written.length), 0, bad);
    return { text: `bytes=${written.join(',')}`, meaning: { kind: 'invalid', valid: specs } as RangeMeaning };
  });
  const other = fc.oneof(
    fc.constantFrom('bytes=', 'bytes', '=0-1', 'bytes = 0-1', 'bytes= 0-1', 'bytes=,', 'bytes=, ,', 'none', 'bytes=0-1;q=1', 'bytes:0-1'),
    spec(size).map((s) => `bytes ${writeSpec(s, 0)}`),
  );
  const unknownUnit = fc.tuple(fc.constantFrom('items', 'octets', 'bytes2'), spec(size)).map(([u, s]) => `${u}=${writeSpec(s, 0)}`);
  if (wellFormed) return valid;
  return fc.oneof(
    { weight: 12, arbitrary: valid },
    { weight: 2, arbitrary: spoiled },
    { weight: 1, arbitrary: other.map((text) => ({ text, meaning: { kind: 'invalid' } as RangeMeaning })) },
    { weight: 1, arbitrary: unknownUnit.map((text) => ({ text, meaning: { kind: 'unknown-unit' } as RangeMeaning })) },
  );
}

/** A whole request: a random subset of the six headers, GET or HEAD. */
export function requestCase(rep: Representation, options: { maxSpecs?: number; methods?: ('GET' | 'HEAD')[]; conditionals?: number; wellFormed?: boolean } = {}): fc.Arbitrary<RequestCase> {
  const anchor = rep.lastModified ?? Date.UTC(2024, 4, 6, 7, 8, 9);
  // Each conditional header present in about one request of three (`conditionals`), so requests
  // reach every step of §13.2.2.
  const wf = options.wellFormed ?? false;
  const present = Math.round((options.conditionals ?? 1 / 3) * 100);
  const sometimes = <T>(arbitrary: fc.Arbitrary<T>) => fc.oneof({ weight: 100 - present, arbitrary: fc.constant(undefined) }, { weight: present, arbitrary });
  return fc
    .record({
      method: fc.constantFrom(...(options.methods ?? ['GET', 'GET', 'GET', 'HEAD'])),
      range: fc.oneof({ weight: 1, arbitrary: fc.constant(undefined) }, { weight: 3, arbitrary: rangeHeader(rep.size, options.maxSpecs, wf) }),
      ifRange: sometimes(ifRangeHeader(rep, wf)),
      ifMatch: sometimes(tagListHeader(rep.etag, wf)),
      ifNoneMatch: sometimes(tagListHeader(rep.etag, wf)),
      ifModifiedSince: sometimes(dateHeader(anchor, wf)),
      ifUnmodifiedSince: sometimes(dateHeader(anchor, wf)),
    })
    .map((drawn) => {
      const c: RequestCase = { method: drawn.method, headers: {} };
      if (drawn.range) ((c.headers.range = drawn.range.text), (c.range = drawn.range.meaning));
      if (drawn.ifRange) ((c.headers['if-range'] = drawn.ifRange.text), (c.ifRange = drawn.ifRange.meaning));
      if (drawn.ifMatch) ((c.headers['if-match'] = drawn.ifMatch.text), (c.ifMatch = drawn.ifMatch.meaning));
      if (drawn.ifNoneMatch) ((c.headers['if-none-match'] = drawn.ifNoneMatch.text), (c.ifNoneMatch = drawn.ifNoneMatch.meaning));
      if (drawn.ifModifiedSince) ((c.headers['if-modified-since'] = drawn.ifModifiedSince.text), (c.ifModifiedSince = drawn.ifModifiedSince.ms));
      if (drawn.ifUnmodifiedSince) ((c.headers['if-unmodified-since'] = drawn.ifUnmodifiedSince.text), (c.ifUnmodifiedSince = drawn.ifUnmodifiedSince.ms));
      return c;
    });
}

// ---------------------------------------------------------------------------------------------
// Reference model
// ---------------------------------------------------------------------------------------------

export interface ModelOptions {
  /** The server's cap on range-specs as written; more and Range is ignored (§14.2 permits it). */
  maxRanges: number;
  /**
   * §14.2: a server "MAY ignore or reject a Range header field that contains an invalid
   * ranges-specifier". The library ignores it (200); a proxy may reject it with 416.
   */
  rejectsInvalidRange?: boolean;
  /**
   * Servers other than the library (a proxy serving the file): §14.2 "A server MAY ignore the
   * Range header field", so 200 full is allowed for any Range; a malformed If-Match or
   * If-None-Match (a grammar the RFC gives no error handling for) may be read as true or false;
   * and If-Modified-Since only SHOULD give 304 (§13.1.3).
   */
  lenient?: boolean;
  now: number;
}

/**
 * Every outcome RFC 9110 allows for `c` on `rep` (most inputs allow exactly one).
 * Preconditions in §13.2.2 order, then Range (§14.2) under If-Range (§13.1.5).
 */
export function allowedOutcomes(c: RequestCase, rep: Representation, options: ModelOptions): Outcome[] {
  if (options.lenient) {
    const readings = (list: TagList | undefined): (TagList | undefined)[] => (list === 'invalid' ? ['invalid', 'any'] : [list]);
    const outcomes: Outcome[] = [];
    for (const ifMatch of readings(c.ifMatch)) {
      for (const ifNoneMatch of readings(c.ifNoneMatch)) outcomes.push(...strictOutcomes({ ...c, ifMatch, ifNoneMatch }, rep, options));
    }
    return c.method === 'GET' && c.range !== undefined ? [...outcomes, { kind: 'full' }] : outcomes;
  }
  return strictOutcomes(c, rep, options);
}

function strictOutcomes(c: RequestCase, rep: Representation, options: ModelOptions): Outcome[] {
  const current = rep.etag === undefined ? undefined : toTag(rep.etag);
  const lm = rep.lastModified;
  const strong = (a: Tag, b: Tag) => !a.weak && !b.weak && a.opaque === b.opaque; // §8.8.3.2
  const weak = (a: Tag, b: Tag) => a.opaque === b.opaque;
  const holds = (list: TagList, compare: (a: Tag, b: Tag) => boolean) =>
    list === 'any' || (list !== 'invalid' && current !== undefined && list.some((t) => compare(t, current)));

  // §13.2.2 step 1: If-Match (strong); a malformed value matches nothing, so fails closed.
  if (c.ifMatch !== undefined) {
    if (!holds(c.ifMatch, strong)) return [{ kind: 'status', status: 412 }];
  } else if (c.ifUnmodifiedSince != null && lm !== undefined && lm > c.ifUnmodifiedSince) {
    // Step 2: If-Unmodified-Since, only without If-Match; an invalid date is ignored (§13.1.4).
    return [{ kind: 'status', status: 412 }];
  }
  // Step 3: If-None-Match (weak); GET/HEAD answer 304 (§13.1.2).
  if (c.ifNoneMatch !== undefined) {
    if (holds(c.ifNoneMatch, weak)) return [{ kind: 'status', status: 304 }];
  } else if (c.ifModifiedSince != null && lm !== undefined && lm <= c.ifModifiedSince) {
    // Step 4: If-Modified-Since, only without If-None-Match. A date later than the server's
    // clock is one it never sent; RFC 7232 called it invalid, RFC 9110 is silent: both allowed.
    // §13.1.3 says SHOULD NOT perform the method here (If-None-Match says MUST NOT): a server
    // other than the library may answer in full (nginx's default `if_modified_since exact`).
    const notModified: Outcome = { kind: 'status', status: 304 };
    return c.ifModifiedSince > options.now || options.lenient ? [notModified, ...rangeOutcomes(c, rep, options, current)] : [notModified];
  }
  return rangeOutcomes(c, rep, options, current);
}

/** Step 5: Range, only for GET (§14.2), only when If-Range holds (§13.1.5). */
function rangeOutcomes(c: RequestCase, rep: Representation, options: ModelOptions, current: Tag | undefined): Outcome[] {
  const full: Outcome[] = [{ kind: 'full' }];
  if (c.method !== 'GET' || c.range === undefined || c.range.kind === 'unknown-unit') return full;
  if (c.range.kind === 'invalid') return options.rejectsInvalidRange ? [...full, { kind: 'status', status: 416 }] : full;
  if (c.ifRange !== undefined) {
    const r = c.ifRange;
    const fresh =
      r.kind === 'tag'
        ? current !== undefined && !r.tag.weak && !current.weak && r.tag.opaque === current.opaque
        : r.kind === 'date' && rep.lastModified !== undefined && r.ms === rep.lastModified && rep.lastModified + 1000 <= options.now;
    if (!fresh) return full;
  }
  const { specs } = c.range;
  // §14.2: a server MAY ignore a Range with too many ranges; the cap counts specs as written.
  if (specs.length > options.maxRanges) return full;
  const size = BigInt(rep.size);
  const wanted: Interval[] = [];
  for (const s of specs) {
    // §14.1.2: satisfiable int-range: first < size; suffix: non-zero length.
    if ('suffix' in s) {
      if (s.suffix > 0n && size > 0n) wanted.push({ start: Number(size > s.suffix ? size - s.suffix : 0n), end: rep.size - 1 });
    } else if (s.first < size) {
      wanted.push({ start: Number(s.first), end: Number(s.last === undefined || s.last >= size ? size - 1n : s.last) });
    }
  }
  if (wanted.length > 0) return [{ kind: 'partial', wanted }];
  // §14.1.2: on an empty file only a non-zero suffix is satisfiable, yet no Content-Range can
  // name zero bytes; §14.2 lets the server ignore Range there ("no content"): 200.
  if (rep.size === 0 && specs.some((s) => 'suffix' in s && s.suffix > 0n)) return full;
  return [{ kind: 'status', status: 416 }]; // §15.5.17
}

// ---------------------------------------------------------------------------------------------
// Checking one response
// ---------------------------------------------------------------------------------------------

/** One response as the test client saw it. */
export interface Exchange {
  status: number;
  header(name: string): string | undefined;
  body: Buffer;
  /** Whether Content-Length must be present (in-process, or a proxy that sends one). */
  lengthRequired: boolean;
}

export interface CheckOptions {
  method: 'GET' | 'HEAD';
  /** Largest number of parts a 206 may have (the range cap). */
  maxParts: number;
  /** The library sorts and coalesces; a proxy may send parts in request order (§15.3.7.2). */
  ascending: boolean;
  /** §15.5.17: a 416 SHOULD carry `Content-Range: bytes *\/size`; the library always does. */
  contentRangeOn416: 'required' | 'if-sent';
}

/** RFC 9110 §15.3.7.2: "the typical overhead between each part ... is around 80 bytes". */
const COALESCE_GAP = 80;

/**
 * Throws (with a readable reason) unless `exchange` is one of `allowed` for `file`.
 * Returns the outcome it matched, for the test's statistics.
 */
export function checkExchange(exchange: Exchange, allowed: Outcome[], file: Buffer, options: CheckOptions): Outcome['kind'] | number {
  const problems: string[] = [];
  for (const outcome of allowed) {
    const problem = mismatch(exchange, outcome, file, options);
    if (problem === undefined) return outcome.kind === 'status' ? outcome.status : outcome.kind;
    problems.push(`${describe(outcome)}: ${problem}`);
  }
  throw new Error(`status ${exchange.status} matches no allowed outcome:\n  ${problems.join('\n  ')}`);
}

function describe(outcome: Outcome): string {
  if (outcome.kind === 'status') return String(outcome.status);
  if (outcome.kind === 'full') return '200 full';
  return `206 of ${outcome.wanted.length} range(s)`;
}

function mismatch(x: Exchange, outcome: Outcome, file: Buffer, options: CheckOptions): string | undefined {
  const length = x.header('content-length');
  // RFC 9110 §8.6: Content-Length, when sent, is the body's length (for HEAD: the GET body's).
  if (options.method === 'GET' && length !== undefined && Number(length) !== x.body.length) return `Content-Length ${length} but ${x.body.length} body bytes`;
  if (options.method === 'HEAD' && x.body.length !== 0) return 'HEAD response has a body';
  if (outcome.kind === 'status') {
    if (x.status !== outcome.status) return `status ${x.status}`;
    // §15.4.5: a 304 has no content; a 412/416 carries a short text, never file bytes.
    if (outcome.status === 304 && x.body.length !== 0) return '304 with a body';
    if (outcome.status === 206 && x.body.length !== 0 && file.length > 0) return '206 with a body';
    if (x.body.length > 0 && file.length >= 8 && (file.includes(x.body) || x.body.includes(file.subarray(0, 8)))) return `${outcome.status} body holds file bytes`;
    const unsatisfied = x.header('content-range');
    if (outcome.status === 416 && (unsatisfied !== undefined || options.contentRangeOn416 === 'required') && unsatisfied !== `bytes */${file.length}`) {
      return `416 Content-Range ${unsatisfied}`;
    }
    return undefined;
  }
  if (outcome.kind === 'full') {
    if (x.status !== 200) return `status ${x.status}`;
    if (x.header('content-range') !== undefined) return '200 with Content-Range';
    if (options.method === 'HEAD') return length === undefined || Number(length) === file.length ? undefined : `HEAD Content-Length ${length}`;
    if (x.lengthRequired && length === undefined) return 'no Content-Length';
    return x.body.equals(file) ? undefined : `200 body differs from the file (${x.body.length} vs ${file.length} bytes)`;
  }
  if (x.status !== 206) return `status ${x.status}`;
  if (x.lengthRequired && length === undefined) return 'no Content-Length';
  // Only a deviation list offers a 206 to HEAD (the model never does): its headers, no content.
  if (options.method === 'HEAD') return x.body.length === 0 && (x.header('content-range') !== undefined || x.header('content-type')?.startsWith('multipart/')) ? undefined : 'HEAD 206 with content or without Content-Range';
  const type = x.header('content-type') ?? '';
  const parts = type.startsWith('multipart/byteranges') ? parseParts(x.body, type) : [{ contentRange: x.header('content-range'), bytes: x.body }];
  if (typeof parts === 'string') return parts;
  if (parts.length > options.maxParts) return `${parts.length} parts, cap ${options.maxParts}`;
  const got: Interval[] = [];
  for (const part of parts) {
    // §14.4: Content-Range: bytes first-last/complete-length.
    const m = /^bytes (\d+)-(\d+)\/(\d+)$/.exec(part.contentRange ?? '');
    if (!m) return `part Content-Range ${part.contentRange}`;
    const [start, end, complete] = [Number(m[1]), Number(m[2]), Number(m[3])];
    if (complete !== file.length || end < start || end >= file.length) return `part range ${part.contentRange} outside the file`;
    if (!part.bytes.equals(file.subarray(start, end + 1))) return `part ${part.contentRange} bytes differ from the file`;
    got.push({ start, end });
  }
  return coverageProblem(got, outcome.wanted, file.length, options.ascending);
}

/**
 * §15.3.7.2: every requested byte is sent; a sent byte that was not requested lies in a gap
 * shorter than a part's overhead between two requested ranges (coalescing); the library sends
 * parts ascending and disjoint, so at most the file's size in data.
 */
function coverageProblem(got: Interval[], wanted: Interval[], size: number, ascending: boolean): string | undefined {
  const covered = (i: number, set: Interval[]) => set.some((r) => r.start <= i && i <= r.end);
  for (const w of wanted) for (const edge of [w.start, w.end]) if (!covered(edge, got)) return `requested byte ${edge} not sent`;
  // Every requested interval lies wholly inside one sent part (a part is a contiguous slice).
  for (const w of wanted) if (!got.some((g) => g.start <= w.start && w.end <= g.end)) return `requested ${w.start}-${w.end} split across parts`;
  for (const g of got) {
    // The sent part, minus the requested intervals inside it, leaves only small interior gaps.
    const inside = mergeTouching(wanted.filter((w) => w.start >= g.start && w.end <= g.end));
    if (inside.length === 0 || inside[0]!.start !== g.start || inside[inside.length - 1]!.end !== g.end) return `part ${g.start}-${g.end} sends unrequested edge bytes`;
    for (let i = 1; i < inside.length; i += 1) {
      const gap = inside[i]!.start - inside[i - 1]!.end - 1;
      if (gap >= COALESCE_GAP) return `part ${g.start}-${g.end} coalesces a gap of ${gap} bytes`;
    }
  }
  if (ascending) {
    for (let i = 1; i < got.length; i += 1) if (got[i]!.start <= got[i - 1]!.end + 1) return 'parts not ascending and disjoint';
    const total = got.reduce((sum, g) => sum + g.end - g.start + 1, 0);
    if (total > size) return `parts hold ${total} bytes of a ${size}-byte file`;
  }
  return undefined;
}

/** Sorted union of overlapping or touching intervals. */
function mergeTouching(list: Interval[]): Interval[] {
  const sorted = [...list].sort((a, b) => a.start - b.start);
  const out: Interval[] = [];
  for (const r of sorted) {
    const last = out[out.length - 1];
    if (last && r.start <= last.end + 1) last.end = Math.max(last.end, r.end);
    else out.push({ ...r });
  }
  return out;
}

/**
 * Split a multipart/byteranges body (RFC 9110 §14.6, RFC 2046 §5.1.1) by its boundary, strictly:
 * preamble, `--b` CRLF, part headers, CRLF CRLF, data, CRLF `--b`, ..., `--b--`.
 */
export function parseParts(body: Buffer, contentType: string): { contentRange: string | undefined; bytes: Buffer }[] | string {
  const boundary = /boundary=("?)([^";]+)\1/.exec(contentType)?.[2];
  if (!boundary) return `no boundary in ${contentType}`;
  const delimiter = Buffer.from(`\r\n--${boundary}`);
  // The first delimiter may open the body without its CRLF (an empty preamble).
  let at = body.subarray(0, delimiter.length - 2).equals(delimiter.subarray(2)) ? -2 : body.indexOf(delimiter);
  if (at === -1) return 'no delimiter';
  const parts: { contentRange: string | undefined; bytes: Buffer }[] = [];
  for (;;) {
    const afterDelimiter = at + delimiter.length;
    if (body.subarray(afterDelimiter, afterDelimiter + 2).toString() === '--') return parts;
    const headEnd = body.indexOf('\r\n\r\n', afterDelimiter);
    if (headEnd === -1) return 'part without a header end';
    const head = body.subarray(afterDelimiter + 2, headEnd).toString('latin1');
    const contentRange = /^content-range:\s*(.*)$/im.exec(head)?.[1]?.trim();
    const range = /^bytes (\d+)-(\d+)\//.exec(contentRange ?? '');
    // The data length comes from the part's own Content-Range, so file bytes that happen to
    // look like a delimiter cannot cut a part short.
    const dataStart = headEnd + 4;
    const dataEnd = range ? dataStart + Number(range[2]) - Number(range[1]) + 1 : body.indexOf(delimiter, dataStart);
    if (!body.subarray(dataEnd, dataEnd + delimiter.length).equals(delimiter)) return `part ${contentRange} not followed by the delimiter`;
    parts.push({ contentRange, bytes: body.subarray(dataStart, dataEnd) });
    at = dataEnd;
  }
}
