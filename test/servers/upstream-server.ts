/**
 * An HTTP upstream on 127.0.0.1 for `remote()`: objects by path, faults by path, and a log of
 * what was asked and which replies the client abandoned. No test framework inside (bench reuse).
 */
import { createHash } from 'node:crypto';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { serveObject, type Fault, type StoredObject } from './object-response.js';

export interface UpstreamRoute {
  object?: StoredObject;
  fault?: Fault;
  /** Faults for GET only (HEAD answered normally), e.g. a body that breaks after good metadata. */
  getFault?: Fault;
  /** Answer HEAD with this status (an upstream without HEAD, or a URL signed for GET only). */
  refuseHead?: number;
  /** A redirect instead of the object: `Location` as given. */
  redirect?: string;
  /** After this many GETs, the object is replaced by `replacement` (a new version mid-download). */
  replaceAfterGets?: number;
  replacement?: StoredObject;
  /** GETs this route has answered so far (counts towards `replaceAfterGets`). */
  gets?: number;
}

export interface LoggedRequest {
  method: string;
  path: string;
  headers: IncomingHttpHeaders;
}

export interface UpstreamServer {
  url: string;
  port: number;
  routes: Map<string, UpstreamRoute>;
  requests: LoggedRequest[];
  /** Replies the client stopped waiting for or reading before the end (connection closed). */
  abandoned(): number;
  /** GETs that sent body bytes, per path. */
  bodyReads(path: string): number;
  close(): Promise<void>;
}

/** A stored object with a strong ETag from its bytes. */
export function storedObject(bytes: Buffer | string, contentType = 'application/octet-stream', lastModified = new Date(Date.now() - 3_600_000)): StoredObject {
  const data = Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes);
  return { bytes: data, etag: `"${createHash('sha256').update(data).digest('hex').slice(0, 16)}"`, lastModified, contentType };
}

export async function startUpstreamServer(host = '127.0.0.1'): Promise<UpstreamServer> {
  const routes = new Map<string, UpstreamRoute>();
  const requests: LoggedRequest[] = [];
  const reads = new Map<string, number>();
  let abandoned = 0;
  const server: Server = createServer((request, response) => {
    const path = decodeURIComponent(new URL(request.url ?? '/', 'http://upstream').pathname);
    requests.push({ method: request.method ?? '', path, headers: request.headers });
    const route = routes.get(path);
    if (!route) {
      response.writeHead(404, { 'content-type': 'text/plain' }).end('no such object\n');
      return;
    }
    if (route.refuseHead !== undefined && request.method === 'HEAD') {
      response.writeHead(route.refuseHead, { 'content-length': '0' }).end();
      return;
    }
    if (route.redirect) {
      response.writeHead(302, { location: route.redirect, 'content-length': '0' }).end();
      return;
    }
    response.on('close', () => {
      if (!response.writableFinished) abandoned += 1;
    });
    if (request.method === 'GET') {
      route.gets = (route.gets ?? 0) + 1;
      if (route.replaceAfterGets !== undefined && route.replacement && route.gets > route.replaceAfterGets) route.object = route.replacement;
    }
    const fault = route.fault ?? (request.method === 'GET' ? route.getFault : undefined);
    serveObject(request, response, route.object!, fault)
      .then((result) => {
        if (result.bodyBytes > 0) reads.set(path, (reads.get(path) ?? 0) + 1);
      })
      .catch(() => response.destroy());
  });
  // Keep-alive sockets from fetch must not hold close() up.
  server.keepAliveTimeout = 1000;
  await new Promise<void>((resolve) => server.listen(0, host, resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://${host}:${port}`,
    port,
    routes,
    requests,
    abandoned: () => abandoned,
    bodyReads: (path) => reads.get(path) ?? 0,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
