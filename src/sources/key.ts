/** Turning route params into a safe relative key: the first line of traversal defence. */
import type { RouteParams } from '../types.js';

export interface KeyRules {
  /** Refuse any segment starting with `.` (`.env`, `.git/config`). */
  denyDotfiles: boolean;
}

/**
 * The segments of a relative key, or `null` when the key must be refused (served as 404).
 * Input is already percent-decoded exactly once (by Next for params); it is never decoded again,
 * so `%2e%2e` arriving here is a literal name, not `..`.
 */
export function keySegments(key: string | readonly string[], rules: KeyRules): string[] | null {
  const segments = typeof key === 'string' ? key.split('/') : key.flatMap((part) => part.split('/'));
  if (segments.length === 0) return null;
  for (const segment of segments) {
    if (!isSafeSegment(segment, rules)) return null;
  }
  return segments;
}

/** One segment names a file below the root: the checks `keySegments` applies to each. */
export function isSafeSegment(segment: string, rules: KeyRules): boolean {
  // Empty (`a//b`, leading `/`), `.` and `..` never name a file below the root.
  if (segment === '' || segment === '.' || segment === '..') return false;
  // NUL truncates paths in C APIs; backslash is a separator on Windows and in some proxies.
  if (segment.includes('\0') || segment.includes('\\')) return false;
  // A lone surrogate becomes U+FFFD when Node encodes the path: two keys would open one file.
  if (!segment.isWellFormed()) return false;
  if (rules.denyDotfiles && segment.startsWith('.')) return false;
  return true;
}

/** The default key: the catch-all segment `param` of the route (`app/files/[...path]`). */
export function keyFromParam(params: RouteParams, param: string): string | readonly string[] | null {
  const value = params[param];
  if (value === undefined) return null;
  return value;
}
