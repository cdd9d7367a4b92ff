/**
 * Issue #18: the signed-link tampering corpus (test/corpora/signed-links.ts) where users meet it:
 * - downloadProxy({ signedLinks }) on the proxy-app, as proxy.ts (Node) and middleware.ts (edge),
 *   links signed for the public /d/ URLs it rewrites onto /files/;
 * - the fixture app's /signed/ route (links.authorize(), the path guard in front) through
 *   `next start` directly and behind nginx, Apache, lighttpd and Caddy with the app offloading;
 * - its /signed-user/ route, whose links are bound to a user by claims: served to that user only.
 * Every variant is also sent as HEAD, which must answer as its GET did, without content.
 * Each variant's verdict comes from the generator; every equivalent one must serve exactly the
 * signed file (sha256, and a Range), every tampered one must be refused with the library's status
 * and text, and no response may carry the secret, a signature it was not sent, a filesystem path,
 * an offload header or a byte of a file. Proxies that rewrite the URL before the app sees it are
 * pinned per target below, with the reason.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { signedLinks } from '../../src/signed-links.js';
import { FILE_MARKER, familyOf, plantSignedLinkMedia, signedLinkCorpus, type PlantedFiles, type SignedRefusal, type SignedVariant } from '../corpora/signed-links.js';
import { edgeProxyApp, proxyApp, writeEdgeCopy } from '../helpers/edge-app.js';
import { ensureBuilt, fixtureApp, nextMajor } from '../helpers/fixture.js';
import { rawGet, sha256, type RawResponse } from '../helpers/http.js';
import { findLeaks } from '../helpers/hygiene.js';
import { createMediaRoot } from '../helpers/media.js';
import { startNext, type RunningNext } from '../helpers/next-server.js';
import { PROXY_KINDS, startOffloading, type ProxyKind } from '../helpers/proxies.js';
import { describeEachProxy } from '../helpers/suites.js';

const SECRET = 'signed-corpus-secret-7c41e0b9a2d85f36e1c0';
const links = signedLinks({ secret: SECRET });
const sign = (path: string, options: Parameters<typeof links.sign>[1]) => links.sign(path, options);

/** The fixed body of each refusal the library sends (src/http/responses.ts). */
const REFUSAL_TEXT: Readonly<Record<number, string>> = { 400: 'Bad Request\n', 401: 'Unauthorized\n', 403: 'Forbidden\n', 410: 'Gone\n' };
const RANGE = { header: 'bytes=14-73', start: 14, end: 73 };

/**
 * Outcomes that differ from the oracle's because something in front of the signature check
 * rewrites the URL, by family (or `family@base`): `served` (normalised back to the genuine link,
 * which then verifies: the signed file, byte-exact, still required) or the status the client gets.
 */
type Pins = Readonly<Record<string, 'served' | number>>;

/**
 * Next, in front of every route and proxy.ts: a path with `//` (inside or at the end) gets a 308 to
 * the merged path before anything of the app runs; followed like a browser does, that is the genuine
 * link, which verifies. The library alone would refuse it (an empty segment is part of the
 * canonical path); the file served is the signed one, with the signed expiry and claims.
 */
const NEXT_PINS: Pins = { 'path:double-slash': 'served', 'path:two-trailing-slashes': 'served' };

/**
 * Node's HTTP parser answers 400 (empty body) to a request-target holding raw bytes above 0x7F,
 * before Next; browsers always percent-encode them. Where a proxy passes the target through
 * unchanged (nginx, Apache) the same happens; lighttpd and Caddy percent-encode them first.
 */
const RAW_BYTES_PINS: Pins = { 'path:raw-utf8': 400, 'path:raw-nfd-utf8': 400 };

/** What each proxy does to the URL before the app sees it, where that changes the outcome. */
const PROXY_PINS: Readonly<Record<ProxyKind, Pins>> = {
  nginx: RAW_BYTES_PINS,
  apache: {
    ...RAW_BYTES_PINS,
    // Apache answers an encoded NUL in the path with its own 404, and a `#` in the request-target
    // with its own 400: refused either way, before the app.
    'path:nul': 404,
    'path:raw-#': 400,
    'query:fragment-before-signature': 400,
    'query:fragment-at-end': 400, // a false refusal: browsers never send the fragment
  },
  lighttpd: {
    // lighttpd sends a raw `\` on as `%5C`: the path guard's 400 (encoded separator). A false
    // refusal of an equivalent form, not a false accept: browsers send `/`, never `\`.
    'path:raw-backslash': 400,
    // lighttpd re-encodes a stray `%` as `%25`: a lone one at the end becomes another name (403);
    // in `100%%20sure…` it rebuilds the genuine `100%25%20sure…`, which serves the signed file.
    'path:lone-percent': 403,
    'path:raw-%': 'served',
  },
  caddy: {
    // Caddy (Go) sends a raw `\` on as `%5C`: the path guard's 400, as with lighttpd.
    'path:raw-backslash': 400,
    // Go reads a `#` in a request-target as part of the path and re-encodes it as `%23` when
    // proxying: `…%20#1.txt` becomes the genuine `…%20%231.txt`, which serves the signed file.
    'path:raw-#@reserved': 'served',
  },
};

let media: ReturnType<typeof createMediaRoot>;
let files: PlantedFiles;
let signatures: string[];
let publicCorpus: SignedVariant[];
let signedCorpus: SignedVariant[];
const figures: string[] = [];

beforeAll(async () => {
  media = createMediaRoot('dv-signed-');
  files = plantSignedLinkMedia(media.root, 'm4rk3r');
  // The proxy-app's links are signed for its public /d/ URLs; the fixture app's for /signed/.
  publicCorpus = await signedLinkCorpus('/d', '/files', sign);
  signedCorpus = await signedLinkCorpus('/signed', '/files', sign);
  signatures = [...new Set([...publicCorpus, ...signedCorpus].filter((variant) => variant.family === 'genuine').map((variant) => new URL(variant.target, 'http://x').searchParams.get('signature')!))];
  writeEdgeCopy();
  await ensureBuilt(fixtureApp);
  await ensureBuilt(proxyApp);
  await ensureBuilt(edgeProxyApp);
}, 900_000);

afterAll(() => {
  media?.cleanup();
  for (const line of figures) console.log(`[signed-tampering] ${line}`);
});

interface Target {
  name: string;
  port: number;
  /** The status a request without any link parameter gets (401 where a session cookie is also accepted). */
  missingStatus: 401 | 403;
  pins: Pins;
  /** A proxy (nginx, Apache, lighttpd, Caddy) in front of `next start`. */
  proxied?: boolean;
  /**
   * The proxy's own answer to a request-target it cannot parse, sent with this body on HEAD too.
   * Caddy (Go's net/http) answers a malformed `%` with `400 Bad Request` as content before it has
   * a request to look at, so it cannot know the method was HEAD.
   */
  unparsableHeadBody?: string;
}

interface Exchange {
  response: RawResponse;
  /** The last Location followed (same-origin redirects, up to 3, as a browser follows them). */
  redirect?: string;
}

async function get(port: number, target: string, headers: Record<string, string> = {}, method = 'GET'): Promise<Exchange & { responses: RawResponse[] }> {
  const first = await rawGet(port, target, headers, method);
  const responses = [first];
  let redirect: string | undefined;
  // Same-origin redirects followed like a browser does (Next answers `//` and `/a//` with a 308 each).
  for (let hops = 0; hops < 3; hops += 1) {
    const last = responses.at(-1)!;
    if (![301, 302, 307, 308].includes(last.status) || typeof last.headers.location !== 'string') break;
    const origin = `http://127.0.0.1:${port}`;
    const next = new URL(last.headers.location, origin);
    if (next.origin !== origin) break;
    redirect = last.headers.location;
    responses.push(await rawGet(port, `${next.pathname}${next.search}`, headers, method));
  }
  return { response: responses.at(-1)!, redirect, responses };
}

const statusFor = (refusal: SignedRefusal, where: Target): number => ({ forbidden: 403, gone: 410, 'bad-path': 400, missing: where.missingStatus })[refusal];

/** Problems any response has, whatever the verdict: leaks, offload or middleware headers, file bytes in a refusal. */
function hygieneProblems(response: RawResponse, variant: SignedVariant): string[] {
  const problems: string[] = [];
  const ok = response.status >= 200 && response.status < 300;
  const leaks = findLeaks(response, { paths: [media.root], secrets: [SECRET, ...signatures], skipBody: ok, reflected: variant.target });
  problems.push(...leaks.map((leak) => `leak: ${leak}`));
  for (const name of Object.keys(response.headers)) {
    const value = String(response.headers[name]);
    // Next's own header on the response to a rewritten request (its client router reads it): the
    // rewritten same-origin URL with the client's own query. It names the route, nothing secret.
    if (name === 'x-middleware-rewrite' && new URL(value, 'http://relative.invalid').pathname.startsWith('/files/')) continue;
    if (/^x-(accel-|sendfile|lighttpd-|downloadview-|middleware-)/.test(name)) problems.push(`header ${name} reached the client: ${value}`);
  }
  if (!ok) {
    if (response.headers['content-disposition'] !== undefined) problems.push(`a ${response.status} with Content-Disposition`);
    if (response.body.includes(FILE_MARKER)) problems.push(`a ${response.status} holding a file's bytes`);
  }
  return problems;
}

interface Tally {
  equivalent: number;
  tampered: number;
  served: number;
  ranged: number;
  /** HEADs answered like their GET: same status, no body, the GET's length and disposition when served. */
  headed: number;
  redirected: number;
  pinned: string[];
  refused: Map<number, number>;
  problems: string[];
}

async function runVariant(where: Target, variant: SignedVariant, tally: Tally): Promise<void> {
  const problems: string[] = [];
  const exchange = await get(where.port, variant.target);
  for (const response of exchange.responses) problems.push(...hygieneProblems(response, variant));
  const { response } = exchange;
  if (exchange.redirect !== undefined) tally.redirected += 1;
  const ok = response.status >= 200 && response.status < 300;
  const signedBytes = files[variant.file]!;
  const pin = where.pins[`${variant.family}@${variant.base}`] ?? where.pins[variant.family] ?? where.pins[familyOf(variant)];
  const outcome = ok ? 'served' : response.status;
  const view = () => `${response.status} ${JSON.stringify(response.body.toString('latin1').slice(0, 60))}${exchange.redirect ? ` after a redirect to ${exchange.redirect}` : ''}`;

  if (pin !== undefined) {
    if (outcome !== pin) problems.push(`pinned to ${pin}, got ${view()}`);
    else tally.pinned.push(variant.family);
    // A pinned success is the genuine link after normalisation: still exactly the signed file.
    if (ok && (response.status !== 200 || !response.body.equals(signedBytes))) problems.push(`served other bytes than ${variant.file}: ${view()}`);
  } else if (variant.expect.verdict === 'equivalent') {
    tally.equivalent += 1;
    if (response.status !== 200 || sha256(response.body) !== sha256(signedBytes)) problems.push(`equivalent, expected ${variant.file} byte-exact, got ${view()}`);
    else if (!String(response.headers['content-disposition']).startsWith('attachment')) problems.push(`served without an attachment disposition`);
    else {
      tally.served += 1;
      const ranged = await get(where.port, variant.target, { range: RANGE.header });
      for (const one of ranged.responses) problems.push(...hygieneProblems(one, variant).map((problem) => `Range: ${problem}`));
      const slice = signedBytes.subarray(RANGE.start, RANGE.end + 1);
      if (ranged.response.status !== 206 || sha256(ranged.response.body) !== sha256(slice)) problems.push(`Range ${RANGE.header}: got ${ranged.response.status} ${JSON.stringify(ranged.response.body.toString('latin1').slice(0, 40))}`);
      else tally.ranged += 1;
    }
  } else {
    tally.tampered += 1;
    const expected = statusFor(variant.expect.refusal, where);
    if (ok) problems.push(`FALSE ACCEPT: tampered (${variant.expect.refusal}) but served ${response.status}, ${response.body.length} bytes${response.body.equals(signedBytes) ? ' (the signed file)' : ''}`);
    else if (response.status !== expected) problems.push(`expected ${expected} ${JSON.stringify(REFUSAL_TEXT[expected])}, got ${view()}`);
    // A proxy in front may refuse malformed encoding first, with its own 400 page.
    else if (response.body.toString() !== REFUSAL_TEXT[expected] && !(where.proxied && expected === 400)) problems.push(`expected the library's ${JSON.stringify(REFUSAL_TEXT[expected])}, got ${view()}`);
    else tally.refused.set(expected, (tally.refused.get(expected) ?? 0) + 1);
  }
  problems.push(...(await headProblems(where, variant, response, tally)));
  tally.problems.push(...problems.map((problem) => `${variant.family} [${variant.base}] ${shorten(variant.target)}: ${problem}`));
}

/**
 * RFC 9110 §9.3.2: HEAD gets what GET got, without content. A tampered link must not turn into a
 * 200 on HEAD (a probe that the file exists), and a served one reports the file's length.
 */
async function headProblems(where: Target, variant: SignedVariant, got: RawResponse, tally: Tally): Promise<string[]> {
  const head = await get(where.port, variant.target, {}, 'HEAD');
  const problems = head.responses.flatMap((response) => hygieneProblems(response, variant).map((problem) => `HEAD: ${problem}`));
  const { response } = head;
  if (response.status !== got.status) problems.push(`HEAD answered ${response.status} where GET answered ${got.status}`);
  else if (response.body.length > 0 && !(response.status === 400 && response.body.toString() === where.unparsableHeadBody)) problems.push(`HEAD ${response.status} with ${response.body.length} body bytes`);
  // Plain `next start` sends no Content-Length on either (docs/content-length.md); a proxy sends it on both.
  else if (got.status === 200 && (response.headers['content-length'] !== got.headers['content-length'] || response.headers['content-disposition'] !== got.headers['content-disposition'])) {
    problems.push(`HEAD 200 with length ${response.headers['content-length']} and disposition ${response.headers['content-disposition']}, GET had ${got.headers['content-length']} and ${got.headers['content-disposition']}`);
  } else tally.headed += 1;
  return problems;
}

/** Run `corpus` against `where`, `width` requests at a time; records the figures line, fails on any problem, returns the refusals counted. */
async function runCorpus(where: Target, corpus: readonly SignedVariant[], width = 8): Promise<number> {
  expect(corpus.length).toBeGreaterThanOrEqual(300);
  const tally: Tally = { equivalent: 0, tampered: 0, served: 0, ranged: 0, headed: 0, redirected: 0, pinned: [], refused: new Map(), problems: [] };
  for (let index = 0; index < corpus.length; index += width) {
    await Promise.all(corpus.slice(index, index + width).map((variant) => runVariant(where, variant, tally)));
  }
  const refused = [...tally.refused].sort(([a], [b]) => a - b).map(([status, count]) => `${status}×${count}`).join(' ');
  const pinned = tally.pinned.length === 0 ? 'none' : `${tally.pinned.length} (${[...new Set(tally.pinned)].join(', ')})`;
  figures.push(
    `${where.name}: ${corpus.length} variants; equivalent ${tally.equivalent}, served byte-exact ${tally.served} (+Range ${tally.ranged}); HEAD as GET ${tally.headed}; ` +
      `tampered ${tally.tampered}, refused ${refused}; ${tally.redirected} redirects followed; pinned ${pinned}; problems ${tally.problems.length}`,
  );
  expect(tally.problems.slice(0, 40).join('\n'), `${tally.problems.length} problems`).toBe('');
  return [...tally.refused.values()].reduce((sum, count) => sum + count, 0);
}

/**
 * The `/signed-user/` route binds links to the `user` cookie (claims). Genuine links must serve only
 * their own user, byte-exact; the same link for anyone else, or for nobody, is a plain 403 that
 * says nothing about why (`mismatched` is not told apart from a forgery), on GET and on HEAD.
 */
async function userBindingProblems(port: number): Promise<string[]> {
  const problems: string[] = [];
  const expires = new Date(Date.UTC(2099, 0, 1));
  const forAlice = await links.sign('/signed-user/claims.txt', { expires, claims: { user: 'alice' } });
  const forBob = await links.sign('/signed-user/hello.txt', { expires, claims: { user: 'bob' } });
  const unbound = await links.sign('/signed-user/claims.txt', { expires });
  // Alice's link with Bob's claims pasted in: a forgery (the claims are signed).
  const bobClaims = new URL(forBob, 'http://x').searchParams.get('claims')!;
  const claimsSwapped = forAlice.replace(/claims=[^&]+/, `claims=${bobClaims}`);
  const cases: [string, string, string | undefined, 'claims.txt' | 'hello.txt' | 403][] = [
    ["alice's link, alice", forAlice, 'user=alice', 'claims.txt'],
    ["bob's link, bob (other cookies around it)", forBob, 'theme=dark; user=bob; lang=de', 'hello.txt'],
    ["alice's link, bob", forAlice, 'user=bob', 403],
    ["alice's link, signed out", forAlice, undefined, 403],
    ["alice's link, a look-alike user", forAlice, 'user=Alice', 403],
    ["alice's link, user cookie twice (bob first)", forAlice, 'user=bob; user=alice', 403],
    ['a link bound to nobody, alice', unbound, 'user=alice', 403],
    ["alice's link with bob's claims, bob", claimsSwapped, 'user=bob', 403],
  ];
  for (const [what, link, cookie, expected] of cases) {
    const headers: Record<string, string> = cookie === undefined ? {} : { cookie };
    for (const method of ['GET', 'HEAD']) {
      const response = await rawGet(port, link, headers, method);
      const leaks = findLeaks(response, { paths: [media.root], secrets: [SECRET], skipBody: response.status === 200 });
      problems.push(...leaks.map((leak) => `${what} (${method}): leak ${leak}`));
      if (expected === 403) {
        const body = method === 'HEAD' ? '' : REFUSAL_TEXT[403];
        if (response.status !== 403 || response.body.toString() !== body) problems.push(`${what} (${method}): expected 403 ${JSON.stringify(body)}, got ${response.status} ${JSON.stringify(response.body.toString('latin1').slice(0, 60))}`);
      } else if (response.status !== 200 || (method === 'GET' ? !response.body.equals(files[expected]!) : response.body.length > 0 || !String(response.headers['content-disposition']).includes(expected))) {
        problems.push(`${what} (${method}): expected ${expected}, got ${response.status} ${JSON.stringify(response.body.toString('latin1').slice(0, 60))}`);
      }
    }
  }
  const ranged = await rawGet(port, forAlice, { cookie: 'user=alice', range: RANGE.header });
  if (ranged.status !== 206 || !ranged.body.equals(files['claims.txt']!.subarray(RANGE.start, RANGE.end + 1))) problems.push(`alice's link with Range: got ${ranged.status}`);
  return problems;
}

/** Lines of `server`'s output after `from` matching `pattern`, once it has printed `count` of them (or 5 s passed). */
async function linesAfter(server: RunningNext, from: number, pattern: RegExp, count: number): Promise<number> {
  const seen = () => server.output().slice(from).match(pattern)?.length ?? 0;
  for (const deadline = Date.now() + 5_000; seen() < count && Date.now() < deadline; ) await new Promise((resolve) => setTimeout(resolve, 50));
  return seen();
}

function shorten(target: string): string {
  return target.length > 140 ? `${target.slice(0, 100)}…${target.slice(-30)}` : target;
}

// Next 15 has no proxy.ts: its install renames the file to middleware.ts (edge), which is what the
// second target already is, so Next 15 runs that one alone.
const proxyTargets: [string, () => string][] = [
  ...(nextMajor >= 16 ? [['proxy.ts (Node)', () => proxyApp] as [string, () => string]] : []),
  ['middleware.ts (edge)', () => edgeProxyApp],
];

describe.each(proxyTargets)('downloadProxy({ signedLinks }) as %s, links for /d/ rewritten onto /files/', (name, app) => {
  let server: RunningNext;
  beforeAll(async () => {
    server = await startNext(app(), { MEDIA_ROOT: media.root, DOWNLOADVIEW_SECRET: SECRET });
  }, 120_000);
  afterAll(async () => server?.stop());

  it('serves every equivalent form byte-exact and refuses every tampered one, in the proxy', async () => {
    const from = server.output().length;
    const refused = await runCorpus({ name, port: server.port, missingStatus: 401, pins: { ...NEXT_PINS, ...RAW_BYTES_PINS } }, publicCorpus);
    // The route checks the link again and would answer the same status and text: the proxy's
    // onRefused log tells that each refusal came from the early check, before any route ran.
    // Each refused variant was sent as GET and as HEAD (which must answer alike: checked per variant).
    expect(await linesAfter(server, from, /\[proxy\] refused \d{3} /g, 2 * refused)).toBe(2 * refused);
    expect(server.output()).not.toMatch(/DownloadError|ERR_INVALID_STATE|uncaught|TypeError/i);
  });
});

describe('the /signed/ route through next start directly', () => {
  let server: RunningNext;
  beforeAll(async () => {
    server = await startNext(fixtureApp, { MEDIA_ROOT: media.root, DOWNLOADVIEW_SECRET: SECRET });
  }, 120_000);
  afterAll(async () => server?.stop());

  it('serves every equivalent form byte-exact and refuses every tampered one', async () => {
    await runCorpus({ name: 'next start /signed', port: server.port, missingStatus: 403, pins: { ...NEXT_PINS, ...RAW_BYTES_PINS } }, signedCorpus);
    expect(server.output()).not.toMatch(/DownloadError|ERR_INVALID_STATE|uncaught|TypeError/i);
  });

  it('serves a link bound to a user (claims) to that user only', async () => {
    expect(await userBindingProblems(server.port)).toEqual([]);
  });
});

// On Next 15 too: the proxies hand Next the same URLs, and Next 15 routes and redirects them its own way.
describeEachProxy(PROXY_KINDS)('the /signed/ route behind %s (the app offloading to it)', (kind) => {
  let running: Awaited<ReturnType<typeof startOffloading>>;
  beforeAll(async () => {
    running = await startOffloading(kind, fixtureApp, media.root, { DOWNLOADVIEW_SECRET: SECRET });
  }, 120_000);
  afterAll(async () => running?.stop());

  it('serves every equivalent form byte-exact and refuses every tampered one', async () => {
    const unparsableHeadBody = kind === 'caddy' ? '400 Bad Request' : undefined;
    await runCorpus({ name: `${kind} /signed`, port: running.proxy.port, missingStatus: 403, pins: { ...NEXT_PINS, ...PROXY_PINS[kind] }, proxied: true, unparsableHeadBody }, signedCorpus);
    expect(running.next.output()).not.toMatch(/DownloadError|ERR_INVALID_STATE|uncaught|TypeError/i);
  });

  it('serves a link bound to a user (claims) to that user only, offloaded', async () => {
    expect(await userBindingProblems(running.proxy.port)).toEqual([]);
  });
});
