/**
 * `next-downloadview/instrumentation` through a real `next start`: without it Next sends the
 * library's downloads chunked (pinned here), with it they carry their exact Content-Length, and
 * nothing else changes. Raw node:http clients, so every header and every framing failure shows.
 */
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { request as httpRequest, type IncomingHttpHeaders } from 'node:http';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { gunzipSync } from 'node:zlib';
import { chromium, type Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureBuilt, exampleApp, fixtureApp, nextMajor } from '../helpers/fixture.js';
import { signedLinks } from '../../src/signed-links.js';
import { createMediaRoot } from '../helpers/media.js';
import { startNext, type RunningNext } from '../helpers/next-server.js';
import { describeWith } from '../helpers/suites.js';
import { CHROMIUM_PATH } from '../helpers/system.js';

const HINT = 'x-downloadview-length';
const MiB = 1 << 20;

let media: ReturnType<typeof createMediaRoot>;
/** Next as shipped: no hook. */
let plain: RunningNext;
/** The same build with `registerContentLength()` installed by the fixture's instrumentation.ts. */
let hooked: RunningNext;

/** Deterministic bytes that differ at every offset a range test looks at. */
function pattern(size: number, step: number): Buffer {
  const bytes = Buffer.alloc(size);
  for (let i = 0; i < size; i += 1) bytes[i] = (i * step + (i >> 11)) & 0xff;
  return bytes;
}

const binary = pattern(3 * MiB + 12345, 7);
const text = Array.from({ length: 4000 }, (_, n) => `line ${n}: all work and no play\n`).join('');
/** What the fixture route /length-hint/* wraps (see its route.ts). */
const hintText = Array.from({ length: 2000 }, (_, n) => `line ${n} of a compressible text\n`).join('');
/** /virtual/stream-sized: 20 000 `line <n>\n` lines, streamed in tiny chunks. */
const streamedLines = Array.from({ length: 20000 }, (_, n) => `line ${n}\n`).join('');

beforeAll(async () => {
  media = createMediaRoot('dv-length-');
  media.write('data.bin', binary);
  media.write('text.txt', text);
  media.write('empty.bin', Buffer.alloc(0));
  await ensureBuilt(fixtureApp);
  [plain, hooked] = await Promise.all([
    startNext(fixtureApp, { MEDIA_ROOT: media.root }),
    startNext(fixtureApp, { MEDIA_ROOT: media.root, DOWNLOADVIEW_TEST_LENGTH_HOOK: '1' }),
  ]);
}, 300_000);

afterAll(async () => {
  await Promise.all([plain?.stop(), hooked?.stop()]);
  media?.cleanup();
});

interface Exchange {
  status: number;
  headers: IncomingHttpHeaders;
  /** Header names exactly as sent, lower-cased. */
  names: string[];
  body: Buffer;
  /** The message ended as its framing says (node:http `complete`), not by a dropped connection. */
  complete: boolean;
  /** Set when the connection failed before or during the body. */
  error?: string;
}

/** One request on a fresh connection; never rejects, so failed transfers can be asserted on. */
function exchange(server: RunningNext, target: string, headers: Record<string, string> = {}, method = 'GET'): Promise<Exchange> {
  return new Promise((resolve) => {
    let settled = false;
    const finish = (result: Exchange): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      resolve(result);
    };
    const req = httpRequest(`${server.url}${target}`, { method, headers, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      const result = (error?: string): Exchange => ({
        status: res.statusCode ?? 0,
        headers: res.headers,
        names: res.rawHeaders.filter((_, i) => i % 2 === 0).map((name) => name.toLowerCase()),
        body: Buffer.concat(chunks),
        complete: res.complete,
        ...(error ? { error } : {}),
      });
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('error', (error) => finish(result(error.message)));
      res.on('close', () => finish(result(res.complete ? undefined : 'closed before the end of the body')));
    });
    // A response that neither completes nor fails would hang the test; call that a failure too.
    const timer = setTimeout(() => {
      req.destroy(new Error('timed out'));
    }, 20_000);
    req.on('error', (error) => finish({ status: 0, headers: {}, names: [], body: Buffer.alloc(0), complete: false, error: error.message }));
    req.end();
  });
}

const sha = (bytes: Uint8Array): string => createHash('sha256').update(bytes).digest('hex');

describe(`without the hook (Next ${nextMajor} as shipped)`, () => {
  it('sends the library’s full download chunked, without Content-Length', async () => {
    const response = await exchange(plain, '/files/data.bin');
    expect(response.status).toBe(200);
    expect(response.headers['content-length']).toBeUndefined();
    expect(response.headers['transfer-encoding']).toBe('chunked');
    expect(response.complete).toBe(true);
    expect(sha(response.body)).toBe(sha(binary));
    expect(response.names).not.toContain(HINT);
  });

  it('sends single and multipart ranges and HEAD without Content-Length', async () => {
    const single = await exchange(plain, '/files/data.bin', { range: 'bytes=100-199' });
    expect(single.status).toBe(206);
    expect(single.headers['content-length']).toBeUndefined();
    expect(single.body.equals(binary.subarray(100, 200))).toBe(true);
    const multi = await exchange(plain, '/files/data.bin', { range: 'bytes=0-9,1000-1099' });
    expect(multi.status).toBe(206);
    expect(multi.headers['content-type']).toMatch(/^multipart\/byteranges; boundary=/);
    expect(multi.headers['content-length']).toBeUndefined();
    const head = await exchange(plain, '/files/data.bin', {}, 'HEAD');
    expect(head.status).toBe(200);
    expect(head.headers['content-length']).toBeUndefined();
    for (const response of [single, multi, head]) expect(response.names).not.toContain(HINT);
  });

  it('strips Content-Length from a route that sets it without the library (control route)', async () => {
    const response = await exchange(plain, '/control/data.bin');
    expect(response.status).toBe(200);
    expect(response.headers['content-length']).toBeUndefined();
    expect(response.headers['transfer-encoding']).toBe('chunked');
    expect(sha(response.body)).toBe(sha(binary));
  });
});

describe('with registerContentLength()', () => {
  it('declares the exact length of a full download, chunked no more', async () => {
    const response = await exchange(hooked, '/files/data.bin');
    expect(response.status).toBe(200);
    expect(response.headers['content-length']).toBe(String(binary.length));
    expect(response.headers['transfer-encoding']).toBeUndefined();
    expect(response.complete).toBe(true);
    expect(response.body.length).toBe(binary.length);
    expect(sha(response.body)).toBe(sha(binary));
    expect(response.names).not.toContain(HINT);
  });

  it('declares the length of a single range', async () => {
    const response = await exchange(hooked, '/files/data.bin', { range: 'bytes=1000-2000999' });
    expect(response.status).toBe(206);
    expect(response.headers['content-range']).toBe(`bytes 1000-2000999/${binary.length}`);
    expect(response.headers['content-length']).toBe('2000000');
    expect(response.complete).toBe(true);
    expect(response.body.equals(binary.subarray(1000, 2001000))).toBe(true);
    expect(response.names).not.toContain(HINT);
  });

  it('declares the length of a multipart/byteranges body, equal to the bytes received', async () => {
    const response = await exchange(hooked, '/files/data.bin', { range: 'bytes=0-9,1000-1099,-5' });
    expect(response.status).toBe(206);
    const boundary = /boundary=(\S+)$/.exec(String(response.headers['content-type']))?.[1];
    expect(boundary).toBeTruthy();
    expect(response.headers['content-length']).toBe(String(response.body.length));
    expect(response.complete).toBe(true);
    expect(response.body.toString('latin1').endsWith(`--${boundary}--\r\n`)).toBe(true);
    expect(response.body.includes(binary.subarray(1000, 1100))).toBe(true);
    expect(response.names).not.toContain(HINT);
  });

  it('declares the GET length on HEAD, with no body', async () => {
    const response = await exchange(hooked, '/files/data.bin', {}, 'HEAD');
    expect(response.status).toBe(200);
    expect(response.headers['content-length']).toBe(String(binary.length));
    expect(response.body.length).toBe(0);
    expect(response.names).not.toContain(HINT);
  });

  it('counts a body streamed in many small chunks, and an empty file', async () => {
    const streamed = await exchange(hooked, '/virtual/stream-sized');
    expect(streamed.headers['content-length']).toBe(String(Buffer.byteLength(streamedLines)));
    expect(streamed.complete).toBe(true);
    expect(streamed.body.toString()).toBe(streamedLines);
    const empty = await exchange(hooked, '/files/empty.bin');
    expect(empty.status).toBe(200);
    expect(empty.headers['content-length']).toBe('0');
    expect(empty.complete).toBe(true);
    expect(empty.body.length).toBe(0);
  });

  it('keeps unsized downloads chunked', async () => {
    const response = await exchange(hooked, '/virtual/stream-unsized');
    expect(response.status).toBe(200);
    expect(response.headers['content-length']).toBeUndefined();
    expect(response.headers['transfer-encoding']).toBe('chunked');
    expect(response.body.toString()).toBe(streamedLines);
    expect(response.names).not.toContain(HINT);
  });

  it('ignores a length hint sent by the client', async () => {
    const forged = { [HINT]: '5;anything' };
    const library = await exchange(hooked, '/files/data.bin', forged);
    expect(library.headers['content-length']).toBe(String(binary.length));
    expect(library.body.length).toBe(binary.length);
    const control = await exchange(hooked, '/control/data.bin', forged);
    expect(control.headers['content-length']).toBeUndefined();
    expect(control.headers['transfer-encoding']).toBe('chunked');
    for (const response of [library, control]) expect(response.names).not.toContain(HINT);
  });

  it('removes a response hint with a forged token and declares nothing', async () => {
    const response = await exchange(hooked, '/length-hint/forged');
    expect(response.status).toBe(200);
    expect(response.names).not.toContain(HINT);
    expect(response.headers['content-length']).toBeUndefined();
    expect(response.body.toString()).toBe('forged body\n');
    // Without the hook nothing removes it: the header only exists for the hook to consume.
    const unhooked = await exchange(plain, '/length-hint/forged');
    expect(unhooked.headers[HINT]).toBe('5;forged-token');
  });

  it('declares nothing when the library’s headers come back with another status', async () => {
    const response = await exchange(hooked, '/length-hint/status');
    expect(response.status).toBe(500);
    expect(response.headers['content-length']).toBeUndefined();
    expect(response.body.toString()).toBe(hintText);
    expect(response.names).not.toContain(HINT);
  });
});

describe('compression', () => {
  it('leaves the library’s no-transform downloads uncompressed, with their exact length', async () => {
    const response = await exchange(hooked, '/files/text.txt', { 'accept-encoding': 'gzip' });
    expect(response.headers['content-encoding']).toBeUndefined();
    expect(response.headers['content-length']).toBe(String(Buffer.byteLength(text)));
    expect(response.body.toString()).toBe(text);
  });

  // Next 15 compresses no route-handler response at all: pinned in next-versions.test.ts.
  it.skipIf(nextMajor < 16)('never keeps a stale length on a response Next gzips', async () => {
    // The library's headers with no-transform dropped: Next's compress takes it, with and without the hook.
    for (const server of [plain, hooked]) {
      const response = await exchange(server, '/length-hint/transformable', { 'accept-encoding': 'gzip' });
      expect(response.status).toBe(200);
      expect(response.headers['content-encoding']).toBe('gzip');
      expect(response.headers['content-length']).toBeUndefined();
      expect(response.complete).toBe(true);
      expect(gunzipSync(response.body).toString()).toBe(hintText);
      if (server === hooked) expect(response.names).not.toContain(HINT);
    }
    // Not asking for gzip: the same response is the library's again, with its length.
    const identity = await exchange(hooked, '/length-hint/transformable');
    expect(identity.headers['content-encoding']).toBeUndefined();
    expect(identity.headers['content-length']).toBe(String(Buffer.byteLength(hintText)));
    expect(identity.body.toString()).toBe(hintText);
  });
});

describe('failed transfers with a declared length', () => {
  /** The client must see the failure: an error, or fewer bytes than declared, never a clean end. */
  function expectFailedTransfer(response: Exchange, declared: number): void {
    expect(response.complete).toBe(false);
    expect(response.error).toBeDefined();
    // The connection may close before the head leaves (status 0): a failure all the same.
    if (response.status === 0) return;
    expect(response.status).toBe(200);
    expect(response.headers['content-length']).toBe(String(declared));
    expect(response.body.length).toBeLessThan(declared);
  }

  it('fails the transfer when the source ends before the declared size', async () => {
    // /virtual/stream-short declares 100 bytes more than it yields.
    const declared = Buffer.byteLength(Array.from({ length: 40000 }, (_, n) => `line ${n}\n`).join('')) + 100;
    expectFailedTransfer(await exchange(hooked, '/virtual/stream-short'), declared);
  });

  it('fails the transfer when a wrapper swaps in a shorter or longer body under the hint', async () => {
    const declared = Buffer.byteLength(hintText);
    const shorter = await exchange(hooked, '/length-hint/shorter');
    expectFailedTransfer(shorter, declared);
    // The bytes that did arrive are the wrapper's, but never all of them as a "complete" file.
    expect(hintText.startsWith(shorter.body.toString())).toBe(true);
    expectFailedTransfer(await exchange(hooked, '/length-hint/longer'), declared);
    // Exactly the declared bytes, then more: the last declared byte is held back until end().
    const appended = await exchange(hooked, '/length-hint/appended');
    expectFailedTransfer(appended, declared);
  });

  it('keeps serving after failed transfers', async () => {
    const response = await exchange(hooked, '/files/data.bin');
    expect(response.complete).toBe(true);
    expect(response.headers['content-length']).toBe(String(binary.length));
    expect(sha(response.body)).toBe(sha(binary));
    expect(hooked.output()).toContain('DOWNLOADVIEW_LENGTH_MISMATCH');
  });
});

describe('responses that are not the library’s', () => {
  /** Headers that legitimately differ between two servers or two requests. */
  const varying = new Set(['date', 'etag', 'last-modified', 'keep-alive', 'connection']);
  const comparable = (response: Exchange) => ({
    status: response.status,
    names: response.names.filter((name) => !varying.has(name)),
    contentLength: response.headers['content-length'],
    transferEncoding: response.headers['transfer-encoding'],
    contentEncoding: response.headers['content-encoding'],
    body: sha(response.body),
  });

  it.each([
    ['the control route', '/control/text.txt', {}],
    ['the control route, gzipped', '/control/text.txt', { 'accept-encoding': 'gzip' }],
    ['a route Next does not know (404 page)', '/no-such-route', {}],
    ['the library’s own 404', '/files/missing.txt', {}],
    ['the library’s 416', '/files/data.bin', { range: `bytes=${10 * binary.length}-` }],
  ] as const)('leaves %s exactly as Next sends it', async (_, target, headers) => {
    const [without, withHook] = await Promise.all([exchange(plain, target, headers), exchange(hooked, target, headers)]);
    expect(withHook.error).toBeUndefined();
    expect(comparable(withHook)).toEqual(comparable(without));
  });
});

const EXAMPLE_SECRET = 'content-length-example-secret-71c3e9a0d5b2';

// A browser is the client this issue is for: Chromium must see the total size while downloading.
describeWith(['chromium'])('a real browser (Chromium)', () => {
  let browser: Browser;
  let example: RunningNext;
  let exampleData: string | undefined;
  let downloads: string;
  const size = 8 * MiB + 4321;
  const big = pattern(size, 31);

  beforeAll(async () => {
    media.write('big.bin', big);
    downloads = mkdtempSync(path.join(tmpdir(), 'dv-downloads-'));
    await ensureBuilt(exampleApp);
    // The example's files are private: a signed link (its secret) opens this one; its database goes to a temp dir.
    exampleData = mkdtempSync(path.join(tmpdir(), 'dv-example-data-'));
    example = await startNext(exampleApp, { MEDIA_ROOT: media.root, DOWNLOADVIEW_SECRET: EXAMPLE_SECRET, DATA_DIR: exampleData });
    browser = await chromium.launch({
      executablePath: CHROMIUM_PATH,
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    });
  }, 300_000);

  afterAll(async () => {
    await browser?.close();
    await example?.stop();
    if (exampleData) rmSync(exampleData, { recursive: true, force: true });
    if (downloads) rmSync(downloads, { recursive: true, force: true });
  });

  interface Progress {
    state: string;
    receivedBytes: number;
    totalBytes: number;
    guid: string;
  }

  /** Download `url` in Chromium (CDP download events) and return every progress report. */
  async function download(url: string): Promise<{ progress: Progress[]; file: Buffer }> {
    const cdp = await browser.newBrowserCDPSession();
    const progress: Progress[] = [];
    const ended = new Promise<Progress>((resolve) => {
      cdp.on('Browser.downloadProgress', (event: Progress) => {
        progress.push(event);
        if (event.state !== 'inProgress') resolve(event);
      });
    });
    await cdp.send('Browser.setDownloadBehavior', { behavior: 'allowAndName', downloadPath: downloads, eventsEnabled: true });
    const { targetId } = await cdp.send('Target.createTarget', { url });
    const last = await Promise.race([ended, new Promise<never>((_, reject) => setTimeout(() => reject(new Error('download did not end in 60 s')), 60_000))]);
    await cdp.send('Target.closeTarget', { targetId }).catch(() => undefined);
    await cdp.detach();
    expect(last.state).toBe('completed');
    return { progress, file: readFileSync(path.join(downloads, last.guid)) };
  }

  it('sees the total size of a download from the example app while it runs', async () => {
    const link = await signedLinks({ secret: EXAMPLE_SECRET }).sign('/files/big.bin', { expiresIn: 600 });
    const { progress, file } = await download(`${example.url}${link}`);
    const running = progress.filter((event) => event.state === 'inProgress');
    expect(running.length).toBeGreaterThan(0);
    // Known from the first report on (the first comes with the response head, 0 bytes received):
    // the size came from Content-Length, not from counting at the end.
    for (const event of running) expect(event.totalBytes).toBe(size);
    expect(file.length).toBe(size);
    expect(sha(file)).toBe(sha(big));
  });

  it('sees no size while it runs without the hook (why the hook exists)', async () => {
    const { progress, file } = await download(`${plain.url}/files/big.bin`);
    const running = progress.filter((event) => event.state === 'inProgress');
    // Chromium reports 0 ("unknown") until the body has ended, then the count it made.
    expect(running.filter((event) => event.totalBytes === 0).length).toBeGreaterThan(0);
    for (const event of running) if (event.receivedBytes < size) expect(event.totalBytes).toBe(0);
    expect(sha(file)).toBe(sha(big));
  });
});
