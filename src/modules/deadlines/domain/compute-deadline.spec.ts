import { join } from 'node:path';
import fc from 'fast-check';
import { addDays, dayNumber, fromDayNumber } from '../../calendar/domain/local-date';
import { loadCalendar } from '../../calendar/domain/load-calendar';
import {
  isWithinWindow,
  lastClosing,
  nextOpening,
  resolveWindow,
  sequenceYear,
  type AnnualWindowSpec,
} from './annual-window';
import { computeDeadline } from './compute-deadline';
import type { Limit } from './limit';

const calendar = loadCalendar(join(__dirname, '../../../../data/calendars/KZ.yaml'));
const zone = calendar.timeZone;

describe('working-day deadlines (Civil Code art. 171–173)', () => {
  it('skips weekends, holidays and transfer days and counts a Saturday worked by transfer', () => {
    // Friday 3 May 2024, 10:00 local. 4 May (Saturday) was worked for 8 May.
    const result = computeDeadline({ kind: 'working-days', days: 3 }, new Date('2024-05-03T10:00:00+05:00'), calendar);
    expect(result.deadline!.toISOString()).toBe('2024-05-10T19:00:00.000Z');
    expect(result.explanation.deadlineLocal).toBe('2024-05-11T00:00:00+05:00');
    expect(result.explanation.lastDay).toBe('2024-05-10');
    expect(result.explanation.legalBasis[0]).toMatch(/Civil Code.*171–173/);
    const days = result.explanation.days!;
    expect(days.map((d) => [d.date, d.counted, d.reason?.kind ?? null])).toEqual([
      ['2024-05-04', true, null],
      ['2024-05-05', false, 'weekend'],
      ['2024-05-06', true, null],
      ['2024-05-07', false, 'holiday'],
      ['2024-05-08', false, 'transfer'],
      ['2024-05-09', false, 'holiday'],
      ['2024-05-10', true, null],
    ]);
    expect(days[0].note).toMatch(/worked in exchange for the day off on 2024-05-08/);
    expect(days[3].reason!.name).toBe('День защитника Отечества');
    expect(days[4].reason!.source).toMatch(/Order of the Minister of Labour/);
  });

  it('takes the anchor day in local time, not UTC', () => {
    // 20:30 UTC on Thursday 2 May 2024 is 01:30 on Friday 3 May in Almaty.
    const late = computeDeadline({ kind: 'working-days', days: 1 }, new Date('2024-05-02T20:30:00Z'), calendar);
    expect(late.explanation.anchor.localDate).toBe('2024-05-03');
    expect(late.explanation.lastDay).toBe('2024-05-04');
  });

  it('crosses the 2024-03-01 time-zone change in local days', () => {
    const result = computeDeadline({ kind: 'working-days', days: 3 }, new Date('2024-02-28T12:00:00+06:00'), calendar);
    expect(result.explanation.lastDay).toBe('2024-03-04');
    expect(result.explanation.deadlineLocal).toBe('2024-03-05T00:00:00+05:00');
    expect(result.explanation.anchor.utcOffset).toBe('+06:00');
  });

  it('never ends on a non-working day, always at local midnight, and agrees with counting', () => {
    const first = dayNumber('2015-01-01');
    const last = dayNumber('2026-06-30');
    fc.assert(
      fc.property(
        fc.integer({ min: first, max: last }),
        fc.integer({ min: 0, max: 1439 }),
        fc.integer({ min: 0, max: 60 }),
        (day, minute, n) => {
          const anchorDate = fromDayNumber(day);
          const anchor = zone.toInstant(anchorDate, minute);
          const { deadline, explanation } = computeDeadline({ kind: 'working-days', days: n }, anchor, calendar);
          const end = zone.toLocal(deadline!);
          expect(end.minuteOfDay).toBe(0);
          const lastDay = zone.toLocal(new Date(deadline!.getTime() - 1)).date;
          expect(lastDay).toBe(explanation.lastDay);
          if (n > 0) {
            expect(calendar.isWorkingDay(lastDay)).toBe(true);
            expect(calendar.countWorkingDays(addDays(anchorDate, 1), lastDay)).toBe(n);
            expect(explanation.days!.filter((d) => d.counted)).toHaveLength(n);
          } else {
            expect(lastDay).toBe(anchorDate);
          }
        },
      ),
      { numRuns: 3000 },
    );
  });

  it('gives the same local result whichever offset is in force around the 2024 time-zone change', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: dayNumber('2024-01-01'), max: dayNumber('2024-06-30') }),
        fc.integer({ min: 0, max: 1439 }),
        fc.integer({ min: 1, max: 30 }),
        (day, minute, n) => {
          const anchorDate = fromDayNumber(day);
          const result = computeDeadline(
            { kind: 'working-days', days: n },
            zone.toInstant(anchorDate, minute),
            calendar,
          );
          expect(result.explanation.anchor.localDate).toBe(anchorDate);
          const lastDay = calendar.addWorkingDays(anchorDate, n);
          expect(result.explanation.lastDay).toBe(lastDay);
          const offset = lastDay < '2024-02-29' ? '+06:00' : '+05:00';
          expect(result.explanation.deadlineLocal).toBe(`${addDays(lastDay, 1)}T00:00:00${offset}`);
        },
      ),
      { numRuns: 2000 },
    );
  });

  it('carries the clause of the limit and marks provisional years', () => {
    const limit: Limit = {
      id: 'step',
      spec: { kind: 'working-days', days: 5 },
      anchor: { step: 'documents-registered' },
      clause: { act: 'order-184-2015', appendix: 2, paragraph: 7, subparagraph: 3, track: 'competition-recommended' },
    };
    const result = computeDeadline(limit, new Date('2027-02-01T09:00:00+05:00'), calendar);
    expect(result.explanation.clause).toEqual(limit.clause);
    expect(result.explanation.provisional).toBe(true);
    expect(result.explanation.notes.join(' ')).toMatch(/provisional/);
  });
});

describe('minutes, calendar periods, windows and programmes', () => {
  it('minutes ignore the calendar; the deadline is the first instant past them ("not more than N minutes")', () => {
    const result = computeDeadline({ kind: 'minutes', minutes: 20 }, new Date('2024-03-08T23:50:00+05:00'), calendar);
    expect(result.deadline!.toISOString()).toBe('2024-03-08T19:10:00.001Z');
  });

  it('a month ends on the corresponding day, or the month’s last day', () => {
    const result = computeDeadline(
      { kind: 'calendar-period', months: 1 },
      new Date('2024-01-31T15:00:00+06:00'),
      calendar,
    );
    expect(result.explanation.lastDay).toBe('2024-02-29');
    // 29 February 2024 lasted 25 hours in Almaty: at 00:00 on 1 March (+06) clocks went back to 23:00 (+05).
    expect(result.explanation.deadlineLocal).toBe('2024-03-01T00:00:00+05:00');
    expect(result.deadline!.toISOString()).toBe('2024-02-29T19:00:00.000Z');
  });

  it('a period ending on a non-working day ends on the next working day', () => {
    const result = computeDeadline(
      { kind: 'calendar-period', months: 1 },
      new Date('2024-02-08T10:00:00+06:00'),
      calendar,
    );
    expect(result.explanation.lastDay).toBe('2024-03-11');
    expect(result.explanation.notes[0]).toMatch(
      /2024-03-08 is not a working day \(holiday: Международный женский день\)/,
    );
  });

  const intake: AnnualWindowSpec = {
    kind: 'annual-window',
    from: { monthDay: '01-01' },
    until: { nth: 2, weekday: 'friday', month: 7 },
    untilTime: '18:30',
  };

  it.each([
    [2019, '2019-07-12', '2019-07-12T12:30:00.000Z'],
    [2024, '2024-07-12', '2024-07-12T13:30:00.000Z'],
    [2025, '2025-07-11', '2025-07-11T13:30:00.000Z'],
    [2026, '2026-07-10', '2026-07-10T13:30:00.000Z'],
  ])('%i intake closes at 18:30 Astana time on the second Friday of July (%s)', (year, closesOn, closesAt) => {
    const window = resolveWindow(intake, year, zone);
    expect(window.closesOn).toBe(closesOn);
    expect(window.closesAt.toISOString()).toBe(closesAt);
    expect(isWithinWindow(intake, new Date(window.closesAt.getTime() - 60_000), zone)).toBe(true);
    expect(isWithinWindow(intake, window.closesAt, zone)).toBe(false);
    expect(nextOpening(intake, window.closesAt, zone).toISOString()).toBe(
      zone.toInstant(`${year + 1}-01-01`).toISOString(),
    );
    expect(lastClosing(intake, new Date(window.closesAt.getTime() + 1), zone).toISOString()).toBe(closesAt);
  });

  it('a window deadline is this year’s close, or next year’s once it has closed', () => {
    const exams: AnnualWindowSpec = {
      kind: 'annual-window',
      from: { monthDay: '08-10' },
      until: { monthDay: '08-20' },
    };
    const before = computeDeadline(exams, new Date('2015-08-01T10:00:00+06:00'), calendar);
    expect(before.deadline!.toISOString()).toBe('2015-08-20T18:00:00.000Z');
    expect(before.opensAt!.toISOString()).toBe('2015-08-09T18:00:00.000Z');
    const after = computeDeadline(exams, new Date('2015-09-01T10:00:00+06:00'), calendar);
    expect(after.explanation.deadlineLocal).toBe('2016-08-21T00:00:00+06:00');
    expect(after.explanation.notes[0]).toMatch(/2015 window had closed/);
  });

  it('windows counted from one act resolve in one year: the first in which none of them had closed', () => {
    const exams: AnnualWindowSpec = {
      kind: 'annual-window',
      from: { monthDay: '08-10' },
      until: { monthDay: '08-20' },
    };
    const enrolment: AnnualWindowSpec = {
      kind: 'annual-window',
      from: { monthDay: '08-24' },
      until: { monthDay: '08-25' },
    };
    const filed = new Date('2015-08-21T10:00:00+06:00');
    expect(sequenceYear([exams, enrolment], filed, zone)).toBe(2016);
    expect(sequenceYear([exams, enrolment], new Date('2015-08-20T23:00:00+06:00'), zone)).toBe(2015);
    expect(sequenceYear([], filed, zone)).toBe(2015);
    const alone = computeDeadline(enrolment, filed, calendar);
    expect(alone.explanation.deadlineLocal).toBe('2015-08-26T00:00:00+06:00');
    const inSequence = computeDeadline(enrolment, filed, calendar, { windowYear: 2016 });
    expect(inSequence.explanation.deadlineLocal).toBe('2016-08-26T00:00:00+06:00');
    expect(inSequence.opensAt!.toISOString()).toBe('2016-08-23T18:00:00.000Z');
    expect(inSequence.explanation.notes[0]).toMatch(/one sequence in one year.*the 2016 windows apply/);
    // A window never resolves to one that had closed at its anchor, whatever year it is given.
    expect(computeDeadline(exams, filed, calendar, { windowYear: 2015 }).explanation.deadlineLocal).toBe(
      '2016-08-21T00:00:00+06:00',
    );
  });

  it('a window whose last day moves to a working day: 10 August 2019 (Saturday, then Kurban Ait) closes with Monday 12 August', () => {
    const onTheDay: AnnualWindowSpec = {
      kind: 'annual-window',
      from: { monthDay: '08-10' },
      until: { monthDay: '08-10' },
      untilMovesToWorkingDay: true,
    };
    const moved = computeDeadline(onTheDay, new Date('2019-06-03T10:00:00+06:00'), calendar);
    expect(moved.explanation.deadlineLocal).toBe('2019-08-13T00:00:00+06:00');
    expect(moved.opensAt!.toISOString()).toBe('2019-08-09T18:00:00.000Z');
    expect(moved.explanation.notes).toEqual([
      expect.stringMatching(/last day 2019-08-10 is not a working day .* next working day, 2019-08-12/),
    ]);
    expect(moved.explanation.legalBasis).toEqual([expect.stringMatching(/Civil Code/)]);
    // As written, the window keeps its day; a 10 August that is a working day (Monday 2020) keeps it too.
    const { untilMovesToWorkingDay: _moves, ...asWritten } = onTheDay;
    expect(computeDeadline(asWritten, new Date('2019-06-03T10:00:00+06:00'), calendar).explanation.deadlineLocal).toBe(
      '2019-08-11T00:00:00+06:00',
    );
    expect(computeDeadline(onTheDay, new Date('2020-06-03T10:00:00+06:00'), calendar).explanation.deadlineLocal).toBe(
      '2020-08-11T00:00:00+06:00',
    );
    // The moved close decides whether this year's window has closed: on Sunday 11 August 2019 it is still open.
    expect(computeDeadline(onTheDay, new Date('2019-08-11T12:00:00+06:00'), calendar).deadline!.toISOString()).toBe(
      '2019-08-12T18:00:00.000Z',
    );
  });

  it('by-programme has no deadline until one is set', () => {
    const unset = computeDeadline(
      { kind: 'by-programme', maxMonths: 24 },
      new Date('2019-09-01T09:00:00+06:00'),
      calendar,
    );
    expect(unset.deadline).toBeNull();
    expect(unset.explanation.rule).toMatch(/no deadline until it is set/);
    const set = computeDeadline(
      { kind: 'by-programme', maxMonths: 24 },
      new Date('2019-09-01T09:00:00+06:00'),
      calendar,
      {
        programmeDeadline: new Date('2022-06-30T18:00:00Z'),
      },
    );
    expect(set.deadline!.toISOString()).toBe('2022-06-30T18:00:00.000Z');
    expect(set.explanation.notes[0]).toMatch(/later than the 24-month maximum/);
  });
});
