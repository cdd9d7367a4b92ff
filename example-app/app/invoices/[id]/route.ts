// An invoice looked up by id in the SQLite database (record source): the PDF it names, shown in
// the browser under a name built from the row. Someone else's invoice looks exactly like a
// missing one (404), so ids cannot be probed.
import { downloadHandler, record } from 'next-downloadview';
import { findInvoice } from '../../../lib/db';
import { audit, media } from '../../../lib/downloads';
import { links } from '../../../lib/links';
import { currentUser } from '../../../lib/session';

export const runtime = 'nodejs';

export const { GET, HEAD } = downloadHandler({
  source: record({
    find: (request, { params }) => findInvoice(String(params.id)),
    file: (invoice) => ({
      file: media.file(invoice.file),
      filename: `Rechnung ${invoice.number}.pdf`,
      contentType: 'application/pdf',
      mtime: new Date(invoice.updatedAt),
    }),
  }),
  attachment: false,
  cacheControl: 'private, no-cache',
  authorize: links.authorize({
    otherwise: async (request, target) => {
      const user = await currentUser(request);
      if (!user) return 'unauthenticated';
      return target.record?.owner === user.id || 'not-found';
    },
  }),
  onDownload: audit,
});
