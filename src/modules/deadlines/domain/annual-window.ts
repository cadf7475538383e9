/**
 * Fixed annual windows ("10–20 August", "by 10 August", "from 1 January until 18:30 on the
 * second Friday of July"), resolved per year in local time.
 */
import {
  addDays,
  daysInMonth,
  dayNumber,
  fromDayNumber,
  weekdayOf,
  WEEKDAYS,
  type LocalDate,
} from '../../calendar/domain/local-date';
import type { TimeZone } from '../../calendar/domain/time-zone';
import type { AnnualDay, LimitSpec } from './limit';

export type AnnualWindowSpec = Extract<LimitSpec, { kind: 'annual-window' }>;

export interface ResolvedWindow {
  year: number;
  /** Local date the window opens (start of day); the 1st of January when the spec has no `from`. */
  opensOn: LocalDate;
  closesOn: LocalDate;
  opensAt: Date;
  /** The first instant after the window: the end of `closesOn`, or `untilTime` on it. */
  closesAt: Date;
  /** The `until` day, when it was not a working day and the window closes on the next one (untilMovesToWorkingDay). */
  movedFrom?: LocalDate;
}

/** Whether a local date is a working day; windows whose last day moves to a working day need it. */
export type IsWorkingDay = (date: LocalDate) => boolean;

export function resolveAnnualDay(day: AnnualDay, year: number): LocalDate {
  if ('monthDay' in day) return `${year}-${day.monthDay}`;
  const month = String(day.month).padStart(2, '0');
  const wanted = WEEKDAYS.indexOf(day.weekday);
  if (day.nth === -1) {
    let d = dayNumber(`${year}-${month}-${String(daysInMonth(year, day.month)).padStart(2, '0')}`);
    while (WEEKDAYS.indexOf(weekdayOf(d)) !== wanted) d--;
    return fromDayNumber(d);
  }
  let d = dayNumber(`${year}-${month}-01`);
  while (WEEKDAYS.indexOf(weekdayOf(d)) !== wanted) d++;
  return fromDayNumber(d + 7 * (day.nth - 1));
}

export function describeAnnualDay(day: AnnualDay): string {
  if ('monthDay' in day) return day.monthDay;
  const nth = day.nth === -1 ? 'last' : ['first', 'second', 'third', 'fourth'][day.nth - 1];
  return `${nth} ${day.weekday} of month ${day.month}`;
}

export function parseTimeOfDay(value: string): number {
  const match = /^([01]\d|2[0-3]):([0-5]\d)$/.exec(value);
  if (!match) throw new RangeError(`not a time of day HH:MM: ${value}`);
  return Number(match[1]) * 60 + Number(match[2]);
}

/**
 * The window of a year. A window whose `until` day moves to a working day (untilMovesToWorkingDay) closes at the end of
 * the first working day from it, by `isWorkingDay`; without one it keeps its day.
 */
export function resolveWindow(
  spec: AnnualWindowSpec,
  year: number,
  zone: TimeZone,
  isWorkingDay?: IsWorkingDay,
): ResolvedWindow {
  const opensOn = spec.from ? resolveAnnualDay(spec.from, year) : `${year}-01-01`;
  const until = resolveAnnualDay(spec.until, year);
  let closesOn = until;
  if (spec.untilMovesToWorkingDay && isWorkingDay) while (!isWorkingDay(closesOn)) closesOn = addDays(closesOn, 1);
  const closesAt = spec.untilTime
    ? zone.toInstant(closesOn, parseTimeOfDay(spec.untilTime))
    : zone.endOfDay(dayNumber(closesOn));
  return {
    year,
    opensOn,
    closesOn,
    opensAt: zone.toInstant(opensOn, 0),
    closesAt,
    ...(closesOn !== until ? { movedFrom: until } : {}),
  };
}

/** The window of the instant's local year, or of the next year when this year's has closed. */
export function currentOrNextWindow(
  spec: AnnualWindowSpec,
  instant: Date,
  zone: TimeZone,
  isWorkingDay?: IsWorkingDay,
): ResolvedWindow {
  const year = Number(zone.toLocal(instant).date.slice(0, 4));
  const thisYear = resolveWindow(spec, year, zone, isWorkingDay);
  return instant.getTime() < thisYear.closesAt.getTime() ? thisYear : resolveWindow(spec, year + 1, zone, isWorkingDay);
}

/**
 * The one year of a sequence of windows counted from the same instant (the exams, the competition and the enrolment of
 * one admission): the first year in which none of them had closed at the instant. Resolved one by one, each window
 * took the next year only for itself: a filing on 21 August 2015 had its exams in 2016 and its competition in 2015.
 */
export function sequenceYear(
  specs: readonly AnnualWindowSpec[],
  instant: Date,
  zone: TimeZone,
  isWorkingDay?: IsWorkingDay,
): number {
  let year = Number(zone.toLocal(instant).date.slice(0, 4));
  for (const spec of specs) year = Math.max(year, currentOrNextWindow(spec, instant, zone, isWorkingDay).year);
  return year;
}

export function isWithinWindow(spec: AnnualWindowSpec, instant: Date, zone: TimeZone): boolean {
  const window = resolveWindow(spec, Number(zone.toLocal(instant).date.slice(0, 4)), zone);
  return instant.getTime() >= window.opensAt.getTime() && instant.getTime() < window.closesAt.getTime();
}

/** When the window next opens after the instant (this year's if it has not opened yet). */
export function nextOpening(spec: AnnualWindowSpec, instant: Date, zone: TimeZone): Date {
  const year = Number(zone.toLocal(instant).date.slice(0, 4));
  const thisYear = resolveWindow(spec, year, zone);
  return instant.getTime() < thisYear.opensAt.getTime()
    ? thisYear.opensAt
    : resolveWindow(spec, year + 1, zone).opensAt;
}

/** When the window last closed at or before the instant. */
export function lastClosing(spec: AnnualWindowSpec, instant: Date, zone: TimeZone): Date {
  const year = Number(zone.toLocal(instant).date.slice(0, 4));
  const thisYear = resolveWindow(spec, year, zone);
  return instant.getTime() >= thisYear.closesAt.getTime()
    ? thisYear.closesAt
    : resolveWindow(spec, year - 1, zone).closesAt;
}
