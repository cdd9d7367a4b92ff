/**
 * `downloadProxy(options)`: what a Next 16 `proxy.ts` (Node) or Next 15 `middleware.ts` (edge)
 * does in front of download routes: the path guard, an optional early check (a valid signed link
 * or a session cookie), an optional rewrite of public URLs onto the route, and removal of
 * offload-looking request headers. Web globals only, so it runs in both runtimes.
 *
 * It speaks Next's middleware protocol with plain `Response` headers (`x-middleware-next`,
 * `x-middleware-rewrite`, `x-middleware-override-headers`, `x-middleware-request-*`: what
 * `NextResponse.next()`/`rewrite()` set, next/dist/server/web/spec-extension/response.js, and what
 * Vercel's edge network reads), so the library needs no runtime import of `next`. It never adds a
 * response header to a request it lets through: a proxy's response headers would override the
 * route handler's (Content-Type, Content-Disposition, Cache-Control).
 */
import { invalidOption } from './errors.js';
import { errorResponse } from './http/responses.js';
import { unsafePathReason } from './path-guard.js';
import type { SignedLinkFailure, SignedLinks } from './signed-links.js';

/** A prefix rewrite from public URLs onto the route: `{ from: '/d/', to: '/files/' }`. */
export interface PrefixRewrite {
  from: string;
  to: string;
}

/** Why the proxy answered instead of the route. */
export type ProxyRefusalReason = 'path:unsafe' | 'session:missing' | `signed-link:${SignedLinkFailure}`;

export interface ProxyRefusal {
  status: 400 | 401 | 403 | 410;
  reason: ProxyRefusalReason;
}

export interface DownloadProxyOptions {
  /**
   * Paths this proxy acts on (matched on segment boundaries: `/files` covers `/files/a`, not
   * `/files2`); others pass untouched. Write the same paths in `config.matcher`, which must be a
   * literal in proxy.ts, so Next does not run the proxy for every page.
   * @default ['/'] (everything the matcher sends)
   */
  prefixes?: readonly string[];
  /** Refuse malformed percent-encoding, encoded `/` or `\` and NUL with 400 (Next would 500). @default true */
  guard?: boolean;
  /**
   * Early check: let a request through only when it carries a valid signed link from these
   * `signedLinks()` (verified on the public URL, before any rewrite), or has `sessionCookie`.
   * Neither set: no early check. A bad link gets 403 (410 expired); no link and no cookie 401.
   */
  signedLinks?: SignedLinks;
  /**
   * Name of the session cookie whose presence lets a request through to the route (which still
   * checks the session itself: the proxy only turns away requests that cannot succeed).
   * @example 'session'
   */
  sessionCookie?: string;
  /** WWW-Authenticate challenge with a 401 (RFC 9110 §15.5.2 requires one). @default 'Bearer' */
  wwwAuthenticate?: string;
  /**
   * Map public URLs onto the handler route. A prefix pair keeps the rest of the path and the
   * query; a function returns the new same-origin path or URL, or `undefined` for no rewrite.
   * @example { from: '/d/', to: '/files/' }
   */
  rewrite?: PrefixRewrite | ((url: URL) => string | URL | undefined);
  /**
   * Request headers removed before the route sees them: names starting with one of these
   * (lower-case). Offload headers belong to responses; a client sending them is probing.
   * @default ['x-accel-', 'x-sendfile', 'x-lighttpd-', 'x-downloadview-']
   */
  stripHeaders?: readonly string[];
  /** Your own answer for a refusal (e.g. a redirect to the login page). @default a short text/plain response */
  respond?: (refusal: ProxyRefusal, request: Request) => Response | Promise<Response>;
  /** Told why a request was refused (the client only sees the status). @default none */
  onRefused?: (refusal: ProxyRefusal, request: Request) => void;
}

export const DEFAULT_STRIPPED_HEADERS: readonly string[] = ['x-accel-', 'x-sendfile', 'x-lighttpd-', 'x-downloadview-'];

export type DownloadProxy = (request: Request) => Promise<Response | undefined>;

/**
 * @example
 * // proxy.ts (Next 16; for Next 15 name it middleware.ts and export `middleware`)
 * import { downloadProxy, signedLinks } from 'next-downloadview/proxy';
 * export const proxy = downloadProxy({ prefixes: ['/files'], signedLinks: signedLinks(), sessionCookie: 'session' });
 * export const config = { matcher: ['/files/:path*'] };
 */
export function downloadProxy(options: DownloadProxyOptions = {}): DownloadProxy {
  if (typeof options !== 'object' || options === null) invalidOption('downloadProxy options', 'must be an object');
  const prefixes = (options.prefixes ?? ['/']).map((prefix) => checkedPrefix(prefix, 'prefixes'));
  const guard = options.guard ?? true;
  const { signedLinks, sessionCookie, respond, onRefused } = options;
  if (signedLinks !== undefined && typeof signedLinks?.verify !== 'function') invalidOption('signedLinks', 'must be the result of signedLinks()');
  if (sessionCookie !== undefined && !(typeof sessionCookie === 'string' && /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/.test(sessionCookie))) invalidOption('sessionCookie', 'must be a cookie name');
  const wwwAuthenticate = options.wwwAuthenticate ?? 'Bearer';
  if (typeof wwwAuthenticate !== 'string' || /[\0-\x1f\x7f]/.test(wwwAuthenticate) || wwwAuthenticate.trim() === '') invalidOption('wwwAuthenticate', 'must be a header value');
  const stripped = (options.stripHeaders ?? DEFAULT_STRIPPED_HEADERS).map((name) => {
    if (typeof name !== 'string' || !/^[a-z0-9!#$%&'*+.^_`|~-]+$/.test(name)) invalidOption('stripHeaders', 'must be lower-case header name prefixes');
    return name;
  });
  for (const [name, value] of Object.entries({ respond, onRefused })) {
    if (value !== undefined && typeof value !== 'function') invalidOption(name, 'must be a function');
  }
  const rewrite = rewriterFor(options.rewrite);
  const checked = signedLinks !== undefined || sessionCookie !== undefined;
  // Marks the request a rewrite forwards: under `next start -H 127.0.0.1` Next sends a rewrite over
  // the network to itself (vercel/next.js#94745), and the proxy then sees the rewritten URL again.
  // Random per instance, so a client cannot send it; removed before the route sees the request.
  const rewriteMark = crypto.randomUUID();

  async function refuse(refusal: ProxyRefusal, request: Request): Promise<Response> {
    try {
      onRefused?.(refusal, request);
    } catch {
      // A logging callback must not turn a refusal into a 500.
    }
    if (respond) return respond(refusal, request);
    return errorResponse(refusal.status, refusal.status === 401 ? { 'www-authenticate': wwwAuthenticate } : undefined);
  }

  return async function downloadProxyHandler(request: Request): Promise<Response | undefined> {
    if (request.headers.get(REWRITE_MARK_HEADER) === rewriteMark) return forward(undefined, withoutHeaders(request.headers, [REWRITE_MARK_HEADER, ...stripped]));
    const url = new URL(request.url);
    if (!prefixes.some((prefix) => isUnder(url.pathname, prefix))) return undefined;
    if (guard && unsafePathReason(url.pathname) !== undefined) return refuse({ status: 400, reason: 'path:unsafe' }, request);

    if (checked) {
      const link = signedLinks ? await signedLinks.verify(url) : undefined;
      const hasSession = sessionCookie !== undefined && hasCookie(request.headers.get('cookie'), sessionCookie);
      if (!(link?.ok || hasSession)) {
        if (link && !link.ok && link.reason !== 'missing') {
          const failure = link.reason;
          const status = signedLinks!.refusalFor(failure).refuse === 'gone' ? 410 : 403;
          return refuse({ status, reason: `signed-link:${failure}` }, request);
        }
        return refuse(sessionCookie !== undefined ? { status: 401, reason: 'session:missing' } : { status: 403, reason: 'signed-link:missing' }, request);
      }
    }

    const destination = rewrite(url);
    let kept = withoutHeaders(request.headers, stripped);
    if (destination !== undefined) {
      kept ??= new Headers(request.headers);
      kept.set(REWRITE_MARK_HEADER, rewriteMark);
    }
    return forward(destination, kept);
  };
}

/**
 * Continue to the route (rewritten to `destination`, if given) with exactly the request headers
 * `headers` (Next's override protocol: listing all but the stripped ones removes those), or
 * `undefined` (continue untouched) when there is nothing to change.
 */
function forward(destination: URL | undefined, headers: Headers | undefined): Response | undefined {
  if (destination === undefined && headers === undefined) return undefined;
  const control = new Headers();
  if (destination !== undefined) control.set('x-middleware-rewrite', destination.href);
  else control.set('x-middleware-next', '1');
  if (headers !== undefined) {
    for (const [name, value] of headers) control.set(`x-middleware-request-${name}`, value);
    control.set('x-middleware-override-headers', [...headers.keys()].join(','));
  }
  return new Response(null, { headers: control });
}

const REWRITE_MARK_HEADER = 'x-downloadview-rewritten';

function checkedPrefix(prefix: unknown, option: string): string {
  if (typeof prefix !== 'string' || !prefix.startsWith('/')) invalidOption(option, 'must be paths starting with /');
  return prefix.length > 1 && prefix.endsWith('/') ? prefix.slice(0, -1) : prefix;
}

/** Segment-boundary match: `/files` covers `/files` and `/files/a`, not `/files2`. */
function isUnder(pathname: string, prefix: string): boolean {
  return prefix === '/' || pathname === prefix || pathname.startsWith(`${prefix}/`);
}

function rewriterFor(rewrite: DownloadProxyOptions['rewrite']): (url: URL) => URL | undefined {
  if (rewrite === undefined) return () => undefined;
  if (typeof rewrite === 'function') {
    return (url) => {
      const result = rewrite(new URL(url));
      if (result === undefined) return undefined;
      const destination = new URL(result, url);
      // A rewrite to another origin would make Next proxy the request there, cookies included.
      if (destination.origin !== url.origin) throw new TypeError('downloadProxy: rewrite must stay on the same origin');
      return destination;
    };
  }
  if (typeof rewrite !== 'object' || rewrite === null) invalidOption('rewrite', 'must be { from, to } or a function');
  const from = checkedPrefix(rewrite.from, 'rewrite.from');
  const to = checkedPrefix(rewrite.to, 'rewrite.to');
  if (from === '/') invalidOption('rewrite.from', 'must be a path below / (rewrite everything with a function)');
  return (url) => {
    if (!isUnder(url.pathname, from)) return undefined;
    const destination = new URL(url);
    destination.pathname = (to === '/' ? '' : to) + url.pathname.slice(from.length);
    return destination;
  };
}

/** The headers without the stripped ones, or `undefined` when none was there. */
function withoutHeaders(headers: Headers, prefixes: readonly string[]): Headers | undefined {
  const kept = new Headers();
  let removed = false;
  for (const [name, value] of headers) {
    if (prefixes.some((prefix) => name.startsWith(prefix))) removed = true;
    else kept.append(name, value);
  }
  return removed ? kept : undefined;
}

/** Whether the Cookie header (RFC 6265 §4.2.1) names `name` with a non-empty value. */
function hasCookie(header: string | null, name: string): boolean {
  if (header === null) return false;
  return header.split(';').some((pair) => {
    const separator = pair.indexOf('=');
    return separator > 0 && pair.slice(0, separator).trim() === name && pair.slice(separator + 1).trim() !== '';
  });
}
