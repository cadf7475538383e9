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

const MONTH_ENDS = [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];
const pad = (n: number) => String(n).padStart(2, '0');

/** Working days of a month walked day by day, independent of the calendar's prefix counts. */
function walkMonth(year: number, month: number): number {
  const last = month === 2 && year % 4 === 0 && (year % 100 !== 0 || year % 400 === 0) ? 29 : MONTH_ENDS[month - 1];
  let count = 0;
  for (let day = 1; day <= last; day++) if (calendar.isWorkingDay(`${year}-${pad(month)}-${pad(day)}`)) count++;
  return count;
}

describe('KZ production calendar: working days per month, 2015–2026 (5-day week)', () => {
  const years = file.productionCalendar;
  const figures = years.flatMap((row) =>
    row.workingDays.map((figure, index) => {
      const month = row.months?.[String(index + 1)];
      const confirmed = month?.confirmed ?? row.confirmed;
      return {
        year: row.year,
        month: index + 1,
        figure,
        confirmed,
        source: month?.source ?? row.source,
        status: confirmed ? 'confirmed' : 'unconfirmed',
      };
    }),
  );

  it('gives all twelve months of every year from 2015 to 2026', () => {
    expect(years.map((row) => row.year)).toEqual(Array.from({ length: 12 }, (_, i) => 2015 + i));
    expect(figures).toHaveLength(144);
  });

  it.each(figures)('$year-$month: $figure working days ($status)', ({ year, month, figure, source }) => {
    expect(walkMonth(year, month)).toBe(figure);
    expect(source.length).toBeGreaterThan(10);
  });

  it.each(years)('$year: $total working days in the year', (row) => {
    expect(calendar.countWorkingDays(`${row.year}-01-01`, `${row.year}-12-31`)).toBe(row.total);
  });

  it('marks exactly these figures unconfirmed, each with a note saying why', () => {
    const unconfirmed = figures.filter((f) => !f.confirmed).map((f) => `${f.year}-${pad(f.month)}`);
    expect(unconfirmed).toEqual([
      '2015-07',
      '2015-08',
      '2015-09',
      '2015-12',
      ...Array.from({ length: 11 }, (_, i) => `2026-${pad(i + 2)}`),
    ]);
    for (const row of years) {
      if (!row.confirmed) expect(row.note).toBeDefined();
      for (const month of Object.values(row.months ?? {}))
        if (month.confirmed === false) expect(month.note).toBeDefined();
    }
  });

  it('where a published figure is not what happened, keeps it beside the figure with the reason', () => {
    const published = years.flatMap((row) =>
      Object.entries(row.months ?? {})
        .filter(([, m]) => m.published !== undefined)
        .map(([month, m]) => [`${row.year}-${pad(Number(month))}`, m.published, row.workingDays[Number(month) - 1]]),
    );
    expect(published).toEqual([
      ['2019-05', 19, 20],
      ['2022-10', 21, 20],
      ['2022-12', 19, 21],
      ['2024-06', 19, 20],
      ['2026-08', 20, 21],
    ]);
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
    ['2022-12-16', false, 'Independence Day 2022 (one day: the Law of 2022-09-29)'],
    ['2022-12-19', true, '17 December was no longer a holiday in 2022, so nothing moved to Monday 19 December'],
    ['2021-12-17', false, 'Independence Day, two days until 2021'],
    ['2019-05-04', true, 'Saturday 4 May 2019 worked for Friday 10 May'],
    ['2019-05-10', false, 'the day off given for 4 May 2019'],
    ['2021-07-03', true, 'Saturday 3 July 2021 worked for Monday 5 July'],
    ['2021-07-05', false, 'the day off given for 3 July 2021'],
    ['2022-08-27', true, 'Saturday 27 August 2022 worked for Monday 29 August (decree No. 713)'],
    ['2022-08-29', false, 'the day off given for 27 August 2022'],
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
    expect(calendar.nonWorkingReason('2024-05-08')!.source).toMatch(/Order of the Minister of Labour/);
    expect(calendar.nonWorkingReason('2022-08-29')).toMatchObject({ kind: 'transfer', relatedDate: '2022-08-27' });
    expect(calendar.nonWorkingReason('2022-08-29')!.source).toMatch(/decree No\. 713 of 2021-10-06/);
    expect(calendar.nonWorkingReason('2025-03-24')).toMatchObject({
      kind: 'moved-holiday',
      name: 'Наурыз мейрамы',
      relatedDate: '2025-03-22',
    });
    expect(calendar.nonWorkingReason('2025-03-21')).toMatchObject({ kind: 'holiday', name: 'Наурыз мейрамы' });
    expect(calendar.nonWorkingReason('2025-03-21')!.source).toMatch(/267-II/);
    expect(calendar.nonWorkingReason('2025-06-06')!.source).toMatch(/Kurban|Spiritual|production calendar 2025/);
    expect(calendar.nonWorkingReason('2025-03-15')).toMatchObject({ kind: 'weekend', name: 'Суббота' });
    expect(calendar.nonWorkingReason('2025-03-18')).toBeNull();
    expect(calendar.workingDayNote('2024-05-04')).toMatchObject({ dayOff: '2024-05-08' });
  });

  it.each([
    // Friday 3 May 2019: Saturday 4 May was worked; 7 and 9 May holidays; Friday 10 May the day off given for it.
    ['2019-05-03', 1, '2019-05-04'],
    ['2019-05-03', 3, '2019-05-08'],
    ['2019-05-06', 2, '2019-05-13'],
    ['2019-05-08', 1, '2019-05-13'],
    ['2019-05-03', 5, '2019-05-14'],
  ])('across the May 2019 transfer: %s + %i working days is %s', (start, n, end) => {
    expect(calendar.addWorkingDays(start, n)).toBe(end);
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
    [
      'transfer-to-weekend',
      (d) => (d.transfers[0].dayOff = '2016-03-06'),
      'transfers[0].dayOff',
      /sunday, already a day off/,
    ],
    [
      'transfer-from-working-day',
      (d) => (d.transfers[0].workingDay = '2016-03-04'),
      'transfers[0].workingDay',
      /already a working day/,
    ],
    [
      'bad-total',
      (d) => (d.productionCalendar[5].total = 250),
      'productionCalendar[5].total',
      /is 250 but the months add up to 246/,
    ],
    [
      'figure-not-reproduced',
      (d) => ((d.productionCalendar[4].workingDays[5] = 19), (d.productionCalendar[4].total = 245)),
      'productionCalendar[4].workingDays[5]',
      /is 19 but the holidays and transfers give 20 working days in June 2019/,
    ],
    [
      'thirteen-months',
      (d) => d.productionCalendar[0].workingDays.push(20),
      'productionCalendar[0].workingDays',
      /12 months, January first/,
    ],
    [
      'unconfirmed-without-note',
      (d) => delete d.productionCalendar[0].months['7'].note,
      'productionCalendar[0].months.7.note',
      /confirmed: false.*without a `note`/,
    ],
    [
      'unconfirmed-year-without-note',
      (d) => delete d.productionCalendar[11].note,
      'productionCalendar[11].note',
      /confirmed: false.*without a `note`/,
    ],
    [
      'unconfirmed-transfer-without-note',
      (d) => (d.transfers[0].confirmed = false),
      'transfers[0].note',
      /confirmed: false.*without a `note`/,
    ],
    [
      'published-equals-figure',
      (d) => (d.productionCalendar[4].months['5'].published = 20),
      'productionCalendar[4].months.5.published',
      /equals the figure \(20\)/,
    ],
    [
      'published-without-note',
      (d) => delete d.productionCalendar[4].months['5'].note,
      'productionCalendar[4].months.5.note',
      /needs a `note`/,
    ],
    [
      'duplicate-year',
      (d) => (d.productionCalendar[1].year = 2015),
      'productionCalendar[1].year',
      /2015 is already given by productionCalendar\[0\]/,
    ],
    [
      'year-outside-covers',
      (d) => (d.productionCalendar[0].year = 2014),
      'productionCalendar[0].year',
      /2014 is not a whole year inside covers \(2015-01-01 to 2027-12-31\)/,
    ],
    [
      'month-thirteen',
      (d) => (d.productionCalendar[0].months['13'] = { confirmed: false, note: 'no such month at all' }),
      'productionCalendar[0].months.13',
      /is not an allowed key: must be a month number 1-12/,
    ],
    [
      'kurban-wrong-year',
      (d) => (d.holidays.find((h: any) => h.id === 'kurban-ait').dates['2016'].date = '2017-09-12'),
      'dates.2016.date',
      /not in 2016/,
    ],
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
