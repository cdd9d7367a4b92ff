// The reference for a streamed remote download (lib-blob): what a naive hand-written route does,
// `(await fetch(url)).body`. The same public object, the same fetch and undici dispatcher as the
// library's client; no Range, no conditional requests, no length, the upstream's status ignored.
import { blobPathname, encodePathname, publicOrigin } from '../../remote';

export const runtime = 'nodejs';

export async function GET(request: Request, { params }: { params: Promise<{ path?: string[] }> }) {
  const pathname = blobPathname('public', (await params).path);
  if (!pathname) return new Response(null, { status: 404 });
  return new Response((await fetch(`${publicOrigin}/${encodePathname(pathname)}`, { cache: 'no-store', signal: request.signal })).body);
}
