import { execFileSync } from 'node:child_process';
import { mkdirSync, renameSync, rmSync, symlinkSync, utimesSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it, onTestFinished, vi } from 'vitest';
import { downloadHandler, filesystem, type DownloadRouteHandler, type FilesystemSource } from '../../src/index.js';
import { assertDownload } from '../../src/testing/index.js';
import { bodyOf, call, createMedia, expectBytes, fetchRoute, headersOf, mapLoaded, openUnder, parseMultipart, releaseUnread, segments, type Media } from './support.js';

let media: Media;
let source: FilesystemSource;
let GET: DownloadRouteHandler;

/** Close what the open-file caches keep (idle descriptors at once), then expect none left. */
async function expectAllReleased(...others: FilesystemSource[]): Promise<void> {
  for (const each of [source, ...others]) each.closeOpenFiles();
  await vi.waitFor(() => expect(openUnder(media.root)).toBe(0));
}

beforeAll(() => {
  media = createMedia();
  const outside = `${media.root}-outside`;
  mkdirSync(outside, { recursive: true });
  writeFileSync(path.join(outside, 'secret.txt'), 'outside');
  symlinkSync(path.join(outside, 'secret.txt'), path.join(media.root, 'escape.txt'));
  writeFileSync(path.join(media.root, 'back\\slash.txt'), 'backslash');
  mkdirSync(path.join(media.root, '%2e%2e'));
  writeFileSync(path.join(media.root, '%2e%2e', 'hello.txt'), 'literal');
  symlinkSync(outside, path.join(media.root, 'escape-dir'));
  symlinkSync(path.join(media.root, 'hello.txt'), path.join(media.root, 'alias.txt'));
  symlinkSync(path.join(media.root, 'nested'), path.join(media.root, 'nested-link'));
  execFileSync('mkfifo', [path.join(media.root, 'pipe')]);
  utimesSync(path.join(media.root, 'hello.txt'), new Date('2026-01-01T00:00:00Z'), new Date('2026-01-01T00:00:00Z'));
  source = filesystem({ root: media.root });
  GET = downloadHandler({ source, backend: undefined });
});
afterEach(releaseUnread);
afterAll(() => {
  source.closeOpenFiles();
  media.cleanup();
});

describe('downloadHandler(filesystem) GET', () => {
  it('sends the whole file with representation headers', async () => {
    const response = await fetchRoute(GET, '/files/hello.txt');
    expect(response.headers.get('etag')).toMatch(/^W\/"e-[0-9a-f]+"$/);
    await assertDownload(response, {
      filename: 'hello.txt',
      disposition: 'attachment',
      contentType: 'text/plain; charset=utf-8',
      body: media.files['hello.txt']!,
      headers: {
        'content-disposition': 'attachment; filename="hello.txt"',
        'content-length': '14',
        'cache-control': 'private, no-transform',
        'x-content-type-options': 'nosniff',
        'accept-ranges': 'bytes',
        'last-modified': 'Thu, 01 Jan 2026 00:00:00 GMT',
      },
    });
  });

  it('is byte-exact for a binary file larger than one chunk', async () => {
    await assertDownload(await fetchRoute(GET, '/files/data.bin'), { body: media.files['data.bin']!, contentType: 'application/octet-stream' });
  });

  it('serves nested keys and odd names, with an RFC 8187 filename*', async () => {
    // As a browser asks for it: every segment percent-encoded once.
    const response = await fetchRoute(GET, `/files/odd%20names/${encodeURIComponent('ré sumé 名前 ?#%.txt')}`);
    await assertDownload(response, {
      filename: 'ré sumé 名前 ?#%.txt',
      body: media.files['odd names/ré sumé 名前 ?#%.txt']!,
      headers: { 'content-disposition': `attachment; filename="re sume __ _#_.txt"; filename*=UTF-8''r%C3%A9%20sum%C3%A9%20%E5%90%8D%E5%89%8D%20%3F#%25.txt` },
    });
  });

  it('sends an empty file as 200 with length 0', async () => {
    await assertDownload(await fetchRoute(GET, '/files/empty.txt'), { size: 0, headers: { 'content-length': '0' } });
  });

  it('follows a symlink that stays inside the root', async () => {
    await assertDownload(await fetchRoute(GET, '/files/alias.txt'), { body: media.files['hello.txt']! });
  });

  it('follows a symlinked directory inside the root, and names the file by its resolved path', async () => {
    await assertDownload(await fetchRoute(GET, '/files/nested-link/deep/report.pdf'), { filename: 'report.pdf', contentType: 'application/pdf', body: media.files['nested/deep/report.pdf']! });
    const file = await filesystem({ root: media.root }).file('nested-link/deep/report.pdf')!.load();
    expect(file).toMatchObject({ path: path.join(media.root, 'nested/deep/report.pdf'), name: 'report.pdf', size: 5000 });
  });

  it('names a plain file by the key it was asked for', async () => {
    const file = await filesystem({ root: media.root }).file(['nested', 'deep', 'report.pdf'])!.load();
    expect(file).toMatchObject({ path: path.join(media.root, 'nested/deep/report.pdf'), size: 5000 });
  });
});

describe('downloadHandler(filesystem) refusals', () => {
  const refused: [string, string[]][] = [
    ['missing file', ['nope.txt']],
    ['directory', ['nested']],
    // Traversal aims at a file that exists (`<tmp>/media-outside/secret.txt`): only the refusal 404s it.
    ['parent segment', ['..', 'media-outside', 'secret.txt']],
    ['parent inside a segment (decoded %2F)', ['nested/../../media-outside/secret.txt']],
    ['dot segment', ['.', 'hello.txt']],
    ['empty segment', ['', 'hello.txt']],
    ['NUL byte', ['hello.txt\0.pdf']],
    // A file really named so exists: on Linux `\` is a name character, but proxies and Windows split on it.
    ['backslash', ['back\\slash.txt']],
    ['dotfile', ['.env']],
    ['symlink to a file outside the root', ['escape.txt']],
    ['symlink to a directory outside the root', ['escape-dir', 'secret.txt']],
    ['a file used as a directory', ['hello.txt', 'x']],
    ['a symlinked file used as a directory', ['alias.txt', 'x']],
    ['a FIFO used as a directory', ['pipe', 'x']],
    ['a symlinked directory itself', ['nested-link']],
    ['FIFO', ['pipe']],
  ];
  it.each(refused)('404s a %s with a fixed body', async (_, parts) => {
    await assertDownload(await call(GET, { path: parts }), { status: 404, body: 'Not Found\n', headers: { 'cache-control': 'no-store', etag: null, 'content-disposition': null } });
  });

  it('serves a folder literally named %2e%2e: keys are decoded once (by Next), never again', async () => {
    // The browser's request for it: `%` itself encoded (%252e%252e), decoded once by Next.
    await assertDownload(await fetchRoute(GET, '/files/%252e%252e/hello.txt'), { body: 'literal' });
  });

  it('404s when the route has no key param', async () => {
    expect((await call(GET, {})).status).toBe(404);
  });

  it('serves dotfiles only when allowed', async () => {
    const withDotfiles = filesystem({ root: media.root, dotfiles: true });
    onTestFinished(() => withDotfiles.closeOpenFiles());
    const response = await call(downloadHandler({ source: withDotfiles }), segments('.env'));
    expect(response.status).toBe(200);
    expect(await bodyOf(response)).toEqual(media.files['.env']);
  });

  it('404s every key when the root does not exist', async () => {
    const handler = downloadHandler({ source: filesystem({ root: `${media.root}-missing` }) });
    expect((await call(handler, segments('hello.txt'))).status).toBe(404);
  });
});

describe('downloadHandler(filesystem) HEAD', () => {
  it('answers with the GET headers and no body, without opening the file', async () => {
    // Earlier tests' descriptors (cached or closing asynchronously): start from none.
    await expectAllReleased();
    const open = vi.fn();
    const counting = mapLoaded(source, (file) => ({ ...file, open: (signal: AbortSignal, size: number | undefined) => (open(), file.open(signal, size)) }));
    const HEAD = downloadHandler({ source: counting });
    const responses = await Promise.all(Array.from({ length: 20 }, () => call(HEAD, segments('data.bin'), { method: 'HEAD' })));
    for (const response of responses) {
      expect(response.status).toBe(200);
      expect(response.body).toBeNull();
      expect(response.headers.get('content-length')).toBe(String(media.files['data.bin']!.length));
    }
    expect(open).not.toHaveBeenCalled();
    expect(openUnder(media.root)).toBe(0);
    // The same handler does open the file for GET: the spy sees real opens.
    await bodyOf(await call(HEAD, segments('hello.txt')));
    expect(open).toHaveBeenCalledOnce();
  });

  it('sends no content with a 412 or an error status either (RFC 9110 §9.3.2)', async () => {
    // Found by the property suite (http-properties.test.ts): a HEAD 412 carried "Precondition Failed".
    const HEAD = downloadHandler({ source: filesystem({ root: media.root }), authorize: (request, target) => target.key !== 'data.bin' });
    const failed = await call(HEAD, segments('hello.txt'), { method: 'HEAD', headers: { 'if-match': '"other"' } });
    const missing = await call(HEAD, segments('missing.txt'), { method: 'HEAD' });
    const refused = await call(HEAD, segments('data.bin'), { method: 'HEAD' });
    expect([failed.status, missing.status, refused.status]).toEqual([412, 404, 403]);
    for (const response of [failed, missing, refused]) {
      expect(response.body).toBeNull();
      expect(response.headers.get('content-type')).toBe('text/plain; charset=utf-8');
    }
  });

  it('ignores Range (RFC 9110 §14.2: defined for GET only)', async () => {
    const response = await call(GET, segments('hello.txt'), { method: 'HEAD', headers: { range: 'bytes=0-1' } });
    expect(response.status).toBe(200);
  });
});

describe('downloadHandler(filesystem) Range', () => {
  const data = () => media.files['data.bin']!;
  it('sends a single range as 206 with Content-Range', async () => {
    const response = await call(GET, segments('data.bin'), { headers: { range: 'bytes=100-299' } });
    expect(response.status).toBe(206);
    expect(response.headers.get('content-range')).toBe(`bytes 100-299/${data().length}`);
    expect(response.headers.get('content-length')).toBe('200');
    expect(await bodyOf(response)).toEqual(data().subarray(100, 300));
  });

  it('sends a suffix range and an open range', async () => {
    const suffix = await call(GET, segments('data.bin'), { headers: { range: 'bytes=-500' } });
    expect(await bodyOf(suffix)).toEqual(data().subarray(data().length - 500));
    const open = await call(GET, segments('data.bin'), { headers: { range: 'bytes=1048000-' } });
    expectBytes(await bodyOf(open), data().subarray(1048000));
  });

  it('sends several ranges as multipart/byteranges, coalescing overlaps', async () => {
    const response = await call(GET, segments('data.bin'), { headers: { range: 'bytes=0-9, 5000-5009, 5005-5020, -10' } });
    expect(response.status).toBe(206);
    const type = response.headers.get('content-type')!;
    expect(type).toMatch(/^multipart\/byteranges; boundary=/);
    const body = await bodyOf(response);
    expect(response.headers.get('content-length')).toBe(String(body.length));
    const parts = parseMultipart(body, type);
    const size = data().length;
    expect(parts.map((part) => part.headers['content-range'])).toEqual([`bytes 0-9/${size}`, `bytes 5000-5020/${size}`, `bytes ${size - 10}-${size - 1}/${size}`]);
    expect(parts[1]!.bytes).toEqual(data().subarray(5000, 5021));
    expect(parts[2]!.bytes).toEqual(data().subarray(size - 10));
    expect(parts[0]!.headers['content-type']).toBe('application/octet-stream');
  });

  it('answers an unsatisfiable range with 416 and bytes */size', async () => {
    const response = await call(GET, segments('data.bin'), { headers: { range: `bytes=${data().length}-` } });
    expect(response.status).toBe(416);
    expect(response.headers.get('content-range')).toBe(`bytes */${data().length}`);
    expect(response.headers.get('etag')).toBeNull();
  });

  it.each(['bytes=5-2', 'bytes=abc', 'items=0-5', 'bytes=0-1junk', 'bytes 0-5'])('ignores the invalid Range %s and sends 200', async (range) => {
    const response = await call(GET, segments('hello.txt'), { headers: { range } });
    expect(response.status).toBe(200);
    expect(await bodyOf(response)).toEqual(media.files['hello.txt']);
  });

  it('honours If-Range only when the validator still matches (strong comparison)', async () => {
    const first = await headersOf(call(GET, segments('hello.txt')));
    const lastModified = first.headers.get('last-modified')!;
    const weakTag = first.headers.get('etag')!;
    const byDate = await call(GET, segments('hello.txt'), { headers: { range: 'bytes=0-4', 'if-range': lastModified } });
    expect(byDate.status).toBe(206);
    const byWeakTag = await call(GET, segments('hello.txt'), { headers: { range: 'bytes=0-4', 'if-range': weakTag } });
    expect(byWeakTag.status).toBe(200);
    const stale = await call(GET, segments('hello.txt'), { headers: { range: 'bytes=0-4', 'if-range': 'Wed, 01 Jan 2025 00:00:00 GMT' } });
    expect(stale.status).toBe(200);
  });
});

describe('downloadHandler(filesystem) preconditions', () => {
  it('answers a matching If-None-Match with 304 and only cache headers', async () => {
    const etag = (await headersOf(call(GET, segments('hello.txt')))).headers.get('etag')!;
    const response = await call(GET, segments('hello.txt'), { headers: { 'if-none-match': `"other", ${etag}` } });
    expect(response.status).toBe(304);
    expect(response.headers.get('etag')).toBe(etag);
    expect(response.headers.get('cache-control')).toBe('private, no-transform');
    expect(response.headers.get('last-modified')).toBe('Thu, 01 Jan 2026 00:00:00 GMT');
    for (const name of ['content-type', 'content-length', 'content-disposition']) expect(response.headers.get(name)).toBeNull();
  });

  it('answers If-Modified-Since at or after Last-Modified with 304', async () => {
    const response = await call(GET, segments('hello.txt'), { headers: { 'if-modified-since': 'Thu, 01 Jan 2026 00:00:00 GMT' } });
    expect(response.status).toBe(304);
    const older = await call(GET, segments('hello.txt'), { headers: { 'if-modified-since': 'Wed, 31 Dec 2025 23:59:59 GMT' } });
    expect(older.status).toBe(200);
  });

  it('lets If-None-Match win over If-Modified-Since (RFC 9110 §13.2.2)', async () => {
    const response = await call(GET, segments('hello.txt'), { headers: { 'if-none-match': '"nope"', 'if-modified-since': 'Thu, 01 Jan 2026 00:00:00 GMT' } });
    expect(response.status).toBe(200);
  });

  it('answers a failed If-Match or If-Unmodified-Since with 412 before looking at Range', async () => {
    const ifMatch = await call(GET, segments('hello.txt'), { headers: { 'if-match': '"nope"', range: 'bytes=0-1' } });
    expect(ifMatch.status).toBe(412);
    expect(ifMatch.headers.get('etag')).toBeNull();
    const ifUnmodified = await call(GET, segments('hello.txt'), { headers: { 'if-unmodified-since': 'Wed, 31 Dec 2025 00:00:00 GMT' } });
    expect(ifUnmodified.status).toBe(412);
    const star = await call(GET, segments('hello.txt'), { headers: { 'if-match': '*' } });
    expect(star.status).toBe(200);
  });

  it('ignores malformed dates', async () => {
    const response = await call(GET, segments('hello.txt'), { headers: { 'if-modified-since': 'yesterday', 'if-unmodified-since': '2020' } });
    expect(response.status).toBe(200);
  });
});

describe('downloadHandler(filesystem) file replaced between stat and open', () => {
  it.each([
    ['blocking', 'small', 10],
    ['blocking', 'streamed', 600 * 1024],
    ['threadpool', 'small', 10],
    ['threadpool', 'streamed', 600 * 1024],
  ] as const)('io %s, %s file: 503 with a fixed body, never the new bytes', async (io, _, size) => {
    const name = `swap-${io}-${size}.bin`;
    writeFileSync(path.join(media.root, name), Buffer.alloc(size, 'a'));
    const swapping = filesystem({ root: media.root, io });
    onTestFinished(() => swapping.closeOpenFiles());
    const onError = vi.fn();
    const GET = downloadHandler({
      // After load() (the stat), before the body is opened: another inode renamed over the path
      // (how editors and deploys replace files).
      source: mapLoaded(swapping, (file) => {
        writeFileSync(path.join(media.root, `${name}.new`), Buffer.alloc(size + 1, 'b'));
        renameSync(path.join(media.root, `${name}.new`), path.join(media.root, name));
        return file;
      }),
      onError,
    });
    const response = await call(GET, segments(name));
    expect(response.status).toBe(503);
    expect(await response.text()).toBe('Service Unavailable\n');
    expect(onError).toHaveBeenCalledWith(expect.objectContaining({ code: 'file_changed' }), expect.any(Request));
  });
});

describe('downloadHandler(filesystem) streaming lifecycle', () => {
  it('closes the file when the client cancels mid-stream', async () => {
    const controller = new AbortController();
    await expectAllReleased();
    const response = await call(GET, segments('data.bin'), { signal: controller.signal });
    const reader = response.body!.getReader();
    await reader.read();
    expect(openUnder(media.root)).toBe(1);
    controller.abort();
    await reader.cancel();
    await vi.waitFor(() => expect(openUnder(media.root)).toBe(0));
  });

  it('closes the file when the client was gone before the body was built', async () => {
    await expectAllReleased();
    const controller = new AbortController();
    controller.abort();
    // Nobody reads or cancels this body: the abort alone must release the file.
    await call(GET, segments('data.bin'), { signal: controller.signal });
    await vi.waitFor(() => expect(openUnder(media.root)).toBe(0));
  });

  it('closes the file at the end of the body', async () => {
    await bodyOf(await call(GET, segments('data.bin')));
    await vi.waitFor(() => expect(openUnder(media.root)).toBe(0));
  });
});

// The default `io: 'auto'` runs the suites above in whichever mode this machine's filesystem gets;
// both modes are pinned here explicitly. data.bin (1 MiB) streams through threadpool reads in
// either mode; hello.txt (14 bytes) and the ranges below are single reads (synchronous when blocking).
describe.each([['blocking' as const], ['threadpool' as const]])("filesystem({ io: '%s' })", (io) => {
  let modeSource: FilesystemSource;
  let handler: DownloadRouteHandler;
  beforeAll(() => {
    modeSource = filesystem({ root: media.root, io });
    handler = downloadHandler({ source: modeSource });
  });

  it('reports the mode it runs in', async () => {
    expect(await filesystem({ root: media.root, io }).ioMode()).toBe(io);
  });

  it('serves the same bytes, ranges and validators', async () => {
    const full = await call(handler, segments('data.bin'));
    expectBytes(await bodyOf(full), media.files['data.bin']);
    const range = await call(handler, segments('data.bin'), { headers: { range: 'bytes=10-19' } });
    expect(range.status).toBe(206);
    expect(await bodyOf(range)).toEqual(media.files['data.bin']!.subarray(10, 20));
    const wide = await call(handler, segments('data.bin'), { headers: { range: 'bytes=1000-201000' } });
    expectBytes(await bodyOf(wide), media.files['data.bin']!.subarray(1000, 201001));
    const small = await call(handler, segments('hello.txt'));
    expect(await bodyOf(small)).toEqual(media.files['hello.txt']);
    const reference = await headersOf(call(GET, segments('hello.txt')));
    expect(small.headers.get('etag')).toBe(reference.headers.get('etag'));
  });

  it.each([['nope.txt'], ['escape.txt'], ['escape-dir/secret.txt'], ['pipe'], ['nested']])('refuses %s with 404', async (key) => {
    expect((await call(handler, segments(key))).status).toBe(404);
  });

  it('closes every descriptor it opened (keeping one per file open only in blocking mode)', async () => {
    await expectAllReleased(modeSource);
    await Promise.all(Array.from({ length: 10 }, async () => bodyOf(await call(handler, segments('data.bin')))));
    await Promise.all(Array.from({ length: 10 }, async () => bodyOf(await call(handler, segments('hello.txt')))));
    // The open-file cache keeps small files open, by default on local disks only (network
    // filesystems revalidate on open); data.bin (1 MiB) streams through a descriptor of its own.
    await vi.waitFor(() => expect(openUnder(media.root)).toBe(io === 'blocking' ? 1 : 0));
    modeSource.closeOpenFiles();
    await vi.waitFor(() => expect(openUnder(media.root)).toBe(0));
  });
});

describe("filesystem({ io: 'auto' })", () => {
  it('blocks only on a local filesystem: tmpfs here', async () => {
    // /dev/shm is tmpfs on Linux (Debian and every container runtime mount it).
    const mode = await filesystem({ root: '/dev/shm' }).ioMode();
    expect(mode).toBe(process.platform === 'linux' ? 'blocking' : 'threadpool');
  });

  it('retries resolving a root that does not exist yet, then serves from it', async () => {
    const late = `${media.root}-late`;
    onTestFinished(() => rmSync(late, { recursive: true, force: true }));
    const source = filesystem({ root: late });
    const handler = downloadHandler({ source, onError: () => {} });
    expect((await call(handler, segments('hello.txt'))).status).toBe(404);
    mkdirSync(late, { recursive: true });
    writeFileSync(path.join(late, 'hello.txt'), 'late');
    const response = await call(handler, segments('hello.txt'));
    expect(response.status).toBe(200);
    expect(await response.text()).toBe('late');
  });
});
