/**
 * Local calendar dates as "YYYY-MM-DD" strings and as day numbers (days since 1970-01-01).
 * Day numbers make calendar arithmetic exact and independent of any time zone.
 */

export type LocalDate = string;

const DATE_PATTERN = /^(\d{4})-(\d{2})-(\d{2})$/;
const MS_PER_DAY = 86_400_000;

export const WEEKDAYS = ['sunday', 'monday', 'tuesday', 'wednesday', 'thursday', 'friday', 'saturday'] as const;
export type Weekday = (typeof WEEKDAYS)[number];

/** Why a string is not a real calendar date, or null when it is one. */
export function localDateProblem(value: string): string | null {
  const match = DATE_PATTERN.exec(value);
  if (!match) return 'must be a date written YYYY-MM-DD';
  const [, y, m, d] = match;
  const year = Number(y);
  const month = Number(m);
  const day = Number(d);
  if (month < 1 || month > 12) return `month ${m} does not exist`;
  const lastDay = daysInMonth(year, month);
  if (day < 1 || day > lastDay) return `${value} does not exist: ${y}-${m} has ${lastDay} days`;
  return null;
}

export function isLocalDate(value: string): boolean {
  return localDateProblem(value) === null;
}

/** Date.UTC for every year: Date.UTC itself reads years 0–99 as 1900–1999 ("0099-12-31" was taken for 1999-12-31). */
function utcMs(year: number, monthIndex: number, day: number): number {
  if (year >= 100) return Date.UTC(year, monthIndex, day);
  const date = new Date(0);
  date.setUTCFullYear(year, monthIndex, day);
  return date.getTime();
}

export function daysInMonth(year: number, month: number): number {
  return new Date(utcMs(year, month, 0)).getUTCDate();
}

export function dayNumber(date: LocalDate): number {
  const match = DATE_PATTERN.exec(date);
  if (!match) throw new RangeError(`not a date: ${date}`);
  return Math.floor(utcMs(Number(match[1]), Number(match[2]) - 1, Number(match[3])) / MS_PER_DAY);
}

/** Days 0 (1970-01-01) to 2169: each formatted once, on first use; a projection formats every SLA row's month and deadline day. */
const FORMATTED_DAYS = 73_000;
// Allocated whole: filled from the middle (the 2010s first), a growing array would turn into a slower dictionary.
const formattedDays = new Array<LocalDate | undefined>(FORMATTED_DAYS);

export function fromDayNumber(day: number): LocalDate {
  if (day >= 0 && day < FORMATTED_DAYS && Number.isInteger(day))
    return (formattedDays[day] ??= new Date(day * MS_PER_DAY).toISOString().slice(0, 10));
  return new Date(day * MS_PER_DAY).toISOString().slice(0, 10);
}

export function weekdayOf(day: number): Weekday {
  // 1970-01-01 was a Thursday.
  return WEEKDAYS[(((day + 4) % 7) + 7) % 7];
}

export function yearOf(date: LocalDate): number {
  return Number(date.slice(0, 4));
}

export function addDays(date: LocalDate, days: number): LocalDate {
  return fromDayNumber(dayNumber(date) + days);
}

/** The same day `months` later; the last day of the month when that month is shorter. */
export function addMonths(date: LocalDate, months: number): LocalDate {
  const year = yearOf(date);
  const month = Number(date.slice(5, 7));
  const day = Number(date.slice(8, 10));
  const index = year * 12 + (month - 1) + months;
  const targetYear = Math.floor(index / 12);
  const targetMonth = (index % 12) + 1;
  const targetDay = Math.min(day, daysInMonth(targetYear, targetMonth));
  return `${String(targetYear).padStart(4, '0')}-${String(targetMonth).padStart(2, '0')}-${String(targetDay).padStart(2, '0')}`;
}
