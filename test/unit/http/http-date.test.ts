import { describe, expect, it } from 'vitest';
import { formatHttpDate, parseHttpDate } from '../../../src/http/http-date.js';

const utc = (year: number, month: number, day: number, hour = 0, minute = 0, second = 0) => {
  const date = new Date(0);
  date.setUTCFullYear(year, month - 1, day);
  date.setUTCHours(hour, minute, second, 0);
  return date;
};

describe('parseHttpDate', () => {
  describe('with the three RFC 9110 §5.6.7 examples', () => {
    it.each(['Sun, 06 Nov 1994 08:49:37 GMT', 'Sunday, 06-Nov-94 08:49:37 GMT', 'Sun Nov  6 08:49:37 1994'])(
      '%j is 1994-11-06T08:49:37Z',
      (value) => {
        expect(parseHttpDate(value)?.toISOString()).toBe('1994-11-06T08:49:37.000Z');
      },
    );
  });

  describe('with IMF-fixdate', () => {
    it.each([
      ['Thu, 01 Jan 1970 00:00:00 GMT', '1970-01-01T00:00:00.000Z'],
      ['Fri, 31 Dec 9999 23:59:59 GMT', '9999-12-31T23:59:59.000Z'],
      ['Tue, 29 Feb 2000 12:00:00 GMT', '2000-02-29T12:00:00.000Z'],
      ['Thu, 29 Feb 2024 00:00:01 GMT', '2024-02-29T00:00:01.000Z'],
      ['Mon, 01 Jan 0099 00:00:00 GMT', '0099-01-01T00:00:00.000Z'],
      ['Wed, 31 Dec 2025 23:59:60 GMT', '2026-01-01T00:00:00.000Z'],
    ])('%j', (value, iso) => {
      expect(parseHttpDate(value)?.toISOString()).toBe(iso);
    });

    it('does not check the day name against the date', () => {
      expect(parseHttpDate('Mon, 06 Nov 1994 08:49:37 GMT')?.toISOString()).toBe('1994-11-06T08:49:37.000Z');
    });

    it('ignores surrounding spaces and tabs', () => {
      expect(parseHttpDate(' \tSun, 06 Nov 1994 08:49:37 GMT ')?.toISOString()).toBe('1994-11-06T08:49:37.000Z');
    });
  });

  describe('with the obsolete RFC 850 form', () => {
    it.each([
      ['Monday, 01-Jan-01 00:00:00 GMT', '2001-01-01T00:00:00.000Z'],
      ['Thursday, 31-Dec-99 23:59:59 GMT', '1999-12-31T23:59:59.000Z'],
      ['Saturday, 01-Jan-00 00:00:00 GMT', '2000-01-01T00:00:00.000Z'],
    ])('%j (now = 2026)', (value, iso) => {
      expect(parseHttpDate(value, utc(2026, 6, 1))?.toISOString()).toBe(iso);
    });

    describe('applies the 50-year rule', () => {
      it.each([
        [2026, '76', 2076],
        [2026, '77', 1977],
        [2026, '94', 1994],
        [2026, '26', 2026],
        [2026, '00', 2000],
        [2099, '00', 2100],
        [2099, '49', 2149],
        [2099, '50', 2050],
        [1994, '94', 1994],
        [1994, '44', 2044],
        [1994, '45', 1945],
      ])('in %i, %s means %i', (nowYear, yy, year) => {
        const parsed = parseHttpDate(`Sunday, 06-Nov-${yy} 08:49:37 GMT`, utc(nowYear, 1, 1));
        expect(parsed?.getUTCFullYear()).toBe(year);
        expect(parsed?.getUTCMonth()).toBe(10);
        expect(parsed?.getUTCDate()).toBe(6);
      });
    });

    it('uses the current clock by default', () => {
      const yy = String(new Date().getUTCFullYear() % 100).padStart(2, '0');
      expect(parseHttpDate(`Monday, 01-Jan-${yy} 00:00:00 GMT`)?.getUTCFullYear()).toBe(new Date().getUTCFullYear());
    });
  });

  describe('with the asctime form', () => {
    it.each([
      ['Sun Nov  6 08:49:37 1994', '1994-11-06T08:49:37.000Z'],
      ['Sun Nov 06 08:49:37 1994', '1994-11-06T08:49:37.000Z'],
      ['Wed Nov 16 08:49:37 1994', '1994-11-16T08:49:37.000Z'],
      ['Thu Jan  1 00:00:00 1970', '1970-01-01T00:00:00.000Z'],
    ])('%j', (value, iso) => {
      expect(parseHttpDate(value)?.toISOString()).toBe(iso);
    });
  });

  describe('with anything else', () => {
    it.each([
      '',
      '2020',
      '0',
      '784111777',
      '1994-11-06T08:49:37Z',
      '1994-11-06T08:49:37.000Z',
      '1994-11-06',
      'Sun, 06 Nov 1994 08:49:37 UTC',
      'Sun, 06 Nov 1994 08:49:37 +0000',
      'Sun, 06 Nov 1994 08:49:37 gmt',
      'Sun, 06 Nov 1994 08:49:37',
      'sun, 06 Nov 1994 08:49:37 GMT',
      'Sun, 06 nov 1994 08:49:37 GMT',
      'SUN, 06 NOV 1994 08:49:37 GMT',
      'Sun, 6 Nov 1994 08:49:37 GMT',
      'Sun, 06 Nov 94 08:49:37 GMT',
      'Sun 06 Nov 1994 08:49:37 GMT',
      'Sun,  06 Nov 1994 08:49:37 GMT',
      'Sun, 06 Nov 1994 8:49:37 GMT',
      'Sun, 06 Nov 1994 08:49 GMT',
      'Sun, 06 November 1994 08:49:37 GMT',
      'Sunday, 06 Nov 1994 08:49:37 GMT',
      'Sun, 06-Nov-94 08:49:37 GMT',
      'Sunday, 06-Nov-1994 08:49:37 GMT',
      'sunday, 06-Nov-94 08:49:37 GMT',
      'Sun Nov 6 08:49:37 1994',
      'Sun Nov  6 08:49:37 94',
      'Sun Nov  6 08:49:37 1994 GMT',
      'Sun, 06 Nov 1994 08:49:37 GMT, Mon, 07 Nov 1994 08:49:37 GMT',
      'Sun, 06 Nov 1994 08:49:37 GMTx',
      'Sun, 06 Nov 1994 08:49:37\r\nGMT',
      'Sun, ０６ Nov 1994 08:49:37 GMT',
      'Sun, 06 Nov 1994 08:49:37.5 GMT',
      'not a date',
    ])('rejects %j', (value) => {
      expect(parseHttpDate(value)).toBeUndefined();
    });

    it('rejects null', () => {
      expect(parseHttpDate(null)).toBeUndefined();
    });
  });

  describe('with impossible dates and times', () => {
    it.each([
      'Sat, 31 Feb 2020 00:00:00 GMT',
      'Fri, 29 Feb 2019 00:00:00 GMT',
      'Mon, 29 Feb 1900 00:00:00 GMT',
      'Sun, 00 Nov 1994 08:49:37 GMT',
      'Sun, 32 Jan 1994 08:49:37 GMT',
      'Sun, 31 Apr 1994 08:49:37 GMT',
      'Sun, 06 Nov 1994 24:00:00 GMT',
      'Sun, 06 Nov 1994 08:60:00 GMT',
      'Sun, 06 Nov 1994 08:49:61 GMT',
      'Sunday, 31-Feb-94 08:49:37 GMT',
      'Sun Feb 30 08:49:37 1994',
      'Sun Nov  0 08:49:37 1994',
    ])('rejects %j', (value) => {
      expect(parseHttpDate(value)).toBeUndefined();
    });
  });
});

describe('formatHttpDate', () => {
  it.each([
    [utc(1994, 11, 6, 8, 49, 37), 'Sun, 06 Nov 1994 08:49:37 GMT'],
    [new Date(0), 'Thu, 01 Jan 1970 00:00:00 GMT'],
    [utc(2000, 2, 29, 23, 59, 59), 'Tue, 29 Feb 2000 23:59:59 GMT'],
    [utc(9999, 12, 31, 23, 59, 59), 'Fri, 31 Dec 9999 23:59:59 GMT'],
  ])('%s', (date, expected) => {
    expect(formatHttpDate(date)).toBe(expected);
  });

  it('drops milliseconds', () => {
    expect(formatHttpDate(new Date(Date.UTC(1994, 10, 6, 8, 49, 37, 999)))).toBe('Sun, 06 Nov 1994 08:49:37 GMT');
  });

  it('round-trips through parseHttpDate at second resolution', () => {
    const date = new Date(Date.UTC(2024, 6, 15, 13, 5, 9, 450));
    expect(parseHttpDate(formatHttpDate(date))?.getTime()).toBe(Date.UTC(2024, 6, 15, 13, 5, 9));
  });

  it('is accepted by Headers', () => {
    const value = formatHttpDate(utc(1994, 11, 6, 8, 49, 37));
    expect(new Headers({ 'last-modified': value }).get('last-modified')).toBe(value);
  });
});
