import { writeFileSync } from 'node:fs';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { downloadHandler, filesystem, record, virtualFile, type DownloadRouteHandler } from '../../src/index.js';
import { assertDownload } from '../../src/testing/index.js';
import { bodyOf, call, createMedia, releaseUnread, type Media } from './support.js';

interface Row {
  id: string;
  owner: string;
  path?: string;
  size?: number;
}

let media: Media;
let GET: DownloadRouteHandler;
const rows: Record<string, Row> = {
  '1': { id: '1', owner: 'alice', path: 'nested/deep/report.pdf' },
  '2': { id: '2', owner: 'bob', path: 'hello.txt' },
  '3': { id: '3', owner: 'alice' },
  '4': { id: '4', owner: 'alice', path: 'hello.txt', size: 999 },
  // Aims at a file that exists next to the root: only the key check keeps it out.
  '5': { id: '5', owner: 'alice', path: '../media-outside.txt' },
};
const onError = vi.fn();

beforeAll(() => {
  media = createMedia();
  writeFileSync(`${media.root}-outside.txt`, 'outside the root');
  const files = filesystem({ root: media.root });
  GET = downloadHandler({
    source: record({
      find: (request, { params }) => rows[String(params.id)],
      file: (row) => ({
        file: row.path ? files.file(row.path) : virtualFile({ name: 'generated.csv', body: 'a,b\n' }),
        filename: `Rechnung ${row.id} "${row.owner}".pdf`,
        contentType: 'application/pdf',
        mtime: new Date('2026-02-03T04:05:06Z'),
        etag: `"row-${row.id}"`,
        size: row.size,
      }),
    }),
    authorize: (request, target) => target.record?.owner === request.headers.get('x-user') || 'not-found',
    onError,
  });
});
afterEach(releaseUnread);
afterAll(() => media.cleanup());

describe('downloadHandler(record)', () => {
  it('serves the record file with every override honoured', async () => {
    const response = await call(GET, { id: '1' }, { headers: { 'x-user': 'alice' } });
    await assertDownload(response, {
      filename: 'Rechnung 1 "alice".pdf',
      disposition: 'attachment',
      contentType: 'application/pdf',
      body: media.files['nested/deep/report.pdf']!,
      headers: { 'content-disposition': `attachment; filename="Rechnung 1 \\"alice\\".pdf"`, 'last-modified': 'Tue, 03 Feb 2026 04:05:06 GMT', etag: '"row-1"' },
    });
  });

  it('passes the record to authorize; "not-found" makes a forbidden record look missing', async () => {
    const forbidden = await call(GET, { id: '2' }, { headers: { 'x-user': 'alice' } });
    const missing = await call(GET, { id: '99' }, { headers: { 'x-user': 'alice' } });
    expect(forbidden.status).toBe(404);
    expect(missing.status).toBe(404);
    expect(await forbidden.text()).toBe(await missing.text());
  });

  it('serves virtual content named by a record', async () => {
    const response = await call(GET, { id: '3' }, { headers: { 'x-user': 'alice' } });
    await assertDownload(response, { body: 'a,b\n', headers: { etag: '"row-3"' } });
  });

  it('uses the record ETag for conditional requests', async () => {
    const response = await call(GET, { id: '1' }, { headers: { 'x-user': 'alice', 'if-none-match': '"row-1"' } });
    expect(response.status).toBe(304);
  });

  it('refuses a declared size that disagrees with the file (500, never a corrupt download)', async () => {
    const response = await call(GET, { id: '4' }, { headers: { 'x-user': 'alice' } });
    expect(response.status).toBe(500);
    expect(onError).toHaveBeenCalledWith(expect.objectContaining({ code: 'length_mismatch' }), expect.any(Request));
  });

  it('validates the record path like any key', async () => {
    const response = await call(GET, { id: '5' }, { headers: { 'x-user': 'alice' } });
    expect(response.status).toBe(404);
    expect(await response.text()).toBe('Not Found\n');
  });

  it('releases a virtual stream named by a record when the request is refused or the record is invalid', async () => {
    const cancels: string[] = [];
    const streamFor = (id: string) => new ReadableStream<Uint8Array>({ cancel: () => void cancels.push(id) });
    const streaming = downloadHandler({
      source: record({
        find: (request, { params }) => ({ id: String(params.id) }),
        file: (row) => ({ file: virtualFile({ name: 'x.csv', body: streamFor(row.id) }), mtime: row.id === 'bad' ? new Date(Number.NaN) : undefined }),
      }),
      authorize: (request, target) => target.record?.id !== 'hidden' || 'not-found',
      onError: () => {},
    });
    expect((await call(streaming, { id: 'hidden' })).status).toBe(404);
    expect((await call(streaming, { id: 'bad' })).status).toBe(500);
    expect(cancels).toEqual(['hidden', 'bad']);
  });

  it('takes an async file(), and answers 500 naming record.file when it returns no located file', async () => {
    const errors: unknown[] = [];
    const withFile = (file: (row: Row) => unknown) =>
      downloadHandler({ source: record({ find: () => rows['3'], file: file as never }), onError: (error) => errors.push(error) });
    // An async file() used to be read as "no file": a 404 with nothing logged.
    const async = await call(withFile(async () => ({ file: virtualFile({ name: 'a.txt', body: 'abc' }) })), {});
    expect(async.status).toBe(200);
    expect(await async.text()).toBe('abc');
    expect((await call(withFile(() => ({ file: null })), {})).status).toBe(404);
    expect((await call(withFile(() => null), {})).status).toBe(404);
    for (const wrong of [() => 'report.pdf', () => ({}), () => ({ file: { name: 'a.txt' } })]) {
      expect((await call(withFile(wrong), {})).status).toBe(500);
    }
    expect(errors).toHaveLength(3);
    for (const error of errors) expect(error).toMatchObject({ message: expect.stringContaining('record.file must return') });
  });

  it.each([
    [{ filename: 42 }, /record filename must be a non-empty string/],
    [{ contentType: 5 }, /record contentType must be a media type/],
    [{ contentType: 'pdf' }, /record contentType must be a media type/],
    [{ mtime: new Date('-000001-01-01T00:00:00Z') }, /record mtime must be a valid Date from year 0 to 9999/],
  ])('answers 500 for override %j, naming it', async (override, message) => {
    const errors: unknown[] = [];
    const GET = downloadHandler({
      source: record({ find: () => rows['3'], file: () => ({ file: virtualFile({ name: 'a.txt', body: 'abc' }), ...(override as object) }) }),
      onError: (error) => errors.push(error),
    });
    expect((await call(GET, {})).status).toBe(500);
    expect(errors).toEqual([expect.objectContaining({ message: expect.stringMatching(message) })]);
  });

  it.each([
    ['a small stream (read at once): a 500', 'abcdef', 3],
    ['a large stream: the transfer fails', 'x'.repeat(300_001), 300_000],
  ])('holds a virtual stream of unknown length to the size its record declares, for %s', async (_, content, size) => {
    const errors: unknown[] = [];
    async function* body(): AsyncGenerator<string> {
      yield content.slice(0, 2);
      yield content.slice(2);
    }
    const GET = downloadHandler({
      source: record({ find: () => rows['3'], file: () => ({ file: virtualFile({ name: 'a.txt', body }), size }) }),
      onError: (error) => errors.push(error),
    });
    const response = await call(GET, {});
    if (size <= 3) expect(response.status).toBe(500);
    else await expect(response.arrayBuffer()).rejects.toThrow(/runs past its declared 300000 bytes/);
    expect(errors).toEqual([expect.objectContaining({ code: 'length_mismatch' })]);
  });

  it('holds lazily made virtual bytes to the size their record declares (they used to go out cut short)', async () => {
    const errors: unknown[] = [];
    const GET = downloadHandler({
      source: record({ find: () => rows['3'], file: () => ({ file: virtualFile({ name: 'a.txt', body: () => 'abcdef' }), size: 3 }) }),
      onError: (error) => errors.push(error),
    });
    expect((await call(GET, {})).status).toBe(500);
    expect(errors).toEqual([expect.objectContaining({ code: 'length_mismatch' })]);
  });

  it('ends a virtual iterable once when its record declares the wrong size', async () => {
    let returns = 0;
    const iterable = { [Symbol.asyncIterator]: () => ({ next: async () => ({ done: false as const, value: 'abc' }), return: async () => ({ done: true as const, value: undefined, n: ++returns }) }) };
    const GET = downloadHandler({
      source: record({ find: () => rows['3'], file: () => ({ file: virtualFile({ name: 'a.txt', size: 3, body: iterable }), size: 4 }) }),
      onError: () => {},
    });
    expect((await call(GET, {})).status).toBe(500);
    await new Promise((resolve) => setImmediate(resolve));
    expect(returns).toBe(1);
  });
});
