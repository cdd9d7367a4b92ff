/** Caddy: `reverse_proxy` + `handle_response` serving the path in `X-Accel-Redirect`. */
import { invalidOption } from '../errors.js';
import type { ProxyBackend } from './backend.js';
import { offloadBackend } from './offload.js';
import { percentEncodePath, type OffloadRules } from './rules.js';

export interface CaddyOptions {
  /**
   * Source prefix → path Caddy's `file_server` sees. Defaults to identity (same filesystem).
   * @default { '/': '/' }
   */
  rules?: OffloadRules;
}

export function caddy(options: CaddyOptions = {}): ProxyBackend {
  if (typeof options !== 'object' || options === null) invalidOption('caddy', 'takes { rules? }');
  return offloadBackend({
    name: 'caddy',
    // The shipped Caddyfile matches this header in handle_response and decodes it once.
    header: 'x-accel-redirect',
    accepts: ['filesystem'],
    handlesPreconditions: true,
    rules: options.rules ?? { '/': '/' },
    encode: percentEncodePath,
  });
}
