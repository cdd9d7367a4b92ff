import { afterEach, describe, expect, it, vi } from 'vitest';
import { downloadHandler, virtual, type VirtualFileSpec } from '../../src/index.js';
import { bodyOf, call, parseMultipart, releaseUnread } from './support.js';

afterEach(releaseUnread);

const handlerFor = (spec: () => VirtualFileSpec, onError = vi.fn()) => downloadHandler({ source: virtual(() => spec()), onError });

async function* chunks(parts: string[]): AsyncGenerator<string> {
  for (const part of parts) yield part;
}

describe('downloadHandler(virtual) bodies', () => {
  it('sends a string with a strong content-hash ETag and exact length', async () => {
    const GET = handlerFor(() => ({ name: 'note.txt', body: 'héllo\n' }));
    const response = await call(GET, {});
    expect(response.status).toBe(200);
    expect(await response.text()).toBe('héllo\n');
    expect(response.headers.get('content-length')).toBe('7');
    expect(response.headers.get('etag')).toMatch(/^"[A-Za-z0-9_-]{27}"$/);
    expect(response.headers.get('content-type')).toBe('text/plain; charset=utf-8');
  });

  it('supports Range and If-Range on in-memory bytes (strong validator)', async () => {
    const bytes = new Uint8Array(Array.from({ length: 1000 }, (_, i) => i % 256));
    const GET = handlerFor(() => ({ name: 'b.bin', body: bytes }));
    const etag = (await call(GET, {}, { method: 'HEAD' })).headers.get('etag')!;
    const response = await call(GET, {}, { headers: { range: 'bytes=10-19', 'if-range': etag } });
    expect(response.status).toBe(206);
    expect(new Uint8Array(await response.arrayBuffer())).toEqual(bytes.subarray(10, 20));
  });

  it('sends a Blob', async () => {
    const GET = handlerFor(() => ({ name: 'b.json', body: new Blob(['{"a":1}']) }));
    const response = await call(GET, {}, { headers: { range: 'bytes=1-3' } });
    expect(response.status).toBe(206);
    expect(await response.text()).toBe('"a"');
  });

  it('streams an async iterable of unknown size without ranges', async () => {
    const GET = handlerFor(() => ({ name: 'log.txt', body: () => chunks(['a', 'bc', 'def']) }));
    const response = await call(GET, {}, { headers: { range: 'bytes=0-1' } });
    expect(response.status).toBe(200);
    expect(response.headers.get('accept-ranges')).toBe('none');
    expect(response.headers.get('content-length')).toBeNull();
    expect(await response.text()).toBe('abcdef');
  });

  it('serves multi-range from a forward-only stream of declared size', async () => {
    const text = Array.from({ length: 300 }, (_, i) => String.fromCharCode(97 + (i % 26))).join('');
    const GET = handlerFor(() => ({ name: 'log.txt', size: 300, body: () => chunks([text.slice(0, 7), text.slice(7, 255), text.slice(255)]) }));
    const response = await call(GET, {}, { headers: { range: 'bytes=250-259,1-2' } });
    expect(response.status).toBe(206);
    const parts = parseMultipart(await bodyOf(response), response.headers.get('content-type')!);
    // Parts come back in ascending order (RFC 9110 §14.6 allows it), so the stream only moves forward.
    expect(parts.map((part) => part.bytes.toString())).toEqual([text.slice(1, 3), text.slice(250, 260)]);
  });

  it('never calls a lazy body for HEAD or 304', async () => {
    const body = vi.fn(() => chunks(['x']));
    const GET = handlerFor(() => ({ name: 'x.txt', size: 1, etag: '"v1"', body }));
    expect((await call(GET, {}, { method: 'HEAD' })).status).toBe(200);
    expect((await call(GET, {}, { headers: { 'if-none-match': '"v1"' } })).status).toBe(304);
    expect(body).not.toHaveBeenCalled();
  });

  it('cancels an eager ReadableStream body that is not needed', async () => {
    const cancel = vi.fn();
    const GET = handlerFor(() => ({
      name: 'x.txt',
      size: 1,
      body: new ReadableStream({ pull: (c) => c.enqueue(new Uint8Array([1])), cancel }),
    }));
    await call(GET, {}, { method: 'HEAD' });
    expect(cancel).toHaveBeenCalledOnce();
  });

  it.each([
    ['refused', () => false as const, 403],
    ['hidden as not found', () => 'not-found' as const, 404],
  ])('cancels an eager ReadableStream body when the request is %s', async (_, authorize, status) => {
    const cancel = vi.fn();
    const GET = downloadHandler({
      source: virtual(() => ({ name: 'x.txt', body: new ReadableStream({ pull: (c) => c.enqueue(new Uint8Array([1])), cancel }) })),
      authorize,
    });
    expect((await call(GET, {})).status).toBe(status);
    expect(cancel).toHaveBeenCalledOnce();
  });

  it('ends an eager async iterable that a refused request never reads', async () => {
    let finished = false;
    async function* body(): AsyncGenerator<string> {
      try {
        yield 'never read';
      } finally {
        finished = true;
      }
    }
    const iterable = body();
    await iterable.next(); // started, suspended at the yield: return() must run the finally
    const GET = downloadHandler({ source: virtual(() => ({ name: 'x.txt', body: iterable })), authorize: () => false });
    expect((await call(GET, {})).status).toBe(403);
    await new Promise((resolve) => setImmediate(resolve));
    expect(finished).toBe(true);
  });

  it('refuses an ETag that is not a quoted entity-tag with a 500 (it could never match)', async () => {
    const onError = vi.fn();
    const GET = handlerFor(() => ({ name: 'x.txt', body: 'x', etag: 'v7' }), onError);
    expect((await call(GET, {})).status).toBe(500);
    expect(onError).toHaveBeenCalledWith(expect.objectContaining({ message: expect.stringMatching(/etag must be a quoted entity-tag/) }), expect.any(Request));
  });

  it('sends a modification time in the future as the current time (RFC 9110 §8.8.2.1), keeping the ETag', async () => {
    // An older file first: its clock reading must not let the future one through unclamped.
    const old = await call(handlerFor(() => ({ name: 'x.txt', body: 'x', mtime: new Date('2020-01-01T00:00:00Z') })), {});
    expect(old.headers.get('last-modified')).toBe('Wed, 01 Jan 2020 00:00:00 GMT');
    const GET = handlerFor(() => ({ name: 'x.txt', body: 'x', etag: '"v1"', mtime: new Date('2100-01-01T00:00:00Z') }));
    const before = Math.floor(Date.now() / 1000) * 1000;
    const response = await call(GET, {});
    const lastModified = Date.parse(response.headers.get('last-modified')!);
    expect(lastModified).toBeGreaterThanOrEqual(before);
    expect(lastModified).toBeLessThanOrEqual(Date.now());
    expect(response.headers.get('etag')).toBe('"v1"');
    expect((await call(GET, {}, { headers: { 'if-none-match': '"v1"' } })).status).toBe(304);
  });

  it('fails the transfer when a streamed body ends before its declared size', async () => {
    const onError = vi.fn();
    const chunk = 'x'.repeat(100_000);
    const GET = handlerFor(() => ({ name: 'x.txt', size: 400_000, body: () => chunks([chunk, chunk, chunk]) }), onError);
    const response = await call(GET, {});
    expect(response.status).toBe(200);
    expect(response.headers.get('content-length')).toBe('400000');
    await expect(response.arrayBuffer()).rejects.toThrow(/source ended/);
    expect(onError).toHaveBeenCalledOnce();
  });

  it('answers 500 when a small body (read at once) ends before its declared size', async () => {
    const onError = vi.fn();
    const GET = handlerFor(() => ({ name: 'x.txt', size: 10, body: () => chunks(['abc']) }), onError);
    const response = await call(GET, {});
    expect(response.status).toBe(500);
    expect(await response.text()).toBe('Internal Server Error\n');
    expect(onError).toHaveBeenCalledWith(expect.objectContaining({ code: 'length_mismatch' }), expect.any(Request));
  });

  it('refuses a string whose declared size is wrong with a 500', async () => {
    const onError = vi.fn();
    const GET = handlerFor(() => ({ name: 'x.txt', size: 3, body: 'abcdef' }), onError);
    const response = await call(GET, {});
    expect(response.status).toBe(500);
    expect(await response.text()).toBe('Internal Server Error\n');
    expect(onError).toHaveBeenCalledOnce();
  });

  it.each([
    ['a function returning a string', () => 'abcdef'],
    ['a Blob', new Blob(['abcdef'])],
    ['a function returning a Blob', () => new Blob(['abcdef'])],
  ])('refuses %s longer than its declared size with a 500, before sending anything', async (_, body) => {
    const onError = vi.fn();
    const response = await call(handlerFor(() => ({ name: 'x.txt', size: 3, body }), onError), {});
    expect(response.status).toBe(500);
    expect(onError).toHaveBeenCalledWith(expect.objectContaining({ code: 'length_mismatch' }), expect.any(Request));
  });

  it('answers 500 when a small stream runs past its declared size (it used to arrive cut short as a whole file)', async () => {
    const onError = vi.fn();
    const GET = handlerFor(() => ({ name: 'x.txt', size: 3, body: () => chunks(['abc', 'def']) }), onError);
    const response = await call(GET, {});
    expect(response.status).toBe(500);
    expect(onError).toHaveBeenCalledWith(expect.objectContaining({ code: 'length_mismatch' }), expect.any(Request));
    // A range that ends before the declared size cannot tell, and needs not.
    expect(await (await call(GET, {}, { headers: { range: 'bytes=0-1' } })).text()).toBe('ab');
  });

  it('reads a stream declared empty to check that it is (it used to send an empty 200 unread)', async () => {
    const onError = vi.fn();
    let produced = 0;
    const GET = handlerFor(() => ({ name: 'x.txt', size: 0, body: () => ((produced += 1), chunks(['abc'])) }), onError);
    const response = await call(GET, {});
    expect(response.status).toBe(500);
    expect(onError).toHaveBeenCalledWith(expect.objectContaining({ code: 'length_mismatch' }), expect.any(Request));
    // HEAD still opens nothing; a stream that is empty as declared is an empty 200.
    expect((await call(GET, {}, { method: 'HEAD' })).headers.get('content-length')).toBe('0');
    expect(produced).toBe(1);
    const empty = handlerFor(() => ({ name: 'x.txt', size: 0, body: () => chunks(['', '']) }));
    const ok = await call(empty, {});
    expect([ok.status, ok.headers.get('content-length'), await ok.text()]).toEqual([200, '0', '']);
  });

  it('fails the transfer when a streamed body runs past its declared size, holding back the last chunk', async () => {
    const onError = vi.fn();
    const chunk = 'x'.repeat(100_000);
    const GET = handlerFor(() => ({ name: 'x.txt', size: 300_000, body: () => chunks([chunk, chunk, chunk, 'y']) }), onError);
    const response = await call(GET, {});
    expect(response.status).toBe(200);
    await expect(response.arrayBuffer()).rejects.toThrow(/runs past its declared 300000 bytes/);
    expect(onError).toHaveBeenCalledOnce();
    // An exact stream still passes the check at its end.
    const exact = handlerFor(() => ({ name: 'x.txt', size: 300_000, body: () => chunks([chunk, chunk, chunk, '']) }));
    expect((await (await call(exact, {})).arrayBuffer()).byteLength).toBe(300_000);
  });

  it.each([
    ['a number', 5],
    ['null', null],
    ['an ArrayBuffer', new ArrayBuffer(3)],
    ['a Uint16Array', new Uint16Array([1, 2])],
  ])('fails on a stream chunk that is %s instead of dropping content silently', async (_, bad) => {
    async function* body(): AsyncGenerator<unknown> {
      yield 'abc';
      yield bad;
      yield 'def';
    }
    const onError = vi.fn();
    const unsized = handlerFor(() => ({ name: 'x.txt', body: () => body() as AsyncIterable<string> }), onError);
    const response = await call(unsized, {});
    await expect(response.text()).rejects.toThrow(/chunks must be Uint8Array or string/);
    expect(onError).toHaveBeenCalledWith(expect.objectContaining({ message: expect.stringMatching(/yielded /) }), expect.any(Request));
    const sized = handlerFor(() => ({ name: 'x.txt', size: 6, body: () => body() as AsyncIterable<string> }), vi.fn());
    expect((await call(sized, {})).status).toBe(500);
  });

  it('answers normally when an iterator\'s return() returns a plain object or throws (both allowed by the protocol)', async () => {
    for (const finish of [() => ({ done: true }), () => { throw new Error('closing failed'); }]) {
      // Off the TypeScript type on purpose: plain JavaScript iterators do this, and for await accepts it.
      const iterable = () => ({ [Symbol.asyncIterator]: () => ({ next: async () => ({ done: true as const, value: undefined }), return: finish }) }) as unknown as AsyncIterable<string>;
      const sized = (method: string, authorize?: () => false) =>
        call(downloadHandler({ source: virtual(() => ({ name: 'x.txt', size: 3, body: iterable() })), authorize }), {}, { method });
      expect((await sized('HEAD')).status).toBe(200);
      expect((await sized('GET', () => false)).status).toBe(403);
    }
  });

  it('ends an eager iterable exactly once on every path, and not at all after next() failed', async () => {
    let returns = 0;
    const iterable = (next: () => Promise<IteratorResult<string>>) => ({
      [Symbol.asyncIterator]: () => ({ next, return: async () => ({ done: true as const, value: undefined, calls: ++returns }) }),
    });
    // A small body whose next() throws: the download fails, and for-await semantics apply.
    const failing = iterable(async () => {
      throw new Error('cursor broke');
    });
    expect((await call(handlerFor(() => ({ name: 'x.txt', size: 3, body: failing }), vi.fn()), {})).status).toBe(500);
    expect(returns).toBe(0);
    // A small body that ends early: reported done, so nothing to end.
    let sent = false;
    const short = iterable(async () => (sent ? { done: true, value: undefined } : ((sent = true), { done: false, value: 'a' })));
    expect((await call(handlerFor(() => ({ name: 'x.txt', size: 3, body: short }), vi.fn()), {})).status).toBe(500);
    expect(returns).toBe(0);
    // Refused: ended once although both the located and the loaded file could release it.
    const endless = iterable(async () => ({ done: false, value: 'a' }));
    expect((await call(downloadHandler({ source: virtual(() => ({ name: 'x.txt', size: 3, body: endless })), authorize: () => 'not-found' }), {})).status).toBe(404);
    await new Promise((resolve) => setImmediate(resolve));
    expect(returns).toBe(1);
  });

  it.each([
    ['read at once (declared size)', 3],
    ['streamed (unknown size)', undefined],
  ])('stops waiting for a stalled producer when the client leaves, %s', async (_, size) => {
    let returns = 0;
    const stalled = { [Symbol.asyncIterator]: () => ({ next: () => new Promise<IteratorResult<string>>(() => {}), return: async () => ({ done: true as const, value: undefined, n: ++returns }) }) };
    const onError = vi.fn();
    const controller = new AbortController();
    setTimeout(() => controller.abort(), 20);
    const pending = call(handlerFor(() => ({ name: 'x.txt', size, body: () => stalled }), onError), {}, { signal: controller.signal });
    const response = await pending;
    // Read at once, the handler used to wait for the producer forever; streamed, the body ends.
    if (size !== undefined) expect(response.status).toBe(500);
    else await expect(response.text()).rejects.toThrow();
    await new Promise((resolve) => setImmediate(resolve));
    expect(returns).toBe(1);
    expect(onError).not.toHaveBeenCalled();
  });

  it('404s when the producer returns null', async () => {
    const GET = downloadHandler({ source: virtual(() => null) });
    expect((await call(GET, {})).status).toBe(404);
  });
});
