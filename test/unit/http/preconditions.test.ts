import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { evaluatePreconditions, isRangeFresh, type Validators } from '../../../src/http/preconditions.js';

// The representation: modified 2024-01-15 10:00:00.750Z, now is a day later.
const LAST_MODIFIED = new Date('2024-01-15T10:00:00.750Z');
const AT = 'Mon, 15 Jan 2024 10:00:00 GMT';
const SECOND_BEFORE = 'Mon, 15 Jan 2024 09:59:59 GMT';
const SECOND_AFTER = 'Mon, 15 Jan 2024 10:00:01 GMT';
const NOW = new Date('2024-01-16T10:00:00.000Z');
const FUTURE = 'Wed, 17 Jan 2024 10:00:00 GMT';

const strongValidators: Validators = { etag: '"v1"', lastModified: LAST_MODIFIED };
const weakValidators: Validators = { etag: 'W/"v1"', lastModified: LAST_MODIFIED };

const evaluate = (headers: Record<string, string>, validators: Validators = strongValidators, method = 'GET') =>
  evaluatePreconditions(method, new Headers(headers), validators);

beforeEach(() => {
  vi.useFakeTimers({ toFake: ['Date'] });
  vi.setSystemTime(NOW);
});
afterEach(() => {
  vi.useRealTimers();
});

describe('evaluatePreconditions', () => {
  describe('without conditional headers', () => {
    it.each(['GET', 'HEAD', 'POST', 'PUT', 'DELETE'])('%s proceeds', (method) => {
      expect(evaluate({}, strongValidators, method)).toBe('proceed');
    });

    it('proceeds without validators', () => {
      expect(evaluate({}, {})).toBe('proceed');
    });
  });

  describe('with If-Match (RFC 9110 §13.1.1)', () => {
    it.each([
      ['"v1"', 'proceed'],
      ['"v0", "v1"', 'proceed'],
      ['*', 'proceed'],
      ['"v2"', 'precondition-failed'],
      ['W/"v1"', 'precondition-failed'],
      ['"V1"', 'precondition-failed'],
      ['', 'precondition-failed'],
      ['v1', 'precondition-failed'],
      ['"v1", junk', 'precondition-failed'],
    ])('%j against "v1" gives %s', (ifMatch, outcome) => {
      expect(evaluate({ 'if-match': ifMatch })).toBe(outcome);
    });

    it('never matches a weak current tag (strong comparison)', () => {
      expect(evaluate({ 'if-match': 'W/"v1"' }, weakValidators)).toBe('precondition-failed');
      expect(evaluate({ 'if-match': '"v1"' }, weakValidators)).toBe('precondition-failed');
    });

    it('lets * pass without any etag, as the representation exists', () => {
      expect(evaluate({ 'if-match': '*' }, {})).toBe('proceed');
    });

    it('fails a tag list when there is no current etag', () => {
      expect(evaluate({ 'if-match': '"v1"' }, { lastModified: LAST_MODIFIED })).toBe('precondition-failed');
    });

    it('fails for every method, HEAD included', () => {
      expect(evaluate({ 'if-match': '"v2"' }, strongValidators, 'HEAD')).toBe('precondition-failed');
      expect(evaluate({ 'if-match': '"v2"' }, strongValidators, 'PUT')).toBe('precondition-failed');
    });

    it('fails when the current etag is malformed', () => {
      expect(evaluate({ 'if-match': '"v1"' }, { etag: 'v1' })).toBe('precondition-failed');
    });
  });

  describe('with If-Unmodified-Since (RFC 9110 §13.1.4)', () => {
    it.each([
      [AT, 'proceed'],
      [SECOND_AFTER, 'proceed'],
      [FUTURE, 'proceed'],
      [SECOND_BEFORE, 'precondition-failed'],
      ['Sun, 06 Nov 1994 08:49:37 GMT', 'precondition-failed'],
      ['Monday, 15-Jan-24 09:59:59 GMT', 'precondition-failed'],
      ['Mon Jan 15 09:59:59 2024', 'precondition-failed'],
    ])('%j gives %s', (date, outcome) => {
      expect(evaluate({ 'if-unmodified-since': date })).toBe(outcome);
    });

    it('compares lastModified floored to the second (750 ms past AT still equals AT)', () => {
      expect(evaluate({ 'if-unmodified-since': AT })).toBe('proceed');
    });

    it.each(['2024-01-14', 'yesterday', '', '0', 'Mon, 15 Jan 2024 09:59:59 GMT, Mon, 15 Jan 2024 09:59:59 GMT'])(
      'ignores the invalid date %j',
      (date) => {
        expect(evaluate({ 'if-unmodified-since': date })).toBe('proceed');
      },
    );

    it('is ignored without a modification date', () => {
      expect(evaluate({ 'if-unmodified-since': SECOND_BEFORE }, { etag: '"v1"' })).toBe('proceed');
    });

    it('is ignored when If-Match is present (step 2 only without If-Match)', () => {
      expect(evaluate({ 'if-match': '"v1"', 'if-unmodified-since': SECOND_BEFORE })).toBe('proceed');
      expect(evaluate({ 'if-match': '*', 'if-unmodified-since': SECOND_BEFORE })).toBe('proceed');
    });

    it('still lets a failed If-Match answer 412', () => {
      expect(evaluate({ 'if-match': '"v2"', 'if-unmodified-since': FUTURE })).toBe('precondition-failed');
    });
  });

  describe('with If-None-Match (RFC 9110 §13.1.2)', () => {
    it.each([
      ['"v1"', 'not-modified'],
      ['W/"v1"', 'not-modified'],
      ['"v0", W/"v1"', 'not-modified'],
      ['*', 'not-modified'],
      ['"v2"', 'proceed'],
      ['"V1"', 'proceed'],
      ['', 'proceed'],
      ['v1', 'proceed'],
      ['"v1" junk', 'proceed'],
    ])('%j against "v1" gives %s for GET', (ifNoneMatch, outcome) => {
      expect(evaluate({ 'if-none-match': ifNoneMatch })).toBe(outcome);
    });

    it('matches a weak current tag (weak comparison)', () => {
      expect(evaluate({ 'if-none-match': 'W/"v1"' }, weakValidators)).toBe('not-modified');
      expect(evaluate({ 'if-none-match': '"v1"' }, weakValidators)).toBe('not-modified');
    });

    it('answers 304 for HEAD', () => {
      expect(evaluate({ 'if-none-match': '"v1"' }, strongValidators, 'HEAD')).toBe('not-modified');
    });

    it.each(['POST', 'PUT', 'DELETE', 'get'])('answers 412 for %s', (method) => {
      expect(evaluate({ 'if-none-match': '"v1"' }, strongValidators, method)).toBe('precondition-failed');
      expect(evaluate({ 'if-none-match': '*' }, strongValidators, method)).toBe('precondition-failed');
    });

    it('matches * without any etag, as the representation exists', () => {
      expect(evaluate({ 'if-none-match': '*' }, {})).toBe('not-modified');
    });

    it('proceeds for a tag list when there is no current etag', () => {
      expect(evaluate({ 'if-none-match': '"v1"' }, { lastModified: LAST_MODIFIED })).toBe('proceed');
    });

    it('is evaluated after a passing If-Match', () => {
      expect(evaluate({ 'if-match': '"v1"', 'if-none-match': '"v1"' })).toBe('not-modified');
    });

    it('is not reached after a failing If-Match', () => {
      expect(evaluate({ 'if-match': '"v2"', 'if-none-match': '"v1"' })).toBe('precondition-failed');
    });

    it('is not reached after a failing If-Unmodified-Since', () => {
      expect(evaluate({ 'if-unmodified-since': SECOND_BEFORE, 'if-none-match': '"v1"' })).toBe(
        'precondition-failed',
      );
    });

    it('parses a value combined from two header lines', () => {
      const headers = new Headers();
      headers.append('if-none-match', '"v0"');
      headers.append('if-none-match', '"v1"');
      expect(evaluatePreconditions('GET', headers, strongValidators)).toBe('not-modified');
    });
  });

  describe('with If-Modified-Since (RFC 9110 §13.1.3)', () => {
    it.each([
      [AT, 'not-modified'],
      [SECOND_AFTER, 'not-modified'],
      ['Tue, 16 Jan 2024 10:00:00 GMT', 'not-modified'],
      [SECOND_BEFORE, 'proceed'],
      ['Sun, 06 Nov 1994 08:49:37 GMT', 'proceed'],
      ['Monday, 15-Jan-24 10:00:00 GMT', 'not-modified'],
      ['Mon Jan 15 10:00:00 2024', 'not-modified'],
    ])('%j gives %s', (date, outcome) => {
      expect(evaluate({ 'if-modified-since': date })).toBe(outcome);
    });

    it('answers 304 for HEAD', () => {
      expect(evaluate({ 'if-modified-since': AT }, strongValidators, 'HEAD')).toBe('not-modified');
    });

    it.each(['POST', 'PUT', 'DELETE', 'OPTIONS'])('is ignored for %s', (method) => {
      expect(evaluate({ 'if-modified-since': AT }, strongValidators, method)).toBe('proceed');
    });

    it.each(['2024-01-16T00:00:00Z', 'garbage', '', `${AT}, ${AT}`])('ignores the invalid date %j', (date) => {
      expect(evaluate({ 'if-modified-since': date })).toBe('proceed');
    });

    it('ignores a date later than the server clock', () => {
      expect(evaluate({ 'if-modified-since': FUTURE })).toBe('proceed');
    });

    it('accepts a date equal to the server clock', () => {
      expect(evaluate({ 'if-modified-since': 'Tue, 16 Jan 2024 10:00:00 GMT' })).toBe('not-modified');
    });

    it('is ignored without a modification date', () => {
      expect(evaluate({ 'if-modified-since': AT }, { etag: '"v1"' })).toBe('proceed');
    });

    it('is ignored when If-None-Match is present, even when it does not match', () => {
      expect(evaluate({ 'if-none-match': '"v2"', 'if-modified-since': AT })).toBe('proceed');
      expect(evaluate({ 'if-none-match': 'junk', 'if-modified-since': AT })).toBe('proceed');
    });

    it('is not reached after a failing If-Match', () => {
      expect(evaluate({ 'if-match': '"v2"', 'if-modified-since': AT })).toBe('precondition-failed');
    });
  });

  describe('with the full RFC 9110 §13.2.2 order', () => {
    it('checks all four in order', () => {
      const all = {
        'if-match': '"v1"',
        'if-unmodified-since': SECOND_BEFORE,
        'if-none-match': '"v2"',
        'if-modified-since': SECOND_BEFORE,
      };
      // If-Match passes, so If-Unmodified-Since is skipped; If-None-Match does not match, so
      // If-Modified-Since is skipped: proceed.
      expect(evaluate(all)).toBe('proceed');
      expect(evaluate({ ...all, 'if-none-match': '"v1"' })).toBe('not-modified');
      expect(evaluate({ ...all, 'if-match': '"v2"' })).toBe('precondition-failed');
    });
  });
});

describe('isRangeFresh', () => {
  describe('without If-Range', () => {
    it('is fresh', () => {
      expect(isRangeFresh(null, strongValidators)).toBe(true);
      expect(isRangeFresh(null, {})).toBe(true);
    });
  });

  describe('with an entity-tag (RFC 9110 §13.1.5)', () => {
    it.each([
      ['"v1"', true],
      [' "v1" ', true],
      ['"v2"', false],
      ['"V1"', false],
      ['W/"v1"', false],
      ['"v1", "v2"', false],
      ['"v1', false],
      ['W/v1', false],
    ])('%j against "v1" is %s', (ifRange, fresh) => {
      expect(isRangeFresh(ifRange, strongValidators)).toBe(fresh);
    });

    it('never matches a weak current tag', () => {
      expect(isRangeFresh('"v1"', weakValidators)).toBe(false);
      expect(isRangeFresh('W/"v1"', weakValidators)).toBe(false);
    });

    it('is stale without a current etag, even when the date would match', () => {
      expect(isRangeFresh('"v1"', { lastModified: LAST_MODIFIED })).toBe(false);
    });
  });

  describe('with an HTTP-date', () => {
    it.each([
      [AT, true],
      ['Monday, 15-Jan-24 10:00:00 GMT', true],
      ['Mon Jan 15 10:00:00 2024', true],
      [SECOND_BEFORE, false],
      [SECOND_AFTER, false],
      [FUTURE, false],
    ])('%j is %s (exact match only)', (ifRange, fresh) => {
      expect(isRangeFresh(ifRange, strongValidators)).toBe(fresh);
    });

    it('is stale without a modification date', () => {
      expect(isRangeFresh(AT, { etag: '"v1"' })).toBe(false);
    });

    it('is stale while the Last-Modified second is not over (a weak date, §8.8.2.2)', () => {
      vi.setSystemTime(new Date('2024-01-15T10:00:00.900Z'));
      expect(isRangeFresh(AT, strongValidators)).toBe(false);
      vi.setSystemTime(new Date('2024-01-15T10:00:01.000Z'));
      expect(isRangeFresh(AT, strongValidators)).toBe(true);
    });
  });

  describe('with anything else', () => {
    it.each(['', 'garbage', '2024-01-15T10:00:00Z', '*', 'v1'])('%j is stale', (ifRange) => {
      expect(isRangeFresh(ifRange, strongValidators)).toBe(false);
    });
  });
});
