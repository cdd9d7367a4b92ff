import { describe, expect, it } from 'vitest';
import { isFieldValue, trimFieldValue } from '../../../src/http/field-value.js';

describe('isFieldValue', () => {
  it.each(['', 'private, max-age=60', 'a\tb', 'a b', '/srv/media/r\u00c3\u00a9sum\u00c3\u00a9.pdf', '\u00ff'])('accepts %j', (value) => {
    expect(isFieldValue(value)).toBe(true);
  });

  it.each([
    ['a trailing space (Headers would trim it)', 'secret.txt '],
    ['a leading tab', '\tx'],
    ['CR LF', 'a\r\nX-Evil: 1'],
    ['NUL', 'a\0b'],
    ['another C0 control', 'a\x01b'],
    ['DEL', 'a\x7fb'],
    ['a character above U+00FF (not a byte)', '名前'],
  ])('refuses %s', (_, value) => {
    expect(isFieldValue(value)).toBe(false);
  });

  it('agrees with what Headers sends for every accepted value', () => {
    for (const value of ['x', 'a b', 'a\tb', '\u0080\u00ff']) expect(new Headers({ h: value }).get('h')).toBe(value);
  });
});

describe('trimFieldValue', () => {
  it('removes spaces and tabs at the ends only, like recipients and Headers', () => {
    expect(trimFieldValue(' \t bytes=0-1 \t')).toBe('bytes=0-1');
    expect(trimFieldValue('a \t b')).toBe('a \t b');
    expect(trimFieldValue('\u00a0x\u00a0')).toBe('\u00a0x\u00a0');
    expect(new Headers({ h: ' \t v \t' }).get('h')).toBe(trimFieldValue(' \t v \t'));
  });
});
