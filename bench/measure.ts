/** Measurements: wrk loads, RSS sampling from /proc, concurrent downloads, byte-exact checks. */
import { execFileSync, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { IncomingHttpHeaders } from 'node:http';
import { hashedGet } from '../test/helpers/http.js';
import { processTree } from '../test/helpers/process.js';

const benchDir = path.dirname(fileURLToPath(import.meta.url));

/** What one wrk run saw; see bench/wrk-report.lua for how each count is made. */
export interface WrkResult {
  /** Completed responses. */
  requests: number;
  /** Requests written (a request is counted again when a broken connection makes wrk resend it). */
  sent: number;
  bytes: number;
  seconds: number;
  requestsPerSecond: number;
  /** 10^6 bytes per second, headers included (negligible for large bodies). */
  megabytesPerSecond: number;
  p50Ms: number;
  p99Ms: number;
  /** Socket errors by kind, as wrk counts them (only kinds that occurred). */
  socketErrors: Partial<Record<SocketErrorKind, number>>;
  /** wrk's own count of responses with a status of 400 or more (every load). */
  statusErrors: number;
  /** Every response's status and body checked (the 1 KiB loads): the counts below are exact. */
  checked: boolean;
  responses: ResponseCounts;
}

export interface ResponseCounts {
  /** 200 (or the expected status, for redirects) with exactly the expected body. */
  ok200: number;
  other2xx: number;
  s1xx: number;
  s3xx: number;
  s4xx: number;
  s5xx: number;
  /** 200 with other bytes. */
  wrongBody: number;
}

const socketErrorKinds = ['connect', 'read', 'write', 'timeout'] as const;
export type SocketErrorKind = (typeof socketErrorKinds)[number];
const responseKinds = ['ok200', 'other2xx', 's1xx', 's3xx', 's4xx', 's5xx', 'wrongBody'] as const;

export interface WrkOptions {
  url: string;
  threads: number;
  connections: number;
  seconds: number;
  /** Per-request timeout; large files on slow targets take longer than wrk's 2 s default. */
  timeoutSeconds?: number;
  /** A file holding the exact body every response must carry: each response is then checked. */
  expectedBody?: string;
  /** The status each checked response must have (default 200; a redirect target's 302). */
  expectedStatus?: number;
}

/** `wrk --latency` with bench/wrk-report.lua, which prints one JSON line of totals. */
export async function runWrk(options: WrkOptions): Promise<WrkResult> {
  const args = [
    `-t${Math.min(options.threads, options.connections)}`,
    `-c${options.connections}`,
    `-d${options.seconds}s`,
    `--timeout`,
    `${options.timeoutSeconds ?? 60}s`,
    '--latency',
    '-s',
    path.join(benchDir, 'wrk-report.lua'),
    options.url,
    ...(options.expectedBody ? ['--', options.expectedBody, String(options.expectedStatus ?? 200)] : []),
  ];
  const { code, stdout, stderr } = await run('wrk', args);
  const line = stdout.split('\n').find((text) => text.startsWith('WRKJSON '));
  if (code !== 0 || !line) throw new Error(`wrk ${args.join(' ')} failed (exit ${code}):\n${stdout}\n${stderr}`);
  return parseWrkReport(JSON.parse(line.slice('WRKJSON '.length)) as Record<string, number | boolean>);
}

/** The totals bench/wrk-report.lua prints, as a WrkResult. */
export function parseWrkReport(raw: Record<string, number | boolean>): WrkResult {
  const count = (name: string): number => Number(raw[name] ?? 0);
  const seconds = count('durationUs') / 1e6;
  const socketErrors: WrkResult['socketErrors'] = {};
  for (const kind of socketErrorKinds) if (count(kind) > 0) socketErrors[kind] = count(kind);
  const responses = Object.fromEntries(responseKinds.map((kind) => [kind, count(kind)])) as unknown as ResponseCounts;
  return {
    requests: count('requests'),
    sent: count('sent'),
    bytes: count('bytes'),
    seconds,
    requestsPerSecond: count('requests') / seconds,
    megabytesPerSecond: count('bytes') / seconds / 1e6,
    p50Ms: count('p50Us') / 1000,
    p99Ms: count('p99Us') / 1000,
    socketErrors,
    statusErrors: count('status'),
    checked: raw.checked === true,
    responses,
  };
}

/** The problem of a sample in which no response completed: nothing in it was checked. */
export const NOTHING_COMPLETED = 'no response completed';

/**
 * Why a sample cannot be used (empty when it can): any socket error, any response that was not a
 * 200 with the expected bytes (counted per response on 1 KiB loads; on 100 MiB loads wrk counts
 * statuses of 400 and more), requests that never completed (a body cut short: wrk reconnects and
 * sends again, so more requests were written than completed beyond one in flight per connection),
 * and fewer bytes read than the completed responses' bodies hold.
 */
export function sampleProblems(result: WrkResult, expected: { connections: number; bodyBytes: number }): string[] {
  const problems: string[] = [];
  if (result.requests === 0) problems.push(NOTHING_COMPLETED);
  for (const [kind, count] of Object.entries(result.socketErrors)) problems.push(`${count} socket ${kind} error${count === 1 ? '' : 's'}`);
  if (result.checked) {
    const { ok200, wrongBody, other2xx, s1xx, s3xx, s4xx, s5xx } = result.responses;
    const labels: [number, string][] = [
      [wrongBody, '200 with other bytes'],
      [other2xx, '2xx other than 200'],
      [s1xx, '1xx'],
      [s3xx, '3xx'],
      [s4xx, '4xx'],
      [s5xx, '5xx'],
    ];
    for (const [count, label] of labels) if (count > 0) problems.push(`${count} responses ${label}`);
    if (ok200 + wrongBody + other2xx + s1xx + s3xx + s4xx + s5xx !== result.requests) problems.push('response counts do not add up to the completed requests');
  } else if (result.statusErrors > 0) {
    problems.push(`${result.statusErrors} responses with status >= 400`);
  }
  const lost = result.sent - result.requests - expected.connections;
  if (lost > 0) problems.push(`${lost} requests never completed (connection closed mid-response)`);
  const short = result.requests * expected.bodyBytes - result.bytes;
  if (short > 0) problems.push(`${short} bytes fewer than ${result.requests} complete bodies hold`);
  return problems;
}

let clockTicks: number | undefined;

/**
 * CPU seconds (user + system, including reaped children) used so far by the process trees of
 * `roots`: the server side of a target (Next, and the proxy in front of it). Divided by the
 * requests of a wrk run it gives CPU per request, which varies far less than req/s on a shared
 * machine because it does not depend on how much CPU the other tenants leave.
 */
export function cpuSecondsOf(roots: readonly number[]): number {
  clockTicks ??= Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
  let ticks = 0;
  for (const pid of new Set(roots.flatMap((root) => processTree(root)))) {
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
      // Fields after the command name: state is 3, utime 14, stime 15, cutime 16, cstime 17.
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      ticks += Number(fields[11]) + Number(fields[12]) + Number(fields[13]) + Number(fields[14]);
    } catch {
      // exited meanwhile; its time went to its parent's cutime/cstime
    }
  }
  return ticks / clockTicks;
}

/**
 * Bytes the process trees of `roots` have read and written so far through any file descriptor,
 * sockets included (`rchar` and `wchar` of /proc/<pid>/io): what a server moved itself. A process
 * that exited meanwhile is not counted (its bytes go nowhere): measure with the tree running.
 */
export function ioBytesOf(roots: readonly number[]): { read: number; written: number } {
  let read = 0;
  let written = 0;
  for (const pid of new Set(roots.flatMap((root) => processTree(root)))) {
    try {
      const io = readFileSync(`/proc/${pid}/io`, 'utf8');
      read += Number(/^rchar: (\d+)$/m.exec(io)?.[1] ?? 0);
      written += Number(/^wchar: (\d+)$/m.exec(io)?.[1] ?? 0);
    } catch {
      // exited meanwhile
    }
  }
  return { read, written };
}

/** Resident set size of a process in bytes (VmRSS), or undefined once it is gone. */
export function rssOf(pid: number): number | undefined {
  try {
    const match = /^VmRSS:\s+(\d+)\s+kB/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return match ? Number(match[1]) * 1024 : undefined;
  } catch {
    return undefined;
  }
}

/** Samples VmRSS every `intervalMs` and keeps the peak. */
export function sampleRss(pid: number, intervalMs = 50): { stop(): number; peak(): number } {
  let peak = rssOf(pid) ?? 0;
  const timer = setInterval(() => {
    const rss = rssOf(pid);
    if (rss !== undefined && rss > peak) peak = rss;
  }, intervalMs);
  return {
    peak: () => peak,
    stop() {
      clearInterval(timer);
      const rss = rssOf(pid);
      if (rss !== undefined && rss > peak) peak = rss;
      return peak;
    },
  };
}

export interface DownloadsResult {
  /** Every download finished with 200 and the expected size. */
  ok: boolean;
  seconds: number;
  detail: string;
}

/** `count` concurrent full downloads by separate curl processes (the harness stays idle to sample). */
export async function downloadConcurrently(url: string, count: number, expectedSize: number): Promise<DownloadsResult> {
  const started = performance.now();
  const results = await Promise.all(
    Array.from({ length: count }, () => run('curl', ['-sS', '-o', '/dev/null', '--max-time', '900', '-w', '%{http_code} %{size_download}', url])),
  );
  const seconds = (performance.now() - started) / 1000;
  const outcomes = results.map((result) => result.stdout.trim() || `exit ${result.code}: ${result.stderr.trim()}`);
  const ok = outcomes.every((outcome) => outcome === `200 ${expectedSize}`);
  return { ok, seconds, detail: ok ? '' : outcomes.join('; ') };
}

export interface ExpectedBody {
  path: string;
  sha256: string;
  size: number;
  headers?: Record<string, string>;
  status?: number;
  /** The path answers an empty 302: the body is checked at its Location (fetched by this process, headers passed on). */
  follow?: boolean;
}

/** GET `url`, or the Location of its empty 302 when `follow`; status, length and sha256 of what came back. */
async function fetchBody(url: string, body: ExpectedBody): Promise<{ status: number; length: number; sha256: string }> {
  if (!body.follow) return hashedGet(url, body.headers);
  const redirect = await hashedGet(url, body.headers);
  const location = redirect.headers.location;
  if (redirect.status !== 302 || redirect.length !== 0 || !location) throw new Error(`expected an empty 302 with a Location, got ${redirect.status} (${redirect.length} bytes)`);
  const response = await fetch(location, { headers: body.headers ?? {}, redirect: 'manual' });
  const bytes = Buffer.from(await response.arrayBuffer());
  return { status: response.status, length: bytes.length, sha256: createHash('sha256').update(bytes).digest('hex') };
}

/** Fetch each body and compare status, length and sha256; returns the problems found. */
export async function checkBodies(baseUrl: string, bodies: readonly ExpectedBody[]): Promise<string[]> {
  const problems: string[] = [];
  for (const body of bodies) {
    const label = `${body.path}${body.headers?.range ? ` (${body.headers.range})` : ''}${body.follow ? ' (followed)' : ''}`;
    try {
      const response = await fetchBody(baseUrl + body.path, body);
      const status = body.status ?? 200;
      if (response.status !== status) problems.push(`${label}: status ${response.status}, expected ${status}`);
      else if (response.length !== body.size) problems.push(`${label}: ${response.length} bytes, expected ${body.size}`);
      else if (response.sha256 !== body.sha256) problems.push(`${label}: sha256 differs`);
    } catch (error) {
      problems.push(`${label}: ${error instanceof Error ? error.message : String(error)}`);
    }
  }
  return problems;
}

/** Run a command to completion, collecting its output. */
export async function run(command: string, args: readonly string[], env?: NodeJS.ProcessEnv): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'], env: env ?? process.env });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk) => (stdout += chunk));
  child.stderr.on('data', (chunk) => (stderr += chunk));
  const [code] = (await once(child, 'close')) as [number | null];
  return { code, stdout, stderr };
}

/** Headers that differ between any two responses and say nothing about the download. */
const perResponseHeaders = new Set(['date', 'connection', 'keep-alive']);

/**
 * A presigned Location differs in every response (its expiry and signature): compared by origin,
 * path and parameter names, with the values of the `vercel-blob-*` parameters left out.
 */
function comparable(name: string, value: IncomingHttpHeaders[string]): IncomingHttpHeaders[string] {
  if (name !== 'location' || typeof value !== 'string' || !URL.canParse(value)) return value;
  const url = new URL(value);
  for (const key of [...url.searchParams.keys()]) if (key.startsWith('vercel-blob-')) url.searchParams.set(key, '*');
  return url.href;
}

/**
 * Differences between two responses' headers (names and values), ignoring the per-response ones:
 * the like-for-like check of a target and its reference before they are timed.
 */
export function headerDifferences(target: IncomingHttpHeaders, reference: IncomingHttpHeaders): string[] {
  const names = new Set([...Object.keys(target), ...Object.keys(reference)].filter((name) => !perResponseHeaders.has(name)));
  const differences: string[] = [];
  for (const name of [...names].sort()) {
    const [mine, theirs] = [comparable(name, target[name]), comparable(name, reference[name])];
    if (JSON.stringify(mine) !== JSON.stringify(theirs)) differences.push(`${name}: ${JSON.stringify(mine ?? null)} vs ${JSON.stringify(theirs ?? null)}`);
  }
  return differences;
}

/** What a target did with a Range and an If-None-Match request (recorded, not judged). */
export interface Semantics {
  range: string;
  conditional: string;
}

/**
 * Asks `url` (the 1 KiB file, whose bytes are `body`) for bytes 100-611 and, with the ETag of a
 * full answer, for a 304; says what came back. A handler that ignores them sends the whole body.
 */
export async function probeSemantics(url: string, body: Buffer): Promise<Semantics> {
  const hashOf = (bytes: Buffer): string => createHash('sha256').update(bytes).digest('hex');
  const full = await hashedGet(url);
  const ranged = await hashedGet(url, { range: 'bytes=100-611' });
  const range =
    ranged.status === 206
      ? ranged.sha256 === hashOf(body.subarray(100, 612))
        ? '206, the exact bytes'
        : `206 with other bytes (${ranged.length})`
      : `${ranged.status} with ${ranged.length === body.length ? 'the whole body' : `${ranged.length} bytes`}: Range ignored`;
  const etag = full.headers.etag;
  let conditional = 'no ETag: If-None-Match impossible';
  if (etag) {
    const again = await hashedGet(url, { 'if-none-match': etag });
    conditional = again.status === 304 ? (again.length === 0 ? '304' : `304 with ${again.length} bytes`) : `${again.status} with ${again.length} bytes: If-None-Match ignored`;
  }
  return { range, conditional };
}
