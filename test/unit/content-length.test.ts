/**
 * registerContentLength() on a plain node:http server: the cases Next never produces but the
 * hook must still get right (headers passed to writeHead, end(chunk) as the first call, someone
 * else's framing headers), checked on the wire.
 */
import { createServer, request, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { registerContentLength } from '../../src/content-length.js';
import { LENGTH_HINT_HEADER, lengthHintState } from '../../src/length-hint.js';

let server: Server;
let port: number;
let handle: (res: ServerResponse) => void = () => {};

beforeAll(async () => {
  registerContentLength();
  server = createServer((req, res) => handle(res));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  port = (server.address() as AddressInfo).port;
});
afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

const hint = (length: number) => `${length};${lengthHintState().token}`;

interface Received {
  status: number;
  headers: IncomingMessage['headers'];
  body: string;
  complete: boolean;
}

function get(method = 'GET'): Promise<Received> {
  return new Promise((resolve) => {
    const req = request({ port, host: '127.0.0.1', method, agent: false }, (res) => {
      let body = '';
      res.setEncoding('latin1');
      res.on('data', (chunk: string) => (body += chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body, complete: res.complete }));
      res.on('error', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body, complete: false }));
      res.on('aborted', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body, complete: false }));
    });
    req.on('error', () => resolve({ status: 0, headers: {}, body: '', complete: false }));
    req.end();
  });
}

describe('registerContentLength', () => {
  it('marks the hook installed so the library starts hinting', () => {
    expect(lengthHintState().installed).toBe(true);
  });

  it('turns a hint given to writeHead (object form) into Content-Length and removes it', async () => {
    handle = (res) => {
      res.writeHead(200, { 'content-type': 'text/plain', [LENGTH_HINT_HEADER]: hint(5) });
      res.end('hello');
    };
    const received = await get();
    expect(received.headers['content-length']).toBe('5');
    expect(received.headers[LENGTH_HINT_HEADER]).toBeUndefined();
    expect(received.headers['transfer-encoding']).toBeUndefined();
    expect(received.body).toBe('hello');
  });

  it('handles the raw array form and a status message', async () => {
    handle = (res) => {
      res.writeHead(206, 'Partial', ['content-type', 'text/plain', LENGTH_HINT_HEADER, hint(3), 'set-cookie', 'a=1', 'set-cookie', 'b=2']);
      res.end('abc');
    };
    const received = await get();
    expect(received.status).toBe(206);
    expect(received.headers['content-length']).toBe('3');
    expect(received.headers['set-cookie']).toEqual(['a=1', 'b=2']);
  });

  it('counts end(chunk) as the first and only write', async () => {
    handle = (res) => {
      res.setHeader(LENGTH_HINT_HEADER, hint(4));
      res.end('four');
    };
    const received = await get();
    expect(received.headers['content-length']).toBe('4');
    expect(received.body).toBe('four');
    expect(received.complete).toBe(true);
  });

  it.each([
    ['transfer-encoding', 'chunked'],
    ['trailer', 'x-checksum'],
    ['content-encoding', 'gzip'],
    ['content-length', '4'],
  ])('adds no length when %s was set by someone else', async (name, value) => {
    handle = (res) => {
      res.setHeader(LENGTH_HINT_HEADER, hint(4));
      res.setHeader(name, value);
      res.end('four');
    };
    const received = await get();
    expect(received.headers[LENGTH_HINT_HEADER]).toBeUndefined();
    if (name === 'content-length') expect(received.headers['content-length']).toBe('4');
    else expect(received.headers['content-length']).toBeUndefined();
  });

  it('reads a hint stored as a one-element array (Next 15 stores every header that way)', async () => {
    // next@15 base-http/node.js appendHeader(): setHeader(name, [...current, value]) even for the first value.
    handle = (res) => {
      res.setHeader(LENGTH_HINT_HEADER, [hint(4)]);
      res.end('four');
    };
    const received = await get();
    expect(received.headers['content-length']).toBe('4');
    expect(received.headers[LENGTH_HINT_HEADER]).toBeUndefined();
    expect(received.body).toBe('four');
  });

  it('trusts no hint given twice, even with the valid token', async () => {
    handle = (res) => {
      res.setHeader(LENGTH_HINT_HEADER, [hint(4), hint(4)]);
      res.end('four');
    };
    const received = await get();
    expect(received.headers['content-length']).toBeUndefined();
    expect(received.headers[LENGTH_HINT_HEADER]).toBeUndefined();
    expect(received.body).toBe('four');
  });

  it('ignores a forged token and any status other than 200/206, but still strips the header', async () => {
    handle = (res) => {
      res.setHeader(LENGTH_HINT_HEADER, '4;forged');
      res.end('four');
    };
    const forged = await get();
    expect(forged.headers['content-length']).toBeUndefined();
    expect(forged.headers[LENGTH_HINT_HEADER]).toBeUndefined();
    handle = (res) => {
      res.statusCode = 500;
      res.setHeader(LENGTH_HINT_HEADER, hint(4));
      res.end('four');
    };
    const failed = await get();
    expect(failed.status).toBe(500);
    expect(failed.headers['content-length']).toBeUndefined();
  });

  it('closes the connection when the body is shorter than declared', async () => {
    handle = (res) => {
      res.setHeader(LENGTH_HINT_HEADER, hint(10));
      res.write('abc');
      res.end();
    };
    const received = await get();
    expect(received.complete).toBe(false);
    expect(received.body.length).toBeLessThan(10);
  });

  it('never lets a longer body look complete', async () => {
    handle = (res) => {
      res.setHeader(LENGTH_HINT_HEADER, hint(3));
      res.write('abc');
      res.end('def');
    };
    const received = await get();
    expect(received.complete).toBe(false);
    expect(received.body).not.toBe('abc');
  });

  it('leaves responses without a hint framed exactly as Node frames them', async () => {
    // Node sizes a lone end(chunk) itself, and chunks once writeHead has fixed the head.
    handle = (res) => {
      res.setHeader('content-type', 'text/plain');
      res.end('plain');
    };
    const sized = await get();
    expect(sized.headers['content-length']).toBe('5');
    expect(sized.body).toBe('plain');
    handle = (res) => {
      res.writeHead(200, { 'content-type': 'text/plain' });
      res.end('plain');
    };
    const chunked = await get();
    expect(chunked.headers['content-length']).toBeUndefined();
    expect(chunked.headers['transfer-encoding']).toBe('chunked');
    expect(chunked.body).toBe('plain');
  });
});
