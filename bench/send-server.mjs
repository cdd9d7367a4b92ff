// A plain Node `http` server handing every request to the `send` package: Node's own floor for
// static files (no framework). Usage: node bench/send-server.mjs PORT ROOT
import { createServer } from 'node:http';
import send from 'send';

const [port, root] = process.argv.slice(2);
if (!port || !root) throw new Error('usage: send-server.mjs PORT ROOT');

const server = createServer((request, response) => {
  const pathname = decodeURIComponent(new URL(request.url ?? '/', 'http://localhost').pathname);
  send(request, pathname, { root })
    .on('error', (error) => {
      response.statusCode = error.status ?? 500;
      response.end();
    })
    .pipe(response);
});
server.listen(Number(port), '127.0.0.1');
process.on('SIGTERM', () => process.exit(0));
