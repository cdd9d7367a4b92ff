/**
 * onDownload through a real `next start`: one event per request, real client aborts mid-body with
 * the bytes counted, and an offload behind the shipped nginx config, whose access log holds the
 * bytes the event cannot know.
 */
import { request as httpRequest } from 'node:http';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureBuilt } from '../helpers/fixture.js';
import { hashedGet } from '../helpers/http.js';
import { createMediaRoot, writeLargeFile, type LargeFile } from '../helpers/media.js';
import { repositoryRoot, startNext, type RunningNext } from '../helpers/next-server.js';
import { startProxy, type RunningProxy } from '../helpers/proxies.js';
import { describeWith } from '../helpers/suites.js';

const MiB = 1 << 20;
const proxyApp = path.join(repositoryRoot, 'test/fixtures/proxy-app');
// The fixture's other routes verify signed links: their modules need a secret to load.
const SECRET_ENV = { DOWNLOADVIEW_SECRET: 'lifecycle-test-secret-8c2e61f0a9d4b7e3' };

interface LoggedEvent {
  outcome: string;
  status: number;
  bytesSent: number;
  bodyLength?: number;
  ranges?: { start: number; end: number }[];
  offload?: { backend: string; location: string };
  key?: string;
  size?: number;
  method: string;
}

let media: ReturnType<typeof createMediaRoot>;
let big: LargeFile;

beforeAll(async () => {
  media = createMediaRoot('dv-lifecycle-');
  big = writeLargeFile(path.join(media.root, 'big.bin'), 64 * MiB);
  await ensureBuilt(proxyApp);
}, 300_000);

afterAll(() => media?.cleanup());

/** The events the server printed so far. */
function eventsOf(server: RunningNext): LoggedEvent[] {
  return [...server.output().matchAll(/^\[download\] (.*)$/gm)].map((match) => JSON.parse(match[1]!) as LoggedEvent);
}

/** Wait for the server to have printed `count` events; returns the new ones. */
async function nextEvents(server: RunningNext, before: number, count = 1): Promise<LoggedEvent[]> {
  const deadline = Date.now() + 15_000;
  while (eventsOf(server).length < before + count) {
    if (Date.now() > deadline) throw new Error(`expected ${count} new event(s), server printed:\n${server.output()}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  await new Promise((resolve) => setTimeout(resolve, 200));
  const events = eventsOf(server).slice(before);
  expect(events, 'exactly one event per request').toHaveLength(count);
  return events;
}

/** GET, read at least `atLeast` body bytes, then drop the connection. Resolves with the bytes received. */
function abortAfter(url: string, atLeast: number): Promise<number> {
  return new Promise((resolve, reject) => {
    let received = 0;
    const req = httpRequest(url, (res) => {
      res.on('data', (chunk: Buffer) => {
        received += chunk.length;
        if (received >= atLeast && !req.destroyed) {
          req.destroy();
          resolve(received);
        }
      });
      res.on('end', () => reject(new Error(`the body ended after ${received} bytes, before the abort (status ${res.statusCode})`)));
    });
    req.on('error', (error: NodeJS.ErrnoException) => (req.destroyed ? undefined : reject(error)));
    req.end();
  });
}

describe('onDownload through next start (the app streams)', () => {
  let server: RunningNext;
  beforeAll(async () => {
    server = await startNext(proxyApp, { ...SECRET_ENV, MEDIA_ROOT: media.root });
  }, 60_000);
  afterAll(async () => server?.stop());

  it('completed: 64 MiB byte-exact, every byte counted', async () => {
    const before = eventsOf(server).length;
    const response = await hashedGet(`${server.url}/traced/big.bin`);
    expect(response.sha256).toBe(big.sha256);
    const [event] = await nextEvents(server, before);
    expect(event).toMatchObject({ outcome: 'completed', status: 200, bytesSent: big.size, bodyLength: big.size, key: 'big.bin', size: big.size });
  });

  it('aborted: a client that drops the connection mid-body; the bytes handed over are counted', async () => {
    const before = eventsOf(server).length;
    const received = await abortAfter(`${server.url}/traced/big.bin`, 2 * MiB);
    const [event] = await nextEvents(server, before);
    expect(event!.outcome).toBe('aborted');
    // What the server took from the handler: at least what arrived, at most what socket buffers hold beyond it.
    expect(event!.bytesSent).toBeGreaterThanOrEqual(received);
    expect(event!.bytesSent).toBeLessThan(big.size);
  });

  it('a resumed download: the range served and its bytes', async () => {
    const before = eventsOf(server).length;
    const start = 40 * MiB + 3;
    const response = await hashedGet(`${server.url}/traced/big.bin`, { range: `bytes=${start}-` });
    expect(response.status).toBe(206);
    expect(response.sha256).toBe(big.rangeHash(start, big.size - 1));
    const [event] = await nextEvents(server, before);
    expect(event).toMatchObject({ outcome: 'completed', status: 206, bytesSent: big.size - start, ranges: [{ start, end: big.size - 1 }] });
  });

  it('HEAD, 304 and a missing file: one event each', async () => {
    const before = eventsOf(server).length;
    const head = await hashedGet(`${server.url}/traced/big.bin`, {}, 'HEAD');
    await hashedGet(`${server.url}/traced/big.bin`, { 'if-none-match': String(head.headers.etag) });
    await hashedGet(`${server.url}/traced/nope.bin`);
    const events = await nextEvents(server, before, 3);
    expect(events.map(({ outcome, status, bytesSent }) => [outcome, status, bytesSent])).toEqual([
      ['head', 200, 0],
      ['not-modified', 304, 0],
      ['not-found', 404, 0],
    ]);
  });
});

describeWith(['nginx'])('onDownload behind nginx (offloaded)', () => {
  let server: RunningNext;
  let proxy: RunningProxy;
  let runtimeDir: string;
  beforeAll(async () => {
    server = await startNext(proxyApp, { ...SECRET_ENV, MEDIA_ROOT: media.root, DOWNLOADVIEW_BACKEND: 'nginx', DOWNLOADVIEW_RULES: `${media.root}=/_protected/media` });
    runtimeDir = mkdtempSync(path.join(tmpdir(), 'ndv-lifecycle-nginx-'));
    proxy = await startProxy('nginx', { upstreamPort: server.port, mediaRoot: media.root, runtimeDir });
  }, 60_000);
  afterAll(async () => {
    await proxy?.stop();
    await server?.stop();
    if (runtimeDir) rmSync(runtimeDir, { recursive: true, force: true });
  });

  it('tells the hand-off; the bytes are in the proxy’s access log ($body_bytes_sent)', async () => {
    const before = eventsOf(server).length;
    const response = await hashedGet(`${proxy.url}/traced/big.bin`);
    expect(response.sha256).toBe(big.sha256);
    const [event] = await nextEvents(server, before);
    expect(event).toMatchObject({ outcome: 'offloaded', status: 200, bytesSent: 0, offload: { backend: 'nginx', location: '/_protected/media/big.bin' } });
    // The shipped config logs nginx's `combined` format: "$request" $status $body_bytes_sent.
    const log = readFileSync(path.join(runtimeDir, 'access.log'), 'utf8');
    expect(log).toContain(`"GET /traced/big.bin HTTP/1.1" 200 ${big.size} `);
  });
});
