/**
 * Reading a remote object's bytes (blob, URL): one upstream request per byte range the response
 * sends, each checked against the metadata already in the headers, with connect and idle timeouts.
 */
import { DownloadError } from '../errors.js';
import { parseEntityTag } from '../http/etag.js';
import type { ByteRange, FileBody } from '../types.js';

/** What an upstream answered: status, headers, and the body not yet read. */
export interface UpstreamReply {
  status: number;
  headers: Headers;
  body: ReadableStream<Uint8Array> | null;
}

/**
 * Ask the upstream for `range` (absent: the whole object), aborting on `signal`. Implementations
 * send `Accept-Encoding: identity` and, where they can, a precondition on the expected version.
 */
export type RequestBytes = (range: ByteRange | undefined, signal: AbortSignal) => Promise<UpstreamReply>;

export interface UpstreamTimeouts {
  /** Milliseconds from sending a request until the upstream's response headers arrive. */
  connect: number;
  /** Milliseconds the upstream may go silent while a body is being read. */
  idle: number;
}

/** The version the response headers describe: a fresh upstream reply must show the same. */
export interface ExpectedVersion {
  size: number | undefined;
  etag?: string;
  lastModified?: string;
}

export const defaultTimeouts: UpstreamTimeouts = { connect: 10_000, idle: 30_000 };

/** Validate timeout options at factory time; `owner` names the option (`blob.connectTimeout`). */
export function timeoutsFrom(options: { connectTimeout?: number; idleTimeout?: number }, owner: string, fail: (option: string, expectation: string) => never): UpstreamTimeouts {
  for (const name of ['connectTimeout', 'idleTimeout'] as const) {
    const value = options[name];
    if (value !== undefined && !(Number.isSafeInteger(value) && value > 0)) fail(`${owner}.${name}`, 'must be a positive number of milliseconds');
  }
  return { connect: options.connectTimeout ?? defaultTimeouts.connect, idle: options.idleTimeout ?? defaultTimeouts.idle };
}

/**
 * Run `call` with a deadline: the signal it gets aborts when `parent` does (the client left) or
 * after `timeout` ms, which becomes an `upstream_timeout` (504). Other failures pass through.
 * Linked by hand: `AbortSignal.any` costs 20 µs per call on Node 20 against 4.5 µs for a listener.
 * The link ends when `call` settles (a multipart download makes one call per range on the same
 * request signal); a body still being read is cancelled through its reader when the client leaves.
 */
export async function withDeadline<T>(parent: AbortSignal, timeout: number, call: (signal: AbortSignal) => Promise<T>): Promise<T> {
  const linked = new AbortController();
  let timedOut = false;
  const follow = () => linked.abort(parent.reason);
  if (parent.aborted) follow();
  else parent.addEventListener('abort', follow, { once: true });
  const timer = setTimeout(() => {
    timedOut = true;
    linked.abort(new DownloadError('upstream_timeout', `upstream did not answer within ${timeout} ms`));
  }, timeout);
  try {
    return await call(linked.signal);
  } catch (error) {
    if (timedOut && !parent.aborted) throw linked.signal.reason;
    throw error;
  } finally {
    clearTimeout(timer);
    parent.removeEventListener('abort', follow);
  }
}

/** An upstream status other than success, as the error the client's status comes from. */
export function upstreamStatusError(status: number, what: string): DownloadError {
  // Gone since the metadata was read (404/410), or no longer the version it described (412, 416):
  // the headers already promised something else, so this download cannot be served now.
  if (status === 404 || status === 410 || status === 412 || status === 416) {
    return new DownloadError('file_changed', `${what}: upstream answered ${status}; the object changed since its metadata was read`);
  }
  return new DownloadError('upstream_error', `${what}: upstream answered ${status}`);
}

/** An entity-tag as sent on the wire, quoted (some stores report it bare in JSON metadata). */
export function quoteETag(etag: string | null | undefined): string | undefined {
  if (!etag) return undefined;
  if (parseEntityTag(etag)) return etag.trim();
  const quoted = `"${etag}"`;
  return parseEntityTag(quoted) ? quoted : undefined;
}

/**
 * Check a reply's framing and version before any of its bytes is used: a 200 for the whole
 * object or a 206 for exactly `range`, no content coding, the expected ETag/Last-Modified and
 * length. Anything else throws (`file_changed` when it is another version, else `upstream_error`).
 */
export function checkReply(reply: UpstreamReply, range: ByteRange | undefined, expected: ExpectedVersion): void {
  const { status, headers } = reply;
  if (status < 200 || status > 299) throw upstreamStatusError(status, 'byte request');
  // A coded body (gzip, br) has other offsets and length; fetch would also decode it silently.
  const coding = headers.get('content-encoding');
  if (coding !== null && coding.trim().toLowerCase() !== 'identity') throw new DownloadError('upstream_error', `upstream sent a ${coding}-coded body despite Accept-Encoding: identity`);
  const etag = quoteETag(headers.get('etag'));
  if (expected.etag !== undefined && etag !== expected.etag) {
    throw new DownloadError('file_changed', `upstream ETag ${etag ?? '(none)'} differs from ${expected.etag} in the metadata`);
  }
  if (expected.etag === undefined && expected.lastModified !== undefined && headers.get('last-modified') !== expected.lastModified) {
    throw new DownloadError('file_changed', 'upstream Last-Modified differs from the metadata');
  }
  let length: number | undefined;
  if (range === undefined) {
    if (status !== 200) throw new DownloadError('upstream_error', `upstream answered ${status} to a request for the whole object`);
    length = expected.size;
  } else {
    // Never read from byte 0 and throw bytes away: an upstream that ignores Range is unusable here.
    if (status !== 206) throw new DownloadError('upstream_error', `upstream answered ${status} to a Range request`);
    const contentRange = headers.get('content-range');
    const wanted = `bytes ${range.start}-${range.end}/${expected.size ?? '*'}`;
    if (contentRange?.trim() !== wanted && !(expected.size === undefined && contentRange?.startsWith(`bytes ${range.start}-${range.end}/`))) {
      throw new DownloadError('file_changed', `upstream Content-Range "${contentRange ?? ''}" is not ${wanted}`);
    }
    length = range.end - range.start + 1;
  }
  const declared = headers.get('content-length');
  if (declared !== null && length !== undefined && declared.trim() !== String(length)) {
    // Before any byte: the upstream answered something unusable (502), not our own mistake (500).
    throw new DownloadError('upstream_error', `upstream Content-Length ${declared} differs from the ${length} bytes expected`);
  }
}

/** The request for the bytes from `position`: the range in `ranges` holding it, or up to the end. */
function rangeAt(position: number, ranges: readonly ByteRange[] | undefined, size: number | undefined): ByteRange | undefined {
  const listed = ranges?.find((range) => range.start <= position && position <= range.end);
  if (listed) return position === listed.start ? listed : { start: position, end: listed.end };
  if (size === undefined) return position === 0 ? undefined : { start: position, end: Number.MAX_SAFE_INTEGER };
  if (position === 0) return undefined;
  return { start: position, end: size - 1 };
}

/** One upstream body being read: where it is, and where its bytes end. */
interface Current {
  reader: ReadableStreamDefaultReader<Uint8Array>;
  /** Position of the next byte the reader yields. */
  position: number;
  /** Position after the last byte this reply may yield (undefined: unknown size). */
  end: number | undefined;
  pending: Uint8Array | undefined;
  /** A read still waiting when the last coalesced chunk went out: the next read takes its result. */
  inflight: Promise<ReadableStreamReadResult<Uint8Array>> | undefined;
}

/**
 * How long a read waits for more upstream chunks to join the first one. The upstream delivers
 * 16 KiB pieces over TLS (64 KiB over plain HTTP) and each chunk handed to Next costs a write;
 * joining them into reads of up to CHUNK_SIZE made a streamed 100 MiB blob 1.31× as fast as a
 * pass-through of fetch()'s body (bench/results/remote, remote-stream session; 0.89× before). The wait bounds what a slow
 * upstream's bytes are held back: they go out within this much of arriving.
 */
export const COALESCE_WAIT_MS = 10;

/**
 * A `FileBody` over upstream requests. The first request is made by `openUpstreamBody` itself,
 * so a refusal, a timeout or another version is an error status before any response byte; later
 * ranges of a multipart response are requested as the stream reaches them (a failure then fails
 * the transfer). Every reply is checked with {@link checkReply}; a body that ends early, runs
 * long or goes silent for `idle` ms fails. Closing cancels the upstream read, so a client that
 * leaves closes the upstream connection too.
 */
export async function openUpstreamBody(
  request: RequestBytes,
  expected: ExpectedVersion,
  ranges: readonly ByteRange[] | undefined,
  signal: AbortSignal,
  timeouts: UpstreamTimeouts,
): Promise<FileBody> {
  let current: Current | undefined;
  let closed = false;

  async function start(position: number): Promise<Current> {
    const range = rangeAt(position, ranges, expected.size);
    const reply = await withDeadline(signal, timeouts.connect, async (deadline) => {
      const answer = await request(range, deadline);
      try {
        checkReply(answer, range, expected);
        if (!answer.body) throw new DownloadError('upstream_error', 'upstream reply has no body');
      } catch (error) {
        await answer.body?.cancel().catch(() => {});
        throw error;
      }
      return answer;
    });
    const end = range === undefined ? expected.size : range.end === Number.MAX_SAFE_INTEGER ? undefined : range.end + 1;
    return { reader: reply.body!.getReader(), position: range?.start ?? 0, end, pending: undefined, inflight: undefined };
  }

  /** The reply's next chunk (`undefined` at its end), failing after `idle` ms of silence. */
  async function nextChunk(from: Current): Promise<Uint8Array | undefined> {
    let timer: NodeJS.Timeout | undefined;
    const idle = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new DownloadError('upstream_timeout', `upstream body silent for ${timeouts.idle} ms`)), timeouts.idle);
    });
    try {
      const result = await Promise.race([readFrom(from), idle]);
      return result.done ? undefined : result.value;
    } finally {
      clearTimeout(timer);
    }
  }

  function readFrom(from: Current): Promise<ReadableStreamReadResult<Uint8Array>> {
    const read = from.inflight ?? from.reader.read();
    from.inflight = undefined;
    return read;
  }

  /**
   * `first` followed by the chunks that arrive within {@link COALESCE_WAIT_MS}, up to `room`
   * bytes: one copy per byte instead of one write per upstream chunk. A read still waiting when
   * the time is up is kept for the next call; a reply that ends here is left for the next read to
   * see. `left` is what the reply may still yield after `first`'s start: more is a broken upstream.
   */
  async function coalesce(from: Current, first: Uint8Array, room: number, left: number): Promise<Uint8Array> {
    const joined = new Uint8Array(room);
    joined.set(first);
    let filled = first.byteLength;
    let waited: NodeJS.Timeout | undefined;
    const timeUp = new Promise<undefined>((resolve) => {
      waited = setTimeout(() => resolve(undefined), COALESCE_WAIT_MS);
    });
    try {
      while (filled < room) {
        from.inflight ??= from.reader.read();
        const result = await Promise.race([from.inflight, timeUp]);
        if (result === undefined || result.done) break;
        from.inflight = undefined;
        const chunk = result.value;
        if (chunk.byteLength > left - filled) throw new DownloadError('length_mismatch', 'upstream body runs past its expected length');
        const fits = Math.min(chunk.byteLength, room - filled);
        joined.set(fits === chunk.byteLength ? chunk : chunk.subarray(0, fits), filled);
        filled += fits;
        if (fits < chunk.byteLength) from.pending = chunk.subarray(fits);
      }
    } finally {
      clearTimeout(waited);
    }
    return filled === room ? joined : joined.subarray(0, filled);
  }

  function release(): void {
    const reader = current?.reader;
    current = undefined;
    // Cancelling the reader aborts the upstream request: the upstream sees the disconnect.
    reader?.cancel().catch(() => {});
  }

  /** The reply is at its end: nothing may follow (a longer body is another version or a broken upstream). */
  async function finish(from: Current): Promise<void> {
    const extra = await nextChunk(from);
    if (extra !== undefined && extra.byteLength > 0) throw new DownloadError('length_mismatch', 'upstream body runs past its expected length');
    current = undefined;
  }

  current = await start(ranges?.[0]?.start ?? 0);

  return {
    async read(position, length) {
      if (closed) throw new DownloadError('source_error', 'download aborted');
      try {
        if (current === undefined || current.position !== position) {
          release();
          current = await start(position);
        }
        const reading = current;
        if (reading.end !== undefined && reading.position >= reading.end) {
          await finish(reading);
          return new Uint8Array(0);
        }
        let chunk = reading.pending ?? (await nextChunk(reading));
        reading.pending = undefined;
        if (chunk === undefined) {
          current = undefined;
          // An upstream of unknown size ends where it ends; a known size must be reached.
          if (reading.end !== undefined) throw new DownloadError('length_mismatch', `upstream body ended at byte ${reading.position}, expected ${reading.end}`);
          return new Uint8Array(0);
        }
        const left = reading.end === undefined ? Number.POSITIVE_INFINITY : reading.end - reading.position;
        if (chunk.byteLength > left) throw new DownloadError('length_mismatch', 'upstream body runs past its expected length');
        if (chunk.byteLength > length) {
          // More than this read wants: keep the rest for the next one.
          reading.pending = chunk.subarray(length);
          chunk = chunk.subarray(0, length);
        } else {
          const room = Math.min(length, left);
          if (chunk.byteLength < room) chunk = await coalesce(reading, chunk, room, left);
        }
        reading.position += chunk.byteLength;
        // The last byte of this reply: check the reply ends here before the byte goes out, so a
        // longer body fails the transfer instead of completing it.
        if (reading.end !== undefined && reading.position === reading.end && reading.pending === undefined) await finish(reading);
        return chunk;
      } catch (error) {
        release();
        throw error;
      }
    },
    async close() {
      closed = true;
      release();
    },
  };
}
