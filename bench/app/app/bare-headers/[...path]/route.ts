// next-bare-param answering with the same response headers the library sends for the 1 KiB file:
// separates what Next costs per response header from what the library costs.
import { smallBody } from '../../media';

export const runtime = 'nodejs';

export async function GET(request: Request, { params }: { params: Promise<{ path?: string[] }> }) {
  await params;
  return new Response(smallBody(), {
    headers: {
      'content-type': 'application/octet-stream',
      'content-disposition': 'attachment; filename="1k.bin"',
      'cache-control': 'private, no-transform',
      'x-content-type-options': 'nosniff',
      etag: 'W/"400-19ab9c1e2f0"',
      'last-modified': 'Wed, 25 Nov 2026 19:22:21 GMT',
      'accept-ranges': 'bytes',
      'content-length': '1024',
    },
  });
}
