/**
 * Error hygiene: no response a client gets may hold a filesystem path, a stack trace, an upstream
 * URL or a secret (docs/security.md, "The promise"). `findLeaks` scans the status line, every
 * header and the body of one response; suites call `assertNoLeak` on every response they produce,
 * with the markers of their own setup (media root, upstream URL, tokens).
 */
import { tmpdir } from 'node:os';
import { repositoryRoot } from './next-server.js';

/** A response as the raw client, node:http or fetch gives it. */
export interface ScannedResponse {
  status: number;
  statusText?: string;
  headers: Headers | Record<string, string | string[] | number | undefined>;
  body?: Uint8Array | string;
}

export interface LeakMarkers {
  /** Filesystem paths of the setup (media roots, runtime dirs); the repository, the temp dir and `node_modules` are always scanned for. */
  paths?: readonly string[];
  /** Upstream origins and URLs (remote sources, Blob API and object hosts). */
  urls?: readonly string[];
  /** Secret values: tokens, signing secrets, env values, file markers that must never be served. */
  secrets?: readonly string[];
  /**
   * Headers allowed to carry a path by design, e.g. `x-sendfile` on a response the app sends to a
   * proxy (a test requesting the app directly behind an offload backend). Default: none.
   */
  allowHeaders?: readonly string[];
  /** Skip the body (a success body is the file's own bytes; compare those by hash instead). */
  skipBody?: boolean;
  /**
   * What the client itself sent (the request target): a marker it contains is not a leak when
   * echoed back, e.g. Next's 308 redirect of `//tmp/x` to `/tmp/x`.
   */
  reflected?: string;
}

/** Headers that steer a proxy: the app may send them to the proxy in front, a client must never see one. */
export const OFFLOAD_RESPONSE_HEADERS: readonly string[] = ['x-accel-redirect', 'x-accel-remote-url', 'x-sendfile', 'x-sendfile2', 'x-lighttpd-send-file'];

/** The offload headers present in `headers` (lower-case names, as node:http gives them). */
export function offloadHeadersIn(headers: Record<string, unknown>): string[] {
  return OFFLOAD_RESPONSE_HEADERS.filter((name) => headers[name] !== undefined);
}

/** Stack frames as V8 prints them, and source positions of the code that runs the app. */
const STACK_PATTERNS: readonly RegExp[] = [
  /^\s*at \S.*(?:\(|:\d+:\d+)/m,
  /\.(?:ts|tsx|js|mjs|cjs):\d+(?::\d+)?/,
  /\b(?:TypeError|RangeError|ReferenceError|SyntaxError|DownloadError|AbortError|SystemError)\b/,
  /\bE(?:NOENT|ACCES|PERM|NAMETOOLONG|NOTDIR|ISDIR|LOOP|CONNREFUSED|CONNRESET|TIMEDOUT|MFILE)\b/,
];

function alwaysScannedPaths(): string[] {
  const tmp = tmpdir().replace(/\/+$/, '');
  return [repositoryRoot, `${tmp}/`, '/tmp/', 'node_modules', '/proc/self'];
}

/** Every leak found in `response`, each as `where: what` (empty when clean). */
export function findLeaks(response: ScannedResponse, markers: LeakMarkers = {}): string[] {
  const found: string[] = [];
  const allowed = new Set((markers.allowHeaders ?? []).map((name) => name.toLowerCase()));
  const reflected = reflectedForms(markers.reflected);
  const needles: [string, string][] = [
    ...[...alwaysScannedPaths(), ...(markers.paths ?? [])].map((value): [string, string] => ['path', value]),
    ...(markers.urls ?? []).map((value): [string, string] => ['upstream URL', value]),
    ...(markers.secrets ?? []).map((value): [string, string] => ['secret', value]),
  ].filter(([, needle]) => !reflected.some((form) => form.includes(needle)));
  const scan = (where: string, text: string) => {
    for (const [what, needle] of needles) {
      if (needle !== '' && (text.includes(needle) || text.includes(encodeURIComponent(needle)))) found.push(`${where}: ${what} ${JSON.stringify(needle)}`);
    }
    for (const pattern of STACK_PATTERNS) {
      const match = pattern.exec(text);
      if (match) found.push(`${where}: stack or error text ${JSON.stringify(match[0].trim().slice(0, 80))}`);
    }
  };
  scan('status line', `${response.status} ${response.statusText ?? ''}`);
  for (const [name, value] of headerEntries(response.headers)) {
    if (!allowed.has(name)) scan(`header ${name}`, value);
  }
  if (!markers.skipBody && response.body !== undefined) {
    scan('body', typeof response.body === 'string' ? response.body : Buffer.from(response.body).toString('latin1'));
    // A UTF-8 decoding too, so non-ASCII paths and markers are found as written.
    if (typeof response.body !== 'string') scanUtf8(response.body, needles, found);
  }
  return [...new Set(found)];
}

/** The request target as sent, percent-decoded, and with `\\` read as `/` (as Next normalises it). */
function reflectedForms(target: string | undefined): string[] {
  if (target === undefined) return [];
  let decoded = target;
  try {
    decoded = decodeURIComponent(target);
  } catch {
    // Malformed encoding: the raw form is what can be echoed.
  }
  return [target, decoded, target.replaceAll('\\', '/'), decoded.replaceAll('\\', '/')];
}

function scanUtf8(body: Uint8Array, needles: [string, string][], found: string[]): void {
  const text = Buffer.from(body).toString('utf8');
  for (const [what, needle] of needles) {
    if (/[^\x00-\x7f]/.test(needle) && text.includes(needle)) found.push(`body: ${what} ${JSON.stringify(needle)}`);
  }
}

function headerEntries(headers: ScannedResponse['headers']): [string, string][] {
  if (headers instanceof Headers) return [...headers.entries()];
  return Object.entries(headers).flatMap(([name, value]) =>
    value === undefined ? [] : (Array.isArray(value) ? value : [String(value)]).map((one): [string, string] => [name.toLowerCase(), one]),
  );
}

/** Throws, naming every leak and the request, when `response` holds a path, stack, upstream URL or secret. */
export function assertNoLeak(response: ScannedResponse, markers: LeakMarkers = {}, request = ''): void {
  const leaks = findLeaks(response, markers);
  if (leaks.length > 0) throw new Error(`response ${request ? `to ${request} ` : ''}(${response.status}) leaks:\n  ${leaks.join('\n  ')}`);
}

/** `assertNoLeak` for a fetch/in-process `Response`: reads a clone's body, so the caller can still read it. */
export async function assertResponseNoLeak(response: Response, markers: LeakMarkers = {}, request = ''): Promise<void> {
  const body = markers.skipBody ? undefined : new Uint8Array(await response.clone().arrayBuffer());
  assertNoLeak({ status: response.status, statusText: response.statusText, headers: response.headers, body }, markers, request);
}
