/**
 * The deadline engine: one limit + its anchor instant + the calendar → the deadline instant and
 * an explanation an auditor can check day by day. Pure: no clock, no I/O.
 */
import {
  addDays,
  addMonths,
  dayNumber,
  fromDayNumber,
  weekdayOf,
  type LocalDate,
} from '../../calendar/domain/local-date';
import type { NonWorkingKind, WorkingCalendar } from '../../calendar/domain/working-calendar';
import {
  currentOrNextWindow,
  describeAnnualDay,
  resolveWindow,
  type AnnualWindowSpec,
  type IsWorkingDay,
} from './annual-window';
import type { ClauseRef, Limit, LimitSpec } from './limit';

/** The rules of the Civil Code on periods, cited in every working-day and calendar-period explanation. */
export const CIVIL_CODE_PERIODS =
  'Civil Code of the Republic of Kazakhstan (General Part) of 1994-12-27 No. 268-XIII, art. 171–173: a period ' +
  'runs from the day after the event that starts it; it ends on its last day; when the last day is not a working day ' +
  'the period ends on the next working day; an act may be done until 24:00 of the last day';

export interface ExplainedDay {
  date: LocalDate;
  weekday: string;
  counted: boolean;
  /** 1-based number of the counted day. */
  ordinal?: number;
  reason?: { kind: NonWorkingKind; name: string; source: string };
  /** A Saturday or Sunday worked in exchange for a weekday off. */
  note?: string;
}

export interface DeadlineExplanation {
  kind: LimitSpec['kind'];
  spec: LimitSpec;
  clause?: ClauseRef;
  anchor: { instant: string; local: string; localDate: LocalDate; utcOffset: string };
  rule: string;
  legalBasis: string[];
  days?: ExplainedDay[];
  /** The last day of the period, local date, when the period is in days. */
  lastDay?: LocalDate;
  /** The deadline as local time with its offset, e.g. 2024-06-04T00:00:00+05:00 (= end of 3 June). */
  deadlineLocal?: string;
  opensAt?: string;
  provisional?: boolean;
  notes: string[];
}

export interface DeadlineResult {
  /** The first instant at which the limit is exceeded; null when the limit has no deadline yet. */
  deadline: Date | null;
  /** For windows: when acting becomes possible. */
  opensAt?: Date;
  explanation: DeadlineExplanation;
}

export interface DeadlineOptions {
  /** For `by-programme` limits: the deadline set per case or cohort (curriculum, schedule). */
  programmeDeadline?: Date;
  /** Leave the day-by-day list out (for bulk computation). */
  withoutDays?: boolean;
  /**
   * For an annual window: the year of the sequence of windows the case counts from the same act (sequenceYear), one
   * admission's exams, competition and enrolment. Without it a window is the one open at the anchor, or the next.
   */
  windowYear?: number;
}

export function computeDeadline(
  limitOrSpec: Limit | LimitSpec,
  anchor: Date,
  calendar: WorkingCalendar,
  options: DeadlineOptions = {},
): DeadlineResult {
  if (Number.isNaN(anchor.getTime())) throw new RangeError('the anchor instant is not a valid date');
  const spec = 'spec' in limitOrSpec ? limitOrSpec.spec : limitOrSpec;
  const clause = 'spec' in limitOrSpec ? limitOrSpec.clause : undefined;
  const zone = calendar.timeZone;
  if (spec.kind === 'working-days') return workingDaysDeadline(spec, clause, anchor, calendar, options);
  // Every kind computes its deadline at once and its explanation only when read: SLA read models compute
  // deadlines in bulk and never read most explanations.
  const base = () => baseExplanation(spec, clause, anchor, calendar);
  const localDate = zone.toLocal(anchor).date;

  switch (spec.kind) {
    case 'minutes': {
      // «не более N минут» allows exactly N minutes: the deadline, the first instant the limit is exceeded (as 24:00 of
      // the last day is for a limit in days), is the millisecond after them. Every reader (the case's rows, the lists,
      // the rollups, the scheduler's breach) compares with it alike; an act at N minutes to the minute is met.
      const deadline = new Date(anchor.getTime() + spec.minutes * 60_000 + 1);
      return lazyResult(deadline, () =>
        finishExplanation(calendar, deadline, {
          ...base(),
          rule: `not more than ${spec.minutes} minutes from the anchor instant: the limit is exceeded from the millisecond after them, and an act at exactly ${spec.minutes} minutes kept it; working days and holidays do not matter for a limit in minutes`,
        }),
      );
    }

    case 'calendar-period': {
      const months = spec.months ?? 0;
      const days = spec.days ?? 0;
      const nominal = addDays(addMonths(localDate, months), days);
      let lastDay = nominal;
      while (!calendar.isWorkingDay(lastDay)) lastDay = addDays(lastDay, 1);
      const deadline = zone.endOfDay(dayNumber(lastDay));
      return lazyResult(deadline, () => {
        const notes: string[] = [];
        if (lastDay !== nominal) {
          const reason = calendar.nonWorkingReason(nominal)!;
          notes.push(
            `the nominal last day ${nominal} is not a working day (${reason.kind}: ${reason.name}); the period ends on the next working day, ${lastDay}`,
          );
        }
        const what = [
          months ? `${months} month${months > 1 ? 's' : ''}` : '',
          days ? `${days} calendar day${days > 1 ? 's' : ''}` : '',
        ]
          .filter(Boolean)
          .join(' and ');
        return finishExplanation(calendar, deadline, {
          ...base(),
          rule: `${what} from ${localDate}: a period in months ends on the corresponding day of the last month (its last day when that month is shorter); it ends at 24:00 local time`,
          legalBasis: [CIVIL_CODE_PERIODS],
          lastDay,
          notes,
          ...(options.withoutDays || lastDay === nominal
            ? {}
            : { days: explainDays(calendar, addDays(nominal, 0), lastDay) }),
        });
      });
    }

    case 'annual-window': {
      const workingDay = windowWorkingDays(spec, calendar);
      const own = currentOrNextWindow(spec, anchor, zone, workingDay);
      // A window never resolves to one that had closed at its anchor, whatever year the sequence names.
      const window =
        options.windowYear !== undefined && options.windowYear > own.year
          ? resolveWindow(spec, options.windowYear, zone, workingDay)
          : own;
      return lazyResult(
        window.closesAt,
        () => {
          const opens = spec.from ? describeAnnualDay(spec.from) : '01-01';
          const notes: string[] = [];
          if (window !== own)
            notes.push(
              `the case's annual windows counted from the same act are one sequence in one year: one of them had closed at the anchor, so the ${window.year} windows apply, this one's too (its ${own.year} window had not closed)`,
            );
          else if (window.year !== Number(localDate.slice(0, 4)))
            notes.push(
              `the ${localDate.slice(0, 4)} window had closed at the anchor; the ${window.year} window applies`,
            );
          if (window.movedFrom) {
            const reason = calendar.nonWorkingReason(window.movedFrom)!;
            notes.push(
              `the last day ${window.movedFrom} is not a working day (${reason.kind}: ${reason.name}); this reading moves it to the next working day, ${window.closesOn}`,
            );
          }
          return finishExplanation(calendar, window.closesAt, {
            ...base(),
            rule: `every year from ${opens} until ${describeAnnualDay(spec.until)}${spec.untilTime ? ` ${spec.untilTime}` : ' (end of day)'} local time${spec.untilMovesToWorkingDay ? ', or the next working day when that day is not one' : ''}; in ${window.year}: ${window.opensOn} to ${window.closesOn}`,
            ...(spec.untilMovesToWorkingDay ? { legalBasis: [CIVIL_CODE_PERIODS] } : {}),
            opensAt: zone.formatLocal(window.opensAt),
            notes,
          });
        },
        window.opensAt,
      );
    }

    case 'working-days-before': {
      // Counted back from the later date (the anchor's day, not counted): its N-th working day before is the last
      // day the act may be done, until 24:00 of it.
      let day = dayNumber(localDate);
      for (let counted = 0; counted < spec.days;) if (calendar.isWorkingDay(fromDayNumber(--day))) counted++;
      const lastDay = fromDayNumber(day);
      const deadline = zone.endOfDay(day);
      return lazyResult(deadline, () =>
        finishExplanation(calendar, deadline, {
          ...base(),
          rule: `no later than ${spec.days} working days before ${localDate}: counted back from the day before it, the ${spec.days}${ordinalSuffix(spec.days)} working day is ${lastDay}; the act may be done until 24:00 of that day`,
          legalBasis: [CIVIL_CODE_PERIODS, calendar.weekendRule.source, calendar.transferRule.source],
          lastDay,
          ...(options.withoutDays ? {} : { days: explainDays(calendar, lastDay, addDays(localDate, -1)) }),
        }),
      );
    }

    case 'by-programme': {
      const programmeDeadline = options.programmeDeadline;
      if (!programmeDeadline) {
        return {
          deadline: null,
          explanation: {
            ...base(),
            rule: 'set by the study programme or schedule of the case or cohort; there is no deadline until it is set',
            notes: spec.maxMonths ? [`the programme may last at most ${spec.maxMonths} months`] : [],
          },
        };
      }
      return lazyResult(programmeDeadline, () => {
        const notes: string[] = [];
        if (spec.maxMonths) {
          const cap = zone.endOfDay(dayNumber(addMonths(localDate, spec.maxMonths)));
          if (programmeDeadline.getTime() > cap.getTime())
            notes.push(
              `the programme deadline is later than the ${spec.maxMonths}-month maximum (${zone.formatLocal(cap)})`,
            );
        }
        return finishExplanation(calendar, programmeDeadline, {
          ...base(),
          rule: 'the deadline set by the programme or schedule of the case or cohort',
          notes,
        });
      });
    }
  }
}

/**
 * Which days are working days for a window whose last day moves to a working day (untilMovesToWorkingDay); none for
 * any other. A day outside the calendar's years keeps its place: no rule can be read for it.
 */
export function windowWorkingDays(spec: AnnualWindowSpec, calendar: WorkingCalendar): IsWorkingDay | undefined {
  return spec.untilMovesToWorkingDay ? (date) => !calendar.covers(date) || calendar.isWorkingDay(date) : undefined;
}

/** The explanation's closing facts: the deadline in local time, and whether it lies in a provisional year. */
function finishExplanation(
  calendar: WorkingCalendar,
  deadline: Date,
  explanation: DeadlineExplanation,
): DeadlineExplanation {
  const lastLocal = calendar.timeZone.toLocal(new Date(deadline.getTime() - 1)).date;
  const provisional = calendar.covers(lastLocal) && calendar.isProvisional(lastLocal);
  if (provisional)
    explanation.notes.push(
      `${lastLocal} lies in a provisional year of the ${calendar.code} calendar: transfers of days off may still be announced`,
    );
  return {
    ...explanation,
    deadlineLocal: calendar.timeZone.formatLocal(deadline),
    ...(provisional ? { provisional } : {}),
  };
}

function workingDaysDeadline(
  spec: Extract<LimitSpec, { kind: 'working-days' }>,
  clause: ClauseRef | undefined,
  anchor: Date,
  calendar: WorkingCalendar,
  options: DeadlineOptions,
): DeadlineResult {
  const zone = calendar.timeZone;
  // Hot path (SLA read models compute deadlines in bulk): numbers only; the explanation is
  // built when it is first read.
  const lastDayNumber = calendar.addWorkingDaysToDayNumber(zone.localDayOf(anchor.getTime()), spec.days);
  const deadline = new Date(zone.wallTimeMs(lastDayNumber + 1, 0));
  return lazyResult(deadline, () => {
    const base = baseExplanation(spec, clause, anchor, calendar);
    const anchorDate = base.anchor.localDate;
    const lastDay = fromDayNumber(lastDayNumber);
    return finishExplanation(calendar, deadline, {
      ...base,
      rule:
        spec.days === 0
          ? 'no working days: the limit ends at the end (24:00) of the anchor day'
          : `${spec.days} working days: the anchor day (${anchorDate}) is not counted; the period ends at 24:00 local time of the ${spec.days}${ordinalSuffix(spec.days)} working day after it`,
      legalBasis: [CIVIL_CODE_PERIODS, calendar.weekendRule.source, calendar.transferRule.source],
      lastDay,
      ...(options.withoutDays ? {} : { days: explainDays(calendar, addDays(anchorDate, 1), lastDay) }),
    });
  });
}

function baseExplanation(
  spec: LimitSpec,
  clause: ClauseRef | undefined,
  anchor: Date,
  calendar: WorkingCalendar,
): DeadlineExplanation {
  const local = calendar.timeZone.toLocal(anchor);
  return {
    kind: spec.kind,
    spec,
    ...(clause ? { clause } : {}),
    anchor: {
      instant: anchor.toISOString(),
      local: calendar.timeZone.formatLocal(anchor),
      localDate: local.date,
      utcOffset: local.utcOffset,
    },
    rule: '',
    legalBasis: [],
    notes: [],
  };
}

/** A result whose explanation is computed on first read (and then kept); it serialises like a plain object. */
class LazyDeadlineResult implements DeadlineResult {
  private explained: DeadlineExplanation | undefined;
  constructor(
    readonly deadline: Date,
    private readonly explain: () => DeadlineExplanation,
    readonly opensAt?: Date,
  ) {}

  get explanation(): DeadlineExplanation {
    return (this.explained ??= this.explain());
  }

  toJSON(): { deadline: Date; opensAt?: Date; explanation: DeadlineExplanation } {
    return {
      deadline: this.deadline,
      ...(this.opensAt ? { opensAt: this.opensAt } : {}),
      explanation: this.explanation,
    };
  }
}

function lazyResult(deadline: Date, explain: () => DeadlineExplanation, opensAt?: Date): DeadlineResult {
  return new LazyDeadlineResult(deadline, explain, opensAt);
}

/** Each day of [from, to] with whether it counts and, if not, why. */
export function explainDays(calendar: WorkingCalendar, from: LocalDate, to: LocalDate): ExplainedDay[] {
  const days: ExplainedDay[] = [];
  let ordinal = 0;
  for (let day = dayNumber(from), last = dayNumber(to); day <= last; day++) {
    const date = fromDayNumber(day);
    const reason = calendar.nonWorkingReason(date);
    if (reason) {
      days.push({
        date,
        weekday: weekdayOf(day),
        counted: false,
        reason: { kind: reason.kind, name: reason.name, source: reason.source },
      });
    } else {
      const note = calendar.workingDayNote(date);
      days.push({
        date,
        weekday: weekdayOf(day),
        counted: true,
        ordinal: ++ordinal,
        ...(note
          ? { note: `a ${weekdayOf(day)} worked in exchange for the day off on ${note.dayOff} (${note.source})` }
          : {}),
      });
    }
  }
  return days;
}

/** Working days between two local dates with the reason for each day that is not counted. */
export function explainWorkingDays(
  calendar: WorkingCalendar,
  from: LocalDate,
  to: LocalDate,
): { workingDays: number; days: ExplainedDay[] } {
  return { workingDays: calendar.countWorkingDays(from, to), days: explainDays(calendar, from, to) };
}

function ordinalSuffix(n: number): string {
  const tens = n % 100;
  if (tens >= 11 && tens <= 13) return 'th';
  return ['th', 'st', 'nd', 'rd'][n % 10] ?? 'th';
}
