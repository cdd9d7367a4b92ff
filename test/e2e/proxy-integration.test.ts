/**
 * downloadProxy() through a real `next start`: as Next 16's proxy.ts (Node runtime) and, built from
 * a copy of the same app, as middleware.ts (which Next 16 still runs on the edge runtime).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { signedLinks } from '../../src/signed-links.js';
import { edgeProxyApp as edgeApp, proxyApp, writeEdgeCopy } from '../helpers/edge-app.js';
import { ensureBuilt } from '../helpers/fixture.js';
import { hashedGet, rawGet, sha256 } from '../helpers/http.js';
import { createMediaRoot } from '../helpers/media.js';
import { startNext, type RunningNext } from '../helpers/next-server.js';

const SECRET = 'e2e-proxy-secret-5f1c9a7d3b8e2f604a1d';
const links = signedLinks({ secret: SECRET });
const nonAscii = 'Bericht für März.txt';
const big = Buffer.alloc(3 * 1024 * 1024 + 17, 'abcdefghijklmnopqrstuvwxyz');

let media: ReturnType<typeof createMediaRoot>;

beforeAll(async () => {
  media = createMediaRoot();
  media.write('hello.txt', 'Hello, world!\n');
  media.write(nonAscii, 'Grüße aus dem März\n');
  media.write('big.bin', big);
  writeEdgeCopy();
  await ensureBuilt(proxyApp);
  await ensureBuilt(edgeApp);
}, 300_000);

afterAll(() => media?.cleanup());

describe.each([
  ['proxy.ts', proxyApp, 'nodejs'],
  ['middleware.ts', edgeApp, 'edge'],
])('downloadProxy as %s', (_, appDir, runtime) => {
  let server: RunningNext;
  beforeAll(async () => {
    server = await startNext(appDir, { MEDIA_ROOT: media.root, DOWNLOADVIEW_SECRET: SECRET });
  }, 120_000);
  afterAll(async () => server?.stop());

  const url = (target: string) => `${server.url}${target}`;

  it(`runs on the ${runtime} runtime and guards paths with a 400 before any route runs`, async () => {
    for (const target of ['/files/%c0%af', '/echo/a%2Fb', '/d/%']) {
      const response = await rawGet(server.port, target);
      expect(response.status, target).toBe(400);
      expect(response.body.toString()).toBe('Bad Request\n');
    }
    expect(server.output()).toContain(`[proxy] runtime: ${runtime}`);
  });

  it('answers 401 itself when there is neither a session cookie nor a signed link', async () => {
    for (const target of ['/files/hello.txt', '/echo/anything']) {
      const response = await rawGet(server.port, target);
      expect(response.status, target).toBe(401);
      // The proxy's challenge, not the handler's ('Bearer'): no route ran.
      expect(response.headers['www-authenticate']).toBe('Cookie realm="downloads"');
      expect(response.body.toString()).toBe('Unauthorized\n');
    }
    expect(server.output()).toContain('[proxy] refused 401 session:missing /echo/anything');
  });

  it('lets a session cookie through to the route, which decides, and adds no response header', async () => {
    const allowed = await hashedGet(url('/files/hello.txt'), { cookie: 'session=ok', 'x-accel-redirect': '/etc/passwd' });
    expect(allowed.status).toBe(200);
    expect(allowed.body!.toString()).toBe('Hello, world!\n');
    expect(allowed.headers['content-type']).toBe('text/plain; charset=utf-8');
    expect(allowed.headers['content-disposition']).toBe('attachment; filename="hello.txt"');
    expect(Object.keys(allowed.headers).filter((name) => name.startsWith('x-middleware'))).toEqual([]);
    const refusedByRoute = await rawGet(server.port, '/files/hello.txt', { cookie: 'session=stale' });
    expect(refusedByRoute.status).toBe(401);
    expect(refusedByRoute.headers['www-authenticate']).toBe('Bearer');
  });

  it('removes offload-looking request headers before the route sees them', async () => {
    const response = await hashedGet(url('/echo/x'), {
      cookie: 'session=ok',
      'x-accel-redirect': '/etc/passwd',
      'x-accel-mapping': '/=/etc',
      'x-sendfile': '/etc/shadow',
      'x-sendfile-type': 'X-Accel-Redirect',
      'x-lighttpd-send-file': '/etc/passwd',
      'x-custom': 'kept',
    });
    expect(response.status).toBe(200);
    const seen = JSON.parse(response.body!.toString()) as { headers: Record<string, string> };
    expect(Object.keys(seen.headers).filter((name) => /^x-(accel|sendfile|lighttpd)/.test(name))).toEqual([]);
    expect(seen.headers['x-custom']).toBe('kept');
    expect(seen.headers.cookie).toBe('session=ok');
  });

  it('serves a signed public link through the rewrite, byte-exact, ranges included', async () => {
    const link = await links.sign(`/d/${nonAscii}`, { expiresIn: 300 });
    const full = await hashedGet(url(link));
    expect(full.status).toBe(200);
    expect(full.body!.toString()).toBe('Grüße aus dem März\n');
    expect(full.headers['content-disposition']).toContain("filename*=UTF-8''Bericht%20f%C3%BCr%20M%C3%A4rz.txt");
    const bigLink = await links.sign('/d/big.bin', { expiresIn: 300 });
    const whole = await hashedGet(url(bigLink));
    expect(whole.sha256).toBe(sha256(big));
    const resumed = await hashedGet(url(bigLink), { range: 'bytes=1000000-' });
    expect(resumed.status).toBe(206);
    expect(resumed.sha256).toBe(sha256(big.subarray(1_000_000)));
  });

  it('refuses expired (410) and tampered (403) links in the proxy, saying why only to the app', async () => {
    const expired = await links.sign('/d/hello.txt', { expires: new Date(Date.now() - 3_600_000) });
    const gone = await rawGet(server.port, expired);
    expect(gone.status).toBe(410);
    expect(gone.body.toString()).toBe('Gone\n');
    const valid = await links.sign('/d/hello.txt', { expiresIn: 300 });
    const tampered = await rawGet(server.port, valid.replace('hello.txt', 'big.bin'));
    expect(tampered.status).toBe(403);
    expect(tampered.body.toString()).toBe('Forbidden\n');
    // Signed for the public URL only: the same signature on the route's own path is refused.
    const direct = await rawGet(server.port, valid.replace('/d/', '/files/'));
    expect(direct.status).toBe(403);
    expect(server.output()).toMatch(/\[proxy\] refused 410 signed-link:expired \/d\/hello\.txt/);
    expect(server.output()).toMatch(/\[proxy\] refused 403 signed-link:bad-signature \/d\/big\.bin/);
  });
});
