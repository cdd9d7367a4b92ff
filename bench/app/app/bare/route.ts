// Next's floor: a route handler returning 1 KiB from memory, no file system work at all.
import { smallBody } from '../media';

export const runtime = 'nodejs';
export const dynamic = 'force-dynamic';

export function GET() {
  return new Response(smallBody(), { headers: { 'content-type': 'application/octet-stream' } });
}
