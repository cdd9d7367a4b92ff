import { symlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { apache, backendFromEnv, caddy, downloadHandler, filesystem, lighttpd, nginx, virtual } from '../../src/index.js';
import { assertDownload, assertOffload } from '../../src/testing/index.js';
import { call, createMedia, releaseUnread, segments, type Media } from './support.js';

let media: Media;
beforeAll(() => {
  media = createMedia();
  writeFileSync(path.join(media.root, 'line\nbreak.txt'), 'x');
  // `Headers` trims a trailing space: raw in X-Sendfile, `secret.txt ` would name `secret.txt`.
  writeFileSync(path.join(media.root, 'secret.txt'), 'someone else');
  writeFileSync(path.join(media.root, 'secret.txt '), 'mine');
  writeFileSync(path.join(media.root, 'tab\tand\x01control.txt'), 'controls');
});
afterEach(releaseUnread);
afterAll(() => media.cleanup());

const odd = 'odd names/ré sumé 名前 ?#%.txt';

describe('offloading backends', () => {
  it('nginx: X-Accel-Redirect to the internal location, percent-encoded UTF-8, empty 200', async () => {
    const GET = downloadHandler({ source: filesystem({ root: media.root }), backend: nginx({ rules: { [media.root]: '/_protected/media' }, limitRate: 1024, buffering: false }) });
    const response = await call(GET, segments(odd), { headers: { range: 'bytes=0-1' } });
    expect(response.headers.get('x-accel-redirect')).toBe('/_protected/media/odd%20names/r%C3%A9%20sum%C3%A9%20%E5%90%8D%E5%89%8D%20%3F%23%25.txt');
    await assertOffload(response, {
      backend: 'nginx',
      location: `/_protected/media/${odd}`,
      accel: { limitRate: 1024, buffering: false },
      filename: 'ré sumé 名前 ?#%.txt',
      disposition: 'attachment',
      contentType: 'text/plain',
      headers: { 'content-length': null },
    });
  });

  it('apache: raw UTF-8 path bytes by default, percent-encoded for mod_xsendfile 1.0', async () => {
    const raw = downloadHandler({ source: filesystem({ root: media.root }), backend: apache() });
    await assertOffload(await call(raw, segments(odd)), { backend: 'apache', location: path.join(media.root, odd) });
    const percent = downloadHandler({ source: filesystem({ root: media.root }), backend: apache({ encoding: 'percent' }) });
    const encoded = await call(percent, segments(odd));
    expect(encoded.headers.get('x-sendfile')).toMatch(/\/odd%20names\/r%C3%A9/);
    await assertOffload(encoded, { backend: 'apache', apacheEncoding: 'percent', location: path.join(media.root, odd) });
  });

  it.each([
    ['apache', apache],
    ['lighttpd', lighttpd],
  ] as const)('%s: the app answers every conditional itself (the proxy would not, or wrongly)', async (_, backend) => {
    const GET = downloadHandler({ source: filesystem({ root: media.root }), backend: backend() });
    const first = await call(GET, segments('hello.txt'));
    const etag = first.headers.get('etag')!;
    const revalidated = await call(GET, segments('hello.txt'), { headers: { 'if-none-match': etag } });
    expect(revalidated.status).toBe(304);
    expect(revalidated.headers.get('x-sendfile')).toBeNull();
    // lighttpd 1.4 ignores If-Match and If-Unmodified-Since: a resume would be stitched onto a changed file.
    const failing: Record<string, string>[] = [{ 'if-match': '"nope"' }, { 'if-unmodified-since': 'Sat, 01 Jan 2000 00:00:00 GMT' }, { 'if-match': '"nope"', range: 'bytes=0-4' }];
    for (const headers of failing) {
      const failed = await call(GET, segments('hello.txt'), { headers });
      expect(failed.status).toBe(412);
      expect(failed.headers.get('x-sendfile')).toBeNull();
    }
  });

  it('streams a path the header would change (trailing space, control characters) instead of offloading it', async () => {
    const onFallback = vi.fn();
    for (const backend of [apache(), apache({ encoding: 'percent' }), lighttpd(), nginx({ rules: { [media.root]: '/_p' } })]) {
      const GET = downloadHandler({ source: filesystem({ root: media.root }), backend, onFallback });
      const spaced = await call(GET, segments('secret.txt '));
      const offloaded = spaced.headers.get('x-sendfile') ?? spaced.headers.get('x-accel-redirect');
      if (offloaded === null) expect(await spaced.text()).toBe('mine');
      // Percent-encoding keeps the space (%20): offloading is then exact.
      else expect(offloaded).toMatch(/secret\.txt%20$/);
    }
    const raw = downloadHandler({ source: filesystem({ root: media.root }), backend: apache(), onFallback });
    const spaced = await call(raw, segments('secret.txt '));
    expect(spaced.headers.get('x-sendfile')).toBeNull();
    expect(await spaced.text()).toBe('mine');
    const controls = await call(raw, segments('tab\tand\x01control.txt'));
    expect(controls.headers.get('x-sendfile')).toBeNull();
    expect(await controls.text()).toBe('controls');
    expect(onFallback).toHaveBeenCalledWith(expect.stringMatching(/cannot be expressed in x-sendfile/), expect.any(Request));
  });

  it('lighttpd and caddy: percent-encoded absolute paths', async () => {
    const light = downloadHandler({ source: filesystem({ root: media.root }), backend: lighttpd() });
    await assertOffload(await call(light, segments('nested/deep/report.pdf')), { backend: 'lighttpd', location: `${media.root}/nested/deep/report.pdf`, contentType: 'application/pdf' });
    const cad = downloadHandler({ source: filesystem({ root: media.root }), backend: caddy({ rules: { [media.root]: '/srv/files' } }) });
    const caddyResponse = await call(cad, segments(odd));
    expect(caddyResponse.headers.get('x-accel-redirect')).toMatch(/^\/srv\/files\/odd%20names\/r%C3%A9/);
    await assertOffload(caddyResponse, { backend: 'caddy', location: `/srv/files/${odd}` });
  });

  it('matches rules on path-segment boundaries, first match wins', async () => {
    const GET = downloadHandler({
      source: filesystem({ root: media.root }),
      backend: nginx({ rules: [{ from: `${media.root}/nest`, to: '/_wrong' }, { from: `${media.root}/nested`, to: '/_nested' }, { from: media.root, to: '/_media' }] }),
    });
    await assertOffload(await call(GET, segments('nested/deep/report.pdf')), { backend: 'nginx', location: '/_nested/deep/report.pdf' });
    await assertOffload(await call(GET, segments('hello.txt')), { backend: 'nginx', location: '/_media/hello.txt' });
  });

  it('streams (and reports once) when no rule matches', async () => {
    const onFallback = vi.fn();
    const GET = downloadHandler({ source: filesystem({ root: media.root }), backend: nginx({ rules: { '/elsewhere': '/_p' } }), onFallback });
    for (let i = 0; i < 3; i += 1) {
      await assertDownload(await call(GET, segments('hello.txt')), { body: 'Hello, world!\n', headers: { 'x-accel-redirect': null } });
    }
    expect(onFallback).toHaveBeenCalledOnce();
    expect(onFallback.mock.calls[0]![0]).toMatch(/no nginx rule matches/);
  });

  it('streams files on disk under an nginx without rules (remote-only), and says why', async () => {
    const onFallback = vi.fn();
    const GET = downloadHandler({ source: filesystem({ root: media.root }), backend: nginx(), onFallback });
    await assertDownload(await call(GET, segments('hello.txt')), { body: 'Hello, world!\n', headers: { 'x-accel-redirect': null } });
    expect(onFallback).toHaveBeenCalledWith('nginx has no rules for files on disk; streamed by the app', expect.any(Request));
  });

  it('streams virtual files behind every proxy (support grid) and says why', async () => {
    const onFallback = vi.fn();
    const GET = downloadHandler({ source: virtual(() => ({ name: 'v.txt', body: 'virtual' })), backend: nginx({ rules: { '/': '/_p' } }), onFallback });
    await assertDownload(await call(GET, {}), { filename: 'v.txt', body: 'virtual', headers: { 'x-accel-redirect': null } });
    expect(onFallback).toHaveBeenCalledWith('nginx cannot serve virtual files; streamed by the app', expect.any(Request));
  });

  it('streams a path that cannot be written into X-Sendfile (a newline)', async () => {
    const GET = downloadHandler({ source: filesystem({ root: media.root }), backend: apache(), onFallback: () => {} });
    await assertDownload(await call(GET, { path: ['line\nbreak.txt'] }), { body: 'x', headers: { 'x-sendfile': null } });
  });

  it('never offloads a denied request', async () => {
    const GET = downloadHandler({ source: filesystem({ root: media.root }), backend: nginx({ rules: { [media.root]: '/_p' } }), authorize: () => false });
    await assertDownload(await call(GET, segments('hello.txt')), { status: 403, body: 'Forbidden\n', headers: { 'x-accel-redirect': null } });
  });

  it('ignores offload-related request headers (CVE-2025-61780)', async () => {
    const GET = downloadHandler({ source: filesystem({ root: media.root }), backend: lighttpd() });
    const response = await call(GET, segments('hello.txt'), {
      headers: { 'x-sendfile-type': 'X-Accel-Redirect', 'x-accel-mapping': `${media.root}=/etc`, 'x-accel-redirect': '/etc/passwd' },
    });
    await assertOffload(response, { backend: 'lighttpd', location: `${media.root}/hello.txt` });
  });
});

describe('backendFromEnv', () => {
  it('selects each backend by DOWNLOADVIEW_BACKEND', () => {
    expect(backendFromEnv({}).name).toBe('none');
    expect(backendFromEnv({ DOWNLOADVIEW_BACKEND: 'none' }).name).toBe('none');
    expect(backendFromEnv({ DOWNLOADVIEW_BACKEND: 'nginx', DOWNLOADVIEW_RULES: '/srv=/_p' }).name).toBe('nginx');
    expect(backendFromEnv({ DOWNLOADVIEW_BACKEND: 'Apache' }).name).toBe('apache');
    expect(backendFromEnv({ DOWNLOADVIEW_BACKEND: 'lighttpd' }).name).toBe('lighttpd');
    expect(backendFromEnv({ DOWNLOADVIEW_BACKEND: 'caddy' }).name).toBe('caddy');
  });

  it('reads DOWNLOADVIEW_RULES only for backends that use it: a leftover bad value does not stop none', () => {
    for (const DOWNLOADVIEW_BACKEND of [undefined, '', 'none', ' NONE ']) {
      expect(backendFromEnv({ DOWNLOADVIEW_BACKEND, DOWNLOADVIEW_RULES: 'srv/media=/_p' }).name).toBe('none');
      expect(backendFromEnv({ DOWNLOADVIEW_BACKEND, DOWNLOADVIEW_RULES: ' , ' }).name).toBe('none');
    }
  });

  it('rejects unknown names and nginx without rules', () => {
    expect(() => backendFromEnv({ DOWNLOADVIEW_BACKEND: 'iis' })).toThrow(/DOWNLOADVIEW_BACKEND/);
    expect(() => backendFromEnv({ DOWNLOADVIEW_BACKEND: 'nginx' })).toThrow(/DOWNLOADVIEW_RULES/);
    expect(() => backendFromEnv({ DOWNLOADVIEW_BACKEND: 'nginx', DOWNLOADVIEW_RULES: 'nonsense' })).toThrow(/DOWNLOADVIEW_RULES/);
  });

  it('rejects rules that name nothing or are malformed, for every backend, naming DOWNLOADVIEW_RULES', () => {
    for (const backend of ['nginx', 'apache', 'lighttpd', 'caddy']) {
      // ',' used to pass as "rules given" and leave nginx with none: every download streamed.
      expect(() => backendFromEnv({ DOWNLOADVIEW_BACKEND: backend, DOWNLOADVIEW_RULES: ' , ' })).toThrow(/DOWNLOADVIEW_RULES.*names no rule/);
      expect(() => backendFromEnv({ DOWNLOADVIEW_BACKEND: backend, DOWNLOADVIEW_RULES: 'srv/media=/_p' })).toThrow(/DOWNLOADVIEW_RULES/);
    }
    expect(() => nginx({ rules: [] })).toThrow(/nginx\.rules/);
    expect(() => apache({ rules: {} })).toThrow(/apache\.rules/);
  });

  it('is what downloadHandler uses unless a backend is given explicitly', async () => {
    vi.stubEnv('DOWNLOADVIEW_BACKEND', 'nginx');
    vi.stubEnv('DOWNLOADVIEW_RULES', `${media.root}=/_env`);
    try {
      const fromEnv = downloadHandler({ source: filesystem({ root: media.root }) });
      await assertOffload(await call(fromEnv, segments('hello.txt')), { backend: 'nginx', location: '/_env/hello.txt' });
      const explicit = downloadHandler({ source: filesystem({ root: media.root }), backend: lighttpd() });
      await assertOffload(await call(explicit, segments('hello.txt')), { backend: 'lighttpd', location: `${media.root}/hello.txt` });
    } finally {
      vi.unstubAllEnvs();
    }
  });
});

describe('symlinked roots', () => {
  it('offloads under the root as configured, with symlinks inside it resolved', async () => {
    const link = `${media.root}-link`;
    symlinkSync(media.root, link);
    symlinkSync(path.join(media.root, 'nested/deep/report.pdf'), path.join(media.root, 'report-link.pdf'));
    const GET = downloadHandler({ source: filesystem({ root: link }), backend: nginx({ rules: { [link]: '/_media' } }) });
    await assertOffload(await call(GET, segments('hello.txt')), { backend: 'nginx', location: '/_media/hello.txt' });
    // The requested name, not the link target's (issue 14 item 8).
    await assertOffload(await call(GET, segments('report-link.pdf')), { backend: 'nginx', location: '/_media/nested/deep/report.pdf', filename: 'report-link.pdf' });
  });
});
