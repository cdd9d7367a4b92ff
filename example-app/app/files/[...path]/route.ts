// Every file under MEDIA_ROOT (default: ./media), streamed by the app or offloaded to the proxy
// named by DOWNLOADVIEW_BACKEND. The route never changes between development and production.
import path from 'node:path';
import { downloadHandler, filesystem } from 'next-downloadview';

export const runtime = 'nodejs';

export const { GET, HEAD } = downloadHandler({
  source: filesystem({ root: process.env.MEDIA_ROOT ?? path.join(process.cwd(), 'media') }),
  // Public sample files; a real app checks its session here, e.g.
  // authorize: async (request, target) => (await getSession(request))?.canRead(target.key) ?? 'unauthenticated',
  authorize: () => true,
});
