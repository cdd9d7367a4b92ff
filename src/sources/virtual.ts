/** `virtual(...)`: content the app makes (strings, bytes, Blobs, streams), streamed as produced. */
import { createHash } from 'node:crypto';
import { DownloadError, invalidOption, typeName } from '../errors.js';
import type { DownloadFile, FileBody, Located, RequestContext, Source } from '../types.js';
import { checkAppMetadata } from './metadata.js';

/** Anything that can become bytes. Iterables may yield strings (UTF-8 encoded) or bytes. */
export type VirtualBody =
  | string
  | Uint8Array
  | ArrayBuffer
  | Blob
  | ReadableStream<Uint8Array>
  | AsyncIterable<Uint8Array | string>;

export interface VirtualFileSpec {
  /** Download name, also used to pick the Content-Type. */
  name: string;
  /**
   * The content, or a function making it. Prefer a function for streams: it is only called
   * when a body is sent, never for HEAD or 304.
   */
  body: VirtualBody | (() => VirtualBody | Promise<VirtualBody>);
  /** Size in bytes; required for Range and Content-Length when the body is a stream. */
  size?: number;
  mtime?: Date;
  /** A full entity-tag (`"v1"` or `W/"v1"`). Strings and bytes get a strong one by hash. */
  etag?: string;
  contentType?: string;
}

export type VirtualProducer = (
  request: Request,
  context: RequestContext,
) => VirtualFileSpec | null | undefined | Promise<VirtualFileSpec | null | undefined>;

export interface VirtualSource extends Source {
  readonly kind: 'virtual';
}

/**
 * @example
 * export const GET = downloadHandler({
 *   source: virtual((request, { params }) => ({ name: 'report.csv', body: () => csvStream(params.id) })),
 * });
 */
export function virtual(produce: VirtualProducer): VirtualSource {
  if (typeof produce !== 'function') invalidOption('virtual', 'takes a function (request, context) => file');
  return {
    kind: 'virtual',
    async locate(request, context) {
      const spec = await produce(request, context);
      return spec ? virtualFile(spec) : null;
    },
  };
}

/** A single virtual file, e.g. returned from a `record()` lookup. */
export function virtualFile(spec: VirtualFileSpec): Located {
  const ready = readyBodyOwner(spec);
  try {
    validateSpec(spec);
  } catch (error) {
    ready.release();
    throw error;
  }
  return {
    target: { kind: 'virtual', key: spec.name },
    load: async () => toDownloadFile(spec, ready),
    // A refused request never loads: a ready-made stream in the spec must still be released.
    dispose: ready.release,
  };
}

function validateSpec(spec: VirtualFileSpec): void {
  if (typeof spec?.name !== 'string' || spec.name === '') throw new DownloadError('source_error', 'virtual file needs a non-empty name');
  checkAppMetadata(spec, 'virtual file');
}

const encoder = new TextEncoder();

function toDownloadFile(spec: VirtualFileSpec, ready: ReadyBodyOwner): DownloadFile {
  const eager = typeof spec.body === 'function' ? undefined : normalise(spec.body);
  checkDeclaredSize(spec.size, eager);
  const size = knownSize(eager) ?? spec.size;
  return {
    kind: 'virtual',
    name: spec.name,
    size,
    mtime: spec.mtime,
    // In-memory bytes are cheap to hash, so they get a strong validator (If-Range works).
    etag: spec.etag ?? (eager instanceof Uint8Array ? strongETag(eager) : undefined),
    contentType: spec.contentType,
    // `declared` is this file's size or the one a record declared for it (types.ts).
    async open(signal, declared) {
      if (eager) ready.take();
      const body = eager ?? normalise(await produceBody(spec.body as () => VirtualBody | Promise<VirtualBody>, signal));
      checkDeclaredSize(declared, body);
      if (body instanceof Uint8Array) return bytesBody(body);
      // A stream may run past its declared size; the body checks that it ends there.
      return sequentialBody(body instanceof Blob ? body.stream() : body, declared, signal);
    },
    // An eager stream that will not be read must still be released.
    dispose: ready.release,
  };
}

/** The length of bytes and Blobs; streams do not know theirs. */
function knownSize(body: NormalBody | undefined): number | undefined {
  return body instanceof Uint8Array ? body.byteLength : body instanceof Blob ? body.size : undefined;
}

/** Bytes and Blobs whose length differs from the declared size are an error before anything is sent. */
function checkDeclaredSize(declared: number | undefined, body: NormalBody | undefined): void {
  const actual = knownSize(body);
  if (actual !== undefined && declared !== undefined && declared !== actual) {
    throw new DownloadError('length_mismatch', `virtual file declares ${declared} bytes but has ${actual}`);
  }
}

/**
 * The one owner of a ready-made stream or iterable in `spec.body`: a download that opens it (and
 * closes it when done), or a release when nobody will read it; either happens once. The located
 * file and the loaded file (and a `record()` around them) all release through it.
 */
interface ReadyBodyOwner {
  /** The body is being read: its reader closes it, later releases do nothing. */
  take(): void;
  /** Release the body unread, unless it was taken or released before. */
  release(): void;
}

function readyBodyOwner(spec: VirtualFileSpec): ReadyBodyOwner {
  let settled = false;
  return {
    take: () => {
      settled = true;
    },
    release: () => {
      if (settled) return;
      settled = true;
      releaseBody(spec?.body);
    },
  };
}

/**
 * Cancel a stream or end an async iterable nobody will read (a ready-made one in `spec.body`, or
 * one a body function delivered after the client left). Bytes, strings and Blobs hold nothing. A
 * `return()` that is missing, returns a plain object or throws (all allowed by the iterator
 * protocol) never reaches the response.
 */
function releaseBody(body: unknown): void {
  try {
    if (body instanceof ReadableStream) body.cancel().catch(() => {});
    else if (body !== null && typeof body === 'object' && Symbol.asyncIterator in body) {
      Promise.resolve((body as AsyncIterable<unknown>)[Symbol.asyncIterator]().return?.()).catch(() => {});
    }
  } catch {
    // The iterator failed while being closed: there is nothing left to release.
  }
}

type NormalBody = Uint8Array | Blob | ReadableStream<Uint8Array> | AsyncIterable<Uint8Array | string>;

function normalise(body: VirtualBody): NormalBody {
  if (typeof body === 'string') return encoder.encode(body);
  if (body instanceof ArrayBuffer) return new Uint8Array(body);
  if (body instanceof Uint8Array || body instanceof Blob || body instanceof ReadableStream) return body;
  if (body && typeof (body as AsyncIterable<unknown>)[Symbol.asyncIterator] === 'function') return body;
  throw new DownloadError('source_error', 'virtual body must be a string, bytes, Blob, ReadableStream or async iterable');
}

/**
 * Call the app's body function, waiting for it only while the client is there: a producer whose
 * promise never settles (a fetch to an upstream that never answers) must not hold the request.
 * A body that arrives after the client left is released at once (a stream cancelled, closing its
 * upstream connection).
 */
async function produceBody(produce: () => VirtualBody | Promise<VirtualBody>, signal: AbortSignal): Promise<VirtualBody> {
  const pending = Promise.resolve().then(produce);
  try {
    return await untilAborted(pending, signal);
  } catch (error) {
    if (signal.aborted) pending.then(releaseBody, () => {});
    throw error;
  }
}

/** `pending`, or a rejection as soon as `signal` aborts. */
function untilAborted<T>(pending: Promise<T>, signal: AbortSignal): Promise<T> {
  if (signal.aborted) return Promise.reject(new DownloadError('source_error', 'download aborted'));
  return new Promise<T>((resolve, reject) => {
    const abort = (): void => reject(new DownloadError('source_error', 'download aborted'));
    signal.addEventListener('abort', abort, { once: true });
    pending.then(resolve, reject).finally(() => signal.removeEventListener('abort', abort));
  });
}

function strongETag(bytes: Uint8Array): string {
  return `"${createHash('sha256').update(bytes).digest('base64url').slice(0, 27)}"`;
}

function bytesBody(bytes: Uint8Array): FileBody {
  return {
    read: async (position, length) => bytes.subarray(position, position + length),
    close: async () => {},
  };
}

const EMPTY = new Uint8Array(0);

/**
 * Positional reads over a forward-only stream: skips to `position`, keeps the unread rest of a
 * chunk. Ranges arrive sorted, so it never has to go back. With a declared `size`, the read that
 * reaches it also checks that nothing follows: a stream longer than declared fails the transfer
 * instead of arriving cut short as a complete-looking file.
 */
function sequentialBody(source: ReadableStream<Uint8Array> | AsyncIterable<Uint8Array | string>, size: number | undefined, signal: AbortSignal): FileBody {
  const chunks = chunkSource(source);
  let offset = 0; // stream offset of `pending[0]`
  let pending: Uint8Array = EMPTY;
  let done = false;

  /** The next chunk as bytes, or `undefined` at the end. */
  async function nextChunk(): Promise<Uint8Array | undefined> {
    if (done) return undefined;
    let next: IteratorResult<unknown>;
    try {
      // A producer may stall: a client that leaves ends the wait (close() then ends the iterator).
      next = await untilAborted(chunks.next(), signal);
    } catch (error) {
      if (signal.aborted) throw error;
      // A failed next() ends the iterator (as in for await): close() must not call return().
      done = true;
      throw error;
    }
    if (next.done) {
      done = true;
      return undefined;
    }
    const value = next.value;
    if (typeof value === 'string') return encoder.encode(value);
    if (value instanceof Uint8Array) return value;
    // Anything else has no byte length to count: skipping it would silently drop content.
    throw new DownloadError('source_error', `virtual body yielded a chunk of type ${typeName(value)}; chunks must be Uint8Array or string`);
  }

  async function checkNothingAfter(end: number): Promise<void> {
    let extra = offset + pending.byteLength > end;
    while (!extra) {
      const next = await nextChunk();
      if (next === undefined) return;
      extra = next.byteLength > 0;
    }
    throw new DownloadError('length_mismatch', `virtual stream runs past its declared ${end} bytes`);
  }

  return {
    async read(position, length) {
      if (position < offset) throw new DownloadError('source_error', 'virtual stream cannot seek backwards');
      for (;;) {
        if (position < offset + pending.byteLength) {
          const from = position - offset;
          const chunk = pending.subarray(from, from + length);
          if (size !== undefined && position + chunk.byteLength >= size) await checkNothingAfter(size);
          return chunk;
        }
        offset += pending.byteLength;
        pending = EMPTY;
        const next = await nextChunk();
        if (next === undefined) return EMPTY;
        pending = next;
      }
    },
    async close() {
      if (!done) {
        done = true;
        await chunks.cancel();
      }
    },
  };
}

/** Where a sequential body pulls its chunks from; `cancel()` ends the source. */
interface ChunkSource {
  next(): Promise<IteratorResult<unknown>>;
  cancel(): Promise<void>;
}

function chunkSource(source: ReadableStream<Uint8Array> | AsyncIterable<Uint8Array | string>): ChunkSource {
  if (source instanceof ReadableStream) {
    // A reader, not the async iterator: reader.cancel() cancels the stream at once even while a
    // read is pending (which then resolves as done), so a stalled upstream (a fetch body) gets its
    // connection closed. The iterator's return() queues behind the pending read (WHATWG Streams,
    // ReadableStream async iteration), forever when the upstream stalls.
    const reader = source.getReader();
    return { next: () => reader.read(), cancel: () => reader.cancel() };
  }
  // An async generator cannot be interrupted inside an await either: its return() also waits for
  // the pending next(). Producers that may stall should be streams, or watch the request's signal.
  const iterator = (source as AsyncIterable<unknown>)[Symbol.asyncIterator]();
  return {
    next: () => iterator.next(),
    cancel: async () => {
      await iterator.return?.();
    },
  };
}
