import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { downloadHandler, filesystem, nginx, signedLinks, virtual, type DownloadEvent, type DownloadHandlerOptions } from '../../src/index.js';
import { bodyOf, call, createMedia, releaseUnread, segments, type Media } from './support.js';

let media: Media;
beforeAll(() => {
  media = createMedia();
});
afterEach(releaseUnread);
afterAll(() => media.cleanup());

/** A handler whose events are collected; `event()` waits for the one event (and that no second follows). */
function traced(options: Partial<DownloadHandlerOptions> = {}) {
  const events: DownloadEvent[] = [];
  const onError = vi.fn();
  const GET = downloadHandler({ source: filesystem({ root: media.root }), onError, onDownload: (event) => void events.push(event), ...options });
  return {
    GET,
    onError,
    async event(): Promise<DownloadEvent> {
      await vi.waitFor(() => expect(events.length).toBeGreaterThan(0));
      await new Promise((resolve) => setTimeout(resolve, 20));
      expect(events).toHaveLength(1);
      return events[0]!;
    },
  };
}

const dataSize = () => media.files['data.bin']!.length;

describe('onDownload outcomes', () => {
  it('completed: a streamed file, once the body ended, with bytes, file and target', async () => {
    const { GET, event } = traced();
    const response = await call(GET, segments('data.bin'));
    await bodyOf(response);
    expect(await event()).toMatchObject({
      outcome: 'completed',
      status: 200,
      bytesSent: dataSize(),
      bodyLength: dataSize(),
      target: { kind: 'filesystem', key: 'data.bin' },
      file: { kind: 'filesystem', name: 'data.bin', size: dataSize(), path: `${media.root}/data.bin` },
      request: expect.any(Request),
    });
    expect((await event()).durationMs).toBeGreaterThan(0);
  });

  it('completed: a small file sent whole, counted when the server took the bytes', async () => {
    const { GET, event } = traced();
    expect(await (await call(GET, segments('hello.txt'))).text()).toBe('Hello, world!\n');
    expect(await event()).toMatchObject({ outcome: 'completed', status: 200, bytesSent: 14 });
  });

  it('completed with the ranges served: single and multipart 206', async () => {
    const single = traced();
    await bodyOf(await call(single.GET, segments('data.bin'), { headers: { range: 'bytes=100-199' } }));
    expect(await single.event()).toMatchObject({ outcome: 'completed', status: 206, bytesSent: 100, ranges: [{ start: 100, end: 199 }] });
    const multi = traced();
    const response = await call(multi.GET, segments('data.bin'), { headers: { range: 'bytes=-10,0-9' } });
    const body = await bodyOf(response);
    const event = await multi.event();
    expect(event).toMatchObject({ outcome: 'completed', status: 206, ranges: [{ start: 0, end: 9 }, { start: dataSize() - 10, end: dataSize() - 1 }] });
    expect(event.bytesSent).toBe(body.length);
    expect(event.bodyLength).toBe(body.length);
  });

  it('aborted: the consumer cancelled mid-body; bytes handed over so far', async () => {
    const { GET, event } = traced();
    const response = await call(GET, segments('data.bin'));
    const reader = response.body!.getReader();
    const first = await reader.read();
    await reader.cancel();
    const seen = await event();
    expect(seen).toMatchObject({ outcome: 'aborted', status: 200 });
    expect(seen.bytesSent).toBe(first.value!.byteLength);
    expect(seen.bytesSent).toBeLessThan(dataSize());
  });

  it('aborted: the client went away (request signal) while the body was being read', async () => {
    const { GET, event, onError } = traced();
    const controller = new AbortController();
    const response = await call(GET, segments('data.bin'), { signal: controller.signal });
    const reader = response.body!.getReader();
    await reader.read();
    controller.abort();
    await reader.read().catch(() => undefined);
    expect(await event()).toMatchObject({ outcome: 'aborted' });
    expect(onError).not.toHaveBeenCalled();
  });

  it('failed: a source that ends before the length it declared', async () => {
    const onError = vi.fn();
    const events: DownloadEvent[] = [];
    async function* short() {
      yield new Uint8Array(300 * 1024);
    }
    const GET = downloadHandler({ source: virtual(() => ({ name: 'short.bin', size: 600 * 1024, body: () => short() })), onError, onDownload: (event) => void events.push(event) });
    const response = await call(GET, {});
    await expect(bodyOf(response)).rejects.toThrow();
    await vi.waitFor(() => expect(events).toHaveLength(1));
    expect(events[0]).toMatchObject({ outcome: 'failed', status: 200, bytesSent: 300 * 1024, error: expect.objectContaining({ code: 'length_mismatch' }) });
    expect(onError).toHaveBeenCalledOnce();
  });

  it('head, not-modified, precondition-failed, range-not-satisfiable', async () => {
    const head = traced();
    await call(head.GET, segments('hello.txt'), { method: 'HEAD' });
    expect(await head.event()).toMatchObject({ outcome: 'head', status: 200, bytesSent: 0, bodyLength: 14 });
    const etag = (await call(traced().GET, segments('hello.txt'), { method: 'HEAD' })).headers.get('etag')!;
    for (const [headers, outcome, status] of [
      [{ 'if-none-match': etag }, 'not-modified', 304],
      [{ 'if-match': '"other"' }, 'precondition-failed', 412],
      [{ range: 'bytes=999999-' }, 'range-not-satisfiable', 416],
    ] as const) {
      const { GET, event } = traced();
      await call(GET, segments('hello.txt'), { headers });
      expect(await event()).toMatchObject({ outcome, status, bytesSent: 0, file: { name: 'hello.txt' } });
    }
  });

  it('refused, with the reason: verdicts, a Response, and signed links', async () => {
    for (const [verdict, reason, status] of [
      [false, 'forbidden', 403],
      ['unauthenticated', 'unauthenticated', 401],
      ['not-found', 'not-found', 404],
      [{ refuse: 'forbidden', reason: 'quota exceeded' }, 'quota exceeded', 403],
      [Response.redirect('http://localhost/login'), 'response', 302],
    ] as const) {
      const { GET, event } = traced({ authorize: () => verdict });
      await call(GET, segments('hello.txt'));
      const seen = await event();
      expect(seen).toMatchObject({ outcome: 'refused', reason, status, target: { key: 'hello.txt' } });
      expect(seen.file).toBeUndefined();
    }
    const links = signedLinks({ secret: 'kQ3v9ZfL0pX7rT2mW8yB4nH6sJ1cD5gA' });
    const { GET, event } = traced({ authorize: links.authorize() });
    const expired = await links.sign('/files/hello.txt', { expires: new Date(Date.now() - 3_600_000) });
    await GET(new Request(`http://localhost${expired}`), { params: Promise.resolve(segments('hello.txt')) });
    expect(await event()).toMatchObject({ outcome: 'refused', reason: 'signed-link:expired', status: 410 });
  });

  it('not-found: a missing file, and a key the source refuses (no target)', async () => {
    const missing = traced();
    await call(missing.GET, segments('nope.txt'));
    expect(await missing.event()).toMatchObject({ outcome: 'not-found', status: 404, target: { key: 'nope.txt' } });
    const traversal = traced();
    await call(traversal.GET, { path: ['..', 'etc', 'passwd'] });
    const seen = await traversal.event();
    expect(seen).toMatchObject({ outcome: 'not-found', status: 404 });
    expect(seen.target).toBeUndefined();
  });

  it('offloaded: the hand-off to the proxy, not the bytes', async () => {
    const { GET, event } = traced({ backend: nginx({ rules: { [media.root]: '/_protected/media' } }) });
    await call(GET, segments('odd names/ré sumé 名前 ?#%.txt'));
    expect(await event()).toMatchObject({
      outcome: 'offloaded',
      status: 200,
      bytesSent: 0,
      offload: { backend: 'nginx', location: '/_protected/media/odd%20names/r%C3%A9%20sum%C3%A9%20%E5%90%8D%E5%89%8D%20%3F%23%25.txt' },
      file: { size: 4 },
    });
  });

  it('error: a 500, with the error that went to onError', async () => {
    const failure = new Error('database down');
    const { GET, event, onError } = traced({ authorize: () => { throw failure; } });
    expect((await call(GET, segments('hello.txt'))).status).toBe(500);
    expect(await event()).toMatchObject({ outcome: 'error', status: 500, error: failure });
    expect(onError).toHaveBeenCalledWith(failure, expect.any(Request));
  });
});

describe('onDownload never delays or breaks the response', () => {
  it('runs after the handler answered', async () => {
    const order: string[] = [];
    const GET = downloadHandler({ source: filesystem({ root: media.root }), onDownload: () => void order.push('hook') });
    await call(GET, segments('nope.txt'));
    order.push('answered');
    await vi.waitFor(() => expect(order).toEqual(['answered', 'hook']));
  });

  it('sends a throwing or rejecting hook to onError; the download is unaffected', async () => {
    const thrown = new Error('hook threw');
    for (const onDownload of [() => { throw thrown; }, () => Promise.reject(thrown)]) {
      const onError = vi.fn();
      const GET = downloadHandler({ source: filesystem({ root: media.root }), onError, onDownload });
      expect(await (await call(GET, segments('hello.txt'))).text()).toBe('Hello, world!\n');
      await vi.waitFor(() => expect(onError).toHaveBeenCalledWith(thrown, expect.any(Request)));
    }
  });

  it('does not wait for an async hook', async () => {
    const GET = downloadHandler({ source: filesystem({ root: media.root }), onDownload: () => new Promise(() => {}) });
    expect(await (await call(GET, segments('hello.txt'))).text()).toBe('Hello, world!\n');
  });

  it('is checked at factory time', () => {
    expect(() => downloadHandler({ source: filesystem({ root: media.root }), onDownload: 'log' as never })).toThrow(/onDownload/);
  });
});
