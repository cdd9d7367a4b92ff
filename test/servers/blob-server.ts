/**
 * A Vercel Blob compatible server on 127.0.0.0/8, driven by the real `@vercel/blob` client:
 * - the control API (`VERCEL_BLOB_API_URL`): `PUT /?pathname=` (put), `GET ?url=` (head),
 *   `POST /signed-token` (issueSignedToken), JSON errors `{ error: { code, message } }`;
 * - the object host `<store>.<access>.blob.vercel-storage.com` over HTTPS on `<objectIp>:443`
 *   (reached through a DNS remap: test/servers/blob-dispatcher.mjs for Node, dns-server.ts for
 *   nginx), serving with the store token or a presigned URL checked as the service does:
 *   delegation MAC, expiry, operation (get vs head), pathname scope, URL signature.
 * No test framework inside (bench reuse).
 */
import { createHash, createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { createServer as createHttpServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { serveObject, type Fault, type StoredObject } from './object-response.js';

export interface BlobServerOptions {
  /** Loopback address the HTTPS object host listens on, e.g. 127.83.4.7. */
  objectIp: string;
  /**
   * Its port: 443 (the default) is where every client goes, nginx included; 0 takes a free one,
   * for users who may not bind below 1024 (Node clients then need DOWNLOADVIEW_TEST_BLOB_PORT).
   */
  objectPort?: number;
  /** TLS certificate for `*.public.blob.vercel-storage.com` and `*.private.blob.vercel-storage.com`. */
  cert: string;
  key: string;
}

interface StoredBlob extends StoredObject {
  pathname: string;
  access: 'public' | 'private';
  uploadedAt: Date;
  contentDisposition: string;
  cacheControl: string;
}

export interface BlobServer {
  storeId: string;
  /** `vercel_blob_rw_<store>_<secret>`: pass it as `token` (never via the environment in tests). */
  token: string;
  /** For VERCEL_BLOB_API_URL. */
  apiUrl: string;
  objectIp: string;
  /** The port the object host listens on (443 unless `objectPort` said otherwise). */
  objectPort: number;
  /** `https://<store>.<access>.blob.vercel-storage.com` */
  objectOrigin(access: 'public' | 'private'): string;
  /** Object GETs that sent body bytes, per pathname (HEAD, 304, 412 and refusals are not reads). */
  objectReads(pathname: string): number;
  /** Every object-host request: method, pathname, access, whether presigned, status given. */
  objectRequests: { method: string; pathname: string; presigned: boolean; status: number; headers: IncomingMessage['headers'] }[];
  /** Object replies the client abandoned before the end. */
  abandoned(): number;
  /** Control API calls by kind (`head`, `put`, `signed-token`). */
  apiCalls: Map<string, number>;
  faults: Map<string, Fault>;
  /** Replace a blob's bytes behind the client's back (new ETag), as another writer would. */
  replace(pathname: string, bytes: Buffer): void;
  close(): Promise<void>;
}

const OBJECT_HOST = /^([a-z0-9]+)\.(public|private)\.blob\.vercel-storage\.com$/;
const b64url = (data: Buffer | string) => Buffer.from(data).toString('base64url');
const hmac = (key: string, data: string) => createHmac('sha256', key).update(data).digest();

export async function startBlobServer(options: BlobServerOptions): Promise<BlobServer> {
  const storeId = randomBytes(8).toString('hex');
  const secret = randomBytes(12).toString('hex');
  const token = `vercel_blob_rw_${storeId}_${secret}`;
  const signingSecret = randomBytes(24).toString('hex');
  const blobs = new Map<string, StoredBlob>();
  const reads = new Map<string, number>();
  const apiCalls = new Map<string, number>();
  const faults = new Map<string, Fault>();
  const objectRequests: BlobServer['objectRequests'] = [];
  let abandoned = 0;
  const count = (kind: string) => apiCalls.set(kind, (apiCalls.get(kind) ?? 0) + 1);
  const origin = (access: string) => `https://${storeId}.${access}.blob.vercel-storage.com`;
  const objectUrl = (blob: StoredBlob) => `${origin(blob.access)}/${blob.pathname.split('/').map(encodeURIComponent).join('/')}`;

  const apiError = (response: ServerResponse, status: number, code: string, message: string) => {
    response.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify({ error: { code, message } }));
  };

  async function control(request: IncomingMessage, response: ServerResponse): Promise<void> {
    if (request.headers.authorization !== `Bearer ${token}` || request.headers['x-vercel-blob-store-id'] !== storeId) {
      return apiError(response, 403, 'forbidden', 'Access denied, please provide a valid token for this resource.');
    }
    const url = new URL(request.url ?? '/', 'http://api');
    const body = await readBody(request);
    if (request.method === 'PUT' && url.pathname.endsWith('/api/blob/')) {
      count('put');
      const pathname = url.searchParams.get('pathname') ?? '';
      const access = request.headers['x-vercel-blob-access'] === 'private' ? 'private' : 'public';
      if (blobs.has(pathname) && request.headers['x-allow-overwrite'] !== '1') return apiError(response, 400, 'bad_request', 'This blob already exists');
      const blob = makeBlob(pathname, access, body, String(request.headers['x-content-type'] ?? 'application/octet-stream'));
      blobs.set(pathname, blob);
      return json(response, { url: objectUrl(blob), downloadUrl: `${objectUrl(blob)}?download=1`, pathname, contentType: blob.contentType, contentDisposition: blob.contentDisposition, etag: blob.etag });
    }
    if (request.method === 'GET' && url.pathname === '/api/blob' && url.searchParams.has('url')) {
      count('head');
      const wanted = url.searchParams.get('url') ?? '';
      const pathname = wanted.startsWith('https://') ? decodeURIComponent(new URL(wanted).pathname.slice(1)) : wanted;
      const blob = blobs.get(pathname);
      if (!blob) return apiError(response, 404, 'not_found', 'The requested blob does not exist');
      const fault = faults.get(`head:${pathname}`);
      if (fault?.kind === 'slow') await new Promise((resolve) => setTimeout(resolve, fault.delayMs));
      if (fault?.kind === 'status') return apiError(response, fault.status, fault.status === 403 ? 'forbidden' : 'bad_request', 'fault');
      return json(response, {
        url: objectUrl(blob),
        downloadUrl: `${objectUrl(blob)}?download=1`,
        pathname,
        size: blob.bytes.length,
        contentType: blob.contentType,
        contentDisposition: blob.contentDisposition,
        cacheControl: blob.cacheControl,
        uploadedAt: blob.uploadedAt.toISOString(),
        etag: blob.etag,
      });
    }
    if (request.method === 'POST' && url.pathname === '/api/blob/signed-token') {
      count('signed-token');
      const asked = JSON.parse(body.toString() || '{}') as { pathname?: string; operations?: string[]; validUntil?: number };
      const payload = { storeId: `store_${storeId}`, pathname: asked.pathname ?? '*', operations: asked.operations ?? ['get'], validUntil: asked.validUntil ?? Date.now() + 3_600_000 };
      // The service's format as the client reads it: base64url(JSON payload) "." MAC; the client
      // signs URLs with HMAC(signing secret, delegation), which the object host re-derives.
      const segment = b64url(JSON.stringify(payload));
      const delegationToken = `${segment}.${b64url(hmac(signingSecret, segment))}`;
      return json(response, { delegationToken, clientSigningToken: b64url(hmac(signingSecret, delegationToken)), validUntil: payload.validUntil });
    }
    return apiError(response, 400, 'bad_request', `unsupported ${request.method} ${url.pathname}`);
  }

  function makeBlob(pathname: string, access: 'public' | 'private', bytes: Buffer, contentType: string): StoredBlob {
    const name = pathname.slice(pathname.lastIndexOf('/') + 1);
    // Like the service: images, text, PDF and media open inline, everything else is an attachment.
    const inline = /^(image|text|video|audio)\/|^application\/pdf/.test(contentType);
    const contentDisposition = `${inline ? 'inline' : 'attachment'}; filename="${name.replace(/[^\x20-\x7e]|"/g, '_')}"; filename*=UTF-8''${encodeURIComponent(name)}`;
    return {
      pathname,
      access,
      bytes,
      contentType,
      etag: `"${createHash('sha256').update(bytes).update(randomBytes(4)).digest('hex').slice(0, 20)}"`,
      uploadedAt: new Date(Math.floor(Date.now() / 1000) * 1000 - 60_000),
      lastModified: new Date(Math.floor(Date.now() / 1000) * 1000 - 60_000),
      contentDisposition,
      cacheControl: 'public, max-age=2592000',
    };
  }

  /** Checks a presigned URL as the object host does; returns why it is refused, or undefined. */
  function presignRefusal(url: URL, pathname: string, method: string): string | undefined {
    const delegation = url.searchParams.get('vercel-blob-delegation') ?? '';
    const signature = url.searchParams.get('vercel-blob-signature') ?? '';
    const [segment, mac] = delegation.split('.');
    if (!segment || !mac || !safeEqual(mac, b64url(hmac(signingSecret, segment)))) return 'delegation MAC';
    const payload = JSON.parse(Buffer.from(segment, 'base64url').toString('utf8')) as { storeId: string; pathname: string; operations: string[]; validUntil: number };
    if (payload.storeId !== `store_${storeId}`) return 'store';
    if (Date.now() > payload.validUntil) return 'delegation expired';
    const operation = method === 'HEAD' ? 'head' : 'get';
    if (!payload.operations.includes(operation)) return 'operation';
    if (payload.pathname !== '*' && payload.pathname !== pathname) return 'pathname scope';
    const lines = [`operation=${operation}`, `pathname=${pathname}`];
    const validUntil = url.searchParams.get('vercel-blob-valid-until');
    if (validUntil !== null) {
      if (Date.now() > Number(validUntil) || Number(validUntil) > payload.validUntil) return 'url expired';
      lines.push(`vercel-blob-valid-until=${validUntil}`);
    }
    lines.sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b)));
    const clientKey = b64url(hmac(signingSecret, delegation));
    return safeEqual(signature, b64url(hmac(clientKey, lines.join('\n')))) ? undefined : 'signature';
  }

  async function objectHost(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const host = OBJECT_HOST.exec(String(request.headers.host ?? '').replace(/:443$/, ''));
    const url = new URL(request.url ?? '/', 'https://object');
    let pathname: string;
    try {
      pathname = decodeURIComponent(url.pathname.slice(1));
    } catch {
      pathname = '';
    }
    const presigned = url.searchParams.has('vercel-blob-signature');
    const log = (status: number) => objectRequests.push({ method: request.method ?? '', pathname, presigned, status, headers: request.headers });
    const blob = blobs.get(pathname);
    const refuse = (status: number, text: string) => {
      log(status);
      response.writeHead(status, { 'content-type': 'text/plain' }).end(request.method === 'HEAD' ? undefined : `${text}\n`);
    };
    if (!host || host[1] !== storeId) return refuse(404, 'unknown store');
    if (request.method !== 'GET' && request.method !== 'HEAD') return refuse(405, 'method not allowed');
    if (host[2] === 'private') {
      const bearer = request.headers.authorization === `Bearer ${token}`;
      const why = bearer ? undefined : presigned ? presignRefusal(url, pathname, request.method) : 'no credentials';
      if (why) return refuse(403, `Forbidden (${why})`);
    }
    if (!blob || blob.access !== host[2]) return refuse(404, 'The requested blob does not exist');
    const disposition = url.searchParams.get('download') === '1' ? blob.contentDisposition.replace(/^inline/, 'attachment') : blob.contentDisposition;
    const served: StoredObject = {
      ...blob,
      headers: {
        'content-disposition': disposition,
        'cache-control': blob.access === 'private' ? 'private, max-age=0' : blob.cacheControl,
        'content-security-policy': 'default-src "none"',
        'x-frame-options': 'DENY',
        'x-content-type-options': 'nosniff',
        'set-cookie': 'storage-session=1; Path=/',
      },
    };
    // A compressing CDN: a gzip body with a weak ETag when the client accepts it (FIELD-NOTES).
    const acceptsGzip = /\bgzip\b/.test(String(request.headers['accept-encoding'] ?? '')) && !request.headers.range && /^text\//.test(blob.contentType);
    const fault = faults.get(pathname) ?? (acceptsGzip ? ({ kind: 'gzip' } as const) : undefined);
    if (request.method === 'GET') {
      response.on('close', () => {
        if (!response.writableFinished) abandoned += 1;
      });
    }
    const result = await serveObject(request, response, served, fault);
    log(response.statusCode);
    if (result.bodyBytes > 0) reads.set(pathname, (reads.get(pathname) ?? 0) + 1);
  }

  const api: Server = createHttpServer((request, response) => {
    control(request, response).catch((error: unknown) => apiError(response, 400, 'bad_request', String(error)));
  });
  const objects = createHttpsServer({ cert: options.cert, key: options.key }, (request, response) => {
    objectHost(request, response).catch(() => response.destroy());
  });
  api.keepAliveTimeout = 1000;
  objects.keepAliveTimeout = 1000;
  await new Promise<void>((resolve) => api.listen(0, '127.0.0.1', resolve));
  await new Promise<void>((resolve, reject) => {
    objects.once('error', reject);
    objects.listen(options.objectPort ?? 443, options.objectIp, resolve);
  }).catch(async (error: unknown) => {
    await new Promise<void>((resolve) => api.close(() => resolve()));
    throw error;
  });
  const apiPort = (api.address() as AddressInfo).port;

  return {
    storeId,
    token,
    apiUrl: `http://127.0.0.1:${apiPort}/api/blob`,
    objectIp: options.objectIp,
    objectPort: (objects.address() as AddressInfo).port,
    objectOrigin: origin,
    objectReads: (pathname) => reads.get(pathname) ?? 0,
    objectRequests,
    abandoned: () => abandoned,
    apiCalls,
    faults,
    replace(pathname, bytes) {
      const blob = blobs.get(pathname);
      if (!blob) throw new Error(`no blob ${pathname}`);
      blobs.set(pathname, { ...makeBlob(pathname, blob.access, bytes, blob.contentType) });
    },
    close: async () => {
      for (const server of [api, objects]) {
        server.closeAllConnections();
        await new Promise<void>((resolve) => server.close(() => resolve()));
      }
    },
  };
}

function safeEqual(a: string, b: string): boolean {
  const left = Buffer.from(a);
  const right = Buffer.from(b);
  return left.length === right.length && timingSafeEqual(left, right);
}

function json(response: ServerResponse, value: unknown): void {
  response.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(value));
}

async function readBody(request: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of request) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}
