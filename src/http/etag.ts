/** Entity-tags (RFC 9110 §8.8.3): parse, compare, parse If-Match/If-None-Match, make one. */

import { trimFieldValue } from './field-value.js';

/** A parsed entity-tag; `opaque` keeps its quotes, e.g. `{ weak: true, opaque: '"abc"' }`. */
export interface EntityTag {
  weak: boolean;
  opaque: string;
}

/**
 * An `If-Match` / `If-None-Match` value (RFC 9110 §13.1.1, §13.1.2): `*`, a list of tags
 * (possibly empty, as `#entity-tag` allows), or `invalid` when any member is malformed.
 */
export type ETagCondition = { kind: 'any' } | { kind: 'list'; tags: EntityTag[] } | { kind: 'invalid' };

// RFC 9110 §8.8.3: etagc = %x21 / %x23-7E / obs-text. Fetch `Headers` hand obs-text bytes
// (0x80-0xFF) over as the code points U+0080-U+00FF, so those are accepted too.
const ENTITY_TAG = /^(W\/)?("[\x21\x23-\x7e\x80-\xff]*")$/;
// One list member at the current position; opaque-tags may contain commas, so no naive split.
const MEMBER = /(W\/)?("[\x21\x23-\x7e\x80-\xff]*")/y;
const OWS = /[ \t]*/y;

/**
 * Parse one entity-tag, e.g. `"abc"` or `W/"abc"`. The `W/` prefix is case-sensitive (§8.8.3).
 * @example parseEntityTag('W/"1a-2b"') // { weak: true, opaque: '"1a-2b"' }
 */
export function parseEntityTag(value: string): EntityTag | undefined {
  const match = ENTITY_TAG.exec(trimFieldValue(value));
  if (!match) return undefined;
  return { weak: match[1] !== undefined, opaque: match[2] ?? '' };
}

/**
 * Parse an `If-Match` or `If-None-Match` field value: `"*" / #entity-tag`.
 * Empty list elements are tolerated (RFC 9110 §5.6.1.2); `*` must stand alone.
 * @example parseETagCondition('"a", W/"b"') // { kind: 'list', tags: [{weak:false,opaque:'"a"'}, {weak:true,opaque:'"b"'}] }
 */
export function parseETagCondition(header: string): ETagCondition {
  const text = trimFieldValue(header);
  if (text === '*') return { kind: 'any' };

  const tags: EntityTag[] = [];
  let position = 0;
  // Grammar walked: [ member ] *( OWS "," OWS [ member ] ), the recipient form of #rule.
  for (;;) {
    MEMBER.lastIndex = position;
    const member = MEMBER.exec(text);
    if (member) {
      tags.push({ weak: member[1] !== undefined, opaque: member[2] ?? '' });
      position = MEMBER.lastIndex;
    }
    OWS.lastIndex = position;
    OWS.exec(text);
    position = OWS.lastIndex;
    if (position === text.length) return { kind: 'list', tags };
    if (text[position] !== ',') return { kind: 'invalid' };
    OWS.lastIndex = position + 1;
    OWS.exec(text);
    position = OWS.lastIndex;
  }
}

/**
 * Strong comparison (RFC 9110 §8.8.3.2): both tags strong and the opaque-tags identical.
 * @example strongMatch({ weak: false, opaque: '"1"' }, { weak: false, opaque: '"1"' }) // true
 */
export function strongMatch(a: EntityTag, b: EntityTag): boolean {
  return !a.weak && !b.weak && a.opaque === b.opaque;
}

/**
 * Weak comparison (RFC 9110 §8.8.3.2): the opaque-tags are identical, weakness ignored.
 * @example weakMatch({ weak: true, opaque: '"1"' }, { weak: false, opaque: '"1"' }) // true
 */
export function weakMatch(a: EntityTag, b: EntityTag): boolean {
  return a.opaque === b.opaque;
}

/**
 * A weak entity-tag from size and modification time, both in lowercase hex:
 * `W/"<size>-<mtime ms>"`. Weak because equal size and mtime do not prove equal bytes
 * (RFC 9110 §8.8.1). Fractional milliseconds are truncated so the tag is stable across stats.
 * @example weakETag(1024, 1700000000000) // 'W/"400-18bcfe56800"'
 */
export function weakETag(size: number, mtimeMs: number): string {
  return `W/"${hex(size)}-${hex(mtimeMs)}"`;
}

/** Lowercase hex of an integer; a minus sign, the only other character, is valid etagc. */
function hex(value: number): string {
  return Number.isFinite(value) ? Math.trunc(value).toString(16) : '0';
}
