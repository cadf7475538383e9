import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { parse, stringify } from 'yaml';
import { DataFileError } from '../../../shared/data-files/load-data-file';
import { addDays, dayNumber, fromDayNumber } from './local-date';
import { loadCalendar } from './load-calendar';
import { CalendarRangeError } from './working-calendar';

const KZ_FILE = join(__dirname, '../../../../data/calendars/KZ.yaml');
const calendar = loadCalendar(KZ_FILE);
const file = calendar.file;

describe('KZ calendar reproduces the official production calendars', () => {
  const rows = file.production.flatMap((row) =>
    row.months.map((official, index) => ({ year: row.year, month: index + 1, official, differs: row.differs?.months?.[String(index + 1)] })),
  );
  const known = rows.filter((r) => r.official !== null);

  it('has official figures for at least 30 months', () => {
    expect(known.length).toBeGreaterThanOrEqual(30);
  });

  it.each(known)('$year-$month: $official working days (or what happened instead)', ({ year, month, official, differs }) => {
    const computed = calendar.workingDaysPerMonth(year)[month - 1];
    expect(computed).toBe(differs ?? official);
    if (differs !== undefined) expect(differs).not.toBe(official);
  });

  it.each(file.production.filter((r) => r.total !== null))('$year: $total working days in the year (or what happened instead)', (row) => {
    const computed = calendar.countWorkingDays(`${row.year}-01-01`, `${row.year}-12-31`);
    expect(computed).toBe(row.differs?.total ?? row.total);
  });
});

describe('KZ calendar: the days that decide deadlines', () => {
  it.each([
    ['2024-06-17', true, 'Kurban Ait 2024 was Sunday 16 June; the Monday stayed a working day'],
    ['2024-06-16', false, 'Kurban Ait on a Sunday'],
    ['2020-05-08', false, 'transfer from Monday 11 May 2020'],
    ['2020-05-11', true, 'the moved Victory Day off given back by the transfer'],
    ['2020-12-20', true, 'a Sunday worked in exchange for 18 December 2020'],
    ['2017-01-03', false, 'New Year on Sunday 1 January moves past 2 January to Tuesday'],
    ['2017-01-09', true, 'Orthodox Christmas on Saturday 7 January is not moved'],
    ['2019-08-12', true, 'Kurban Ait on Sunday 11 August 2019 is not moved'],
    ['2021-12-01', false, 'Day of the First President until 2021'],
    ['2022-12-01', true, 'Day of the First President abolished in 2022'],
    ['2022-12-19', false, 'Independence Day 17 December 2022 on a Saturday'],
    ['2023-12-18', false, 'Independence Day 16 December 2023 on a Saturday (one day from 2023)'],
    ['2022-10-24', false, 'transfer for the first Republic Day'],
    ['2022-10-22', true, 'the Saturday worked for it'],
    ['2016-05-10', false, 'Defender Day on Saturday 7 May 2016 moves past Victory Day to Tuesday'],
    ['2026-08-31', true, 'no Constitution Day in 2026'],
    ['2026-03-25', false, 'Nauryz 22 March 2026 on a Sunday'],
    ['2027-03-15', false, 'Constitution Day from 2027'],
  ])('%s working: %s (%s)', (date, working) => {
    expect(calendar.isWorkingDay(date)).toBe(working);
  });

  it('says why a day is not a working day, with the act', () => {
    expect(calendar.nonWorkingReason('2024-05-08')).toMatchObject({ kind: 'transfer', relatedDate: '2024-05-04' });
    expect(calendar.nonWorkingReason('2024-05-08')!.source).toMatch(/Government decree/);
    expect(calendar.nonWorkingReason('2025-03-24')).toMatchObject({ kind: 'moved-holiday', name: 'Наурыз мейрамы', relatedDate: '2025-03-22' });
    expect(calendar.nonWorkingReason('2025-03-21')).toMatchObject({ kind: 'holiday', name: 'Наурыз мейрамы' });
    expect(calendar.nonWorkingReason('2025-03-21')!.source).toMatch(/267-II/);
    expect(calendar.nonWorkingReason('2025-06-06')!.source).toMatch(/Kurban|Spiritual|production calendar 2025/);
    expect(calendar.nonWorkingReason('2025-03-15')).toMatchObject({ kind: 'weekend', name: 'Суббота' });
    expect(calendar.nonWorkingReason('2025-03-18')).toBeNull();
    expect(calendar.workingDayNote('2024-05-04')).toMatchObject({ dayOff: '2024-05-08' });
  });

  it('refuses dates outside the covered years, naming the range', () => {
    expect(() => calendar.isWorkingDay('2014-12-31')).toThrow(CalendarRangeError);
    expect(() => calendar.countWorkingDays('2026-12-01', '2028-01-10')).toThrow(/covers 2015-01-01 to 2027-12-31/);
    expect(() => calendar.addWorkingDays('2027-12-20', 30)).toThrow(CalendarRangeError);
  });
});

describe('KZ calendar properties', () => {
  const first = dayNumber(calendar.coveredFrom);
  const last = dayNumber('2026-01-01'); // + 400 working days stays inside the covered years
  const date = fc.integer({ min: first, max: last }).map(fromDayNumber);

  it('adding N working days and counting back gives N, and the result is a working day', () => {
    fc.assert(
      fc.property(date, fc.integer({ min: 1, max: 400 }), (start, n) => {
        const end = calendar.addWorkingDays(start, n);
        expect(calendar.isWorkingDay(end)).toBe(true);
        expect(calendar.countWorkingDays(addDays(start, 1), end)).toBe(n);
        // No earlier day reaches N.
        expect(calendar.countWorkingDays(addDays(start, 1), addDays(end, -1))).toBe(n - 1);
      }),
      { numRuns: 2000 },
    );
  });

  it('counting agrees with a day-by-day walk, and every non-working day has a reason', () => {
    fc.assert(
      fc.property(date, fc.integer({ min: 0, max: 120 }), (from, span) => {
        const to = addDays(from, span);
        if (!calendar.covers(to)) return;
        let walked = 0;
        for (let d = dayNumber(from); d <= dayNumber(to); d++) if (calendar.isWorkingDay(fromDayNumber(d))) walked++;
        expect(calendar.countWorkingDays(from, to)).toBe(walked);
        expect(calendar.nonWorkingDays(from, to)).toHaveLength(span + 1 - walked);
      }),
      { numRuns: 500 },
    );
  });
});

describe('a bad calendar file stops loading with the file, the path and the problem', () => {
  const dir = mkdtempSync(join(tmpdir(), 'calendar-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const original = parse(readFileSync(KZ_FILE, 'utf8'));

  function broken(name: string, mutate: (data: any) => void): string {
    const data = structuredClone(original);
    mutate(data);
    const path = join(dir, `${name}.yaml`);
    writeFileSync(path, stringify(data));
    return path;
  }

  it.each<[string, (data: any) => void, string, RegExp]>([
    ['impossible-date', (d) => (d.transfers[0].dayOff = '2016-02-30'), 'transfers[0].dayOff', /does not exist/],
    ['missing-source', (d) => delete d.holidays[0].source, 'holidays[0].source', /./],
    ['unknown-key', (d) => (d.holidays[2].movesOnWeekend = true), 'holidays[2]', /movesOnWeekend/],
    ['transfer-to-weekend', (d) => (d.transfers[0].dayOff = '2016-03-06'), 'transfers[0].dayOff', /sunday, already a day off/],
    ['transfer-from-working-day', (d) => (d.transfers[0].workingDay = '2016-03-04'), 'transfers[0].workingDay', /already a working day/],
    ['bad-total', (d) => (d.production[1].total = 250), 'production[1].total', /add up to 246/],
    ['kurban-wrong-year', (d) => (d.holidays.find((h: any) => h.id === 'kurban-ait').dates['2016'].date = '2017-09-12'), 'dates.2016.date', /not in 2016/],
    ['bad-offset', (d) => (d.timeZone.offsets[0].utcOffset = 'UTC+6'), 'timeZone.offsets[0].utcOffset', /\+HH:MM/],
  ])('%s', (name, mutate, path, problem) => {
    const target = broken(name, mutate);
    let error: unknown;
    try {
      loadCalendar(target);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(DataFileError);
    const failure = error as DataFileError;
    expect(failure.file).toBe(target);
    const hit = failure.problems.find((p) => p.path.includes(path));
    expect(hit).toBeDefined();
    expect(hit!.problem).toMatch(problem);
    expect(failure.message).toContain(target);
  });

  it('not YAML at all', () => {
    const target = join(dir, 'garbage.yaml');
    writeFileSync(target, 'code: KZ\n  holidays: [\n');
    expect(() => loadCalendar(target)).toThrow(/garbage\.yaml: is not valid YAML at line/);
  });
});
