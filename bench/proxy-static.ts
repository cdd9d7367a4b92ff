/**
 * The reference for an offloaded 100 MiB download is the same proxy serving the file itself: the same
 * process, the same rendered example-app/deploy config, plus one location that serves the media root
 * at STATIC_PREFIX. Each function below adds that location to a rendered config and throws, naming
 * the anchor it looked for, when the shipped config no longer has it (so a changed config cannot
 * silently turn the reference into something else).
 */
import type { ProxyKind } from '../test/helpers/proxies.js';
import { REMOTE_DIRECT_PREFIX, STATIC_PREFIX } from './plan.js';

export function withStaticLocation(kind: ProxyKind, config: string, mediaRoot: string): string {
  switch (kind) {
    case 'nginx':
      return nginxStatic(config);
    case 'apache':
      return apacheStatic(config, mediaRoot);
    case 'lighttpd':
      return lighttpdStatic(config, mediaRoot);
    case 'caddy':
      return caddyStatic(config, mediaRoot);
  }
}

/**
 * nginx: a copy of the offload target's own location (`alias`, `disable_symlinks`, `try_files`,
 * `max_ranges`, the `add_header` lines) without `internal;`, so the static file is served by exactly
 * the directives that serve the offloaded one.
 */
function nginxStatic(config: string): string {
  const anchor = 'location ^~ /_protected/media/ {';
  const start = config.indexOf(anchor);
  if (start < 0) throw new Error(`withStaticLocation(nginx): the config has no "${anchor}" block to copy`);
  const end = closingBrace(config, start + anchor.length);
  const copy = config
    .slice(start, end + 1)
    .replace(anchor, `location ^~ ${STATIC_PREFIX} {`)
    .split('\n')
    .filter((line) => line.trim() !== 'internal;')
    .join('\n');
  if (/^\s*internal;/m.test(copy)) throw new Error('withStaticLocation(nginx): the copied location still says internal');
  return `${config.slice(0, end + 1)}\n\n        # Added by bench/proxy-static.ts: the same location, public, for the static reference.\n        ${copy}${config.slice(end + 1)}`;
}

/**
 * The reference for nginx's remote offload (issue #16): nginx proxying the object itself, with the
 * directives of the shipped `/_protected/remote/` location (resolver, SNI, certificate checks,
 * cleared credentials, identity encoding, hidden storage headers) copied, not retyped. Public,
 * and its URL is `origin` + `prefix` + the path below REMOTE_DIRECT_PREFIX instead of the app's
 * `X-Accel-Remote-Url`.
 */
export function withRemoteDirectLocation(config: string, origin: string, prefix: string): string {
  const anchor = 'location ^~ /_protected/remote/ {';
  const urlLine = 'set $download_remote_url $upstream_http_x_accel_remote_url;';
  const start = config.indexOf(anchor);
  if (start < 0) throw new Error(`withRemoteDirectLocation: the config has no "${anchor}" block to copy`);
  const end = closingBrace(config, start + anchor.length);
  const block = config.slice(start, end + 1);
  if (!block.includes(urlLine)) throw new Error(`withRemoteDirectLocation: the remote location no longer says "${urlLine}"`);
  const copy = block
    .replace(anchor, `location ~ ^${REMOTE_DIRECT_PREFIX}(?<bench_object>.+)$ {`)
    .replace(urlLine, `set $download_remote_url ${origin}/${prefix}$bench_object;`)
    .split('\n')
    .filter((line) => line.trim() !== 'internal;')
    .join('\n');
  return `${config.slice(0, end + 1)}\n\n        # Added by bench/proxy-static.ts: the same location, public, proxying the object directly.\n        ${copy}${config.slice(end + 1)}`;
}

/** Index of the `}` closing the block whose body starts at `from` (comments and quotes skipped). */
function closingBrace(text: string, from: number): number {
  let depth = 1;
  for (let index = from; index < text.length; index += 1) {
    const character = text[index];
    if (character === '#') index = text.indexOf('\n', index) < 0 ? text.length : text.indexOf('\n', index);
    else if (character === '"') index = text.indexOf('"', index + 1);
    else if (character === '{') depth += 1;
    else if (character === '}' && --depth === 0) return index;
  }
  throw new Error('withStaticLocation(nginx): unbalanced braces in the config');
}

/** Inserts `lines` before the first line for which `isAnchor` holds. */
function insertBefore(config: string, isAnchor: (line: string) => boolean, lines: string[], what: string): string {
  const all = config.split('\n');
  const index = all.findIndex(isAnchor);
  if (index < 0) throw new Error(`withStaticLocation: ${what}`);
  return [...all.slice(0, index), ...lines, ...all.slice(index)].join('\n');
}

/**
 * Apache: the media root aliased at STATIC_PREFIX and excluded from `ProxyPass` (an exclusion must
 * come before the `ProxyPass "/"` it carves out of). The shipped `<Location "/">` grants access and
 * turns XSendFile on for every path, this one included (it only acts on an app's X-Sendfile header).
 */
function apacheStatic(config: string, mediaRoot: string): string {
  const modules = /^LoadModule proxy_module "(.+)\/mod_proxy\.so"$/m.exec(config)?.[1];
  if (!modules) throw new Error('withStaticLocation(apache): no `LoadModule proxy_module ".../mod_proxy.so"` line to find the modules directory');
  return insertBefore(
    config,
    (line) => line.startsWith('ProxyPass "/"'),
    [
      '# Added by bench/proxy-static.ts: the media root served by Apache itself, for the static reference.',
      `LoadModule alias_module "${modules}/mod_alias.so"`,
      `ProxyPass "${STATIC_PREFIX}" "!"`,
      `Alias "${STATIC_PREFIX}" "${mediaRoot}/"`,
    ],
    'the config has no `ProxyPass "/"` line to put the static location before',
  );
}

/**
 * lighttpd: below STATIC_PREFIX no proxy backend, and mod_alias maps the path onto the media root
 * for mod_staticfile, which lighttpd always loads. The shipped `server.follow-symlink = "disable"`
 * applies here too.
 */
function lighttpdStatic(config: string, mediaRoot: string): string {
  if (!/^proxy\.server = /m.test(config)) throw new Error('withStaticLocation(lighttpd): the config has no top-level `proxy.server` to override');
  return [
    config.trimEnd(),
    '',
    '# Added by bench/proxy-static.ts: the media root served by lighttpd itself, for the static reference.',
    'server.modules += ( "mod_alias" )',
    `$HTTP["url"] =^ "${STATIC_PREFIX}" {`,
    '    proxy.server = ()',
    `    alias.url = ( "${STATIC_PREFIX}" => "${mediaRoot}/" )`,
    '}',
    '',
  ].join('\n');
}

/**
 * Caddy: a `handle_path` before the `reverse_proxy` (Caddy orders `handle_path` first), serving the
 * media root with `root` + `file_server` as the shipped `handle_response` does for offloaded files.
 */
function caddyStatic(config: string, mediaRoot: string): string {
  return insertBefore(
    config,
    (line) => /^\s*reverse_proxy\s/.test(line),
    [
      '\t# Added by bench/proxy-static.ts: the media root served by Caddy itself, for the static reference.',
      `\thandle_path ${STATIC_PREFIX}* {`,
      `\t\troot * "${mediaRoot}"`,
      '\t\tfile_server',
      '\t}',
      '',
    ],
    'the config has no `reverse_proxy` line to put the static location before',
  );
}
