// Files under MEDIA_ROOT (default ./media): your own folder (users/<you>/) and shared/ when signed
// in, or any file with a valid signed link ("share for 60 s"). Streamed by the app, or offloaded
// to the proxy named by DOWNLOADVIEW_BACKEND: the route never changes.
import { downloadHandler } from 'next-downloadview';
import { audit, media, ownFilesOnly } from '../../../lib/downloads';
import { links } from '../../../lib/links';

export const runtime = 'nodejs';

export const { GET, HEAD } = downloadHandler({
  source: media,
  // A valid signed link allows on its own; without one, the session decides.
  authorize: links.authorize({ otherwise: ownFilesOnly }),
  // PDFs open in the browser; everything else is saved.
  attachment: (file) => !file.name.endsWith('.pdf'),
  // Access can end (a link expires, a user signs out): the browser may keep a copy but must ask
  // again before reusing it, so an expired link is not answered from its cache.
  cacheControl: 'private, no-cache',
  onDownload: audit,
});
