/**
 * The core handler through a real `next build` + `next start` (no proxy): what actually reaches
 * the client, byte-exact, plus descriptor leaks and traversal sent with a raw HTTP client.
 */
import { request as httpRequest } from 'node:http';
import { symlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { gunzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureBuilt, fixtureApp } from '../helpers/fixture.js';
import { hashedGet, rawGet, sha256 } from '../helpers/http.js';
import { assertNoLeak } from '../helpers/hygiene.js';
import { createMediaRoot, writeLargeFile, type LargeFile } from '../helpers/media.js';
import { startNext, type RunningNext } from '../helpers/next-server.js';
import { openFilesUnder } from '../helpers/process.js';

const MiB = 1 << 20;
/** How long the fixture's open-file cache keeps an unused descriptor. */
const IDLE_MS = 300;
let media: ReturnType<typeof createMediaRoot>;
let big: LargeFile;
let server: RunningNext;
const text = 'All work and no play makes Jack a dull boy.\n'.repeat(20000);

beforeAll(async () => {
  media = createMediaRoot();
  big = writeLargeFile(path.join(media.root, 'big.bin'), 100 * MiB);
  media.write('hello.txt', 'Hello, world!\n');
  media.write('text.txt', text);
  media.write('private/secret.txt', 'private bytes\n');
  media.write('login/secret.txt', 'login bytes\n');
  media.write('hidden/secret.txt', 'hidden bytes\n');
  media.write('.env', 'SECRET=dotfile\n');
  media.write('invoices/2026-001.pdf', '%PDF-1.7 alice\n');
  media.write('invoices/2026-002.pdf', '%PDF-1.7 bob\n');
  media.write('odd/ré sumé 名前 ?#%.txt', 'odd\n');
  writeFileSync(`${media.root}-outside.txt`, 'OUTSIDE-THE-ROOT\n');
  symlinkSync(`${media.root}-outside.txt`, path.join(media.root, 'escape.txt'));
  await ensureBuilt(fixtureApp);
  server = await startNext(fixtureApp, { MEDIA_ROOT: media.root, FIXTURE_OPEN_FILE_IDLE_MS: String(IDLE_MS) });
}, 300_000);

afterAll(async () => {
  await server?.stop();
  media?.cleanup();
});

const url = (target: string) => `${server.url}${target}`;

describe('GET through next start', () => {
  it('sends 100 MiB byte-exact, with validators and no gzip', async () => {
    const response = await hashedGet(url('/files/big.bin'), { 'accept-encoding': 'gzip' });
    expect(response.status).toBe(200);
    expect(response.length).toBe(big.size);
    expect(response.sha256).toBe(big.sha256);
    expect(response.headers['content-encoding']).toBeUndefined();
    expect(response.headers['accept-ranges']).toBe('bytes');
    expect(response.headers.etag).toMatch(/^W\/"/);
    expect(response.headers['last-modified']).toMatch(/GMT$/);
    expect(response.headers['content-disposition']).toBe('attachment; filename="big.bin"');
    expect(response.headers['x-content-type-options']).toBe('nosniff');
  });

  it('sends a single range byte-exact as 206', async () => {
    const start = 37 * MiB + 5;
    const end = 61 * MiB + 17;
    const response = await hashedGet(url('/files/big.bin'), { range: `bytes=${start}-${end}` });
    expect(response.status).toBe(206);
    expect(response.headers['content-range']).toBe(`bytes ${start}-${end}/${big.size}`);
    expect(response.sha256).toBe(big.rangeHash(start, end));
  });

  it('sends multi-range as multipart/byteranges, each part byte-exact', async () => {
    const response = await hashedGet(url('/files/big.bin'), { range: 'bytes=0-99,50000-60000,-1000' });
    expect(response.status).toBe(206);
    const type = String(response.headers['content-type']);
    const boundary = /boundary=(\S+)/.exec(type)?.[1];
    expect(boundary).toBeTruthy();
    const body = response.body!.toString('latin1');
    const parts = body.split(`--${boundary}`).slice(1, -1);
    expect(parts).toHaveLength(3);
    const expected: [number, number][] = [[0, 99], [50000, 60000], [big.size - 1000, big.size - 1]];
    parts.forEach((part, index) => {
      const [start, end] = expected[index]!;
      expect(part).toContain(`Content-Range: bytes ${start}-${end}/${big.size}`);
      const bytes = Buffer.from(part.slice(part.indexOf('\r\n\r\n') + 4, -2), 'latin1');
      expect(sha256(bytes)).toBe(big.rangeHash(start, end));
    });
    expect(body.endsWith(`--${boundary}--\r\n`)).toBe(true);
  });

  it('answers an unsatisfiable range with 416 and bytes */size', async () => {
    const response = await hashedGet(url('/files/big.bin'), { range: `bytes=${big.size}-` });
    expect(response.status).toBe(416);
    expect(response.headers['content-range']).toBe(`bytes */${big.size}`);
  });

  it('revalidates with 304 and refuses a failed If-Match with 412', async () => {
    const first = await hashedGet(url('/files/hello.txt'));
    const notModified = await hashedGet(url('/files/hello.txt'), { 'if-none-match': String(first.headers.etag) });
    expect(notModified.status).toBe(304);
    expect(notModified.headers.etag).toBe(first.headers.etag);
    expect(notModified.length).toBe(0);
    const failed = await hashedGet(url('/files/hello.txt'), { 'if-match': '"something-else"' });
    expect(failed.status).toBe(412);
  });

  it('answers HEAD with headers only', async () => {
    const response = await hashedGet(url('/files/big.bin'), {}, 'HEAD');
    expect(response.status).toBe(200);
    expect(response.length).toBe(0);
    expect(response.headers.etag).toMatch(/^W\//);
  });

  it('does not gzip a 206 or a full text download (Cache-Control: no-transform)', async () => {
    const partial = await hashedGet(url('/files/text.txt'), { range: 'bytes=100-50099', 'accept-encoding': 'gzip' });
    expect(partial.status).toBe(206);
    expect(partial.headers['content-encoding']).toBeUndefined();
    expect(partial.body!.toString()).toBe(text.slice(100, 50100));
    const full = await hashedGet(url('/files/text.txt'), { 'accept-encoding': 'gzip' });
    const body = full.headers['content-encoding'] === 'gzip' ? gunzipSync(full.body!) : full.body!;
    expect(full.headers['content-encoding']).toBeUndefined();
    expect(body.toString()).toBe(text);
  });

  it('downloads odd names under the right name and bytes', async () => {
    const response = await hashedGet(url(`/files/odd/${encodeURIComponent('ré sumé 名前 ?#%.txt')}`));
    expect(response.status).toBe(200);
    expect(response.body!.toString()).toBe('odd\n');
    expect(response.headers['content-disposition']).toContain("filename*=UTF-8''r%C3%A9%20sum%C3%A9%20%E5%90%8D%E5%89%8D%20%3F#%25.txt");
  });
});

describe('authorization through next start', () => {
  it.each([
    ['/files/private/secret.txt', 403],
    ['/files/private/does-not-exist.txt', 403],
    ['/files/login/secret.txt', 401],
    ['/files/hidden/secret.txt', 404],
  ])('%s → %i without file bytes', async (target, status) => {
    const response = await rawGet(server.port, target);
    expect(response.status).toBe(status);
    expect(response.body.toString()).not.toMatch(/bytes/);
  });

  it('serves records with overrides and hides other users’ records', async () => {
    const alice = await hashedGet(url('/records/1'), { 'x-user': 'alice' });
    expect(alice.status).toBe(200);
    expect(alice.body!.toString()).toBe('%PDF-1.7 alice\n');
    expect(alice.headers['content-type']).toBe('application/pdf');
    expect(alice.headers.etag).toBe('"invoice-1-v1"');
    expect(alice.headers['content-disposition']).toBe(`attachment; filename="Rechnung 2026001 fur alice.pdf"; filename*=UTF-8''Rechnung%202026001%20f%C3%BCr%20alice.pdf`);
    expect((await hashedGet(url('/records/2'), { 'x-user': 'alice' })).status).toBe(404);
    expect((await hashedGet(url('/records/404'), { 'x-user': 'alice' })).status).toBe(404);
    expect((await hashedGet(url('/records/1'))).status).toBe(401);
  });
});

describe('virtual files through next start', () => {
  it('streams generated content, with ranges when the size is declared', async () => {
    const full = await hashedGet(url('/virtual/stream-sized'));
    expect(full.status).toBe(200);
    const lines = Array.from({ length: 20000 }, (_, n) => `line ${n}\n`).join('');
    expect(full.body!.toString()).toBe(lines);
    const partial = await hashedGet(url('/virtual/stream-sized'), { range: 'bytes=1000-1999' });
    expect(partial.status).toBe(206);
    expect(partial.body!.toString()).toBe(lines.slice(1000, 2000));
    const unsized = await hashedGet(url('/virtual/stream-unsized'), { range: 'bytes=0-9' });
    expect(unsized.status).toBe(200);
    expect(unsized.headers['accept-ranges']).toBe('none');
    expect(unsized.body!.toString()).toBe(lines);
  });
});

describe('traversal through next start (raw requests)', () => {
  // Each target is sent byte-for-byte; none may ever return another file's bytes.
  // Targets aim at `<tmp>/media-outside.txt`, which exists next to the root (`<tmp>/media`).
  it.each([
    ['/files/../media-outside.txt', 404],
    // WHATWG URL parsing turns %2e%2e into a dot-segment first: /media-outside.txt, a page 404.
    ['/files/%2e%2e/media-outside.txt', 404],
    ['/files/%2E%2E%2Fmedia-outside.txt', 400],
    ['/files/a%2F..%2F..%2Fmedia-outside.txt', 400],
    ['/files/..%5cmedia-outside.txt', 400],
    ['/files/hello.txt%00.pdf', 400],
    ['/files/%c0%af%c0%afetc/passwd', 400],
    ['/files/%', 400],
    ['/files/.env', 404],
    ['/files/escape.txt', 404],
    ['/files/%252e%252e/media-outside.txt', 404],
  ])('%s → %i', async (target, status) => {
    const response = await rawGet(server.port, target);
    expect(response.status).toBe(status);
    const body = response.body.toString();
    expect(body).not.toContain('OUTSIDE-THE-ROOT');
    expect(body).not.toContain('SECRET=dotfile');
    expect(body).not.toContain('root:x:0:0');
    expect(body).not.toContain(media.root);
    assertNoLeak(response, { paths: [media.root], reflected: target }, target);
  });
});

/** Wait until the server holds no descriptor under the media root (cached ones close when idle). */
async function descriptorsDrained(): Promise<number> {
  const deadline = Date.now() + 10_000;
  while (openFilesUnder(server.pid, media.root) > 0 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 50));
  return openFilesUnder(server.pid, media.root);
}

describe('descriptor hygiene in the running server', () => {
  it('200 HEAD requests open no file descriptor', async () => {
    expect(await descriptorsDrained()).toBe(0);
    for (let batch = 0; batch < 10; batch += 1) {
      await Promise.all(Array.from({ length: 20 }, () => hashedGet(url('/files/big.bin'), {}, 'HEAD')));
    }
    expect(openFilesUnder(server.pid, media.root)).toBe(0);
  });

  it('200 aborted downloads leak none and log no uncaught error', async () => {
    const abortOne = () =>
      new Promise<void>((resolve, reject) => {
        const req = httpRequest(url('/files/big.bin'), (res) => {
          res.once('data', () => {
            req.destroy();
            resolve();
          });
        });
        req.on('error', (error: NodeJS.ErrnoException) => (error.code === 'ECONNRESET' || req.destroyed ? resolve() : reject(error)));
        req.end();
      });
    for (let batch = 0; batch < 10; batch += 1) await Promise.all(Array.from({ length: 20 }, abortOne));
    // Every aborted download closed its own descriptor; small files the cache keeps close once idle.
    expect(await descriptorsDrained()).toBe(0);
    expect(server.output()).not.toMatch(/uncaught|ERR_INVALID_STATE|unhandled|Error:/i);
  });
});
