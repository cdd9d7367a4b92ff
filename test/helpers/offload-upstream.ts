// A plain Node HTTP server standing in for the app behind a proxy, to test the proxy configs alone.
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';

export interface OffloadUpstream {
  port: number;
  url: string;
  /** Every request received, in order (method, url, headers), to check what the proxy forwarded. */
  requests: Array<Pick<IncomingMessage, 'method' | 'url' | 'headers'>>;
  close(): Promise<void>;
}

/** Starts `handler` on a free 127.0.0.1 port. A thrown error becomes a 500, never a crash. */
export async function startOffloadUpstream(
  handler: (request: IncomingMessage, response: ServerResponse) => void | Promise<void>,
): Promise<OffloadUpstream> {
  const requests: OffloadUpstream['requests'] = [];
  const server = createServer((request, response) => {
    requests.push({ method: request.method, url: request.url, headers: request.headers });
    Promise.resolve()
      .then(() => handler(request, response))
      .catch((error: unknown) => {
        if (!response.headersSent) response.writeHead(500, { 'content-type': 'text/plain' });
        response.end(`upstream handler failed: ${String(error)}`);
      });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  return {
    port,
    url: `http://127.0.0.1:${port}`,
    requests,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
