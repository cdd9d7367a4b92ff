/**
 * `next-downloadview/proxy`: a guard for Next 16's `proxy.ts` (formerly `middleware.ts`).
 *
 * Next answers a download path with malformed percent-encoding (`%c0%af`, a lone `%`) with its
 * own 500 before any route handler runs; only a proxy can turn that into a clear 400. The guard
 * also refuses encoded separators (`%2F`, `%5C`) and NUL early. Dot-segments, `%2e` ones included,
 * never reach it: URL parsing resolves them first, and Next routes on that resolved path
 * (`/files/a/%2e%2e/b` is a request for `/files/b`). Route handlers stay safe without the guard
 * (their keys are validated again); it makes answers precise.
 *
 * @example
 * // proxy.ts
 * import { downloadPathGuard } from 'next-downloadview/proxy';
 * export const proxy = downloadPathGuard();
 * export const config = { matcher: '/files/:path*' };
 */
import { invalidOption } from './errors.js';

export interface PathGuardOptions {
  /**
   * Path prefixes to guard, matched on segment boundaries like offload rules: `/files` guards
   * `/files` and `/files/...`, not `/filesystem/...`. Other requests pass untouched. Use the
   * proxy `matcher` too, so Next does not run the proxy for unrelated pages.
   * @default ['/'] (everything the matcher sends)
   * @example downloadPathGuard({ prefixes: ['/files', '/media/private'] })
   */
  prefixes?: readonly string[];
}

/**
 * Why a raw path is refused, or `undefined` when it may proceed to the route. Checks dot-segments
 * too, for callers holding an unresolved path; the guard itself sees them already resolved.
 */
export function unsafePathReason(pathname: string): string | undefined {
  for (const raw of pathname.split('/')) {
    let segment: string;
    try {
      // Throws on a lone `%`, non-hex escapes and invalid UTF-8 such as overlong `%c0%af`.
      segment = decodeURIComponent(raw);
    } catch {
      return 'malformed percent-encoding';
    }
    if (segment.includes('/') || segment.includes('\\')) return 'encoded path separator';
    if (segment.includes('\0')) return 'NUL byte';
    if (segment === '.' || segment === '..') return 'dot-segment';
  }
  return undefined;
}

/** A `proxy` function: `400 Bad Request` for unsafe paths, otherwise `undefined` (continue). */
export function downloadPathGuard(options: PathGuardOptions = {}): (request: Request) => Response | undefined {
  const list: unknown = options.prefixes ?? ['/'];
  if (!Array.isArray(list) || !list.every((prefix) => typeof prefix === 'string' && prefix.startsWith('/'))) {
    invalidOption('prefixes', 'must be a list of paths starting with /');
  }
  const prefixes = (list as string[]).map(segmentPrefix);
  return function downloadPathGuardProxy(request: Request): Response | undefined {
    const { pathname } = new URL(request.url);
    if (!prefixes.some(({ exact, below }) => pathname === exact || pathname.startsWith(below))) return undefined;
    if (unsafePathReason(pathname) === undefined) return undefined;
    return new Response('Bad Request\n', {
      status: 400,
      headers: { 'content-type': 'text/plain; charset=utf-8', 'cache-control': 'no-store', 'x-content-type-options': 'nosniff' },
    });
  };
}

/** `/files/` or `/files` → matches `/files` itself and anything below `/files/`; `/` matches all. */
function segmentPrefix(prefix: string): { exact: string; below: string } {
  let end = prefix.length;
  while (end > 0 && prefix.charCodeAt(end - 1) === 0x2f) end -= 1;
  const exact = prefix.slice(0, end);
  return { exact: exact === '' ? '/' : exact, below: `${exact}/` };
}
