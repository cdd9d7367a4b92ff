/**
 * Descriptor, memory and abort hygiene through `next start` (issue 18): a thousand downloads
 * aborted at seeded random points, a thousand HEADs and 304s, a hundred slow readers at once, and
 * a file changed while it streams. The server must end where it began: no extra descriptor, no
 * error or warning in its log, resident memory back near its warm baseline.
 */
import { randomBytes } from 'node:crypto';
import { openSync, closeSync, writeSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { seededRandom } from '../../bench/stats.js';
import { ensureBuilt, fixtureApp } from '../helpers/fixture.js';
import { dechunk, hashedGet, sha256 } from '../helpers/http.js';
import { createMediaRoot, writeLargeFile, type LargeFile } from '../helpers/media.js';
import { startNext, type RunningNext } from '../helpers/next-server.js';
import { startProxy, type RunningProxy } from '../helpers/proxies.js';
import { describeWith } from '../helpers/suites.js';
import { descriptorsOf, openFilesUnder, residentBytesOf } from '../helpers/process.js';

const KiB = 1024;
const MiB = 1 << 20;
/** The fixture's open-file cache closes an unused descriptor after this (fast leak checks). */
const IDLE_MS = 300;
/** Seed of the abort points: a failure names it, and the same run can be replayed. */
const SEED = process.env.HYGIENE_SEED ?? 'issue-18';
/**
 * What JavaScript may still hold (V8 heap used + external memory, Buffers included) above the warm
 * baseline once the 3,000 requests are done, both read after forced full collections (the fixture
 * server runs with --expose-gc; /control/gc). Measured +1.2, -0.5, -0.1 and -0.7 MiB on the shared
 * 2-core machine: the figure is about exact, so 8 MiB is room for a busy CI, not for a leak. A
 * 32 KiB copy kept per streamed body added 14 MiB here and fails it (RSS moved +8.5, +21.3 MiB: neither
 * the old 192 MiB nor the 96 MiB RSS margin would notice).
 */
const HELD_MARGIN = 8 * MiB;
/**
 * Resident memory above the warm baseline, also after forced collections: the allocator keeps
 * freed chunks and V8 some heap pages, so RSS stays noisier than the heap (measured +4.3, +32.0,
 * +2.4 and +1.7 MiB; without the collections +32 to +93 MiB, hence the former 192 MiB margin).
 */
const RSS_MARGIN = 96 * MiB;
/**
 * The slow readers' room above PER_SLOW_READER each, after forced collections while they are
 * still connected: heap + external grew 55.8, 57.2, 57.6 and 57.4 MiB for 100 readers (the bound
 * without margin is 50 MiB), RSS 83.9, 65.2, 82.2 and 98.0 MiB (formerly 128 MiB of room,
 * unforced; RSS is the loose backstop, the held figure the sharp check).
 * A body stream buffering 4 chunks instead of 1 measured +135.8 MiB held and fails the held bound;
 * its RSS growth (119.5 MiB) stayed under both the RSS bound and the old one.
 */
const SLOW_READER_HELD_MARGIN = 24 * MiB;
const SLOW_READER_MARGIN = 96 * MiB;
/** Per slow reader: the server may hold about one 256 KiB chunk in the web stream and one in the socket's write queue. */
const PER_SLOW_READER = 2 * 256 * KiB;
const SLOW_READERS = 100;

let media: ReturnType<typeof createMediaRoot>;
let big: LargeFile;
let server: RunningNext;
let etag: string;

beforeAll(async () => {
  media = createMediaRoot('dv-hygiene-');
  big = writeLargeFile(path.join(media.root, 'big.bin'), 32 * MiB);
  media.write('small.txt', 'small and cached\n'.repeat(100));
  await ensureBuilt(fixtureApp);
  // --expose-gc for this server only: the fixture's /control/gc route collects before each memory reading.
  server = await startNext(fixtureApp, { MEDIA_ROOT: media.root, FIXTURE_OPEN_FILE_IDLE_MS: String(IDLE_MS), NODE_OPTIONS: '--expose-gc' });
  etag = String((await hashedGet(`${server.url}/files/small.txt`, {}, 'HEAD')).headers.etag);
}, 900_000);

afterAll(async () => {
  await server?.stop();
  media?.cleanup();
});

/** Send `request` on a raw socket; `watch` sees every chunk received and may end the connection. */
function rawExchange(request: string, watch: (chunk: Buffer, socket: Socket) => void, port = server.port): Promise<void> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    socket.setTimeout(30_000, () => socket.destroy());
    socket.on('connect', () => socket.write(request));
    socket.on('data', (chunk: Buffer) => watch(chunk, socket));
    // ECONNRESET and friends are what an abort looks like from here.
    socket.on('error', () => undefined);
    socket.on('close', () => resolve());
  });
}

const requestFor = (target: string, headers: Record<string, string> = {}, port = server.port): string =>
  [`GET ${target} HTTP/1.1`, `Host: 127.0.0.1:${port}`, 'Connection: close', ...Object.entries(headers).map(([name, value]) => `${name}: ${value}`), '', ''].join('\r\n');

/** Eight 256 KiB parts spread over the file: a multipart body with boundaries to abort on. */
const MULTIPART_RANGE = `bytes=${Array.from({ length: 8 }, (_, n) => `${n * 4 * MiB}-${n * 4 * MiB + 256 * KiB - 1}`).join(',')}`;

type AbortKind = 'before-headers' | 'mid-body' | 'multipart-boundary';

/** One download the client abandons at a point drawn from `random`, from `next start` or a proxy in front of it. */
function abortedDownload(kind: AbortKind, random: () => number, port = server.port): Promise<void> {
  switch (kind) {
    case 'before-headers': {
      // Half leave after the whole request, half in the middle of it.
      const request = requestFor('/files/big.bin', {}, port);
      const cut = random() < 0.5 ? request.length : 1 + Math.floor(random() * (request.length - 1));
      return new Promise((resolve) => {
        const socket = connect(port, '127.0.0.1', () => {
          socket.write(request.slice(0, cut), () => socket.destroy());
        });
        socket.on('error', () => undefined);
        socket.on('close', () => resolve());
      });
    }
    case 'mid-body': {
      const leaveAfter = 1 + Math.floor(random() * 2 * MiB);
      let received = 0;
      return rawExchange(requestFor('/files/big.bin', {}, port), (chunk, socket) => {
        received += chunk.length;
        if (received >= leaveAfter) socket.destroy();
      }, port);
    }
    case 'multipart-boundary': {
      // Leave right after the k-th part header arrived (its boundary and Content-Range).
      const leaveAtPart = 1 + Math.floor(random() * 8);
      let seen = 0;
      let tail = '';
      return rawExchange(requestFor('/files/big.bin', { range: MULTIPART_RANGE }, port), (chunk, socket) => {
        const text = tail + chunk.toString('latin1');
        // nginx writes the header in lower case.
        seen += text.split(/content-range: bytes /i).length - 1;
        tail = text.slice(-24);
        if (seen >= leaveAtPart) socket.destroy();
      }, port);
    }
  }
}

/** Run `count` tasks, `width` at a time. */
async function inParallel(count: number, width: number, task: (index: number) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: width }, async () => {
      while (next < count) await task(next++);
    }),
  );
}

/** Wait until `read()` is at most `limit` (or the deadline passed); the last value read. */
async function settle(read: () => number, limit: number, deadlineMs = 15_000): Promise<number> {
  const deadline = Date.now() + deadlineMs;
  let value = read();
  while (value > limit && Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 100));
    value = read();
  }
  return value;
}

/** Warm every path the suite uses, so lazily created server state counts in the baseline. */
async function warmUp(): Promise<void> {
  const random = seededRandom(`${SEED}/warm-up`);
  for (let round = 0; round < 5; round += 1) {
    await inParallel(60, 10, (index) => abortedDownload((['before-headers', 'mid-body', 'multipart-boundary'] as const)[index % 3]!, random));
    await inParallel(60, 10, async () => void (await hashedGet(`${server.url}/files/big.bin`, {}, 'HEAD')));
    await inParallel(60, 10, async () => void (await hashedGet(`${server.url}/files/small.txt`, { 'if-none-match': etag })));
    const whole = await hashedGet(`${server.url}/files/big.bin`);
    expect(whole.sha256).toBe(big.sha256);
  }
}

interface Memory {
  /** VmRSS of the server's process tree, read right after the collections. */
  rss: number;
  /** What JavaScript still holds after full collections: V8's heap plus Buffers and other external memory. */
  held: number;
}

/** Force full collections in the server (test/fixtures/app/app/control/gc) and read its memory. */
async function collected(): Promise<Memory> {
  const response = await hashedGet(`${server.url}/control/gc`);
  expect(response.status).toBe(200);
  const usage = JSON.parse(response.body!.toString('utf8')) as NodeJS.MemoryUsage;
  return { rss: residentBytesOf(server.pid), held: usage.heapUsed + usage.external };
}

const mib = (bytes: number): string => `${(bytes / MiB).toFixed(1)} MiB`;

const logProblems = (output: string): string[] => output.split('\n').filter((line) => /uncaught|unhandled|warning|error|ERR_/i.test(line));

describe('after 1,000 aborted downloads, 1,000 HEADs and 1,000 304s through next start', () => {
  it('holds no extra descriptor, logs nothing, and its memory returns near the warm baseline', async () => {
    await warmUp();
    await settle(() => openFilesUnder(server.pid, media.root), 0);
    const baseline = { descriptors: descriptorsOf(server.pid), ...(await collected()) };

    const random = seededRandom(SEED);
    const kinds: AbortKind[] = ['before-headers', 'mid-body', 'multipart-boundary'];
    await inParallel(1000, 25, () => abortedDownload(kinds[Math.floor(random() * kinds.length)]!, random));
    const heads = new Set<number>();
    await inParallel(1000, 25, async () => void heads.add((await hashedGet(`${server.url}/files/big.bin`, {}, 'HEAD')).status));
    const revalidations = new Set<number>();
    await inParallel(1000, 25, async () => void revalidations.add((await hashedGet(`${server.url}/files/small.txt`, { 'if-none-match': etag })).status));
    expect([...heads]).toEqual([200]);
    expect([...revalidations]).toEqual([304]);

    // The server still serves, byte-exact.
    expect((await hashedGet(`${server.url}/files/big.bin`)).sha256).toBe(big.sha256);

    const filesUnderRoot = await settle(() => openFilesUnder(server.pid, media.root), 0);
    const descriptors = await settle(() => descriptorsOf(server.pid), baseline.descriptors);
    const after = await collected();
    console.log(`[hygiene] seed ${SEED}: descriptors ${baseline.descriptors} → ${descriptors}; after GC: RSS ${mib(baseline.rss)} → ${mib(after.rss)} (margin ${RSS_MARGIN / MiB} MiB), heap+external ${mib(baseline.held)} → ${mib(after.held)} (margin ${HELD_MARGIN / MiB} MiB)`);
    expect(filesUnderRoot).toBe(0);
    expect(descriptors).toBeLessThanOrEqual(baseline.descriptors);
    expect(after.held).toBeLessThanOrEqual(baseline.held + HELD_MARGIN);
    expect(after.rss).toBeLessThanOrEqual(baseline.rss + RSS_MARGIN);
    expect(logProblems(server.output())).toEqual([]);
  }, 300_000);
});

/** A client that asks for the whole file and then reads almost nothing: its socket stays paused. */
function slowReader(): { socket: Socket; received: () => number } {
  let received = 0;
  const socket = connect(server.port, '127.0.0.1', () => socket.write(requestFor('/files/big.bin')));
  socket.on('error', () => undefined);
  socket.on('data', (chunk: Buffer) => {
    received += chunk.length;
    // A few KiB per second at most: read one chunk, then pause for a second.
    socket.pause();
    setTimeout(() => socket.resume(), 1000).unref();
  });
  return { socket, received: () => received };
}

describe(`${SLOW_READERS} slow readers on a large file at once`, () => {
  it('hold about one chunk each in the server, and a normal download is served meanwhile', async () => {
    await settle(() => openFilesUnder(server.pid, media.root), 0);
    const before = await collected();
    const readers = Array.from({ length: SLOW_READERS }, slowReader);
    try {
      // Until every reader got its first bytes and the server stopped reading for them (its
      // socket buffers full): then their memory is what it will stay.
      await settle(() => SLOW_READERS - readers.filter((reader) => reader.received() > 0).length, 0, 30_000);
      await new Promise((resolve) => setTimeout(resolve, 3000));
      const started = Date.now();
      const normal = await hashedGet(`${server.url}/files/big.bin`);
      const seconds = (Date.now() - started) / 1000;
      // Collected while the readers are still connected: what stays is what the server holds for them.
      const during = await collected();
      const growth = { rss: during.rss - before.rss, held: during.held - before.held };
      const bound = { rss: SLOW_READERS * PER_SLOW_READER + SLOW_READER_MARGIN, held: SLOW_READERS * PER_SLOW_READER + SLOW_READER_HELD_MARGIN };
      const stillStreaming = readers.filter((reader) => !reader.socket.destroyed).length;
      console.log(`[hygiene] ${SLOW_READERS} slow readers, after GC: RSS growth ${mib(growth.rss)} (bound ${mib(bound.rss)}), heap+external growth ${mib(growth.held)} (bound ${mib(bound.held)}); a normal 32 MiB download took ${seconds.toFixed(2)} s; ${stillStreaming} readers still connected`);
      expect(readers.every((reader) => reader.received() < big.size)).toBe(true);
      expect(stillStreaming).toBe(SLOW_READERS);
      expect(normal.status).toBe(200);
      expect(normal.sha256).toBe(big.sha256);
      expect(seconds).toBeLessThan(30);
      expect(growth.held).toBeLessThan(bound.held);
      expect(growth.rss).toBeLessThan(bound.rss);
    } finally {
      for (const reader of readers) reader.socket.destroy();
    }
    expect(await settle(() => openFilesUnder(server.pid, media.root), 0)).toBe(0);
  }, 120_000);
});

describe('a file rewritten in place while it streams through next start', () => {
  it('reaches the client as an incomplete body, never a complete-looking mix', async () => {
    const old = randomBytes(16 * MiB);
    const file = media.write('changing.bin', old);
    const next = randomBytes(16 * MiB);
    const chunks: Buffer[] = [];
    let rewritten = false;
    await rawExchange(requestFor('/files/changing.bin'), (chunk, socket) => {
      chunks.push(chunk);
      if (rewritten) return;
      rewritten = true;
      // The headers went out with the old size and ETag; now the file is rewritten in place, at
      // the same size and without truncating it first (as `dd conv=notrunc` or a database does):
      // no read ever comes up short, only the bytes change.
      socket.pause();
      const fd = openSync(file, 'r+');
      writeSync(fd, next);
      closeSync(fd);
      socket.resume();
    });
    const data = Buffer.concat(chunks);
    const head = data.subarray(0, data.indexOf('\r\n\r\n')).toString('latin1');
    const raw = data.subarray(head.length + 4);
    // Next sends streamed bodies chunked (docs/http.md), or with the length where a hook restores it.
    const declared = /content-length: (\d+)/i.exec(head)?.[1];
    const chunked = /transfer-encoding: chunked/i.test(head);
    expect(declared !== undefined || chunked).toBe(true);
    const body = chunked ? dechunk(raw) : raw;
    const complete = chunked ? raw.subarray(-7).toString('latin1') === '\r\n0\r\n\r\n' || raw.subarray(-5).toString('latin1') === '0\r\n\r\n' : body.length === Number(declared);
    console.log(`[hygiene] rewritten mid-stream: ${chunked ? 'chunked' : `Content-Length ${declared}`}, ${body.length} bytes received, ${complete ? 'complete' : 'incomplete'}`);
    // A complete body would have to be one real version; the server had read a few MiB at most
    // when the rewrite came, so it must end the transfer short.
    if (complete) expect([sha256(old), sha256(next)]).toContain(sha256(body));
    expect(complete).toBe(false);
    expect(body.length).toBeLessThan(old.length);
  });
});

describeWith(['nginx'])('1,000 aborted downloads offloaded to nginx', () => {
  let app: RunningNext;
  let proxy: RunningProxy;
  beforeAll(async () => {
    app = await startNext(fixtureApp, { MEDIA_ROOT: media.root, DOWNLOADVIEW_BACKEND: 'nginx', DOWNLOADVIEW_RULES: `${media.root}=/_protected/media` });
    proxy = await startProxy('nginx', { upstreamPort: app.port, mediaRoot: media.root });
  }, 60_000);
  afterAll(async () => {
    await proxy?.stop();
    await app?.stop();
  });

  it('leave no extra descriptor in the app or in nginx, and nothing in the app log', async () => {
    const kinds: AbortKind[] = ['before-headers', 'mid-body', 'multipart-boundary'];
    const warm = seededRandom(`${SEED}/nginx-warm-up`);
    await inParallel(90, 10, (index) => abortedDownload(kinds[index % 3]!, warm, proxy.port));
    const settled = () => settle(() => descriptorsOf(app.pid) + descriptorsOf(proxy.pid), 0, 3000);
    await settled();
    const baseline = { app: descriptorsOf(app.pid), nginx: descriptorsOf(proxy.pid) };
    const random = seededRandom(`${SEED}/nginx`);
    await inParallel(1000, 25, () => abortedDownload(kinds[Math.floor(random() * kinds.length)]!, random, proxy.port));
    const whole = await hashedGet(`${proxy.url}/files/big.bin`);
    expect(whole.sha256).toBe(big.sha256);
    const appAfter = await settle(() => descriptorsOf(app.pid), baseline.app);
    const nginxAfter = await settle(() => descriptorsOf(proxy.pid), baseline.nginx);
    console.log(`[hygiene] behind nginx: app descriptors ${baseline.app} → ${appAfter}, nginx ${baseline.nginx} → ${nginxAfter}`);
    expect(appAfter).toBeLessThanOrEqual(baseline.app);
    expect(nginxAfter).toBeLessThanOrEqual(baseline.nginx);
    // Offloaded: the app never opened the file.
    expect(openFilesUnder(app.pid, media.root)).toBe(0);
    expect(logProblems(app.output())).toEqual([]);
  }, 180_000);
});
