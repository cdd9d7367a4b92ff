/**
 * A virtual body from a real upstream that stalls (issue 14, item 6): once the client leaves, the
 * upstream must see its connection closed within seconds, whichever way the body was being read.
 */
import { afterEach, describe, expect, it, onTestFinished, vi } from 'vitest';
import { downloadHandler, virtual, type VirtualFileSpec } from '../../src/index.js';
import { startStalledUpstream, type StalledUpstream } from '../helpers/stalled-upstream.js';
import { releaseUnread } from './support.js';

afterEach(releaseUnread);

const CLOSE_WITHIN_MS = 5000;

async function upstream(options: Parameters<typeof startStalledUpstream>[0]): Promise<StalledUpstream> {
  const server = await startStalledUpstream(options);
  onTestFinished(() => server.stop());
  return server;
}

/** A handler serving one virtual file, and a way to call it as a client that will leave. */
function handlerFor(spec: () => VirtualFileSpec) {
  const onError = vi.fn();
  const GET = downloadHandler({ source: virtual(() => spec()), onError });
  const controller = new AbortController();
  const call = () => GET(new Request('http://localhost/v', { signal: controller.signal }), { params: Promise.resolve({}) });
  return { call, leave: () => controller.abort(), onError };
}

describe('a stalled virtual stream after the client leaves', () => {
  it('streamed (declared 10 MiB): the response is cancelled as Next does, the upstream connection closes', async () => {
    const server = await upstream({ firstBytes: 64 * 1024 });
    const { call, leave, onError } = handlerFor(() => ({ name: 'big.bin', size: 10 * 1024 * 1024, body: async () => (await fetch(server.url)).body! }));
    const response = await call();
    expect(response.status).toBe(200);
    const reader = response.body!.getReader();
    // Read what the upstream sent until a read waits on it (stalled), then the client goes away.
    let received = 0;
    let pending: Promise<unknown>;
    for (;;) {
      const read = reader.read();
      const next = await Promise.race([read, new Promise((resolve) => setTimeout(() => resolve('stalled'), 300))]);
      if (next === 'stalled') {
        pending = read.catch(() => undefined);
        break;
      }
      received += (next as ReadableStreamReadResult<Uint8Array>).value?.byteLength ?? 0;
    }
    expect(received).toBe(64 * 1024);
    leave();
    await reader.cancel();
    await pending;
    await server.waitForClosed(1, CLOSE_WITHIN_MS);
    expect(onError).not.toHaveBeenCalled();
  });

  it('read at once (declared 1000 bytes, 500 arrive): the request ends and the upstream connection closes', async () => {
    const server = await upstream({ firstBytes: 500, announced: 1000 });
    const { call, leave, onError } = handlerFor(() => ({ name: 'small.bin', size: 1000, body: async () => (await fetch(server.url)).body! }));
    const answered = call();
    await vi.waitFor(() => expect(server.connections).toBeGreaterThan(0));
    await new Promise((resolve) => setTimeout(resolve, 100));
    leave();
    expect((await answered).status).toBe(500);
    await server.waitForClosed(1, CLOSE_WITHIN_MS);
    expect(onError).not.toHaveBeenCalled();
  });

  it('a body() whose promise never settles does not hold the request once the client left', async () => {
    const { call, leave, onError } = handlerFor(() => ({ name: 'never.bin', body: () => new Promise<never>(() => {}) }));
    const answered = call();
    setTimeout(leave, 100);
    const settled = await Promise.race([answered.then(() => 'answered'), new Promise((resolve) => setTimeout(() => resolve('still waiting'), 3000))]);
    expect(settled).toBe('answered');
    expect(onError).not.toHaveBeenCalled();
  });

  it('a stream a body() delivers after the client left is cancelled, closing its upstream connection', async () => {
    const server = await upstream({ firstBytes: 64 * 1024 });
    let leftAt: Promise<void> | undefined;
    const { call, leave } = handlerFor(() => ({
      name: 'late.bin',
      body: async () => {
        await leftAt;
        await new Promise((resolve) => setTimeout(resolve, 50));
        return (await fetch(server.url)).body!;
      },
    }));
    leftAt = new Promise((resolve) => setTimeout(() => {
      leave();
      resolve();
    }, 100));
    expect((await call()).status).toBe(500);
    await vi.waitFor(() => expect(server.connections).toBeGreaterThan(0), { timeout: CLOSE_WITHIN_MS });
    await server.waitForClosed(1, CLOSE_WITHIN_MS);
  }, 15_000);
});
