import { describe, expect, it } from 'vitest';
import { contentDisposition, sanitizeFilename } from '../../../src/http/content-disposition.js';

const utf8Length = (text: string) => new TextEncoder().encode(text).byteLength;

/** Deterministic pseudo-random strings over all of UTF-16, lone surrogates included. */
function* randomNames(count: number): Generator<string> {
  let seed = 0x2545f491;
  const next = () => {
    seed ^= seed << 13;
    seed ^= seed >>> 17;
    seed ^= seed << 5;
    return (seed >>> 0) / 2 ** 32;
  };
  const pools = [
    () => Math.floor(next() * 0x80),
    () => Math.floor(next() * 0x100),
    () => Math.floor(next() * 0x10000),
    () => 0x202a + Math.floor(next() * 5),
    () => 0xd800 + Math.floor(next() * 0x800),
    () => [0x22, 0x5c, 0x2f, 0x25, 0x2e, 0x20, 0x0d, 0x0a, 0x00, 0x27, 0x3b][Math.floor(next() * 11)]!,
  ];
  for (let i = 0; i < count; i++) {
    const length = Math.floor(next() * 40);
    let name = '';
    for (let j = 0; j < length; j++) {
      const roll = next();
      if (roll < 0.1) name += String.fromCodePoint(0x1f300 + Math.floor(next() * 0x300));
      else name += String.fromCharCode(pools[Math.floor(next() * pools.length)]!());
    }
    yield name;
  }
}

describe('sanitizeFilename', () => {
  describe('with an ordinary name', () => {
    it.each(['report.pdf', 'Quarterly Report (final).xlsx', "it's 100%.txt", 'a;b=c,d.txt', 'name with  two spaces.txt'])(
      'keeps %j',
      (name) => {
        expect(sanitizeFilename(name)).toBe(name);
      },
    );

    it.each(['名前.txt', 'café.pdf', 'emoji😀.png', 'نام.pdf', 'Ｆｉｌｅ.txt'])('keeps the non-ASCII name %j', (name) => {
      expect(sanitizeFilename(name)).toBe(name);
    });
  });

  describe('with Unicode normalisation', () => {
    it('composes to NFC', () => {
      expect(sanitizeFilename('cafe\u0301.pdf')).toBe('caf\u00e9.pdf');
      expect(sanitizeFilename('\u1100\u1161')).toBe('\uac00');
    });

    it('composes across a removed control character', () => {
      expect(sanitizeFilename('e\u200b\u0301.txt')).toBe('\u00e9.txt');
    });

    it('replaces lone surrogates with U+FFFD', () => {
      expect(sanitizeFilename('\ud800x')).toBe('\ufffdx');
      expect(sanitizeFilename('x\udc00.txt')).toBe('x\ufffd.txt');
    });

    it('keeps surrogate pairs', () => {
      expect(sanitizeFilename('\ud83d\ude00')).toBe('😀');
    });
  });

  describe('with path separators', () => {
    it.each([
      ['..\\evil', '_evil'],
      ['../../etc/passwd', '_.._etc_passwd'],
      ['a/b\\c', 'a_b_c'],
      ['/abs/path.txt', '_abs_path.txt'],
      ['C:\\Windows\\system32', 'C:_Windows_system32'],
      ['dir/', 'dir_'],
    ])('%j becomes %j', (name, expected) => {
      expect(sanitizeFilename(name)).toBe(expected);
    });
  });

  describe('with control characters', () => {
    it.each([
      ['a\r\nb.txt', 'ab.txt'],
      ['a\rb', 'ab'],
      ['a\nb', 'ab'],
      ['nul\u0000.txt', 'nul.txt'],
      ['tab\there', 'tabhere'],
      ['del\u007f', 'del'],
      ['c1\u0080\u0085\u009f.txt', 'c1.txt'],
      ['\u001b[31mred', '[31mred'],
      ['line\u2028sep\u2029x', 'linesepx'],
    ])('%j becomes %j', (name, expected) => {
      expect(sanitizeFilename(name)).toBe(expected);
    });
  });

  describe('with bidi and invisible format characters', () => {
    it('removes a right-to-left override that disguises the extension', () => {
      expect(sanitizeFilename('invoice\u202Efdp.exe')).toBe('invoicefdp.exe');
    });

    it.each([
      0x061c, 0x200b, 0x200e, 0x200f, 0x202a, 0x202b, 0x202c, 0x202d, 0x202e, 0x2060, 0x2061, 0x2064,
      0x2066, 0x2067, 0x2068, 0x2069, 0xfeff,
    ])('removes U+%s', (codePoint) => {
      expect(sanitizeFilename(`a${String.fromCharCode(codePoint)}b.txt`)).toBe('ab.txt');
    });

    it('keeps ZWNJ and ZWJ, which Persian spelling and emoji sequences need', () => {
      expect(sanitizeFilename('\u0645\u06cc\u200c\u062e\u0648\u0627\u0647\u0645.txt')).toBe(
        '\u0645\u06cc\u200c\u062e\u0648\u0627\u0647\u0645.txt',
      );
      expect(sanitizeFilename('👨\u200d👩\u200d👧.png')).toBe('👨\u200d👩\u200d👧.png');
    });

    it('keeps ordinary right-to-left letters', () => {
      expect(sanitizeFilename('\u05e9\u05dc\u05d5\u05dd.txt')).toBe('\u05e9\u05dc\u05d5\u05dd.txt');
    });
  });

  describe('with spaces and dots at the ends', () => {
    it.each([
      ['  report.pdf  ', 'report.pdf'],
      ['.hidden', 'hidden'],
      ['..hidden..', 'hidden'],
      ['name. . .', 'name'],
      ['trailing.', 'trailing'],
      ['\u00a0nbsp\u3000', 'nbsp'],
      ['\u202e.txt', 'txt'],
    ])('%j becomes %j', (name, expected) => {
      expect(sanitizeFilename(name)).toBe(expected);
    });

    it('keeps dots and spaces inside', () => {
      expect(sanitizeFilename('a . b..c')).toBe('a . b..c');
    });
  });

  describe('when nothing is left', () => {
    it.each(['', ' ', '.', '..', '...', ' . . ', '\r\n', '\u202e', '\u0000\u0001', '\ufeff'])(
      '%j becomes download',
      (name) => {
        expect(sanitizeFilename(name)).toBe('download');
      },
    );
  });

  describe('with a name longer than 255 UTF-8 bytes', () => {
    it('keeps the extension and fills the rest', () => {
      const result = sanitizeFilename(`${'a'.repeat(300)}.pdf`);
      expect(result).toBe(`${'a'.repeat(251)}.pdf`);
      expect(utf8Length(result)).toBe(255);
    });

    it('leaves a name of exactly 255 bytes alone', () => {
      const name = `${'b'.repeat(251)}.txt`;
      expect(sanitizeFilename(name)).toBe(name);
    });

    it('does not split a code point', () => {
      // 3 bytes each: 85 fit in 255 bytes, the 86th would not.
      const result = sanitizeFilename('名'.repeat(100));
      expect(result).toBe('名'.repeat(85));
      expect(utf8Length(result)).toBe(255);
    });

    it('does not split a surrogate pair', () => {
      const result = sanitizeFilename(`${'😀'.repeat(100)}.txt`);
      expect(result).toBe(`${'😀'.repeat(62)}.txt`);
      expect(utf8Length(result)).toBe(252);
    });

    it('does not split a flag or an emoji sequence', () => {
      expect(sanitizeFilename('🇫🇷'.repeat(40))).toBe('🇫🇷'.repeat(31));
      const family = '👨‍👩‍👧';
      const result = sanitizeFilename(family.repeat(20));
      expect(result).toBe(family.repeat(14));
    });

    it('falls back to code points for one enormous grapheme', () => {
      // x has no precomposed form with U+0301, so NFC leaves one 301-code-point grapheme.
      const result = sanitizeFilename(`x${'\u0301'.repeat(300)}`);
      expect(result).toBe(`x${'\u0301'.repeat(127)}`);
      expect(utf8Length(result)).toBe(255);
    });

    it('cuts a long extension together with the name', () => {
      const result = sanitizeFilename(`name.${'x'.repeat(300)}`);
      expect(result).toBe(`name.${'x'.repeat(250)}`);
    });

    it('trims spaces and dots the cut exposes', () => {
      expect(sanitizeFilename(`${'a'.repeat(250)}  .  ${'b'.repeat(20)}.pdf`)).toBe(`${'a'.repeat(250)}.pdf`);
      expect(sanitizeFilename(`${'a'.repeat(254)}.${'b'.repeat(40)}`)).toBe('a'.repeat(254));
    });
  });
});

describe('contentDisposition', () => {
  describe('without a filename', () => {
    it.each(['attachment', 'inline'] as const)('is just %s', (type) => {
      expect(contentDisposition(type)).toBe(type);
    });
  });

  describe('with an ASCII name', () => {
    it.each([
      ['report.pdf', 'attachment; filename="report.pdf"'],
      ["it's (1).txt", 'attachment; filename="it\'s (1).txt"'],
      ['a;b=c.txt', 'attachment; filename="a;b=c.txt"'],
    ])('%j gives only filename', (name, expected) => {
      expect(contentDisposition('attachment', name)).toBe(expected);
    });

    // Chromium decodes %XX and MIME encoded-words in `filename` (RFC 6266 §4.3): the fallback
    // never carries them, and the exact name travels in filename*.
    it.each([
      ['100%.txt', `attachment; filename="100_.txt"; filename*=UTF-8''100%25.txt`],
      ['report%2Eexe', `attachment; filename="report_2Eexe"; filename*=UTF-8''report%252Eexe`],
      ['%E2%82%AC rates.txt', `attachment; filename="_E2_82_AC rates.txt"; filename*=UTF-8''%25E2%2582%25AC%20rates.txt`],
      ['=?UTF-8?B?ZXZpbC5leGU=?=', `attachment; filename="=_UTF-8_B_ZXZpbC5leGU=_="; filename*=UTF-8''%3D%3FUTF-8%3FB%3FZXZpbC5leGU%3D%3F%3D`],
    ])('%j keeps %% and ? out of the fallback', (name, expected) => {
      expect(contentDisposition('attachment', name)).toBe(expected);
    });

    it('escapes quotes inside the quoted-string', () => {
      expect(contentDisposition('attachment', '"quoted".txt')).toBe('attachment; filename="\\"quoted\\".txt"');
    });

    it('escapes the backslash (a separator, so it is already _) and quotes together', () => {
      expect(contentDisposition('attachment', 'a"b\\c.txt')).toBe('attachment; filename="a\\"b_c.txt"');
    });

    it('uses the inline type', () => {
      expect(contentDisposition('inline', 'photo.jpg')).toBe('inline; filename="photo.jpg"');
    });
  });

  describe('with a non-ASCII name', () => {
    it.each([
      ['café.pdf', `attachment; filename="cafe.pdf"; filename*=UTF-8''caf%C3%A9.pdf`],
      ['名前.txt', `attachment; filename="__.txt"; filename*=UTF-8''%E5%90%8D%E5%89%8D.txt`],
      ['emoji😀.png', `attachment; filename="emoji_.png"; filename*=UTF-8''emoji%F0%9F%98%80.png`],
      ['Ærøskøbing.txt', `attachment; filename="_r_sk_bing.txt"; filename*=UTF-8''%C3%86r%C3%B8sk%C3%B8bing.txt`],
      ['naïve résumé.doc', `attachment; filename="naive resume.doc"; filename*=UTF-8''na%C3%AFve%20r%C3%A9sum%C3%A9.doc`],
      ['ﬁle.txt', `attachment; filename="file.txt"; filename*=UTF-8''%EF%AC%81le.txt`],
      ['€ rates.txt', `attachment; filename="_ rates.txt"; filename*=UTF-8''%E2%82%AC%20rates.txt`],
    ])('%j', (name, expected) => {
      expect(contentDisposition('attachment', name)).toBe(expected);
    });

    it('uses the RFC 6266 §5 example shape', () => {
      expect(contentDisposition('attachment', '€ rates')).toBe(
        `attachment; filename="_ rates"; filename*=UTF-8''%E2%82%AC%20rates`,
      );
    });

    it('folds fullwidth forms, turning a fullwidth solidus into _ rather than /', () => {
      expect(contentDisposition('attachment', 'Ｆｉｌｅ／ｘ.txt')).toBe(
        `attachment; filename="File_x.txt"; filename*=UTF-8''%EF%BC%A6%EF%BD%89%EF%BD%8C%EF%BD%85%EF%BC%8F%EF%BD%98.txt`,
      );
    });

    it('percent-encodes characters outside attr-char, keeping the RFC 8187 §3.2.1 set', () => {
      expect(contentDisposition('inline', "é !#$&+-.^_`|~'()*%,;=\"<>?@[]{}")).toBe(
        `inline; filename="e !#$&+-.^_\`|~'()*_,;=\\"<>_@[]{}"; filename*=UTF-8''%C3%A9%20!#$&+-.^_\`|~%27%28%29%2A%25%2C%3B%3D%22%3C%3E%3F%40%5B%5D%7B%7D`,
      );
    });

    it('falls back to download when nothing ASCII is left', () => {
      expect(contentDisposition('attachment', '\u0301')).toBe(`attachment; filename="download"; filename*=UTF-8''%CC%81`);
    });

    it('encodes a lone surrogate as U+FFFD', () => {
      expect(contentDisposition('attachment', '\ud800x')).toBe(`attachment; filename="_x"; filename*=UTF-8''%EF%BF%BDx`);
    });
  });

  describe('with hostile names', () => {
    it.each([
      ['a\r\nSet-Cookie: x=1', 'attachment; filename="aSet-Cookie: x=1"'],
      ['..\\evil', 'attachment; filename="_evil"'],
      ['../../etc/passwd', 'attachment; filename="_.._etc_passwd"'],
      ['evil\u202Efdp.exe', 'attachment; filename="evilfdp.exe"'],
      ['nul\u0000.txt', 'attachment; filename="nul.txt"'],
      ['', 'attachment; filename="download"'],
      ['..', 'attachment; filename="download"'],
    ])('%j gives %s', (name, expected) => {
      expect(contentDisposition('attachment', name)).toBe(expected);
    });
  });

  describe('with Headers', () => {
    it.each(['report.pdf', 'café.pdf', '名前.txt', 'a\r\nb', '"q"', '😀', '\ud800', 'evil\u202Efdp.exe', '..\\evil'])(
      'round-trips %j unchanged',
      (name) => {
        const value = contentDisposition('attachment', name);
        expect(new Headers({ 'content-disposition': value }).get('content-disposition')).toBe(value);
      },
    );

    it('never throws and stays within 0x20-0x7E for 2000 random names', () => {
      for (const name of randomNames(2000)) {
        const value = contentDisposition('attachment', name);
        expect(value).toMatch(/^[\x20-\x7e]+$/);
        expect(() => new Headers({ 'content-disposition': value })).not.toThrow();
      }
    });

    it('keeps every random sanitised name within 255 bytes and free of separators and controls', () => {
      for (const name of randomNames(2000)) {
        const result = sanitizeFilename(name);
        expect(utf8Length(result)).toBeLessThanOrEqual(255);
        expect(result).not.toMatch(/[/\\\u0000-\u001f\u007f-\u009f\u202a-\u202e]/);
        expect(result).not.toMatch(/^[\s.]|[\s.]$/u);
        expect(result.length).toBeGreaterThan(0);
      }
    });
  });
});

describe('sanitizeFilename with names too long to normalise whole', () => {
  it('gives what the same name gives with a shorter middle (only the start and the extension count)', () => {
    for (const start of randomNames(300)) {
      for (const extension of ['.pdf', '.tar.gz', '', '.\u00e9t\u00e9', '.x\u0301']) {
        const long = sanitizeFilename(`${start}${'m\u0301'.repeat(9000)}${extension}`);
        const short = sanitizeFilename(`${start}${'m\u0301'.repeat(1500)}${extension}`);
        expect(long, JSON.stringify(start)).toBe(short);
        expect(utf8Length(long)).toBeLessThanOrEqual(255);
      }
    }
  });

  it('looks at the first 16 Ki and last 256 characters of a name longer than both', () => {
    const name = `report${'x'.repeat(1 << 20)}.pdf`;
    expect(sanitizeFilename(name)).toBe(sanitizeFilename(`report${'x'.repeat(20_000)}.pdf`));
    expect(sanitizeFilename(`${'\u0000'.repeat(1 << 20)}tail.txt`)).toBe('tail.txt');
  });
});
