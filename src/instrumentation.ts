/**
 * `next-downloadview/instrumentation`: gives streamed downloads their `Content-Length` back under
 * plain `next start`, which strips it from every route-handler response
 * (next/dist/server/send-response.js), so browsers otherwise show no size and no progress.
 *
 * Opt in with an `instrumentation.ts` next to `app/` (or in `src/`):
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
 * How: responses the library can size exactly carry a private header holding the length and a
 * per-process token (see length-hint.ts). `ServerResponse.prototype.writeHead`, the one point every
 * HTTP/1 response's head passes through (Node's `_implicitHeader` calls `this.writeHead`), turns
 * a valid hint into `Content-Length` and always removes the private header. It runs after Next's
 * `compress` middleware has decided (that middleware wraps `writeHead` per response, on top of
 * this one), so a response it gzips is seen with its `Content-Encoding` already set.
 */
import { ServerResponse, type OutgoingHttpHeader, type OutgoingHttpHeaders } from 'node:http';
import { LENGTH_HINT_HEADER, lengthHintState, readLengthHint } from './length-hint.js';

type WriteHead = ServerResponse['writeHead'];
type InlineHeaders = OutgoingHttpHeaders | OutgoingHttpHeader[] | readonly (readonly [string, OutgoingHttpHeader])[];

// The marker lives on the prototype itself: Next may load this module twice (instrumentation
// bundle and route bundle), and both copies must patch at most once.
const patched = Symbol.for('next-downloadview.content-length-hook');
type PatchedPrototype = ServerResponse & { [patched]?: WriteHead; writeHeader?: WriteHead };

/**
 * Install the hook (idempotent) and start marking the library's exactly-sized responses.
 * Affects only responses carrying the library's hint; every other response is passed through as is.
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
  const prototype = ServerResponse.prototype as PatchedPrototype;
  if (!prototype[patched]) {
    const original = prototype.writeHead;
    const writeHead = function writeHeadWithLength(this: ServerResponse, ...args: Parameters<WriteHead>): ServerResponse {
      return declareLength(this, original, args);
    } as WriteHead;
    prototype[patched] = original;
    prototype.writeHead = writeHead;
    // DEP0063 alias: keep it pointing at the same function, so no path skips the header removal.
    if (prototype.writeHeader === original) prototype.writeHeader = writeHead;
  }
  lengthHintState().installed = true;
}

/** Whether the hook is installed in this process. */
export function isContentLengthRegistered(): boolean {
  return Boolean((ServerResponse.prototype as PatchedPrototype)[patched]) && lengthHintState().installed;
}

function declareLength(response: ServerResponse, original: WriteHead, args: Parameters<WriteHead>): ServerResponse {
  const [statusCode, reason, headers] = args as [number, string | InlineHeaders | undefined, InlineHeaders | undefined];
  // Same argument rules as Node's writeHead(statusCode[, statusMessage][, headers]).
  const inline = typeof reason === 'string' ? headers : (headers ?? reason);
  // Not the library's response: untouched, same call, same arguments.
  if (!response.hasHeader(LENGTH_HINT_HEADER) && !mentionsHint(inline)) return original.apply(response, args);

  // An odd flat array is Node's ERR_INVALID_ARG_VALUE: let Node throw it, as without the hook.
  if (Array.isArray(inline) && inline.length % 2 !== 0 && !Array.isArray(inline[0])) return original.apply(response, args);
  // Fold headers passed to writeHead into the progressive API (what Node itself does once
  // setHeader was used, and what Next's `compress` does too), so one view decides everything.
  if (inline) setInlineHeaders(response, inline);
  const hint = response.getHeader(LENGTH_HINT_HEADER);
  // Always removed: the token must never reach a client, valid or not.
  response.removeHeader(LENGTH_HINT_HEADER);
  // A header appended twice (an array) is not one trusted value.
  const length = typeof hint === 'string' ? readLengthHint(hint) : undefined;
  if (length !== undefined && mayDeclareLength(response, statusCode | 0, length)) {
    response.setHeader('content-length', String(length));
    // Backstop: Node then refuses to write past the length or to end short of it
    // (ERR_HTTP_CONTENT_LENGTH_MISMATCH), so a body swapped under the library's headers
    // fails the transfer instead of completing with a wrong size.
    response.strictContentLength = true;
  }
  return typeof reason === 'string' ? original.call(response, statusCode, reason) : original.call(response, statusCode);
}

/** Every condition under which a trusted length may become `Content-Length`. */
function mayDeclareLength(response: ServerResponse, status: number, length: number): boolean {
  // The library hints only 200 and 206 (full, single and multipart range, and their HEAD). Any
  // other status means someone replaced the response around our headers (304 and 204 must not
  // carry a body length at all, RFC 9110 §8.6), so our length no longer describes it.
  if (status !== 200 && status !== 206) return false;
  // Compressed (Next's `compress` sets this before this hook runs, and removes Content-Length):
  // the length on the wire is the compressed one, unknown until the end (RFC 9110 §8.6).
  if (response.hasHeader('content-encoding')) return false;
  // Someone asked for chunked framing explicitly; RFC 9112 §6.2: a sender must not send
  // Content-Length together with Transfer-Encoding.
  if (response.hasHeader('transfer-encoding')) return false;
  // Trailers need chunked framing; Node throws ERR_HTTP_TRAILER_INVALID for a sized body with them.
  if (response.hasHeader('trailer')) return false;
  // Someone else declared a length: if it differs, one of us is wrong, and we cannot tell which.
  // If it agrees there is nothing to add; both cases leave theirs as it is.
  const existing = response.getHeader('content-length');
  if (existing !== undefined) return false;
  return Number.isSafeInteger(length) && length >= 0;
}

function mentionsHint(inline: InlineHeaders | undefined): boolean {
  if (!inline) return false;
  if (!Array.isArray(inline)) return Object.keys(inline).some((name) => name.toLowerCase() === LENGTH_HINT_HEADER);
  return inlineEntries(inline).some(([name]) => name.toLowerCase() === LENGTH_HINT_HEADER);
}

/**
 * Headers given to writeHead override those set before (Node's own rule); within a raw array a
 * repeated name is appended, as Node sends repeated raw entries (e.g. two Set-Cookie lines).
 */
function setInlineHeaders(response: ServerResponse, inline: InlineHeaders): void {
  if (!Array.isArray(inline)) {
    for (const name of Object.keys(inline)) if (name) response.setHeader(name, (inline as OutgoingHttpHeaders)[name]!);
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
    for (const entry of inline as [string, OutgoingHttpHeader][]) entries.push([String(entry[0]), entry[1]]);
  } else {
    for (let n = 0; n + 1 < inline.length; n += 2) entries.push([String(inline[n]), inline[n + 1] as OutgoingHttpHeader]);
  }
  return entries;
}
