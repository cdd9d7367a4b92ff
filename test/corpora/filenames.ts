/**
 * Hostile download names, each with the name a browser must end up with, and an independent
 * Content-Disposition decoder (RFC 6266 + RFC 8187) to read it back.
 *
 * The sanitisation rule the expectations follow (docs/security.md, "Hostile names"):
 *   1. NFC;
 *   2. C0/C1 controls, DEL and the bidi/invisible format characters (U+061C, U+200B, U+200E-F,
 *      U+2028-U+202E, U+2060-U+2069, U+FEFF) removed; ZWJ/ZWNJ kept;
 *   3. `/` and `\` become `_`; an unpaired surrogate becomes U+FFFD;
 *   4. whitespace and dots trimmed at both ends; nothing left → `download`;
 *   5. at most 255 UTF-8 bytes, cut between graphemes, keeping an extension of ≤ 32 bytes.
 * Everything else (quotes, `;`, `%`, `=?…?=`, emoji, RTL letters) is kept literally.
 */

export interface FilenameCase {
  /** The name as the app (or the file system) gives it. */
  name: string;
  /** The name the client must decode from Content-Disposition. */
  expected: string;
  /**
   * On disk (and so through next start and the proxies) as `name`: `'served'` when the route can
   * name it; `'refused'` when the key rules refuse it (a backslash segment, a dotfile): 404.
   * `undefined`: not a valid file name on Linux/ext4 (NUL, `/`, over 255 bytes), in-process only.
   */
  onDisk?: 'served' | 'refused';
  /** Why the entry is there. */
  note: string;
}

const long = (unit: string, count: number) => unit.repeat(count);

export const FILENAME_CASES: readonly FilenameCase[] = [
  { name: 'plain.txt', expected: 'plain.txt', onDisk: 'served', note: 'control: ASCII' },
  { name: 'cr\rlf\n.txt', expected: 'crlf.txt', onDisk: 'served', note: 'CR/LF: header injection' },
  { name: 'x\r\nSet-Cookie: a=b.txt', expected: 'xSet-Cookie: a=b.txt', onDisk: 'served', note: 'CRLF + header' },
  { name: 'tab\there.txt', expected: 'tabhere.txt', onDisk: 'served', note: 'C0 control' },
  { name: 'nel\u0085.txt', expected: 'nel.txt', onDisk: 'served', note: 'C1 control (NEL)' },
  { name: 'del\u007f.txt', expected: 'del.txt', onDisk: 'served', note: 'DEL' },
  { name: 'nul\u0000.txt', expected: 'nul.txt', note: 'NUL (not a Linux file name)' },
  { name: 'quote".txt', expected: 'quote".txt', onDisk: 'served', note: 'double quote: quoted-string escape' },
  { name: '"quoted".txt', expected: '"quoted".txt', onDisk: 'served', note: 'leading quote' },
  { name: "single'quote.txt", expected: "single'quote.txt", onDisk: 'served', note: "RFC 8187 delimiter '" },
  { name: 'back\\slash.txt', expected: 'back_slash.txt', onDisk: 'refused', note: 'backslash: quoted-pair / Windows separator' },
  { name: 'trailing\\', expected: 'trailing_', note: 'backslash at the end of a quoted-string' },
  { name: 'slash/inside.txt', expected: 'slash_inside.txt', note: 'separator in an app-given name' },
  { name: 'semi;colon.txt', expected: 'semi;colon.txt', onDisk: 'served', note: 'parameter separator' },
  { name: 'x.txt"; filename="evil.exe', expected: 'x.txt"; filename="evil.exe', onDisk: 'served', note: 'parameter injection' },
  { name: "a; filename*=UTF-8''evil.exe", expected: "a; filename*=UTF-8''evil.exe", onDisk: 'served', note: 'filename* injection' },
  { name: '100%.txt', expected: '100%.txt', onDisk: 'served', note: 'percent' },
  { name: '%41%42.txt', expected: '%41%42.txt', onDisk: 'served', note: 'percent-escapes stay literal' },
  { name: 'report%2Eexe', expected: 'report%2Eexe', onDisk: 'served', note: 'browser %-decoding of filename' },
  { name: '=?UTF-8?B?ZXZpbC5leGU=?=', expected: '=?UTF-8?B?ZXZpbC5leGU=?=', onDisk: 'served', note: 'RFC 2047 encoded-word' },
  { name: 'emoji 🎉.txt', expected: 'emoji 🎉.txt', onDisk: 'served', note: 'astral emoji' },
  { name: '👨‍👩‍👧 family.txt', expected: '👨‍👩‍👧 family.txt', onDisk: 'served', note: 'ZWJ sequence kept whole' },
  { name: '🇩🇪.txt', expected: '🇩🇪.txt', onDisk: 'served', note: 'flag (regional indicators)' },
  { name: 'evil\u202Etxt.exe', expected: 'eviltxt.exe', onDisk: 'served', note: 'RTL override' },
  { name: '\u2067iso\u2069late.txt', expected: 'isolate.txt', onDisk: 'served', note: 'bidi isolates' },
  { name: 'mark\u200F\u200E.txt', expected: 'mark.txt', onDisk: 'served', note: 'RLM/LRM marks' },
  { name: 'zero\u200Bwidth\uFEFF.txt', expected: 'zerowidth.txt', onDisk: 'served', note: 'ZWSP and BOM' },
  { name: 'עברית.pdf', expected: 'עברית.pdf', onDisk: 'served', note: 'RTL letters are kept' },
  { name: 'مرحبا\u061C.txt', expected: 'مرحبا.txt', onDisk: 'served', note: 'Arabic letter mark removed' },
  { name: 'cafe\u0301.txt', expected: 'café.txt', onDisk: 'served', note: 'combining acute: NFC' },
  { name: 'Z\u0364\u0351a\u0308\u0316lgo.txt', expected: 'Z\u0364\u0351ä\u0316lgo.txt'.normalize('NFC'), onDisk: 'served', note: 'stacked combining marks' },
  { name: '\u212B.txt', expected: '\u00C5.txt', onDisk: 'served', note: 'U+212B ANGSTROM SIGN: NFC to U+00C5' },
  { name: 'ﬁle.txt', expected: 'ﬁle.txt', onDisk: 'served', note: 'ligature: kept (NFC, not NFKC)' },
  { name: '  spaced  .txt  ', expected: 'spaced  .txt', onDisk: 'served', note: 'edge spaces trimmed' },
  { name: '...', expected: 'download', onDisk: 'refused', note: 'only dots (a dotfile on disk)' },
  { name: '.', expected: 'download', note: 'a single dot' },
  { name: '..', expected: 'download', note: 'two dots' },
  { name: '.hidden.txt', expected: 'hidden.txt', onDisk: 'refused', note: 'leading dot trimmed; a dotfile on disk' },
  { name: 'end.', expected: 'end', onDisk: 'served', note: 'trailing dot (Windows drops it)' },
  { name: '\r\n\t', expected: 'download', note: 'only controls' },
  { name: 'lone\uD800.txt', expected: 'lone\uFFFD.txt', note: 'unpaired surrogate' },
  { name: `${long('a', 251)}.txt`, expected: `${long('a', 251)}.txt`, onDisk: 'served', note: '255 bytes: the ext4 limit' },
  { name: `${long('a', 300)}.txt`, expected: `${long('a', 251)}.txt`, note: '304 bytes: cut, extension kept' },
  { name: `${long('€', 100)}.pdf`, expected: `${long('€', 83)}.pdf`, note: '304 UTF-8 bytes: cut at a character' },
  { name: `${long('🎉', 80)}.txt`, expected: `${long('🎉', 62)}.txt`, note: '324 bytes of astral characters' },
  { name: `${long('é', 300)}`, expected: long('é', 127), note: 'no extension, 2-byte characters' },
  { name: `x.${long('b', 300)}`, expected: `x.${long('b', 253)}`, note: 'extension too long to keep' },
];

/** Raw bytes of a file name that is not UTF-8 (served by no route: its key cannot be percent-decoded). */
export const INVALID_UTF8_NAME = Buffer.from([0x62, 0x61, 0x64, 0x2d, 0xff, 0xfe, 0x2e, 0x74, 0x78, 0x74]); // "bad-\xff\xfe.txt"

export interface Disposition {
  type: string;
  /** The name the header offers: `filename*` when present and decodable, else `filename`. */
  filename?: string;
  /** Every parameter as decoded, lower-cased names. */
  params: Record<string, string>;
}

/**
 * An independent RFC 6266 parser (not the library's): `disposition-type *( ";" disposition-parm )`,
 * values as token or quoted-string (RFC 9110 §5.6.4, quoted-pair unescaped), `filename*` as an
 * RFC 8187 ext-value (`UTF-8'lang'pct-encoded`, decoded as strict UTF-8). Throws on anything that
 * is not well formed, duplicated parameters included (RFC 6266 §4.1).
 */
export function parseContentDisposition(value: string): Disposition {
  let i = 0;
  const skipSpace = () => {
    while (value[i] === ' ' || value[i] === '\t') i += 1;
  };
  const token = () => {
    const start = i;
    while (i < value.length && /[!#$%&'*+\-.^_`|~0-9A-Za-z]/.test(value[i]!)) i += 1;
    if (i === start) throw new Error(`token expected at ${i} in ${JSON.stringify(value)}`);
    return value.slice(start, i);
  };
  const quoted = () => {
    i += 1; // opening quote
    let out = '';
    for (;;) {
      const char = value[i];
      if (char === undefined) throw new Error(`unterminated quoted-string in ${JSON.stringify(value)}`);
      i += 1;
      if (char === '"') return out;
      if (char === '\\') {
        const escaped = value[i];
        if (escaped === undefined) throw new Error('dangling quoted-pair');
        out += escaped;
        i += 1;
      } else out += char;
    }
  };
  skipSpace();
  const type = token().toLowerCase();
  const params: Record<string, string> = {};
  skipSpace();
  while (i < value.length) {
    if (value[i] !== ';') throw new Error(`';' expected at ${i} in ${JSON.stringify(value)}`);
    i += 1;
    skipSpace();
    const name = token().toLowerCase();
    skipSpace();
    if (value[i] !== '=') throw new Error(`'=' expected after ${name}`);
    i += 1;
    skipSpace();
    const raw = value[i] === '"' ? quoted() : token();
    if (Object.hasOwn(params, name)) throw new Error(`duplicate parameter ${name}`);
    params[name] = name.endsWith('*') ? decodeExtValue(raw) : raw;
    skipSpace();
  }
  return { type, params, filename: params['filename*'] ?? params.filename };
}

/** RFC 8187 §3.2.1 ext-value: `charset "'" [ language ] "'" value-chars`; only UTF-8 is accepted here. */
function decodeExtValue(raw: string): string {
  const match = /^([A-Za-z0-9!#$%&+\-^_`{}~]+)'([A-Za-z0-9-]*)'((?:%[0-9A-Fa-f]{2}|[A-Za-z0-9!#$&+\-.^_`|~])*)$/.exec(raw);
  if (!match) throw new Error(`malformed ext-value ${JSON.stringify(raw)}`);
  if (match[1]!.toLowerCase() !== 'utf-8') throw new Error(`charset ${match[1]} is not UTF-8`);
  const bytes: number[] = [];
  const text = match[3]!;
  for (let j = 0; j < text.length; j += 1) {
    if (text[j] === '%') {
      bytes.push(parseInt(text.slice(j + 1, j + 3), 16));
      j += 2;
    } else bytes.push(text.charCodeAt(j));
  }
  return new TextDecoder('utf-8', { fatal: true }).decode(Uint8Array.from(bytes));
}
