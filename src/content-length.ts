/**
 * `next-downloadview/instrumentation`: gives streamed downloads their `Content-Length` back under
 * plain `next start`, which strips it from every route-handler response
 * (next/dist/server/send-response.js), so browsers otherwise show no size and no progress.
 *
 * Opt in with an `instrumentation.ts` next to `app/` (or in `src/` when the app lives there):
 *
 * ```ts
 * export async function register() {
 *   if (process.env.NEXT_RUNTIME === 'nodejs') {
 *     const { registerContentLength } = await import('next-downloadview/instrumentation');
 *     registerContentLength();
 *   }
 * }
 * ```
 *
 * How: a response the library can size exactly carries a private header holding the length and
 * a per-process token (length-hint.ts). `ServerResponse.prototype.writeHead`, which every HTTP/1
 * response head passes through (Node's `_implicitHeader` calls `this.writeHead`), turns a valid
 * hint into `Content-Length` and always removes the private header. Next's `compress` middleware
 * wraps `writeHead` per response on top of this one, so its decision is already made (and its
 * `Content-Encoding` set) when the hook looks. `write` and `end` then count the body against the
 * declared length and close the connection rather than let a different body look complete.
 *
 * (Not named instrumentation.ts: this repository is the Turbopack root of its own apps, and
 * Turbopack would take <root>/src/instrumentation.ts for theirs.)
 */
import { ServerResponse, type OutgoingHttpHeader, type OutgoingHttpHeaders } from 'node:http';
import { LENGTH_HINT_HEADER, lengthHintState, readLengthHint } from './length-hint.js';

// writeHead(statusCode[, statusMessage][, headers]), write(chunk[, encoding][, callback]) and
// end([chunk][, encoding][, callback]), every overload in one signature.
type WriteHead = (this: ServerResponse, statusCode: number, ...rest: unknown[]) => ServerResponse;
type Write = (this: ServerResponse, ...args: unknown[]) => boolean;
type End = (this: ServerResponse, ...args: unknown[]) => ServerResponse;
type Callback = (error?: Error | null) => void;
type InlineHeaders = OutgoingHttpHeaders | OutgoingHttpHeader[] | readonly (readonly [string, OutgoingHttpHeader])[];

interface Originals {
  writeHead: WriteHead;
  write: Write;
  end: End;
}

/** A body whose length was declared by this hook and is being counted. */
interface Declared {
  remaining: number;
  /** The last declared byte, sent only with end(): until then the body cannot look complete. */
  held: Uint8Array | undefined;
  failed: boolean;
}

// Markers live on the prototype and the response: Next may load this module twice
// (instrumentation bundle and route bundle), and both copies must patch once and agree.
const patched = Symbol.for('next-downloadview.content-length-hook');
const declaredKey = Symbol.for('next-downloadview.declared-length');
type Prototype = ServerResponse & { [patched]?: Originals; writeHeader?: WriteHead };
type CountedResponse = ServerResponse & { [declaredKey]?: Declared };

/**
 * Install the hook (idempotent) and start marking the library's exactly-sized responses.
 * Only responses carrying the library's hint are changed; every other one passes through as is.
 * @example
 * // instrumentation.ts
 * export async function register() {
 *   if (process.env.NEXT_RUNTIME === 'nodejs') {
 *     const { registerContentLength } = await import('next-downloadview/instrumentation');
 *     registerContentLength();
 *   }
 * }
 */
export function registerContentLength(): void {
  const prototype = ServerResponse.prototype as Prototype;
  if (!prototype[patched]) {
    const originals: Originals = {
      writeHead: prototype.writeHead as WriteHead,
      write: prototype.write as Write,
      end: prototype.end as End,
    };
    const writeHead: WriteHead = function writeHeadWithLength(statusCode, ...rest) {
      return declareLength(this, originals, [statusCode, ...rest]);
    };
    const write: Write = function writeCounted(...args) {
      return countWrite(this, originals, args);
    };
    const end: End = function endCounted(...args) {
      return countEnd(this, originals, args);
    };
    prototype[patched] = originals;
    // DEP0063 alias: keep it the same function, so no path skips removing the private header.
    if (prototype.writeHeader === prototype.writeHead) prototype.writeHeader = writeHead;
    prototype.writeHead = writeHead as ServerResponse['writeHead'];
    prototype.write = write as ServerResponse['write'];
    prototype.end = end as ServerResponse['end'];
  }
  lengthHintState().installed = true;
}

function declareLength(response: CountedResponse, originals: Originals, args: [number, ...unknown[]]): ServerResponse {
  const [statusCode, reason, headers] = args as [number, string | InlineHeaders | undefined, InlineHeaders | undefined];
  // Node's argument rules: writeHead(statusCode[, statusMessage][, headers]).
  const inline = typeof reason === 'string' ? headers : (headers ?? reason);
  // Not the library's response: untouched, same call, same arguments.
  if (!response.hasHeader(LENGTH_HINT_HEADER) && !mentionsHint(inline)) return originals.writeHead.apply(response, args);
  // An odd flat array is Node's ERR_INVALID_ARG_VALUE: let Node throw it, as without the hook.
  if (Array.isArray(inline) && !Array.isArray(inline[0]) && inline.length % 2 !== 0) return originals.writeHead.apply(response, args);

  // Fold headers given to writeHead into the progressive API (what Node itself does once
  // setHeader was used, and what Next's `compress` does too), so one view decides everything.
  if (inline) setInlineHeaders(response, inline);
  const hint = singleValue(response.getHeader(LENGTH_HINT_HEADER));
  // Always removed: the token must never reach a client, valid or not.
  response.removeHeader(LENGTH_HINT_HEADER);
  const length = readLengthHint(hint);
  if (length !== undefined && mayDeclareLength(response, statusCode | 0, length)) {
    response.setHeader('content-length', String(length));
    // HEAD sends no body to count (RFC 9110 §9.3.2: the length is the one GET would send).
    if (response.req?.method !== 'HEAD') response[declaredKey] = { remaining: length, held: undefined, failed: false };
  }
  return typeof reason === 'string' ? originals.writeHead.call(response, statusCode, reason) : originals.writeHead.call(response, statusCode);
}

/**
 * The one value of a header, or `undefined`. Next 15 stores every header it copies from a route's
 * `Response` as an array, one element for one value (next@15 base-http/node.js `appendHeader`);
 * Next 16 keeps a plain string. A header given twice is not one trusted value.
 */
function singleValue(value: number | string | string[] | undefined): string | undefined {
  if (typeof value === 'string') return value;
  return Array.isArray(value) && value.length === 1 ? value[0] : undefined;
}

/** Every condition under which a trusted length may become `Content-Length`. */
function mayDeclareLength(response: ServerResponse, status: number, length: number): boolean {
  // The library hints only 200 and 206 (full, single and multipart range, and their HEAD). Any
  // other status means someone rebuilt the response around our headers (and 204/304 must not
  // describe a body this way, RFC 9110 §8.6), so our length no longer describes it.
  if (status !== 200 && status !== 206) return false;
  // Compressed (Next's `compress` sets this before this hook runs and drops Content-Length): the
  // length on the wire is the encoded one, unknown until the end.
  if (response.hasHeader('content-encoding')) return false;
  // Chunked framing asked for explicitly; RFC 9112 §6.2: never Content-Length with Transfer-Encoding.
  if (response.hasHeader('transfer-encoding')) return false;
  // Trailers need chunked framing; Node throws ERR_HTTP_TRAILER_INVALID for a sized body with them.
  if (response.hasHeader('trailer')) return false;
  // Someone else declared a length: if it differs one of us is wrong and we cannot tell which;
  // if it agrees there is nothing to add. Either way theirs stays as it is.
  if (response.hasHeader('content-length')) return false;
  return Number.isSafeInteger(length) && length >= 0;
}

function countWrite(response: CountedResponse, originals: Originals, args: unknown[]): boolean {
  declareBeforeFirstByte(response);
  const declared = response[declaredKey];
  const bytes = declared && !declared.failed ? toBytes(args[0], args[1]) : undefined;
  if (!declared || !bytes) return originals.write.apply(response, args);
  const callback = args.find((arg): arg is Callback => typeof arg === 'function');
  if (bytes.byteLength > declared.remaining) return fail(response, declared, 'longer', callback);
  declared.remaining -= bytes.byteLength;
  if (declared.remaining > 0 || bytes.byteLength === 0) return originals.write.call(response, bytes, callback);
  // This write completes the declared body: hold its last byte back until end(), so a body that
  // goes on, or a response that never ends, reaches the client incomplete, never "complete".
  declared.held = bytes.subarray(bytes.byteLength - 1);
  return originals.write.call(response, bytes.subarray(0, bytes.byteLength - 1), callback);
}

function countEnd(response: CountedResponse, originals: Originals, args: unknown[]): ServerResponse {
  declareBeforeFirstByte(response);
  const declared = response[declaredKey];
  if (!declared || declared.failed) return originals.end.apply(response, args);
  const chunk = typeof args[0] === 'function' ? undefined : args[0];
  const bytes = chunk === undefined || chunk === null ? new Uint8Array(0) : toBytes(chunk, args[1]);
  if (!bytes) return originals.end.apply(response, args); // not a chunk: Node's own error
  const callback = args.find((arg): arg is Callback => typeof arg === 'function');
  if (bytes.byteLength > declared.remaining) {
    fail(response, declared, 'longer', callback);
    return response;
  }
  declared.remaining -= bytes.byteLength;
  if (declared.remaining > 0) {
    fail(response, declared, 'shorter', callback);
    return response;
  }
  response[declaredKey] = undefined;
  const last = declared.held ? Buffer.concat([declared.held, bytes]) : bytes;
  return last.byteLength > 0 ? originals.end.call(response, last, callback) : originals.end.call(response, callback);
}

/**
 * Node writes the head lazily, from inside the first write() or end(). Writing it first means
 * the length is declared before that first chunk is counted. Only for the library's responses.
 */
function declareBeforeFirstByte(response: ServerResponse): void {
  if (!response.headersSent && response.hasHeader(LENGTH_HINT_HEADER)) response.writeHead(response.statusCode);
}

/**
 * The body differs from the declared length: close the connection, so the client sees a failed
 * transfer (fewer bytes than Content-Length) instead of a complete file of the wrong size.
 */
function fail(response: ServerResponse, declared: Declared, how: 'longer' | 'shorter', callback: Callback | undefined): false {
  declared.failed = true;
  const error = new Error(`next-downloadview: response body is ${how} than its declared Content-Length; connection closed`);
  process.emitWarning(error.message, { code: 'DOWNLOADVIEW_LENGTH_MISMATCH' });
  response.destroy();
  if (callback) process.nextTick(callback, error);
  return false;
}

/** A chunk as bytes, or `undefined` for a value Node would reject (Node then reports it). */
function toBytes(chunk: unknown, encoding: unknown): Uint8Array | undefined {
  if (typeof chunk === 'string') return Buffer.from(chunk, typeof encoding === 'string' ? (encoding as BufferEncoding) : 'utf8');
  return chunk instanceof Uint8Array ? chunk : undefined;
}

function mentionsHint(inline: InlineHeaders | undefined): boolean {
  if (!inline) return false;
  const names = Array.isArray(inline) ? inlineEntries(inline).map(([name]) => name) : Object.keys(inline);
  return names.some((name) => name.toLowerCase() === LENGTH_HINT_HEADER);
}

/**
 * Headers given to writeHead override those set before (Node's rule); within a raw array a
 * repeated name is appended, as Node sends repeated raw entries (two Set-Cookie lines).
 */
function setInlineHeaders(response: ServerResponse, inline: InlineHeaders): void {
  if (!Array.isArray(inline)) {
    const object = inline as OutgoingHttpHeaders;
    for (const name of Object.keys(object)) if (name) response.setHeader(name, object[name]!);
    return;
  }
  const seen = new Set<string>();
  for (const [name, value] of inlineEntries(inline)) {
    if (!name) continue; // Node skips empty names too
    const key = name.toLowerCase();
    if (seen.has(key)) response.appendHeader(name, value as string | readonly string[]);
    else response.setHeader(name, value);
    seen.add(key);
  }
}

/** `[name, value]` pairs of a raw header array, flat (`[k, v, k, v]`) or nested (`[[k, v]]`). */
function inlineEntries(inline: readonly unknown[]): [string, OutgoingHttpHeader][] {
  const entries: [string, OutgoingHttpHeader][] = [];
  if (inline.length > 0 && Array.isArray(inline[0])) {
    for (const entry of inline as [unknown, OutgoingHttpHeader][]) entries.push([String(entry[0]), entry[1]]);
  } else {
    for (let n = 0; n + 1 < inline.length; n += 2) entries.push([String(inline[n]), inline[n + 1] as OutgoingHttpHeader]);
  }
  return entries;
}
