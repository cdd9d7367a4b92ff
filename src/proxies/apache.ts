/** Apache mod_xsendfile: `X-Sendfile` with an absolute path inside `XSendFilePath`. */
import { invalidOption } from '../errors.js';
import type { ProxyBackend } from './backend.js';
import { offloadBackend } from './offload.js';
import { percentEncodePath, type OffloadRules } from './rules.js';

export interface ApacheOptions {
  /**
   * Source prefix → path Apache sees. Defaults to identity (same filesystem).
   * @default { '/': '/' }
   */
  rules?: OffloadRules;
  /**
   * How the path is written: `raw` UTF-8 bytes for mod_xsendfile 0.12 (Debian's, which does not
   * decode), `percent` for 1.0 (which decodes `%XX`).
   * @default 'raw'
   */
  encoding?: 'raw' | 'percent';
}

export function apache(options: ApacheOptions = {}): ProxyBackend {
  if (typeof options !== 'object' || options === null) invalidOption('apache', 'takes { rules?, encoding? }');
  // Anything else would silently fall back to raw bytes, which mod_xsendfile 1.0 misreads.
  if (options.encoding !== undefined && options.encoding !== 'raw' && options.encoding !== 'percent') invalidOption('apache.encoding', "must be 'raw' or 'percent'");
  return offloadBackend({
    name: 'apache',
    header: 'x-sendfile',
    accepts: ['filesystem'],
    // mod_xsendfile 0.12 answers conditionals with a constant ETag "0": the app evaluates them.
    handlesPreconditions: false,
    rules: options.rules ?? { '/': '/' },
    encode: options.encoding === 'percent' ? percentEncodePath : rawPathBytes,
  });
}

/**
 * UTF-8 bytes as a Latin-1 "binary string": web Headers send U+0000–U+00FF as single bytes.
 * Paths with control characters or a trailing space cannot travel raw; the backend streams those.
 */
function rawPathBytes(path: string): string {
  return Buffer.from(path, 'utf8').toString('latin1');
}
