// Direct streaming the usual way: a Node read stream adapted to a web stream.
import { createReadStream } from 'node:fs';
import { Readable } from 'node:stream';
import { mediaPath } from '../../media';

export const runtime = 'nodejs';

export async function GET(request: Request, { params }: { params: Promise<{ path?: string[] }> }) {
  const { path } = await params;
  const body = Readable.toWeb(createReadStream(mediaPath(path))) as ReadableStream<Uint8Array>;
  return new Response(body, { headers: { 'content-type': 'application/octet-stream' } });
}
