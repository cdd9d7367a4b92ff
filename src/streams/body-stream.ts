/** A pull-based web stream over a `FileBody`: bounded memory, closes the body exactly once. */
import { DownloadError } from '../errors.js';
import type { FileBody } from '../types.js';

/** Part of a response body: literal bytes (multipart headers) or a byte range of the file. */
export type BodySegment =
  | { kind: 'bytes'; bytes: Uint8Array }
  /** Inclusive range; `end` undefined means "until the source ends" (unknown size). */
  | { kind: 'range'; start: number; end: number | undefined };

// 256 KiB per read: measured with `npm run bench` (see bench/results); smaller chunks pay
// Next's per-chunk pipe cost too often, larger ones gain nothing and hold more memory.
export const CHUNK_SIZE = 256 * 1024;

export interface BodyStreamOptions {
  /** Bytes per read. Larger chunks amortise per-chunk costs in Next's web-to-node pipe. */
  chunkSize: number;
  /** Aborted when the client goes away; the body is released at once. */
  signal: AbortSignal;
  /** Receives read failures (not client aborts). */
  onError: (error: unknown) => void;
}

/**
 * Read the segments in order, one chunk per pull, so a slow client holds at most one chunk
 * in memory (backpressure). Built by hand rather than `Readable.toWeb(createReadStream())`,
 * which throws an uncaught ERR_INVALID_STATE when the client aborts (nodejs/node#54205).
 */
export function createBodyStream(
  body: FileBody,
  segments: readonly BodySegment[],
  options: BodyStreamOptions,
): ReadableStream<Uint8Array> {
  let index = 0;
  let position = segments[0]?.kind === 'range' ? segments[0].start : 0;
  let released = false;

  const release = (): void => {
    if (released) return;
    released = true;
    options.signal.removeEventListener('abort', release);
    body.close().catch(options.onError);
  };
  options.signal.addEventListener('abort', release, { once: true });
  // A client that left while the file was being opened never fires 'abort' again.
  if (options.signal.aborted) release();

  return new ReadableStream<Uint8Array>(
    {
      async pull(controller) {
        try {
          const chunk = await nextChunk();
          if (released) {
            // Cancelled or aborted while the read was in flight. error() is a no-op on a
            // cancelled stream and ends a merely aborted one so no reader waits forever.
            controller.error(new DownloadError('source_error', 'download aborted'));
          } else if (chunk === undefined) {
            release();
            controller.close();
          } else {
            controller.enqueue(chunk);
          }
        } catch (error) {
          // A read that fails because the client left is expected, not worth reporting.
          const expected = released;
          release();
          controller.error(error);
          if (!expected) options.onError(error);
        }
      },
      cancel() {
        release();
      },
    },
    { highWaterMark: 1 },
  );

  /** The next chunk to send, or `undefined` at the end of the last segment. */
  async function nextChunk(): Promise<Uint8Array | undefined> {
    for (;;) {
      if (released) throw new DownloadError('source_error', 'download aborted');
      const segment = segments[index];
      if (segment === undefined) return undefined;
      if (segment.kind === 'bytes') {
        advance();
        return segment.bytes;
      }
      const remaining = segment.end === undefined ? options.chunkSize : segment.end - position + 1;
      if (remaining <= 0) {
        advance();
        continue;
      }
      const chunk = await body.read(position, Math.min(options.chunkSize, remaining));
      if (chunk.byteLength === 0) {
        if (segment.end === undefined) {
          advance();
          continue;
        }
        // The file ended before the length already promised in the headers: fail the
        // transfer rather than let the client keep a short file that looks complete.
        throw new DownloadError('length_mismatch', `source ended at byte ${position}, expected ${segment.end + 1}`);
      }
      position += chunk.byteLength;
      return chunk;
    }
  }

  function advance(): void {
    index += 1;
    const next = segments[index];
    if (next?.kind === 'range') position = next.start;
  }
}
