import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { downloadHandler, filesystem, nginx, virtual } from '../../src/index.js';
import { bodyOf, call, createMedia, parseMultipart, releaseUnread, segments, type Media } from './support.js';

let media: Media;
beforeAll(() => {
  media = createMedia();
});
afterEach(releaseUnread);
afterAll(() => media.cleanup());

const source = () => filesystem({ root: media.root });

describe('downloadHandler options', () => {
  it('inline, filename and contentType override the defaults', async () => {
    const GET = downloadHandler({ source: source(), attachment: false, filename: 'Résumé.pdf', contentType: 'application/pdf' });
    const response = await call(GET, segments('hello.txt'));
    expect(response.headers.get('content-disposition')).toBe(`inline; filename="Resume.pdf"; filename*=UTF-8''R%C3%A9sum%C3%A9.pdf`);
    expect(response.headers.get('content-type')).toBe('application/pdf');
  });

  it('computes per-file options from the file and target', async () => {
    const GET = downloadHandler({ source: source(), filename: (file, target) => `${target.key.replaceAll('/', '-')}`, attachment: (file) => file.size! > 100 });
    const response = await call(GET, segments('nested/deep/report.pdf'));
    expect(response.headers.get('content-disposition')).toBe('attachment; filename="nested-deep-report.pdf"');
    const small = await call(GET, segments('hello.txt'));
    expect(small.headers.get('content-disposition')).toBe('inline; filename="hello.txt"');
  });

  it.each([
    ['filename', { filename: () => 42 }],
    ['filename', { filename: async () => 'x.pdf' }],
    ['filename', { filename: () => '' }],
    ['contentType', { contentType: () => 5 }],
    ['contentType', { contentType: () => 'pdf' }],
    ['attachment', { attachment: () => 'no' }],
  ])('answers 500 naming %s when its callback returns the wrong type', async (name, option) => {
    const errors: unknown[] = [];
    const GET = downloadHandler({ source: source(), onError: (error) => errors.push(error), ...(option as object) });
    expect((await call(GET, segments('hello.txt'))).status).toBe(500);
    expect(errors).toEqual([expect.objectContaining({ code: 'source_error', message: expect.stringContaining(`${name} returned`) })]);
  });

  it('never lets a filename break the header', async () => {
    const GET = downloadHandler({ source: source(), filename: 'evil\r\nSet-Cookie: a=b;"\\.txt' });
    const response = await call(GET, segments('hello.txt'));
    expect(response.status).toBe(200);
    expect(response.headers.get('set-cookie')).toBeNull();
    expect(response.headers.get('content-disposition')).not.toMatch(/[\r\n]/);
  });

  it('adds no-transform to a custom Cache-Control and keeps extra headers', async () => {
    const GET = downloadHandler({ source: source(), cacheControl: 'private, max-age=60', headers: { 'content-security-policy': "default-src 'none'" } });
    const response = await call(GET, segments('hello.txt'));
    expect(response.headers.get('cache-control')).toBe('private, max-age=60, no-transform');
    expect(response.headers.get('content-security-policy')).toBe("default-src 'none'");
  });

  it('caps the number of ranges (maxRanges) by ignoring the header', async () => {
    const GET = downloadHandler({ source: source(), maxRanges: 2 });
    const response = await call(GET, segments('data.bin'), { headers: { range: 'bytes=0-0,1000-1000,2000-2000' } });
    expect(response.status).toBe(200);
  });

  it('counts range-specs as written, like nginx max_ranges: specs that would coalesce still count', async () => {
    const GET = downloadHandler({ source: source(), maxRanges: 2 });
    // Three adjacent specs make one range after coalescing; nginx (max_ranges 2) answers 200.
    const response = await call(GET, segments('data.bin'), { headers: { range: 'bytes=0-0,1-1,2-2' } });
    expect(response.status).toBe(200);
    const allowed = await call(GET, segments('data.bin'), { headers: { range: 'bytes=0-0,1-1' } });
    expect(allowed.status).toBe(206);
    expect(allowed.headers.get('content-range')).toMatch(/^bytes 0-1\//);
  });

  it('honours maxRanges above 100 (the parser has no lower limit of its own)', async () => {
    const GET = downloadHandler({ source: source(), maxRanges: 300 });
    const ranges = Array.from({ length: 250 }, (_, i) => `${i * 1000}-${i * 1000 + 1}`).join(',');
    const response = await call(GET, segments('data.bin'), { headers: { range: `bytes=${ranges}` } });
    expect(response.status).toBe(206);
    expect(response.headers.get('content-type')).toMatch(/^multipart\/byteranges/);
    expect(parseMultipart(await bodyOf(response), response.headers.get('content-type')!)).toHaveLength(250);
  });

  it.each([
    ['no source', 'source', {}],
    ['a source without locate', 'source', { source: {} }],
    ['a CR in cacheControl', 'cacheControl', { source: virtual(() => null), cacheControl: 'private\r\nX: y' }],
    // Headers accepts these, Node refuses them on every response: caught when the handler is made.
    ['a control character in cacheControl', 'cacheControl', { source: virtual(() => null), cacheControl: 'private\x01' }],
    ['DEL in wwwAuthenticate', 'wwwAuthenticate', { source: virtual(() => null), wwwAuthenticate: 'Bearer\x7f' }],
    ['a control character in a header value', 'headers', { source: virtual(() => null), headers: { 'x-note': 'a\x01b' } }],
    ['maxRanges 0', 'maxRanges', { source: virtual(() => null), maxRanges: 0 }],
    ['a malformed contentType', 'contentType', { source: virtual(() => null), contentType: 'pdf' }],
    ['a non-boolean attachment', 'attachment', { source: virtual(() => null), attachment: 'yes' }],
    ['an invalid header', 'headers', { source: virtual(() => null), headers: { 'bad header': 'x' } }],
    ['a backend that is not one', 'backend', { source: virtual(() => null), backend: {} }],
  ])('throws at factory time for %s, naming `%s`', (_, option, options) => {
    expect(() => downloadHandler(options as never)).toThrow(`next-downloadview: option \`${option}\``);
  });

  it('throws at factory time for bad source and backend options', () => {
    expect(() => filesystem({ root: '' })).toThrow(/filesystem.root/);
    expect(() => nginx({ remote: false })).toThrow(/nginx.rules/);
    expect(() => nginx({ rules: { 'relative/path': '/_protected' } })).toThrow(/absolute path/);
    expect(() => nginx({ rules: { '/srv': '/_p' }, limitRate: -1 })).toThrow(/limitRate/);
  });
});
