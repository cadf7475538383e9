import { join } from 'node:path';
import { loadCalendar } from './load-calendar';
import { assertTimeZoneData, TimeZoneDataError } from './time-zone';

const zone = loadCalendar(join(__dirname, '../../../../data/calendars/KZ.yaml')).timeZone;

describe('Asia/Almaty from the calendar’s own offsets', () => {
  it.each([
    ['2024-02-29T17:59:59Z', '2024-02-29', '+06:00', 23 * 60 + 59],
    ['2024-02-29T18:00:00Z', '2024-02-29', '+05:00', 23 * 60],
    ['2024-02-29T19:00:00Z', '2024-03-01', '+05:00', 0],
    ['2019-07-12T12:30:00Z', '2019-07-12', '+06:00', 18 * 60 + 30],
  ])('%s is %s at %s', (instant, date, offset, minute) => {
    const local = zone.toLocal(new Date(instant));
    expect(local).toMatchObject({ date, utcOffset: offset, minuteOfDay: minute });
  });

  it('local midnights around the change', () => {
    expect(zone.toInstant('2024-02-29').toISOString()).toBe('2024-02-28T18:00:00.000Z');
    expect(zone.toInstant('2024-03-01').toISOString()).toBe('2024-02-29T19:00:00.000Z');
    // 23:30 on 29 February happened twice; the earlier instant is taken.
    expect(zone.toInstant('2024-02-29', 23 * 60 + 30).toISOString()).toBe('2024-02-29T17:30:00.000Z');
  });

  it('agrees with the runtime’s own time-zone data for every hour of 2023–2025', () => {
    const format = new Intl.DateTimeFormat('en-CA', {
      timeZone: 'Asia/Almaty',
      year: 'numeric',
      month: '2-digit',
      day: '2-digit',
      hour: '2-digit',
      minute: '2-digit',
      hourCycle: 'h23',
    });
    for (let t = Date.parse('2023-01-01T00:00:00Z'); t < Date.parse('2026-01-01T00:00:00Z'); t += 3_600_000) {
      const parts = Object.fromEntries(format.formatToParts(new Date(t)).map((p) => [p.type, p.value]));
      const local = zone.toLocal(new Date(t));
      expect(`${parts.year}-${parts.month}-${parts.day} ${parts.hour}`).toBe(
        `${local.date} ${String(Math.floor(local.minuteOfDay / 60)).padStart(2, '0')}`,
      );
    }
  });

  it('this runtime has current time-zone data; a stale one is refused with a clear message', () => {
    expect(() => assertTimeZoneData()).not.toThrow();
    expect(() => assertTimeZoneData('Asia/Almaty', new Date('2024-06-01T12:00:00Z'), '+06:00')).toThrow(
      TimeZoneDataError,
    );
    expect(() => assertTimeZoneData('Asia/Almaty', new Date('2024-06-01T12:00:00Z'), '+06:00')).toThrow(
      /too old.*UTC\+05:00.*2024a/,
    );
    expect(() => assertTimeZoneData('Mars/Olympus')).toThrow(/no time-zone data for Mars\/Olympus/);
  });
});
