/**
 * `assertDownload()` and `assertOffload()`: what a download response must look like, checked in one
 * go. They throw node:assert's `AssertionError` listing every difference, so any runner reports
 * them (vitest, jest, node:test, mocha).
 */
import { AssertionError } from 'node:assert';
import { createHash } from 'node:crypto';
import type { BackendName } from '../proxies/backend.js';
import { parseContentDisposition } from './disposition.js';

export interface ExpectedDownload {
  /** @default 200 */
  status?: number;
  /** The download name as the user will see it, decoded from `filename*` (or `filename`). */
  filename?: string;
  /** `attachment` (save dialog) or `inline` (shown in the browser). */
  disposition?: 'attachment' | 'inline';
  /** The media type, compared without parameters unless you give some (`text/plain; charset=utf-8`). */
  contentType?: string;
  /** The exact body (a string is compared as its UTF-8 bytes). */
  body?: string | Uint8Array;
  /** The body's SHA-256, hex. */
  sha256?: string;
  /** The body's length in bytes. */
  size?: number;
  /** Exact header values; `null` means the header must be absent. */
  headers?: Readonly<Record<string, string | null>>;
}

/** nginx's `X-Accel-*` options, as `nginx({ ... })` takes them. */
export interface ExpectedAccel {
  limitRate?: number;
  buffering?: boolean;
  charset?: string;
  expires?: number | string;
}

export interface ExpectedOffload {
  /** Which proxy the response is for: picks the header and how its value is encoded. */
  /** The proxy backend; `redirect()` answers with a redirect, not an offload header. */
  backend: Exclude<BackendName, 'none' | 'redirect'>;
  /**
   * Where the proxy is sent, decoded: the internal location for nginx (`/_protected/media/Bericht
   * für März.txt`), the absolute path for Apache, lighttpd and Caddy.
   */
  location: string;
  /** mod_xsendfile's header encoding, as `apache({ encoding })`. @default 'raw' */
  apacheEncoding?: 'raw' | 'percent';
  filename?: string;
  disposition?: 'attachment' | 'inline';
  contentType?: string;
  /** nginx only: each given option must be sent exactly so. */
  accel?: ExpectedAccel;
  headers?: Readonly<Record<string, string | null>>;
}

const offloadHeaders: Record<ExpectedOffload['backend'], string> = {
  nginx: 'x-accel-redirect',
  caddy: 'x-accel-redirect',
  apache: 'x-sendfile',
  lighttpd: 'x-sendfile',
};

/** A difference found: what, and both sides as they are shown. */
interface Difference {
  field: string;
  expected: unknown;
  actual: unknown;
  note?: string;
}

/**
 * Check a streamed download and return its body (read once, here).
 * @example
 * const body = await assertDownload(await GET(request, context), { filename: 'Bericht für März.txt', disposition: 'attachment', contentType: 'text/plain', body: 'Grüße\n' });
 */
export async function assertDownload(response: Response, expected: ExpectedDownload = {}): Promise<Buffer> {
  checkResponse(response, 'assertDownload');
  const body = Buffer.from(await response.arrayBuffer());
  const differences: Difference[] = [];
  const status = expected.status ?? 200;
  if (response.status !== status) differences.push({ field: 'status', expected: status, actual: response.status, note: bodyNote(body, response) });
  differences.push(...representationDifferences(response, expected));
  if (expected.body !== undefined) {
    const wanted = typeof expected.body === 'string' ? Buffer.from(expected.body, 'utf8') : Buffer.from(expected.body.buffer, expected.body.byteOffset, expected.body.byteLength);
    if (!body.equals(wanted)) differences.push({ field: 'body', expected: describeBytes(wanted), actual: describeBytes(body), note: firstDifference(body, wanted) });
  }
  if (expected.sha256 !== undefined) {
    const actual = sha256(body);
    if (actual !== expected.sha256.toLowerCase()) differences.push({ field: 'sha256', expected: expected.sha256, actual, note: `${body.length} bytes` });
  }
  if (expected.size !== undefined && body.length !== expected.size) differences.push({ field: 'size', expected: expected.size, actual: body.length });
  fail('assertDownload', differences, assertDownload);
  return body;
}

/**
 * Check an offload response: an empty 200 whose header sends the proxy to `location`.
 * @example
 * await assertOffload(response, { backend: 'nginx', location: '/_protected/media/Bericht für März.txt', accel: { limitRate: 1_000_000 } });
 */
export async function assertOffload(response: Response, expected: ExpectedOffload): Promise<void> {
  checkResponse(response, 'assertOffload');
  const header = offloadHeaders[expected?.backend];
  if (header === undefined) throw new TypeError(`assertOffload: backend must be nginx, apache, lighttpd or caddy, got ${String(expected?.backend)}`);
  const body = Buffer.from(await response.arrayBuffer());
  const differences: Difference[] = [];
  if (response.status !== 200) differences.push({ field: 'status', expected: 200, actual: response.status, note: bodyNote(body, response) });
  if (body.length !== 0) differences.push({ field: 'body', expected: 'empty (the proxy sends the file)', actual: describeBytes(body) });
  const raw = response.headers.get(header);
  if (raw === null) {
    differences.push({ field: header, expected: expected.location, actual: null, note: 'the file was not offloaded' });
  } else {
    const location = decodeLocation(raw, expected.backend === 'apache' ? (expected.apacheEncoding ?? 'raw') : 'percent');
    if (location !== expected.location) differences.push({ field: `${header} (decoded)`, expected: expected.location, actual: location, note: `sent as ${JSON.stringify(raw)}` });
  }
  const otherHeader = header === 'x-sendfile' ? 'x-accel-redirect' : 'x-sendfile';
  if (response.headers.has(otherHeader)) differences.push({ field: otherHeader, expected: null, actual: response.headers.get(otherHeader), note: `not a ${expected.backend} header` });
  // The proxy computes these for the file it sends; the app's would be wrong.
  for (const name of ['content-range']) {
    if (response.headers.has(name)) differences.push({ field: name, expected: null, actual: response.headers.get(name) });
  }
  if (expected.accel !== undefined) {
    if (expected.backend !== 'nginx') throw new TypeError('assertOffload: accel options are nginx-only');
    const { limitRate, buffering, charset, expires } = expected.accel;
    const accel: [string, string | undefined][] = [
      ['x-accel-limit-rate', limitRate === undefined ? undefined : String(limitRate)],
      ['x-accel-buffering', buffering === undefined ? undefined : buffering ? 'yes' : 'no'],
      ['x-accel-charset', charset],
      ['x-accel-expires', expires === undefined ? undefined : String(expires)],
    ];
    for (const [name, value] of accel) {
      if (value !== undefined && response.headers.get(name) !== value) differences.push({ field: name, expected: value, actual: response.headers.get(name) });
    }
  }
  differences.push(...representationDifferences(response, expected));
  fail('assertOffload', differences, assertOffload);
}

function checkResponse(response: Response, caller: string): void {
  if (!(response instanceof Response)) throw new TypeError(`${caller}: expected a Response, got ${response === null ? 'null' : typeof response}`);
  if (response.bodyUsed) throw new TypeError(`${caller}: the response body was already read`);
}

/** Name, disposition, type and exact headers: what a download and an offload share. */
function representationDifferences(response: Response, expected: Pick<ExpectedDownload, 'filename' | 'disposition' | 'contentType' | 'headers'>): Difference[] {
  const differences: Difference[] = [];
  const dispositionHeader = response.headers.get('content-disposition');
  const disposition = dispositionHeader === null ? undefined : parseContentDisposition(dispositionHeader);
  const note = `Content-Disposition: ${dispositionHeader ?? '(none)'}`;
  if (expected.filename !== undefined && disposition?.filename !== expected.filename) differences.push({ field: 'filename', expected: expected.filename, actual: disposition?.filename ?? null, note });
  if (expected.disposition !== undefined && disposition?.type !== expected.disposition) differences.push({ field: 'disposition', expected: expected.disposition, actual: disposition?.type ?? null, note });
  if (expected.contentType !== undefined) {
    const actual = response.headers.get('content-type');
    const compared = expected.contentType.includes(';') ? actual : actual?.split(';')[0]!.trim();
    if (compared?.toLowerCase() !== expected.contentType.toLowerCase()) differences.push({ field: 'content-type', expected: expected.contentType, actual });
  }
  for (const [name, value] of Object.entries(expected.headers ?? {})) {
    const actual = response.headers.get(name);
    if (actual !== value) differences.push({ field: `header ${name.toLowerCase()}`, expected: value, actual });
  }
  return differences;
}

/** Throw one AssertionError naming every difference, or nothing. */
function fail(caller: string, differences: Difference[], stackStart: (...args: never[]) => unknown): void {
  if (differences.length === 0) return;
  const lines = differences.map(({ field, expected, actual, note }) => `  ${field}: expected ${show(expected)}, got ${show(actual)}${note ? ` (${note})` : ''}`);
  throw new AssertionError({
    message: `${caller}: ${differences.length === 1 ? 'one difference' : `${differences.length} differences`}\n${lines.join('\n')}`,
    actual: Object.fromEntries(differences.map(({ field, actual }) => [field, actual])),
    expected: Object.fromEntries(differences.map(({ field, expected }) => [field, expected])),
    operator: 'deepStrictEqual',
    stackStartFn: stackStart as (...args: unknown[]) => unknown,
  });
}

function show(value: unknown): string {
  return typeof value === 'string' ? JSON.stringify(value) : String(value);
}

function decodeLocation(value: string, encoding: 'raw' | 'percent'): string {
  // mod_xsendfile 0.12 takes the path's raw UTF-8 bytes, which `Headers` carries as Latin-1 characters.
  if (encoding === 'raw') return Buffer.from(value, 'latin1').toString('utf8');
  try {
    return decodeURIComponent(value);
  } catch {
    return value;
  }
}

function sha256(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

function describeBytes(bytes: Buffer): string {
  if (bytes.length <= 64 && isText(bytes)) return `${bytes.length} bytes ${JSON.stringify(bytes.toString('utf8'))}`;
  return `${bytes.length} bytes, sha256 ${sha256(bytes).slice(0, 16)}…`;
}

function isText(bytes: Buffer): boolean {
  return !bytes.includes(0) && Buffer.from(bytes.toString('utf8'), 'utf8').equals(bytes);
}

/** For a status mismatch: what the body said (an error text usually explains it). */
function bodyNote(body: Buffer, response: Response): string | undefined {
  if (body.length === 0 || !(response.headers.get('content-type') ?? '').startsWith('text/') || !isText(body)) return undefined;
  const text = body.toString('utf8');
  return `body ${JSON.stringify(text.length > 120 ? `${text.slice(0, 120)}…` : text)}`;
}

function firstDifference(actual: Buffer, expected: Buffer): string {
  let offset = 0;
  const shorter = Math.min(actual.length, expected.length);
  while (offset < shorter && actual[offset] === expected[offset]) offset += 1;
  if (offset === shorter) return `identical for ${shorter} bytes, then one ends`;
  return `first difference at byte ${offset}: 0x${actual[offset]!.toString(16).padStart(2, '0')}, expected 0x${expected[offset]!.toString(16).padStart(2, '0')}`;
}
