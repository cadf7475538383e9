/**
 * Instants as ISO 8601 text (`Date.prototype.toISOString`) and back (`Date.parse`), cheaply. Read models compute SLA
 * rows in bulk: every row's deadline is formatted and every completion, start and close parsed. Formatting an instant
 * cost about as much as the rest of a row, and the same deadlines recur across cases (the end of a working day, a
 * window's edge): they are memoised. Parsing cost a fifth of that, for text that rarely recurs: the built-in's own
 * format is read by arithmetic. Results are exactly those of the built-ins.
 */

/** Entries kept per table; a full table is emptied and filled again (what recurs comes back at once). */
const LIMIT = 200_000;

const texts = new Map<number, string>();

/** `new Date(ms).toISOString()`; throws the same RangeError for an instant outside the Date range. */
export function isoText(ms: number): string {
  let text = texts.get(ms);
  if (text === undefined) {
    text = new Date(ms).toISOString();
    if (texts.size >= LIMIT) texts.clear();
    texts.set(ms, text);
  }
  return text;
}

/** `Date.parse(text)` (NaN for text that is not a date). */
export function isoMs(text: string): number {
  // toISOString's own shape, YYYY-MM-DDTHH:mm:ss.sssZ, read by arithmetic: acts, starts and closes parsed for every
  // row of every case are all in it. Any other text, and days past the 28th (whose month must be checked), go to
  // Date.parse.
  if (
    text.length === 24 &&
    text.charCodeAt(4) === DASH &&
    text.charCodeAt(7) === DASH &&
    text.charCodeAt(10) === T &&
    text.charCodeAt(13) === COLON &&
    text.charCodeAt(16) === COLON &&
    text.charCodeAt(19) === DOT &&
    text.charCodeAt(23) === Z
  ) {
    const year = digits(text, 0, 4);
    const month = digits(text, 5, 2);
    const day = digits(text, 8, 2);
    const hour = digits(text, 11, 2);
    const minute = digits(text, 14, 2);
    const second = digits(text, 17, 2);
    const milli = digits(text, 20, 3);
    if (
      year >= 0 &&
      month >= 1 &&
      month <= 12 &&
      day >= 1 &&
      day <= 28 &&
      hour >= 0 &&
      hour <= 23 &&
      minute >= 0 &&
      minute <= 59 &&
      second >= 0 &&
      second <= 59 &&
      milli >= 0
    )
      return daysFromCivil(year, month, day) * 86_400_000 + hour * 3_600_000 + minute * 60_000 + second * 1000 + milli;
  }
  return Date.parse(text);
}

const DASH = 45;
const COLON = 58;
const DOT = 46;
const T = 84;
const Z = 90;

/** The decimal number written by `length` digits from `start`; -1 when a character is not a digit. */
function digits(text: string, start: number, length: number): number {
  let value = 0;
  for (let i = start; i < start + length; i++) {
    const digit = text.charCodeAt(i) - 48;
    if (digit < 0 || digit > 9) return -1;
    value = value * 10 + digit;
  }
  return value;
}

/** Days from 1970-01-01 to a proleptic Gregorian date (H. Hinnant's days_from_civil). */
function daysFromCivil(year: number, month: number, day: number): number {
  const y = month <= 2 ? year - 1 : year;
  const era = Math.floor(y / 400);
  const yoe = y - era * 400;
  const doy = Math.floor((153 * (month + (month > 2 ? -3 : 9)) + 2) / 5) + day - 1;
  const doe = yoe * 365 + Math.floor(yoe / 4) - Math.floor(yoe / 100) + doy;
  return era * 146_097 + doe - 719_468;
}
