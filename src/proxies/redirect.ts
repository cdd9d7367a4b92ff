/**
 * `redirect()`: the serverless offload. A blob is answered with a redirect to a short-lived URL
 * presigned for exactly the request's method, so the bytes never pass through the function.
 */
import { invalidOption } from '../errors.js';
import { setLengthHint } from '../length-hint.js';
import type { DownloadFile } from '../types.js';
import type { OffloadPlan, PlanContext, ProxyBackend } from './backend.js';

export interface RedirectOptions {
  /**
   * Also redirect to public blobs. Their URL never expires and is secret only by being hard to
   * guess: a client redirected once keeps a link that works forever, for anyone it shares it with.
   * Off: public blobs are streamed by the app (authorization then holds for every download).
   * @default false
   */
  public?: boolean;
  /**
   * Status of the redirect: 302 Found or 307 Temporary Redirect (both keep GET and HEAD).
   * @default 302
   */
  status?: 302 | 307;
}

/**
 * @example
 * // On Vercel: DOWNLOADVIEW_BACKEND=redirect, or explicitly
 * export const { GET, HEAD } = downloadHandler({ source: blob({ access: 'private' }), backend: redirect() });
 */
export function redirect(options: RedirectOptions = {}): ProxyBackend {
  if (typeof options !== 'object' || options === null) invalidOption('redirect', 'takes { public?, status? }');
  if (options.public !== undefined && typeof options.public !== 'boolean') invalidOption('redirect.public', 'must be a boolean');
  const status = options.status ?? 302;
  if (status !== 302 && status !== 307) invalidOption('redirect.status', 'must be 302 or 307');
  const allowPublic = options.public === true;
  return {
    name: 'redirect',
    handlesPreconditions: false,
    plan: (file, context) => planRedirect(file, context, allowPublic),
    respond(location) {
      const headers = new Headers({
        location,
        // The presigned URL is for this client, now: no cache may keep it or hand it to another.
        'cache-control': 'private, no-store',
        // The URL carries a signature: it must not leak to the next site in a Referer.
        'referrer-policy': 'no-referrer',
      });
      setLengthHint(headers, 0);
      return new Response(null, { status, headers });
    },
  };
}

/**
 * Redirect only when the storage will answer what the app would: the same download name, type and
 * disposition. `?download=1` makes Vercel Blob send `attachment` with the blob's own name; without
 * it the blob's stored Content-Disposition applies. Anything else is streamed, with the reason.
 */
function planRedirect(file: DownloadFile, context: PlanContext, allowPublic: boolean): OffloadPlan {
  const remote = file.remote;
  if (file.kind !== 'blob' || !remote?.redirectable) return { kind: 'stream', reason: `redirect cannot send clients to ${file.kind} files; streamed by the app` };
  if (remote.permanent && !allowPublic) return { kind: 'stream', reason: 'public blobs are streamed under redirect unless redirect({ public: true }) (their URL never expires)' };
  if (context.filename !== remote.filename) return { kind: 'stream', reason: 'the download name differs from the blob name, which a redirect cannot change; streamed by the app' };
  if (essence(context.contentType) !== essence(remote.contentType ?? '')) {
    return { kind: 'stream', reason: "the Content-Type differs from the blob's stored type, which a redirect cannot change; streamed by the app" };
  }
  const inline = context.disposition === 'inline';
  if (inline && !/^\s*inline\b/i.test(remote.contentDisposition ?? '')) {
    return { kind: 'stream', reason: "inline was asked but the blob is stored as an attachment, which a redirect cannot change; streamed by the app" };
  }
  const method = context.method === 'HEAD' ? 'HEAD' : 'GET';
  return {
    kind: 'offload',
    remote: true,
    location: async () => {
      const url = new URL(await remote.url(method));
      if (!inline) url.searchParams.set('download', '1');
      return url.href;
    },
  };
}

function essence(type: string): string {
  return type.split(';')[0]!.trim().toLowerCase();
}
