import { describe, expect, it } from 'vitest';
import { applyRules, normaliseRules, parseRulesText, percentEncodePath } from '../../../src/proxies/rules.js';

describe('parseRulesText', () => {
  it('parses comma-separated from=to pairs in order, trimming spaces', () => {
    expect(parseRulesText(' /srv/media=/_protected/media , /srv/other = /_other ,')).toEqual([
      { from: '/srv/media', to: '/_protected/media' },
      { from: '/srv/other', to: '/_other' },
    ]);
  });

  it.each(['nonsense', '=/to', '/from'])('rejects %j naming the variable', (text) => {
    expect(() => parseRulesText(text)).toThrow(/DOWNLOADVIEW_RULES/);
  });

  it.each([
    [',', /names no rule/],
    [' , ', /names no rule/],
    // `;` typed between entries would otherwise map /srv/media to "/_p;/srv/b=/_b".
    ['/srv/media=/_p;/srv/b=/_b', /more than one "="/],
    // Checked here, so the message names the variable the user wrote, not nginx.rules.
    ['srv/media=/_p', /absolute path/],
  ])('rejects %j naming the variable', (text, message) => {
    expect(() => parseRulesText(text)).toThrow(message);
    expect(() => parseRulesText(text)).toThrow(/DOWNLOADVIEW_RULES/);
  });
});

describe('normaliseRules', () => {
  it('accepts an object map in insertion order and trims trailing slashes', () => {
    expect(normaliseRules({ '/srv/media/': '/_p/', '/': '/' }, 'x')).toEqual([
      { from: '/srv/media', to: '/_p' },
      { from: '', to: '' },
    ]);
  });

  it.each([
    [{ 'srv/media': '/_p' }, /absolute path/],
    [{ '/srv': '_p' }, /must start with \//],
    [{ '/srv/../etc': '/_p' }, /\.\./],
    [{ '/srv': '/_p\r\nX-Evil: 1' }, /CR, LF/],
    [{ '/srv\\x': '/_p' }, /backslash/],
  ])('rejects %j', (rules, message) => {
    expect(() => normaliseRules(rules, 'nginx.rules')).toThrow(message);
  });

  it.each([[[]], [{}]])('rejects %j: a backend with no rule would never offload', (rules) => {
    expect(() => normaliseRules(rules, 'nginx.rules')).toThrow(/nginx\.rules.*names no rule/);
  });
});

describe('applyRules', () => {
  const rules = normaliseRules([
    { from: '/srv/media/private', to: '/_private' },
    { from: '/srv/media', to: '/_media' },
  ], 'x');

  it('matches on path-segment boundaries only', () => {
    expect(applyRules(rules, '/srv/media/a.txt')).toEqual({ to: '/_media', rest: '/a.txt' });
    expect(applyRules(rules, '/srv/media2/a.txt')).toBeUndefined();
    expect(applyRules(rules, '/srv/mediaX')).toBeUndefined();
  });

  it('takes the first matching rule', () => {
    expect(applyRules(rules, '/srv/media/private/x')).toEqual({ to: '/_private', rest: '/x' });
  });

  it('maps everything with the identity rule', () => {
    expect(applyRules(normaliseRules({ '/': '/' }, 'x'), '/any/where')).toEqual({ to: '', rest: '/any/where' });
  });
});

describe('percentEncodePath', () => {
  it('encodes %, ?, #, spaces and UTF-8 but keeps slashes', () => {
    expect(percentEncodePath('/a b/100%?#/é名🎉')).toBe('/a%20b/100%25%3F%23/%C3%A9%E5%90%8D%F0%9F%8E%89');
  });

  it('refuses lone surrogates instead of throwing', () => {
    expect(percentEncodePath('/bad\uD800name')).toBeUndefined();
  });
});
