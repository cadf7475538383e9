/**
 * A working-day calendar precomputed as a day table over its covered range: one status per day,
 * a prefix count of working days and the list of working days. Counting and adding working days
 * are then O(1), and every non-working day carries its reason and source.
 */
import { dayNumber, fromDayNumber, weekdayOf, type LocalDate, type Weekday } from './local-date';
import type { CalendarFile, HolidayEntry } from './calendar-schema';
import { parseOffset, TimeZone } from './time-zone';

export type NonWorkingKind = 'weekend' | 'holiday' | 'moved-holiday' | 'transfer';

export interface NonWorkingDay {
  date: LocalDate;
  kind: NonWorkingKind;
  /** Russian name, e.g. "Наурыз мейрамы"; for weekends "Суббота"/"Воскресенье". */
  name: string;
  names: { ru: string; kk: string };
  source: string;
  /** For a moved holiday: the holiday date it stands for; for a transfer: the working day given in exchange. */
  relatedDate?: LocalDate;
}

export interface WorkingDayNote {
  date: LocalDate;
  kind: 'transferred-working-day';
  /** The weekday off given in exchange. */
  dayOff: LocalDate;
  source: string;
}

export class CalendarRangeError extends RangeError {
  constructor(
    readonly code: string,
    readonly date: LocalDate,
    readonly coveredFrom: LocalDate,
    readonly coveredUntil: LocalDate,
  ) {
    super(`the ${code} calendar covers ${coveredFrom} to ${coveredUntil}; ${date} is outside it`);
    this.name = 'CalendarRangeError';
  }
}

const WEEKEND_NAMES: Record<Weekday, { ru: string; kk: string }> = {
  monday: { ru: 'Понедельник', kk: 'Дүйсенбі' },
  tuesday: { ru: 'Вторник', kk: 'Сейсенбі' },
  wednesday: { ru: 'Среда', kk: 'Сәрсенбі' },
  thursday: { ru: 'Четверг', kk: 'Бейсенбі' },
  friday: { ru: 'Пятница', kk: 'Жұма' },
  saturday: { ru: 'Суббота', kk: 'Сенбі' },
  sunday: { ru: 'Воскресенье', kk: 'Жексенбі' },
};

/** An unconfirmed transfer says so wherever its day is explained. */
function transferSource(transfer: CalendarFile['transfers'][number]): string {
  const base = `${transfer.act}; ${transfer.source}`;
  return transfer.confirmed === false ? `${base} (unconfirmed: ${transfer.note})` : base;
}

export class WorkingCalendar {
  readonly code: string;
  readonly coveredFrom: LocalDate;
  readonly coveredUntil: LocalDate;
  readonly provisionalFrom: LocalDate | undefined;
  readonly timeZone: TimeZone;
  readonly weekendRule: { text: string; source: string };
  readonly transferRule: { text: string; source: string };

  private readonly firstDay: number;
  private readonly lastDay: number;
  /** 1 = working day. */
  private readonly working: Uint8Array;
  /** workingBefore[i] = working days in [firstDay, firstDay + i). Length = days + 1. */
  private readonly workingBefore: Int32Array;
  /** Day offsets of working days in order. */
  private readonly workingDayOffsets: Int32Array;
  private readonly reasons = new Map<number, NonWorkingDay>();
  private readonly workingNotes = new Map<number, WorkingDayNote>();
  /** Entries that contradict the table they build (e.g. a transfer from a day that is already working). */
  readonly buildProblems: { path: string; problem: string }[] = [];

  constructor(readonly file: CalendarFile) {
    this.code = file.code;
    this.coveredFrom = file.covers.from;
    this.coveredUntil = file.covers.until;
    this.provisionalFrom = file.covers.provisionalFrom;
    this.weekendRule = file.rules.weekendHoliday;
    this.transferRule = file.rules.transfers;
    this.timeZone = new TimeZone(
      file.timeZone.id,
      file.timeZone.offsets.map((o) => ({
        fromMs: o.from ? Date.parse(o.from) : Number.NEGATIVE_INFINITY,
        offsetMinutes: parseOffset(o.utcOffset)!,
      })),
    );
    this.firstDay = dayNumber(file.covers.from);
    this.lastDay = dayNumber(file.covers.until);
    const size = this.lastDay - this.firstDay + 1;
    this.working = new Uint8Array(size);
    const weekend = new Set<Weekday>(file.weekend);

    for (let i = 0; i < size; i++) {
      const day = this.firstDay + i;
      const weekday = weekdayOf(day);
      if (weekend.has(weekday)) {
        this.reasons.set(day, {
          date: fromDayNumber(day),
          kind: 'weekend',
          name: WEEKEND_NAMES[weekday].ru,
          names: WEEKEND_NAMES[weekday],
          source: file.rules.weekend.source,
        });
      } else {
        this.working[i] = 1;
      }
    }

    // Holidays first, then the days off they move to (in date order), then transfers.
    const holidayDays = this.holidayDays(file.holidays).sort((a, b) => a.day - b.day);
    for (const { day, holiday, source } of holidayDays) {
      this.reasons.set(day, {
        date: fromDayNumber(day),
        kind: 'holiday',
        name: holiday.name.ru,
        names: holiday.name,
        source,
      });
      this.working[day - this.firstDay] = 0;
    }
    const isHoliday = new Set(holidayDays.map((h) => h.day));
    for (const { day, holiday } of holidayDays) {
      if (!holiday.movesWhenOnWeekend || !weekend.has(weekdayOf(day))) continue;
      let target = day + 1;
      while (target <= this.lastDay && (this.working[target - this.firstDay] === 0 || isHoliday.has(target))) target++;
      if (target > this.lastDay) continue;
      this.working[target - this.firstDay] = 0;
      this.reasons.set(target, {
        date: fromDayNumber(target),
        kind: 'moved-holiday',
        name: holiday.name.ru,
        names: {
          ru: `${holiday.name.ru} (перенос с ${fromDayNumber(day)})`,
          kk: `${holiday.name.kk} (${fromDayNumber(day)} күнінен ауыстырылды)`,
        },
        source: `${file.rules.weekendHoliday.source}: ${fromDayNumber(day)} fell on a ${weekdayOf(day)}`,
        relatedDate: fromDayNumber(day),
      });
    }
    file.transfers.forEach((transfer, i) => {
      const off = dayNumber(transfer.dayOff);
      const work = dayNumber(transfer.workingDay);
      if (!this.inRange(off) || !this.inRange(work)) {
        this.buildProblems.push({
          path: `transfers[${i}]`,
          problem: `lies outside covers (${this.coveredFrom} to ${this.coveredUntil})`,
        });
        return;
      }
      if (this.working[work - this.firstDay] === 1) {
        this.buildProblems.push({
          path: `transfers[${i}].workingDay`,
          problem: `${transfer.workingDay} is already a working day; a transfer gives up a day off`,
        });
      }
      if (this.working[off - this.firstDay] === 0) {
        this.buildProblems.push({
          path: `transfers[${i}].dayOff`,
          problem: `${transfer.dayOff} is already a day off (${this.reasons.get(off)?.kind})`,
        });
      }
      this.working[off - this.firstDay] = 0;
      this.reasons.set(off, {
        date: transfer.dayOff,
        kind: 'transfer',
        name: `Перенос дня отдыха с ${transfer.workingDay}`,
        names: {
          ru: `Перенос дня отдыха с ${transfer.workingDay}`,
          kk: `Демалыс күні ${transfer.workingDay} күнінен ауыстырылды`,
        },
        source: transferSource(transfer),
        relatedDate: transfer.workingDay,
      });
      this.working[work - this.firstDay] = 1;
      this.reasons.delete(work);
      this.workingNotes.set(work, {
        date: transfer.workingDay,
        kind: 'transferred-working-day',
        dayOff: transfer.dayOff,
        source: transferSource(transfer),
      });
    });

    this.workingBefore = new Int32Array(size + 1);
    let count = 0;
    for (let i = 0; i < size; i++) {
      this.workingBefore[i] = count;
      count += this.working[i];
    }
    this.workingBefore[size] = count;
    this.workingDayOffsets = new Int32Array(count);
    for (let i = 0, k = 0; i < size; i++) if (this.working[i]) this.workingDayOffsets[k++] = i;
  }

  covers(date: LocalDate): boolean {
    return this.inRange(dayNumber(date));
  }

  isProvisional(date: LocalDate): boolean {
    return this.provisionalFrom !== undefined && date >= this.provisionalFrom;
  }

  isWorkingDay(date: LocalDate): boolean {
    return this.isWorkingDayNumber(dayNumber(date));
  }

  isWorkingDayNumber(day: number): boolean {
    this.assertInRange(day);
    return this.working[day - this.firstDay] === 1;
  }

  /** Why a day is not a working day, or null for a working day. */
  nonWorkingReason(date: LocalDate): NonWorkingDay | null {
    const day = dayNumber(date);
    this.assertInRange(day);
    return this.working[day - this.firstDay] ? null : this.reasons.get(day)!;
  }

  /** For a Saturday or Sunday worked in exchange for a weekday off: the transfer. */
  workingDayNote(date: LocalDate): WorkingDayNote | null {
    return this.workingNotes.get(dayNumber(date)) ?? null;
  }

  /** Working days in [from, to], both ends inclusive; 0 when `to` is before `from`. */
  countWorkingDays(from: LocalDate, to: LocalDate): number {
    const a = dayNumber(from);
    const b = dayNumber(to);
    this.assertInRange(a);
    this.assertInRange(b);
    if (b < a) return 0;
    return this.workingBefore[b - this.firstDay + 1] - this.workingBefore[a - this.firstDay];
  }

  /** The n-th working day after `date` (`date` itself not counted); n = 0 gives `date`. */
  addWorkingDays(date: LocalDate, n: number): LocalDate {
    return fromDayNumber(this.addWorkingDaysToDayNumber(dayNumber(date), n));
  }

  addWorkingDaysToDayNumber(day: number, n: number): number {
    this.assertInRange(day);
    if (!Number.isInteger(n) || n < 0) throw new RangeError(`working days must be a whole number ≥ 0, got ${n}`);
    if (n === 0) return day;
    const index = this.workingBefore[day - this.firstDay + 1] + n - 1;
    if (index >= this.workingDayOffsets.length) {
      throw new CalendarRangeError(
        this.code,
        `${fromDayNumber(day)} + ${n} working days`,
        this.coveredFrom,
        this.coveredUntil,
      );
    }
    return this.firstDay + this.workingDayOffsets[index];
  }

  /** Every non-working day in [from, to], in order. */
  nonWorkingDays(from: LocalDate, to: LocalDate): NonWorkingDay[] {
    const a = dayNumber(from);
    const b = dayNumber(to);
    this.assertInRange(a);
    this.assertInRange(b);
    const out: NonWorkingDay[] = [];
    for (let day = a; day <= b; day++) if (!this.working[day - this.firstDay]) out.push(this.reasons.get(day)!);
    return out;
  }

  /** Working days per month of a year, January first. */
  workingDaysPerMonth(year: number): number[] {
    const months: number[] = [];
    for (let m = 1; m <= 12; m++) {
      const from = `${year}-${String(m).padStart(2, '0')}-01`;
      const to = fromDayNumber(
        dayNumber(m === 12 ? `${year + 1}-01-01` : `${year}-${String(m + 1).padStart(2, '0')}-01`) - 1,
      );
      months.push(this.countWorkingDays(from, to));
    }
    return months;
  }

  private holidayDays(holidays: HolidayEntry[]): { day: number; holiday: HolidayEntry; source: string }[] {
    const out: { day: number; holiday: HolidayEntry; source: string }[] = [];
    const firstYear = Number(this.coveredFrom.slice(0, 4));
    const lastYear = Number(this.coveredUntil.slice(0, 4));
    for (const holiday of holidays) {
      const candidates: { date: LocalDate; source: string }[] = [];
      if (holiday.days) {
        for (let year = firstYear; year <= lastYear; year++)
          for (const md of holiday.days) candidates.push({ date: `${year}-${md}`, source: holiday.source });
      } else {
        for (const entry of Object.values(holiday.dates ?? {}))
          candidates.push({ date: entry.date, source: `${entry.source}; ${holiday.source}` });
      }
      for (const { date, source } of candidates) {
        if (holiday.validFrom && date < holiday.validFrom) continue;
        if (holiday.validUntil && date > holiday.validUntil) continue;
        const day = dayNumber(date);
        if (this.inRange(day)) out.push({ day, holiday, source });
      }
    }
    return out;
  }

  private inRange(day: number): boolean {
    return day >= this.firstDay && day <= this.lastDay;
  }

  private assertInRange(day: number): void {
    if (!this.inRange(day))
      throw new CalendarRangeError(this.code, fromDayNumber(day), this.coveredFrom, this.coveredUntil);
  }
}
