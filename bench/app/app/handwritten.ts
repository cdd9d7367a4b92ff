// What a careful hand-written file route does per request, without the library: the references
// next-minimal-fs (streamed) and offload-<proxy> (offloaded) are built from these few lines, so
// both do the same lookup and send the same headers as the library.
import { lstatSync, type Stats } from 'node:fs';
import { mediaPath } from './media';

const conditionalHeaders = ['if-match', 'if-none-match', 'if-modified-since', 'if-unmodified-since', 'range', 'if-range'];

/** Refuse unsafe segments, then lstat the file below the media root: a regular file or nothing. */
export function lookUp(segments: string[]): { file: string; name: string; stats: Stats } | undefined {
  if (segments.length === 0 || segments.some((segment) => segment === '' || segment.startsWith('.') || segment.includes('\0'))) return undefined;
  const file = mediaPath(segments);
  const stats = lstatSync(file, { throwIfNoEntry: false });
  return stats?.isFile() ? { file, name: segments[segments.length - 1]!, stats } : undefined;
}

/**
 * The library's response headers for a file. The six conditional and Range request headers are
 * looked at, as any handler must, and not honoured: a floor for the work, not a usable handler.
 * (Offloaded, the proxy then does Range itself; `Accept-Ranges: none` would stop lighttpd doing it.)
 */
export function fileHeaders(request: Request, name: string, stats: Stats): Record<string, string> {
  for (const header of conditionalHeaders) request.headers.get(header);
  return {
    'content-type': 'application/octet-stream',
    'content-disposition': `attachment; filename="${name}"`,
    'cache-control': 'private, no-transform',
    'x-content-type-options': 'nosniff',
    // stats.mtime is mtimeMs rounded to a whole millisecond, as in the library's weak ETag.
    etag: `W/"${stats.size.toString(16)}-${stats.mtime.getTime().toString(16)}"`,
    'last-modified': stats.mtime.toUTCString(),
    'accept-ranges': 'bytes',
  };
}

export const notFound = (): Response => new Response(null, { status: 404 });
