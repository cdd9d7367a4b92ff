// Runs before the download routes (Next 16 proxy.ts, Node runtime; name it middleware.ts and export
// `middleware` on Next 15): a clear 400 for malformed paths, offload-looking request headers removed,
// and requests that cannot succeed turned away early: no session cookie and no valid signed link
// sends the browser to the sign-in form; an expired or forged link gets a short page. The routes
// still check everything themselves.
import { downloadProxy, signedLinks } from 'next-downloadview/proxy';

const pages: Record<number, string> = {
  400: 'That address is malformed.',
  403: 'This link is not valid.',
  410: 'This link has expired. Ask for a new one.',
};

export const proxy = downloadProxy({
  prefixes: ['/files', '/invoices', '/reports', '/blob', '/url'],
  signedLinks: signedLinks(),
  sessionCookie: 'session',
  respond: ({ status }, request) => {
    // Absolute, as Next's middleware protocol wants it; Next sends it on as a relative Location.
    if (status === 401) return new Response(null, { status: 303, headers: { location: new URL('/?signin=required', request.url).href, 'cache-control': 'no-store' } });
    const text = pages[status] ?? 'Access refused.';
    const html = `<!doctype html><meta charset="utf-8"><title>${text}</title><h1 id="refused">${text}</h1><p><a href="/">Back to the example</a></p>\n`;
    return new Response(html, { status, headers: { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store', 'x-content-type-options': 'nosniff' } });
  },
});

// A literal: Next reads it at build time.
export const config = { matcher: ['/files/:path*', '/invoices/:path*', '/reports/:path*', '/blob/:path*', '/url/:path*'] };
