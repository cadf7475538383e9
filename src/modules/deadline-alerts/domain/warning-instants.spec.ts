import { join } from 'node:path';
import fc from 'fast-check';
import { loadCalendar } from '../../calendar/domain/load-calendar';
import { dayNumber } from '../../calendar/domain/local-date';
import { computeDeadline } from '../../deadlines/domain/compute-deadline';
import { afterWorkingTime, limitInstants, thresholdsFor, timeLeft, DEFAULT_WARNING_POLICY } from './warning-instants';

const calendar = loadCalendar(join(__dirname, '../../../../data/calendars/KZ.yaml'));
const iso = (instants: { threshold: number; at: Date }[]) => instants.map((i) => [i.threshold, i.at.toISOString()]);

describe('warning instants per limit kind (default 50 % and 80 % of the limit in its own unit)', () => {
  it('a minute limit warns after 50 % and 80 % of its minutes and breaches at its deadline', () => {
    const start = new Date('2024-03-08T23:50:00+05:00');
    const { deadline } = computeDeadline({ kind: 'minutes', minutes: 20 }, start, calendar);
    expect(iso(limitInstants('minutes', start, deadline!, [50, 80], calendar))).toEqual([
      [50, '2024-03-08T19:00:00.000Z'],
      [80, '2024-03-08T19:06:00.000Z'],
      // Breached past the 20 minutes: an act at exactly 20 minutes kept the limit («не более»).
      [100, '2024-03-08T19:10:00.001Z'],
    ]);
  });

  it('a working-day limit warns in working time: the anchor day, weekends, holidays and transferred days off do not count, a Saturday worked by transfer does', () => {
    // Friday 3 May 2024, 10:00; 3 working days: Sat 4 May (worked for 8 May), Mon 6 May, then 7 (holiday), 8 (transfer),
    // 9 (holiday) are skipped, Fri 10 May. 72 working hours: 36 h end at 12:00 on 6 May, 57.6 h at 09:36 on 10 May.
    const start = new Date('2024-05-03T10:00:00+05:00');
    const { deadline } = computeDeadline({ kind: 'working-days', days: 3 }, start, calendar);
    expect(iso(limitInstants('working-days', start, deadline!, [50, 80], calendar))).toEqual([
      [50, new Date('2024-05-06T12:00:00+05:00').toISOString()],
      [80, new Date('2024-05-10T09:36:00+05:00').toISOString()],
      [100, new Date('2024-05-11T00:00:00+05:00').toISOString()],
    ]);
  });

  it('a one-working-day limit filed on a Sunday before a transferred day off and a holiday warns on the working day after them', () => {
    // Sunday 6 March 2016; Monday 7 March was a day off (moved from Saturday 5 March), 8 March a holiday.
    const start = new Date('2016-03-06T11:00:00+06:00');
    const { deadline } = computeDeadline({ kind: 'working-days', days: 1 }, start, calendar);
    expect(iso(limitInstants('working-days', start, deadline!, [50, 80], calendar))).toEqual([
      [50, new Date('2016-03-09T12:00:00+06:00').toISOString()],
      [80, new Date('2016-03-09T19:12:00+06:00').toISOString()],
      [100, new Date('2016-03-10T00:00:00+06:00').toISOString()],
    ]);
  });

  it('a working-day warning never falls on a day that is not a working day, and the shares come in order before the deadline', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: dayNumber('2015-01-01'), max: dayNumber('2026-06-30') }),
        fc.integer({ min: 0, max: 1439 }),
        fc.integer({ min: 1, max: 30 }),
        fc.integer({ min: 1, max: 99 }),
        (day, minute, days, share) => {
          const start = new Date(calendar.timeZone.wallTimeMs(day, minute));
          const { deadline } = computeDeadline({ kind: 'working-days', days }, start, calendar);
          const [warning, breach] = limitInstants('working-days', start, deadline!, [share], calendar);
          expect(calendar.isWorkingDayNumber(calendar.timeZone.localDayOf(warning!.at.getTime()))).toBe(true);
          expect(warning!.at.getTime()).toBeGreaterThan(start.getTime());
          expect(warning!.at.getTime()).toBeLessThan(breach!.at.getTime());
        },
      ),
      { numRuns: 1000 },
    );
  });

  it('a calendar period warns in calendar time', () => {
    const start = new Date('2024-02-08T10:00:00+06:00');
    const { deadline } = computeDeadline({ kind: 'calendar-period', days: 10 }, start, calendar);
    const [half] = limitInstants('calendar-period', start, deadline!, [50], calendar);
    expect(half!.at.getTime()).toBe(start.getTime() + (deadline!.getTime() - start.getTime()) / 2);
  });

  it('an annual window counts from when it opened, not from a clock that started before it', () => {
    const start = new Date('2015-08-01T10:00:00+06:00');
    const result = computeDeadline(
      { kind: 'annual-window', from: { monthDay: '08-10' }, until: { monthDay: '08-20' } },
      start,
      calendar,
    );
    const [half] = limitInstants('annual-window', start, result.deadline!, [50], calendar, result.opensAt);
    // 10 August 00:00 to 21 August 00:00 (Almaty, +06): eleven days, the half at 12:00 on 15 August.
    expect(half!.at.toISOString()).toBe(new Date('2015-08-15T12:00:00+06:00').toISOString());
  });

  it('a limit counted back from a later date has only its deadline: there is no start to take shares of', () => {
    const later = new Date('2015-10-28T00:00:00+06:00');
    const { deadline } = computeDeadline({ kind: 'working-days-before', days: 5 }, later, calendar);
    expect(iso(limitInstants('working-days-before', later, deadline!, [50, 80], calendar))).toEqual([
      [100, deadline!.toISOString()],
    ]);
  });

  it('thresholds come from the regulation version first, then the service, else 50 % and 80 %', () => {
    const policy = {
      default: [50, 80],
      byService: { 'personnel-reserve': [70] },
      byVersion: { 'personnel-reserve/order-184-2015': [25, 90] },
    };
    expect(thresholdsFor(policy, 'personnel-reserve', 'personnel-reserve/order-184-2015')).toEqual([25, 90]);
    expect(thresholdsFor(policy, 'personnel-reserve', 'personnel-reserve/other')).toEqual([70]);
    expect(thresholdsFor(policy, 'civil-service-testing', 'civil-service-testing/order-184-2015')).toEqual([50, 80]);
    expect(thresholdsFor(DEFAULT_WARNING_POLICY, 'x', 'y')).toEqual([50, 80]);
  });

  it('working time left skips the days that are not working days', () => {
    // From 12:00 on Friday 3 May 2024 to the end of 10 May: 12 h of 3 May, 4 May, 6 May and 10 May.
    const left = timeLeft(
      'working-days',
      new Date('2024-05-03T12:00:00+05:00'),
      new Date('2024-05-11T00:00:00+05:00'),
      calendar,
    );
    expect(left).toEqual({ unit: 'working-hours', value: 84 });
    expect(afterWorkingTime(dayNumber('2024-05-07'), 0, calendar).toISOString()).toBe(
      new Date('2024-05-10T00:00:00+05:00').toISOString(),
    );
  });
});
