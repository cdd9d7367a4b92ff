/** Fixed, body-safe responses for errors: no paths, no OS text, no success validators. */

const reasons: Record<number, string> = {
  400: 'Bad Request',
  401: 'Unauthorized',
  403: 'Forbidden',
  404: 'Not Found',
  410: 'Gone',
  412: 'Precondition Failed',
  416: 'Range Not Satisfiable',
  500: 'Internal Server Error',
  502: 'Bad Gateway',
  503: 'Service Unavailable',
  504: 'Gateway Timeout',
};

/** A short `text/plain` response; `extra` adds headers such as Content-Range or WWW-Authenticate. */
export function errorResponse(status: number, extra?: Record<string, string>): Response {
  const body = `${reasons[status] ?? 'Error'}\n`;
  const headers = new Headers({
    'content-type': 'text/plain; charset=utf-8',
    'content-length': String(body.length),
    // Nothing about an error may be cached as if it were the file.
    'cache-control': 'no-store',
    'x-content-type-options': 'nosniff',
    ...extra,
  });
  return new Response(body, { status, headers });
}

/**
 * `response` without its content when it answers a HEAD (RFC 9110 §9.3.2: the same header fields,
 * no content). Node drops a HEAD body on the wire, but a `Response` handed to another runtime or a
 * test would carry "Not Found" or "Precondition Failed" as content.
 */
export function forMethod(method: string, response: Response): Response {
  if (method !== 'HEAD' || response.body === null) return response;
  void response.body.cancel().catch(() => {});
  return new Response(null, { status: response.status, statusText: response.statusText, headers: response.headers });
}
