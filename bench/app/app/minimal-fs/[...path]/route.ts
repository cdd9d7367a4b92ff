// The least a handler that serves a file by key must do per request, without the library: refuse
// unsafe segments, lstat the path, read the bytes (through a descriptor kept open, as the library's
// open-file cache does), look at the six conditional and Range headers, and send the validators and
// the library's other headers. It honours none of those request headers and checks no symlinks: a
// floor for the library's own overhead, not a handler to use.
import { constants, openSync, readSync } from 'node:fs';
import { fileHeaders, lookUp, notFound } from '../../handwritten';

export const runtime = 'nodejs';

const descriptors = new Map<string, number>();

export async function GET(request: Request, { params }: { params: Promise<{ path?: string[] }> }) {
  const found = lookUp((await params).path ?? []);
  if (!found) return notFound();
  let fd = descriptors.get(found.file);
  if (fd === undefined) descriptors.set(found.file, (fd = openSync(found.file, constants.O_RDONLY | constants.O_NOFOLLOW)));
  const body = Buffer.allocUnsafe(found.stats.size);
  readSync(fd, body, 0, found.stats.size, 0);
  return new Response(body, { headers: { ...fileHeaders(request, found.name, found.stats), 'content-length': String(found.stats.size) } });
}
