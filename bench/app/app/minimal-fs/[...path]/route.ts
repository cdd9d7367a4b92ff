// The least a handler that serves a file by key must do per request, written inline: refuse unsafe
// segments, lstat the path, read the bytes (through a descriptor kept open, as the library's
// open-file cache does), look at the six conditional and Range headers, and send the validators and
// the library's other headers. It honours none of those request headers and checks no symlinks: a
// floor for the library's own overhead, not a handler to use.
import { constants, lstatSync, openSync, readSync } from 'node:fs';
import { mediaPath } from '../../media';

export const runtime = 'nodejs';

const descriptors = new Map<string, number>();
const requestHeaders = ['if-match', 'if-none-match', 'if-modified-since', 'if-unmodified-since', 'range', 'if-range'];

export async function GET(request: Request, { params }: { params: Promise<{ path?: string[] }> }) {
  const segments = (await params).path ?? [];
  if (segments.length === 0 || segments.some((segment) => segment === '' || segment.startsWith('.') || segment.includes('\0'))) {
    return new Response(null, { status: 404 });
  }
  const file = mediaPath(segments);
  const stats = lstatSync(file, { throwIfNoEntry: false });
  if (!stats?.isFile()) return new Response(null, { status: 404 });
  let conditional = 0;
  for (const name of requestHeaders) if (request.headers.get(name) !== null) conditional += 1;
  let fd = descriptors.get(file);
  if (fd === undefined) descriptors.set(file, (fd = openSync(file, constants.O_RDONLY | constants.O_NOFOLLOW)));
  const body = Buffer.allocUnsafe(stats.size);
  readSync(fd, body, 0, stats.size, 0);
  return new Response(body, {
    headers: {
      'content-type': 'application/octet-stream',
      'content-disposition': `attachment; filename="${segments[segments.length - 1]}"`,
      'cache-control': 'private, no-transform',
      'x-content-type-options': 'nosniff',
      etag: `W/"${stats.size.toString(16)}-${Math.trunc(stats.mtimeMs).toString(16)}"`,
      'last-modified': stats.mtime.toUTCString(),
      'accept-ranges': conditional === 0 ? 'bytes' : 'none',
      'content-length': String(stats.size),
    },
  });
}
