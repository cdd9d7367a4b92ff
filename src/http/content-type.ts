/** Content-Type for a download: a validated override, else the type of the file name, with a UTF-8 charset for text. */

import mime from 'mime';
import { trimFieldValue } from './field-value.js';

const FALLBACK_TYPE = 'application/octet-stream';
// RFC 9110 §5.6.2 token, §5.6.4 quoted-string without obs-text (so the value stays ASCII).
const TOKEN = "[!#$%&'*+.^_`|~0-9A-Za-z-]+";
const QUOTED_STRING = '"(?:[\\t \\x21\\x23-\\x5b\\x5d-\\x7e]|\\\\[\\t \\x20-\\x7e])*"';
// RFC 9110 §8.3.1: media-type = type "/" subtype parameters;
// §5.6.6: parameters = *( OWS ";" OWS [ parameter ] ), parameter = name "=" ( token / quoted-string ).
const PARAMETER = `(${TOKEN})=(?:${TOKEN}|${QUOTED_STRING})`;
const MEDIA_TYPE = new RegExp(`^${TOKEN}/${TOKEN}(?:[ \\t]*;[ \\t]*(?:${PARAMETER})?)*$`);
const PARAMETER_NAMES = new RegExp(PARAMETER, 'g');

/**
 * Whether `value` is a media type with optional parameters (`type/subtype[; name=value]…`),
 * per RFC 9110 §8.3.1. Only printable ASCII is accepted, so CR, LF and NUL never pass.
 * Surrounding spaces and tabs are allowed.
 * @example isValidMediaType('text/plain; charset=utf-8') // true
 */
export function isValidMediaType(value: string): boolean {
  return MEDIA_TYPE.test(trimFieldValue(value));
}

/**
 * The `Content-Type` to send: `override` when it is a valid media type (otherwise it is
 * ignored), else the type `mime` knows for the file name's extension, else
 * `application/octet-stream`. `text/*` types without a charset parameter get `; charset=utf-8`.
 * @example contentTypeFor('notes.txt') // 'text/plain; charset=utf-8'
 */
export function contentTypeFor(filename: string, override?: string): string {
  const type =
    override !== undefined && isValidMediaType(override) ? trimFieldValue(override) : typeOfName(filename);
  // RFC 9110 §8.3.1: type and parameter names are case-insensitive. A text type without a
  // charset leaves the browser guessing (and sniffing); files here are served as UTF-8.
  if (/^text\//i.test(type) && !hasCharset(type)) return `${type}; charset=utf-8`;
  return type;
}

function typeOfName(filename: string): string {
  // Only the base name counts, and a name without a dot has no extension: `mime` alone would
  // read a file called `html` as text/html.
  const base = filename.slice(Math.max(filename.lastIndexOf('/'), filename.lastIndexOf('\\')) + 1);
  if (!base.includes('.')) return FALLBACK_TYPE;
  return mime.getType(base) ?? FALLBACK_TYPE;
}

function hasCharset(type: string): boolean {
  // Walks the parameters with the grammar, so `charset=` inside a quoted value does not count.
  const semicolon = type.indexOf(';');
  if (semicolon < 0) return false;
  for (const match of type.slice(semicolon).matchAll(PARAMETER_NAMES)) {
    if (match[1]?.toLowerCase() === 'charset') return true;
  }
  return false;
}
