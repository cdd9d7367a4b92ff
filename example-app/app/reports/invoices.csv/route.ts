// A CSV generated per request from the database (virtual source): never a file on disk, never
// offloaded, streamed by the app with its exact length.
import { downloadHandler, virtual } from 'next-downloadview';
import { invoicesOf } from '../../../lib/db';
import { audit } from '../../../lib/downloads';
import { currentUser } from '../../../lib/session';

export const runtime = 'nodejs';

export const { GET, HEAD } = downloadHandler({
  source: virtual(async (request) => {
    const user = await currentUser(request);
    const invoices = user ? await invoicesOf(user.id) : [];
    const rows = invoices.map((invoice) => `${invoice.number},${(invoice.amountCents / 100).toFixed(2)},${invoice.updatedAt}`);
    return { name: `invoices-${user?.id ?? 'nobody'}.csv`, body: ['number,amount_eur,updated_at', ...rows, ''].join('\n') };
  }),
  authorize: async (request) => ((await currentUser(request)) ? true : 'unauthenticated'),
  onDownload: audit,
});
