/**
 * The example app's Blob and URL downloads (issue #17's demo of issue #16's sources):
 * - `npm run example` as a user runs it, with no token: it starts a local Blob-compatible store and
 *   an HTTP upstream, the app serves both files byte-exact to a signed-in user and nothing to a
 *   signed-out one, and Ctrl-C/SIGTERM stops the app and the servers;
 * - DOWNLOADVIEW_BACKEND=redirect: the Blob download is a redirect to a short-lived presigned URL
 *   that the store honours (byte-exact), while the URL file is still streamed. The store listens
 *   on a free port here, as for a user who may not bind 443: the app and this test reach it through
 *   the dispatcher preload's port mapping.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { signIn, startExample, type RunningExample } from '../helpers/example.js';
import { ensureBuilt, exampleApp } from '../helpers/fixture.js';
import { hashedGet, sha256 } from '../helpers/http.js';
import { startNext, type RunningNext } from '../helpers/next-server.js';
import { EXAMPLE_REMOTE_FILES, startExampleWorld, type ExampleWorld } from '../servers/example-world.js';

const SECRET = 'example-remote-test-secret-6c1f2a9e0b7d34';
const { blob, url: urlFile } = EXAMPLE_REMOTE_FILES;
const target = (file: { route: string; key: string }) => `/${file.route}/${file.key}`;
const expectedHash = (file: { file: string }) => sha256(readFileSync(file.file));

beforeAll(async () => {
  await ensureBuilt(exampleApp);
}, 600_000);

describe('npm run example without BLOB_READ_WRITE_TOKEN', () => {
  let script: RunningExample;
  let base: string;
  const output = () => script.output();

  beforeAll(async () => {
    script = await startExample(['scripts/example.sh'], { DOWNLOADVIEW_SECRET: SECRET }, (printed) => /\bReady in\b/.test(printed));
    base = script.base;
  }, 180_000);

  afterAll(async () => script?.stop());

  it('says where the remote files come from and links them on the page', async () => {
    expect(output()).toContain('[example] Blob file from a local Blob-compatible store (set BLOB_READ_WRITE_TOKEN to use yours)');
    const page = await (await fetch(`${base}/`)).text();
    expect(page).toContain(`href="${target(blob)}"`);
    expect(page).toContain(`href="${target(urlFile)}"`);
    expect(page).toContain('the local Blob-compatible store');
  });

  it('serves the Blob and URL files to a signed-in user, byte-exact', async () => {
    const cookie = await signIn(base, 'bob');
    for (const file of [blob, urlFile]) {
      const response = await hashedGet(`${base}${target(file)}`, { cookie });
      expect(response.status, file.key).toBe(200);
      expect(response.sha256, file.key).toBe(expectedHash(file));
      expect(response.headers['content-disposition']).toBe(`attachment; filename="${path.basename(file.key)}"`);
      // Never the upstream's address or the store's.
      expect(JSON.stringify(response.headers)).not.toMatch(/blob\.vercel-storage|127\.0\.0\.1:\d+\/from-url/);
    }
    const range = await hashedGet(`${base}${target(blob)}`, { cookie, range: 'bytes=5-40' });
    expect(range.status).toBe(206);
    expect(range.sha256).toBe(sha256(readFileSync(blob.file).subarray(5, 41)));
  });

  it('refuses them signed out and names no other file', async () => {
    for (const file of [blob, urlFile]) {
      const response = await fetch(`${base}${target(file)}`, { redirect: 'manual' });
      expect(response.status, file.key).toBe(303);
      expect(response.headers.get('location')).toBe('/?signin=required');
    }
    const cookie = await signIn(base, 'alice');
    const unknown = await hashedGet(`${base}/url/shared/other.txt`, { cookie });
    expect(unknown.status).toBe(404);
  });

  it('stops next start and the local servers on SIGTERM', async () => {
    const upstream = /URL file from (http:\/\/127\.0\.0\.1:\d+)/.exec(output())?.[1];
    expect(upstream).toBeDefined();
    expect((await fetch(`${upstream}/from-url.txt`)).status).toBe(200);
    expect(await script.stop()).toBe(0);
    expect(output()).toContain('[example] next start and the local servers stopped');
    await expect(fetch(base, { signal: AbortSignal.timeout(2000) })).rejects.toThrow();
    await expect(fetch(`${upstream}/from-url.txt`, { signal: AbortSignal.timeout(2000) })).rejects.toThrow();
  });
});

describe('DOWNLOADVIEW_BACKEND=redirect', () => {
  let remote: ExampleWorld;
  let next: RunningNext;
  let dataDir: string;

  beforeAll(async () => {
    dataDir = mkdtempSync(path.join(tmpdir(), 'dv-example-redirect-'));
    // Also installs the store's dispatcher in this process, so the test can follow the redirect.
    remote = await startExampleWorld({ objectPort: 0 });
    expect(remote.world!.blob.objectPort).not.toBe(443);
    next = await startNext(exampleApp, { ...remote.env, DOWNLOADVIEW_SECRET: SECRET, DATA_DIR: dataDir, DOWNLOADVIEW_BACKEND: 'redirect' });
  }, 120_000);

  afterAll(async () => {
    await next?.stop();
    await remote?.stop();
    if (dataDir) rmSync(dataDir, { recursive: true, force: true });
  });

  it('redirects the Blob download to a short-lived presigned URL the store honours', async () => {
    const cookie = await signIn(next.url, 'alice');
    const response = await fetch(`${next.url}${target(blob)}`, { headers: { cookie }, redirect: 'manual' });
    expect(response.status).toBe(302);
    expect(response.headers.get('cache-control')).toBe('private, no-store');
    const location = new URL(response.headers.get('location')!);
    expect(location.origin).toBe(remote.world!.blob.objectOrigin('private'));
    expect(decodeURIComponent(location.pathname)).toBe(`/${blob.key}`);
    const validUntil = Number(location.searchParams.get('vercel-blob-valid-until'));
    expect(validUntil).toBeGreaterThan(Date.now());
    expect(validUntil).toBeLessThanOrEqual(Date.now() + 300_000 + 5_000);
    const stored = await fetch(location);
    expect(stored.status).toBe(200);
    expect(sha256(new Uint8Array(await stored.arrayBuffer()))).toBe(expectedHash(blob));
    expect(remote.world!.blob.objectRequests.at(-1)).toMatchObject({ method: 'GET', presigned: true, status: 200 });
    // Signed out, no redirect: the sign-in form.
    const signedOut = await fetch(`${next.url}${target(blob)}`, { redirect: 'manual' });
    expect(signedOut.headers.get('location')).toBe('/?signin=required');
  });

  it('still streams the URL file (an app’s upstream is not for clients)', async () => {
    const cookie = await signIn(next.url, 'alice');
    const response = await hashedGet(`${next.url}${target(urlFile)}`, { cookie });
    expect(response.status).toBe(200);
    expect(response.sha256).toBe(expectedHash(urlFile));
  });
});
