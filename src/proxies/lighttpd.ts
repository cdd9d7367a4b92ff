/** lighttpd behind mod_proxy: `X-Sendfile` (percent-encoded), limited by `x-sendfile-docroot`. */
import { invalidOption } from '../errors.js';
import type { ProxyBackend } from './backend.js';
import { offloadBackend } from './offload.js';
import { percentEncodePath, type OffloadRules } from './rules.js';

export interface LighttpdOptions {
  /**
   * Source prefix → path lighttpd sees. Defaults to identity (same filesystem).
   * @default { '/': '/' }
   */
  rules?: OffloadRules;
}

export function lighttpd(options: LighttpdOptions = {}): ProxyBackend {
  if (typeof options !== 'object' || options === null) invalidOption('lighttpd', 'takes { rules? }');
  return offloadBackend({
    name: 'lighttpd',
    // Only X-Sendfile is honoured behind mod_proxy (X-LIGHTTPD-send-file is FastCGI-only).
    header: 'x-sendfile',
    accepts: ['filesystem'],
    // lighttpd 1.4 answers If-None-Match / If-Modified-Since but ignores If-Match and
    // If-Unmodified-Since (a resumed download would be stitched onto a changed file): the app
    // evaluates all of them against the validators it sends, which lighttpd passes through.
    handlesPreconditions: false,
    rules: options.rules ?? { '/': '/' },
    encode: percentEncodePath,
  });
}
