/**
 * Remote files end to end: blob() and remote() through a real `next start` (the real @vercel/blob
 * client against the project's Blob server, reached over TLS through the dispatcher preload),
 * streamed, redirected (DOWNLOADVIEW_BACKEND=redirect) and offloaded to a real nginx that fetches
 * the presigned object itself (resolver + certificate verification against a test CA).
 */
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { cpSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { put } from '@vercel/blob';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureBuilt, fixtureApp } from '../helpers/fixture.js';
import { hashedGet, sha256 } from '../helpers/http.js';
import { assertNoLeak, type LeakMarkers } from '../helpers/hygiene.js';
import { createMediaRoot } from '../helpers/media.js';
import { repositoryRoot, startNext, type RunningNext } from '../helpers/next-server.js';
import { startOffloading, startProxy, type ProxyKind, type RunningProxy } from '../helpers/proxies.js';
import { describeEachProxy, describeWith } from '../helpers/suites.js';
import { startDnsServer, type DnsServer } from '../servers/dns-server.js';
import { startRemoteWorld, useRemoteWorldHere, worldLeakMarkers, type RemoteWorld } from '../servers/remote-world.js';
import { storedObject } from '../servers/upstream-server.js';
import { parseMultipart } from '../handler/support.js';

const MiB = 1 << 20;
const big = randomBytes(8 * MiB + 3);
const hello = Buffer.from('Hello from the blob store!\n');
const oddName = 'odd/Bericht für März 100%.txt';
let world: RemoteWorld;
let media: ReturnType<typeof createMediaRoot>;

const rangeHash = (start: number, end: number) => sha256(big.subarray(start, end + 1));

beforeAll(async () => {
  world = await startRemoteWorld();
  // This process fetches presigned URLs too, like the client that follows a redirect.
  await useRemoteWorldHere(world);
  const token = world.blob.token;
  await put('files/big.bin', big, { access: 'private', token, contentType: 'application/octet-stream' });
  await put('files/hello.txt', hello, { access: 'private', token, contentType: 'text/plain' });
  await put(`files/${oddName}`, hello, { access: 'private', token, contentType: 'text/plain' });
  await put('files/private/secret.txt', hello, { access: 'private', token, contentType: 'text/plain' });
  await put('files/trickle.bin', big, { access: 'private', token });
  await put('files/broken.bin', big, { access: 'private', token });
  await put('public/photo.bin', hello, { access: 'public', token });
  world.upstream.routes.set('/big.bin', { object: storedObject(big) });
  world.upstream.routes.set(`/${oddName}`, { object: storedObject(hello) });
  world.upstream.routes.set('/trickle.bin', { object: storedObject(big), getFault: { kind: 'trickle', delayMs: 5 } });
  world.upstream.routes.set('/stall.bin', { object: storedObject(big), getFault: { kind: 'stall' } });
  media = createMediaRoot('dv-remote-');
  media.write('hello.txt', 'local file\n');
  await ensureBuilt(fixtureApp);
}, 300_000);

afterAll(async () => {
  await world?.close();
  media?.cleanup();
});

function appEnv(extra: Record<string, string> = {}): Record<string, string> {
  return { ...world.nextEnv, TEST_BLOB_TOKEN: world.blob.token, REMOTE_UPSTREAM_URL: world.upstream.url, MEDIA_ROOT: media.root, ...extra };
}

/** What no response may hold: the store and upstream addresses, the token and its secret part, the media root. */
function worldMarkers(): LeakMarkers {
  const markers = worldLeakMarkers(world);
  return { paths: [media.root], urls: [...markers.urls, 'localhost:'], secrets: markers.secrets };
}

/** Every header and the body as one text, to look for things that must never reach a client. */
function everything(response: { headers: Record<string, unknown>; body?: Buffer }): string {
  return `${JSON.stringify(response.headers)}\n${response.body?.toString('latin1') ?? ''}`;
}

/** Start a GET, read `bytes` of the body, then drop the connection. */
function abandonAfter(url: string, bytes: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const request = httpRequest(url, (response) => {
      let received = 0;
      response.on('data', (chunk: Buffer) => {
        received += chunk.length;
        if (received >= bytes) {
          request.destroy();
          resolve();
        }
      });
      response.on('end', () => reject(new Error('the body ended before the client left')));
    });
    request.on('error', () => {});
    request.end();
  });
}

describe('streamed through next start', () => {
  let next: RunningNext;
  const url = (target: string) => `${next.url}${target}`;
  beforeAll(async () => {
    next = await startNext(fixtureApp, appEnv());
  }, 60_000);
  afterAll(async () => {
    await next?.stop();
  });

  it('sends a private blob byte-exact, a range and a multi-range', async () => {
    const full = await hashedGet(url('/blob/big.bin'));
    expect(full.status).toBe(200);
    expect(full.sha256).toBe(sha256(big));
    expect(full.headers.etag).toMatch(/^"/);
    const start = 3 * MiB + 11;
    const end = 7 * MiB;
    const range = await hashedGet(url('/blob/big.bin'), { range: `bytes=${start}-${end}` });
    expect(range.status).toBe(206);
    expect(range.headers['content-range']).toBe(`bytes ${start}-${end}/${big.length}`);
    expect(range.sha256).toBe(rangeHash(start, end));
    const multi = await hashedGet(url('/blob/big.bin'), { range: 'bytes=0-99,5000000-5000999' });
    const parts = parseMultipart(multi.body!, String(multi.headers['content-type']));
    expect(parts.map((part) => sha256(part.bytes))).toEqual([rangeHash(0, 99), rangeHash(5000000, 5000999)]);
  });

  it('serves a non-ASCII pathname with a % in it, from the store and from the upstream', async () => {
    for (const route of ['blob', 'remote']) {
      const response = await hashedGet(url(`/${route}/${oddName.split('/').map(encodeURIComponent).join('/')}`));
      expect(response.status, route).toBe(200);
      expect(response.body!.toString()).toBe(hello.toString());
      expect(response.headers['content-disposition']).toContain("filename*=UTF-8''Bericht%20f%C3%BCr%20M%C3%A4rz%20100%25.txt");
    }
  });

  it('answers HEAD and 304 without reading the object', async () => {
    const reads = world.blob.objectReads('files/big.bin');
    const head = await hashedGet(url('/blob/big.bin'), {}, 'HEAD');
    expect(head.status).toBe(200);
    expect(head.length).toBe(0);
    const notModified = await hashedGet(url('/blob/big.bin'), { 'if-none-match': String(head.headers.etag) });
    expect(notModified.status).toBe(304);
    expect(world.blob.objectReads('files/big.bin')).toBe(reads);
  });

  it('cancels the object read when the client leaves (blob and URL)', async () => {
    world.blob.faults.set('files/trickle.bin', { kind: 'trickle', delayMs: 5 });
    const blobBefore = world.blob.abandoned();
    await abandonAfter(url('/blob/trickle.bin'), 4096);
    await expect.poll(() => world.blob.abandoned(), { timeout: 10_000 }).toBe(blobBefore + 1);
    const upstreamBefore = world.upstream.abandoned();
    await abandonAfter(url('/remote/trickle.bin'), 4096);
    await expect.poll(() => world.upstream.abandoned(), { timeout: 10_000 }).toBe(upstreamBefore + 1);
  });

  it('maps failures to precise statuses, leaking no store URL or token', async () => {
    expect((await hashedGet(url('/blob/missing.bin'))).status).toBe(404);
    expect((await hashedGet(url('/blob/private/secret.txt'))).status).toBe(403);
    world.blob.faults.set('files/broken.bin', { kind: 'status', status: 500 });
    const failed = await hashedGet(url('/blob/broken.bin'));
    expect(failed.status).toBe(502);
    world.upstream.routes.set('/broken.bin', { object: storedObject(big), fault: { kind: 'status', status: 503 } });
    const responses = {
      'blob 404': await hashedGet(url('/blob/missing.bin')),
      'blob 403': await hashedGet(url('/blob/private/secret.txt')),
      'blob 500 → 502': failed,
      'url 404': await hashedGet(url('/remote/missing.bin')),
      'url 503 → 502': await hashedGet(url('/remote/broken.bin')),
      'blob key refused': await hashedGet(url('/blob/%2e%2e%2fx')),
    };
    for (const [label, response] of Object.entries(responses)) {
      expect(everything(response)).not.toContain(String(world.upstream.port));
      assertNoLeak(response, worldMarkers(), label);
    }
    world.blob.faults.set('files/broken.bin', { kind: 'reset' });
    await expect(hashedGet(url('/blob/broken.bin'))).rejects.toThrow();
  });

  it('sends a URL byte-exact with ranges, and fails the transfer when the upstream stalls', async () => {
    const full = await hashedGet(url('/remote/big.bin'));
    expect(full.sha256).toBe(sha256(big));
    const range = await hashedGet(url('/remote/big.bin'), { range: 'bytes=100-1048675' });
    expect(range.status).toBe(206);
    expect(range.sha256).toBe(rangeHash(100, 1048675));
    await expect(hashedGet(url('/remote/stall.bin'))).rejects.toThrow();
  });

  it("does not follow an upstream redirect to another origin (Next's patched fetch included)", async () => {
    // Followed, this would be a 200: the same object under another origin (localhost vs 127.0.0.1).
    world.upstream.routes.set('/moved.bin', { redirect: `http://localhost:${world.upstream.port}/big.bin` });
    const response = await hashedGet(url('/remote/moved.bin'));
    expect(response.status).toBe(502);
    expect(everything(response)).not.toContain('localhost');
    assertNoLeak(response, worldMarkers(), 'cross-origin redirect');
  });
});

describe('DOWNLOADVIEW_BACKEND=redirect', () => {
  let next: RunningNext;
  const url = (target: string) => `${next.url}${target}`;
  beforeAll(async () => {
    next = await startNext(fixtureApp, appEnv({ DOWNLOADVIEW_BACKEND: 'redirect' }));
  }, 60_000);
  afterAll(async () => {
    await next?.stop();
  });

  it('redirects to a URL presigned for GET that serves the blob byte-exact, ranges included', async () => {
    const response = await hashedGet(url('/blob/big.bin'));
    expect(response.status).toBe(302);
    expect(response.headers['cache-control']).toBe('private, no-store');
    expect(response.headers['referrer-policy']).toBe('no-referrer');
    const location = String(response.headers.location);
    expect(location).not.toContain(world.blob.token);
    const followed = await fetch(location);
    expect(followed.status).toBe(200);
    expect(followed.headers.get('content-disposition')).toMatch(/^attachment; filename="big.bin"/);
    expect(sha256(Buffer.from(await followed.arrayBuffer()))).toBe(sha256(big));
    const ranged = await fetch(location, { headers: { range: 'bytes=1000-1999' } });
    expect(ranged.status).toBe(206);
    expect(sha256(Buffer.from(await ranged.arrayBuffer()))).toBe(rangeHash(1000, 1999));
    // Signed for GET: the store refuses it for HEAD.
    expect((await fetch(location, { method: 'HEAD' })).status).toBe(403);
    const head = await hashedGet(url('/blob/big.bin'), {}, 'HEAD');
    expect(head.status).toBe(302);
    const headed = await fetch(String(head.headers.location), { method: 'HEAD' });
    expect(headed.status).toBe(200);
    expect(headed.headers.get('content-length')).toBe(String(big.length));
  });

  it('streams what it cannot redirect: files on disk, URL sources and public blobs', async () => {
    const local = await hashedGet(url('/files/hello.txt'));
    expect(local.status).toBe(200);
    expect(local.body!.toString()).toBe('local file\n');
    const viaUrl = await hashedGet(url('/remote/big.bin'));
    expect(viaUrl.status).toBe(200);
    expect(viaUrl.sha256).toBe(sha256(big));
    const pub = await hashedGet(url('/blob-public/photo.bin'));
    expect(pub.status).toBe(200);
    expect(pub.body!.toString()).toBe(hello.toString());
    expect(next.output()).toMatch(/fallback: redirect cannot send clients to filesystem files/);
    expect(next.output()).toMatch(/fallback: public blobs are streamed under redirect/);
  });
});

describeWith(['nginx'])('DOWNLOADVIEW_BACKEND=nginx: remote offload through a real nginx', () => {
  let next: RunningNext;
  let proxy: RunningProxy;
  let dns: DnsServer;
  const url = (target: string) => `${proxy.url}${target}`;
  beforeAll(async () => {
    dns = await startDnsServer('.blob.vercel-storage.com', world.blob.objectIp);
    next = await startNext(fixtureApp, appEnv({ DOWNLOADVIEW_BACKEND: 'nginx', DOWNLOADVIEW_RULES: `${media.root}=/_protected/media` }));
    proxy = await startProxy('nginx', {
      upstreamPort: next.port,
      mediaRoot: media.root,
      templateValues: { RESOLVER: `127.0.0.1:${dns.port}`, CA_FILE: world.certificates.caFile },
    });
  }, 60_000);
  afterAll(async () => {
    await proxy?.stop();
    await next?.stop();
    await dns?.close();
  });

  it('nginx fetches the presigned blob itself: byte-exact, sized, with the app headers and nothing of storage', async () => {
    const before = world.blob.objectRequests.length;
    const response = await hashedGet(url('/blob/big.bin'), { cookie: 'session=user-secret', authorization: 'Bearer user-secret' });
    expect(response.status).toBe(200);
    expect(response.sha256).toBe(sha256(big));
    expect(response.headers['content-length']).toBe(String(big.length));
    expect(response.headers['content-type']).toBe('application/octet-stream');
    expect(response.headers['content-disposition']).toBe('attachment; filename="big.bin"');
    expect(response.headers['cache-control']).toBe('private, no-transform');
    expect(response.headers['x-content-type-options']).toBe('nosniff');
    expect(response.headers['set-cookie']).toBeUndefined();
    expect(response.headers['content-security-policy']).toBeUndefined();
    expect(everything(response)).not.toMatch(/vercel-storage|vercel-blob|x-accel/i);
    const asked = world.blob.objectRequests.slice(before);
    // One request, from nginx with a presigned URL (the app's client would have used the token).
    expect(asked).toHaveLength(1);
    expect(asked[0]).toMatchObject({ method: 'GET', presigned: true, status: 200 });
    expect(asked[0]!.headers.cookie).toBeUndefined();
    expect(asked[0]!.headers.authorization).toBeUndefined();
    expect(asked[0]!.headers['accept-encoding']).toBe('identity');
    expect(dns.queries.some((name) => name.endsWith('.private.blob.vercel-storage.com'))).toBe(true);
  });

  it('passes the client Range on (206 byte-exact) and HEAD as a HEAD presigned for HEAD', async () => {
    const range = await hashedGet(url('/blob/big.bin'), { range: 'bytes=2000000-2999999' });
    expect(range.status).toBe(206);
    expect(range.sha256).toBe(rangeHash(2000000, 2999999));
    const before = world.blob.objectRequests.length;
    const head = await hashedGet(url('/blob/big.bin'), {}, 'HEAD');
    expect(head.status).toBe(200);
    expect(head.headers['content-length']).toBe(String(big.length));
    expect(world.blob.objectRequests.slice(before)).toMatchObject([{ method: 'HEAD', presigned: true, status: 200 }]);
  });

  it('offloads a URL source (ranges included), a public blob and non-ASCII pathnames with a %', async () => {
    const viaUrl = await hashedGet(url('/remote/big.bin'));
    expect(viaUrl.status).toBe(200);
    expect(viaUrl.sha256).toBe(sha256(big));
    expect(viaUrl.headers['content-length']).toBe(String(big.length));
    const urlRange = await hashedGet(url('/remote/big.bin'), { range: 'bytes=7-1000006' });
    expect(urlRange.status).toBe(206);
    expect(urlRange.sha256).toBe(rangeHash(7, 1000006));
    const before = world.blob.objectRequests.length;
    const pub = await hashedGet(url('/blob-public/photo.bin'));
    expect(pub.status).toBe(200);
    expect(pub.body!.toString()).toBe(hello.toString());
    expect(world.blob.objectRequests.slice(before)).toMatchObject([{ method: 'GET', pathname: 'public/photo.bin', presigned: false, status: 200 }]);
    const upstreamBefore = world.upstream.requests.length;
    for (const route of ['blob', 'remote']) {
      const odd = await hashedGet(url(`/${route}/${oddName.split('/').map(encodeURIComponent).join('/')}`));
      expect(odd.status, route).toBe(200);
      expect(odd.body!.toString()).toBe(hello.toString());
    }
    // nginx fetched the URL file itself: one GET, without the If-Match the app pins its own reads with.
    const gets = world.upstream.requests.slice(upstreamBefore).filter((request) => request.method === 'GET');
    expect(gets.map((request) => [request.path, request.headers['if-match']])).toEqual([[`/${oddName}`, undefined]]);
  });

  it('still offloads local files through the same config', async () => {
    const local = await hashedGet(url('/files/hello.txt'));
    expect(local.status).toBe(200);
    expect(local.body!.toString()).toBe('local file\n');
    expect(local.headers['content-length']).toBe('11');
  });
});


describeEachProxy(['apache', 'lighttpd', 'caddy'] satisfies ProxyKind[])('behind %s, which cannot fetch URLs', (kind) => {
  let running: Awaited<ReturnType<typeof startOffloading>>;
  beforeAll(async () => {
    running = await startOffloading(kind, fixtureApp, media.root, appEnv());
  }, 60_000);
  afterAll(async () => running?.stop());

  it('the app streams blobs and URLs through the proxy byte-exact, ranges included', async () => {
    const fromBlob = await hashedGet(`${running.proxy.url}/blob/big.bin`, { range: 'bytes=100-2000099' });
    expect(fromBlob.status).toBe(206);
    expect(fromBlob.sha256).toBe(rangeHash(100, 2000099));
    const fromUrl = await hashedGet(`${running.proxy.url}/remote/big.bin`);
    expect(fromUrl.status).toBe(200);
    expect(fromUrl.sha256).toBe(sha256(big));
    expect(running.next.output()).toMatch(new RegExp(`fallback: ${kind} cannot fetch blob files`));
  });
});

describe('without @vercel/blob installed', () => {
  it('imports fine, and blob() fails on first use with the install command', () => {
    // The built package in a folder whose node_modules has only its other dependency.
    const dir = mkdtempSync(path.join(tmpdir(), 'dv-noblob-'));
    try {
      cpSync(path.join(repositoryRoot, 'dist'), path.join(dir, 'dist'), { recursive: true });
      writeFileSync(path.join(dir, 'package.json'), '{"type":"module"}');
      mkdirSync(path.join(dir, 'node_modules'));
      symlinkSync(path.join(repositoryRoot, 'node_modules/mime'), path.join(dir, 'node_modules/mime'));
      const script = `
        const { blob, filesystem } = await import('./dist/index.js');
        filesystem({ root: '.' });
        const located = blob({ access: 'private', token: 'vercel_blob_rw_store_secret' }).file('a.txt');
        try { await located.load(); console.log('loaded?!'); } catch (error) { console.log(error.status, error.message); }`;
      const output = execFileSync(process.execPath, ['--input-type=module', '-e', script], { cwd: dir, encoding: 'utf8' });
      expect(output.trim()).toBe('500 blob() needs the @vercel/blob package: npm install @vercel/blob');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
