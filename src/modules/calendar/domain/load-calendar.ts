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
  const mismatches = productionMismatches(calendar);
  if (mismatches.length > 0) throw new DataFileError(file, mismatches);
  return calendar;
}

const MONTHS = [
  'January',
  'February',
  'March',
  'April',
  'May',
  'June',
  'July',
  'August',
  'September',
  'October',
  'November',
  'December',
];

/** The production-calendar table and the day table must agree: a figure the holidays and transfers do not give is refused. */
function productionMismatches(calendar: WorkingCalendar): DataFileProblem[] {
  const problems: DataFileProblem[] = [];
  calendar.file.productionCalendar.forEach((row, i) => {
    const computed = calendar.workingDaysPerMonth(row.year);
    row.workingDays.forEach((figure, m) => {
      if (figure !== computed[m]) {
        problems.push({
          path: `productionCalendar[${i}].workingDays[${m}]`,
          problem: `is ${figure} but the holidays and transfers give ${computed[m]} working days in ${MONTHS[m]} ${row.year}`,
        });
      }
    });
  });
  return problems;
}

function crossCheck(data: CalendarFile): DataFileProblem[] {
  const problems: DataFileProblem[] = [];
  if (data.covers.until < data.covers.from)
    problems.push({ path: 'covers.until', problem: `must not be before covers.from (${data.covers.from})` });
  const weekend = new Set<string>(data.weekend);
  data.holidays.forEach((holiday, i) => {
    if (holiday.validFrom && holiday.validUntil && holiday.validUntil < holiday.validFrom) {
      problems.push({
        path: `holidays[${i}].validUntil`,
        problem: `must not be before validFrom (${holiday.validFrom})`,
      });
    }
    for (const [year, entry] of Object.entries(holiday.dates ?? {})) {
      if (!entry.date.startsWith(`${year}-`))
        problems.push({ path: `holidays[${i}].dates.${year}.date`, problem: `${entry.date} is not in ${year}` });
    }
  });
  const seen = new Map<string, number>();
  data.transfers.forEach((transfer, i) => {
    if (weekend.has(weekdayOf(dayNumber(transfer.dayOff)))) {
      problems.push({
        path: `transfers[${i}].dayOff`,
        problem: `${transfer.dayOff} is a ${weekdayOf(dayNumber(transfer.dayOff))}, already a day off`,
      });
    }
    for (const key of ['workingDay', 'dayOff'] as const) {
      const previous = seen.get(transfer[key]);
      if (previous !== undefined)
        problems.push({
          path: `transfers[${i}].${key}`,
          problem: `${transfer[key]} is already used by transfers[${previous}]`,
        });
      seen.set(transfer[key], i);
    }
  });
  const years = new Map<number, number>();
  data.productionCalendar.forEach((row, i) => {
    const at = `productionCalendar[${i}]`;
    const previous = years.get(row.year);
    if (previous !== undefined)
      problems.push({ path: `${at}.year`, problem: `${row.year} is already given by productionCalendar[${previous}]` });
    years.set(row.year, i);
    // Whole years only: a year the calendar covers in part has months it cannot count.
    if (`${row.year}-01-01` < data.covers.from || `${row.year}-12-31` > data.covers.until) {
      problems.push({
        path: `${at}.year`,
        problem: `${row.year} is not a whole year inside covers (${data.covers.from} to ${data.covers.until})`,
      });
    }
    const sum = row.workingDays.reduce((a, b) => a + b, 0);
    if (sum !== row.total)
      problems.push({ path: `${at}.total`, problem: `is ${row.total} but the months add up to ${sum}` });
    if (row.publishedTotal === row.total)
      problems.push({
        path: `${at}.publishedTotal`,
        problem: `equals total (${row.total}); give it only where the published total differs`,
      });
    for (const [month, entry] of Object.entries(row.months ?? {})) {
      const figure = row.workingDays[Number(month) - 1];
      if (entry.published === figure) {
        problems.push({
          path: `${at}.months.${month}.published`,
          problem: `equals the figure (${figure}); give it only where the published figure differs`,
        });
      }
    }
  });
  return problems;
}

/** Every calendar file in a directory (`<CODE>.yaml`), by code; the file name must match the code. */
export function loadCalendars(dir: string): Map<string, WorkingCalendar> {
  let names: string[];
  try {
    names = readdirSync(dir)
      .filter((n) => n.endsWith('.yaml'))
      .sort();
  } catch (error) {
    throw new DataFileError(dir, [{ path: '', problem: `cannot be read: ${(error as NodeJS.ErrnoException).code}` }]);
  }
  if (names.length === 0)
    throw new DataFileError(dir, [{ path: '', problem: 'holds no calendar files (<CODE>.yaml)' }]);
  const calendars = new Map<string, WorkingCalendar>();
  for (const name of names) {
    const file = join(dir, name);
    const calendar = loadCalendar(file);
    if (`${calendar.code}.yaml` !== name)
      throw new DataFileError(file, [{ path: 'code', problem: `is ${calendar.code} but the file is named ${name}` }]);
    calendars.set(calendar.code, calendar);
  }
  return calendars;
}
