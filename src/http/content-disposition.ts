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
/**
 * Longer names are normalised only in part: NFC reorders a run of combining marks by insertion
 * (ICU), quadratic in the run's length (100,000 alternating marks took 2.5 s), and a name longer
 * than this never fits in {@link MAX_NAME_BYTES} anyway.
 */
const MAX_NORMALISED_UNITS = 4096;
/**
 * Of a name longer than both together, only its start and its end are looked at: the result
 * never holds more than {@link MAX_NAME_BYTES} of the start and a short extension from the end,
 * and even linear passes over a megabyte (one regex replacement per character) cost 100+ ms.
 */
const EXAMINED_HEAD_UNITS = 16 * 1024;
const EXAMINED_TAIL_UNITS = 256;
/** An extension candidate longer than this (UTF-16 units) cannot be {@link MAX_EXTENSION_BYTES} after NFC. */
const MAX_EXTENSION_UNITS = 4 * MAX_EXTENSION_BYTES;
// RFC 8187 §3.2.1: attr-char = ALPHA / DIGIT / "!" / "#" / "$" / "&" / "+" / "-" / "." / "^" / "_" / "`" / "|" / "~"
const ATTR_CHAR = /^[A-Za-z0-9!#$&+\-.^_`|~]$/;

const encoder = new TextEncoder();
const graphemes = new Intl.Segmenter('en', { granularity: 'grapheme' });

/**
 * Make a name safe to offer as a download name: NFC-normalised; `/` and `\` become `_`;
 * control, bidi and invisible format characters are removed; spaces and dots are trimmed at
 * both ends; at most 255 UTF-8 bytes, cut between user-perceived characters and keeping a short
 * extension. An empty result becomes `download`. Linear in the name's length: a name longer than
 * 16 Ki UTF-16 units is read from its first 16 Ki and last 256 units only.
 * @example sanitizeFilename('..\\evil\r\n.txt') // '_evil.txt'
 */
export function sanitizeFilename(name: string): string {
  // Every step is linear in the name's length, or runs on a bounded part of it (hostile names
  // come from uploads: a browser sends any `filename` it is given).
  const cleaned = trimEdges(
    examinedPart(name)
      // Unpaired surrogates cannot be encoded as UTF-8 (encodeURIComponent throws on them): U+FFFD.
      .toWellFormed()
      .replace(CONTROLS, '')
      .replace(SEPARATORS, '_'),
  );
  if (cleaned.length > MAX_NORMALISED_UNITS) return truncateLong(cleaned);
  // After removal: taking out a control can leave a base letter next to its combining mark.
  const normal = trimEdges(cleaned.normalize('NFC'));
  if (normal === '') return DEFAULT_NAME;
  if (byteLength(normal) <= MAX_NAME_BYTES) return normal;
  const dot = normal.lastIndexOf('.');
  const extension = dot > 0 ? normal.slice(dot) : '';
  return withExtension(dot > 0 ? normal.slice(0, dot) : normal, extension);
}

/**
 * What {@link sanitizeFilename} makes of a name too long to normalise whole: its start and its
 * extension, each normalised on its own (a `.` is a normalisation boundary, NFC never composes
 * across it). The result can differ from normalising everything only inside a run of combining
 * marks longer than {@link MAX_NORMALISED_UNITS}, which no real name has.
 */
function truncateLong(text: string): string {
  const dot = text.lastIndexOf('.');
  const extension = dot > 0 && text.length - dot <= MAX_EXTENSION_UNITS ? text.slice(dot).normalize('NFC') : '';
  let head = extension === '' ? text.slice(0, MAX_NORMALISED_UNITS) : text.slice(0, Math.min(dot, MAX_NORMALISED_UNITS));
  // Never leave half a surrogate pair at the cut.
  if (isHighSurrogate(head.charCodeAt(head.length - 1))) head = head.slice(0, -1);
  return withExtension(head.normalize('NFC'), extension);
}

/** `base` cut to fit {@link MAX_NAME_BYTES} with `extension` after it, when the extension is short. */
function withExtension(base: string, extension: string): string {
  if (extension !== '' && byteLength(extension) <= MAX_EXTENSION_BYTES) {
    return cut(base, MAX_NAME_BYTES - byteLength(extension)) + extension;
  }
  return cut(base + extension, MAX_NAME_BYTES);
}

/** `name`, or for a very long one its first and last characters (never half a surrogate pair). */
function examinedPart(name: string): string {
  if (name.length <= EXAMINED_HEAD_UNITS + EXAMINED_TAIL_UNITS) return name;
  let headEnd = EXAMINED_HEAD_UNITS;
  if (isHighSurrogate(name.charCodeAt(headEnd - 1))) headEnd -= 1;
  let tailStart = name.length - EXAMINED_TAIL_UNITS;
  if (isLowSurrogate(name.charCodeAt(tailStart))) tailStart += 1;
  return name.slice(0, headEnd) + name.slice(tailStart);
}

function isLowSurrogate(code: number): boolean {
  return code >= 0xdc00 && code <= 0xdfff;
}

function isHighSurrogate(code: number): boolean {
  return code >= 0xd800 && code <= 0xdbff;
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
    .replace(/[^\x20-\x7e]|[%?]/gu, '_');
  const trimmed = trimEdges(ascii);
  return trimmed === '' ? DEFAULT_NAME : trimmed;
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
  return trimEdges(out);
}

/**
 * `text` without whitespace (JavaScript's `\s`) and dots at either end, by index: a regex
 * `/[\s.]+$/` retries at every character of a long inner run (quadratic).
 */
function trimEdges(text: string): string {
  let start = 0;
  let end = text.length;
  while (start < end && isEdgeChar(text.charCodeAt(start))) start += 1;
  while (end > start && isEdgeChar(text.charCodeAt(end - 1))) end -= 1;
  return start === 0 && end === text.length ? text : text.slice(start, end);
}

/** `.` and the characters of JavaScript's `\s` (WhiteSpace and LineTerminator, all in the BMP). */
function isEdgeChar(code: number): boolean {
  return (
    code === 0x2e ||
    code === 0x20 ||
    (code >= 0x09 && code <= 0x0d) ||
    code === 0xa0 ||
    code === 0x1680 ||
    (code >= 0x2000 && code <= 0x200a) ||
    code === 0x2028 ||
    code === 0x2029 ||
    code === 0x202f ||
    code === 0x205f ||
    code === 0x3000 ||
    code === 0xfeff
  );
}

function byteLength(text: string): number {
  return encoder.encode(text).byteLength;
}
