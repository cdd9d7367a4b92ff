/**
 * Signed, expiring download links: HMAC-SHA256 over a canonical form of the link (path, query,
 * expiry, claims), stateless, so every instance holding the secret accepts every other's links.
 *
 * Web Crypto and web globals only (no `node:` import): the same module verifies in Next 15's edge
 * `middleware.ts`, Next 16's Node `proxy.ts` and the route handler.
 */
import { invalidOption, typeName } from './errors.js';
import type { Authorize, AuthorizeResult, Refusal } from './options.js';
import type { FileTarget, RequestContext } from './types.js';

/** Why a link was refused; only the application sees it (hook, `onRefused`), never the client. */
export type SignedLinkFailure =
  | 'missing' // no signature parameters at all
  | 'malformed' // parameters present but unreadable (bad number, bad base64url, duplicated, bad path encoding)
  | 'bad-signature' // no secret produces this signature: tampered path, query, expiry or claims, or a retired secret
  | 'expired' // a genuine link whose expiry (plus the allowed clock skew) has passed
  | 'mismatched'; // a genuine link bound to claims (a user id) that the request does not have

/** Values a link is bound to, e.g. `{ user: '42' }`. Signed, not encrypted: they travel in the URL. */
export type LinkClaims = Readonly<Record<string, string>>;

export type VerifyResult =
  | { ok: true; expires: Date; claims: LinkClaims }
  | { ok: false; reason: SignedLinkFailure; expires?: Date; claims?: LinkClaims };

/** A secret as text (its UTF-8 bytes are the key) or raw bytes; at least 32 bytes either way. */
export type LinkSecret = string | Uint8Array;

export interface SignedLinkParams {
  /** @default 'expires' */
  expires?: string;
  /** @default 'claims' */
  claims?: string;
  /** @default 'signature' */
  signature?: string;
}

export interface SignedLinksOptions {
  /**
   * The secrets, at least 32 bytes each: the first signs, every one verifies, so a new secret is
   * rolled in by putting it first and the old one is retired later by removing it. Checked when
   * `signedLinks()` is called, except while `next build` evaluates the module (the runtime's
   * environment is not there yet): then on first use.
   * @default secretsFromEnv(): DOWNLOADVIEW_SECRET, then the comma-separated DOWNLOADVIEW_SECRET_FALLBACKS
   * @example { secret: [process.env.LINK_SECRET_2026!, process.env.LINK_SECRET_2025!] }
   */
  secret?: LinkSecret | readonly LinkSecret[];
  /** Seconds a link lasts when `sign()` is not told otherwise. @default 900 */
  expiresIn?: number;
  /**
   * Seconds by which a verifying machine's clock may run ahead of the signing one's: a link is
   * accepted until `expires + clockSkew`. At most 300. @default 30
   */
  clockSkew?: number;
  /** What an expired (but genuine) link gets: `410 Gone` or `403 Forbidden`. @default 410 */
  expiredStatus?: 403 | 410;
  /** Query parameter names. @default { expires: 'expires', claims: 'claims', signature: 'signature' } */
  params?: SignedLinkParams;
  /** The clock, in milliseconds since the epoch (tests). @default Date.now */
  now?: () => number;
}

export interface SignOptions {
  /** Seconds from now. @default the factory's `expiresIn` */
  expiresIn?: number;
  /** An absolute expiry instead of `expiresIn` (a past one makes an expired link, for tests). */
  expires?: Date;
  /** Values the link is bound to; `verify()` and `authorize()` can require them. */
  claims?: LinkClaims;
}

export interface VerifyOptions {
  /** Claims the link must carry with exactly these values (e.g. the signed-in user's id). */
  claims?: LinkClaims;
  /**
   * The path the link was signed for, when the request arrives under another one (a proxy
   * rewrite from a public URL onto the route). @default the request URL's own path
   */
  path?: string;
}

export interface SignedLinkAuthorizeOptions<TRecord = unknown> {
  /** Claims the link must carry, computed per request (e.g. `{ user: session.id }`). */
  claims?: (request: Request, target: FileTarget<TRecord>) => LinkClaims | undefined | Promise<LinkClaims | undefined>;
  /** The path the link was signed for, when a proxy rewrote the request onto this route. */
  path?: (request: Request) => string;
  /**
   * Decides requests that carry no signature at all (e.g. a session check). Without it they are
   * refused with 403. A request with a failing signature is never let through on a bad link
   * alone: when `otherwise` does not allow it either, the link's refusal (403, or 410 expired) is sent.
   */
  otherwise?: Authorize<TRecord>;
}

export interface SignedLinks {
  /**
   * A signed URL path for `path`: either a URL path as written in an href (`/files/Bericht für März.txt`;
   * `%XX` is decoded, so a literal `%`, `?` or `#` in a name is written `%25`, `%3F`, `%23`, and
   * an optional `?query` is covered by the signature) or the literal segments
   * (`['files', 'ré sumé ?#%.txt']`, encoded for you).
   * @example await links.sign('/files/Bericht für März.txt', { expiresIn: 60, claims: { user: '42' } })
   * // → '/files/Bericht%20f%C3%BCr%20M%C3%A4rz.txt?expires=1767225660&claims=eyJ1c2VyIjoiNDIifQ&signature=…'
   */
  sign(path: string | readonly string[], options?: SignOptions): Promise<string>;
  /** Check the link a request (or URL) carries. Never throws for bad input: the reason says why. */
  verify(request: Request | URL | string, options?: VerifyOptions): Promise<VerifyResult>;
  /** An `authorize` for `downloadHandler`: a valid link allows, a refused one says why in its `reason`. */
  authorize<TRecord = unknown>(options?: SignedLinkAuthorizeOptions<TRecord>): Authorize<TRecord>;
  /** The refusal a failure maps to (403, or 410 for `expired` unless `expiredStatus: 403`). */
  refusalFor(failure: SignedLinkFailure): Refusal;
}

const MIN_SECRET_BYTES = 32;
const MAX_CLOCK_SKEW = 300;
const SIGNATURE_LENGTH = 43; // base64url of 32 bytes, unpadded
// Version tag first: a later canonical form can never verify under this one's secret.
const CONTEXT = 'next-downloadview signed link v1';
const ORIGIN = 'http://signed-link.invalid';
const encoder = new TextEncoder();

/**
 * The secrets from the environment: `DOWNLOADVIEW_SECRET` signs, `DOWNLOADVIEW_SECRET_FALLBACKS`
 * (comma-separated, like Django's SECRET_KEY_FALLBACKS) still verify. Values are trimmed.
 */
export function secretsFromEnv(env: Readonly<Record<string, string | undefined>> = processEnv()): string[] {
  const secret = env.DOWNLOADVIEW_SECRET?.trim();
  if (!secret) invalidOption('secret', 'is required: pass secret, or set DOWNLOADVIEW_SECRET (at least 32 bytes, e.g. `openssl rand -base64 32`)');
  const fallbacks = (env.DOWNLOADVIEW_SECRET_FALLBACKS ?? '').split(',').map((part) => part.trim()).filter((part) => part !== '');
  return [secret, ...fallbacks];
}

/** Whether this module is being evaluated by `next build` (which sets NEXT_PHASE), not serving. */
function isNextBuild(): boolean {
  return processEnv().NEXT_PHASE === 'phase-production-build';
}

function processEnv(): Record<string, string | undefined> {
  // The edge runtime has a `process.env` too; a bare web runtime may have no `process` at all.
  return typeof process === 'undefined' ? {} : process.env;
}

/**
 * @example
 * // lib/links.ts: one instance, shared by the page that signs and the route that verifies
 * export const links = signedLinks(); // DOWNLOADVIEW_SECRET
 * // app/files/[...path]/route.ts
 * export const { GET, HEAD } = downloadHandler({ source, authorize: links.authorize({ otherwise: sessionCheck }) });
 */
export function signedLinks(options: SignedLinksOptions = {}): SignedLinks {
  if (typeof options !== 'object' || options === null) invalidOption('signedLinks options', 'must be an object');
  const readSecrets = (): Uint8Array<ArrayBuffer>[] => secretBytes(options.secret === undefined ? secretsFromEnv() : options.secret);
  // `next build` evaluates route modules without the runtime's environment (no secret there, as a
  // rule): then the secret is read and checked on first use instead (a 500 naming it if wrong).
  const secrets = isNextBuild() ? undefined : readSecrets();
  const defaultExpiresIn = options.expiresIn ?? 900;
  if (!isPositiveSeconds(defaultExpiresIn)) invalidOption('expiresIn', 'must be a positive whole number of seconds');
  const clockSkew = options.clockSkew ?? 30;
  if (!Number.isSafeInteger(clockSkew) || clockSkew < 0 || clockSkew > MAX_CLOCK_SKEW) invalidOption('clockSkew', `must be whole seconds from 0 to ${MAX_CLOCK_SKEW}`);
  const expiredStatus = options.expiredStatus ?? 410;
  if (expiredStatus !== 403 && expiredStatus !== 410) invalidOption('expiredStatus', 'must be 403 or 410');
  const names = paramNames(options.params);
  const now = options.now ?? Date.now;
  if (typeof now !== 'function') invalidOption('now', 'must be a function returning milliseconds');
  if (typeof crypto === 'undefined' || typeof crypto.subtle?.importKey !== 'function') invalidOption('signedLinks', 'needs Web Crypto (crypto.subtle), present in Node >= 20 and the edge runtime');

  // importKey is asynchronous: done once, on first use. The raw bytes stay in this closure only.
  let keys: Promise<CryptoKey[]> | undefined;
  const importedKeys = (): Promise<CryptoKey[]> =>
    (keys ??= Promise.all((secrets ?? readSecrets()).map((secret) => crypto.subtle.importKey('raw', secret, { name: 'HMAC', hash: 'SHA-256' }, false, ['sign', 'verify']))));

  async function sign(path: string | readonly string[], signOptions: SignOptions = {}): Promise<string> {
    const url = urlToSign(path);
    const expires = expirySeconds(signOptions, defaultExpiresIn, now);
    const claims = signOptions.claims === undefined ? {} : checkedClaims(signOptions.claims);
    for (const name of Object.values(names)) {
      if (url.searchParams.has(name)) throw new TypeError(`sign(): the path already has a "${name}" parameter, which the signed link uses`);
    }
    const pathname = canonicalPath(url.pathname);
    if (pathname === undefined) throw new TypeError('sign(): the path has malformed percent-encoding; write a literal % as %25');
    const claimsText = encodeClaims(claims);
    const message = canonicalMessage(pathname, canonicalQuery(url.searchParams, names), expires, claimsText);
    const [signingKey] = await importedKeys();
    const signature = base64url(new Uint8Array(await crypto.subtle.sign('HMAC', signingKey!, encoder.encode(message))));
    url.searchParams.append(names.expires, String(expires));
    if (claimsText !== '') url.searchParams.append(names.claims, claimsText);
    url.searchParams.append(names.signature, signature);
    return `${pathname}${url.search}`;
  }

  async function verify(input: Request | URL | string, verifyOptions: VerifyOptions = {}): Promise<VerifyResult> {
    let url: URL;
    try {
      url = new URL(typeof input === 'string' ? input : input instanceof URL ? input.href : input.url, ORIGIN);
    } catch {
      return { ok: false, reason: 'malformed' };
    }
    const query = url.searchParams;
    const [expiresText, claimsText, signature] = [names.expires, names.claims, names.signature].map((name) => query.getAll(name));
    if (expiresText!.length === 0 && signature!.length === 0) return { ok: false, reason: 'missing' };
    // One of each: a second `expires` appended by someone must not be able to shadow the signed one.
    if (expiresText!.length !== 1 || signature!.length !== 1 || claimsText!.length > 1) return { ok: false, reason: 'malformed' };
    const expires = parseExpiry(expiresText![0]!);
    const claims = decodeClaims(claimsText![0] ?? '');
    const pathname = canonicalPath(verifyOptions.path ?? url.pathname);
    const signatureBytes = signature![0]!.length === SIGNATURE_LENGTH ? fromBase64url(signature![0]!) : undefined;
    if (expires === undefined || claims === undefined || pathname === undefined || signatureBytes === undefined) return { ok: false, reason: 'malformed' };

    const message = encoder.encode(canonicalMessage(pathname, canonicalQuery(query, names), expires, claimsText![0] ?? ''));
    // subtle.verify compares in constant time (Node: CRYPTO_memcmp); trying each secret in turn
    // reveals at most which position verified, never anything about the secret's bytes.
    let genuine = false;
    for (const key of await importedKeys()) {
      if (await crypto.subtle.verify('HMAC', key, signatureBytes, message)) {
        genuine = true;
        break;
      }
    }
    const expiry = new Date(expires * 1000);
    // Expiry is judged only for a genuine link: a forged one is `bad-signature` whatever it claims.
    if (!genuine) return { ok: false, reason: 'bad-signature' };
    if (now() > (expires + clockSkew) * 1000) return { ok: false, reason: 'expired', expires: expiry, claims };
    for (const [name, value] of Object.entries(verifyOptions.claims ?? {})) {
      if (claims[name] !== value) return { ok: false, reason: 'mismatched', expires: expiry, claims };
    }
    return { ok: true, expires: expiry, claims };
  }

  function refusalFor(failure: SignedLinkFailure): Refusal {
    return { refuse: failure === 'expired' && expiredStatus === 410 ? 'gone' : 'forbidden', reason: `signed-link:${failure}` };
  }

  function authorize<TRecord>(authorizeOptions: SignedLinkAuthorizeOptions<TRecord> = {}): Authorize<TRecord> {
    const { claims, path, otherwise } = authorizeOptions;
    for (const [name, value] of Object.entries({ claims, path, otherwise })) {
      if (value !== undefined && typeof value !== 'function') invalidOption(`authorize.${name}`, 'must be a function');
    }
    return async function signedLinkAuthorize(request: Request, target: FileTarget<TRecord>, context: RequestContext): Promise<AuthorizeResult | undefined> {
      const expected = claims ? await claims(request, target) : undefined;
      const result = await verify(request, { claims: expected, path: path?.(request) });
      if (result.ok) return true;
      if (otherwise) {
        const verdict = await otherwise(request, target, context);
        // No link: the other check decides alone. A failed link: the other check may still allow
        // (a signed-in owner following an old link), but its refusal is not the one told.
        if (result.reason === 'missing' || verdict === true) return verdict;
      }
      return refusalFor(result.reason);
    };
  }

  return { sign, verify, authorize, refusalFor };
}

/** Validate secrets at factory time; messages name the option and sizes, never a secret's bytes. */
function secretBytes(secret: LinkSecret | readonly LinkSecret[]): Uint8Array<ArrayBuffer>[] {
  const list: readonly unknown[] = Array.isArray(secret) ? secret : [secret];
  if (list.length === 0) invalidOption('secret', 'names no secret');
  return list.map((each, index) => {
    const which = list.length > 1 ? ` (secret #${index + 1})` : '';
    if (typeof each !== 'string' && !(each instanceof Uint8Array)) invalidOption('secret', `must be a string or Uint8Array${which}, got ${typeName(each)}`);
    // A copy: the caller's array may be reused or zeroed later, and may sit on a SharedArrayBuffer.
    const bytes: Uint8Array<ArrayBuffer> = typeof each === 'string' ? encoder.encode(each) : Uint8Array.from(each);
    if (bytes.byteLength < MIN_SECRET_BYTES) invalidOption('secret', `must be at least ${MIN_SECRET_BYTES} bytes${which}, got ${bytes.byteLength} (e.g. \`openssl rand -base64 32\`)`);
    // A placeholder such as 'x'.repeat(32) has the length and none of the entropy.
    if (new Set(bytes).size < 8) invalidOption('secret', `looks like a placeholder${which}: use random bytes (e.g. \`openssl rand -base64 32\`)`);
    return bytes;
  });
}

function paramNames(params: SignedLinkParams | undefined): Required<SignedLinkParams> {
  const names = { expires: 'expires', claims: 'claims', signature: 'signature', ...params };
  for (const [role, name] of Object.entries(names)) {
    if (typeof name !== 'string' || !/^[A-Za-z0-9_.~-]{1,64}$/.test(name)) invalidOption(`params.${role}`, 'must be a query parameter name of letters, digits, "_", ".", "~" or "-"');
  }
  if (new Set(Object.values(names)).size !== 3) invalidOption('params', 'must name three different parameters');
  return names;
}

const isPositiveSeconds = (value: unknown): value is number => Number.isSafeInteger(value) && (value as number) > 0;

function expirySeconds(options: SignOptions, defaultExpiresIn: number, now: () => number): number {
  if (options.expires !== undefined) {
    if (options.expiresIn !== undefined) throw new TypeError('sign(): give expires or expiresIn, not both');
    const time = options.expires instanceof Date ? options.expires.getTime() : Number.NaN;
    if (!Number.isFinite(time) || time < 0) throw new TypeError('sign(): expires must be a valid Date');
    return Math.floor(time / 1000);
  }
  const expiresIn = options.expiresIn ?? defaultExpiresIn;
  if (!isPositiveSeconds(expiresIn)) throw new TypeError('sign(): expiresIn must be a positive whole number of seconds');
  return Math.floor(now() / 1000) + expiresIn;
}

/** The URL being signed: a path string as in an href, or literal segments. */
function urlToSign(path: string | readonly string[]): URL {
  if (Array.isArray(path)) {
    if (!path.every((segment) => typeof segment === 'string')) throw new TypeError('sign(): segments must be strings');
    return new URL(`/${path.map(encodeSegment).join('/')}`, ORIGIN);
  }
  if (typeof path !== 'string' || !path.startsWith('/') || path.startsWith('//')) throw new TypeError('sign(): path must be a string starting with a single "/", or an array of segments');
  const url = new URL(path, ORIGIN);
  if (url.hash !== '') throw new TypeError('sign(): the path has a "#" fragment; write a literal # in a name as %23');
  return url;
}

/**
 * The canonical path: each segment decoded once and re-encoded with every byte but the RFC 3986
 * unreserved ones as uppercase `%XX`. So `/files/Bericht für März.txt`, the browser's
 * `/files/Bericht%20f%C3%BCr%20M%C3%A4rz.txt` and a lower-case `%c3%bc` are one path, while `%2F`
 * (a slash inside a name) stays apart from `/`. No Unicode normalisation: NFC and NFD names are
 * different files on disk, and a link signed for one must not open the other. One trailing slash
 * is dropped: Next routes `/a/` and `/a` to the same handler. Dot-segments were resolved by URL
 * parsing, as Next does before routing. `undefined` for malformed percent-encoding.
 */
export function canonicalPath(pathname: string): string | undefined {
  const segments = pathname.split('/');
  if (segments.length > 2 && segments.at(-1) === '') segments.pop();
  const canonical: string[] = [];
  for (const segment of segments) {
    try {
      canonical.push(encodeSegment(decodeURIComponent(segment)));
    } catch {
      return undefined;
    }
  }
  return canonical.join('/');
}

/** Every byte but A–Z a–z 0–9 - . _ ~ as uppercase %XX (encodeURIComponent leaves !'()* alone). */
function encodeSegment(segment: string): string {
  if (!segment.isWellFormed()) throw new TypeError('sign(): a segment holds a lone surrogate, which has no UTF-8 form');
  return encodeURIComponent(segment).replace(/[!'()*]/g, (char) => `%${char.charCodeAt(0).toString(16).toUpperCase()}`);
}

/** Every query parameter but the link's own, decoded, sorted, re-encoded: the signature covers them. */
function canonicalQuery(query: URLSearchParams, names: Required<SignedLinkParams>): string {
  const own = new Set(Object.values(names));
  const pairs: [string, string][] = [];
  for (const [name, value] of query) if (!own.has(name)) pairs.push([name, value]);
  pairs.sort(([a, x], [b, y]) => (a < b ? -1 : a > b ? 1 : x < y ? -1 : x > y ? 1 : 0));
  return pairs.map(([name, value]) => `${encodeQueryPart(name)}=${encodeQueryPart(value)}`).join('&');
}

function encodeQueryPart(text: string): string {
  // A lone surrogate cannot be signed or compared: U+FFFD stands for it on both sides, as in URLSearchParams.
  return encodeSegment(text.toWellFormed());
}

/** Lines joined by LF: every part is ASCII without LF (percent-encoded, digits, base64url). */
function canonicalMessage(path: string, query: string, expires: number, claims: string): string {
  return [CONTEXT, path, query, String(expires), claims].join('\n');
}

function parseExpiry(text: string): number | undefined {
  return /^\d{1,12}$/.test(text) ? Number(text) : undefined;
}

const CLAIM_NAME = /^[A-Za-z0-9_.-]{1,64}$/;

function checkedClaims(claims: LinkClaims): LinkClaims {
  if (typeof claims !== 'object' || claims === null || Array.isArray(claims)) throw new TypeError('sign(): claims must be an object of strings');
  for (const [name, value] of Object.entries(claims)) {
    if (!CLAIM_NAME.test(name)) throw new TypeError(`sign(): claim name "${name}" must be 1-64 letters, digits, "_", "." or "-"`);
    if (typeof value !== 'string' || value.length > 1024 || !value.isWellFormed()) throw new TypeError(`sign(): claim "${name}" must be a string of at most 1024 characters`);
  }
  return claims;
}

/** Claims as base64url of JSON with sorted keys (one text per set of claims); `''` for none. */
function encodeClaims(claims: LinkClaims): string {
  const names = Object.keys(claims).sort();
  if (names.length === 0) return '';
  return base64url(encoder.encode(JSON.stringify(Object.fromEntries(names.map((name) => [name, claims[name]]))))); 
}

function decodeClaims(text: string): LinkClaims | undefined {
  if (text === '') return {};
  const bytes = fromBase64url(text);
  if (bytes === undefined) return undefined;
  try {
    const value: unknown = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes));
    if (typeof value !== 'object' || value === null || Array.isArray(value)) return undefined;
    const entries = Object.entries(value);
    if (!entries.every(([name, claim]) => CLAIM_NAME.test(name) && typeof claim === 'string')) return undefined;
    return Object.freeze(Object.fromEntries(entries)) as LinkClaims;
  } catch {
    return undefined;
  }
}

function base64url(bytes: Uint8Array): string {
  let binary = '';
  for (const byte of bytes) binary += String.fromCharCode(byte);
  return btoa(binary).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
}

/** Strict: only the unpadded base64url alphabet, and a length that encodes whole bytes. */
function fromBase64url(text: string): Uint8Array<ArrayBuffer> | undefined {
  if (!/^[A-Za-z0-9_-]*$/.test(text) || text.length % 4 === 1) return undefined;
  const binary = atob(text.replace(/-/g, '+').replace(/_/g, '/'));
  const bytes = Uint8Array.from(binary, (char) => char.charCodeAt(0));
  // Unused low bits must be zero, so one signature has exactly one spelling.
  return base64url(bytes) === text ? bytes : undefined;
}
