// Files in a Vercel Blob store (blob() source), for signed-in users under the same rules as the
// files on disk. Streamed by the app; with DOWNLOADVIEW_BACKEND=redirect a redirect to a
// short-lived presigned URL (the Vercel way: the function moves no bytes); with nginx, fetched by
// nginx itself. Apache, lighttpd and Caddy cannot fetch a URL: the app streams.
import { downloadHandler } from 'next-downloadview';
import { audit, ownFilesOnly } from '../../../lib/downloads';
import { store } from '../../../lib/remote';

export const runtime = 'nodejs';

export const { GET, HEAD } = downloadHandler({
  source: store,
  authorize: ownFilesOnly,
  cacheControl: 'private, no-cache',
  onDownload: audit,
});
