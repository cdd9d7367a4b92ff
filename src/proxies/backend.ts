/** The shape every proxy backend shares, and the "no proxy" backend. */
import type { DownloadFile } from '../types.js';

export type BackendName = 'nginx' | 'apache' | 'lighttpd' | 'caddy' | 'redirect' | 'none';

/**
 * Where the proxy will find the file, or why the handler must stream it itself. A remote file's
 * location is a URL made on demand (presigning may call the store), only once the app knows no
 * 304/412 answers the request first: the handler evaluates those itself for such plans.
 */
export type OffloadPlan =
  | { kind: 'offload'; location: string }
  | { kind: 'offload'; location: () => Promise<string>; remote: true }
  | { kind: 'stream'; reason?: string };

/** What the response to this request will say, for backends that must reproduce it elsewhere. */
export interface PlanContext {
  method: string;
  disposition: 'attachment' | 'inline';
  /** The download name the response would carry. */
  filename: string;
  /** The Content-Type the response would carry. */
  contentType: string;
}

export interface ProxyBackend {
  readonly name: BackendName;
  /**
   * Whether the proxy answers If-None-Match / If-Modified-Since / Range from its own validators.
   * When false the handler evaluates preconditions before offloading.
   */
  readonly handlesPreconditions: boolean;
  /** Decide, without I/O, whether this file can be handed to the proxy. */
  plan(file: DownloadFile, context: PlanContext): OffloadPlan;
  /** The empty 200 carrying the offload header plus the representation headers (a redirect for `redirect()`). */
  respond(location: string, headers: Headers): Response;
}

/** No proxy in front: the handler streams every file itself (development, Vercel, plain `next start`). */
export function none(): ProxyBackend {
  return {
    name: 'none',
    handlesPreconditions: false,
    plan: () => ({ kind: 'stream' }),
    respond: () => {
      throw new Error('the none() backend never offloads');
    },
  };
}
