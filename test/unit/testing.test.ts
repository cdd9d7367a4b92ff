import { AssertionError } from 'node:assert';
import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { assertDownload, assertOffload, callRoute, paramsFromUrl, parseContentDisposition } from '../../src/testing/index.js';

/** The AssertionError `promise` rejects with. */
async function assertionOf(promise: Promise<unknown>): Promise<AssertionError> {
  const error = await promise.then(() => undefined, (caught: unknown) => caught);
  expect(error).toBeInstanceOf(AssertionError);
  return error as AssertionError;
}

const download = (body: string | Uint8Array, headers: Record<string, string>, status = 200) => new Response(body as BodyInit, { status, headers });
const textHeaders = { 'content-type': 'text/plain; charset=utf-8', 'content-disposition': `attachment; filename="Bericht fur Marz.txt"; filename*=UTF-8''Bericht%20f%C3%BCr%20M%C3%A4rz.txt` };

describe('parseContentDisposition', () => {
  it.each([
    [`attachment; filename="a.txt"`, { type: 'attachment', filename: 'a.txt', fallback: 'a.txt' }],
    [`INLINE; FILENAME=a.txt`, { type: 'inline', filename: 'a.txt', fallback: 'a.txt' }],
    [`attachment; filename="fur.txt"; filename*=UTF-8''f%C3%BCr.txt`, { type: 'attachment', filename: 'für.txt', fallback: 'fur.txt' }],
    [`attachment; filename*=utf-8'de'f%C3%BCr.txt; filename="fur.txt"`, { type: 'attachment', filename: 'für.txt', fallback: 'fur.txt' }],
    [`attachment; filename*=iso-8859-1''f%FCr.txt`, { type: 'attachment', filename: 'für.txt' }],
    [`attachment; filename="a \\"quoted\\" \\\\ name; with semicolon.txt"`, { type: 'attachment', filename: 'a "quoted" \\ name; with semicolon.txt' }],
    [`attachment; filename="x.txt"; filename*=UTF-8''%FF%FE`, { type: 'attachment', filename: 'x.txt' }],
    ['attachment', { type: 'attachment' }],
  ])('%s', (header, expected) => {
    expect(parseContentDisposition(header)).toMatchObject(expected);
  });

  it('refuses what is not one', () => {
    expect(parseContentDisposition('')).toBeUndefined();
    expect(parseContentDisposition('"attachment"')).toBeUndefined();
  });
});

describe('paramsFromUrl', () => {
  it('reads params the way Next does, each segment decoded once', () => {
    expect(paramsFromUrl('/files/[...path]', '/files/a%2Fb/Bericht%20f%C3%BCr%20M%C3%A4rz.txt')).toEqual({ path: ['a/b', 'Bericht für März.txt'] });
    expect(paramsFromUrl('/users/[user]/files/[name]', '/users/al%69ce/files/%252e%252e')).toEqual({ user: 'alice', name: '%2e%2e' });
    expect(paramsFromUrl('/docs/[[...slug]]', '/docs')).toEqual({});
    expect(paramsFromUrl('/docs/[[...slug]]', '/docs/a')).toEqual({ slug: ['a'] });
  });

  it('throws when the URL does not fit the route', () => {
    expect(() => paramsFromUrl('/files/[...path]', '/files')).toThrow(/at least one segment/);
    expect(() => paramsFromUrl('/files/[id]', '/other/1')).toThrow(/"other" is not "files"/);
    expect(() => paramsFromUrl('/files/[id]', '/files/1/2')).toThrow(/too long/);
    expect(() => paramsFromUrl('/files/[id]', '/files/%c0%af')).toThrow(/malformed percent-encoding/);
  });
});

describe('callRoute', () => {
  it('calls a handler like Next: Request with method, headers, cookies; params as a promise', async () => {
    let seen: { request: Request; params: unknown } | undefined;
    const handler = async (request: Request, context: { params: Promise<unknown> }) => {
      seen = { request, params: await context.params };
      return new Response('ok');
    };
    const response = await callRoute(handler, '/files/a%20b/c.txt?x=1', { method: 'HEAD', headers: { range: 'bytes=0-1', cookie: 'a=1' }, cookies: { session: 's' }, route: '/files/[...path]' });
    expect(await response.text()).toBe('ok');
    expect(seen!.request.url).toBe('http://localhost/files/a%20b/c.txt?x=1');
    expect(seen!.request.method).toBe('HEAD');
    expect(seen!.request.headers.get('range')).toBe('bytes=0-1');
    expect(seen!.request.headers.get('cookie')).toBe('a=1; session=s');
    expect(seen!.params).toEqual({ path: ['a b', 'c.txt'] });
    await callRoute(handler, 'https://example.test/x', { params: { id: '7' } });
    expect(seen!.params).toEqual({ id: '7' });
  });
});

describe('assertDownload', () => {
  it('passes and returns the body when everything matches', async () => {
    const body = await assertDownload(download('Grüße\n', textHeaders), {
      filename: 'Bericht für März.txt',
      disposition: 'attachment',
      contentType: 'text/plain',
      body: 'Grüße\n',
      sha256: createHash('sha256').update('Grüße\n').digest('hex'),
      size: 8,
      headers: { 'content-type': 'text/plain; charset=utf-8', etag: null },
    });
    expect(body.toString()).toBe('Grüße\n');
  });

  it('says what differed: status with the error body', async () => {
    const error = await assertionOf(assertDownload(download('Forbidden\n', { 'content-type': 'text/plain; charset=utf-8' }, 403)));
    expect(error.message.startsWith('assertDownload: one difference\n  status: expected 200, got 403 (body "Forbidden\\n")\n')).toBe(true);
    expect(error.actual).toEqual({ status: 403 });
    expect(error.expected).toEqual({ status: 200 });
  });

  it('says what differed: name, disposition, type and header, all at once', async () => {
    const error = await assertionOf(assertDownload(download('x', textHeaders), { filename: 'Bericht für April.txt', disposition: 'inline', contentType: 'application/pdf', headers: { 'cache-control': 'private' } }));
    expect(error.message).toContain('4 differences');
    expect(error.message).toContain(`filename: expected "Bericht für April.txt", got "Bericht für März.txt" (Content-Disposition: attachment; filename="Bericht fur Marz.txt"; filename*=UTF-8''Bericht%20f%C3%BCr%20M%C3%A4rz.txt)`);
    expect(error.message).toContain('disposition: expected "inline", got "attachment"');
    expect(error.message).toContain('content-type: expected "application/pdf", got "text/plain; charset=utf-8"');
    expect(error.message).toContain('header cache-control: expected "private", got null');
  });

  it('says what differed: bytes, with the first differing offset, and sha256', async () => {
    const bytes = new Uint8Array(1000).fill(7);
    const other = new Uint8Array(1000).fill(7);
    other[600] = 8;
    const error = await assertionOf(assertDownload(download(bytes, {}), { body: other, sha256: '00', size: 999 }));
    expect(error.message).toContain('body: expected "1000 bytes, sha256');
    expect(error.message).toContain('(first difference at byte 600: 0x07, expected 0x08)');
    expect(error.message).toMatch(/sha256: expected "00", got "[0-9a-f]{64}" \(1000 bytes\)/);
    expect(error.message).toContain('size: expected 999, got 1000');
    const short = await assertionOf(assertDownload(download('abc', {}), { body: 'abcd' }));
    expect(short.message).toContain('body: expected "4 bytes \\"abcd\\"", got "3 bytes \\"abc\\"" (identical for 3 bytes, then one ends)');
  });

  it('refuses a response whose body was already read', async () => {
    const response = download('x', {});
    await response.text();
    await expect(assertDownload(response)).rejects.toThrow(TypeError);
  });
});

describe('assertOffload', () => {
  const offload = (headers: Record<string, string>) => new Response(null, { status: 200, headers: { 'content-disposition': 'attachment; filename="a.txt"', ...headers } });

  it('decodes the location per backend', async () => {
    await assertOffload(offload({ 'x-accel-redirect': '/_protected/media/Bericht%20f%C3%BCr%20M%C3%A4rz%3F.txt', 'x-accel-limit-rate': '1024', 'x-accel-buffering': 'no' }), {
      backend: 'nginx',
      location: '/_protected/media/Bericht für März?.txt',
      accel: { limitRate: 1024, buffering: false },
      filename: 'a.txt',
    });
    await assertOffload(offload({ 'x-sendfile': Buffer.from('/srv/media/für.txt').toString('latin1') }), { backend: 'apache', location: '/srv/media/für.txt' });
    await assertOffload(offload({ 'x-sendfile': '/srv/media/f%C3%BCr.txt' }), { backend: 'apache', apacheEncoding: 'percent', location: '/srv/media/für.txt' });
    await assertOffload(offload({ 'x-sendfile': '/srv/media/f%C3%BCr.txt' }), { backend: 'lighttpd', location: '/srv/media/für.txt' });
    await assertOffload(offload({ 'x-accel-redirect': '/srv/media/a%20b.txt' }), { backend: 'caddy', location: '/srv/media/a b.txt' });
  });

  it('says what differed: not offloaded, wrong location, options, a body', async () => {
    const streamed = await assertionOf(assertOffload(new Response('file bytes', { headers: { 'content-type': 'text/plain' } }), { backend: 'nginx', location: '/_p/a.txt' }));
    expect(streamed.message).toContain('x-accel-redirect: expected "/_p/a.txt", got null (the file was not offloaded)');
    expect(streamed.message).toContain('body: expected "empty (the proxy sends the file)", got "10 bytes \\"file bytes\\""');
    const wrong = await assertionOf(assertOffload(offload({ 'x-accel-redirect': '/_p/b%20c.txt', 'x-sendfile': '/srv/b c.txt' }), { backend: 'nginx', location: '/_p/a.txt', accel: { limitRate: 5 } }));
    expect(wrong.message).toContain('x-accel-redirect (decoded): expected "/_p/a.txt", got "/_p/b c.txt" (sent as "/_p/b%20c.txt")');
    expect(wrong.message).toContain('x-sendfile: expected null, got "/srv/b c.txt" (not a nginx header)');
    expect(wrong.message).toContain('x-accel-limit-rate: expected "5", got null');
  });
});
