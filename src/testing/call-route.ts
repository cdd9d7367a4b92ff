/** `callRoute()`: call an App Router route handler the way Next does, without a server. */
import type { RouteContext, RouteParams } from '../types.js';

/** Any App Router route handler (`GET`, `HEAD`, …), e.g. what `downloadHandler()` returns. */
export type RouteHandler = (request: Request, context: RouteContext) => Response | Promise<Response>;

export interface CallRouteOptions {
  /** @default 'GET' */
  method?: string;
  headers?: HeadersInit;
  /** Cookies to send, merged into a `Cookie` header. */
  cookies?: Readonly<Record<string, string>>;
  /**
   * The route's params as Next would pass them. Without it they are read from the URL with `route`.
   * @example { path: ['reports', 'q3.pdf'] }
   */
  params?: RouteParams;
  /**
   * The route's path pattern, to take params from the URL the way Next does: `[id]` one segment,
   * `[...path]` one or more, `[[...path]]` zero or more, each segment percent-decoded once.
   * @example '/files/[...path]'
   */
  route?: string;
  /** Aborts like a client that went away (Next aborts `request.signal`). */
  signal?: AbortSignal;
  body?: BodyInit;
}

/**
 * `handler(new Request(url), { params: Promise.resolve(params) })`, with the URL resolved against
 * `http://localhost` and the params taken from the URL when `route` is given.
 * @example
 * const response = await callRoute(GET, '/files/Bericht%20f%C3%BCr%20M%C3%A4rz.txt', { route: '/files/[...path]' });
 */
export async function callRoute(handler: RouteHandler, url: string | URL, options: CallRouteOptions = {}): Promise<Response> {
  if (typeof handler !== 'function') throw new TypeError('callRoute: handler must be a route handler function');
  const target = new URL(url, 'http://localhost');
  const headers = new Headers(options.headers);
  if (options.cookies) {
    const pairs = Object.entries(options.cookies).map(([name, value]) => `${name}=${value}`);
    const existing = headers.get('cookie');
    headers.set('cookie', [existing, ...pairs].filter(Boolean).join('; '));
  }
  const params = options.params ?? (options.route === undefined ? {} : paramsFromUrl(options.route, target.pathname));
  const request = new Request(target, { method: options.method ?? 'GET', headers, signal: options.signal, body: options.body, duplex: options.body ? 'half' : undefined } as RequestInit);
  return handler(request, { params: Promise.resolve(params) });
}

/** Params for `pathname` under an App Router path pattern; throws when the path does not match it. */
export function paramsFromUrl(route: string, pathname: string): RouteParams {
  const patterns = route.split('/').filter((segment) => segment !== '');
  const segments = pathname.split('/').filter((segment) => segment !== '');
  const params: RouteParams = {};
  const decode = (segment: string): string => {
    try {
      return decodeURIComponent(segment);
    } catch {
      throw new TypeError(`callRoute: "${pathname}" has malformed percent-encoding (Next answers it with 400/500 before any route runs)`);
    }
  };
  for (const [index, pattern] of patterns.entries()) {
    const catchAll = /^\[(\[)?\.\.\.([^\]]+)\]\]?$/.exec(pattern);
    if (catchAll) {
      const rest = segments.slice(index).map(decode);
      if (rest.length === 0 && !catchAll[1]) throw new TypeError(`callRoute: "${pathname}" does not match "${route}" (${pattern} needs at least one segment)`);
      if (rest.length > 0) params[catchAll[2]!] = rest;
      return params;
    }
    const segment = segments[index];
    if (segment === undefined) throw new TypeError(`callRoute: "${pathname}" does not match "${route}" (too short)`);
    const dynamic = /^\[([^\]]+)\]$/.exec(pattern);
    if (dynamic) params[dynamic[1]!] = decode(segment);
    else if (decode(segment) !== pattern) throw new TypeError(`callRoute: "${pathname}" does not match "${route}" (segment "${segment}" is not "${pattern}")`);
  }
  if (segments.length !== patterns.length) throw new TypeError(`callRoute: "${pathname}" does not match "${route}" (too long)`);
  return params;
}
