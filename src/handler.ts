/**
 * `downloadHandler(options)`: the App Router adapter. Locate → authorize → load → offload or
 * stream. Thin on purpose: HTTP semantics live in serve.ts, bytes in sources/, proxies in proxies/.
 */
import { DownloadError } from './errors.js';
import { errorResponse, forMethod } from './http/responses.js';
import { DownloadTrace } from './lifecycle.js';
import { isRefusal, resolveOptions, type AuthorizeResult, type DownloadHandlerOptions, type ResolvedOptions } from './options.js';
import type { PlanContext } from './proxies/backend.js';
import { preconditionResponse, representationOf, serveFile, type ServeOptions } from './serve.js';
import type { DownloadFile, FileTarget, Located, RouteContext, RouteParams } from './types.js';

/** A route handler for GET and HEAD; also exposes itself as `.GET` and `.HEAD`. */
export interface DownloadRouteHandler {
  (request: Request, context: RouteContext): Promise<Response>;
  readonly GET: DownloadRouteHandler;
  readonly HEAD: DownloadRouteHandler;
}

/**
 * @example
 * // app/files/[...path]/route.ts
 * export const GET = downloadHandler({ source: filesystem({ root: process.env.MEDIA_ROOT! }) });
 * export const HEAD = GET;
 */
export function downloadHandler<TRecord = unknown>(options: DownloadHandlerOptions<TRecord>): DownloadRouteHandler {
  const config = resolveOptions(options);

  async function answer(request: Request, context: RouteContext, trace: DownloadTrace | undefined): Promise<Response> {
    let located: Located | null = null;
    let file: DownloadFile | null = null;
    try {
      const params: RouteParams = (await context?.params) ?? {};
      located = await config.source.locate(request, { params });
      if (!located) return errorResponse(404);
      trace?.located(located.target);

      // Authorization runs before load(): a refusal never reveals whether the file exists.
      if (config.authorize) {
        const verdict = await config.authorize(request, located.target, { params });
        if (verdict !== true) {
          trace?.refused(refusalReason(verdict));
          return refusal(verdict, config);
        }
      }

      file = await located.load(request.signal);
      if (!file) return errorResponse(404);
      trace?.loaded(file);
      const serveOptions = serveOptionsFor(file, located.target, config, request);
      const representation = representationOf(file, serveOptions);
      const plan = config.backend.plan(file, planContext(request, file, serveOptions, representation.headers));
      if (plan.kind === 'offload') {
        // Proxies without their own conditional handling get our 304/412 instead; so does a remote
        // file, whose storage may not evaluate If-Match (and a 304 needs no URL at all).
        const appConditions = !config.backend.handlesPreconditions || 'remote' in plan;
        const conditional = appConditions ? preconditionResponse(request, file, representation) : undefined;
        if (conditional) return conditional;
        const location = typeof plan.location === 'string' ? plan.location : await plan.location();
        file.dispose?.();
        trace?.offloaded(config.backend.name, location);
        return config.backend.respond(location, representation.headers);
      }
      if (plan.reason) config.reportFallback(plan.reason, request);
      return await serveFile(request, file, serveOptions, representation);
    } catch (error) {
      file?.dispose?.();
      const status = error instanceof DownloadError ? error.status : 500;
      trace?.failed(error, status);
      if (status === 404) return errorResponse(404);
      // The client left (its read was cut short): expected, nobody to answer, nothing to report.
      if (!request.signal.aborted) config.onError(error, request);
      return errorResponse(status);
    } finally {
      // Refused, missing or failed before load(): what locating took (a ready-made stream) is released.
      if (!file) located?.dispose?.();
    }
  }

  async function handleDownload(request: Request, context: RouteContext): Promise<Response> {
    if (!config.onDownload) return forMethod(request.method, await answer(request, context, undefined));
    const trace = new DownloadTrace(request, config.onDownload, config.onError, config.maxRanges);
    return trace.finish(forMethod(request.method, await answer(request, context, trace)));
  }

  const handler = handleDownload as DownloadRouteHandler;
  Object.defineProperties(handler, { GET: { value: handler }, HEAD: { value: handler } });
  return handler;
}

function serveOptionsFor(file: DownloadFile, target: FileTarget, config: ResolvedOptions, request: Request): ServeOptions {
  return {
    disposition: config.disposition(file, target),
    filename: config.filename(file, target),
    contentType: config.contentType(file, target),
    cacheControl: config.cacheControl,
    headers: config.headers,
    maxRanges: config.maxRanges,
    onError: (error: unknown) => config.onError(error, request),
  };
}

function planContext(request: Request, file: DownloadFile, options: ServeOptions, headers: Headers): PlanContext {
  return { method: request.method, disposition: options.disposition, filename: options.filename ?? file.name, contentType: headers.get('content-type') ?? '' };
}

/** What the `onDownload` event says about a refusal: its reason, else the verdict. */
function refusalReason(verdict: AuthorizeResult | undefined): string {
  if (verdict instanceof Response) return 'response';
  if (isRefusal(verdict)) return verdict.reason ?? verdict.refuse;
  return verdict === 'unauthenticated' || verdict === 'not-found' ? verdict : 'forbidden';
}

/** Map an authorize verdict other than `true` to a response. Anything unexpected denies. */
function refusal(verdict: AuthorizeResult | undefined, config: ResolvedOptions): Response {
  if (verdict instanceof Response) return verdict;
  const kind = isRefusal(verdict) ? verdict.refuse : verdict;
  if (kind === 'unauthenticated') return errorResponse(401, { 'www-authenticate': config.wwwAuthenticate });
  if (kind === 'not-found') return errorResponse(404);
  if (kind === 'gone' && isRefusal(verdict)) return errorResponse(410);
  return errorResponse(403);
}
