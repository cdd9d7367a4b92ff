// The open-file cache: a hot file keeps one descriptor, and no change to the file (replaced,
// rewritten, renamed over, deleted, touched) is ever served from a descriptor opened before it.
import { chmodSync, readdirSync, readlinkSync, renameSync, rmSync, statSync, truncateSync, utimesSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { downloadHandler, filesystem, type DownloadRouteHandler, type FilesystemSource } from '../../src/index.js';
import { bodyOf, call, createMedia, expectBytes, openUnder, releaseUnread, segments, type Media } from './support.js';

let media: Media;
let source: FilesystemSource;
let GET: DownloadRouteHandler;
/** Sources a test made itself; their caches are closed after it. */
let extra: FilesystemSource[] = [];
const own = (options: Omit<Parameters<typeof filesystem>[0], 'root'>): FilesystemSource => {
  const made = filesystem({ root: media.root, ...options });
  extra.push(made);
  return made;
};

/** Descriptor numbers of this process open on `file` (to tell a reused descriptor from a new one). */
function descriptorsOn(file: string): string[] {
  return readdirSync('/proc/self/fd').filter((fd) => {
    try {
      return readlinkSync(`/proc/self/fd/${fd}`) === file;
    } catch {
      return false;
    }
  });
}

const get = async (key: string) => {
  const response = await call(GET, segments(key));
  return { status: response.status, body: response.status === 200 ? (await bodyOf(response)).toString() : '' };
};

beforeEach(() => {
  media = createMedia();
  source = filesystem({ root: media.root, io: 'blocking' });
  GET = downloadHandler({ source });
});
afterEach(async () => {
  await releaseUnread();
  for (const each of [source, ...extra.splice(0)]) each.closeOpenFiles();
  await vi.waitFor(() => expect(openUnder(media.root)).toBe(0));
  media.cleanup();
});
afterAll(releaseUnread);

describe('open-file cache (default in blocking mode)', () => {
  it('keeps one descriptor for a small file served many times, concurrently too', async () => {
    for (let i = 0; i < 5; i += 1) expect((await get('hello.txt')).body).toBe('Hello, world!\n');
    const bodies = await Promise.all(Array.from({ length: 20 }, async () => bodyOf(await call(GET, segments('nested/deep/report.pdf')))));
    for (const body of bodies) expectBytes(body, media.files['nested/deep/report.pdf']);
    expect(descriptorsOn(path.join(media.root, 'hello.txt'))).toHaveLength(1);
    expect(descriptorsOn(path.join(media.root, 'nested/deep/report.pdf'))).toHaveLength(1);
  });

  it('gives a file streamed in chunks (over 256 KiB) its own descriptor per download', async () => {
    const bodies = await Promise.all(Array.from({ length: 4 }, async () => bodyOf(await call(GET, segments('data.bin')))));
    for (const body of bodies) expectBytes(body, media.files['data.bin']);
    await vi.waitFor(() => expect(openUnder(media.root)).toBe(0));
  });

  it('serves the new file after the path was renamed over (new inode), and closes the old descriptor', async () => {
    const file = path.join(media.root, 'hello.txt');
    await get('hello.txt');
    const mtime = statSync(file).mtime;
    writeFileSync(`${file}.new`, 'Other bytes!!\n'); // same length
    utimesSync(`${file}.new`, mtime, mtime); // same size and mtime: only the inode tells them apart
    renameSync(`${file}.new`, file);
    expect(await get('hello.txt')).toEqual({ status: 200, body: 'Other bytes!!\n' });
    // One descriptor, on the new inode; the replaced file (now "(deleted)" in /proc) is closed.
    const [fd] = descriptorsOn(file);
    expect(statSync(`/proc/self/fd/${fd}`).ino).toBe(statSync(file).ino);
    expect(openUnder(media.root)).toBe(1);
  });

  it('serves bytes rewritten in place (same inode) and their new length', async () => {
    const file = path.join(media.root, 'hello.txt');
    await get('hello.txt');
    writeFileSync(file, 'Rewritten, and longer!\n');
    const response = await call(GET, segments('hello.txt'));
    expect(response.headers.get('content-length')).toBe('23');
    expect((await bodyOf(response)).toString()).toBe('Rewritten, and longer!\n');
  });

  it('sends the new length after a truncate, never a stale one', async () => {
    const file = path.join(media.root, 'hello.txt');
    await get('hello.txt');
    truncateSync(file, 5);
    const response = await call(GET, segments('hello.txt'));
    expect(response.headers.get('content-length')).toBe('5');
    expect((await bodyOf(response)).toString()).toBe('Hello');
  });

  it('answers 404 once the file is deleted and releases its descriptor at once', async () => {
    const file = path.join(media.root, 'hello.txt');
    await get('hello.txt');
    expect(descriptorsOn(file)).toHaveLength(1);
    rmSync(file);
    expect((await get('hello.txt')).status).toBe(404);
    // /proc shows a deleted file's link as "<path> (deleted)".
    expect(openUnder(media.root)).toBe(0);
  });

  it('keeps a download going when the cache lets go of its descriptor, then closes it', async () => {
    // Several ranges of a small file stream part by part through the cached descriptor.
    const response = await call(GET, segments('nested/deep/report.pdf'), { headers: { range: 'bytes=0-9, 4000-4099' } });
    expect(response.status).toBe(206);
    const reader = response.body!.getReader();
    const parts = [Buffer.from((await reader.read()).value!)];
    source.closeOpenFiles();
    expect(openUnder(media.root)).toBe(1);
    for (let chunk = await reader.read(); !chunk.done; chunk = await reader.read()) parts.push(Buffer.from(chunk.value));
    const body = Buffer.concat(parts).toString('latin1');
    expect(body).toContain(media.files['nested/deep/report.pdf']!.subarray(4000, 4100).toString('latin1'));
    await vi.waitFor(() => expect(openUnder(media.root)).toBe(0));
  });

  it('opens afresh after a permission change (only ctime moves), never reusing the old descriptor', async () => {
    const file = path.join(media.root, 'nested/deep/report.pdf');
    // A multi-range download holds the cached descriptor open while the file is re-permissioned.
    const held = await call(GET, segments('nested/deep/report.pdf'), { headers: { range: 'bytes=0-9, 4000-4099' } });
    const reader = held.body!.getReader();
    await reader.read();
    expect(descriptorsOn(file)).toHaveLength(1);
    chmodSync(file, 0o640); // same inode, size and mtime
    const after = await call(GET, segments('nested/deep/report.pdf'));
    expectBytes(await bodyOf(after), media.files['nested/deep/report.pdf']);
    // The old descriptor (still held by the first download) and a new one opened after the chmod.
    expect(descriptorsOn(file)).toHaveLength(2);
    await reader.cancel();
  });

  it('closes descriptors unused for `idle` ms', async () => {
    const quick = own({ io: 'blocking', openFileCache: { idle: 40 } });
    await bodyOf(await call(downloadHandler({ source: quick }), segments('hello.txt')));
    expect(openUnder(media.root)).toBe(1);
    await vi.waitFor(() => expect(openUnder(media.root)).toBe(0), { timeout: 2000 });
  });

  it('keeps at most `max` descriptors, closing the least recently used', async () => {
    const small = own({ io: 'blocking', openFileCache: { max: 2 } });
    const handler = downloadHandler({ source: small });
    const odd = 'odd names/ré sumé 名前 ?#%.txt';
    for (const key of ['hello.txt', odd, 'hello.txt', 'nested/deep/report.pdf']) await bodyOf(await call(handler, segments(key)));
    await vi.waitFor(() => expect(openUnder(media.root)).toBe(2));
    expect(descriptorsOn(path.join(media.root, odd))).toHaveLength(0);
    expect(descriptorsOn(path.join(media.root, 'nested/deep/report.pdf'))).toHaveLength(1);
    expect(descriptorsOn(path.join(media.root, 'hello.txt'))).toHaveLength(1);
  });

  it('is off with openFileCache: false and in threadpool mode unless asked for', async () => {
    for (const options of [{ io: 'blocking', openFileCache: false }, { io: 'threadpool' }] as const) {
      const handler = downloadHandler({ source: own(options) });
      await bodyOf(await call(handler, segments('hello.txt')));
      await vi.waitFor(() => expect(openUnder(media.root)).toBe(0));
    }
    const forced = own({ io: 'threadpool', openFileCache: true });
    await bodyOf(await call(downloadHandler({ source: forced }), segments('hello.txt')));
    expect(openUnder(media.root)).toBe(1);
  });

  it.each([[{ max: 0 }], [{ max: 1.5 }], [{ idle: 0 }], [{ idle: Number.NaN }], ['yes']])('refuses openFileCache %j, naming the option', (value) => {
    expect(() => filesystem({ root: media.root, openFileCache: value as never })).toThrow(/filesystem\.openFileCache/);
  });
});
