/** Shared setup for in-process handler tests: a media folder and a way to call a handler. */
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, readdirSync, readlinkSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { DownloadFile, DownloadRouteHandler, RouteParams, Source } from '../../src/index.js';
import { callRoute } from '../../src/testing/index.js';

export interface Media {
  root: string;
  /** Bytes written for each relative path. */
  files: Record<string, Buffer>;
  cleanup(): void;
}

/** A temp folder with text, binary, nested, odd-named and hidden files. */
export function createMedia(): Media {
  // `<tmp>/dv-media-XXXXXX/media`: files put next to the root go with it on cleanup.
  const parent = mkdtempSync(path.join(tmpdir(), 'dv-media-'));
  const root = path.join(parent, 'media');
  const files: Record<string, Buffer> = {
    'hello.txt': Buffer.from('Hello, world!\n'),
    'data.bin': randomBytes(1024 * 1024 + 123),
    'nested/deep/report.pdf': randomBytes(5000),
    'odd names/ré sumé 名前 ?#%.txt': Buffer.from('odd\n'),
    'empty.txt': Buffer.alloc(0),
    '.env': Buffer.from('SECRET=1\n'),
  };
  for (const [relative, bytes] of Object.entries(files)) {
    mkdirSync(path.dirname(path.join(root, relative)), { recursive: true });
    writeFileSync(path.join(root, relative), bytes);
  }
  return { root, files, cleanup: () => rmSync(parent, { recursive: true, force: true }) };
}

export interface CallOptions {
  method?: string;
  headers?: Record<string, string>;
  signal?: AbortSignal;
}

const unread: Response[] = [];

/** Call a route handler the way Next does (next-downloadview/testing's callRoute), tracking the body. */
export async function call(handler: DownloadRouteHandler, params: RouteParams, options: CallOptions = {}): Promise<Response> {
  return track(await callRoute(handler, 'http://localhost/files/x', { ...options, params }), options.signal);
}

/** GET `url` through a handler mounted at `route` (params read from the URL, as Next does). */
export async function fetchRoute(handler: DownloadRouteHandler, url: string, options: CallOptions & { route?: string } = {}): Promise<Response> {
  return track(await callRoute(handler, url, { route: '/files/[...path]', ...options }), options.signal);
}

function track(response: Response, signal: AbortSignal | undefined): Response {
  if (!signal?.aborted) unread.push(response);
  return response;
}

/**
 * Cancel every body a test did not read, as Next does when a client goes away, so open
 * descriptor counts are exact (an unread Response would otherwise hold its file until GC).
 */
export async function releaseUnread(): Promise<void> {
  for (const response of unread.splice(0)) {
    if (response.body && !response.body.locked) await response.body.cancel();
  }
}

/** `path: ['a', 'b.txt']` from `'a/b.txt'`, as Next gives a catch-all. */
export const segments = (key: string): RouteParams => ({ path: key.split('/') });

/** The response with its body cancelled (releases the file), for header-only assertions. */
export async function headersOf(pending: Promise<Response>): Promise<Response> {
  const response = await pending;
  await response.body?.cancel();
  return response;
}

/**
 * Byte-exact comparison for large bodies: toEqual walks a MiB element by element (seconds on a busy
 * machine); this compares natively and reports the first differing offset.
 */
export function expectBytes(actual: Buffer, expected: Buffer | undefined): void {
  if (expected === undefined) throw new Error('expectBytes: no expected bytes');
  if (actual.equals(expected)) return;
  let offset = 0;
  while (offset < Math.min(actual.length, expected.length) && actual[offset] === expected[offset]) offset += 1;
  throw new Error(`bodies differ: ${actual.length} bytes vs ${expected.length} expected, first difference at byte ${offset}`);
}

export async function bodyOf(response: Response): Promise<Buffer> {
  return Buffer.from(await response.arrayBuffer());
}

/** Descriptors of this process open on files under `prefix`. */
export function openUnder(prefix: string): number {
  let count = 0;
  for (const fd of readdirSync('/proc/self/fd')) {
    try {
      if (readlinkSync(`/proc/self/fd/${fd}`).startsWith(prefix)) count += 1;
    } catch {
      // closed meanwhile
    }
  }
  return count;
}

/** Split a multipart/byteranges body into its parts' headers and bytes. */
export function parseMultipart(body: Buffer, contentType: string): { headers: Record<string, string>; bytes: Buffer }[] {
  const boundary = /boundary=([^;]+)/.exec(contentType)?.[1];
  if (!boundary) throw new Error(`no boundary in ${contentType}`);
  const delimiter = Buffer.from(`--${boundary}`);
  const parts: { headers: Record<string, string>; bytes: Buffer }[] = [];
  let offset = body.indexOf(delimiter);
  for (;;) {
    const start = offset + delimiter.length;
    if (body.subarray(start, start + 2).toString() === '--') break;
    const headerEnd = body.indexOf('\r\n\r\n', start);
    const headers: Record<string, string> = {};
    for (const line of body.subarray(start + 2, headerEnd).toString('latin1').split('\r\n')) {
      const colon = line.indexOf(':');
      headers[line.slice(0, colon).toLowerCase()] = line.slice(colon + 1).trim();
    }
    const next = body.indexOf(delimiter, headerEnd);
    parts.push({ headers, bytes: body.subarray(headerEnd + 4, next - 2) });
    offset = next;
  }
  return parts;
}

/**
 * `inner` with `afterLoad` run on every file it loads: to act between the stat (load) and the open
 * (a file replaced in between), or to wrap what the handler gets (a spy on open()).
 */
export function mapLoaded(inner: Source, afterLoad: (file: DownloadFile) => DownloadFile): Source {
  return {
    kind: inner.kind,
    async locate(request, context) {
      const located = await inner.locate(request, context);
      return located && { target: located.target, load: async () => {
        const file = await located.load();
        return file && afterLoad(file);
      } };
    },
  };
}
