// POST a form with `key`: a link to that file anyone can use for 60 s, signed for the signed-in
// user's own files only. The page shows it.
import { links, SHARE_SECONDS } from '../../lib/links';
import { currentUser, isSameSite } from '../../lib/session';
import { mayRead } from '../../lib/users';

export const runtime = 'nodejs';

export async function POST(request: Request): Promise<Response> {
  if (!isSameSite(request)) return new Response('Cross-site form posts are refused\n', { status: 403 });
  const user = await currentUser(request);
  const key = String((await request.formData()).get('key') ?? '');
  if (!user || !mayRead(user, key)) return new Response(null, { status: 303, headers: { location: '/?share=refused' } });
  const link = await links.sign(['files', ...key.split('/')], { expiresIn: SHARE_SECONDS });
  return new Response(null, { status: 303, headers: { location: `/?shared=${encodeURIComponent(link)}`, 'cache-control': 'no-store' } });
}
