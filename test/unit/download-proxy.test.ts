import { readFileSync } from 'node:fs';
import { describe, expect, it, vi } from 'vitest';
import { downloadProxy, signedLinks } from '../../src/proxy.js';

const SECRET = 'kQ3v9ZfL0pX7rT2mW8yB4nH6sJ1cD5gA';
const clock = { now: Date.UTC(2026, 11, 2, 12) };
const links = signedLinks({ secret: SECRET, now: () => clock.now });

/** The headers the route would see after Next applied the proxy's override, or null if unchanged. */
function forwardedHeaders(response: Response | undefined): Record<string, string> | null {
  const names = response?.headers.get('x-middleware-override-headers');
  if (names === null || names === undefined) return null;
  return Object.fromEntries(names.split(',').filter(Boolean).map((name) => [name, response!.headers.get(`x-middleware-request-${name}`)!]));
}

describe('downloadProxy', () => {
  it('passes requests outside its prefixes untouched, matching on segment boundaries', async () => {
    const proxy = downloadProxy({ prefixes: ['/files'], sessionCookie: 'session' });
    expect(await proxy(new Request('http://h/files2/a.txt'))).toBeUndefined();
    expect(await proxy(new Request('http://h/other/%c0%af'))).toBeUndefined();
    expect((await proxy(new Request('http://h/files/a.txt')))?.status).toBe(401);
    expect((await proxy(new Request('http://h/files')))?.status).toBe(401);
  });

  it('guards paths with a 400 (and can be told not to)', async () => {
    const refusals = vi.fn();
    const proxy = downloadProxy({ onRefused: refusals });
    const response = await proxy(new Request('http://h/files/%c0%af'));
    expect(response?.status).toBe(400);
    expect(await response?.text()).toBe('Bad Request\n');
    expect(refusals).toHaveBeenCalledWith({ status: 400, reason: 'path:unsafe' }, expect.any(Request));
    expect(await downloadProxy({ guard: false })(new Request('http://h/files/%c0%af'))).toBeUndefined();
  });

  it('lets a request with the session cookie through and answers 401 without it', async () => {
    const proxy = downloadProxy({ sessionCookie: 'session', wwwAuthenticate: 'Cookie realm="files"' });
    expect(await proxy(new Request('http://h/files/a.txt', { headers: { cookie: 'theme=dark; session=abc' } }))).toBeUndefined();
    for (const cookie of ['', 'theme=dark', 'session=', 'xsession=abc', 'session']) {
      const response = await proxy(new Request('http://h/files/a.txt', { headers: { cookie } }));
      expect(response?.status, cookie).toBe(401);
      expect(response?.headers.get('www-authenticate')).toBe('Cookie realm="files"');
    }
  });

  it('lets a valid signed link through and refuses a bad one with 403, an expired one with 410', async () => {
    const refusals = vi.fn();
    const proxy = downloadProxy({ signedLinks: links, sessionCookie: 'session', onRefused: refusals });
    const link = await links.sign('/files/a.txt', { expiresIn: 60 });
    expect(await proxy(new Request(`http://h${link}`))).toBeUndefined();
    const tampered = await proxy(new Request(`http://h${link.replace('a.txt', 'b.txt')}`));
    expect(tampered?.status).toBe(403);
    expect(await tampered?.text()).toBe('Forbidden\n');
    expect(refusals).toHaveBeenLastCalledWith({ status: 403, reason: 'signed-link:bad-signature' }, expect.any(Request));
    clock.now += 3_600_000;
    expect((await proxy(new Request(`http://h${link}`)))?.status).toBe(410);
    expect(refusals).toHaveBeenLastCalledWith({ status: 410, reason: 'signed-link:expired' }, expect.any(Request));
    // The session may still be allowed by the route; the proxy does not decide that.
    expect(await proxy(new Request(`http://h${link}`, { headers: { cookie: 'session=1' } }))).toBeUndefined();
    expect((await proxy(new Request('http://h/files/a.txt')))?.status).toBe(401);
    expect((await downloadProxy({ signedLinks: links })(new Request('http://h/files/a.txt')))?.status).toBe(403);
  });

  it('rewrites public URLs onto the route, keeping the query, after checking the public URL', async () => {
    const proxy = downloadProxy({ prefixes: ['/d'], signedLinks: links, rewrite: { from: '/d/', to: '/files/' } });
    const link = await links.sign('/d/Bericht für März.txt', { expiresIn: 3600 });
    const response = await proxy(new Request(`http://h${link}`));
    expect(response?.status).toBe(200);
    const destination = new URL(response!.headers.get('x-middleware-rewrite')!);
    expect(destination.pathname).toBe('/files/Bericht%20f%C3%BCr%20M%C3%A4rz.txt');
    expect(destination.search).toBe(link.slice(link.indexOf('?')));
    expect(response?.headers.get('x-middleware-next')).toBeNull();
    expect([...response!.headers.keys()].filter((name) => !name.startsWith('x-middleware-'))).toEqual([]);
  });

  it('lets its own rewrite through when Next sends it back over the network (vercel/next.js#94745)', async () => {
    const proxy = downloadProxy({ signedLinks: links, rewrite: { from: '/d/', to: '/files/' } });
    const link = await links.sign('/d/a.txt', { expiresIn: 3600 });
    const first = await proxy(new Request(`http://h${link}`, { headers: { accept: '*/*' } }));
    const forwarded = forwardedHeaders(first)!;
    expect(Object.keys(forwarded).sort()).toEqual(['accept', 'x-downloadview-rewritten']);
    // Under `next start -H 127.0.0.1` the rewritten request comes back through the proxy.
    const again = await proxy(new Request(first!.headers.get('x-middleware-rewrite')!, { headers: forwarded }));
    expect(again?.headers.get('x-middleware-next')).toBe('1');
    expect(forwardedHeaders(again)).toEqual({ accept: '*/*' });
    // A client cannot send the mark: it is checked (and removed) like any other request.
    const forged = await proxy(new Request(first!.headers.get('x-middleware-rewrite')!, { headers: { 'x-downloadview-rewritten': 'guess' } }));
    expect(forged?.status).toBe(403);
  });

  it('rewrites with a function, on the same origin only', async () => {
    const proxy = downloadProxy({ rewrite: (url) => (url.pathname.startsWith('/r/') ? `/records/${url.pathname.slice(3)}` : undefined) });
    expect((await proxy(new Request('http://h/r/7')))?.headers.get('x-middleware-rewrite')).toBe('http://h/records/7');
    expect(await proxy(new Request('http://h/other'))).toBeUndefined();
    await expect(downloadProxy({ rewrite: () => 'https://elsewhere.example/x' })(new Request('http://h/a'))).rejects.toThrow(/same origin/);
  });

  it('removes offload-looking request headers and keeps every other one', async () => {
    const proxy = downloadProxy();
    const request = new Request('http://h/files/a.txt', {
      headers: {
        'X-Accel-Redirect': '/etc/passwd',
        'X-Accel-Mapping': '/srv=/etc',
        'X-Sendfile': '/etc/shadow',
        'X-Sendfile-Type': 'X-Accel-Redirect',
        'X-Lighttpd-Send-File': '/etc/passwd',
        'X-Downloadview-Length': '5;forged',
        Range: 'bytes=0-1',
        Cookie: 'session=1',
        'X-Custom': 'kept',
      },
    });
    const response = await proxy(request);
    expect(response?.headers.get('x-middleware-next')).toBe('1');
    expect(forwardedHeaders(response)).toEqual({ range: 'bytes=0-1', cookie: 'session=1', 'x-custom': 'kept' });
    expect(await proxy(new Request('http://h/files/a.txt', { headers: { range: 'bytes=0-1' } }))).toBeUndefined();
  });

  it('answers refusals with your own response', async () => {
    const proxy = downloadProxy({ sessionCookie: 'session', respond: ({ status }, request) => Response.redirect(new URL(`/login?status=${status}`, request.url), 303) });
    const response = await proxy(new Request('http://h/files/a.txt'));
    expect(response?.status).toBe(303);
    expect(response?.headers.get('location')).toBe('http://h/login?status=401');
  });

  it('checks its options when created', () => {
    expect(() => downloadProxy({ prefixes: ['files'] })).toThrow(/prefixes/);
    expect(() => downloadProxy({ sessionCookie: 'a b' })).toThrow(/sessionCookie/);
    expect(() => downloadProxy({ signedLinks: {} as never })).toThrow(/signedLinks/);
    expect(() => downloadProxy({ rewrite: { from: '/', to: '/files' } })).toThrow(/rewrite\.from/);
    expect(() => downloadProxy({ stripHeaders: ['X-Accel-'] })).toThrow(/stripHeaders/);
    expect(() => downloadProxy({ wwwAuthenticate: 'a\nb' })).toThrow(/wwwAuthenticate/);
  });
});

describe('next-downloadview/proxy', () => {
  it('imports nothing from node: anywhere in its module graph (it runs on the edge runtime)', () => {
    const seen = new Set<string>();
    const visit = (file: string): void => {
      if (seen.has(file)) return;
      seen.add(file);
      const source = readFileSync(new URL(file, new URL('../../src/', import.meta.url)), 'utf8');
      expect(source, file).not.toMatch(/from ['"]node:|require\(|\bBuffer\./);
      for (const match of source.matchAll(/^(?:import|export) (?!type )[^;]*? from '(\.[^']+)';$/gms)) {
        visit(new URL(match[1]!.replace(/\.js$/, '.ts'), new URL(file, 'file:///src/')).pathname.replace(/^\/src\//, ''));
      }
    };
    visit('proxy.ts');
    expect([...seen].sort()).toEqual(['download-proxy.ts', 'errors.ts', 'http/responses.ts', 'path-guard.ts', 'proxy.ts', 'signed-links.ts']);
  });
});
