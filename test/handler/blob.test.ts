/**
 * blob() in-process against the project's Blob server, driven by the real @vercel/blob client
 * (which also uploads the objects): bytes, ranges, validators, failures, presigned redirects.
 */
import { randomBytes } from 'node:crypto';
import { issueSignedToken, presignUrl, put } from '@vercel/blob';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { backendFromEnv, blob, downloadHandler, nginx, record, redirect, type DownloadHandlerOptions } from '../../src/index.js';
import { startRemoteWorld, useRemoteWorldHere, type RemoteWorld } from '../servers/remote-world.js';
import { assertResponseNoLeak } from '../helpers/hygiene.js';
import { bodyOf, call, expectBytes, parseMultipart, releaseUnread, segments } from './support.js';

let world: RemoteWorld;
const big = randomBytes(3 * 1024 * 1024 + 17);
const small = Buffer.from('private report\n');

beforeAll(async () => {
  world = await startRemoteWorld();
  await useRemoteWorldHere(world);
  const token = world.blob.token;
  await put('docs/big.bin', big, { access: 'private', token, contentType: 'application/octet-stream' });
  await put('docs/report.txt', small, { access: 'private', token, contentType: 'text/plain' });
  await put('docs/Bericht für März 100%.txt', small, { access: 'private', token, contentType: 'text/plain' });
  await put('docs/replaced.bin', big, { access: 'private', token });
  await put('docs/faulty.bin', big, { access: 'private', token });
  await put('docs/cached.bin', small, { access: 'private', token });
  await put('pub/photo.bin', small, { access: 'public', token });
}, 60_000);

afterAll(async () => {
  await world?.close();
});
afterEach(async () => {
  await releaseUnread();
  world.blob.faults.clear();
});

const errors: unknown[] = [];
function handler(options: Partial<DownloadHandlerOptions> = {}, access: 'public' | 'private' = 'private') {
  return downloadHandler({
    source: blob({ access, token: world.blob.token }),
    onError: (error) => errors.push(error),
    onFallback: () => {},
    ...options,
  });
}

describe('blob() streamed', () => {
  it('sends a private blob byte-exact with the stored type and a strong ETag', async () => {
    const response = await call(handler(), segments('docs/big.bin'));
    expect(response.status).toBe(200);
    expect(response.headers.get('etag')).toMatch(/^"/);
    expect(response.headers.get('content-length')).toBe(String(big.length));
    expect(response.headers.get('content-disposition')).toBe('attachment; filename="big.bin"');
    expectBytes(await bodyOf(response), big);
  });

  it('asks the object host for exactly the range, with identity encoding and If-Match', async () => {
    const before = world.blob.objectRequests.length;
    const response = await call(handler(), segments('docs/big.bin'), { headers: { range: 'bytes=1000000-1999999' } });
    expect(response.status).toBe(206);
    expect(response.headers.get('content-range')).toBe(`bytes 1000000-1999999/${big.length}`);
    expectBytes(await bodyOf(response), big.subarray(1000000, 2000000));
    const asked = world.blob.objectRequests.slice(before);
    expect(asked).toHaveLength(1);
    expect(asked[0]!.headers.range).toBe('bytes=1000000-1999999');
    // (undici repeats a header given in a plain object: "identity, identity" is still only identity.)
    expect(String(asked[0]!.headers['accept-encoding']).split(',').map((coding) => coding.trim())).toSatisfy((codings: string[]) => codings.every((coding) => coding === 'identity'));
    expect(asked[0]!.headers['if-match']).toMatch(/^"/);
  });

  it('serves multi-range with one upstream request per range, each part byte-exact', async () => {
    const before = world.blob.objectRequests.length;
    const response = await call(handler(), segments('docs/big.bin'), { headers: { range: 'bytes=0-99,2000000-2000099,-50' } });
    expect(response.status).toBe(206);
    const parts = parseMultipart(await bodyOf(response), response.headers.get('content-type')!);
    expect(parts.map((part) => part.bytes.length)).toEqual([100, 100, 50]);
    expectBytes(parts[1]!.bytes, big.subarray(2000000, 2000100));
    expectBytes(parts[2]!.bytes, big.subarray(big.length - 50));
    expect(world.blob.objectRequests.slice(before).map((entry) => entry.headers.range)).toEqual(['bytes=0-99', 'bytes=2000000-2000099', `bytes=${big.length - 50}-${big.length - 1}`]);
  });

  it('answers HEAD, 304 and 412 from the metadata without reading the object', async () => {
    const reads = world.blob.objectRequests.length;
    const head = await call(handler(), segments('docs/big.bin'), { method: 'HEAD' });
    expect(head.status).toBe(200);
    const etag = head.headers.get('etag')!;
    expect((await call(handler(), segments('docs/big.bin'), { headers: { 'if-none-match': etag } })).status).toBe(304);
    expect((await call(handler(), segments('docs/big.bin'), { headers: { 'if-match': '"other"' } })).status).toBe(412);
    expect(world.blob.objectRequests.length).toBe(reads);
  });

  it('serves a non-ASCII pathname with %, byte-exact', async () => {
    const response = await call(handler(), segments('docs/Bericht für März 100%.txt'));
    expect(response.status).toBe(200);
    expect((await bodyOf(response)).toString()).toBe(small.toString());
  });

  it('is a 404 for a missing blob, and for a key it refuses', async () => {
    expect((await call(handler(), segments('docs/missing.bin'))).status).toBe(404);
    expect((await call(handler(), segments('docs/../big.bin'))).status).toBe(404);
  });

  it('is a 503 when the blob was replaced between metadata and bytes', async () => {
    const source = blob({ access: 'private', token: world.blob.token });
    const located = source.file('docs/replaced.bin')!;
    const file = (await located.load())!;
    world.blob.replace('docs/replaced.bin', randomBytes(100));
    await expect(file.open(new AbortController().signal, file.size)).rejects.toMatchObject({ code: 'file_changed', status: 503 });
  });

  it('is a 503 when a store that ignores If-Match serves a replaced blob (the ETag is checked too)', async () => {
    const source = blob({ access: 'private', token: world.blob.token });
    const file = (await source.file('docs/replaced.bin')!.load())!;
    world.blob.replace('docs/replaced.bin', randomBytes(100));
    world.blob.faults.set('docs/replaced.bin', { kind: 'ignore-conditions' });
    await expect(file.open(new AbortController().signal, file.size)).rejects.toMatchObject({ code: 'file_changed', status: 503 });
  });

  it('maps store failures: 403 → 502, 5xx → 502, a slow store → 504, a broken body → failed transfer', async () => {
    world.blob.faults.set('head:docs/report.txt', { kind: 'status', status: 403 });
    expect((await call(handler(), segments('docs/report.txt'))).status).toBe(502);
    world.blob.faults.clear();
    world.blob.faults.set('docs/faulty.bin', { kind: 'status', status: 500 });
    expect((await call(handler(), segments('docs/faulty.bin'))).status).toBe(502);
    world.blob.faults.set('docs/faulty.bin', { kind: 'slow', delayMs: 1500 });
    const slow = downloadHandler({ source: blob({ access: 'private', token: world.blob.token, connectTimeout: 300 }), onError: () => {} });
    expect((await call(slow, segments('docs/faulty.bin'))).status).toBe(504);
    world.blob.faults.set('docs/faulty.bin', { kind: 'reset' });
    const broken = await call(handler(), segments('docs/faulty.bin'));
    expect(broken.status).toBe(200);
    await expect(bodyOf(broken)).rejects.toThrow();
  });

  it('never puts the store URL or token in a response', async () => {
    world.blob.faults.set('docs/faulty.bin', { kind: 'status', status: 500 });
    const response = await call(handler(), segments('docs/faulty.bin'));
    const text = `${[...response.headers].join('\n')}\n${await response.text()}`;
    expect(text).not.toContain('vercel-storage');
    expect(text).not.toContain(world.blob.token);
  });
});

describe('blob() error hygiene', () => {
  it('no failure response holds the store URL, API URL, token, a path or a stack', async () => {
    const secret = world.blob.token.split('_').at(-1)!;
    const markers = { urls: ['vercel-storage', world.blob.apiUrl, new URL(world.blob.apiUrl).host], secrets: [world.blob.token, secret] };
    const failures: [string, () => Promise<Response>][] = [
      ['missing', () => call(handler(), segments('docs/missing.bin'))],
      ['refused key', () => call(handler(), segments('docs/../x'))],
      ['head 403', () => {
        world.blob.faults.set('head:docs/report.txt', { kind: 'status', status: 403 });
        return call(handler(), segments('docs/report.txt'));
      }],
      ['object 500', () => {
        world.blob.faults.clear();
        world.blob.faults.set('docs/faulty.bin', { kind: 'status', status: 500 });
        return call(handler(), segments('docs/faulty.bin'));
      }],
      ['slow store', () => {
        world.blob.faults.set('docs/faulty.bin', { kind: 'slow', delayMs: 1500 });
        return call(downloadHandler({ source: blob({ access: 'private', token: world.blob.token, connectTimeout: 300 }), onError: () => {} }), segments('docs/faulty.bin'));
      }],
      ['wrong access level', () => call(downloadHandler({ source: blob({ access: 'public', token: world.blob.token }), onError: () => {} }), segments('docs/report.txt'))],
      ['wrong token', () => call(downloadHandler({ source: blob({ access: 'private', token: `${world.blob.token}x` }), onError: () => {} }), segments('docs/report.txt'))],
    ];
    const statuses: number[] = [];
    for (const [label, fail] of failures) {
      const response = await fail();
      statuses.push(response.status);
      await assertResponseNoLeak(response, markers, label);
    }
    expect(statuses).toEqual([404, 404, 502, 502, 504, 500, 502]);
  });
});

describe('blob() configuration', () => {
  it('refuses bad options at factory time, naming the option', () => {
    expect(() => blob({} as never)).toThrow(/blob\.access/);
    expect(() => blob({ access: 'private', token: 42 as never })).toThrow(/blob\.token/);
    expect(() => blob({ access: 'private', prefix: '/abs/' })).toThrow(/blob\.prefix/);
    expect(() => blob({ access: 'private', presignExpiresIn: 0 })).toThrow(/blob\.presignExpiresIn/);
    expect(() => blob({ access: 'private', idleTimeout: -1 })).toThrow(/blob\.idleTimeout/);
  });

  it('says so when a blob has the other access level than configured (a 500, not a changed object)', async () => {
    const wrong = downloadHandler({ source: blob({ access: 'public', token: world.blob.token }), onError: (error) => errors.push(error) });
    const response = await call(wrong, segments('docs/report.txt'));
    expect(response.status).toBe(500);
    expect(String(errors.at(-1))).toMatch(/blob\.access is 'public' but docs\/report\.txt is a private blob/);
  });

  it('metadataCache: one head() per blob and maxAge; a replaced blob is one 503, then served afresh', async () => {
    const cached = downloadHandler({ source: blob({ access: 'private', token: world.blob.token, metadataCache: { maxAge: 60_000 } }), onError: () => {} });
    const heads = world.blob.apiCalls.get('head') ?? 0;
    for (let i = 0; i < 3; i += 1) expect(await (await call(cached, segments('docs/cached.bin'))).text()).toBe(small.toString());
    expect((world.blob.apiCalls.get('head') ?? 0) - heads).toBe(1);
    const replacement = randomBytes(64);
    world.blob.replace('docs/cached.bin', replacement);
    expect((await call(cached, segments('docs/cached.bin'))).status).toBe(503);
    expectBytes(await bodyOf(await call(cached, segments('docs/cached.bin'))), replacement);
    expect(() => blob({ access: 'private', metadataCache: { maxAge: 0 } })).toThrow(/blob\.metadataCache\.maxAge/);
  });

  it('maps the prefix and the param to the pathname', async () => {
    const prefixed = downloadHandler({ source: blob({ access: 'private', token: world.blob.token, prefix: 'docs/', param: 'file' }) });
    const response = await call(prefixed, { file: ['report.txt'] });
    expect(await response.text()).toBe(small.toString());
  });
});

describe('blob() under redirect()', () => {
  it('redirects GET and HEAD to URLs presigned for that method, which the store accepts only for it', async () => {
    const get = await call(handler({ backend: redirect() }), segments('docs/report.txt'));
    expect(get.status).toBe(302);
    expect(get.headers.get('cache-control')).toBe('private, no-store');
    expect(get.headers.get('referrer-policy')).toBe('no-referrer');
    const location = get.headers.get('location')!;
    expect(location).toMatch(/^https:\/\/[a-z0-9]+\.private\.blob\.vercel-storage\.com\/docs\/report\.txt\?/);
    expect(location).toContain('download=1');
    expect(location).not.toContain(world.blob.token);
    const fetched = await fetch(location);
    expect(fetched.status).toBe(200);
    expect(await fetched.text()).toBe(small.toString());
    // A GET signature does not serve HEAD, and a tampered signature serves nothing.
    expect((await fetch(location, { method: 'HEAD' })).status).toBe(403);
    const head = await call(handler({ backend: redirect() }), segments('docs/report.txt'), { method: 'HEAD' });
    expect((await fetch(head.headers.get('location')!, { method: 'HEAD' })).status).toBe(200);
    const tampered = location.replace(/vercel-blob-signature=([^&])/, (_, c: string) => `vercel-blob-signature=${c === 'A' ? 'B' : 'A'}`);
    expect((await fetch(tampered)).status).toBe(403);
  });

  it('presigns a non-ASCII pathname the store accepts', async () => {
    const response = await call(handler({ backend: redirect() }), segments('docs/Bericht für März 100%.txt'));
    expect(response.status).toBe(302);
    const fetched = await fetch(response.headers.get('location')!);
    expect(fetched.status).toBe(200);
    expect(await fetched.text()).toBe(small.toString());
  });

  it('pins why delegations are store-wide: the client cannot presign under a non-ASCII pathname scope', async () => {
    // @vercel/blob 2.8 decodes the delegation payload with atob (Latin-1): the scope's UTF-8
    // pathname comes back garbled and fails its own comparison. If a client version fixes this,
    // this test fails, and per-pathname delegations become an option.
    const pathname = 'docs/Bericht für März 100%.txt';
    const scoped = await issueSignedToken({ token: world.blob.token, pathname, operations: ['get'], validUntil: Date.now() + 600_000 });
    await expect(presignUrl(scoped, { operation: 'get', pathname, access: 'private' })).rejects.toThrow(/does not match the signed token scope/);
    const ascii = await issueSignedToken({ token: world.blob.token, pathname: 'docs/report.txt', operations: ['get'], validUntil: Date.now() + 600_000 });
    await expect(presignUrl(ascii, { operation: 'get', pathname: 'docs/report.txt', access: 'private' })).resolves.toMatchObject({ presignedUrl: expect.stringContaining('vercel-blob-signature=') });
  });

  it('reuses one store-wide delegation across downloads', async () => {
    const before = world.blob.apiCalls.get('signed-token') ?? 0;
    const backend = redirect();
    const source = blob({ access: 'private', token: world.blob.token });
    const download = downloadHandler({ source, backend });
    for (let i = 0; i < 3; i += 1) expect((await call(download, segments('docs/report.txt'))).status).toBe(302);
    expect((world.blob.apiCalls.get('signed-token') ?? 0) - before).toBe(1);
  });

  it('streams what a redirect cannot reproduce, saying why once', async () => {
    const reasons: string[] = [];
    const renamed = downloadHandler({ source: blob({ access: 'private', token: world.blob.token }), backend: redirect(), filename: 'other.txt', onFallback: (reason) => reasons.push(reason) });
    const response = await call(renamed, segments('docs/report.txt'));
    expect(response.status).toBe(200);
    expect(await response.text()).toBe(small.toString());
    expect(reasons[0]).toMatch(/download name/);
    const pub = await call(handler({ backend: redirect(), onFallback: (reason) => reasons.push(reason) }, 'public'), segments('pub/photo.bin'));
    expect(pub.status).toBe(200);
    expect(reasons[1]).toMatch(/public blobs/);
    const opted = await call(handler({ backend: redirect({ public: true }) }, 'public'), segments('pub/photo.bin'));
    expect(opted.status).toBe(302);
    expect(opted.headers.get('location')).toMatch(/^https:\/\/[a-z0-9]+\.public\.blob\.vercel-storage\.com\/pub\/photo\.bin\?download=1$/);
  });
});

describe('blob() under nginx()', () => {
  it('hands nginx a URL presigned for the method in X-Accel-Remote-Url', async () => {
    const download = handler({ backend: nginx({ rules: { '/srv': '/_protected/media' } }) });
    const response = await call(download, segments('docs/big.bin'));
    expect(response.status).toBe(200);
    expect(response.headers.get('x-accel-redirect')).toBe('/_protected/remote/');
    const url = response.headers.get('x-accel-remote-url')!;
    const fetched = await fetch(url, { headers: { range: 'bytes=5-9' } });
    expect(fetched.status).toBe(206);
    expectBytes(Buffer.from(await fetched.arrayBuffer()), big.subarray(5, 10));
    expect(response.headers.get('content-disposition')).toBe('attachment; filename="big.bin"');
  });

  it('needs no rules in an app whose files are all remote (nginx({}), DOWNLOADVIEW_RULES=none)', async () => {
    for (const backend of [nginx(), backendFromEnv({ DOWNLOADVIEW_BACKEND: 'nginx', DOWNLOADVIEW_RULES: 'none' })]) {
      const response = await call(handler({ backend }), segments('docs/big.bin'));
      expect(response.headers.get('x-accel-redirect')).toBe('/_protected/remote/');
      expect(response.headers.get('x-accel-remote-url')).toMatch(/^https:/);
    }
  });
});

describe('blob() preconditions before any offload', () => {
  it('answers 304 and 412 itself under nginx and redirect, making no URL', async () => {
    const head = await call(handler(), segments('docs/report.txt'), { method: 'HEAD' });
    const etag = head.headers.get('etag')!;
    for (const backend of [nginx({ rules: { '/srv': '/_protected/media' } }), redirect()]) {
      const notModified = await call(handler({ backend }), segments('docs/report.txt'), { headers: { 'if-none-match': etag } });
      expect(notModified.status).toBe(304);
      expect(notModified.headers.get('location')).toBeNull();
      expect(notModified.headers.get('x-accel-remote-url')).toBeNull();
      const failed = await call(handler({ backend }), segments('docs/report.txt'), { headers: { 'if-match': '"older"' } });
      expect(failed.status).toBe(412);
    }
  });
});

describe('blob() with record()', () => {
  it('addresses a blob by pathname', async () => {
    const source = blob({ access: 'private', token: world.blob.token });
    const download = downloadHandler({ source: record({ find: () => ({ path: 'docs/report.txt' }), file: (row) => ({ file: source.file(row.path), filename: 'mine.txt' }) }) });
    const response = await call(download, {});
    expect(response.headers.get('content-disposition')).toBe('attachment; filename="mine.txt"');
    expect(await response.text()).toBe(small.toString());
  });
});
