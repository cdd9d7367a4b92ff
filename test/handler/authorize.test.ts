import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { downloadHandler, filesystem, type Authorize } from '../../src/index.js';
import { assertDownload } from '../../src/testing/index.js';
import { call, createMedia, releaseUnread, segments, type Media } from './support.js';

let media: Media;
beforeAll(() => {
  media = createMedia();
});
afterEach(releaseUnread);
afterAll(() => media.cleanup());

const handlerWith = (authorize: Authorize<unknown>, onError = vi.fn()) =>
  downloadHandler({ source: filesystem({ root: media.root }), authorize, onError });

describe('authorize', () => {
  it('sees the decoded key and candidate path before the file is touched', async () => {
    const authorize = vi.fn(() => true);
    await call(handlerWith(authorize), segments('nested/deep/report.pdf'));
    expect(authorize).toHaveBeenCalledWith(expect.any(Request), { kind: 'filesystem', key: 'nested/deep/report.pdf', path: `${media.root}/nested/deep/report.pdf` }, { params: segments('nested/deep/report.pdf') });
  });

  it.each([
    [false, 403, 'Forbidden\n'],
    ['forbidden', 403, 'Forbidden\n'],
    ['not-found', 404, 'Not Found\n'],
    ['unauthenticated', 401, 'Unauthorized\n'],
    [undefined, 403, 'Forbidden\n'],
    ['yes', 403, 'Forbidden\n'],
  ] as const)('maps %s to %i', async (verdict, status, text) => {
    const GET = handlerWith(() => verdict as never);
    const existing = await call(GET, segments('hello.txt'));
    const missing = await call(GET, segments('no-such-file.txt'));
    // Denials look the same whether or not the file exists.
    for (const response of [existing, missing]) {
      await assertDownload(response, { status, body: text, headers: { 'content-disposition': null, 'cache-control': 'no-store' } });
    }
  });

  it('sends a WWW-Authenticate challenge with 401 (RFC 9110 §15.5.2)', async () => {
    const response = await call(handlerWith(() => 'unauthenticated'), segments('hello.txt'));
    expect(response.headers.get('www-authenticate')).toBe('Bearer');
  });

  it('passes a Response through (e.g. a redirect to login)', async () => {
    const response = await call(handlerWith(() => Response.redirect('http://localhost/login', 302)), segments('hello.txt'));
    expect(response.status).toBe(302);
    expect(response.headers.get('location')).toBe('http://localhost/login');
  });

  it('turns a throwing authorize into a 500 reported to onError, with no detail leaked', async () => {
    const onError = vi.fn();
    const response = await call(handlerWith(() => { throw new Error('db down at /var/secret'); }, onError), segments('hello.txt'));
    await assertDownload(response, { status: 500, body: 'Internal Server Error\n' });
    expect(onError).toHaveBeenCalledWith(expect.objectContaining({ message: 'db down at /var/secret' }), expect.any(Request));
  });

  it('is not called for keys refused before lookup (traversal)', async () => {
    const authorize = vi.fn(() => true);
    expect((await call(handlerWith(authorize), { path: ['..', 'x'] })).status).toBe(404);
    expect(authorize).not.toHaveBeenCalled();
  });
});
