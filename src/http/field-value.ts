/** RFC 9110 §5.5 field values, checked before a string is put into a header; linear OWS handling. */

// field-value = *field-content; field-content = field-vchar [ 1*( SP / HTAB / field-vchar ) field-vchar ],
// field-vchar = VCHAR / obs-text. No controls (Node refuses them with ERR_INVALID_CHAR) and no
// whitespace at either end (web `Headers` trims it, so the value sent would differ from the one given).
// One anchored pass: the optional tail can only backtrack once, over the value's own length.
const FIELD_VALUE = /^(?:[\x21-\x7e\x80-\xff](?:[\t\x20-\x7e\x80-\xff]*[\x21-\x7e\x80-\xff])?)?$/;

/** Whether `value` goes into a header byte for byte (Latin-1 "binary strings" included). */
export function isFieldValue(value: string): boolean {
  return FIELD_VALUE.test(value);
}

/** RFC 9110 §5.6.3: OWS = *( SP / HTAB ). */
export function isOws(code: number): boolean {
  return code === 0x20 || code === 0x09;
}

/**
 * `value` without the spaces and tabs at its ends, as recipients (and `Headers`) read it.
 * An index scan from each end: `/^[ \t]+|[ \t]+$/g` retries the second branch at every space of
 * an inner run, which is quadratic in the run's length (16 KiB of spaces in a Range header cost
 * hundreds of milliseconds).
 */
export function trimFieldValue(value: string): string {
  let start = 0;
  let end = value.length;
  while (start < end && isOws(value.charCodeAt(start))) start += 1;
  while (end > start && isOws(value.charCodeAt(end - 1))) end -= 1;
  return start === 0 && end === value.length ? value : value.slice(start, end);
}

/** The index of the first character at or after `from` that is not OWS (or `end`). */
export function skipOws(value: string, from: number, end = value.length): number {
  let index = from;
  while (index < end && isOws(value.charCodeAt(index))) index += 1;
  return index;
}

// RFC 9110 §5.6.2: tchar = "!" / "#" / "$" / "%" / "&" / "'" / "*" / "+" / "-" / "." / "^" / "_" / "`" / "|" / "~" / DIGIT / ALPHA.
const TCHAR = new Uint8Array(128);
for (const char of "!#$%&'*+-.^_`|~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz") TCHAR[char.charCodeAt(0)] = 1;

/** Whether the UTF-16 code unit `code` is a `tchar` (RFC 9110 §5.6.2). */
export function isTokenChar(code: number): boolean {
  return code < 128 && TCHAR[code] === 1;
}

/** The index just past the run of `tchar`s starting at `from` (`from` itself when there is none). */
export function scanToken(value: string, from: number, end = value.length): number {
  let index = from;
  while (index < end && isTokenChar(value.charCodeAt(index))) index += 1;
  return index;
}
