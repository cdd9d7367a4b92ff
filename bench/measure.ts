/** Measurements: wrk loads, RSS sampling from /proc, concurrent downloads, byte-exact checks. */
import { execFileSync, spawn } from 'node:child_process';
import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { hashedGet } from '../test/helpers/http.js';
import { processTree } from '../test/helpers/process.js';

const benchDir = path.dirname(fileURLToPath(import.meta.url));

export interface WrkResult {
  requests: number;
  bytes: number;
  seconds: number;
  requestsPerSecond: number;
  /** 10^6 bytes per second, headers included (negligible for large bodies). */
  megabytesPerSecond: number;
  p50Ms: number;
  p99Ms: number;
  /** Socket errors, timeouts and non-2xx/3xx responses. */
  errors: number;
  /** The same by kind, as wrk counts them (only kinds that occurred). */
  errorKinds: Partial<Record<WrkErrorKind, number>>;
}

const wrkErrorKinds = ['connect', 'read', 'write', 'status', 'timeout'] as const;
export type WrkErrorKind = (typeof wrkErrorKinds)[number];

export interface WrkOptions {
  url: string;
  threads: number;
  connections: number;
  seconds: number;
  /** Per-request timeout; large files on slow targets take longer than wrk's 2 s default. */
  timeoutSeconds?: number;
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
  ];
  const { code, stdout, stderr } = await run('wrk', args);
  const line = stdout.split('\n').find((text) => text.startsWith('WRKJSON '));
  if (code !== 0 || !line) throw new Error(`wrk ${args.join(' ')} failed (exit ${code}):\n${stdout}\n${stderr}`);
  const raw = JSON.parse(line.slice('WRKJSON '.length)) as Record<string, number>;
  const seconds = (raw.durationUs ?? 0) / 1e6;
  const requests = raw.requests ?? 0;
  const bytes = raw.bytes ?? 0;
  const errorKinds: WrkResult['errorKinds'] = {};
  for (const kind of wrkErrorKinds) if ((raw[kind] ?? 0) > 0) errorKinds[kind] = raw[kind];
  return {
    requests,
    bytes,
    seconds,
    requestsPerSecond: requests / seconds,
    megabytesPerSecond: bytes / seconds / 1e6,
    p50Ms: (raw.p50Us ?? 0) / 1000,
    p99Ms: (raw.p99Us ?? 0) / 1000,
    errors: Object.values(errorKinds).reduce((sum, count) => sum + count, 0),
    errorKinds,
  };
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
}

/** Fetch each body and compare status, length and sha256; returns the problems found. */
export async function checkBodies(baseUrl: string, bodies: readonly ExpectedBody[]): Promise<string[]> {
  const problems: string[] = [];
  for (const body of bodies) {
    const label = `${body.path}${body.headers?.range ? ` (${body.headers.range})` : ''}`;
    try {
      const response = await hashedGet(baseUrl + body.path, body.headers);
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

export function median(values: readonly number[]): number {
  const sorted = values.filter((value) => Number.isFinite(value)).sort((a, b) => a - b);
  if (sorted.length === 0) return Number.NaN;
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
}
