/** nginx: `X-Accel-Redirect` to an `internal;` location (see example-app/deploy/nginx.conf). */
import { invalidOption } from '../errors.js';
import type { ProxyBackend } from './backend.js';
import { offloadBackend } from './offload.js';
import { percentEncodePath, type OffloadRules } from './rules.js';

export interface NginxOptions {
  /**
   * Source prefix → internal location: nginx serves files on disk from an `internal;` location.
   * Omitted, files on disk are streamed by the app and only remote files (blob, URL) go to nginx;
   * required when `remote` is `false`, since nothing would be offloaded.
   * @example { '/srv/media': '/_protected/media' }
   */
  rules?: OffloadRules;
  /** `X-Accel-Limit-Rate` in bytes per second (0 = unlimited). */
  limitRate?: number;
  /** `X-Accel-Buffering`: whether nginx buffers the file. */
  buffering?: boolean;
  /** `X-Accel-Charset` for the offloaded response. */
  charset?: string;
  /** `X-Accel-Expires`: seconds, `@<unix time>`, or 0 for "do not cache in nginx". */
  expires?: number | `@${number}`;
  /**
   * Remote files (blob, URL): the internal location that `proxy_pass`es to the URL in `header`
   * (see the shipped nginx.conf), so nginx fetches the object and neither the app nor the client
   * handles storage bytes or URLs. `false` streams remote files through the app instead.
   * @default { location: '/_protected/remote/', header: 'x-accel-remote-url' }
   */
  remote?: false | { location?: string; header?: string };
}

export function nginx(options: NginxOptions = {}): ProxyBackend {
  if (typeof options !== 'object' || options === null) invalidOption('nginx', 'takes { rules?, remote?, limitRate?, buffering?, charset?, expires? }');
  if (!options.rules && options.remote === false) invalidOption('nginx.rules', 'is required when remote is false: map your source root to an internal location, e.g. { "/srv/media": "/_protected/media" }');
  const extraHeaders: Record<string, string> = {};
  if (options.limitRate !== undefined) {
    if (!Number.isSafeInteger(options.limitRate) || options.limitRate < 0) invalidOption('nginx.limitRate', 'must be a non-negative integer');
    extraHeaders['x-accel-limit-rate'] = String(options.limitRate);
  }
  if (options.buffering !== undefined && typeof options.buffering !== 'boolean') invalidOption('nginx.buffering', 'must be a boolean');
  if (options.buffering !== undefined) extraHeaders['x-accel-buffering'] = options.buffering ? 'yes' : 'no';
  if (options.charset !== undefined) {
    if (!/^[A-Za-z0-9._-]+$/.test(options.charset)) invalidOption('nginx.charset', 'must be a charset token like utf-8');
    extraHeaders['x-accel-charset'] = options.charset;
  }
  if (options.expires !== undefined) {
    if (!/^@?\d+$/.test(String(options.expires))) invalidOption('nginx.expires', 'must be seconds or @unix-time');
    extraHeaders['x-accel-expires'] = String(options.expires);
  }
  return offloadBackend({
    name: 'nginx',
    remote: remoteLocation(options.remote),
    header: 'x-accel-redirect',
    accepts: ['filesystem'],
    // nginx answers Range, If-None-Match and If-Modified-Since from its own ETag/Last-Modified.
    handlesPreconditions: true,
    rules: options.rules ?? null,
    // nginx percent-decodes the value; `%`, `?` and `#` must arrive encoded.
    encode: percentEncodePath,
    extraHeaders,
  });
}

function remoteLocation(option: NginxOptions['remote']): { location: string; header: string } | undefined {
  if (option === false) return undefined;
  if (option !== undefined && (typeof option !== 'object' || option === null)) invalidOption('nginx.remote', 'must be false or { location, header }');
  const location = option?.location ?? '/_protected/remote/';
  const header = (option?.header ?? 'x-accel-remote-url').toLowerCase();
  if (typeof location !== 'string' || !/^\/[\x21-\x7e]*$/.test(location) || location.includes('..')) invalidOption('nginx.remote.location', 'must be an internal location path like /_protected/remote/');
  // The URL header must be one nginx hides from clients and one the app does not otherwise send.
  if (!/^x-accel-[a-z0-9-]+$/.test(header) || header === 'x-accel-redirect') invalidOption('nginx.remote.header', 'must be an X-Accel-* header name other than X-Accel-Redirect');
  return { location, header };
}
