// POST: clears the session cookie.
import { isSameSite, signedOutCookie } from '../../../lib/session';

export const runtime = 'nodejs';

export function POST(request: Request): Response {
  if (!isSameSite(request)) return new Response('Cross-site form posts are refused\n', { status: 403 });
  return new Response(null, { status: 303, headers: { location: '/', 'set-cookie': signedOutCookie, 'cache-control': 'no-store' } });
}
