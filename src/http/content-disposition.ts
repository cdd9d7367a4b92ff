/** Content-Disposition (RFC 6266, RFC 8187) with filename sanitising; written here because `content-disposition` v3 needs Node 22 and v0.5 does not sanitise. */

/** Most UTF-8 bytes in a sanitised name: the common file-system limit (ext4, APFS, NTFS in UTF-16 units). */
const MAX_NAME_BYTES = 255;
/** An extension longer than this is treated as part of the name when truncating. */
const MAX_EXTENSION_BYTES = 32;
const DEFAULT_NAME = 'download';

// C0 and C1 controls with DEL (Unicode Cc), and the invisible format and bidi controls that can
// disguise a name, e.g. U+202E turning `evil\u202Efdp.exe` into `evilexe.pdf` on screen:
// U+061C, U+200B, U+200E-U+200F, U+2028-U+202E (line/paragraph separators and embeddings),
// U+2060-U+2069 (word joiner, invisible operators, isolates), U+FEFF. ZWNJ and ZWJ
// (U+200C-U+200D) stay: Persian and Indic spelling and emoji sequences need them, and they
// cannot reorder text.
const CONTROLS = /[\u0000-\u001f\u007f-\u009f\u061c\u200b\u200e\u200f\u2028-\u202e\u2060-\u2069\ufeff]/g;
const SEPARATORS = /[/\\]/g;
const EDGES = /^[\s.]+|[\s.]+$/gu;
// RFC 8187 §3.2.1: attr-char = ALPHA / DIGIT / "!" / "#" / "$" / "&" / "+" / "-" / "." / "^" / "_" / "`" / "|" / "~"
const ATTR_CHAR = /^[A-Za-z0-9!#$&+\-.^_`|~]$/;

const encoder = new TextEncoder();
const graphemes = new Intl.Segmenter('en', { granularity: 'grapheme' });

/**
 * Make a name safe to offer as a download name: NFC-normalised; `/` and `\` become `_`;
 * control, bidi and invisible format characters are removed; spaces and dots are trimmed at
 * both ends; at most 255 UTF-8 bytes, cut between user-perceived characters and keeping a short
 * extension. An empty result becomes `download`.
 * @example sanitizeFilename('..\\evil\r\n.txt') // '_evil.txt'
 */
export function sanitizeFilename(name: string): string {
  const cleaned = name
    // Unpaired surrogates cannot be encoded as UTF-8 (encodeURIComponent throws on them): U+FFFD.
    .toWellFormed()
    .replace(CONTROLS, '')
    .replace(SEPARATORS, '_')
    // After removal: taking out a control can leave a base letter next to its combining mark.
    .normalize('NFC')
    .replace(EDGES, '');
  if (cleaned === '') return DEFAULT_NAME;
  return truncate(cleaned);
}

/**
 * A `Content-Disposition` value (RFC 6266 §4.1). With a filename: the sanitised name as an
 * ASCII `filename="…"` fallback (accents stripped, other non-ASCII as `_`, `"` and `\`
 * escaped) and, when that fallback differs from the name, `filename*=UTF-8''…` (RFC 8187) after
 * it. Only bytes 0x20-0x7E are produced, so `Headers` always accepts it.
 * @example contentDisposition('attachment', 'café.pdf') // `attachment; filename="cafe.pdf"; filename*=UTF-8''caf%C3%A9.pdf`
 */
export function contentDisposition(type: 'attachment' | 'inline', filename?: string): string {
  if (filename === undefined) return type;
  const name = sanitizeFilename(filename);
  const fallback = asciiFallback(name);
  // RFC 9110 §5.6.4: inside a quoted-string, `"` and `\` need a quoted-pair.
  let value = `${type}; filename="${fallback.replace(/["\\]/g, '\\$&')}"`;
  // RFC 6266 §4.3: send `filename` first for user agents that do not know `filename*`, which
  // takes precedence in those that do.
  if (fallback !== name) value += `; filename*=UTF-8''${encodeExtValue(name)}`;
  return value;
}

/**
 * A readable ASCII stand-in: NFKD without combining marks (`é` → `e`), the rest as `_`. `%` and
 * `?` become `_` too: browsers decode `%2E` and `=?UTF-8?B?…?=` in `filename` (RFC 6266 §4.3),
 * which would turn `report%2Eexe` into `report.exe`; the exact name then travels in `filename*`.
 */
function asciiFallback(name: string): string {
  const ascii = name
    .normalize('NFKD')
    .replace(/\p{M}/gu, '')
    // NFKD folds compatibility forms, e.g. U+FF0F FULLWIDTH SOLIDUS to `/`.
    .replace(SEPARATORS, '_')
    .replace(/[^\x20-\x7e]|[%?]/gu, '_')
    .replace(EDGES, '');
  return ascii === '' ? DEFAULT_NAME : ascii;
}

/** RFC 8187 §3.2.1 value-chars: attr-chars as they are, every other UTF-8 byte as `%XX`. */
function encodeExtValue(value: string): string {
  let out = '';
  for (const byte of encoder.encode(value)) {
    const char = String.fromCharCode(byte);
    out += ATTR_CHAR.test(char) ? char : `%${byte.toString(16).toUpperCase().padStart(2, '0')}`;
  }
  return out;
}

/** Cap `name` at {@link MAX_NAME_BYTES}, keeping its extension when it is short. */
function truncate(name: string): string {
  if (byteLength(name) <= MAX_NAME_BYTES) return name;
  const dot = name.lastIndexOf('.');
  const extension = dot > 0 ? name.slice(dot) : '';
  if (extension !== '' && byteLength(extension) <= MAX_EXTENSION_BYTES) {
    return cut(name.slice(0, dot), MAX_NAME_BYTES - byteLength(extension)) + extension;
  }
  return cut(name, MAX_NAME_BYTES);
}

/**
 * The longest prefix of `text` within `budget` UTF-8 bytes, ending on a grapheme boundary when
 * possible (so flags and emoji sequences stay whole), else on a code point boundary; trailing
 * spaces and dots the cut exposes are trimmed. `text` starts with neither, so it never empties.
 */
function cut(text: string, budget: number): string {
  let out = '';
  let used = 0;
  for (const { segment } of graphemes.segment(text)) {
    const size = byteLength(segment);
    if (used + size > budget) break;
    out += segment;
    used += size;
  }
  if (out === '') {
    // A single grapheme longer than the budget (a base with hundreds of combining marks).
    for (const codePoint of text) {
      const size = byteLength(codePoint);
      if (used + size > budget) break;
      out += codePoint;
      used += size;
    }
  }
  return out.replace(/[\s.]+$/u, '');
}

function byteLength(text: string): number {
  return encoder.encode(text).byteLength;
}
