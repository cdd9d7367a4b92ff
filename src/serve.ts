/**
 * `serveFile(request, file, options)`: one resolved file to one Response, following RFC 9110
 * (validators, preconditions in §13.2.2 order, Range, HEAD). No Next import, no authorization.
 */
import { contentDisposition } from './http/content-disposition.js';
import { contentTypeFor } from './http/content-type.js';
import { weakETag } from './http/etag.js';
import { formatHttpDate } from './http/http-date.js';
import { createBoundary, multipartLayout } from './http/multipart.js';
import { evaluatePreconditions, isRangeFresh, type Validators } from './http/preconditions.js';
import { contentRange, parseRange, resolveRanges, unsatisfiedRange } from './http/range.js';
import { DownloadError } from './errors.js';
import { memoize } from './memoize.js';
import { errorResponse, forMethod } from './http/responses.js';
import { setLengthHint } from './length-hint.js';
import { CHUNK_SIZE, createBodyStream, type BodySegment } from './streams/body-stream.js';
import type { ByteRange, DownloadFile } from './types.js';

export interface ServeOptions {
  /** `attachment` (save dialog) or `inline` (show in the browser). */
  disposition: 'attachment' | 'inline';
  /** Download name; the file's own name otherwise. */
  filename?: string;
  /** Content-Type; otherwise the source's, else looked up from the download name. */
  contentType?: string;
  cacheControl: string;
  /** Extra headers for successful responses. */
  headers?: Headers;
  /** Range-specs allowed in one Range header, as written (like nginx's `max_ranges`); more and it is ignored. */
  maxRanges: number;
  /** Receives failures while the body streams (the response has already started). */
  onError: (error: unknown) => void;
}

/** Headers and validators of the successful response, computed once per request. */
export interface Representation {
  headers: Headers;
  validators: Validators;
}

// Per name, not per request: both are pure and the same few names recur (see memoize.ts).
const typeFor = memoize((override: string | undefined, name: string) => contentTypeFor(name, override));
const dispositionFor = memoize((disposition: 'attachment' | 'inline', name: string) => contentDisposition(disposition, name));

/** Headers every successful response for this file carries (200, 206, 304, HEAD, offload). */
export function representationOf(file: DownloadFile, options: ServeOptions): Representation {
  const name = options.filename ?? file.name;
  const validators = validatorsOf(file);
  const headers = new Headers(options.headers);
  // Allow-listed upstream headers (remote sources); the app's own `headers` win.
  if (file.headers) for (const [name, value] of file.headers) if (!headers.has(name)) headers.set(name, value);
  headers.set('content-type', typeFor(options.contentType ?? file.contentType, name));
  headers.set('content-disposition', dispositionFor(options.disposition, name));
  headers.set('cache-control', options.cacheControl);
  headers.set('x-content-type-options', 'nosniff');
  if (validators.etag) headers.set('etag', validators.etag);
  if (validators.lastModified) headers.set('last-modified', formatHttpDate(notInFuture(validators.lastModified)));
  // RFC 9110 §14.3: advertise ranges only when we can honour them.
  headers.set('accept-ranges', file.size === undefined || file.acceptsRanges === false ? 'none' : 'bytes');
  return { headers, validators };
}

/**
 * RFC 9110 §8.8.2.1: a modification time in the future (a skewed clock, a touched file) MUST
 * be sent as the message date. Only the header changes: the ETag keeps the real mtime, and a
 * future date never satisfies If-Modified-Since or If-Range anyway.
 */
function notInFuture(date: Date): Date {
  const time = date.getTime();
  // Nearly every file is older than a clock reading taken within the last second, so the wall
  // clock (a call through Next's Date instrumentation) is read again only for a newer file or
  // once that reading is a second old; the age check also bounds what a clock stepped back can skew.
  if (time <= clock.reading && performance.now() - clock.takenAt < 1000) return date;
  clock.reading = Date.now();
  clock.takenAt = performance.now();
  return time > clock.reading ? new Date(clock.reading) : date;
}

/** The last wall-clock reading (`Date.now()`) and when it was taken (`performance.now()`). */
const clock = { reading: 0, takenAt: 0 };

/** The validators of a file: its own ETag if it has one, else a weak one from size+mtime. */
function validatorsOf(file: DownloadFile): Validators {
  const lastModified = file.mtime && !Number.isNaN(file.mtime.getTime()) ? file.mtime : undefined;
  const etag = file.etag ?? (file.size !== undefined && lastModified ? weakETag(file.size, lastModified.getTime()) : undefined);
  return { etag, lastModified };
}

/** The 412 or 304 the request's preconditions call for (RFC 9110 §13.2.2), if any. */
export function preconditionResponse(request: Request, file: DownloadFile, representation: Representation): Response | undefined {
  const outcome = evaluatePreconditions(request.method, request.headers, representation.validators);
  if (outcome === 'precondition-failed') return withoutBody(file, forMethod(request.method, errorResponse(412)));
  if (outcome === 'not-modified') return withoutBody(file, notModified(representation.headers));
  return undefined;
}

/** Stream `file` as the response to `request`: 200, 206, 304, 412, 416 or a HEAD answer. */
export async function serveFile(
  request: Request,
  file: DownloadFile,
  options: ServeOptions,
  representation: Representation = representationOf(file, options),
): Promise<Response> {
  const conditional = preconditionResponse(request, file, representation);
  if (conditional) return conditional;
  const { headers, validators } = representation;

  const size = file.size;
  const ranges = size === undefined || file.acceptsRanges === false || request.method !== 'GET' ? undefined : selectRanges(request, size, validators, options);
  if (ranges === 'unsatisfiable') {
    return withoutBody(file, errorResponse(416, { 'content-range': unsatisfiedRange(size ?? 0), 'accept-ranges': 'bytes' }));
  }

  let status = 200;
  let segments: BodySegment[];
  let length: number | undefined;
  // What the body reads of the file: absent for the whole file (a remote source asks upstream for these).
  let reads: ByteRange[] | undefined;
  if (ranges === undefined || size === undefined) {
    segments = [{ kind: 'range', start: 0, end: size === undefined ? undefined : size - 1 }];
    length = size;
  } else if (ranges.length === 1) {
    const [range] = ranges as [ByteRange];
    status = 206;
    headers.set('content-range', contentRange(range, size));
    segments = [{ kind: 'range', start: range.start, end: range.end }];
    length = range.end - range.start + 1;
    reads = ranges;
  } else {
    status = 206;
    const layout = multipartLayout(ranges, size, headers.get('content-type') ?? 'application/octet-stream', createBoundary());
    headers.set('content-type', layout.contentType);
    segments = layout.parts.flatMap((part): BodySegment[] => [
      { kind: 'bytes', bytes: part.head },
      { kind: 'range', start: part.range.start, end: part.range.end },
    ]);
    segments.push({ kind: 'bytes', bytes: layout.tail });
    length = layout.length;
    reads = layout.parts.map((part) => part.range);
  }

  if (length !== undefined) {
    headers.set('content-length', String(length));
    setLengthHint(headers, length);
  }
  // HEAD never opens the body (Next's automatic HEAD would leak the descriptor).
  if (request.method === 'HEAD') return withoutBody(file, new Response(null, { status, headers }));

  const [only] = segments;
  if (segments.length === 1 && only?.kind === 'range' && length !== undefined && length <= CHUNK_SIZE) {
    // A body that fits one chunk is read at once and sent as bytes: no stream for Next to pipe,
    // and the file is released before the response is written (see bench/results).
    const bytes = await readSmallBody(file, request.signal, only.start, length, reads, options.onError);
    return new Response(bytes as Uint8Array<ArrayBuffer>, { status, headers });
  }
  const body = await file.open(request.signal, file.size, reads);
  const stream = createBodyStream(body, segments, { chunkSize: CHUNK_SIZE, signal: request.signal, onError: options.onError });
  return new Response(stream, { status, headers });
}

/** Exactly `length` bytes from `start`; a source that ends early is an error before anything is sent. */
async function readSmallBody(
  file: DownloadFile,
  signal: AbortSignal,
  start: number,
  length: number,
  reads: readonly ByteRange[] | undefined,
  onError: (error: unknown) => void,
): Promise<Uint8Array> {
  const body = await file.open(signal, file.size, reads);
  try {
    // An empty body is read all the same: the read that reaches the end is where a source whose
    // size is only the app's word checks that nothing follows (sources/virtual.ts).
    if (length === 0) return await body.read(start, 0);
    const parts: Uint8Array[] = [];
    for (let received = 0; received < length; ) {
      const chunk = await body.read(start + received, length - received);
      if (chunk.byteLength === 0) throw new DownloadError('length_mismatch', `source ended at byte ${start + received}, expected ${start + length}`);
      parts.push(chunk);
      received += chunk.byteLength;
    }
    return parts.length === 1 ? parts[0]! : Buffer.concat(parts);
  } finally {
    body.close().catch(onError);
  }
}

/** Ranges to send, `'unsatisfiable'`, or `undefined` for the full representation. */
function selectRanges(request: Request, size: number, validators: Validators, options: ServeOptions): ByteRange[] | 'unsatisfiable' | undefined {
  // One limit, on the specs as written, as nginx's `max_ranges` counts them: the app and an
  // offloading nginx then agree, and coalescing can only lower the count.
  const parsed = parseRange(request.headers.get('range'), { maxSpecs: options.maxRanges });
  // RFC 9110 §14.2: an invalid or unknown-unit Range is ignored, not an error.
  if (parsed.kind !== 'ranges') return undefined;
  // RFC 9110 §13.1.5: a stale If-Range means "send me everything".
  if (!isRangeFresh(request.headers.get('if-range'), validators)) return undefined;
  const resolved = resolveRanges(parsed.specs, size);
  if (resolved.kind === 'unsatisfiable') return 'unsatisfiable';
  return resolved.kind === 'partial' ? resolved.ranges : undefined;
}

/** RFC 9110 §15.4.5: a 304 keeps the headers a cache needs and drops the content ones. */
function notModified(headers: Headers): Response {
  const kept = new Headers();
  for (const name of ['cache-control', 'content-location', 'etag', 'expires', 'last-modified', 'vary']) {
    const value = headers.get(name);
    if (value !== null) kept.set(name, value);
  }
  return new Response(null, { status: 304, headers: kept });
}

function withoutBody(file: DownloadFile, response: Response): Response {
  file.dispose?.();
  return response;
}
