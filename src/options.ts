/** Option types, defaults and validation; everything is checked when the factory is called. */
import { DownloadError, invalidOption, typeName } from './errors.js';
import { isValidMediaType } from './http/content-type.js';
import { isFieldValue, trimFieldValue } from './http/field-value.js';
import type { ProxyBackend } from './proxies/backend.js';
import { backendFromEnv } from './proxies/from-env.js';
import type { DownloadHook } from './lifecycle.js';
import type { DownloadFile, FileTarget, RequestContext, Source } from './types.js';

/**
 * What `authorize` may return. Only `true` allows; anything else denies (fail closed):
 * `false`/`'forbidden'` → 403, `'unauthenticated'` → 401, `'not-found'` → 404 (hide the file),
 * a {@link Refusal} (one of those, or `'gone'` → 410, with a reason for the `onDownload` hook),
 * or your own `Response` (e.g. a redirect to the login page).
 */
export type AuthorizeResult = boolean | 'forbidden' | 'unauthenticated' | 'not-found' | Refusal | Response;

/**
 * A refusal that says why, for the application only: the client gets the plain status, the
 * `onDownload` event gets `reason`. Signed links refuse this way (`reason: 'signed-link:expired'`).
 * @example return { refuse: 'forbidden', reason: 'quota exceeded' };
 */
export interface Refusal {
  readonly refuse: 'forbidden' | 'unauthenticated' | 'not-found' | 'gone';
  readonly reason?: string;
}

export function isRefusal(verdict: unknown): verdict is Refusal {
  return typeof verdict === 'object' && verdict !== null && !(verdict instanceof Response) && typeof (verdict as Refusal).refuse === 'string';
}

export type Authorize<TRecord = unknown> = (
  request: Request,
  target: FileTarget<TRecord>,
  context: RequestContext,
) => AuthorizeResult | undefined | Promise<AuthorizeResult | undefined>;

/** A fixed value, or one computed per file. */
export type PerFile<T, TRecord> = T | ((file: DownloadFile, target: FileTarget<TRecord>) => T | undefined);

export interface DownloadHandlerOptions<TRecord = unknown> {
  /** Where files come from: `filesystem()`, `virtual()`, `record()`. */
  source: Source<TRecord>;
  /** Permission check, run before anything reveals whether the file exists. */
  authorize?: Authorize<TRecord>;
  /** `true`: save dialog (`attachment`); `false`: show in the browser (`inline`). @default true */
  attachment?: PerFile<boolean, TRecord>;
  /** Download name. @default the file's own name */
  filename?: PerFile<string, TRecord>;
  /** Content-Type. @default from the source, else looked up from the download name by `mime` */
  contentType?: PerFile<string, TRecord>;
  /** Cache-Control for successful responses; `no-transform` is always added. @default 'private' */
  cacheControl?: string;
  /** Extra headers on successful responses (e.g. a Content-Security-Policy). */
  headers?: HeadersInit;
  /**
   * Range-specs allowed in one Range header, counted as written like nginx's `max_ranges` (the
   * shipped nginx config sets 16, so app and proxy agree); more and the header is ignored (200).
   * Overlapping and nearby ranges are then merged, which only lowers the count.
   * @default 16
   * @example maxRanges: 1 // single ranges only: no multipart/byteranges
   */
  maxRanges?: number;
  /** WWW-Authenticate challenge for `'unauthenticated'` (RFC 9110 §15.5.2 requires one). @default 'Bearer' */
  wwwAuthenticate?: string;
  /** Proxy backend; explicit options win over `DOWNLOADVIEW_BACKEND`. @default backendFromEnv() */
  backend?: ProxyBackend;
  /** Receives unexpected errors (500s, failures mid-stream). @default console.error */
  onError?: (error: unknown, request: Request) => void;
  /** Told once per distinct reason when a file is streamed instead of offloaded. @default console.warn */
  onFallback?: (reason: string, request: Request) => void;
  /**
   * Called once per request the handler answered, after the outcome is known (a streamed body:
   * when it ended, was cut by the client, or failed), on a later task: it never delays or breaks
   * the response, and a hook that throws or rejects goes to `onError`. See docs/lifecycle.md.
   * @default none
   * @example onDownload: (event) => audit.log({ user: event.request.headers.get('x-user'), key: event.target?.key, outcome: event.outcome, bytes: event.bytesSent })
   */
  onDownload?: DownloadHook<TRecord>;
}

export interface ResolvedOptions {
  source: Source<unknown>;
  authorize?: Authorize<unknown>;
  disposition: (file: DownloadFile, target: FileTarget) => 'attachment' | 'inline';
  filename: (file: DownloadFile, target: FileTarget) => string | undefined;
  contentType: (file: DownloadFile, target: FileTarget) => string | undefined;
  cacheControl: string;
  headers: Headers;
  maxRanges: number;
  wwwAuthenticate: string;
  backend: ProxyBackend;
  onError: (error: unknown, request: Request) => void;
  reportFallback: (reason: string, request: Request) => void;
  onDownload?: DownloadHook;
}

/** A string `Headers` and Node send as given (ends trimmed): no control characters. */
function isHeaderText(value: unknown): value is string {
  return typeof value === 'string' && isFieldValue(trimFieldValue(value));
}

export function resolveOptions<TRecord>(options: DownloadHandlerOptions<TRecord>): ResolvedOptions {
  if (typeof options !== 'object' || options === null) invalidOption('options', 'must be an object');
  const { source } = options;
  if (typeof source?.locate !== 'function') invalidOption('source', 'must be a source such as filesystem({ root })');
  if (options.authorize !== undefined && typeof options.authorize !== 'function') invalidOption('authorize', 'must be a function');
  // Hooks are called on a later request, where a wrong type would surface as a crash far from its cause.
  for (const hook of ['onDownload', 'onError', 'onFallback'] as const) {
    if (options[hook] !== undefined && typeof options[hook] !== 'function') invalidOption(hook, 'must be a function');
  }
  if (options.cacheControl !== undefined && !isHeaderText(options.cacheControl)) {
    invalidOption('cacheControl', 'must be a header value without control characters');
  }
  if (options.maxRanges !== undefined && !(Number.isSafeInteger(options.maxRanges) && options.maxRanges >= 1)) {
    invalidOption('maxRanges', 'must be an integer >= 1');
  }
  if (typeof options.contentType === 'string' && !isValidMediaType(options.contentType)) {
    invalidOption('contentType', 'must be a media type like application/pdf');
  }
  if (options.backend !== undefined && typeof options.backend?.plan !== 'function') invalidOption('backend', 'must be nginx(), apache(), lighttpd(), caddy(), redirect() or none()');
  const wwwAuthenticate = options.wwwAuthenticate ?? 'Bearer';
  if (!isHeaderText(wwwAuthenticate)) {
    invalidOption('wwwAuthenticate', 'must be a header value without control characters');
  }

  let headers: Headers;
  try {
    headers = new Headers(options.headers);
  } catch {
    return invalidOption('headers', 'must be valid header names and values');
  }
  // `Headers` lets other control characters through; Node would then refuse every response.
  for (const [name, value] of headers) {
    if (!isFieldValue(value)) invalidOption('headers', `"${name}" must not contain control characters`);
  }

  const onError = options.onError ?? ((error: unknown) => console.error('[next-downloadview]', error));
  const reported = new Set<string>();
  const onFallback = options.onFallback ?? ((reason: string) => console.warn(`[next-downloadview] ${reason}`));

  return {
    source: source as Source<unknown>,
    authorize: options.authorize as Authorize<unknown> | undefined,
    disposition: perFile(options.attachment, 'attachment', (value) => typeof value === 'boolean', (attachment) => (attachment === false ? 'inline' : 'attachment')),
    filename: perFile(options.filename, 'filename', (value) => typeof value === 'string' && value !== '', (value) => value),
    contentType: perFile(options.contentType, 'contentType', (value) => typeof value === 'string' && isValidMediaType(value), (value) => value),
    cacheControl: withNoTransform(options.cacheControl ?? 'private'),
    headers,
    maxRanges: options.maxRanges ?? 16,
    wwwAuthenticate,
    backend: options.backend ?? backendFromEnv(),
    onError,
    onDownload: options.onDownload as DownloadHook | undefined,
    reportFallback(reason, request) {
      // Once per reason: a misconfiguration should be noticed, not flood the log per request.
      if (reported.has(reason)) return;
      reported.add(reason);
      onFallback(reason, request);
    },
  };
}

/** Normalise a fixed-or-per-file option into a function; fixed values are validated now. */
function perFile<T, R>(
  value: PerFile<T, never> | undefined,
  name: string,
  isValid: (value: unknown) => boolean,
  map: (value: T | undefined) => R,
): (file: DownloadFile, target: FileTarget) => R {
  if (typeof value === 'function') {
    // Internally the record type is erased; the public option keeps it for the user's callback.
    const compute = value as unknown as (file: DownloadFile, target: FileTarget) => T | undefined;
    return (file, target) => {
      const result = compute(file, target);
      // Checked like a fixed value, per request: a wrong type (or a promise) is the app's bug, named.
      if (result !== undefined && !isValid(result)) {
        throw new DownloadError('source_error', `${name} returned a value of the wrong type (${typeName(result)})`);
      }
      return map(result);
    };
  }
  if (value !== undefined && !isValid(value)) invalidOption(name, 'has the wrong type');
  const fixed = map(value as T | undefined);
  return () => fixed;
}

/** RFC 9111 §5.2.2.6: no-transform stops Next (and other intermediaries) from gzipping ranges. */
function withNoTransform(cacheControl: string): string {
  // RFC 9111 §5.2: a comma-separated list of directives (split and trim are linear).
  if (cacheControl.split(',').some((directive) => directive.trim().toLowerCase() === 'no-transform')) return cacheControl;
  return cacheControl.trim() === '' ? 'no-transform' : `${cacheControl}, no-transform`;
}
