/** HTTP-date (RFC 9110 §5.6.7): parse the three allowed forms, format IMF-fixdate. */

import { trimFieldValue } from './field-value.js';

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
const TIME = '([0-9]{2}):([0-9]{2}):([0-9]{2})';
const MONTH = '(Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec)';
// RFC 9110 §5.6.7: "HTTP-date is case sensitive", so no `i` flag anywhere.
// IMF-fixdate: `Sun, 06 Nov 1994 08:49:37 GMT`.
const IMF_FIXDATE = new RegExp(`^(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun), ([0-9]{2}) ${MONTH} ([0-9]{4}) ${TIME} GMT$`);
// obsolete RFC 850: `Sunday, 06-Nov-94 08:49:37 GMT`.
const RFC850_DATE = new RegExp(
  `^(?:Monday|Tuesday|Wednesday|Thursday|Friday|Saturday|Sunday), ([0-9]{2})-${MONTH}-([0-9]{2}) ${TIME} GMT$`,
);
// ANSI C asctime(): `Sun Nov  6 08:49:37 1994` (day is 2DIGIT or SP DIGIT).
const ASCTIME_DATE = new RegExp(`^(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun) ${MONTH} ([0-9]{2}| [0-9]) ${TIME} ([0-9]{4})$`);

/**
 * Parse an HTTP-date in exactly one of the three RFC 9110 §5.6.7 forms; anything else
 * (ISO 8601, a bare year, an impossible day such as 31 Feb, a missing `GMT`) is `undefined`.
 * The day name is not checked against the date. `now` (default: the current time) only matters
 * for the two-digit year of the RFC 850 form, so it is not read otherwise.
 * @example parseHttpDate('Sun, 06 Nov 1994 08:49:37 GMT') // 1994-11-06T08:49:37.000Z
 */
export function parseHttpDate(value: string | null, now?: Date): Date | undefined {
  if (value === null) return undefined;
  // RFC 9110 §5.5: surrounding whitespace is not part of the field value.
  const text = trimFieldValue(value);

  let match = IMF_FIXDATE.exec(text);
  if (match) {
    const [, day, month, year, hour, minute, second] = match;
    return build(Number(year), month, Number(day), hour, minute, second);
  }
  match = RFC850_DATE.exec(text);
  if (match) {
    const [, day, month, year, hour, minute, second] = match;
    return build(expandYear(Number(year), now ?? new Date()), month, Number(day), hour, minute, second);
  }
  match = ASCTIME_DATE.exec(text);
  if (match) {
    const [, month, day, hour, minute, second, year] = match;
    return build(Number(year), month, Number(day), hour, minute, second);
  }
  return undefined;
}

/**
 * RFC 9110 §5.6.7: a two-digit year that "appears to be more than 50 years in the future" is the
 * most recent past year with the same last two digits, i.e. the latest year ending in `yy` that
 * is at most 50 years after `now`.
 */
function expandYear(yy: number, now: Date): number {
  const limit = now.getUTCFullYear() + 50;
  return limit - ((((limit - yy) % 100) + 100) % 100);
}

function build(
  year: number,
  monthName: string | undefined,
  day: number,
  hourText: string | undefined,
  minuteText: string | undefined,
  secondText: string | undefined,
): Date | undefined {
  const month = MONTHS.indexOf(monthName ?? '');
  const hour = Number(hourText);
  const minute = Number(minuteText);
  const second = Number(secondText);
  // RFC 9110 §5.6.7: 00:00:00 - 23:59:60 (60 is a leap second, which Date rolls into the next minute).
  if (month < 0 || hour > 23 || minute > 59 || second > 60) return undefined;
  const date = new Date(0);
  // setUTCFullYear, not Date.UTC: Date.UTC maps years 0-99 to 1900-1999.
  date.setUTCFullYear(year, month, day);
  // A day the month does not have (31 Feb, 00 Nov) rolls into another month; reject it.
  if (date.getUTCMonth() !== month) return undefined;
  date.setUTCHours(hour, minute, second, 0);
  return date;
}

/**
 * Format a date as IMF-fixdate (RFC 9110 §5.6.7), the only form a sender may generate;
 * milliseconds are dropped. The date must be valid, with a year from 0 to 9999.
 * @example formatHttpDate(new Date(Date.UTC(1994, 10, 6, 8, 49, 37))) // 'Sun, 06 Nov 1994 08:49:37 GMT'
 */
export function formatHttpDate(date: Date): string {
  return date.toUTCString();
}
