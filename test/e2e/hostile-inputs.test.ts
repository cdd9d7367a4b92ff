/**
 * Issue 18: hostile-input corpora through a real `next start`, directly and behind each shipped
 * proxy config (nginx, Apache + mod_xsendfile, lighttpd, Caddy, the app offloading to each):
 * - the path corpus (test/corpora/paths.ts): 0 bytes from outside the root, no 500 from the
 *   handler, every legit name byte-exact; with the path guard (`/files/`) and without it (`/secured/`);
 * - the on-disk file names of test/corpora/filenames.ts: header bytes, the decoded download name;
 * - client-sent offload, hop-by-hop and Next-internal headers, and request smuggling basics;
 * and every response scanned for leaks (test/helpers/hygiene.ts).
 */
import { randomBytes } from 'node:crypto';
import { chmodSync, mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FILENAME_CASES, INVALID_UTF8_NAME, parseContentDisposition } from '../corpora/filenames.js';
import { hasMalformedEncoding, pathCorpus, plantPathCorpusMedia, type PathCase, type PlantedMedia } from '../corpora/paths.js';
import { ensureBuilt, fixtureApp, nextMajor } from '../helpers/fixture.js';
import { rawExchange, rawGet, statusesOf, type RawResponse } from '../helpers/http.js';
import { findLeaks, offloadHeadersIn, type LeakMarkers } from '../helpers/hygiene.js';
import { createMediaRoot } from '../helpers/media.js';
import { startNext, type RunningNext } from '../helpers/next-server.js';
import { PROXY_KINDS, startOffloading, type ProxyKind } from '../helpers/proxies.js';
import { describeEachProxy } from '../helpers/suites.js';

const marker = randomBytes(6).toString('hex');
/** Secrets the app's environment holds: none may ever reach a client. */
const secretEnv = {
  DOWNLOADVIEW_TEST_SECRET: `env-secret-${marker}`,
  BLOB_READ_WRITE_TOKEN: `vercel_blob_rw_store${marker}_token${marker}`,
  DOWNLOADVIEW_SIGNING_SECRET: `signing-secret-${marker}`,
};

let media: ReturnType<typeof createMediaRoot>;
let planted: PlantedMedia;
let corpus: PathCase[];
let leakMarkers: LeakMarkers;

beforeAll(async () => {
  media = createMediaRoot('dv-hostile-');
  chmodSync(media.root, 0o755);
  planted = plantPathCorpusMedia(media.root, marker);
  corpus = pathCorpus(media.root, planted.outside);
  mkdirSync(path.join(media.root, 'names'));
  for (const entry of FILENAME_CASES) {
    if (entry.onDisk) writeFileSync(path.join(media.root, 'names', entry.name), `bytes of ${entry.note}\n`);
  }
  writeFileSync(Buffer.concat([Buffer.from(path.join(media.root, 'names/')), INVALID_UTF8_NAME]), 'invalid utf-8 name\n');
  leakMarkers = { paths: [path.dirname(media.root)], secrets: [...planted.secretMarkers, ...Object.values(secretEnv)] };
  await ensureBuilt(fixtureApp);
}, 300_000);

afterAll(() => {
  media?.cleanup();
  for (const line of figures) console.log(`[hostile-inputs] ${line}`);
});

/** Where a corpus is sent: the port, and whether 500s of Next's own are possible there. */
interface Target {
  port: number;
  /** The proxy in front, if any. */
  kind?: ProxyKind;
  /** `next start` directly (its own statuses), or a proxy in front (which may refuse first). */
  direct: boolean;
}

/** Figures per run, printed once at the end for docs/security.md. */
const figures: string[] = [];

/** `count` requests at most `width` at a time, in order of the inputs. */
async function inBatches<T, R>(items: readonly T[], width: number, run: (item: T) => Promise<R>): Promise<R[]> {
  const out: R[] = [];
  for (let i = 0; i < items.length; i += width) out.push(...(await Promise.all(items.slice(i, i + width).map(run))));
  return out;
}

/** Problems with one response, whatever was asked: secrets, leaks, raw control bytes in headers. */
function hygieneProblems(response: RawResponse, target: string): string[] {
  const problems: string[] = [];
  const body = response.body.toString('latin1');
  for (const secret of planted.secretMarkers) if (body.includes(secret)) problems.push(`${shorten(target)}: body holds the secret ${secret}`);
  const success = response.status >= 200 && response.status < 300;
  problems.push(...findLeaks(response, { ...leakMarkers, skipBody: success, reflected: target }).map((leak) => `${shorten(target)} (${response.status}): ${leak}`));
  for (const [name, value] of Object.entries(response.headers)) {
    if (/[^\t\x20-\x7e]/.test(String(value))) problems.push(`${shorten(target)}: header ${name} holds a byte outside 0x20-0x7E: ${JSON.stringify(value)}`);
  }
  return problems;
}

/**
 * Send the path corpus under `prefix`; returns problems (empty when all hold) and counts.
 * `guarded`: the path guard runs for this prefix, so malformed encoding must be a 400.
 */
async function runPathCorpus(where: Target, prefix: string, guarded: boolean): Promise<{ problems: string[]; nextOwn500: number; refused: number; served: number }> {
  const problems: string[] = [];
  let nextOwn500 = 0;
  let refused = 0;
  let served = 0;
  await inBatches(corpus, 12, async (entry) => {
    const target = `${prefix}${entry.tail}`;
    let response: RawResponse;
    try {
      response = await rawGet(where.port, target);
    } catch (error) {
      problems.push(`${shorten(target)} [${entry.family}]: no response (${(error as Error).message})`);
      return;
    }
    problems.push(...hygieneProblems(response, target));
    const malformed = hasMalformedEncoding(target);
    if (response.status >= 500) {
      // Next answers malformed percent-encoding with its own 500 before any route runs; only a
      // guard can turn it into a 400. Anything else at 5xx is the handler's (or a proxy's) failure.
      if (malformed && !guarded && response.status === 500) nextOwn500 += 1;
      else problems.push(`${shorten(target)} [${entry.family}]: ${response.status}`);
      return;
    }
    // Next redirects `//` and `\\` to a normalised path (308) before the guard runs; that path is guarded in turn.
    const normalisedFirst = response.status === 308 && /\/\/|\\/.test(target);
    if (malformed && guarded && where.direct && response.status !== 400 && !normalisedFirst) problems.push(`${shorten(target)} [${entry.family}]: guarded malformed encoding got ${response.status}, not 400`);
    const ok = response.status >= 200 && response.status < 300;
    if (ok) served += 1;
    else refused += 1;
    const expectation = entry.expect;
    if (expectation.kind === 'refused') {
      if (ok) problems.push(`${shorten(target)} [${entry.family}]: served (${response.status}, ${response.body.length} bytes), must be refused`);
      return;
    }
    const bytes = planted.files[expectation.file]!;
    if (!ok && expectation.kind === 'file-or-refused' && response.status >= 400) return;
    if (response.status !== 200 || !response.body.equals(Buffer.from(bytes))) {
      problems.push(`${shorten(target)} [${entry.family}]: expected ${expectation.file} byte-exact, got ${response.status} ${JSON.stringify(response.body.toString('latin1').slice(0, 60))}`);
    }
  });
  return { problems, nextOwn500, refused, served };
}

/** The on-disk names: served ones byte-exact with the expected download name; refused ones 404. */
async function runFilenames(where: Target, guarded: boolean): Promise<string[]> {
  const problems: string[] = [];
  const onDisk = FILENAME_CASES.filter((entry) => entry.onDisk);
  await inBatches(onDisk, 8, async (entry) => {
    const target = `/files/names/${encodeURIComponent(entry.name)}`;
    const response = await rawGet(where.port, target);
    problems.push(...hygieneProblems(response, target));
    if (entry.onDisk === 'refused') {
      // 404 from the key rules; 400 where the guard sees an encoded backslash first.
      if (response.status !== 404 && !(guarded && response.status === 400)) problems.push(`${entry.note}: ${response.status}, expected 404`);
      return;
    }
    // lighttpd refuses control characters in a URL (400) before the app sees it.
    if (where.kind === 'lighttpd' && response.status === 400 && /[\x00-\x1f\x7f]/.test(entry.name)) return;
    if (response.status !== 200) return void problems.push(`${entry.note} (${target}): ${response.status}`);
    if (!response.body.equals(Buffer.from(`bytes of ${entry.note}\n`))) problems.push(`${entry.note}: wrong bytes`);
    try {
      const disposition = parseContentDisposition(String(response.headers['content-disposition']));
      if (disposition.type !== 'attachment') problems.push(`${entry.note}: disposition type ${disposition.type}`);
      if (disposition.filename !== entry.expected) problems.push(`${entry.note}: download name ${JSON.stringify(disposition.filename)}, expected ${JSON.stringify(entry.expected)}`);
    } catch (error) {
      problems.push(`${entry.note}: Content-Disposition ${JSON.stringify(response.headers['content-disposition'])}: ${(error as Error).message}`);
    }
  });
  // A name that is not UTF-8 cannot be named by a request: the key cannot be decoded.
  const invalid = await rawGet(where.port, `/files/names/${[...INVALID_UTF8_NAME].map((byte) => `%${byte.toString(16).padStart(2, '0')}`).join('')}`);
  problems.push(...hygieneProblems(invalid, 'invalid UTF-8 name'));
  if (where.direct && guarded && invalid.status !== 400) problems.push(`invalid UTF-8 name: ${invalid.status}, expected the guard's 400`);
  if (invalid.status >= 200 && invalid.status < 300) problems.push(`invalid UTF-8 name: served`);
  return problems;
}

/** Request headers a client must not be able to use to choose the file, the backend or Next's routing. */
function trickHeaders(): Record<string, Record<string, string>> {
  const outside = planted.outside;
  return {
    'X-Accel-Redirect': { 'X-Accel-Redirect': '/_protected/media/../media-outside.txt' },
    'X-Accel-Redirect (dotfile)': { 'X-Accel-Redirect': '/_protected/media/.env' },
    'X-Sendfile': { 'X-Sendfile': outside },
    'X-Sendfile-Type + X-Accel-Mapping': { 'X-Sendfile-Type': 'X-Accel-Redirect', 'X-Accel-Mapping': `${path.dirname(outside)}=/_protected/media` },
    'X-Accel-Remote-Url': { 'X-Accel-Remote-Url': 'http://127.0.0.1:9/secret' },
    'X-Lighttpd-Send-File': { 'X-Lighttpd-Send-File': outside, 'X-Sendfile2': `${outside} 0-` },
    'Connection: x-accel-redirect': { Connection: 'close, x-accel-redirect, x-sendfile' },
    'X-Forwarded-*': { 'X-Forwarded-For': '127.0.0.1, 10.0.0.1', 'X-Forwarded-Host': 'evil.example', 'X-Forwarded-Proto': 'gopher', 'X-Forwarded-Prefix': '/../..', 'X-Original-URL': '/files/.env', 'X-Rewrite-URL': '/files/escape.txt' },
    'x-middleware-subrequest (CVE-2025-29927)': { 'x-middleware-subrequest': 'proxy:proxy:proxy:proxy:proxy:middleware:middleware:middleware:middleware:middleware:src/middleware:src/proxy' },
    'x-middleware-rewrite': { 'x-middleware-rewrite': '/files/.env', 'x-middleware-next': '1', 'x-middleware-override-headers': 'x-sendfile', 'x-middleware-request-x-sendfile': outside },
    'Next internals': { 'x-invoke-path': '/files/.env', 'x-invoke-query': '%7B%22path%22%3A%5B%22..%22%5D%7D', 'x-matched-path': '/files/[...path]', 'x-now-route-matches': 'path=..%2Fmedia-outside.txt', 'next-router-state-tree': '%5B%22%22%5D' },
    // Next answers an RSC request to a route with a 307 to the same path plus `?_rsc` (cache busting).
    'rsc: 1': { rsc: '1', 'next-router-prefetch': '1' },
  };
}

/** Each trick on a legit file and on a guarded malformed path: the same status, bytes and download headers as without it. */
async function runTrickHeaders(where: Target): Promise<string[]> {
  const problems: string[] = [];
  const probes = ['/files/legit.txt', '/files/sub/legit.txt', '/files/%c0%ae%c0%ae/media-outside.txt', '/files/.env'];
  const baseline = new Map<string, RawResponse>();
  for (const probe of probes) baseline.set(probe, await rawGet(where.port, probe));
  for (const [name, headers] of Object.entries(trickHeaders())) {
    for (const probe of probes) {
      const response = await rawGet(where.port, probe, headers);
      const expected = baseline.get(probe)!;
      problems.push(...hygieneProblems(response, `${probe} with ${name}`));
      const view = (r: RawResponse) => `${r.status} ${r.headers['content-type']} ${r.headers['content-disposition']} ${r.body.toString('latin1').slice(0, 80)}`;
      // Bodies of error pages may carry request-specific ids: compare status only for those.
      const same = expected.status === response.status && (expected.status !== 200 || view(expected) === view(response));
      const rscRedirect = response.status === 307 && String(response.headers.location).startsWith(`${probe}?_rsc`);
      if (rscRedirect) continue;
      if (!same) problems.push(`${probe} with ${name}: ${view(response)}\n    without it: ${view(expected)}`);
      if (!where.direct) problems.push(...offloadHeadersIn(response.headers).map((header) => `${probe} with ${name}: ${header} reached the client`));
    }
  }
  return problems;
}

/** Conflicting framing and a request hidden in a body: nothing but the asked files comes back, no 500. */
async function runSmuggling(where: Target): Promise<string[]> {
  const problems: string[] = [];
  const host = `Host: 127.0.0.1:${where.port}\r\n`;
  const hidden = `GET /files/.env HTTP/1.1\r\n${host}\r\n`;
  const hiddenOutside = `GET /_protected/media/../media-outside.txt HTTP/1.1\r\n${host}X-Accel-Redirect: /_protected/media/.env\r\n\r\n`;
  const smuggled = `0\r\n\r\n${hidden}`;
  const cases: Record<string, string> = {
    'CL.TE': `POST /files/legit.txt HTTP/1.1\r\n${host}Content-Length: ${smuggled.length}\r\nTransfer-Encoding: chunked\r\n\r\n${smuggled}`,
    'TE.CL': `POST /files/legit.txt HTTP/1.1\r\n${host}Transfer-Encoding: chunked\r\nContent-Length: 4\r\n\r\n5c\r\n${hidden.padEnd(0x5c, 'x')}\r\n0\r\n\r\n`,
    'TE obfuscated (xchunked)': `GET /files/legit.txt HTTP/1.1\r\n${host}Transfer-Encoding: xchunked\r\nContent-Length: ${hidden.length}\r\n\r\n${hidden}`,
    'TE with space before colon': `GET /files/legit.txt HTTP/1.1\r\n${host}Transfer-Encoding : chunked\r\n\r\n${smuggled}`,
    'TE: chunked, identity': `GET /files/legit.txt HTTP/1.1\r\n${host}Transfer-Encoding: chunked, identity\r\n\r\n${smuggled}`,
    'duplicate Content-Length': `GET /files/legit.txt HTTP/1.1\r\n${host}Content-Length: 0\r\nContent-Length: ${hidden.length}\r\n\r\n${hidden}`,
    'GET with a body hiding a request': `GET /files/legit.txt HTTP/1.1\r\n${host}Content-Length: ${hidden.length}\r\n\r\n${hidden}`,
    'pipelined internal location': `GET /files/legit.txt HTTP/1.1\r\n${host}\r\n${hiddenOutside}`,
    'obs-fold header': `GET /files/legit.txt HTTP/1.1\r\n${host}X-Sendfile: a\r\n ${planted.outside}\r\n\r\n`,
    'bare LF': `GET /files/legit.txt HTTP/1.1\n${host.replace('\r\n', '\n')}X-Accel-Redirect: /_protected/media/.env\n\n`,
  };
  for (const [name, request] of Object.entries(cases)) {
    const raw = await rawExchange(where.port, request);
    const text = raw.toString('latin1');
    for (const secret of planted.secretMarkers) if (text.includes(secret)) problems.push(`${name}: the response holds ${secret}`);
    const statuses = statusesOf(raw);
    // 501: a proxy refusing a transfer-coding it does not know (RFC 9112 §6.1), as nginx does.
    if (statuses.some((status) => status >= 500 && status !== 501)) problems.push(`${name}: statuses ${statuses.join(', ')}`);
    const leaks = findLeaks({ status: statuses[0] ?? 0, headers: {}, body: raw.subarray(0, Math.max(0, raw.indexOf('legit bytes'))) }, leakMarkers);
    problems.push(...leaks.map((leak) => `${name}: ${leak}`));
  }
  return problems;
}

/** A target short enough to read in a failure message. */
function shorten(target: string): string {
  return target.length > 160 ? `${target.slice(0, 100)}…(${target.length} chars)…${target.slice(-40)}` : target;
}

function expectNone(problems: string[]): void {
  expect(problems.slice(0, 40).join('\n'), `${problems.length} problems`).toBe('');
}

describe('next start directly', () => {
  let next: RunningNext;
  const where = (): Target => ({ port: next.port, direct: true });

  beforeAll(async () => {
    next = await startNext(fixtureApp, { MEDIA_ROOT: media.root, ...secretEnv });
  }, 60_000);
  afterAll(async () => {
    await next?.stop();
  });

  it(`the path corpus (≥ 300 entries) with the path guard: refused or byte-exact, malformed encoding a 400`, async () => {
    expect(corpus.length).toBeGreaterThanOrEqual(300);
    const result = await runPathCorpus(where(), '/files/', true);
    figures.push(`direct /files (guard): ${corpus.length} paths, ${result.refused} refused, ${result.served} served, ${result.nextOwn500} Next 500s`);
    expectNone(result.problems);
    expect(result.nextOwn500).toBe(0);
  });

  it('the path corpus without the guard: refused or byte-exact; Next\'s own 500 only for malformed encoding', async () => {
    const result = await runPathCorpus(where(), '/secured/', false);
    figures.push(`direct /secured (no guard): ${result.refused} refused, ${result.served} served, ${result.nextOwn500} Next 500s (malformed encoding)`);
    expectNone(result.problems);
    // Pinned so that a Next upgrade that changes it is noticed: Next 16 answers malformed
    // encoding with its own 500 before any route runs; Next 15.5 refuses it with a 4xx.
    if (nextMajor >= 16) expect(result.nextOwn500).toBeGreaterThan(0);
    else expect(result.nextOwn500).toBe(0);
  });

  it('on-disk hostile file names: exact bytes, valid header bytes, the expected download name', async () => {
    expectNone(await runFilenames(where(), true));
  });

  it('client-sent offload, hop-by-hop and Next-internal headers change nothing', async () => {
    expectNone(await runTrickHeaders(where()));
  });

  it('request smuggling basics: nothing hidden is served, no 500', async () => {
    expectNone(await runSmuggling(where()));
  });

  it('logged nothing that points at a failure of the handler', () => {
    expect(next.output()).not.toMatch(/DownloadError|ERR_INVALID_STATE|uncaught/i);
  });
});


// On Next 15 too (the e2e-next15 project): Next 15 answers malformed encoding itself with a 4xx
// where 16 has a 500, and hands the routes what the proxies forwarded in its own way.
describeEachProxy(PROXY_KINDS)('behind %s (the app offloading to it)', (kind) => {
  let running: Awaited<ReturnType<typeof startOffloading>>;
  const where = (): Target => ({ port: running.proxy.port, direct: false, kind });

  beforeAll(async () => {
    running = await startOffloading(kind, fixtureApp, media.root, secretEnv);
  }, 60_000);
  afterAll(async () => running?.stop());

  it('the path corpus with and without the guard: refused or byte-exact, no 500 from the handler', async () => {
    const guarded = await runPathCorpus(where(), '/files/', true);
    const open = await runPathCorpus(where(), '/secured/', false);
    figures.push(
      `${kind}: /files ${guarded.refused} refused, ${guarded.served} served, ${guarded.nextOwn500} Next 500s; ` +
        `/secured ${open.refused} refused, ${open.served} served, ${open.nextOwn500} Next 500s`,
    );
    expectNone([...guarded.problems, ...open.problems]);
  });

  it('on-disk hostile file names: exact bytes, valid header bytes, the expected download name', async () => {
    expectNone(await runFilenames(where(), true));
  });

  it('client-sent offload, hop-by-hop and Next-internal headers change nothing', async () => {
    expectNone(await runTrickHeaders(where()));
  });

  it('request smuggling basics and internal locations: nothing hidden is served, no 500', async () => {
    expectNone(await runSmuggling(where()));
    for (const internal of ['/_protected/media/legit.txt', '/_protected/media/../media-outside.txt', '/_protected/remote/']) {
      const response = await rawGet(running.proxy.port, internal);
      expect(response.status, internal).not.toBe(200);
    }
  });
});
