/**
 * The soak's traffic: a seeded mix of full downloads (0 B to 100 MiB), single ranges, multiparts,
 * conditionals, HEADs, aborted downloads, denied and missing files, from a pool of keep-alive
 * connections, every completed body hashed against its source and every response scanned for leaks
 * (a path, a stack, an upstream address, a secret, an offload header). Pure load + checks: no server setup.
 */
import { createHash } from 'node:crypto';
import { Agent, request, type IncomingHttpHeaders } from 'node:http';
import { findLeaks, offloadHeadersIn, type LeakMarkers } from '../test/helpers/hygiene.js';
import type { LargeFile } from '../test/helpers/media.js';
import { seededRandom } from './stats.js';

const KiB = 1024;
const MiB = 1 << 20;
/** A body is kept in memory only up to this (multiparts are made to fit); larger ones are hashed as they stream. */
const KEEP_LIMIT = 4 * MiB;
/** A request unanswered this long is an error (the slowest, 100 MiB through a busy proxy, takes seconds). */
const REQUEST_TIMEOUT_MS = 120_000;

/** A served file: its key under /files/ and its bytes' generator (any slice can be hashed). */
export interface SoakFile {
  key: string;
  file: LargeFile;
}

export type RequestKind = 'full' | 'range' | 'multipart' | 'not-modified' | 'head' | 'abort' | 'denied' | 'missing';

/** How often each kind is drawn (relative weights). */
export const REQUEST_MIX: Readonly<Record<RequestKind, number>> = {
  full: 30,
  range: 15,
  multipart: 10,
  'not-modified': 10,
  head: 10,
  abort: 10,
  denied: 7,
  missing: 8,
};

export interface TrafficOptions {
  /** Where `<routePrefix>/<key>` is served: `next start` directly, or a proxy in front of it. */
  baseUrl: string;
  /** @default '/files' */
  routePrefix?: string;
  files: readonly SoakFile[];
  /** A key the app denies (403); without one, no denied requests are drawn. */
  deniedKey?: string;
  seconds: number;
  connections: number;
  seed: string;
  /** Called once a second while the traffic runs (the caller samples the servers). */
  onSecond?: (second: number, completed: number) => void;
  /** What no response may hold besides paths, stacks and offload headers (the target's upstream, tokens). */
  leakMarkers?: LeakMarkers;
}

export interface TrafficResult {
  requests: number;
  /** Requests per kind. */
  byKind: Record<RequestKind, number>;
  /** Unexpected status, connection failure or timeout (aborts we made ourselves are not errors). */
  errors: number;
  /** Completed bodies whose bytes differ from their source. */
  corrupt: number;
  /** Responses holding a path, a stack, an upstream address, a secret or an offload header. */
  leaks: number;
  /** The first few problems, for the report. */
  problems: string[];
  /** Milliseconds from request to the end of the response, of every non-aborted request. */
  latencies: number[];
  bytes: number;
  seconds: number;
}

interface Response {
  status: number;
  headers: IncomingHttpHeaders;
  sha256: string;
  length: number;
  body?: Buffer;
}

/** One request on `agent`; `leaveAfter` bytes ends it early on purpose (resolves `undefined`). */
function send(agent: Agent, url: string, method: string, headers: Record<string, string>, leaveAfter?: number): Promise<Response | undefined> {
  return new Promise((resolve, reject) => {
    let left = false;
    const req = request(url, { agent, method, headers }, (res) => {
      const hash = createHash('sha256');
      const keep: Buffer[] = [];
      let length = 0;
      res.on('data', (chunk: Buffer) => {
        hash.update(chunk);
        length += chunk.length;
        if (length <= KEEP_LIMIT) keep.push(chunk);
        if (leaveAfter !== undefined && length >= leaveAfter && !left) {
          left = true;
          req.destroy();
          resolve(undefined);
        }
      });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, sha256: hash.digest('hex'), length, body: length <= KEEP_LIMIT ? Buffer.concat(keep) : undefined }));
      res.on('error', (error) => (left ? undefined : reject(error)));
    });
    req.setTimeout(REQUEST_TIMEOUT_MS, () => req.destroy(new Error(`no answer within ${REQUEST_TIMEOUT_MS / 1000} s`)));
    req.on('error', (error) => (left ? undefined : reject(error)));
    req.end();
  });
}

/** Parts of a multipart/byteranges body: each part's Content-Range and bytes. */
function multipartParts(body: Buffer, boundary: string): { start: number; end: number; bytes: Buffer }[] | string {
  const delimiter = Buffer.from(`\r\n--${boundary}`);
  // The body starts with `--boundary` (no CRLF before the first delimiter).
  const text = Buffer.concat([Buffer.from('\r\n'), body]);
  const parts: { start: number; end: number; bytes: Buffer }[] = [];
  let offset = text.indexOf(delimiter);
  while (offset >= 0) {
    const afterDelimiter = offset + delimiter.length;
    if (text.subarray(afterDelimiter, afterDelimiter + 2).toString('latin1') === '--') return parts;
    const headersEnd = text.indexOf('\r\n\r\n', afterDelimiter);
    if (headersEnd < 0) return 'a part without headers';
    const range = /content-range: bytes (\d+)-(\d+)\/\d+/i.exec(text.subarray(afterDelimiter, headersEnd).toString('latin1'));
    if (!range) return 'a part without Content-Range';
    const next = text.indexOf(delimiter, headersEnd + 4);
    if (next < 0) return 'no closing boundary';
    parts.push({ start: Number(range[1]), end: Number(range[2]), bytes: text.subarray(headersEnd + 4, next) });
    offset = next;
  }
  return 'no boundary';
}

/** Non-overlapping ranges, ascending, far enough apart that no server merges them. */
function drawRanges(random: () => number, size: number, count: number): [number, number][] {
  const slot = Math.floor(size / count);
  return Array.from({ length: count }, (_, index) => {
    const length = 1 + Math.floor(random() * Math.min(64 * KiB, slot / 4));
    const start = index * slot + Math.floor(random() * (slot / 2));
    return [start, Math.min(size - 1, start + length - 1)] as [number, number];
  });
}

function pick<T>(random: () => number, weighted: readonly (readonly [T, number])[]): T {
  const total = weighted.reduce((sum, [, weight]) => sum + weight, 0);
  let point = random() * total;
  for (const [value, weight] of weighted) {
    point -= weight;
    if (point < 0) return value;
  }
  return weighted[weighted.length - 1]![0];
}

/** Run the mix against `options.baseUrl` for `options.seconds`; never throws for a bad answer (it is counted). */
export async function runTraffic(options: TrafficOptions): Promise<TrafficResult> {
  const agent = new Agent({ keepAlive: true, maxSockets: options.connections });
  const result: TrafficResult = { requests: 0, byKind: Object.fromEntries(Object.keys(REQUEST_MIX).map((kind) => [kind, 0])) as Record<RequestKind, number>, errors: 0, corrupt: 0, leaks: 0, problems: [], latencies: [], bytes: 0, seconds: 0 };
  const url = (key: string): string => `${options.baseUrl}${options.routePrefix ?? '/files'}/${key}`;
  const report = (kind: 'error' | 'corrupt' | 'leak', what: string): void => {
    if (kind === 'error') result.errors += 1;
    else if (kind === 'corrupt') result.corrupt += 1;
    else result.leaks += 1;
    if (result.problems.length < 20) result.problems.push(`${kind}: ${what}`);
  };

  /** `send`, then the leak scan: headers always, the body when it is not the file's bytes (those are hashed). */
  async function sendChecked(target: string, method: string, headers: Record<string, string>, leaveAfter?: number): Promise<Response | undefined> {
    const response = await send(agent, target, method, headers, leaveAfter);
    if (response === undefined) return undefined;
    const fileBytes = response.status === 200 || response.status === 206;
    const path = new URL(target).pathname;
    const leaks = findLeaks({ status: response.status, headers: response.headers, body: fileBytes ? undefined : response.body }, { ...options.leakMarkers, reflected: path });
    leaks.push(...offloadHeadersIn(response.headers).map((name) => `header ${name} reached the client`));
    if (leaks.length > 0) report('leak', `${method} ${path} (${response.status}): ${leaks.join('; ')}`);
    return response;
  }

  // The validators each file has here (the app's, or the proxy's when it serves the file itself).
  const etags = new Map<string, string>();
  for (const { key } of options.files) {
    const head = await sendChecked(url(key), 'HEAD', {});
    etags.set(key, String(head?.headers.etag ?? ''));
  }
  const kinds = (Object.entries(REQUEST_MIX) as [RequestKind, number][]).filter(([kind]) => kind !== 'denied' || options.deniedKey !== undefined);
  // Small files are asked for most; 100 MiB now and then, as downloads come in the field.
  const fileWeights = options.files.map((file) => [file, file.file.size >= 50 * MiB ? 1 : file.file.size >= 5 * MiB ? 4 : 10] as const);
  const largeFiles = options.files.filter((file) => file.file.size >= MiB).map((file) => [file, 1] as const);
  const rangeable = options.files.filter((file) => file.file.size >= 64 * KiB).map((file) => [file, 1] as const);

  async function one(random: () => number, counter: number): Promise<void> {
    const kind = pick(random, kinds);
    result.byKind[kind] += 1;
    const started = performance.now();
    let target = '';
    try {
      const done = await exchange(kind, random, counter, (name) => (target = name));
      if (done) result.latencies.push(performance.now() - started);
    } catch (error) {
      report('error', `${kind} ${target}: ${(error as Error).message}`);
    }
  }

  /** One request of `kind`; `false` for an abort (no latency to record). */
  async function exchange(kind: RequestKind, random: () => number, counter: number, named: (target: string) => void): Promise<boolean> {
    const expectStatus = (response: Response | undefined, status: number, what: string): response is Response => {
      if (response?.status === status) return true;
      report('error', `${what}: status ${response?.status} instead of ${status}`);
      return false;
    };
    switch (kind) {
      case 'full': {
        const { key, file } = pick(random, fileWeights);
        named(key);
        const response = await sendChecked(url(key), 'GET', {});
        if (!expectStatus(response, 200, `GET ${key}`)) return true;
        result.bytes += response.length;
        if (response.length !== file.size || response.sha256 !== file.sha256) report('corrupt', `GET ${key}: ${response.length} bytes, sha256 ${response.sha256.slice(0, 12)}`);
        return true;
      }
      case 'range': {
        const { key, file } = pick(random, rangeable);
        const start = Math.floor(random() * file.size);
        const end = Math.min(file.size - 1, start + Math.floor(random() * 8 * MiB));
        named(`${key} bytes=${start}-${end}`);
        const response = await sendChecked(url(key), 'GET', { range: `bytes=${start}-${end}` });
        if (!expectStatus(response, 206, `range ${key} ${start}-${end}`)) return true;
        result.bytes += response.length;
        if (response.headers['content-range'] !== `bytes ${start}-${end}/${file.size}` || response.sha256 !== file.rangeHash(start, end)) {
          report('corrupt', `range ${key} ${start}-${end}: ${response.headers['content-range']}, ${response.length} bytes`);
        }
        return true;
      }
      case 'multipart': {
        const { key, file } = pick(random, rangeable);
        const ranges = drawRanges(random, file.size, 2 + Math.floor(random() * 3));
        const header = `bytes=${ranges.map(([start, end]) => `${start}-${end}`).join(',')}`;
        named(`${key} ${header}`);
        const response = await sendChecked(url(key), 'GET', { range: header });
        if (!expectStatus(response, 206, `multipart ${key} ${header}`)) return true;
        result.bytes += response.length;
        const boundary = /boundary=("?)([^";]+)\1/.exec(String(response.headers['content-type']))?.[2];
        const parts = boundary ? multipartParts(response.body!, boundary) : 'no boundary in Content-Type';
        if (typeof parts === 'string') return report('corrupt', `multipart ${key} ${header}: ${parts}`), true;
        const covered = ranges.every(([start, end]) => parts.some((part) => part.start <= start && part.end >= end));
        const exact = parts.every((part) => part.bytes.length === part.end - part.start + 1 && createHash('sha256').update(part.bytes).digest('hex') === file.rangeHash(part.start, part.end));
        if (!covered || !exact) report('corrupt', `multipart ${key} ${header}: ${covered ? 'a part differs from its source slice' : 'a requested range is missing'}`);
        return true;
      }
      case 'not-modified': {
        const { key } = pick(random, fileWeights);
        named(key);
        const response = await sendChecked(url(key), 'GET', { 'if-none-match': etags.get(key)! });
        if (expectStatus(response, 304, `If-None-Match ${key}`) && response.length !== 0) report('corrupt', `304 ${key} with a ${response.length}-byte body`);
        return true;
      }
      case 'head': {
        const { key } = pick(random, fileWeights);
        named(key);
        expectStatus(await sendChecked(url(key), 'HEAD', {}), 200, `HEAD ${key}`);
        return true;
      }
      case 'abort': {
        const { key, file } = pick(random, largeFiles);
        named(key);
        // Leave somewhere in the first half: before the body is done, whatever the file.
        const response = await sendChecked(url(key), 'GET', {}, 1 + Math.floor(random() * (file.size / 2)));
        if (response !== undefined) report('error', `abort ${key}: ended (${response.status}) before the client left`);
        return false;
      }
      case 'denied':
        named(options.deniedKey!);
        expectStatus(await sendChecked(url(options.deniedKey!), 'GET', {}), 403, `denied ${options.deniedKey}`);
        return true;
      case 'missing':
        named(`missing-${counter}.bin`);
        expectStatus(await sendChecked(url(`missing-${counter}.bin`), 'GET', {}), 404, `missing-${counter}.bin`);
        return true;
    }
  }

  const started = performance.now();
  const deadline = started + options.seconds * 1000;
  let second = 0;
  const ticker = setInterval(() => options.onSecond?.(++second, result.requests), 1000);
  try {
    await Promise.all(
      Array.from({ length: options.connections }, async (_, worker) => {
        const random = seededRandom(`${options.seed}/${worker}`);
        for (let counter = 0; performance.now() < deadline; counter += 1) {
          result.requests += 1;
          await one(random, worker * 1_000_000 + counter);
        }
      }),
    );
  } finally {
    clearInterval(ticker);
    agent.destroy();
  }
  result.seconds = (performance.now() - started) / 1000;
  return result;
}
