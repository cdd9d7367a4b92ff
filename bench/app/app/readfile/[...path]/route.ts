// The handler users write today: read the whole file into memory, then send it.
import { readFile } from 'node:fs/promises';
import { mediaPath } from '../../media';

export const runtime = 'nodejs';

export async function GET(request: Request, { params }: { params: Promise<{ path?: string[] }> }) {
  const { path } = await params;
  return new Response(await readFile(mediaPath(path)), { headers: { 'content-type': 'application/octet-stream' } });
}
