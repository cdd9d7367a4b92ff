/**
 * `blob({ access })`: files in a Vercel Blob store, through the real `@vercel/blob` client (loaded
 * on first use). Metadata from `head()`, bytes from ranged `get()` pinned to the metadata's ETag.
 */
import type * as BlobSdk from '@vercel/blob';
import { DownloadError, invalidOption } from '../errors.js';
import { isValidMediaType } from '../http/content-type.js';
import type { ByteRange, DownloadFile, Located, RemoteObject, RequestContext, Source } from '../types.js';
import { keyFromParam, keySegments } from './key.js';
import { openUpstreamBody, quoteETag, timeoutsFrom, upstreamStatusError, withDeadline, type UpstreamReply, type UpstreamTimeouts } from './upstream.js';

export interface BlobOptions {
  /**
   * The store's access level; the client needs it to reach the object host
   * (`<store>.public.blob…` or `<store>.private.blob…`).
   * @example blob({ access: 'private' })
   */
  access: 'public' | 'private';
  /**
   * A read-write token of the store (`vercel_blob_rw_<store>_<secret>`). Never sent to clients.
   * @default process.env.BLOB_READ_WRITE_TOKEN (read by @vercel/blob, which also supports Vercel OIDC with `storeId`)
   */
  token?: string;
  /** Store id for Vercel OIDC credentials. @default process.env.BLOB_STORE_ID */
  storeId?: string;
  /**
   * Prefix put before the key to form the blob's pathname (e.g. `'uploads/'`).
   * @default '' (the key is the pathname)
   */
  prefix?: string;
  /** Name of the catch-all route segment holding the key. @default 'path' */
  param?: string;
  /**
   * Your own key resolver; return `null` for 404. Its result is validated like a param.
   * @example key: (request, { params }) => `users/${params.user}/${params.name}`
   */
  key?: (request: Request, context: RequestContext) => string | readonly string[] | null | undefined | Promise<string | readonly string[] | null | undefined>;
  /** Whether key segments starting with `.` may be served. @default false */
  dotfiles?: boolean;
  /**
   * Milliseconds until the store answers (metadata, or a byte request's headers); exceeded: 504
   * before any byte, a failed transfer later.
   * @default 10000
   */
  connectTimeout?: number;
  /** Milliseconds the object host may stay silent while a body is read; exceeded: the transfer fails. @default 30000 */
  idleTimeout?: number;
  /**
   * Seconds a presigned URL (private store: redirect and nginx offload) stays valid.
   * @default 300
   */
  presignExpiresIn?: number;
  /**
   * Keep each blob's metadata (`head()`) for `maxAge` ms, for at most `max` blobs, so a hot blob
   * costs no API call per download. Bytes stay safe: a streamed download still checks the stored
   * ETag (a blob replaced meanwhile is one 503, and its entry is dropped), but HEAD, 304 and the
   * headers may describe the old version for up to `maxAge`; a deleted blob is found out by the
   * byte request (503), or by a redirected client (the store's 404).
   * @default off
   * @example metadataCache: { maxAge: 30_000 }
   */
  metadataCache?: { maxAge: number; max?: number };
}

export interface BlobSource extends Source {
  readonly kind: 'blob';
  /** Address one blob by pathname (the prefix is not added), e.g. from a `record()` lookup; `null` if refused. */
  file(pathname: string): Located | null;
}

type Sdk = typeof BlobSdk;
let sdk: Promise<Sdk> | undefined;

/**
 * `@vercel/blob` on first use: apps that never call blob() pay nothing for it at import time. A
 * missing package (pruned, excluded from a bundle) is an error naming the fix.
 */
function loadSdk(): Promise<Sdk> {
  sdk ??= import('@vercel/blob').catch((error: unknown) => {
    sdk = undefined;
    throw new DownloadError('source_error', 'blob() needs the @vercel/blob package: npm install @vercel/blob', { cause: error });
  });
  return sdk;
}

/** How long a store-wide read delegation is asked for, and how much of it must be left to reuse it. */
const DELEGATION_MS = 60 * 60 * 1000;

/**
 * @example
 * export const { GET, HEAD } = downloadHandler({
 *   source: blob({ access: 'private', prefix: 'invoices/' }),
 *   authorize: (request, target) => ownsInvoice(request, target.key),
 * });
 */
export function blob(options: BlobOptions): BlobSource {
  if (options?.access !== 'public' && options?.access !== 'private') invalidOption('blob.access', "must be 'public' or 'private'");
  for (const name of ['token', 'storeId', 'prefix', 'param'] as const) {
    if (options[name] !== undefined && typeof options[name] !== 'string') invalidOption(`blob.${name}`, 'must be a string');
  }
  if (options.param === '') invalidOption('blob.param', 'must be a non-empty string');
  if (options.prefix !== undefined && (options.prefix.startsWith('/') || options.prefix.includes('//'))) invalidOption('blob.prefix', "must not start with / or contain //");
  if (options.key !== undefined && typeof options.key !== 'function') invalidOption('blob.key', 'must be a function');
  const expiresIn = options.presignExpiresIn ?? 300;
  if (!(Number.isSafeInteger(expiresIn) && expiresIn > 0 && expiresIn * 1000 < DELEGATION_MS / 2)) {
    invalidOption('blob.presignExpiresIn', `must be a whole number of seconds between 1 and ${DELEGATION_MS / 2000 - 1}`);
  }
  const timeouts = timeoutsFrom(options, 'blob', invalidOption);
  const store: Store = {
    access: options.access,
    credentials: { token: options.token, storeId: options.storeId },
    timeouts,
    presign: presigner(options, expiresIn),
    metadata: metadataCache(options.metadataCache),
  };
  const rules = { denyDotfiles: options.dotfiles !== true };
  const prefix = options.prefix ?? '';
  const param = options.param ?? 'path';

  function file(pathname: string): Located | null {
    if (typeof pathname !== 'string') return null;
    const segments = keySegments(pathname, rules);
    return segments ? located(segments.join('/'), segments.join('/'), store) : null;
  }

  return {
    kind: 'blob',
    file,
    async locate(request, context) {
      const key = options.key ? await options.key(request, context) : keyFromParam(context.params, param);
      if (key === null || key === undefined) return null;
      const segments = keySegments(key, rules);
      if (!segments) return null;
      const relative = segments.join('/');
      return located(relative, prefix + relative, store);
    },
  };
}

interface Store {
  access: 'public' | 'private';
  credentials: { token?: string; storeId?: string };
  timeouts: UpstreamTimeouts;
  presign: (pathname: string, method: 'GET' | 'HEAD') => Promise<string>;
  metadata: MetadataCache | undefined;
}

interface MetadataCache {
  get(pathname: string): BlobSdk.HeadBlobResult | undefined;
  set(pathname: string, meta: BlobSdk.HeadBlobResult): void;
  delete(pathname: string): void;
}

function metadataCache(option: BlobOptions['metadataCache']): MetadataCache | undefined {
  if (option === undefined) return undefined;
  const maxAge = option?.maxAge;
  const max = option?.max ?? 1000;
  if (!(Number.isSafeInteger(maxAge) && maxAge > 0)) invalidOption('blob.metadataCache.maxAge', 'must be a positive number of milliseconds');
  if (!(Number.isSafeInteger(max) && max > 0)) invalidOption('blob.metadataCache.max', 'must be a positive integer');
  // Insertion order is age order: re-set entries move to the end, the oldest is evicted first.
  const entries = new Map<string, { meta: BlobSdk.HeadBlobResult; until: number }>();
  return {
    get(pathname) {
      const entry = entries.get(pathname);
      if (!entry) return undefined;
      if (performance.now() < entry.until) return entry.meta;
      entries.delete(pathname);
      return undefined;
    },
    set(pathname, meta) {
      entries.delete(pathname);
      entries.set(pathname, { meta, until: performance.now() + maxAge });
      if (entries.size > max) entries.delete(entries.keys().next().value!);
    },
    delete: (pathname) => entries.delete(pathname),
  };
}

function located(key: string, pathname: string, store: Store): Located {
  return { target: { kind: 'blob', key }, load: (signal) => loadBlob(pathname, store, signal) };
}

async function loadBlob(pathname: string, store: Store, signal = new AbortController().signal): Promise<DownloadFile | null> {
  const client = await loadSdk();
  let meta = store.metadata?.get(pathname);
  if (!meta) {
    try {
      meta = await withDeadline(signal, store.timeouts.connect, (signal) => client.head(pathname, { ...store.credentials, abortSignal: signal }));
    } catch (error) {
      if (error instanceof client.BlobNotFoundError) return null;
      throw blobError(error, client, 'metadata request');
    }
    store.metadata?.set(pathname, meta);
  }
  // A blob of the other access level lives on the other object host: every byte request would be
  // a 404. Say what is wrong instead of reporting a changed object.
  const host = /\.(public|private)\.blob\.vercel-storage\.com$/.exec(hostOf(meta.url))?.[1];
  if (host !== undefined && host !== store.access) throw new DownloadError('source_error', `blob.access is '${store.access}' but ${pathname} is a ${host} blob`);
  const etag = quoteETag(meta.etag);
  if (!Number.isSafeInteger(meta.size) || meta.size < 0 || !etag) throw new DownloadError('upstream_error', 'blob metadata lacks a size or an ETag');
  const expected = { size: meta.size, etag };
  const name = pathname.slice(pathname.lastIndexOf('/') + 1);
  const remote: RemoteObject = {
    // A public blob's URL is permanent; a private one is presigned per request and method.
    url: (method) => (store.access === 'public' ? Promise.resolve(meta.url) : store.presign(pathname, method)),
    permanent: store.access === 'public',
    redirectable: true,
    offloadable: true,
    filename: name,
    contentType: meta.contentType,
    contentDisposition: meta.contentDisposition,
  };
  const uploadedAt = meta.uploadedAt instanceof Date && !Number.isNaN(meta.uploadedAt.getTime()) ? meta.uploadedAt : undefined;
  return {
    kind: 'blob',
    name,
    size: meta.size,
    mtime: uploadedAt,
    etag,
    contentType: meta.contentType && isValidMediaType(meta.contentType) ? meta.contentType : undefined,
    remote,
    async open(signal, _size, ranges) {
      try {
        return await openUpstreamBody((range, deadline) => getBytes(client, pathname, range, etag, store, deadline), expected, ranges, signal, store.timeouts);
      } catch (error) {
        // Metadata that no longer describes the blob must not answer the next request too.
        if (error instanceof DownloadError && error.code === 'file_changed') store.metadata?.delete(pathname);
        throw error;
      }
    },
  };
}

/** `get()` for one range, as an upstream reply (the client reports a 206 as 200: Content-Range tells). */
async function getBytes(client: Sdk, pathname: string, range: ByteRange | undefined, etag: string, store: Store, signal: AbortSignal): Promise<UpstreamReply> {
  const headers: Record<string, string> = {
    // A compressing CDN sends a weak ETag, no length and decoded bytes otherwise (FIELD-NOTES).
    'accept-encoding': 'identity',
    // RFC 9110 §13.1.1: a replaced blob answers 412, not other bytes; the reply's ETag is checked too.
    'if-match': etag,
  };
  if (range) headers.range = `bytes=${range.start}-${range.end}`;
  let result: Awaited<ReturnType<Sdk['get']>>;
  try {
    result = await client.get(encodePathname(pathname), { access: store.access, ...store.credentials, headers, abortSignal: signal });
  } catch (error) {
    if (signal.aborted) throw signal.reason ?? error;
    throw blobError(error, client, 'byte request');
  }
  if (result === null) throw upstreamStatusError(404, 'byte request');
  if (result.statusCode !== 200) throw upstreamStatusError(result.statusCode, 'byte request');
  const partial = result.headers.get('content-range') !== null;
  return { status: partial ? 206 : 200, headers: result.headers, body: result.stream };
}

/** A client error as the status our client gets: the store's refusal is ours (502), not theirs. */
function blobError(error: unknown, client: Sdk, what: string): DownloadError {
  if (error instanceof DownloadError) return error;
  // get() throws `Failed to fetch blob: <status> <text>` for statuses it does not map itself.
  const status = error instanceof client.BlobError ? /Failed to fetch blob: (\d{3})/.exec(error.message)?.[1] : undefined;
  if (status) {
    const mapped = upstreamStatusError(Number(status), what);
    return new DownloadError(mapped.code, mapped.message, { cause: error });
  }
  return new DownloadError('upstream_error', `blob ${what} failed: ${error instanceof Error ? error.message : String(error)}`, { cause: error });
}

/**
 * Presigned URLs for a private store. One store-wide read delegation (`issueSignedToken`, one API
 * call) is kept and renewed before it runs out; each URL is then a local HMAC for one pathname
 * and one method, valid for `expiresIn` seconds. Store-wide rather than per pathname: a per-request
 * API call would cost a round trip per download, and the client decodes a scoped delegation's
 * pathname with atob (Latin-1), so a non-ASCII pathname fails its own scope check. The delegation
 * is useless without the signing key, which never leaves the server.
 */
function presigner(options: BlobOptions, expiresIn: number): (pathname: string, method: 'GET' | 'HEAD') => Promise<string> {
  let delegation: Promise<BlobSdk.IssuedSignedToken> | undefined;
  let validUntil = 0;
  const credentials = { token: options.token, storeId: options.storeId };
  return async (pathname, method) => {
    const client = await loadSdk();
    const until = Date.now() + expiresIn * 1000;
    if (!delegation || validUntil < until + 60_000) {
      validUntil = Date.now() + DELEGATION_MS;
      delegation = client.issueSignedToken({ ...credentials, operations: ['get', 'head'], validUntil }).catch((error: unknown) => {
        delegation = undefined;
        validUntil = 0;
        throw blobError(error, client, 'presign');
      });
    }
    const signed = await delegation;
    try {
      const { presignedUrl } = await client.presignUrl(signed, { operation: method === 'HEAD' ? 'head' : 'get', pathname, access: options.access, validUntil: until });
      return withEncodedPath(presignedUrl, pathname);
    } catch (error) {
      throw blobError(error, client, 'presign');
    }
  };
}

function hostOf(url: string): string {
  try {
    return new URL(url).hostname;
  } catch {
    return '';
  }
}

/**
 * A pathname as a URL path: the client puts it into the object URL as is, where `%`, `?` and `#`
 * would change its meaning (`100%.txt`, `what?.txt`). Encoded per segment, the host decodes it back.
 */
function encodePathname(pathname: string): string {
  return pathname.split('/').map(encodeURIComponent).join('/');
}

/** The presigned URL with the pathname encoded; the signature covers the decoded pathname, not its spelling. */
function withEncodedPath(presigned: string, pathname: string): string {
  const url = new URL(presigned);
  const query = [...url.searchParams].filter(([name]) => name.startsWith('vercel-blob-'));
  return `${url.origin}/${encodePathname(pathname)}?${new URLSearchParams(query).toString()}`;
}
