// Next's floor on the library's route shape: a catch-all segment whose params are awaited, then
// 1 KiB from memory. Separates what `[...path]` routing costs from what the library costs.
import { smallBody } from '../../media';

export const runtime = 'nodejs';

export async function GET(request: Request, { params }: { params: Promise<{ path?: string[] }> }) {
  await params;
  return new Response(smallBody(), { headers: { 'content-type': 'application/octet-stream' } });
}
