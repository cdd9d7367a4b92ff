/**
 * remote() in-process against a real HTTP upstream with fault injection: bytes and ranges pinned to
 * the version in the headers, redirects and headers by allow-list, every failure mapped.
 */
import { randomBytes } from 'node:crypto';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { downloadHandler, nginx, redirect, remote, type DownloadHandlerOptions, type RemoteBaseOptions, type RemoteCommonOptions, type RemoteOptions, type RemoteUrlOptions } from '../../src/index.js';
import { startUpstreamServer, storedObject, type UpstreamServer } from '../servers/upstream-server.js';
import { assertResponseNoLeak } from '../helpers/hygiene.js';
import { bodyOf, call, expectBytes, parseMultipart, releaseUnread } from './support.js';

let upstream: UpstreamServer;
let other: UpstreamServer;
const big = randomBytes(2 * 1024 * 1024 + 5);

beforeAll(async () => {
  upstream = await startUpstreamServer();
  other = await startUpstreamServer();
});
afterAll(async () => {
  await upstream?.close();
  await other?.close();
});
afterEach(async () => {
  await releaseUnread();
  upstream.routes.clear();
  other.routes.clear();
});

const errors: unknown[] = [];
function handler(options: Partial<RemoteCommonOptions & RemoteUrlOptions> = {}, handlerOptions: Partial<DownloadHandlerOptions> = {}) {
  return downloadHandler({
    source: remote({ url: (request, { params }) => `${upstream.url}/${params.name}`, ...options }),
    onError: (error) => errors.push(error),
    onFallback: () => {},
    ...handlerOptions,
  });
}
const get = (download: ReturnType<typeof handler>, name: string, headers: Record<string, string> = {}, method = 'GET') => call(download, { name }, { headers, method });

describe('remote() streamed', () => {
  it('sends the object byte-exact with the upstream validators and type', async () => {
    upstream.routes.set('/a.bin', { object: storedObject(big) });
    const response = await get(handler(), 'a.bin');
    expect(response.status).toBe(200);
    expect(response.headers.get('etag')).toBe(upstream.routes.get('/a.bin')!.object!.etag);
    expect(response.headers.get('last-modified')).toMatch(/GMT$/);
    expect(response.headers.get('content-length')).toBe(String(big.length));
    expectBytes(await bodyOf(response), big);
  });

  it('forwards the range with If-Match and identity encoding; multi-range is one request per range', async () => {
    upstream.routes.set('/a.bin', { object: storedObject(big) });
    const before = upstream.requests.length;
    const single = await get(handler(), 'a.bin', { range: 'bytes=100-199' });
    expect(single.status).toBe(206);
    expectBytes(await bodyOf(single), big.subarray(100, 200));
    const multi = await get(handler(), 'a.bin', { range: 'bytes=0-9,1000000-1000009' });
    const parts = parseMultipart(await bodyOf(multi), multi.headers.get('content-type')!);
    expectBytes(parts[1]!.bytes, big.subarray(1000000, 1000010));
    const gets = upstream.requests.slice(before).filter((entry) => entry.method === 'GET');
    expect(gets.map((entry) => entry.headers.range)).toEqual(['bytes=100-199', 'bytes=0-9', 'bytes=1000000-1000009']);
    for (const entry of gets) {
      expect(entry.headers['if-match']).toBe(upstream.routes.get('/a.bin')!.object!.etag);
      // Every coding listed is identity (under vitest the header arrives folded as "identity, identity").
      expect(String(entry.headers['accept-encoding']).split(',').map((coding) => coding.trim())).toSatisfy((codings: string[]) => codings.every((coding) => coding === 'identity'));
    }
  });

  it('answers HEAD and 304 without reading the object', async () => {
    upstream.routes.set('/a.bin', { object: storedObject(big) });
    const reads = upstream.bodyReads('/a.bin');
    const head = await get(handler(), 'a.bin', {}, 'HEAD');
    expect(head.status).toBe(200);
    expect((await get(handler(), 'a.bin', { 'if-none-match': head.headers.get('etag')! })).status).toBe(304);
    expect(upstream.bodyReads('/a.bin')).toBe(reads);
  });

  it('reads the metadata from the first byte when the upstream refuses HEAD (a URL signed for GET)', async () => {
    for (const status of [403, 405]) {
      upstream.routes.set('/s.bin', { object: storedObject(big), refuseHead: status });
      const before = upstream.requests.length;
      const head = await get(handler(), 's.bin', {}, 'HEAD');
      expect(head.status).toBe(200);
      expect(head.headers.get('content-length')).toBe(String(big.length));
      expect(upstream.requests.slice(before).map((entry) => `${entry.method} ${entry.headers.range ?? ''}`)).toEqual(['HEAD ', 'GET bytes=0-0']);
      const range = await get(handler(), 's.bin', { range: 'bytes=10-19' });
      expect(range.status).toBe(206);
      expectBytes(await bodyOf(range), big.subarray(10, 20));
    }
  });

  it('serves an upstream without a length or without ranges whole, without offering Range', async () => {
    upstream.routes.set('/n.bin', { object: storedObject(big), fault: { kind: 'no-length' } });
    const unsized = await get(handler(), 'n.bin', { range: 'bytes=0-9' });
    expect(unsized.status).toBe(200);
    expect(unsized.headers.get('content-length')).toBeNull();
    expect(unsized.headers.get('accept-ranges')).toBe('none');
    expectBytes(await bodyOf(unsized), big);
    upstream.routes.set('/u.bin', { object: storedObject(big), fault: { kind: 'no-accept-ranges' } });
    const unranged = await get(handler(), 'u.bin', { range: 'bytes=0-9' });
    expect(unranged.status).toBe(200);
    expect(unranged.headers.get('content-length')).toBe(String(big.length));
    expect(unranged.headers.get('accept-ranges')).toBe('none');
    expectBytes(await bodyOf(unranged), big);
  });

  it('maps upstream failures: 404 → 404, 401/403 → 502, 5xx and refused → 502, slow → 504', async () => {
    expect((await get(handler(), 'missing.bin')).status).toBe(404);
    for (const [status, expected] of [[401, 502], [403, 502], [500, 502], [503, 502]] as const) {
      upstream.routes.set('/f.bin', { object: storedObject(big), fault: { kind: 'status', status } });
      expect((await get(handler(), 'f.bin')).status).toBe(expected);
    }
    const refused = downloadHandler({ source: remote({ url: () => 'http://127.0.0.1:9/x.bin' }), onError: () => {} });
    expect((await call(refused, {})).status).toBe(502);
    upstream.routes.set('/slow.bin', { object: storedObject(big), fault: { kind: 'slow', delayMs: 1500 } });
    expect((await get(handler({ connectTimeout: 300 }), 'slow.bin')).status).toBe(504);
  });

  it('fails the transfer when the body resets, stalls, runs short or long', async () => {
    for (const kind of ['reset', 'short', 'long'] as const) {
      upstream.routes.set('/f.bin', { object: storedObject(big), getFault: { kind } });
      const response = await get(handler(), 'f.bin');
      expect(response.status).toBe(200);
      await expect(bodyOf(response), kind).rejects.toThrow();
    }
    upstream.routes.set('/f.bin', { object: storedObject(big), getFault: { kind: 'stall' } });
    const stalled = await get(handler({ idleTimeout: 300 }), 'f.bin');
    await expect(bodyOf(stalled)).rejects.toThrow();
  });

  it('refuses a compressed body and an upstream that ignores Range (502), never reading from 0', async () => {
    upstream.routes.set('/g.txt', { object: storedObject('x'.repeat(10000), 'text/plain'), fault: { kind: 'gzip' } });
    expect((await get(handler(), 'g.txt')).status).toBe(502);
    upstream.routes.set('/r.bin', { object: storedObject(big), getFault: { kind: 'ignore-range' } });
    expect((await get(handler(), 'r.bin', { range: 'bytes=10-19' })).status).toBe(502);
  });

  it('is a 503 when the object changed after its metadata, and fails mid-body when it changes between ranges', async () => {
    const first = storedObject(big);
    const second = storedObject(randomBytes(big.length));
    upstream.routes.set('/v.bin', { object: first, replaceAfterGets: 0, replacement: second });
    expect((await get(handler(), 'v.bin')).status).toBe(503);
    upstream.routes.set('/v.bin', { object: first, replaceAfterGets: 1, replacement: second });
    const multi = await get(handler(), 'v.bin', { range: 'bytes=0-9,2000000-2000009' });
    expect(multi.status).toBe(206);
    await expect(bodyOf(multi)).rejects.toThrow();
  });

  it('checks the version of every reply itself when the upstream ignores If-Match', async () => {
    const first = storedObject(big);
    const second = storedObject(randomBytes(big.length));
    upstream.routes.set('/w.bin', { object: first, replaceAfterGets: 0, replacement: second, getFault: { kind: 'ignore-conditions' } });
    expect((await get(handler(), 'w.bin')).status).toBe(503);
    upstream.routes.set('/w.bin', { object: first, replaceAfterGets: 1, replacement: second, getFault: { kind: 'ignore-conditions' } });
    const multi = await get(handler(), 'w.bin', { range: 'bytes=0-9,2000000-2000009' });
    expect(multi.status).toBe(206);
    await expect(bodyOf(multi)).rejects.toThrow();
  });

  it('follows redirects only when allowed, and never sends the app headers to another origin', async () => {
    other.routes.set('/a.bin', { object: storedObject(big) });
    upstream.routes.set('/moved.bin', { redirect: `${other.url}/a.bin` });
    expect((await get(handler(), 'moved.bin')).status).toBe(502);
    expect((await get(handler({ followRedirects: 'same-origin' }), 'moved.bin')).status).toBe(502);
    const allowed = handler({ followRedirects: [other.url], headers: { authorization: 'Bearer app-secret' } });
    const response = await get(allowed, 'moved.bin');
    expect(response.status).toBe(200);
    expectBytes(await bodyOf(response), big);
    expect(other.requests.every((entry) => entry.headers.authorization === undefined)).toBe(true);
    upstream.routes.set('/local.bin', { redirect: '/a2.bin' });
    upstream.routes.set('/a2.bin', { object: storedObject(big) });
    expect((await get(handler({ followRedirects: 'same-origin' }), 'local.bin')).status).toBe(200);
  });

  it('copies upstream headers by allow-list only and refuses dangerous names at factory time', async () => {
    upstream.routes.set('/h.bin', { object: { ...storedObject(big), headers: { 'content-language': 'de', 'x-accel-redirect': '/etc/passwd', 'set-cookie': 'a=1' } } });
    const response = await get(handler({ copyHeaders: ['content-language'] }), 'h.bin', {}, 'HEAD');
    expect(response.headers.get('content-language')).toBe('de');
    expect(response.headers.get('x-accel-redirect')).toBeNull();
    expect(response.headers.get('set-cookie')).toBeNull();
    for (const name of ['set-cookie', 'X-Accel-Redirect', 'x-sendfile', 'connection', 'content-length']) {
      expect(() => remote({ url: () => null, copyHeaders: [name] })).toThrow(/copyHeaders/);
    }
  });

  it('joins the upstream chunks into larger ones, but never holds a slow upstream\'s bytes back', async () => {
    // The upstream writes the object at once: its socket delivers ≤ 64 KiB pieces, joined here.
    upstream.routes.set('/a.bin', { object: storedObject(big) });
    const sizes: number[] = [];
    const reader = (await get(handler(), 'a.bin')).body!.getReader();
    for (let read = await reader.read(); !read.done; read = await reader.read()) sizes.push(read.value.byteLength);
    expect(sizes.reduce((sum, size) => sum + size, 0)).toBe(big.length);
    expect(Math.max(...sizes)).toBeGreaterThan(64 * 1024);
    // 1 KiB every 300 ms: each piece goes out on its own instead of waiting for a full chunk.
    upstream.routes.set('/t.bin', { object: storedObject(big), getFault: { kind: 'trickle', delayMs: 300 } });
    const trickled = (await get(handler(), 't.bin')).body!.getReader();
    expect((await trickled.read()).value?.byteLength).toBe(1024);
    expect((await trickled.read()).value?.byteLength).toBe(1024);
    await trickled.cancel();
  });

  it('leaves no listener on the request signal per range (16 ranges, no MaxListeners warning)', async () => {
    upstream.routes.set('/a.bin', { object: storedObject(big) });
    const warnings: Error[] = [];
    const onWarning = (warning: Error) => warnings.push(warning);
    process.on('warning', onWarning);
    try {
      const specs = Array.from({ length: 16 }, (_, i) => `${i * 100_000}-${i * 100_000 + 9}`);
      const response = await get(handler(), 'a.bin', { range: `bytes=${specs.join(',')}` });
      const parts = parseMultipart(await bodyOf(response), response.headers.get('content-type')!);
      expect(parts).toHaveLength(16);
      expectBytes(parts[15]!.bytes, big.subarray(1_500_000, 1_500_010));
      await new Promise((resolve) => setImmediate(resolve));
    } finally {
      process.off('warning', onWarning);
    }
    expect(warnings.map(String)).toEqual([]);
  });

  it('cancels the upstream read when the client leaves', async () => {
    upstream.routes.set('/t.bin', { object: storedObject(big), getFault: { kind: 'trickle', delayMs: 5 } });
    const before = upstream.abandoned();
    const controller = new AbortController();
    const response = await call(handler(), { name: 't.bin' }, { signal: controller.signal });
    const reader = response.body!.getReader();
    await reader.read();
    controller.abort();
    await reader.cancel().catch(() => {});
    await expect.poll(() => upstream.abandoned(), { timeout: 5000 }).toBe(before + 1);
  });

  it('stops waiting for slow metadata when the client leaves', async () => {
    upstream.routes.set('/slow-head.bin', { object: storedObject(big), fault: { kind: 'slow', delayMs: 5000 } });
    const before = upstream.abandoned();
    const controller = new AbortController();
    const pending = call(handler(), { name: 'slow-head.bin' }, { signal: controller.signal });
    await expect.poll(() => upstream.requests.some((entry) => entry.path === '/slow-head.bin')).toBe(true);
    controller.abort();
    await pending;
    // The HEAD's connection is closed at once, long before the upstream would have answered.
    await expect.poll(() => upstream.abandoned(), { timeout: 2000 }).toBe(before + 1);
  });

  it('never puts the upstream URL in a response', async () => {
    upstream.routes.set('/f.bin', { object: storedObject(big), fault: { kind: 'status', status: 500 } });
    const response = await get(handler(), 'f.bin');
    const text = `${[...response.headers].join('\n')}\n${await response.text()}`;
    expect(text).not.toContain(String(upstream.port));
  });
});

describe('remote() error hygiene', () => {
  it('no failure response holds the upstream URL, its port, a path, a stack or the app credentials', async () => {
    const markers = { urls: [upstream.url, other.url, `127.0.0.1:${upstream.port}`, `127.0.0.1:${other.port}`, '127.0.0.1:9', 'file:///'], secrets: ['app-secret-18b'] };
    const withCredentials = { headers: { authorization: 'Bearer app-secret-18b' } };
    const failures: [string, () => Promise<Response>][] = [
      ['missing', () => get(handler(withCredentials), 'missing.bin')],
      ...[401, 403, 500, 503].map((status): [string, () => Promise<Response>] => [`upstream ${status}`, () => {
        upstream.routes.set('/f.bin', { object: storedObject(big), fault: { kind: 'status', status } });
        return get(handler(withCredentials), 'f.bin');
      }]),
      ['refused', () => call(downloadHandler({ source: remote({ url: () => 'http://127.0.0.1:9/x.bin' }), onError: () => {} }), {})],
      ['slow', () => {
        upstream.routes.set('/slow.bin', { object: storedObject(big), fault: { kind: 'slow', delayMs: 1500 } });
        return get(handler({ connectTimeout: 300, ...withCredentials }), 'slow.bin');
      }],
      ['compressed', () => {
        upstream.routes.set('/g.txt', { object: storedObject('x'.repeat(10000), 'text/plain'), fault: { kind: 'gzip' } });
        return get(handler(withCredentials), 'g.txt');
      }],
      ['range ignored', () => {
        upstream.routes.set('/r.bin', { object: storedObject(big), getFault: { kind: 'ignore-range' } });
        return get(handler(withCredentials), 'r.bin', { range: 'bytes=10-19' });
      }],
      ['redirect to another origin', () => {
        upstream.routes.set('/moved.bin', { redirect: `${other.url}/a.bin` });
        return get(handler(withCredentials), 'moved.bin');
      }],
      ['non-http URL', () => call(downloadHandler({ source: remote({ url: () => 'file:///etc/passwd' }), onError: () => {} }), {})],
    ];
    const statuses: number[] = [];
    for (const [label, fail] of failures) {
      const response = await fail();
      statuses.push(response.status);
      await assertResponseNoLeak(response, markers, label);
    }
    expect(statuses).toEqual([404, 502, 502, 502, 502, 502, 504, 502, 502, 502, 500]);
  });
});

describe('remote() delivery', () => {
  it('is offloaded to nginx with the URL in X-Accel-Remote-Url, and streamed when it needs app credentials', async () => {
    upstream.routes.set('/a.bin', { object: storedObject(big) });
    const backend = nginx({ rules: { '/srv': '/_protected/media' } });
    const offloaded = await get(handler({}, { backend }), 'a.bin');
    expect(offloaded.headers.get('x-accel-redirect')).toBe('/_protected/remote/');
    expect(offloaded.headers.get('x-accel-remote-url')).toBe(`${upstream.url}/a.bin`);
    const reasons: string[] = [];
    const withKey = await get(handler({ headers: { authorization: 'Bearer k' } }, { backend, onFallback: (reason) => reasons.push(reason) }), 'a.bin');
    expect(withKey.headers.get('x-accel-redirect')).toBeNull();
    expectBytes(await bodyOf(withKey), big);
    expect(reasons[0]).toMatch(/credentials/);
  });

  it('is never a redirect target: redirect() streams it', async () => {
    upstream.routes.set('/a.bin', { object: storedObject(big) });
    const response = await get(handler({}, { backend: redirect() }), 'a.bin');
    expect(response.status).toBe(200);
    expect(response.headers.get('location')).toBeNull();
    expectBytes(await bodyOf(response), big);
  });
});

describe('remote({ base }): the key placed under a folder, checked and encoded by the library', () => {
  const based = (options: Partial<RemoteBaseOptions> = {}, handlerOptions: Partial<DownloadHandlerOptions> = {}) =>
    downloadHandler({ source: remote({ base: `${upstream.url}/store/`, ...options }), onError: (error) => errors.push(error), onFallback: () => {}, ...handlerOptions });
  const getKey = (download: ReturnType<typeof based>, path: string[], headers: Record<string, string> = {}) => call(download, { path }, { headers });

  it('fetches each segment percent-encoded, so names with %, ?, # and non-ASCII arrive as names', async () => {
    const names = ['100%.txt', 'what?.txt', 'a#b.txt', 'ré sumé 名前.txt', 'v%2e1-not-a-climb.txt'];
    for (const [index, name] of names.entries()) upstream.routes.set(`/store/docs/${name}`, { object: storedObject(`file ${index}\n`) });
    for (const [index, name] of names.entries()) {
      const response = await getKey(based(), ['docs', name]);
      expect(response.status, name).toBe(200);
      expect(await response.text()).toBe(`file ${index}\n`);
    }
    const ranged = await getKey(based(), ['docs', '100%.txt'], { range: 'bytes=5-' });
    expect(ranged.status).toBe(206);
    expect(await ranged.text()).toBe('0\n');
  });

  it('refuses keys that climb, hide or would climb at an upstream that decodes twice, without asking the upstream', async () => {
    upstream.routes.set('/secret.txt', { object: storedObject('secret\n') });
    upstream.routes.set('/store/.env', { object: storedObject('secret\n') });
    const before = upstream.requests.length;
    const refused = [['..', 'secret.txt'], ['docs', '..', '..', 'secret.txt'], ['.'], [''], ['a', '', 'b'], ['.env'], ['%2e%2e', 'secret.txt'],
      ['%2E%2e'], ['a%2F..%2F..%2Fsecret.txt'], ['a%5c..'], ['x%00.txt'], ['%2eenv'], ['a\\b'], ['a\0b'], ['../secret.txt'], ['\ud800']];
    for (const path of refused) {
      const response = await getKey(based(), path);
      expect(response.status, JSON.stringify(path)).toBe(404);
      expect(await response.text()).not.toContain('secret');
    }
    expect(upstream.requests.slice(before)).toEqual([]);
  });

  it('hands authorize the checked key (not the URL), takes a key from the key option, and serves dotfiles only when asked', async () => {
    upstream.routes.set('/store/users/7/.profile', { object: storedObject('profile\n') });
    const seen: string[] = [];
    const download = based(
      { key: (request, { params }) => `users/${String(params.user)}/${String(params.name)}`, dotfiles: true },
      { authorize: (request, target) => (seen.push(target.key), true) },
    );
    const response = await call(download, { user: '7', name: '.profile' });
    expect(await response.text()).toBe('profile\n');
    expect(seen).toEqual(['users/7/.profile']);
    expect((await call(download, { user: '..', name: 'x' })).status).toBe(404);
    expect((await call(based({ param: 'file' }), { file: ['users', '7', '.profile'] })).status).toBe(404);
  });

  it('refuses a base that is not an http(s) folder without query or credentials, or given with url', () => {
    expect(() => remote({ base: 'https://files.example/invoices' })).toThrow(/remote\.base.*must end with \//);
    expect(() => remote({ base: 'file:///srv/' })).toThrow(/remote\.base/);
    expect(() => remote({ base: 'not a url' })).toThrow(/remote\.base/);
    expect(() => remote({ base: 'https://user:pw@files.example/' })).toThrow(/remote\.base.*credentials/);
    expect(() => remote({ base: 'https://files.example/?sig=1' })).toThrow(/remote\.base.*query/);
    expect(() => remote({ base: 'https://files.example/', param: '' })).toThrow(/remote\.param/);
    expect(() => remote({ base: 'https://files.example/', url: () => null } as never)).toThrow(/remote\.url.*remote\.base/);
  });
});

describe('remote() options', () => {
  it('refuses bad configuration at factory time, naming the option', () => {
    expect(() => remote({} as RemoteOptions)).toThrow(/remote\.url/);
    expect(() => remote({ url: () => null, connectTimeout: 0 })).toThrow(/remote\.connectTimeout/);
    expect(() => remote({ url: () => null, followRedirects: ['not a url'] })).toThrow(/remote\.followRedirects/);
  });

  it('treats a non-http URL from the app as a 500', async () => {
    const download = downloadHandler({ source: remote({ url: () => 'file:///etc/passwd' }), onError: () => {} });
    expect((await call(download, {})).status).toBe(500);
  });
});
