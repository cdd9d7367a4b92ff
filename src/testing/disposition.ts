/** Reading a Content-Disposition header back (RFC 6266 §4.1, RFC 8187 §3.2), as a browser does. */

export interface ParsedDisposition {
  /** `attachment`, `inline` (lower-cased), or another type as sent. */
  type: string;
  /** The download name a browser would use: `filename*` when present and decodable, else `filename`. */
  filename?: string;
  /** The `filename` parameter alone (the ASCII fallback). */
  fallback?: string;
}

/** Parse a Content-Disposition value; `undefined` when it is not one (no type token). */
export function parseContentDisposition(value: string): ParsedDisposition | undefined {
  const match = /^\s*([!#$%&'*+.^_`|~0-9A-Za-z-]+)\s*/.exec(value);
  if (!match) return undefined;
  const result: ParsedDisposition = { type: match[1]!.toLowerCase() };
  let extended: string | undefined;
  let rest = value.slice(match[0].length);
  for (;;) {
    const parameter = /^;\s*([!#$%&'*+.^_`|~0-9A-Za-z-]+)\s*=\s*/.exec(rest);
    if (!parameter) break;
    rest = rest.slice(parameter[0].length);
    let parameterValue: string;
    if (rest.startsWith('"')) {
      // quoted-string with quoted-pairs (RFC 9110 §5.6.4)
      const quoted = /^"((?:[^"\\]|\\.)*)"\s*/.exec(rest);
      if (!quoted) break;
      parameterValue = quoted[1]!.replace(/\\(.)/g, '$1');
      rest = rest.slice(quoted[0].length);
    } else {
      const token = /^([^;\s]*)\s*/.exec(rest)!;
      parameterValue = token[1]!;
      rest = rest.slice(token[0].length);
    }
    const name = parameter[1]!.toLowerCase();
    if (name === 'filename' && result.fallback === undefined) result.fallback = parameterValue;
    if (name === 'filename*' && extended === undefined) extended = decodeExtValue(parameterValue);
  }
  result.filename = extended ?? result.fallback;
  return result;
}

/** RFC 8187 ext-value: charset'language'pct-encoded, UTF-8 or ISO-8859-1. */
function decodeExtValue(value: string): string | undefined {
  const match = /^([A-Za-z0-9!#$%&+^_`{}~-]+)'[A-Za-z0-9-]*'(.*)$/.exec(value);
  if (!match) return undefined;
  const charset = match[1]!.toLowerCase();
  const bytes: number[] = [];
  for (let index = 0; index < match[2]!.length; index += 1) {
    const char = match[2]![index]!;
    if (char === '%') {
      const hex = match[2]!.slice(index + 1, index + 3);
      if (!/^[0-9A-Fa-f]{2}$/.test(hex)) return undefined;
      bytes.push(parseInt(hex, 16));
      index += 2;
    } else {
      bytes.push(char.charCodeAt(0));
    }
  }
  try {
    if (charset === 'utf-8') return new TextDecoder('utf-8', { fatal: true }).decode(new Uint8Array(bytes));
    if (charset === 'iso-8859-1') return String.fromCharCode(...bytes);
  } catch {
    return undefined;
  }
  return undefined;
}
