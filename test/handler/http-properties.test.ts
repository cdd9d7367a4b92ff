/**
 * Property-based checks of the HTTP core, in-process (issue 18): generated Range, If-Range,
 * If-Match, If-None-Match, If-Modified-Since and If-Unmodified-Since headers over files of
 * generated sizes, through downloadHandler with the filesystem(), virtual(), record(), remote() and
 * blob() sources (the remote ones against the project's HTTP upstream and Blob-compatible store on
 * 127.0.0.1, every byte request a real one).
 * The oracle is test/helpers/http-model.ts (RFC 9110, independent of src/http). 1,000 generated
 * requests by default (~3 s); `FC_NUM_RUNS=20000` runs more; a failure prints its seed and path
 * (replay with `fc.assert(..., { seed, path })`).
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import fc from 'fast-check';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { put } from '@vercel/blob';
import { blob, downloadHandler, filesystem, record, remote, virtual, type DownloadRouteHandler, type Source } from '../../src/index.js';
import { startRemoteWorld, useRemoteWorldHere, type RemoteWorld } from '../servers/remote-world.js';
import { startUpstreamServer, storedObject, type UpstreamServer } from '../servers/upstream-server.js';
import { allowedOutcomes, checkExchange, requestCase, type Representation, type RequestCase } from '../helpers/http-model.js';
import { bodyOf, call, mapLoaded, releaseUnread, segments } from './support.js';

const CHUNK = 256 * 1024; // the streaming chunk size (src/streams/body-stream.ts), as a boundary to probe
// Around the one-read path (≤ one chunk) and the streamed one, plus an empty and a multi-MiB file.
const SIZES = [0, 1, 2, 79, 1000, CHUNK - 1, CHUNK, CHUNK + 1, 2 * CHUNK + 1, 3 * (1 << 20) + 7];
const KINDS = ['filesystem', 'virtual', 'virtual-stream', 'record', 'remote', 'blob'] as const;
type Kind = (typeof KINDS)[number];
// Fractional milliseconds: Last-Modified and the model both work in whole seconds (§5.6.7).
const MTIME = new Date(Date.UTC(2024, 4, 6, 7, 8, 9, 500));
const numRuns = process.env.FC_NUM_RUNS ? Number(process.env.FC_NUM_RUNS) : undefined;

let dir: string;
let upstream: UpstreamServer;
let world: RemoteWorld;
const files = new Map<number, Buffer>();

beforeAll(async () => {
  dir = mkdtempSync(path.join(tmpdir(), 'dv-props-'));
  upstream = await startUpstreamServer();
  world = await startRemoteWorld();
  await useRemoteWorldHere(world);
  for (const size of SIZES) {
    const bytes = randomBytes(size);
    files.set(size, bytes);
    writeFileSync(path.join(dir, `f${size}.bin`), bytes);
    utimesSync(path.join(dir, `f${size}.bin`), MTIME, MTIME);
    upstream.routes.set(`/f${size}.bin`, { object: storedObject(bytes, 'application/octet-stream', MTIME) });
    await put(`props/f${size}.bin`, bytes, { access: 'private', token: world.blob.token, contentType: 'application/octet-stream', addRandomSuffix: false });
  }
}, 60_000);
afterEach(releaseUnread);
afterAll(async () => {
  rmSync(dir, { recursive: true, force: true });
  await upstream?.close();
  await world?.close();
});

/** The source of `kind`, serving file `f<size>.bin` for the param `path: ['f<size>.bin']`. */
function sourceOf(kind: Kind): Source {
  const fsSource = filesystem({ root: dir });
  const sizeOf = (params: Record<string, unknown>) => Number(String(params.path).replace(/^f(\d+)\.bin$/, '$1'));
  switch (kind) {
    case 'filesystem':
      return fsSource;
    case 'virtual':
      return virtual((request, { params }) => ({ name: 'x.bin', body: files.get(sizeOf(params))!, mtime: MTIME }));
    case 'virtual-stream':
      // A stream read forward only, with its size declared: the multipart path must stay ascending.
      return virtual((request, { params }) => {
        const bytes = files.get(sizeOf(params))!;
        return { name: 'x.bin', size: bytes.length, mtime: MTIME, etag: `"s${bytes.length}"`, body: () => chunked(bytes) };
      });
    case 'record':
      return record({
        find: (request, { params }) => ({ size: sizeOf(params) }),
        file: (row) => ({ file: fsSource.file(`f${row.size}.bin`), etag: `"rev-${row.size}"`, filename: 'rec.bin' }),
      }) as Source;
    case 'remote':
      return remote({ url: (request, { params }) => `${upstream.url}/f${sizeOf(params)}.bin` });
    case 'blob':
      return blob({ access: 'private', token: world.blob.token, prefix: 'props/' });
  }
}

/** A web stream of `bytes` in uneven chunks. */
function chunked(bytes: Buffer): ReadableStream<Uint8Array> {
  let offset = 0;
  return new ReadableStream({
    pull(controller) {
      if (offset >= bytes.length) return controller.close();
      const size = 1 + ((offset * 7919) % 100_003);
      controller.enqueue(bytes.subarray(offset, offset + size));
      offset += size;
    },
  });
}

const handlers = new Map<string, DownloadRouteHandler>();
function handlerFor(kind: Kind, maxRanges: number): DownloadRouteHandler {
  const id = `${kind}/${maxRanges}`;
  if (!handlers.has(id)) handlers.set(id, downloadHandler({ source: sourceOf(kind), maxRanges, onError: () => {} }));
  return handlers.get(id)!;
}

interface Answer {
  status: number;
  headers: Headers;
  body: Buffer;
}

async function ask(kind: Kind, size: number, maxRanges: number, c: Pick<RequestCase, 'method' | 'headers'>): Promise<Answer> {
  const response = await call(handlerFor(kind, maxRanges), segments(`f${size}.bin`), { method: c.method, headers: c.headers });
  return { status: response.status, headers: response.headers, body: await bodyOf(response) };
}

/** What the server says about each file: the validators a client would learn from a plain GET. */
const representations = new Map<string, Representation>();
async function representationOf(kind: Kind, size: number): Promise<Representation> {
  const id = `${kind}/${size}`;
  if (!representations.has(id)) {
    const plain = await ask(kind, size, 16, { method: 'GET', headers: {} });
    expect(plain.status).toBe(200);
    const lastModified = plain.headers.get('last-modified');
    representations.set(id, { size, etag: plain.headers.get('etag') ?? undefined, lastModified: lastModified ? Date.parse(lastModified) : undefined });
  }
  return representations.get(id)!;
}

/** Checks one generated request against the model; returns the outcome for the statistics. */
async function checkCase(kind: Kind, size: number, maxRanges: number, c: RequestCase, rep: Representation): Promise<string> {
  const answer = await ask(kind, size, maxRanges, c);
  const allowed = allowedOutcomes(c, rep, { maxRanges, now: Date.now() });
  const outcome = checkExchange(
    { status: answer.status, header: (name) => answer.headers.get(name) ?? undefined, body: answer.body, lengthRequired: true },
    allowed,
    files.get(size)!,
    { method: c.method, maxParts: maxRanges, ascending: true, contentRangeOn416: 'required' },
  );
  if (c.method === 'HEAD') {
    // RFC 9110 §9.3.2: HEAD sends the header fields GET would; §14.2: Range is ignored for HEAD,
    // so the GET to compare with is the same request without it.
    const { range: _ignored, ...rest } = c.headers;
    const get = await ask(kind, size, maxRanges, { method: 'GET', headers: rest });
    expect(answer.status).toBe(get.status);
    expect([...answer.headers]).toEqual([...get.headers]);
  }
  return String(outcome);
}

const caseOf = (maxSpecs: number) =>
  fc.record({ kind: fc.constantFrom(...KINDS), size: fc.constantFrom(...SIZES), maxRanges: fc.constantFrom(1, 3, 16) }).chain((setup) => requestCaseFor(setup, maxSpecs));

/** The representations are learned before the properties run, so generation stays synchronous. */
const known = new Map<string, Representation>();
function requestCaseFor(setup: { kind: Kind; size: number; maxRanges: number }, maxSpecs: number) {
  const rep = known.get(`${setup.kind}/${setup.size}`)!;
  return requestCase(rep, { maxSpecs }).map((c) => ({ ...setup, c, rep }));
}

describe('downloadHandler under generated conditional and Range headers (RFC 9110)', () => {
  beforeAll(async () => {
    for (const kind of KINDS) for (const size of SIZES) known.set(`${kind}/${size}`, await representationOf(kind, size));
  });

  it('answers every request as the RFC allows: §13.2.2 order, §14.2 Range, byte-exact 206 parts', async () => {
    const seen = new Map<string, number>();
    await fc.assert(
      fc.asyncProperty(caseOf(24), async ({ kind, size, maxRanges, c, rep }) => {
        const outcome = await checkCase(kind, size, maxRanges, c, rep);
        seen.set(outcome, (seen.get(outcome) ?? 0) + 1);
      }),
      { numRuns: numRuns ?? 1000 },
    );
    // The generator must reach every outcome, or the property proves less than it says.
    expect([...seen.keys()].sort()).toEqual(['304', '412', '416', 'full', 'partial']);
    // And the remote sources must really have been asked for bytes (ranges included).
    expect(upstream.requests.some((request) => request.method === 'GET' && request.headers.range !== undefined)).toBe(true);
    expect(world.blob.objectRequests.length).toBeGreaterThan(0);
  }, 120_000);

  it('holds with hundreds of ranges in one header (overlapping, reversed, huge)', async () => {
    await fc.assert(
      fc.asyncProperty(caseOf(400), async ({ kind, size, c, rep }) => {
        // A cap above the spec count, so the sets are resolved rather than ignored.
        await checkCase(kind, size, 1000, c, rep);
      }),
      { numRuns: Math.ceil((numRuns ?? 1000) / 8) },
    );
  }, 120_000);
});

describe('downloadHandler work bounds', () => {
  // A safety bound, not a benchmark (like test/unit/http/hostile-input.test.ts): best of three,
  // generous for a busy 2-core machine (measured under load: 3 ms capped, 6 ms for 10,000
  // overlapping specs, 64 ms for 10,000 parts, which is 10,000 positional reads); the I/O work
  // is bounded exactly below, by counting reads.
  const BOUND_MS = 1500;
  const size = 3 * (1 << 20) + 7;

  async function bestOfThree(run: () => Promise<void>): Promise<number> {
    let best = Infinity;
    for (let round = 0; round < 3; round += 1) {
      const start = performance.now();
      await run();
      best = Math.min(best, performance.now() - start);
    }
    return best;
  }

  it('answers a 10,000-range header in bounded time: ignored under the cap, 10,000 parts above it', async () => {
    // Descending, one byte every 300: nothing coalesces, every part must be sorted into place.
    const specs = Array.from({ length: 10_000 }, (_, i) => `${(9_999 - i) * 300}-${(9_999 - i) * 300}`).join(', ');
    const headers = { range: `bytes=${specs}` };
    const capped = await bestOfThree(async () => {
      const answer = await ask('filesystem', size, 16, { method: 'GET', headers });
      expect(answer.status).toBe(200);
    });
    expect(capped).toBeLessThan(BOUND_MS);
    let answer: Answer | undefined;
    // Timed: the request and its whole body; the (slower) check of 10,000 parts comes after.
    const uncapped = await bestOfThree(async () => {
      answer = await ask('filesystem', size, 10_000, { method: 'GET', headers });
    });
    const wanted = Array.from({ length: 10_000 }, (_, i) => ({ start: i * 300, end: i * 300 }));
    checkExchange(
      { status: answer!.status, header: (name) => answer!.headers.get(name) ?? undefined, body: answer!.body, lengthRequired: true },
      [{ kind: 'partial', wanted }],
      files.get(size)!,
      { method: 'GET', maxParts: 10_000, ascending: true, contentRangeOn416: 'required' },
    );
    expect(answer!.body.toString('latin1').split('Content-Range:').length - 1).toBe(10_000);
    expect(uncapped).toBeLessThan(BOUND_MS * 2);
    // 10,000 copies of one overlapping range in a 10,000-cap handler: one part, not 10,000.
    const overlapping = await bestOfThree(async () => {
      const answer = await ask('filesystem', size, 10_000, { method: 'GET', headers: { range: `bytes=${Array(10_000).fill('5-9').join(',')}` } });
      expect(answer.status).toBe(206);
      expect(answer.headers.get('content-range')).toBe(`bytes 5-9/${size}`);
    });
    expect(overlapping).toBeLessThan(BOUND_MS);
  }, 60_000);

  it('reads the file once per part: 10,000 parts, 10,000 reads, one open', async () => {
    let opens = 0;
    let reads = 0;
    const counting = mapLoaded(filesystem({ root: dir }), (file) => ({
      ...file,
      async open(...args) {
        opens += 1;
        const body = await file.open(...args);
        return { read: (position, length) => ((reads += 1), body.read(position, length)), close: () => body.close() };
      },
    }));
    const GET = downloadHandler({ source: counting, maxRanges: 10_000 });
    const specs = Array.from({ length: 10_000 }, (_, i) => `${(9_999 - i) * 300}-${(9_999 - i) * 300}`).join(',');
    const response = await call(GET, segments(`f${size}.bin`), { headers: { range: `bytes=${specs}` } });
    expect(response.status).toBe(206);
    await bodyOf(response);
    expect([opens, reads]).toEqual([1, 10_000]);
  }, 60_000);
});
