import { describe, expect, it } from 'vitest';
import {
  parseETagCondition,
  parseEntityTag,
  strongMatch,
  weakETag,
  weakMatch,
  type EntityTag,
} from '../../../src/http/etag.js';

const strong = (opaque: string): EntityTag => ({ weak: false, opaque });
const weak = (opaque: string): EntityTag => ({ weak: true, opaque });

describe('parseEntityTag', () => {
  describe('with a strong tag', () => {
    it.each([
      ['"xyzzy"', strong('"xyzzy"')],
      ['""', strong('""')],
      ['"a,b"', strong('"a,b"')],
      ['"W/"', strong('"W/"')],
      ['"!#$%&\'()*+-./:;<=>?@[\\]^_`{|}~"', strong('"!#$%&\'()*+-./:;<=>?@[\\]^_`{|}~"')],
      [' "spaced" ', strong('"spaced"')],
      ['"caf\u00e9"', strong('"caf\u00e9"')],
    ])('%j', (value, tag) => {
      expect(parseEntityTag(value)).toEqual(tag);
    });
  });

  describe('with a weak tag', () => {
    it.each([
      ['W/"xyzzy"', weak('"xyzzy"')],
      ['W/""', weak('""')],
      ['W/"400-18bcfe56800"', weak('"400-18bcfe56800"')],
    ])('%j', (value, tag) => {
      expect(parseEntityTag(value)).toEqual(tag);
    });
  });

  describe('with a malformed value', () => {
    it.each([
      '',
      'xyzzy',
      '"xyzzy',
      'xyzzy"',
      '"xy"zy"',
      '"xy zy"',
      '"xy\tzy"',
      'w/"xyzzy"',
      'W/ "xyzzy"',
      'W/xyzzy',
      'W"xyzzy"',
      '"a", "b"',
      '*',
      '"\u0100"',
      '"名前"',
      '"a"b',
      "'a'",
    ])('rejects %j', (value) => {
      expect(parseEntityTag(value)).toBeUndefined();
    });
  });
});

describe('parseETagCondition', () => {
  describe('with a wildcard', () => {
    it.each(['*', ' * ', '\t*'])('%j is any', (value) => {
      expect(parseETagCondition(value)).toEqual({ kind: 'any' });
    });
  });

  describe('with a list', () => {
    it.each([
      ['"xyzzy"', [strong('"xyzzy"')]],
      ['"xyzzy", "r2d2xxxx", "c3piozzzz"', [strong('"xyzzy"'), strong('"r2d2xxxx"'), strong('"c3piozzzz"')]],
      ['W/"xyzzy", W/"r2d2xxxx", W/"c3piozzzz"', [weak('"xyzzy"'), weak('"r2d2xxxx"'), weak('"c3piozzzz"')]],
      ['"a",W/"b"', [strong('"a"'), weak('"b"')]],
      ['"a" ,\t"b"', [strong('"a"'), strong('"b"')]],
      ['"a,b", "c"', [strong('"a,b"'), strong('"c"')]],
      [', "a",, "b" ,', [strong('"a"'), strong('"b"')]],
      ['"*"', [strong('"*"')]],
    ])('%j', (value, tags) => {
      expect(parseETagCondition(value)).toEqual({ kind: 'list', tags });
    });

    it('accepts an empty list, as #entity-tag allows', () => {
      expect(parseETagCondition('')).toEqual({ kind: 'list', tags: [] });
      expect(parseETagCondition(' , ,')).toEqual({ kind: 'list', tags: [] });
    });
  });

  describe('with a malformed member', () => {
    it.each([
      'xyzzy',
      '"a", b',
      '"a" "b"',
      '"a";"b"',
      '*, "a"',
      '"a", *',
      '**',
      'w/"a"',
      '"a", W/ "b"',
      '"a"x',
      '"a',
      '"a", "b',
      'W/',
      '"a"\r\n, "b"',
      // A space is not etagc, so the comma cannot split this one either.
      '"a, b"',
    ])('%j is invalid', (value) => {
      expect(parseETagCondition(value)).toEqual({ kind: 'invalid' });
    });
  });

  describe('with Headers', () => {
    it('parses a value combined from two header lines', () => {
      const headers = new Headers();
      headers.append('if-none-match', '"a"');
      headers.append('if-none-match', 'W/"b"');
      expect(parseETagCondition(headers.get('if-none-match')!)).toEqual({
        kind: 'list',
        tags: [strong('"a"'), weak('"b"')],
      });
    });
  });
});

describe('strongMatch', () => {
  // RFC 9110 §8.8.3.2 table.
  it.each([
    [weak('"1"'), weak('"1"'), false],
    [weak('"1"'), weak('"2"'), false],
    [weak('"1"'), strong('"1"'), false],
    [strong('"1"'), weak('"1"'), false],
    [strong('"1"'), strong('"1"'), true],
    [strong('"1"'), strong('"2"'), false],
    [strong('"a"'), strong('"A"'), false],
  ])('%j vs %j is %s', (a, b, expected) => {
    expect(strongMatch(a, b)).toBe(expected);
  });
});

describe('weakMatch', () => {
  // RFC 9110 §8.8.3.2 table.
  it.each([
    [weak('"1"'), weak('"1"'), true],
    [weak('"1"'), weak('"2"'), false],
    [weak('"1"'), strong('"1"'), true],
    [strong('"1"'), weak('"1"'), true],
    [strong('"1"'), strong('"1"'), true],
    [strong('"1"'), strong('"2"'), false],
    [strong('"a"'), strong('"A"'), false],
  ])('%j vs %j is %s', (a, b, expected) => {
    expect(weakMatch(a, b)).toBe(expected);
  });
});

describe('weakETag', () => {
  describe('with integer inputs', () => {
    it.each([
      [1024, 1700000000000, 'W/"400-18bcfe56800"'],
      [0, 0, 'W/"0-0"'],
      [255, 4096, 'W/"ff-1000"'],
      [2 ** 40, 784111777000, 'W/"10000000000-b690b434e8"'],
    ])('size %i, mtime %i', (size, mtime, expected) => {
      expect(weakETag(size, mtime)).toBe(expected);
    });
  });

  describe('with a fractional mtime', () => {
    it('truncates to whole milliseconds so the tag is stable', () => {
      expect(weakETag(10, 1700000000000.7391)).toBe('W/"a-18bcfe56800"');
      expect(weakETag(10, 1700000000000.1)).toBe(weakETag(10, 1700000000000.9));
    });
  });

  describe('with odd inputs', () => {
    it('gives a pre-1970 mtime a minus sign, still a valid tag', () => {
      expect(weakETag(1, -1000)).toBe('W/"1--3e8"');
    });

    it.each([NaN, Infinity, -Infinity])('maps a %s mtime to 0', (mtime) => {
      expect(weakETag(1, mtime)).toBe('W/"1-0"');
    });
  });

  describe('with parseEntityTag', () => {
    it('round-trips as a weak tag', () => {
      expect(parseEntityTag(weakETag(1234, 1700000000123))).toEqual(weak('"4d2-18bcfe5687b"'));
    });

    it('differs when size or mtime differ', () => {
      expect(weakETag(1, 1)).not.toBe(weakETag(2, 1));
      expect(weakETag(1, 1)).not.toBe(weakETag(1, 2));
    });

    it('is accepted by Headers', () => {
      const tag = weakETag(99, 1700000000000);
      expect(new Headers({ etag: tag }).get('etag')).toBe(tag);
    });
  });
});
