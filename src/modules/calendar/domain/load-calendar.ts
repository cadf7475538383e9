/** Loads and cross-checks a calendar file; a bad file is refused with file, path and problem. */
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { DataFileError, loadDataFile, type DataFileProblem } from '../../../shared/data-files/load-data-file';
import { calendarFileSchema, type CalendarFile } from './calendar-schema';
import { dayNumber, weekdayOf } from './local-date';
import { WorkingCalendar } from './working-calendar';

export function loadCalendar(file: string): WorkingCalendar {
  const data = loadDataFile(file, calendarFileSchema);
  const problems = crossCheck(data);
  if (problems.length > 0) throw new DataFileError(file, problems);
  const calendar = new WorkingCalendar(data);
  if (calendar.buildProblems.length > 0) throw new DataFileError(file, calendar.buildProblems);
  return calendar;
}

function crossCheck(data: CalendarFile): DataFileProblem[] {
  const problems: DataFileProblem[] = [];
  if (data.covers.until < data.covers.from) problems.push({ path: 'covers.until', problem: `must not be before covers.from (${data.covers.from})` });
  const weekend = new Set<string>(data.weekend);
  data.holidays.forEach((holiday, i) => {
    if (holiday.validFrom && holiday.validUntil && holiday.validUntil < holiday.validFrom) {
      problems.push({ path: `holidays[${i}].validUntil`, problem: `must not be before validFrom (${holiday.validFrom})` });
    }
    for (const [year, entry] of Object.entries(holiday.dates ?? {})) {
      if (!entry.date.startsWith(`${year}-`)) problems.push({ path: `holidays[${i}].dates.${year}.date`, problem: `${entry.date} is not in ${year}` });
    }
  });
  const seen = new Map<string, number>();
  data.transfers.forEach((transfer, i) => {
    if (weekend.has(weekdayOf(dayNumber(transfer.dayOff)))) {
      problems.push({ path: `transfers[${i}].dayOff`, problem: `${transfer.dayOff} is a ${weekdayOf(dayNumber(transfer.dayOff))}, already a day off` });
    }
    for (const key of ['workingDay', 'dayOff'] as const) {
      const previous = seen.get(transfer[key]);
      if (previous !== undefined) problems.push({ path: `transfers[${i}].${key}`, problem: `${transfer[key]} is already used by transfers[${previous}]` });
      seen.set(transfer[key], i);
    }
  });
  data.production.forEach((row, i) => {
    if (row.total === null || row.months.some((m) => m === null)) return;
    const sum = row.months.reduce<number>((a, b) => a + (b ?? 0), 0);
    if (sum !== row.total) problems.push({ path: `production[${i}].total`, problem: `is ${row.total} but the months add up to ${sum}` });
  });
  return problems;
}

/** Every calendar file in a directory (`<CODE>.yaml`), by code; the file name must match the code. */
export function loadCalendars(dir: string): Map<string, WorkingCalendar> {
  let names: string[];
  try {
    names = readdirSync(dir).filter((n) => n.endsWith('.yaml')).sort();
  } catch (error) {
    throw new DataFileError(dir, [{ path: '', problem: `cannot be read: ${(error as NodeJS.ErrnoException).code}` }]);
  }
  if (names.length === 0) throw new DataFileError(dir, [{ path: '', problem: 'holds no calendar files (<CODE>.yaml)' }]);
  const calendars = new Map<string, WorkingCalendar>();
  for (const name of names) {
    const file = join(dir, name);
    const calendar = loadCalendar(file);
    if (`${calendar.code}.yaml` !== name) throw new DataFileError(file, [{ path: 'code', problem: `is ${calendar.code} but the file is named ${name}` }]);
    calendars.set(calendar.code, calendar);
  }
  return calendars;
}
