/**
 * Local time in Asia/Almaty from the calendar's own offset table, so that deadlines do not
 * depend on the runtime's time-zone database. `assertTimeZoneData` still checks that database at
 * start-up, because logs, clients and libraries read it.
 */
import { dayNumber, fromDayNumber, type LocalDate } from './local-date';

export interface UtcOffsetPeriod {
  /** First instant the offset applies (epoch ms); -Infinity for the first period. */
  fromMs: number;
  /** Minutes east of UTC, e.g. 360 for +06:00. */
  offsetMinutes: number;
}

export interface LocalMoment {
  date: LocalDate;
  day: number;
  /** Minutes since local midnight. */
  minuteOfDay: number;
  utcOffset: string;
}

export class TimeZone {
  private readonly periods: UtcOffsetPeriod[];

  constructor(
    readonly id: string,
    periods: UtcOffsetPeriod[],
  ) {
    this.periods = [...periods].sort((a, b) => a.fromMs - b.fromMs);
    if (this.periods.length === 0) throw new RangeError(`time zone ${id} has no offsets`);
  }

  offsetAt(instantMs: number): number {
    let offset = this.periods[0].offsetMinutes;
    for (const period of this.periods) {
      if (period.fromMs <= instantMs) offset = period.offsetMinutes;
      else break;
    }
    return offset;
  }

  /** The local day number of an instant (days since 1970-01-01 in local time). */
  localDayOf(instantMs: number): number {
    return Math.floor((instantMs + this.offsetAt(instantMs) * 60_000) / 86_400_000);
  }

  /** Epoch ms of local wall time `minuteOfDay` on local day `day` (earlier instant when it occurred twice). */
  wallTimeMs(day: number, minuteOfDay = 0): number {
    const localMs = day * 86_400_000 + minuteOfDay * 60_000;
    for (const period of this.periods) {
      const candidate = localMs - period.offsetMinutes * 60_000;
      if (this.offsetAt(candidate) === period.offsetMinutes) return candidate;
    }
    return localMs - this.periods[this.periods.length - 1].offsetMinutes * 60_000;
  }

  toLocal(instant: Date): LocalMoment {
    const ms = instant.getTime();
    const offset = this.offsetAt(ms);
    const localMs = ms + offset * 60_000;
    const day = Math.floor(localMs / 86_400_000);
    return {
      date: fromDayNumber(day),
      day,
      minuteOfDay: Math.floor((localMs - day * 86_400_000) / 60_000),
      utcOffset: formatOffset(offset),
    };
  }

  /**
   * The instant of a local wall-clock time. Wall times that occur twice (the hour repeated on
   * 2024-03-01) resolve to the earlier instant; none are skipped in this zone's history.
   */
  toInstant(date: LocalDate, minuteOfDay = 0): Date {
    return new Date(this.wallTimeMs(dayNumber(date), minuteOfDay));
  }

  /** The instant at which a local day ends (24:00, i.e. 00:00 of the next day). */
  endOfDay(day: number): Date {
    return new Date(this.wallTimeMs(day + 1, 0));
  }

  /** The offset table as data files write it: from which instant (null: always before) which offset applies. */
  offsetTable(): { from: string | null; utcOffset: string }[] {
    return this.periods.map((p) => ({
      from: Number.isFinite(p.fromMs) ? new Date(p.fromMs).toISOString() : null,
      utcOffset: formatOffset(p.offsetMinutes),
    }));
  }

  /** ISO 8601 with the local offset, e.g. 2024-06-03T00:00:00+05:00. */
  formatLocal(instant: Date): string {
    const offset = this.offsetAt(instant.getTime());
    const local = new Date(instant.getTime() + offset * 60_000).toISOString().slice(0, 19);
    return `${local}${formatOffset(offset)}`;
  }
}

export function formatOffset(minutes: number): string {
  const sign = minutes < 0 ? '-' : '+';
  const abs = Math.abs(minutes);
  return `${sign}${String(Math.floor(abs / 60)).padStart(2, '0')}:${String(abs % 60).padStart(2, '0')}`;
}

export function parseOffset(value: string): number | null {
  const match = /^([+-])(\d{2}):(\d{2})$/.exec(value);
  if (!match) return null;
  const minutes = Number(match[2]) * 60 + Number(match[3]);
  return match[1] === '-' ? -minutes : minutes;
}

export class TimeZoneDataError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'TimeZoneDataError';
  }
}

/**
 * Refuses a runtime whose time-zone data still has Asia/Almaty at UTC+6 after 2024-03-01
 * (IANA tzdata before 2024a). Such a runtime would print and parse local times an hour off.
 */
export function assertTimeZoneData(
  zone = 'Asia/Almaty',
  probe = new Date('2024-06-01T12:00:00Z'),
  expected = '+05:00',
): void {
  let actual: string;
  try {
    const part = new Intl.DateTimeFormat('en-US', { timeZone: zone, timeZoneName: 'longOffset' })
      .formatToParts(probe)
      .find((p) => p.type === 'timeZoneName')?.value;
    actual = part === 'GMT' ? '+00:00' : (part ?? '').replace('GMT', '');
  } catch (error) {
    throw new TimeZoneDataError(`this runtime has no time-zone data for ${zone}: ${(error as Error).message}`);
  }
  if (actual !== expected) {
    throw new TimeZoneDataError(
      `this runtime's time-zone data is too old: it puts ${zone} at UTC${actual} on ${probe.toISOString().slice(0, 10)}, ` +
        `but Kazakhstan has been on UTC${expected} since 2024-03-01 (IANA tzdata 2024a). ` +
        `Use Node.js built with tzdata 2024a or later (Node 20.12+, 22+), or set NODE_ICU_DATA to current ICU data.`,
    );
  }
}
