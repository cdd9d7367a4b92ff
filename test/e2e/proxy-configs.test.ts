// The shipped example-app/deploy configs, run by the real proxies in front of a plain Node upstream
// that answers with the offload header each one expects.
import { randomBytes } from 'node:crypto';
import { chmod, mkdir, mkdtemp, rm, stat, writeFile } from 'node:fs/promises';
import { request as httpRequest, type IncomingHttpHeaders } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { offloadHeadersIn } from '../helpers/hygiene.js';
import { startOffloadUpstream, type OffloadUpstream } from '../helpers/offload-upstream.js';
import { describeEachProxy, describeWith } from '../helpers/suites.js';
import { PROXY_KINDS, renderTemplate, startProxy, type ProxyKind, type RunningProxy } from '../helpers/proxies.js';

const APP_HEADERS = {
  'content-type': 'application/x-ndv-test', // a type no proxy would guess from a file extension
  'content-disposition': 'attachment; filename="download.bin"',
  'cache-control': 'private',
  'x-content-type-options': 'nosniff',
};
const BIG = 'plain.bin';
// `a b` and `a%20b` both exist so that decoding twice (or not at all) serves the wrong file.
const NAMES = [
  BIG,
  'a b.bin',
  'a%20b.bin',
  '100%.bin',
  'q?x=1.bin',
  'hash#frag.bin',
  'café.bin',
  '名前.bin',
  '😀 emoji.bin',
  'dollar$1.bin',
  'sub dir/nested.bin',
];

/** Percent-encoded UTF-8, `/` kept: the form nginx, lighttpd and Caddy decode once. */
const encodePath = (path: string) => path.split('/').map(encodeURIComponent).join('/');

/** The offload header value each proxy expects for a file (absolute path) below the media root. */
function offloadHeader(kind: ProxyKind, mediaRoot: string, absolute: string): [string, string] {
  switch (kind) {
    case 'nginx':
      return ['X-Accel-Redirect', `/_protected/media/${encodePath(absolute.slice(mediaRoot.length + 1))}`];
    case 'apache':
      // mod_xsendfile 0.12 does not decode: raw UTF-8 bytes, written by Node as a Latin-1 string.
      return ['X-Sendfile', Buffer.from(absolute, 'utf8').toString('latin1')];
    case 'lighttpd':
      return ['X-Sendfile', encodePath(absolute)];
    case 'caddy':
      return ['X-Accel-Redirect', encodePath(absolute)];
  }
}

interface Reply {
  status: number;
  headers: IncomingHttpHeaders;
  body: Buffer;
}

/** A raw client: no normalisation of the URL, no decompression, no connection reuse. */
function request(url: string, headers: Record<string, string> = {}, method = 'GET'): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(url, { method, headers, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, body: Buffer.concat(chunks) }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end();
  });
}

/** Splits a multipart/byteranges body (RFC 9110 §14.6) into each part's Content-Range and bytes. */
function parseByteranges(body: Buffer, contentType: string): Array<{ range: string; bytes: Buffer }> {
  const boundary = /boundary="?([^";]+)"?/.exec(contentType)?.[1];
  if (!boundary) throw new Error(`no boundary in ${contentType}`);
  const delimiter = Buffer.from(`--${boundary}`);
  const parts: Array<{ range: string; bytes: Buffer }> = [];
  let at = body.indexOf(delimiter);
  while (at !== -1) {
    const headersStart = at + delimiter.length;
    if (body.subarray(headersStart, headersStart + 2).toString() === '--') break;
    const headersEnd = body.indexOf('\r\n\r\n', headersStart);
    const next = body.indexOf(Buffer.from(`\r\n--${boundary}`), headersEnd);
    if (headersEnd === -1 || next === -1) throw new Error('truncated multipart body');
    const range = /content-range:\s*([^\r\n]+)/i.exec(body.subarray(headersStart, headersEnd).toString())?.[1] ?? '';
    parts.push({ range, bytes: body.subarray(headersEnd + 4, next) });
    at = next + 2;
  }
  return parts;
}

let base: string;
let mediaRoot: string;
const contents = new Map<string, Buffer>();
const secret = randomBytes(64);

beforeAll(async () => {
  // The media root has a space in it so that every config's quoting is exercised.
  base = await mkdtemp(join(tmpdir(), 'ndv-proxy-configs-'));
  mediaRoot = join(base, 'media root');
  await mkdir(join(mediaRoot, 'sub dir'), { recursive: true });
  await mkdir(`${mediaRoot}-sibling`);
  // Proxies run as `nobody` when the tests run as root: everything must be world-readable.
  for (const dir of [base, mediaRoot, join(mediaRoot, 'sub dir'), `${mediaRoot}-sibling`]) await chmod(dir, 0o755);
  for (const name of NAMES) {
    const bytes = randomBytes(name === BIG ? 1024 * 1024 + 7 : 1000 + contents.size);
    contents.set(name, bytes);
    await writeFile(join(mediaRoot, name), bytes, { mode: 0o644 });
  }
  await writeFile(join(base, 'secret.bin'), secret, { mode: 0o644 });
  await writeFile(join(`${mediaRoot}-sibling`, 'secret.bin'), secret, { mode: 0o644 });
});

afterAll(async () => {
  if (base) await rm(base, { recursive: true, force: true });
});

// What differs between the proxies, as observed; everything else is asserted for all four.
const EXPECTED: Record<ProxyKind, { dotDotInsideRoot: number; contentRangeOn416: boolean }> = {
  nginx: { dotDotInsideRoot: 404, contentRangeOn416: true },
  apache: { dotDotInsideRoot: 200, contentRangeOn416: false },
  lighttpd: { dotDotInsideRoot: 200, contentRangeOn416: false },
  caddy: { dotDotInsideRoot: 404, contentRangeOn416: true },
};

describeEachProxy(PROXY_KINDS)('%s config', (kind) => {
  let upstream: OffloadUpstream;
  let proxy: RunningProxy;

  // GET /download?file=<name below the media root> offloads that file the way `kind` expects;
  // ?raw=<base64url of a Latin-1 string> sends that exact header value instead (for traversal cases);
  // ?status=N changes the status; ?validators=0 leaves out ETag and Last-Modified.
  beforeAll(async () => {
    upstream = await startOffloadUpstream(async (req, res) => {
      const query = new URL(req.url!, 'http://upstream').searchParams;
      const file = query.get('file');
      const raw = query.get('raw');
      let header: [string, string];
      if (file !== null) {
        const absolute = join(mediaRoot, file);
        header = offloadHeader(kind, mediaRoot, absolute);
        if (query.get('validators') !== '0') {
          const info = await stat(absolute);
          res.setHeader('ETag', `"app-${info.size.toString(16)}-${Math.floor(info.mtimeMs).toString(16)}"`);
          res.setHeader('Last-Modified', info.mtime.toUTCString());
        }
      } else if (raw !== null) {
        header = [offloadHeader(kind, '', '/x')[0], Buffer.from(raw, 'base64url').toString('latin1')];
      } else {
        res.writeHead(404, { 'content-type': 'text/plain' }).end('upstream: not an offload request');
        return;
      }
      res.writeHead(Number(query.get('status') ?? 200), { ...APP_HEADERS, [header[0]]: header[1] });
      res.end();
    });
    proxy = await startProxy(kind, { upstreamPort: upstream.port, mediaRoot });
  });

  afterAll(async () => {
    await proxy?.stop();
    await upstream?.close();
  });

  const download = (file: string, headers: Record<string, string> = {}, method = 'GET') =>
    request(`${proxy.url}/download?file=${encodeURIComponent(file)}`, headers, method);
  const offloadRaw = (value: string) =>
    request(`${proxy.url}/download?raw=${Buffer.from(value, 'latin1').toString('base64url')}`);

  describe('serving the offloaded file', () => {
    it.each(NAMES)('%s: exact bytes, Content-Length, the app headers, no offload header', async (name) => {
      const res = await download(name);
      expect(res.status).toBe(200);
      expect(res.body.equals(contents.get(name)!)).toBe(true);
      expect(res.headers['content-length']).toBe(String(contents.get(name)!.length));
      expect(res.headers['transfer-encoding']).toBeUndefined();
      for (const [header, value] of Object.entries(APP_HEADERS)) expect(res.headers[header]).toBe(value);
      expect(offloadHeadersIn(res.headers)).toEqual([]);
    });

    it('HEAD: headers and size without a body', async () => {
      const res = await download(BIG, {}, 'HEAD');
      expect(res.status).toBe(200);
      expect(res.headers['content-length']).toBe(String(contents.get(BIG)!.length));
      expect(res.body.length).toBe(0);
      expect(offloadHeadersIn(res.headers)).toEqual([]);
    });

    it('never passes the offload header on, even when the app offloads with a non-200 status', async () => {
      const res = await request(`${proxy.url}/download?file=${encodeURIComponent(BIG)}&status=404`);
      expect(offloadHeadersIn(res.headers)).toEqual([]);
      expect(res.body.toString('latin1')).not.toContain(mediaRoot);
    });
  });

  describe('forwarding to the app', () => {
    // The app's route params come from this target: a proxy that decodes %2F or re-encodes bytes
    // would make the app look up another file.
    it.each(['/files/a%2Fb%20c%3F%23%25.bin?x=%2F&y=a+b', '/files/caf%C3%A9/%E5%90%8D%F0%9F%98%80.bin'])(
      'passes %s on unchanged',
      async (target) => {
        await request(`${proxy.url}${target}`);
        expect(upstream.requests.at(-1)?.url).toBe(target);
      },
    );
  });

  describe('Range and conditional requests, answered by the proxy', () => {
    const size = () => contents.get(BIG)!.length;

    it('a single range is a 206 with Content-Range and the exact slice', async () => {
      const res = await download(BIG, { range: 'bytes=100-199' });
      expect(res.status).toBe(206);
      expect(res.headers['content-range']).toBe(`bytes 100-199/${size()}`);
      expect(res.headers['content-length']).toBe('100');
      expect(res.body.equals(contents.get(BIG)!.subarray(100, 200))).toBe(true);
    });

    it('a suffix range is the last bytes', async () => {
      const res = await download(BIG, { range: 'bytes=-10' });
      expect(res.status).toBe(206);
      expect(res.headers['content-range']).toBe(`bytes ${size() - 10}-${size() - 1}/${size()}`);
      expect(res.body.equals(contents.get(BIG)!.subarray(size() - 10))).toBe(true);
    });

    it('several ranges are a multipart/byteranges 206', async () => {
      const res = await download(BIG, { range: 'bytes=0-9,5000-5019' });
      expect(res.status).toBe(206);
      expect(res.headers['content-type']).toMatch(/^multipart\/byteranges; boundary=/);
      const parts = parseByteranges(res.body, res.headers['content-type']!);
      expect(parts.map((part) => part.range)).toEqual([`bytes 0-9/${size()}`, `bytes 5000-5019/${size()}`]);
      expect(parts[0]!.bytes.equals(contents.get(BIG)!.subarray(0, 10))).toBe(true);
      expect(parts[1]!.bytes.equals(contents.get(BIG)!.subarray(5000, 5020))).toBe(true);
    });

    it('an unsatisfiable range is a 416 without the file', async () => {
      const res = await download(BIG, { range: `bytes=${size()}-` });
      expect(res.status).toBe(416);
      expect(res.headers['content-range']).toBe(EXPECTED[kind].contentRangeOn416 ? `bytes */${size()}` : undefined);
      expect(res.body.includes(contents.get(BIG)!.subarray(0, 32))).toBe(false);
    });

    it('If-None-Match with the ETag the proxy sent is a 304; another ETag is a 200', async () => {
      const first = await download(BIG);
      const etag = first.headers.etag;
      expect(etag).toMatch(/^(W\/)?"[^"]+"$/);
      const notModified = await download(BIG, { 'if-none-match': etag! });
      expect(notModified.status).toBe(304);
      expect(notModified.body.length).toBe(0);
      const changed = await download(BIG, { 'if-none-match': '"something-else"' });
      expect(changed.status).toBe(200);
      expect(changed.body.equals(contents.get(BIG)!)).toBe(true);
    });
  });

  describe('refusing paths outside the media root', () => {
    // Header values that try to leave the media root, in each proxy's own encoding.
    const escapes = (): Record<string, string> => {
      const root = encodePath(mediaRoot);
      switch (kind) {
        case 'nginx':
          return {
            'dot-dot': '/_protected/media/../secret.bin',
            'encoded dot-dot': '/_protected/media/%2e%2e/secret.bin',
            'encoded slashes': '/_protected/media/sub%20dir%2F..%2F..%2Fsecret.bin',
          };
        case 'apache': {
          const bytes = (path: string) => Buffer.from(path, 'utf8').toString('latin1');
          return {
            'dot-dot': bytes(`${mediaRoot}/../secret.bin`),
            'encoded dot-dot (not decoded by 0.12, so a missing file)': bytes(`${mediaRoot}/%2e%2e/secret.bin`),
            'sibling directory sharing the prefix': bytes(`${mediaRoot}-sibling/secret.bin`),
            'absolute path outside': bytes(join(base, 'secret.bin')),
          };
        }
        case 'lighttpd':
        case 'caddy':
          return {
            'dot-dot': `${root}/../secret.bin`,
            'encoded dot-dot': `${root}/%2e%2e/secret.bin`,
            'encoded slashes': `${root}/sub%20dir%2F..%2F..%2Fsecret.bin`,
            'sibling directory sharing the prefix': `${encodePath(`${mediaRoot}-sibling`)}/secret.bin`,
            'absolute path outside': encodePath(join(base, 'secret.bin')),
          };
      }
    };

    it('every escape is a 403/404 without the secret', async () => {
      const cases = Object.entries(escapes());
      expect(cases.length).toBeGreaterThanOrEqual(3);
      for (const [label, value] of cases) {
        const res = await offloadRaw(value);
        expect([403, 404], `${label}: ${value}`).toContain(res.status);
        expect(res.body.includes(secret), label).toBe(false);
      }
    });

    it(`a dot-dot that stays inside the root: ${EXPECTED[kind].dotDotInsideRoot}`, async () => {
      const inside = `${mediaRoot}/sub dir/../${BIG}`;
      const value =
        kind === 'nginx'
          ? `/_protected/media/${encodePath(`sub dir/../${BIG}`)}`
          : kind === 'apache'
            ? Buffer.from(inside, 'utf8').toString('latin1')
            : encodePath(inside);
      const res = await offloadRaw(value);
      expect(res.status).toBe(EXPECTED[kind].dotDotInsideRoot);
      if (res.status === 200) expect(res.body.equals(contents.get(BIG)!)).toBe(true);
    });

    it('a directory is not served', async () => {
      const value = offloadHeader(kind, mediaRoot, join(mediaRoot, 'sub dir'))[1];
      const res = await offloadRaw(value);
      expect(res.status).toBeGreaterThanOrEqual(300);
      expect(res.body.includes(contents.get('sub dir/nested.bin')!)).toBe(false);
    });

    if (kind === 'nginx') {
      it('a direct request to the internal location is a 404', async () => {
        for (const path of [`/_protected/media/${BIG}`, '/_protected/media/', '/_protected/remote/']) {
          const res = await request(`${proxy.url}${path}`);
          expect(res.status, path).toBe(404);
          expect(res.body.includes(contents.get(BIG)!.subarray(0, 32))).toBe(false);
        }
        // The internal location never reached the app either.
        expect(upstream.requests.some((r) => r.url?.startsWith('/_protected/'))).toBe(false);
      });
    }
  });

  if (kind === 'apache') {
    it('Apache tags every offloaded file with ETag "0" unless the app sends one (so the app must)', async () => {
      const a = await request(`${proxy.url}/download?file=${encodeURIComponent(BIG)}&validators=0`);
      const b = await request(`${proxy.url}/download?file=${encodeURIComponent('a b.bin')}&validators=0`);
      expect(a.status).toBe(200);
      expect([a.headers.etag, b.headers.etag]).toEqual(['"0"', '"0"']);
      const withAppEtag = await download(BIG);
      expect(withAppEtag.headers.etag).toMatch(/^"app-/);
    });
  }
});

describeWith(['nginx'])('nginx config: remote-source location', () => {
  let storage: OffloadUpstream;
  let app: OffloadUpstream;
  let proxy: RunningProxy;
  let emptyRoot: string;
  const blob = randomBytes(3000);
  const remotePath = '/bucket/key%20name.bin?sig=a%2Fb%3D&x=1';

  beforeAll(async () => {
    storage = await startOffloadUpstream((_req, res) => {
      res.writeHead(200, {
        'content-type': 'text/plain',
        'content-disposition': 'inline',
        'cache-control': 'public, max-age=999',
        'set-cookie': 'storage=1',
        'content-length': String(blob.length),
      });
      res.end(blob);
    });
    app = await startOffloadUpstream((_req, res) => {
      res.writeHead(200, {
        ...APP_HEADERS,
        'x-accel-redirect': '/_protected/remote/',
        'x-accel-remote-url': `${storage.url}${remotePath}`,
      });
      res.end();
    });
    emptyRoot = await mkdtemp(join(tmpdir(), 'ndv-remote-root-'));
    await chmod(emptyRoot, 0o755);
    proxy = await startProxy('nginx', { upstreamPort: app.port, mediaRoot: emptyRoot });
  });

  afterAll(async () => {
    await proxy?.stop();
    await app?.close();
    await storage?.close();
    if (emptyRoot) await rm(emptyRoot, { recursive: true, force: true });
  });

  it('proxies the URL from X-Accel-Remote-Url without credentials, keeping the app headers', async () => {
    const res = await request(`${proxy.url}/files/remote`, {
      cookie: 'session=secret',
      authorization: 'Bearer secret',
    });
    expect(res.status).toBe(200);
    expect(res.body.equals(blob)).toBe(true);
    for (const [header, value] of Object.entries(APP_HEADERS)) expect(res.headers[header]).toBe(value);
    expect(res.headers['set-cookie']).toBeUndefined();
    expect(offloadHeadersIn(res.headers)).toEqual([]);

    expect(app.requests.at(-1)?.headers.cookie).toBe('session=secret');
    const toStorage = storage.requests.at(-1)!;
    expect(toStorage.url).toBe(remotePath);
    expect(toStorage.headers.cookie).toBeUndefined();
    expect(toStorage.headers.authorization).toBeUndefined();
  });
});

describe('renderTemplate', () => {
  it('replaces every placeholder, leaving single-brace Caddy placeholders alone', () => {
    expect(renderTemplate('listen {{PORT}}; {rp.header.X} {{PORT}}', { PORT: '8080' })).toBe(
      'listen 8080; {rp.header.X} 8080',
    );
  });

  it('throws on a placeholder without a value, naming it', () => {
    expect(() => renderTemplate('root {{MEDIA_ROOT}} {{RUNTIME_DIR}}', { MEDIA_ROOT: '/srv' })).toThrow(
      /RUNTIME_DIR/,
    );
  });
});
