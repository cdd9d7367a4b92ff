// A cookie session: `session=<user>.<expiry>.<HMAC>`, HttpOnly, SameSite=Lax. Signed with the same
// DOWNLOADVIEW_SECRET as the download links, under its own prefix, so one secret runs the demo.
// Web Crypto only: proxy.ts reads the cookie's presence, the routes verify it.
import { userById, type User } from './users';

export const SESSION_COOKIE = 'session';
const MAX_AGE = 8 * 3600;
const encoder = new TextEncoder();
let key: Promise<CryptoKey> | undefined;

function sessionKey(): Promise<CryptoKey> {
  const secret = process.env.DOWNLOADVIEW_SECRET;
  if (!secret) throw new Error('DOWNLOADVIEW_SECRET is not set (npm run example sets it)');
  return (key ??= crypto.subtle.importKey('raw', encoder.encode(`session:${secret}`), { name: 'HMAC', hash: 'SHA-256' }, false, ['sign', 'verify']));
}

const toHex = (bytes: ArrayBuffer): string => Buffer.from(bytes).toString('hex');

/** The Set-Cookie value that signs `user` in. */
export async function sessionCookieFor(user: User): Promise<string> {
  const expires = Math.floor(Date.now() / 1000) + MAX_AGE;
  const payload = `${user.id}.${expires}`;
  const signature = toHex(await crypto.subtle.sign('HMAC', await sessionKey(), encoder.encode(payload)));
  return `${SESSION_COOKIE}=${payload}.${signature}; Path=/; HttpOnly; SameSite=Lax; Max-Age=${MAX_AGE}`;
}

export const signedOutCookie = `${SESSION_COOKIE}=; Path=/; HttpOnly; SameSite=Lax; Max-Age=0`;

/** The signed-in user of a request, or undefined (no cookie, expired, or tampered with). */
export async function currentUser(request: Request): Promise<User | undefined> {
  return userFromCookieHeader(request.headers.get('cookie'));
}

export async function userFromCookieHeader(header: string | null): Promise<User | undefined> {
  const value = header?.split(';').map((part) => part.trim()).find((part) => part.startsWith(`${SESSION_COOKIE}=`))?.slice(SESSION_COOKIE.length + 1);
  const match = value ? /^([a-z]+)\.(\d+)\.([0-9a-f]{64})$/.exec(value) : null;
  if (!match) return undefined;
  const [, id, expires, signature] = match;
  if (Number(expires) * 1000 < Date.now()) return undefined;
  const genuine = await crypto.subtle.verify('HMAC', await sessionKey(), Buffer.from(signature!, 'hex'), encoder.encode(`${id}.${expires}`));
  return genuine ? userById(id) : undefined;
}

/** Refuse cross-site form posts (SameSite=Lax already keeps the cookie off them; this says so). */
export function isSameSite(request: Request): boolean {
  const site = request.headers.get('sec-fetch-site');
  return site === null || site === 'same-origin' || site === 'none';
}
