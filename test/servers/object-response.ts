/**
 * Serving one stored object over node:http the way a storage host does (RFC 9110: Range, If-Match,
 * If-None-Match, HEAD), with injectable faults. Shared by the Blob server and the upstream server.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { gzipSync } from 'node:zlib';

export interface StoredObject {
  bytes: Buffer;
  /** Quoted strong ETag, e.g. `"abc"`. */
  etag: string;
  lastModified: Date;
  contentType: string;
  /** Extra response headers (the store's own Content-Disposition, CSP, ...). */
  headers?: Record<string, string>;
}

/**
 * What goes wrong with a reply:
 * - `slow`: headers only after `delayMs`;
 * - `stall`: half the body, then silence (the connection stays open);
 * - `reset`: half the body, then the connection is destroyed;
 * - `status`: answer `status` (with a small HTML error page);
 * - `short` / `long`: a chunked body with fewer / more bytes than the object;
 * - `no-length`: no Content-Length on HEAD or GET (chunked);
 * - `gzip`: a gzip-coded body whatever the request asked for;
 * - `ignore-range`: a 200 with the whole object for a Range request;
 * - `no-accept-ranges`: no Accept-Ranges header on HEAD;
 * - `trickle`: the body in 1 KiB pieces every `delayMs`;
 * - `ignore-conditions`: If-Match and If-Unmodified-Since are not evaluated (a store that ignores them).
 */
export type Fault =
  | { kind: 'slow'; delayMs: number }
  | { kind: 'stall' }
  | { kind: 'reset' }
  | { kind: 'status'; status: number }
  | { kind: 'short' }
  | { kind: 'long' }
  | { kind: 'no-length' }
  | { kind: 'gzip' }
  | { kind: 'ignore-range' }
  | { kind: 'no-accept-ranges' }
  | { kind: 'trickle'; delayMs: number }
  | { kind: 'ignore-conditions' };

export interface ServeResult {
  /** Bytes of the object put on the wire (0 for HEAD, 304, 412, 416). */
  bodyBytes: number;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Answer `request` for `object` (already authorised), applying `fault`. */
export async function serveObject(request: IncomingMessage, response: ServerResponse, object: StoredObject, fault?: Fault): Promise<ServeResult> {
  if (fault?.kind === 'slow') await sleep(fault.delayMs);
  if (fault?.kind === 'status') {
    const page = `<html><body>error ${fault.status}</body></html>`;
    response.writeHead(fault.status, { 'content-type': 'text/html', 'content-length': String(page.length) });
    response.end(request.method === 'HEAD' ? undefined : page);
    return { bodyBytes: 0 };
  }
  const size = object.bytes.length;
  const headers: Record<string, string> = {
    'content-type': object.contentType,
    etag: object.etag,
    'last-modified': object.lastModified.toUTCString(),
    ...object.headers,
  };
  if (fault?.kind !== 'no-accept-ranges') headers['accept-ranges'] = 'bytes';

  const ignoreConditions = fault?.kind === 'ignore-conditions';
  const ifMatch = ignoreConditions ? undefined : request.headers['if-match'];
  if (ifMatch !== undefined && ifMatch !== '*' && !ifMatch.split(',').map((tag) => tag.trim()).includes(object.etag)) {
    response.writeHead(412, { 'content-length': '0' });
    response.end();
    return { bodyBytes: 0 };
  }
  const ifUnmodified = ignoreConditions ? undefined : request.headers['if-unmodified-since'];
  if (ifMatch === undefined && ifUnmodified !== undefined && Math.floor(object.lastModified.getTime() / 1000) * 1000 > Date.parse(ifUnmodified)) {
    response.writeHead(412, { 'content-length': '0' });
    response.end();
    return { bodyBytes: 0 };
  }
  const ifNoneMatch = request.headers['if-none-match'];
  if (ifNoneMatch !== undefined && ifNoneMatch.split(',').map((tag) => tag.trim().replace(/^W\//, '')).includes(object.etag)) {
    response.writeHead(304, { etag: object.etag });
    response.end();
    return { bodyBytes: 0 };
  }

  let body = object.bytes;
  let status = 200;
  const range = /^bytes=(\d*)-(\d*)$/.exec(String(request.headers.range ?? ''));
  if (range && fault?.kind !== 'ignore-range' && request.method === 'GET') {
    const start = range[1] === '' ? Math.max(0, size - Number(range[2])) : Number(range[1]);
    const end = range[1] === '' || range[2] === '' ? size - 1 : Math.min(Number(range[2]), size - 1);
    if (start >= size || start > end) {
      response.writeHead(416, { 'content-range': `bytes */${size}`, 'content-length': '0' });
      response.end();
      return { bodyBytes: 0 };
    }
    status = 206;
    headers['content-range'] = `bytes ${start}-${end}/${size}`;
    body = object.bytes.subarray(start, end + 1);
  }
  if (fault?.kind === 'gzip') {
    body = gzipSync(body);
    headers['content-encoding'] = 'gzip';
    headers.etag = `W/${object.etag}`;
  }
  if (fault?.kind === 'short') body = body.subarray(0, Math.max(0, body.length - 10));
  if (fault?.kind === 'long') body = Buffer.concat([body, Buffer.from('EXTRA BYTES')]);
  const chunked = fault?.kind === 'no-length' || fault?.kind === 'short' || fault?.kind === 'long';
  if (!chunked) headers['content-length'] = String(fault?.kind === 'gzip' ? body.length : body.length);

  if (request.method === 'HEAD') {
    if (fault?.kind !== 'no-length') headers['content-length'] = String(size);
    response.writeHead(status, headers);
    response.end();
    return { bodyBytes: 0 };
  }
  response.writeHead(status, headers);
  if (fault?.kind === 'stall' || fault?.kind === 'reset') {
    const half = body.subarray(0, Math.floor(body.length / 2));
    await new Promise<void>((resolve) => response.write(half, () => resolve()));
    if (fault.kind === 'reset') {
      await sleep(20);
      response.socket?.destroy();
    }
    return { bodyBytes: half.length };
  }
  if (fault?.kind === 'trickle') {
    for (let offset = 0; offset < body.length && !response.destroyed; offset += 1024) {
      if (!response.write(body.subarray(offset, offset + 1024))) await new Promise((resolve) => response.once('drain', resolve));
      await sleep(fault.delayMs);
    }
    response.end();
    return { bodyBytes: body.length };
  }
  response.end(body);
  return { bodyBytes: body.length };
}
