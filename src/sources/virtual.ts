/** `virtual(...)`: content the app makes (strings, bytes, Blobs, streams), streamed as produced. */
import { createHash } from 'node:crypto';
import { DownloadError, invalidOption } from '../errors.js';
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
  try {
    validateSpec(spec);
  } catch (error) {
    releaseReadyBody(spec);
    throw error;
  }
  return {
    target: { kind: 'virtual', key: spec.name },
    load: async () => toDownloadFile(spec),
    // A refused request never loads: a ready-made stream in the spec must still be released.
    dispose: () => releaseReadyBody(spec),
  };
}

function validateSpec(spec: VirtualFileSpec): void {
  if (typeof spec?.name !== 'string' || spec.name === '') throw new DownloadError('source_error', 'virtual file needs a non-empty name');
  checkAppMetadata(spec, 'virtual file');
}

const encoder = new TextEncoder();

function toDownloadFile(spec: VirtualFileSpec): DownloadFile {
  const eager = typeof spec.body === 'function' ? undefined : normalise(spec.body);
  const known = eager instanceof Uint8Array ? eager : undefined;
  if (known && spec.size !== undefined && spec.size !== known.byteLength) {
    throw new DownloadError('length_mismatch', `virtual file declares ${spec.size} bytes but has ${known.byteLength}`);
  }
  const size = known?.byteLength ?? (eager instanceof Blob ? eager.size : spec.size);
  return {
    kind: 'virtual',
    name: spec.name,
    size,
    mtime: spec.mtime,
    // In-memory bytes are cheap to hash, so they get a strong validator (If-Range works).
    etag: spec.etag ?? (known ? strongETag(known) : undefined),
    contentType: spec.contentType,
    async open() {
      const body = eager ?? normalise(await (spec.body as () => VirtualBody | Promise<VirtualBody>)());
      if (body instanceof Uint8Array) return bytesBody(body);
      if (body instanceof Blob) return sequentialBody(body.stream());
      return sequentialBody(body);
    },
    // An eager stream that will not be read must still be released.
    dispose: () => releaseReadyBody(spec),
  };
}

/**
 * Cancel a ready-made stream or end an async iterable in `spec.body` that nobody will read. Bytes,
 * strings and Blobs hold nothing; a body function was never called.
 */
function releaseReadyBody(spec: VirtualFileSpec): void {
  const body: unknown = spec?.body;
  if (body instanceof ReadableStream) body.cancel().catch(() => {});
  else if (body !== null && typeof body === 'object' && Symbol.asyncIterator in body) {
    (body as AsyncIterable<unknown>)[Symbol.asyncIterator]().return?.().catch(() => {});
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

function strongETag(bytes: Uint8Array): string {
  return `"${createHash('sha256').update(bytes).digest('base64url').slice(0, 27)}"`;
}

function bytesBody(bytes: Uint8Array): FileBody {
  return {
    read: async (position, length) => bytes.subarray(position, position + length),
    close: async () => {},
  };
}

/**
 * Positional reads over a forward-only stream: skips to `position`, keeps the unread rest of a
 * chunk. Ranges arrive sorted, so it never has to go back.
 */
function sequentialBody(source: ReadableStream<Uint8Array> | AsyncIterable<Uint8Array | string>): FileBody {
  const iterator = (source as AsyncIterable<Uint8Array | string>)[Symbol.asyncIterator]();
  let offset = 0; // stream offset of `pending[0]`
  let pending: Uint8Array = new Uint8Array(0);
  let done = false;

  async function fill(): Promise<boolean> {
    if (done) return false;
    const next = await iterator.next();
    if (next.done) {
      done = true;
      return false;
    }
    const value = next.value;
    pending = typeof value === 'string' ? encoder.encode(value) : value;
    return true;
  }

  return {
    async read(position, length) {
      if (position < offset) throw new DownloadError('source_error', 'virtual stream cannot seek backwards');
      for (;;) {
        if (position < offset + pending.byteLength) {
          const from = position - offset;
          const chunk = pending.subarray(from, from + length);
          return chunk;
        }
        offset += pending.byteLength;
        pending = new Uint8Array(0);
        if (!(await fill())) return pending;
      }
    },
    async close() {
      if (!done) {
        done = true;
        await iterator.return?.();
      }
    },
  };
}
