/**
 * `remote({ url })`: a file at an HTTP(S) URL the app names. Metadata from a HEAD request, bytes
 * from ranged GETs pinned to that version; redirects and upstream headers by allow-list only.
 */
import { basename } from 'node:path/posix';
import { DownloadError, invalidOption } from '../errors.js';
import { isValidMediaType } from '../http/content-type.js';
import { parseHttpDate } from '../http/http-date.js';
import type { DownloadFile, Located, RequestContext, Source } from '../types.js';
import { isSafeSegment, keyFromParam, keySegments, type KeyRules } from './key.js';
import { openUpstreamBody, quoteETag, timeoutsFrom, upstreamStatusError, withDeadline, type UpstreamReply, type UpstreamTimeouts } from './upstream.js';

/**
 * Where a request's file is: either `base` (a URL folder the route's key is placed under, checked
 * and encoded by the library) or `url` (a function that builds the whole URL itself).
 */
export type RemoteOptions = RemoteCommonOptions & (RemoteBaseOptions | RemoteUrlOptions);

export interface RemoteBaseOptions {
  /**
   * The upstream folder the key is placed under (`http:` or `https:`, ending in `/`, no query, no
   * credentials). The key comes from the route's catch-all param (or `key`) and is checked like a
   * filesystem key: no empty, `.` or `..` segment, no `/`, `\` or NUL inside one, and none that one
   * more percent-decoding would turn into such a segment (for upstreams that decode twice). Each
   * segment is percent-encoded, so `100%.txt` or `what?.txt` reach the upstream as names.
   * @example base: 'https://files.internal.example/invoices/'
   */
  base: string | URL;
  /** Name of the catch-all route segment holding the key. @default 'path' */
  param?: string;
  /**
   * Your own key resolver; return `null` for 404. Its result is checked like a param.
   * @example key: (request, { params }) => `users/${params.user}/${params.name}`
   */
  key?: (request: Request, context: RequestContext) => string | readonly string[] | null | undefined | Promise<string | readonly string[] | null | undefined>;
  /** Whether key segments starting with `.` may be fetched. @default false */
  dotfiles?: boolean;
  url?: never;
}

export interface RemoteUrlOptions {
  /**
   * The URL of the file for this request (`http:` or `https:`); `null`/`undefined` is a 404. This
   * function is the only source of URLs: nothing in the request reaches the upstream unless you put it here.
   * Params arrive as the client sent them: check them (`..%2Fx` survives encodeURIComponent), or use
   * `base`, which checks keys for you.
   * @example url: (request, { params }) => (/^\w+$/.test(String(params.id)) ? `https://files.internal.example/${params.id}.pdf` : null)
   */
  url: (request: Request, context: RequestContext) => string | URL | null | undefined | Promise<string | URL | null | undefined>;
  base?: never;
  param?: never;
  key?: never;
  dotfiles?: never;
}

export interface RemoteCommonOptions {
  /**
   * Request headers sent to the upstream (e.g. its API key). Never sent anywhere else; a redirect
   * to another origin drops them.
   * @default none
   * @example headers: { authorization: `Bearer ${process.env.FILES_API_KEY}` }
   */
  headers?: HeadersInit;
  /**
   * Which upstream redirects are followed: `false` (none: a redirect is a 502), `'same-origin'`,
   * or a list of origins (`https://cdn.example.com`) allowed besides the URL's own. At most 5 hops.
   * @default false
   */
  followRedirects?: false | 'same-origin' | readonly string[];
  /**
   * Upstream response headers copied to the client, by name (e.g. `['content-language']`). Hop-by-hop,
   * `Set-Cookie`, proxy control (`X-Accel-*`, `X-Sendfile*`, `X-Lighttpd-*`) and the headers the
   * library computes itself (length, range, type, disposition, validators, caching) are refused.
   * @default []
   */
  copyHeaders?: readonly string[];
  /**
   * Milliseconds until the upstream's response headers arrive (connecting, TLS and its answer);
   * exceeded: 504 before any byte, a failed transfer later.
   * @default 10000
   */
  connectTimeout?: number;
  /**
   * Milliseconds the upstream may stay silent while its body is read; exceeded: the transfer fails.
   * @default 30000
   */
  idleTimeout?: number;
}

export interface RemoteSource extends Source {
  readonly kind: 'remote';
  /** Address one URL directly, e.g. from a `record()` lookup. */
  file(url: string | URL): Located;
}

// RFC 9110 §7.6.1 and RFC 9112: hop-by-hop fields; plus what would control a proxy or a session,
// and what this library computes for the representation itself.
const refusedHeaders = new Set([
  'connection', 'keep-alive', 'proxy-connection', 'transfer-encoding', 'te', 'trailer', 'upgrade',
  'proxy-authenticate', 'proxy-authorization', 'set-cookie', 'set-cookie2',
  'content-length', 'content-range', 'content-type', 'content-disposition', 'content-encoding',
  'etag', 'last-modified', 'cache-control', 'expires', 'accept-ranges', 'location', 'vary',
]);
const refusedPrefixes = ['x-accel-', 'x-sendfile', 'x-lighttpd-', 'x-downloadview-'];

const MAX_REDIRECTS = 5;

/**
 * @example
 * // app/invoices/[...path]/route.ts: /invoices/2026/03.pdf → https://files.internal.example/invoices/2026/03.pdf
 * export const { GET, HEAD } = downloadHandler({
 *   source: remote({ base: 'https://files.internal.example/invoices/' }),
 * });
 */
export function remote(options: RemoteOptions): RemoteSource {
  const resolve = urlResolver(options);
  const timeouts = timeoutsFrom(options, 'remote', invalidOption);
  let requestHeaders: Headers;
  try {
    requestHeaders = new Headers(options.headers);
  } catch {
    return invalidOption('remote.headers', 'must be valid header names and values');
  }
  const follow = redirectPolicy(options.followRedirects);
  const copied = copiedHeaders(options.copyHeaders);
  const config: RemoteConfig = { requestHeaders, follow, copied, timeouts };

  function located(url: string | URL, key?: string): Located {
    const parsed = parseUrl(url);
    return {
      target: { kind: 'remote', key: key ?? parsed.href },
      load: (signal) => loadRemote(parsed, config, signal),
    };
  }

  return {
    kind: 'remote',
    file: (url) => located(url),
    async locate(request, context) {
      const found = await resolve(request, context);
      return found && located(found.url, found.key);
    },
  };
}

type UrlResolver = (request: Request, context: RequestContext) => Promise<{ url: string | URL; key?: string } | null>;

/** The request's URL from `base` and the checked key, or from the app's `url` function. */
function urlResolver(options: RemoteOptions): UrlResolver {
  if (options?.base !== undefined) {
    if (options.url !== undefined) invalidOption('remote.url', 'cannot be combined with remote.base: give one of them');
    if (options.param === '' || (options.param !== undefined && typeof options.param !== 'string')) invalidOption('remote.param', 'must be a non-empty string');
    if (options.key !== undefined && typeof options.key !== 'function') invalidOption('remote.key', 'must be a function (request, context) => key');
    const base = parseBase(options.base);
    const rules = { denyDotfiles: options.dotfiles !== true };
    const param = options.param ?? 'path';
    const keyOf = options.key;
    return async (request, context) => {
      const key = keyOf ? await keyOf(request, context) : keyFromParam(context.params, param);
      if (key === null || key === undefined) return null;
      const segments = keySegments(key, rules);
      if (!segments || !segments.every((segment) => staysSafeDecodedAgain(segment, rules))) return null;
      return { url: new URL(segments.map(encodeURIComponent).join('/'), base), key: segments.join('/') };
    };
  }
  if (typeof options?.url !== 'function') invalidOption('remote.url', 'must be a function (request, context) => URL, or give remote.base');
  const urlOf = options.url;
  return async (request, context) => {
    const url = await urlOf(request, context);
    return url === null || url === undefined ? null : { url };
  };
}

function parseBase(base: string | URL): URL {
  let parsed: URL | undefined;
  try {
    parsed = new URL(String(base));
  } catch {
    // reported below
  }
  if (!parsed || (parsed.protocol !== 'http:' && parsed.protocol !== 'https:')) invalidOption('remote.base', 'must be an absolute http: or https: URL');
  if (parsed.username || parsed.password) invalidOption('remote.base', 'must not hold credentials; use the headers option');
  if (parsed.search || parsed.hash || String(base).includes('?') || String(base).includes('#')) invalidOption('remote.base', 'must not have a query or fragment');
  // Without the slash, URL resolution would replace the last segment: `…/invoices` + `a.pdf` is `…/a.pdf`.
  if (!parsed.pathname.endsWith('/')) invalidOption('remote.base', `must end with / (got "${parsed.pathname}")`);
  return parsed;
}

// The escapes an upstream that percent-decodes a second time (some proxies and object stores do)
// would read as a dot, a separator or NUL. The library encodes each segment, so these arrive as
// `%252e`; an upstream decoding twice still sees `%2e`, and then `.`.
const decodedAgain = /%(2e|2f|5c|00)/gi;

/** The segment read as an upstream that decodes it once more would read it: still a safe segment. */
function staysSafeDecodedAgain(segment: string, rules: KeyRules): boolean {
  if (!segment.includes('%')) return true;
  const decoded = segment.replace(decodedAgain, (_, hex: string) => String.fromCharCode(parseInt(hex, 16)));
  return !decoded.includes('/') && isSafeSegment(decoded, rules);
}

interface RemoteConfig {
  requestHeaders: Headers;
  follow: (from: URL, to: URL) => boolean;
  copied: readonly string[];
  timeouts: UpstreamTimeouts;
}

function redirectPolicy(option: RemoteOptions['followRedirects']): (from: URL, to: URL) => boolean {
  if (option === undefined || option === false) return () => false;
  if (option === 'same-origin') return (from, to) => from.origin === to.origin;
  if (!Array.isArray(option)) invalidOption('remote.followRedirects', "must be false, 'same-origin' or a list of origins");
  const origins = new Set(
    option.map((origin) => {
      let parsed: URL | undefined;
      try {
        parsed = new URL(String(origin));
      } catch {
        // reported below
      }
      if (!parsed || !/^https?:$/.test(parsed.protocol) || parsed.origin !== String(origin).replace(/\/$/, '')) {
        invalidOption('remote.followRedirects', `entry "${String(origin)}" must be an origin like https://cdn.example.com`);
      }
      return parsed.origin;
    }),
  );
  return (from, to) => from.origin === to.origin || origins.has(to.origin);
}

function copiedHeaders(option: readonly string[] | undefined): string[] {
  if (option === undefined) return [];
  if (!Array.isArray(option)) invalidOption('remote.copyHeaders', 'must be a list of header names');
  return option.map((name) => {
    const lower = String(name).toLowerCase();
    if (!/^[!#$%&'*+.^_`|~0-9a-z-]+$/.test(lower)) invalidOption('remote.copyHeaders', `"${String(name)}" is not a header name`);
    if (refusedHeaders.has(lower) || refusedPrefixes.some((prefix) => lower.startsWith(prefix))) {
      invalidOption('remote.copyHeaders', `"${lower}" may not be copied from an upstream`);
    }
    return lower;
  });
}

function parseUrl(url: string | URL): URL {
  let parsed: URL;
  try {
    parsed = new URL(String(url));
  } catch {
    throw new DownloadError('source_error', 'remote.url returned something that is not an absolute URL');
  }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') throw new DownloadError('source_error', `remote.url returned a ${parsed.protocol} URL; only http: and https: are fetched`);
  if (parsed.username || parsed.password) throw new DownloadError('source_error', 'remote.url returned a URL with credentials; use the headers option');
  parsed.hash = '';
  return parsed;
}

/**
 * One upstream request, following only allowed redirects (RFC 9110 §15.4). Returns the reply and
 * the URL that gave it. `fetch`'s own redirect handling is off: it would follow any origin.
 */
async function fetchFollowing(
  url: URL,
  home: URL,
  init: { method: 'GET' | 'HEAD'; headers: Headers },
  config: RemoteConfig,
  signal: AbortSignal,
): Promise<{ reply: Response; url: URL }> {
  let current = url;
  for (let hop = 0; ; hop += 1) {
    let reply: Response;
    // Headers meant for the app's URL (`home`) never go to another origin a redirect led to.
    const headers = current.origin === home.origin ? init.headers : withoutCredentials(init.headers, config.requestHeaders);
    try {
      reply = await fetch(current, { method: init.method, headers, redirect: 'manual', signal });
    } catch (error) {
      if (signal.aborted) throw signal.reason ?? error;
      throw new DownloadError('upstream_error', `upstream request failed: ${describeNetworkError(error)}`, { cause: error });
    }
    if (reply.status < 300 || reply.status > 399 || reply.status === 304) return { reply, url: current };
    await reply.body?.cancel().catch(() => {});
    const location = reply.headers.get('location');
    let next: URL | undefined;
    try {
      next = location === null ? undefined : new URL(location, current);
    } catch {
      next = undefined;
    }
    if (!next || (next.protocol !== 'http:' && next.protocol !== 'https:')) throw new DownloadError('upstream_error', `upstream answered ${reply.status} without a usable Location`);
    if (!config.follow(home, next)) throw new DownloadError('upstream_error', `upstream redirected to ${next.origin}, which remote.followRedirects does not allow`);
    if (hop + 1 >= MAX_REDIRECTS) throw new DownloadError('upstream_error', `upstream redirected more than ${MAX_REDIRECTS} times`);
    current = next;
  }
}

function withoutCredentials(headers: Headers, configured: Headers): Headers {
  const kept = new Headers(headers);
  for (const [name] of configured) kept.delete(name);
  return kept;
}

function describeNetworkError(error: unknown): string {
  const cause = (error as { cause?: { code?: string; message?: string } })?.cause;
  return cause?.code ?? cause?.message ?? (error instanceof Error ? error.message : String(error));
}

async function loadRemote(url: URL, config: RemoteConfig, signal = new AbortController().signal): Promise<DownloadFile | null> {
  const metadata = await withDeadline(signal, config.timeouts.connect, (signal) => fetchMetadata(url, config, signal));
  if (!metadata) return null;
  const { reply, url: finalUrl, size, ranged } = metadata;
  const etag = quoteETag(reply.headers.get('etag'));
  const lastModifiedText = reply.headers.get('last-modified') ?? undefined;
  const lastModified = parseHttpDate(lastModifiedText ?? null);
  const type = reply.headers.get('content-type')?.trim();
  const expected = { size, etag, lastModified: lastModifiedText };

  return {
    kind: 'remote',
    name: nameOf(finalUrl),
    // Without range support upstream, the size still gives Content-Length; Range is then not offered.
    size,
    mtime: lastModified,
    // Only a strong tag pins the bytes; a weak one still answers If-None-Match.
    etag,
    contentType: type && isValidMediaType(type) ? type : undefined,
    headers: copyAllowed(reply.headers, config.copied),
    // Never redirected to (the URL is the app's own upstream); offloaded only without the app's credentials.
    remote: { url: async () => finalUrl.href, permanent: false, redirectable: false, offloadable: [...config.requestHeaders].length === 0 },
    async open(signal, _size, ranges) {
      if (!ranged && ranges !== undefined) throw new DownloadError('upstream_error', 'upstream does not serve byte ranges');
      return openUpstreamBody((range, deadline) => requestBytes(finalUrl, url, range, expected, config, deadline), expected, ranges, signal, config.timeouts);
    },
    acceptsRanges: ranged,
  };
}

interface Metadata {
  reply: Response;
  url: URL;
  size: number | undefined;
  /** The upstream serves byte ranges (RFC 9110 §14.3) of a known length. */
  ranged: boolean;
}

/**
 * The object's metadata from a HEAD. An upstream that refuses HEAD (405, 501, or 403 from a URL
 * signed for GET only, like S3's presigned URLs) is asked for its first byte instead: the 206's
 * Content-Range gives the size, and only that byte is read. `null` for 404/410.
 */
async function fetchMetadata(url: URL, config: RemoteConfig, signal: AbortSignal): Promise<Metadata | null> {
  const headers = new Headers(config.requestHeaders);
  // RFC 9110 §12.5.3: identity, so the length and the ETag are those of the bytes we will read.
  headers.set('accept-encoding', 'identity');
  const head = await fetchFollowing(url, url, { method: 'HEAD', headers }, config, signal);
  let { reply } = head;
  if (reply.status === 404 || reply.status === 410) return null;
  if (reply.status === 200) {
    checkCoding(reply);
    const size = contentLength(reply.headers);
    return { reply, url: head.url, size, ranged: size !== undefined && /\bbytes\b/i.test(reply.headers.get('accept-ranges') ?? '') };
  }
  if (reply.status !== 403 && reply.status !== 405 && reply.status !== 501) throw upstreamStatusError(reply.status, 'metadata request');
  headers.set('range', 'bytes=0-0');
  const probe = await fetchFollowing(url, url, { method: 'GET', headers }, config, signal);
  reply = probe.reply;
  // Never read more than the byte asked for (a 200 would be the whole object).
  await reply.body?.cancel().catch(() => {});
  if (reply.status === 404 || reply.status === 410) return null;
  checkCoding(reply);
  const total = /^bytes (?:0-0|\*)\/(\d{1,15})$/.exec(reply.headers.get('content-range')?.trim() ?? '')?.[1];
  if ((reply.status === 206 || reply.status === 416) && total !== undefined) return { reply, url: probe.url, size: Number(total), ranged: true };
  if (reply.status === 200) return { reply, url: probe.url, size: contentLength(reply.headers), ranged: false };
  throw upstreamStatusError(reply.status, 'metadata request');
}

function checkCoding(reply: Response): void {
  const coding = reply.headers.get('content-encoding');
  if (coding !== null && coding.trim().toLowerCase() !== 'identity') throw new DownloadError('upstream_error', `upstream sends ${coding}-coded bodies despite Accept-Encoding: identity`);
}

function contentLength(headers: Headers): number | undefined {
  const length = headers.get('content-length')?.trim();
  return length !== undefined && /^\d{1,15}$/.test(length) ? Number(length) : undefined;
}

/** A GET for `range`, pinned to the expected version with If-Match (or If-Unmodified-Since). */
async function requestBytes(url: URL, home: URL, range: { start: number; end: number } | undefined, expected: { etag?: string; lastModified?: string }, config: RemoteConfig, signal: AbortSignal): Promise<UpstreamReply> {
  const headers = new Headers(config.requestHeaders);
  headers.set('accept-encoding', 'identity');
  if (range) headers.set('range', `bytes=${range.start}-${range.end === Number.MAX_SAFE_INTEGER ? '' : range.end}`);
  // RFC 9110 §13.1.1: a changed object answers 412 instead of other bytes. A weak tag cannot be
  // used with If-Match (strong comparison), so the date stands in; the reply is checked anyway.
  const tag = expected.etag && !expected.etag.startsWith('W/') ? expected.etag : undefined;
  if (tag) headers.set('if-match', tag);
  else if (expected.lastModified) headers.set('if-unmodified-since', expected.lastModified);
  const { reply } = await fetchFollowing(url, home, { method: 'GET', headers }, config, signal);
  return { status: reply.status, headers: reply.headers, body: reply.body };
}

function copyAllowed(headers: Headers, names: readonly string[]): Headers | undefined {
  if (names.length === 0) return undefined;
  const copied = new Headers();
  for (const name of names) {
    const value = headers.get(name);
    if (value !== null) copied.set(name, value);
  }
  return copied;
}

/** The download name: the URL's last path segment, decoded; `download` when there is none. */
function nameOf(url: URL): string {
  const last = basename(url.pathname);
  try {
    const decoded = decodeURIComponent(last);
    return decoded === '' ? 'download' : decoded;
  } catch {
    return last === '' ? 'download' : last;
  }
}

