/** The shape every proxy backend shares, and the "no proxy" backend. */
import type { DownloadFile } from '../types.js';

export type BackendName = 'nginx' | 'apache' | 'lighttpd' | 'caddy' | 'none';

/** Where the proxy will find the file, or why the handler must stream it itself. */
export type OffloadPlan = { kind: 'offload'; location: string } | { kind: 'stream'; reason?: string };

export interface ProxyBackend {
  readonly name: BackendName;
  /**
   * Whether the proxy answers If-None-Match / If-Modified-Since / Range from its own validators.
   * When false the handler evaluates preconditions before offloading.
   */
  readonly handlesPreconditions: boolean;
  /** Decide, without I/O, whether this file can be handed to the proxy. */
  plan(file: DownloadFile): OffloadPlan;
  /** The empty 200 carrying the offload header plus the representation headers. */
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
