/** Ordered prefix rules mapping a source location to the proxy's location. */
import { invalidOption } from '../errors.js';

export interface OffloadRule {
  /** Source prefix, e.g. the filesystem root `/srv/media`. */
  from: string;
  /** Proxy location replacing it, e.g. nginx's internal `/_protected/media`. */
  to: string;
}

/** Rules as objects, or a `from=to` map (insertion order is match order). */
export type OffloadRules = readonly OffloadRule[] | Readonly<Record<string, string>>;

/**
 * Parse and validate `DOWNLOADVIEW_RULES`: `'/srv/media=/_protected/media,/srv/other=/_other'`.
 * Errors name `option` (the variable the user wrote), not the backend option it feeds.
 */
export function parseRulesText(text: string, option = 'DOWNLOADVIEW_RULES'): OffloadRule[] {
  const rules = text
    .split(',')
    .map((part) => part.trim())
    .filter((part) => part !== '')
    .map((part) => {
      const separator = part.indexOf('=');
      if (separator < 1) invalidOption(option, `entry "${part}" must look like /source/prefix=/proxy/location`);
      // A second `=` is a mistyped separator (`;` between entries) far more often than a path
      // containing `=`; such paths can still be given as the backend's `rules` option.
      if (part.includes('=', separator + 1)) invalidOption(option, `entry "${part}" has more than one "="; separate entries with ","`);
      return { from: part.slice(0, separator).trim(), to: part.slice(separator + 1).trim() };
    });
  return normaliseRules(rules, option);
}

/** Validate and normalise rules once, at factory time. At least one rule: none would never offload. */
export function normaliseRules(rules: OffloadRules, option: string): OffloadRule[] {
  if (typeof rules !== 'object' || rules === null) invalidOption(option, 'must be a list of { from, to } or a { from: to } map');
  const list = Array.isArray(rules) ? (rules as readonly OffloadRule[]) : Object.entries(rules).map(([from, to]) => ({ from, to }));
  if (list.length === 0) invalidOption(option, 'names no rule, so nothing would ever be offloaded (e.g. /srv/media=/_protected/media)');
  return list.map(({ from, to }) => {
    if (typeof from !== 'string' || !from.startsWith('/')) invalidOption(option, `source prefix "${String(from)}" must be an absolute path`);
    if (typeof to !== 'string' || !to.startsWith('/')) invalidOption(option, `proxy location "${String(to)}" must start with /`);
    for (const value of [from, to]) {
      if (/[\0\r\n\\]/.test(value) || value.split('/').includes('..')) invalidOption(option, `"${value}" must not contain NUL, CR, LF, backslash or ..`);
    }
    return { from: trimSlash(from), to: trimSlash(to) };
  });
}

/**
 * Map `location` through the first rule whose prefix matches on a path-segment boundary
 * (`/srv/media` matches `/srv/media/a` but not `/srv/media2/a`). Returns the mapped location
 * and the remainder (`/a`), or `undefined` when no rule matches.
 */
export function applyRules(rules: readonly OffloadRule[], location: string): { to: string; rest: string } | undefined {
  for (const rule of rules) {
    if (rule.from === '' || location === rule.from || location.startsWith(`${rule.from}/`)) {
      return { to: rule.to, rest: location.slice(rule.from.length) };
    }
  }
  return undefined;
}

/** `/srv/media/` → `/srv/media`; `/` → `` (matches everything). */
function trimSlash(value: string): string {
  // By index: `/\/+$/` retries at every slash of an inner run (quadratic).
  let end = value.length;
  while (end > 0 && value.charCodeAt(end - 1) === 0x2f) end -= 1;
  return value.slice(0, end);
}

/** Percent-encode a path as UTF-8, keeping `/` (every `%`, `?`, `#`, space and non-ASCII encoded). */
export function percentEncodePath(path: string): string | undefined {
  try {
    return path.split('/').map(encodeURIComponent).join('/');
  } catch {
    return undefined; // lone surrogates: not a name any proxy could open
  }
}
