// POST a form with `user`: sets the session cookie and goes back to the page.
import { isSameSite, sessionCookieFor } from '../../../lib/session';
import { userById } from '../../../lib/users';

export const runtime = 'nodejs';

export async function POST(request: Request): Promise<Response> {
  if (!isSameSite(request)) return new Response('Cross-site form posts are refused\n', { status: 403 });
  const user = userById(String((await request.formData()).get('user') ?? ''));
  if (!user) return new Response(null, { status: 303, headers: { location: '/?signin=unknown' } });
  return new Response(null, { status: 303, headers: { location: '/', 'set-cookie': await sessionCookieFor(user), 'cache-control': 'no-store' } });
}
