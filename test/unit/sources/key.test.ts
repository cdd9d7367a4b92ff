import { describe, expect, it } from 'vitest';
import { keyFromParam, keySegments } from '../../../src/sources/key.js';

const rules = { denyDotfiles: true };

describe('keySegments', () => {
  it('splits strings and flattens catch-all arrays', () => {
    expect(keySegments('a/b/c.txt', rules)).toEqual(['a', 'b', 'c.txt']);
    expect(keySegments(['a', 'b/c.txt'], rules)).toEqual(['a', 'b', 'c.txt']);
  });

  it('keeps names that merely look encoded (decoded once, never again)', () => {
    expect(keySegments(['%2e%2e', '100%.txt'], rules)).toEqual(['%2e%2e', '100%.txt']);
  });

  it.each([
    ['parent', ['..', 'etc']],
    ['parent inside a decoded %2F', ['a/../../etc']],
    ['current', ['.', 'a']],
    ['leading slash', '/etc/passwd'],
    ['empty segment', 'a//b'],
    ['NUL', ['a\0b']],
    ['backslash', ['..\\..\\etc']],
    ['dotfile', ['.git', 'config']],
    // Node writes a lone surrogate as U+FFFD: the key would open the file named with U+FFFD.
    ['a lone high surrogate', ['a\ud800.txt']],
    ['a lone low surrogate', ['\udc00']],
    ['no segments', []],
  ])('refuses %s', (_, key) => {
    expect(keySegments(key as string | string[], rules)).toBeNull();
  });

  it('keeps paired surrogates (emoji) and U+FFFD itself', () => {
    expect(keySegments(['🎉 party.txt', '\ufffd.txt'], rules)).toEqual(['🎉 party.txt', '\ufffd.txt']);
  });

  it('allows dotfiles when told to', () => {
    expect(keySegments('.well-known/x', { denyDotfiles: false })).toEqual(['.well-known', 'x']);
  });
});

describe('keyFromParam', () => {
  it('reads the named param and gives null when absent', () => {
    expect(keyFromParam({ path: ['a', 'b'] }, 'path')).toEqual(['a', 'b']);
    expect(keyFromParam({}, 'path')).toBeNull();
  });
});
