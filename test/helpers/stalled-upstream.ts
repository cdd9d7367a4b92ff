/**
 * A real HTTP upstream on 127.0.0.1 that stalls: it sends its headers (and, unless told otherwise,
 * the first bytes of a body) and then nothing more, keeping the connection open. It records when
 * each connection closes, so a test can prove that a download that was left cancels its upstream.
 */
import { createServer, type Server } from 'node:http';
import type { Socket } from 'node:net';

export interface StalledUpstream {
  url: string;
  /** Connections accepted so far. */
  readonly connections: number;
  /** Connections that carried a request and have closed since (by either side). */
  readonly closed: number;
  /** Resolves when `count` connections that carried a request have closed; rejects after `timeoutMs`. */
  waitForClosed(count: number, timeoutMs: number): Promise<void>;
  stop(): Promise<void>;
}

export interface StalledUpstreamOptions {
  /** Bytes of body sent before stalling; `undefined`: no response at all (headers never sent). */
  firstBytes?: number;
  /** Content-Length announced (the body never reaches it). */
  announced?: number;
}

export async function startStalledUpstream(options: StalledUpstreamOptions = {}): Promise<StalledUpstream> {
  const sockets = new Set<Socket>();
  let connections = 0;
  let closed = 0;
  const waiters = new Set<() => void>();
  const served = new WeakSet<Socket>();
  const server: Server = createServer((request, response) => {
    served.add(request.socket);
    if (options.firstBytes === undefined) return; // never answers
    response.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': String(options.announced ?? 10 * 1024 * 1024) });
    response.write(Buffer.alloc(options.firstBytes, 's'));
    // ...and nothing more: the connection stays open until the client closes it.
  });
  server.on('connection', (socket: Socket) => {
    connections += 1;
    sockets.add(socket);
    socket.once('close', () => {
      // Idle connections a client opens ahead (undici does) carry nothing: only served ones count.
      if (served.has(socket)) closed += 1;
      sockets.delete(socket);
      for (const wake of waiters) wake();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('no port');
  return {
    url: `http://127.0.0.1:${address.port}/stalled`,
    get connections() {
      return connections;
    },
    get closed() {
      return closed;
    },
    waitForClosed(count, timeoutMs) {
      return new Promise((resolve, reject) => {
        const check = () => {
          if (closed < count) return;
          clearTimeout(timer);
          waiters.delete(check);
          resolve();
        };
        const timer = setTimeout(() => {
          waiters.delete(check);
          reject(new Error(`${closed} of ${count} upstream connections closed within ${timeoutMs} ms (${connections} accepted)`));
        }, timeoutMs);
        waiters.add(check);
        check();
      });
    },
    async stop() {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
