/** Content-Type for a download: a validated override, else the type of the file name, with a UTF-8 charset for text. */

import mime from 'mime';
import { isOws, scanToken, skipOws, trimFieldValue } from './field-value.js';

const FALLBACK_TYPE = 'application/octet-stream';
/** No extension `mime` knows is longer; a longer one is not looked up (the lookup lowercases it whole). */
const MAX_EXTENSION_LENGTH = 32;

/** A media type that passed {@link parseMediaType}. */
export interface MediaType {
  /** The value without surrounding spaces and tabs, otherwise exactly as given. */
  value: string;
  /** Whether a `charset` parameter is present (names compare case-insensitively, RFC 9110 §8.3.1). */
  hasCharset: boolean;
}

/**
 * Parse a media type with optional parameters in one left-to-right pass over RFC 9110 §8.3.1:
 *   media-type = type "/" subtype parameters;  type, subtype = token
 *   parameters = *( OWS ";" OWS [ parameter ] ) (§5.6.6);  parameter = name "=" ( token / quoted-string )
 * Quoted strings (§5.6.4) are limited to printable ASCII, so CR, LF, NUL and non-ASCII never pass.
 * Surrounding spaces and tabs are allowed. Every character is looked at a bounded number of
 * times, whatever the input (the regex this replaces backtracked exponentially on `; ; ; …`).
 * @example parseMediaType('text/plain; charset=utf-8') // { value: 'text/plain; charset=utf-8', hasCharset: true }
 */
export function parseMediaType(input: string): MediaType | undefined {
  const value = trimFieldValue(input);
  const end = value.length;
  const typeEnd = scanToken(value, 0);
  if (typeEnd === 0 || value.charCodeAt(typeEnd) !== 0x2f /* / */) return undefined;
  let index = scanToken(value, typeEnd + 1);
  if (index === typeEnd + 1) return undefined;
  let hasCharset = false;
  while (index < end) {
    // OWS ";" OWS
    index = skipOws(value, index);
    if (value.charCodeAt(index) !== 0x3b /* ; */) return undefined;
    index = skipOws(value, index + 1);
    // [ parameter ]: empty ones (`a/b;;`) are allowed by the grammar.
    const nameEnd = scanToken(value, index);
    if (nameEnd === index) continue;
    if (value.charCodeAt(nameEnd) !== 0x3d /* = */) return undefined;
    if (nameEnd - index === 7 && value.slice(index, nameEnd).toLowerCase() === 'charset') hasCharset = true;
    const valueStart = nameEnd + 1;
    if (value.charCodeAt(valueStart) === 0x22 /* " */) {
      index = scanQuotedString(value, valueStart);
      if (index < 0) return undefined;
    } else {
      index = scanToken(value, valueStart);
      if (index === valueStart) return undefined;
    }
    // A parameter ends at OWS, `;` or the end; anything else (`a=b"c"`, `a=b c`) is malformed.
    if (index < end && !isOws(value.charCodeAt(index)) && value.charCodeAt(index) !== 0x3b) return undefined;
  }
  return { value, hasCharset };
}

/**
 * RFC 9110 §5.6.4 without obs-text: quoted-string = DQUOTE *( qdtext / quoted-pair ) DQUOTE,
 * qdtext = HTAB / SP / %x21 / %x23-5B / %x5D-7E, quoted-pair = "\" ( HTAB / SP / VCHAR ).
 * Returns the index after the closing quote, or -1.
 */
function scanQuotedString(value: string, open: number): number {
  for (let index = open + 1; index < value.length; index += 1) {
    const code = value.charCodeAt(index);
    if (code === 0x22) return index + 1;
    if (code === 0x5c) {
      const escaped = value.charCodeAt(index + 1);
      if (!(escaped === 0x09 || (escaped >= 0x20 && escaped <= 0x7e))) return -1;
      index += 1;
    } else if (!(code === 0x09 || (code >= 0x20 && code <= 0x7e))) {
      return -1;
    }
  }
  return -1;
}

/**
 * Whether `value` is a media type with optional parameters (`type/subtype[; name=value]…`),
 * per RFC 9110 §8.3.1. Only printable ASCII is accepted, so CR, LF and NUL never pass.
 * Surrounding spaces and tabs are allowed.
 * @example isValidMediaType('text/plain; charset=utf-8') // true
 */
export function isValidMediaType(value: string): boolean {
  return parseMediaType(value) !== undefined;
}

/**
 * The `Content-Type` to send: `override` when it is a valid media type (otherwise it is
 * ignored), else the type `mime` knows for the file name's extension, else
 * `application/octet-stream`. `text/*` types without a charset parameter get `; charset=utf-8`.
 * @example contentTypeFor('notes.txt') // 'text/plain; charset=utf-8'
 */
export function contentTypeFor(filename: string, override?: string): string {
  const parsed = override === undefined ? undefined : parseMediaType(override);
  const type = parsed ? parsed.value : typeOfName(filename);
  // RFC 9110 §8.3.1: type and parameter names are case-insensitive. A text type without a
  // charset leaves the browser guessing (and sniffing); files here are served as UTF-8.
  // Types looked up by name never carry parameters.
  if (/^text\//i.test(type) && !parsed?.hasCharset) return `${type}; charset=utf-8`;
  return type;
}

function typeOfName(filename: string): string {
  // Only the base name counts, and a name without a dot has no extension: `mime` alone would
  // read a file called `html` as text/html.
  const base = Math.max(filename.lastIndexOf('/'), filename.lastIndexOf('\\')) + 1;
  const dot = filename.lastIndexOf('.');
  if (dot < base || filename.length - dot > MAX_EXTENSION_LENGTH + 1) return FALLBACK_TYPE;
  // The extension alone: `mime` lowercases whatever it is given, and names may be long.
  return mime.getType(filename.slice(dot)) ?? FALLBACK_TYPE;
}
