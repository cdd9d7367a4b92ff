// Direct streaming the usual way: a Node read stream adapted to a web stream, at its default
// 64 KiB chunks or at the library's 256 KiB.
import { createReadStream } from 'node:fs';
import { Readable } from 'node:stream';
import { mediaPath } from './media';

export function toWebResponse(segments: string[] | undefined, highWaterMark?: number): Response {
  const stream = createReadStream(mediaPath(segments), highWaterMark === undefined ? {} : { highWaterMark });
  return new Response(Readable.toWeb(stream) as ReadableStream<Uint8Array>, { headers: { 'content-type': 'application/octet-stream' } });
}
