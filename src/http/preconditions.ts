/** Conditional requests: evaluate If-* preconditions in RFC 9110 §13.2.2 order, and If-Range. */

import {
  parseETagCondition,
  parseEntityTag,
  strongMatch,
  weakMatch,
  type ETagCondition,
  type EntityTag,
} from './etag.js';
import { trimFieldValue } from './field-value.js';
import { parseHttpDate } from './http-date.js';

/** The current representation's validators, as the response will send them. */
export interface Validators {
  /** Full entity-tag with quotes (and `W/` when weak), e.g. `"abc"`. */
  etag?: string;
  lastModified?: Date;
}

/** What to answer: carry on (200/206), 304 Not Modified, or 412 Precondition Failed. */
export type PreconditionOutcome = 'proceed' | 'not-modified' | 'precondition-failed';

/**
 * Evaluate `If-Match`, `If-Unmodified-Since`, `If-None-Match` and `If-Modified-Since` in the
 * order of RFC 9110 §13.2.2, for a representation that exists. `If-Range` is separate
 * ({@link isRangeFresh}). Dates compare at one-second resolution, the precision of HTTP-date.
 * @example evaluatePreconditions('GET', new Headers({ 'if-none-match': '"a"' }), { etag: '"a"' }) // 'not-modified'
 */
export function evaluatePreconditions(method: string, headers: Headers, validators: Validators): PreconditionOutcome {
  const ifMatch = headers.get('if-match');
  const ifUnmodifiedSince = headers.get('if-unmodified-since');
  const ifNoneMatch = headers.get('if-none-match');
  const ifModifiedSince = headers.get('if-modified-since');
  // Most requests carry none of them: nothing to parse.
  if (ifMatch === null && ifUnmodifiedSince === null && ifNoneMatch === null && ifModifiedSince === null) return 'proceed';

  const current = validators.etag === undefined ? undefined : parseEntityTag(validators.etag);
  const lastModified = validators.lastModified === undefined ? undefined : seconds(validators.lastModified);
  const safe = method === 'GET' || method === 'HEAD';

  // Step 1, RFC 9110 §13.1.1: If-Match uses the strong comparison; `*` is true because the
  // representation exists; a malformed list matches nothing.
  if (ifMatch !== null) {
    if (!matches(parseETagCondition(ifMatch), current, strongMatch)) return 'precondition-failed';
  } else {
    // Step 2, §13.1.4: only without If-Match. Ignored when the date is invalid or there is no
    // modification date; false when the representation changed after the date.
    const since = parseHttpDate(ifUnmodifiedSince);
    if (since !== undefined && lastModified !== undefined && lastModified > since.getTime()) {
      return 'precondition-failed';
    }
  }

  // Step 3, §13.1.2: If-None-Match uses the weak comparison; `*` matches because the
  // representation exists; a malformed list matches nothing (the condition stays true).
  if (ifNoneMatch !== null) {
    if (matches(parseETagCondition(ifNoneMatch), current, weakMatch)) {
      return safe ? 'not-modified' : 'precondition-failed';
    }
    return 'proceed';
  }

  // Step 4, §13.1.3: only without If-None-Match and only for GET/HEAD. Ignored when the date is
  // invalid (a list of dates is invalid too) or there is no modification date.
  if (safe && lastModified !== undefined) {
    const since = parseHttpDate(ifModifiedSince);
    // §13.1.3: the timestamp is read "in terms of the origin server's clock", so one from the
    // future is not a date this server has seen; RFC 2616 §14.25 called it invalid. Ignoring it
    // stops a client with a fast clock from pinning a stale copy.
    if (since !== undefined && since.getTime() <= Date.now() && lastModified <= since.getTime()) {
      return 'not-modified';
    }
  }
  return 'proceed';
}

/**
 * Whether a `Range` may be honoured under `If-Range` (RFC 9110 §13.1.5). Absent: true. An
 * entity-tag: true only on a strong match with a strong current etag (a weak tag on either side
 * never matches). An HTTP-date: true only when it equals `lastModified` to the second and that
 * second is over, so the date is a strong validator (§8.8.2.2). Anything else: false, meaning
 * send the whole representation with 200.
 * @example isRangeFresh('"a"', { etag: '"a"' }) // true
 */
export function isRangeFresh(ifRange: string | null, validators: Validators): boolean {
  if (ifRange === null) return true;
  const value = trimFieldValue(ifRange);
  // §13.1.5: an entity-tag is told from a date by its first characters (DQUOTE or W/).
  if (value.startsWith('"') || value.startsWith('W/')) {
    const tag = parseEntityTag(value);
    const current = validators.etag === undefined ? undefined : parseEntityTag(validators.etag);
    return tag !== undefined && current !== undefined && strongMatch(tag, current);
  }
  const date = parseHttpDate(value);
  if (date === undefined || validators.lastModified === undefined) return false;
  const lastModified = seconds(validators.lastModified);
  // §8.8.2.2: Last-Modified is strong only if the resource cannot have changed twice within
  // that second, i.e. the second has passed on this server's clock.
  return date.getTime() === lastModified && lastModified + 1000 <= Date.now();
}

/** True when `condition` holds for the current tag: `*` always, a list when a member matches. */
function matches(
  condition: ETagCondition,
  current: EntityTag | undefined,
  compare: (a: EntityTag, b: EntityTag) => boolean,
): boolean {
  if (condition.kind === 'any') return true;
  if (condition.kind === 'invalid' || current === undefined) return false;
  return condition.tags.some((tag) => compare(tag, current));
}

/** Milliseconds floored to the whole second: HTTP-date has no finer precision (§5.6.7). */
function seconds(date: Date): number {
  return Math.floor(date.getTime() / 1000) * 1000;
}
