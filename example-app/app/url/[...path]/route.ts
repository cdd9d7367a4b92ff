// Files behind an HTTP URL the app names (remote() source), for signed-in users under the same
// rules as the files on disk. Streamed by the app, or fetched by nginx under
// DOWNLOADVIEW_BACKEND=nginx; the upstream URL never reaches the browser either way.
import { downloadHandler } from 'next-downloadview';
import { audit, signedInMayRead } from '../../../lib/downloads';
import { upstream, urlKey } from '../../../lib/remote';

export const runtime = 'nodejs';

export const { GET, HEAD } = downloadHandler({
  source: upstream,
  authorize: signedInMayRead(urlKey),
  cacheControl: 'private, no-cache',
  onDownload: audit,
});
