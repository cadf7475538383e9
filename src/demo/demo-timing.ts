/**
 * When each demo act happens (business time, occurredAt/startedAt), chosen against the regulation's own
 * limits: the deadline engine gives the deadline of every limit whose clock runs, and the act lands inside
 * it (on time) or after it (late), on a working day of the calendar in office hours, Asia/Almaty. A step
 * also respects the deadlines of the steps the case will still take (a cumulative "5 working days from
 * receipt" binds every act before the extract), and an annual window's opening. Pure: calendar and PRNG in.
 */
import { dayNumber, type LocalDate } from '../modules/calendar/domain/local-date';
import type { WorkingCalendar } from '../modules/calendar/domain/working-calendar';
import { computeDeadline } from '../modules/deadlines/domain/compute-deadline';
import type { Limit, LimitSpec } from '../modules/deadlines/domain/limit';
import type { RegulationVersion } from '../modules/regulations/domain/catalog';
import type { RegulationStep } from '../modules/regulations/domain/regulation-schema';
import { anchorInstant, limitApplies, programmeDeadline, windowYearOf } from '../modules/cases/domain/case-sla';
import type { CaseState } from '../modules/cases/domain/case-state';
import type { Rng } from './prng';

const MINUTE = 60_000;
/** Far enough ahead that every clock that has started counts as started. */
const END_OF_TIME = new Date(Date.UTC(2100, 0, 1));

/** How long after the previous act an act comes when no limit says (the lower bound is also a minimum). */
export type Gap = { minutes: [number, number] } | { workingDays: [number, number] } | { days: [number, number] };

/**
 * Office: staff on working days 09:00–18:00. Portal: applicants on working days 08:00–22:00. Session: a
 * test or exam session, started 09:00–15:00 so that it ends within the working day.
 */
export type Hours = 'office' | 'portal' | 'session';
const HOURS: Record<Hours, [number, number]> = {
  office: [9 * 60, 18 * 60],
  portal: [8 * 60, 22 * 60],
  session: [9 * 60, 15 * 60],
};

/** The share of acts done late, by the kind of limit that binds them. */
export interface LateRates {
  minutes: number;
  'working-days': number;
  'calendar-period': number;
  'annual-window': number;
  'by-programme': number;
  'working-days-before': number;
}
export const DEFAULT_LATE_RATES: LateRates = {
  minutes: 0.15,
  'working-days': 0.15,
  'calendar-period': 0.15,
  'annual-window': 0.05,
  'by-programme': 0.1,
  'working-days-before': 0.1,
};

export interface ChosenTimes {
  occurredAt: Date;
  startedAt: Date;
  /** Whether the act was meant to exceed one of its own limits. */
  late: boolean;
}

export interface ActTiming {
  state: CaseState;
  version: RegulationVersion;
  step: RegulationStep;
  /** Steps the case will still take after this act: their running clocks bind it too. */
  laterSteps: readonly RegulationStep[];
  gap?: Gap;
  notBefore?: Date;
  hours: Hours;
  /** For steps with no limit on their own duration: how many minutes before its completion the act began. */
  startedBefore?: [number, number];
  /** Force lateness (true) or punctuality (false); otherwise drawn from the late rates. */
  late?: boolean;
}

export class DemoTimeline {
  constructor(
    private readonly calendar: WorkingCalendar,
    private readonly lateRates: LateRates = DEFAULT_LATE_RATES,
  ) {}

  private get zone() {
    return this.calendar.timeZone;
  }

  /** A submission on a working day between two local dates (inclusive), and how long filing took. */
  submission(
    rng: Rng,
    version: RegulationVersion,
    target: { trackId: string; channel: string },
    from: LocalDate,
    to: LocalDate,
    hours: Hours,
    late?: boolean,
  ): ChosenTimes {
    const days: number[] = [];
    for (let d = dayNumber(from); d <= dayNumber(to); d++) if (this.calendar.isWorkingDayNumber(d)) days.push(d);
    if (days.length === 0) throw new RangeError(`no working day between ${from} and ${to}`);
    const day = rng.pick(days);
    const [open, close] = HOURS[hours];
    // Leave room for the filing itself before the end of the day.
    const startedAt = new Date(this.zone.wallTimeMs(day, rng.int(open, close - 60)));
    const step = version.steps.find((s) => s.after.length === 0 && s.tracks.includes(target.trackId))!;
    const duration = step.limits.find((l) => limitApplies(l, target) && isOwnDuration(l, step));
    return this.withDuration(rng, startedAt, duration, late);
  }

  /** The business times of the next act of a case. */
  act(rng: Rng, request: ActTiming): ChosenTimes {
    const { state, step } = request;
    const last = new Date(state.lastOccurredAt);
    const programme = programmeDeadline(state, this.calendar);
    const limits = step.limits.filter((l) => limitApplies(l, state));
    const duration = limits.find((l) => isOwnDuration(l, step));

    let own: { deadline: Date; spec: LimitSpec } | null = null;
    const lowerBounds: Date[] = [this.afterGap(last, request.gap)];
    if (request.notBefore) lowerBounds.push(request.notBefore);
    for (const limit of limits) {
      if (limit === duration) continue;
      const anchor = anchorInstant(limit, state, request.version, this.calendar, END_OF_TIME);
      if (!anchor) continue;
      const result = computeDeadline(limit, anchor, this.calendar, {
        withoutDays: true,
        programmeDeadline: programme,
        windowYear: windowYearOf(limit, state, request.version, anchor, this.calendar),
      });
      // A clock that starts on a cohort date (the end of document acceptance) starts the work too.
      if ('cohortDate' in limit.anchor) lowerBounds.push(anchor);
      if (result.opensAt) lowerBounds.push(result.opensAt);
      if (result.deadline && (!own || result.deadline < own.deadline))
        own = { deadline: result.deadline, spec: limit.spec };
    }
    const earliest = new Date(Math.max(...lowerBounds.map((d) => d.getTime())));

    let bound = own?.deadline ?? null;
    for (const later of request.laterSteps) {
      for (const limit of later.limits) {
        if (!limitApplies(limit, state) || isOwnDuration(limit, later)) continue;
        const anchor = anchorInstant(limit, state, request.version, this.calendar, END_OF_TIME);
        if (!anchor) continue;
        const { deadline } = computeDeadline(limit, anchor, this.calendar, {
          withoutDays: true,
          programmeDeadline: programme,
          windowYear: windowYearOf(limit, state, request.version, anchor, this.calendar),
        });
        if (deadline && deadline > earliest && (!bound || deadline < bound)) bound = deadline;
      }
    }

    const late = own !== null && (request.late ?? rng.chance(this.lateRates[own.spec.kind]));
    let at: Date;
    if (late && own) at = this.after(rng, own.deadline, own.spec, earliest, request.hours);
    else if (bound && bound > earliest) at = this.within(rng, earliest, bound, own?.spec, request);
    else at = this.natural(rng, earliest, request.gap, request.hours);

    if (duration) return this.withDuration(rng, at, duration, request.late);
    if (request.startedBefore) {
      // Begun earlier the same working day (not before its office hours), and not before the previous act.
      const dayOpens = this.zone.wallTimeMs(this.zone.localDayOf(at.getTime()), HOURS[request.hours][0]);
      const startedAt = new Date(
        Math.min(
          at.getTime(),
          Math.max(last.getTime(), dayOpens, at.getTime() - Math.round(rng.between(...request.startedBefore)) * MINUTE),
        ),
      );
      return { occurredAt: at, startedAt, late };
    }
    return { occurredAt: at, startedAt: at, late };
  }

  /** Completion after a start, the filing or admission taking most of its limit, or more when late. */
  private withDuration(rng: Rng, startedAt: Date, duration: Limit | undefined, late: boolean | undefined): ChosenTimes {
    if (!duration || duration.spec.kind !== 'minutes') return { occurredAt: startedAt, startedAt, late: false };
    const limit = duration.spec.minutes;
    const overrun = late ?? rng.chance(this.lateRates.minutes * 0.7);
    const minutes = overrun ? rng.between(1.1, 1.8) * limit : rng.between(0.3, 0.95) * limit;
    return {
      occurredAt: new Date(startedAt.getTime() + Math.max(1, Math.round(minutes)) * MINUTE),
      startedAt,
      late: overrun,
    };
  }

  /** A moment in office hours at or after `from`: on its day if the hours are not over, else on the next working day. */
  officeMoment(rng: Rng, from: Date): Date {
    let day = this.workingDayFrom(this.zone.localDayOf(from.getTime()));
    for (;;) {
      const at = this.slotOn(rng, day, from, 'office');
      if (at) return at;
      day = this.calendar.addWorkingDaysToDayNumber(day, 1);
    }
  }

  /** The earliest instant the gap allows after the previous act. */
  private afterGap(last: Date, gap: Gap | undefined): Date {
    if (!gap) return new Date(last.getTime() + MINUTE);
    if ('minutes' in gap) return new Date(last.getTime() + Math.max(1, gap.minutes[0]) * MINUTE);
    const lastDay = this.zone.localDayOf(last.getTime());
    const k = 'workingDays' in gap ? gap.workingDays[0] : gap.days[0];
    if (k === 0) return new Date(last.getTime() + MINUTE);
    const day =
      'workingDays' in gap ? this.calendar.addWorkingDaysToDayNumber(lastDay, k) : this.workingDayFrom(lastDay + k);
    return new Date(this.zone.wallTimeMs(day, 0));
  }

  /** Inside [earliest, bound): a working-day slot in the act's hours when the interval has one. */
  private within(rng: Rng, earliest: Date, bound: Date, spec: LimitSpec | undefined, request: ActTiming): Date {
    if (request.gap && !('minutes' in request.gap)) {
      const natural = this.natural(rng, earliest, request.gap, request.hours);
      if (natural < bound) return natural;
    }
    // A limit in minutes (a test, a filing) runs on whatever the hour; the others in working hours.
    if (spec?.kind === 'minutes') return this.uniform(rng, earliest, bound);
    // No slot in the act's own hours (a test session after 15:00 on the last day): office hours; failing
    // those too, the act waits for the next working morning, as an office would, and is late.
    let slots = this.slots(earliest, bound, request.hours);
    if (slots.length === 0 && request.hours !== 'portal') slots = this.slots(earliest, bound, 'office');
    if (slots.length === 0) return this.natural(rng, earliest, { workingDays: [0, 0] }, request.hours);
    // Most work is done early in its period; an annual window's acts (exams, competitions) spread over it.
    const decay = spec?.kind === 'annual-window' ? 1 : 0.6;
    const slot = rng.weighted(slots.map((s, i) => [s, decay ** i] as const));
    return this.uniform(rng, slot[0], slot[1]);
  }

  /** After a deadline: minutes later for a limit in minutes, else within a few working days. */
  private after(rng: Rng, deadline: Date, spec: LimitSpec, earliest: Date, hours: Hours): Date {
    const from = new Date(Math.max(deadline.getTime(), earliest.getTime()));
    if (spec.kind === 'minutes')
      return new Date(from.getTime() + Math.round(rng.between(1, Math.max(3, spec.minutes * 0.6))) * MINUTE);
    const firstLateDay = this.workingDayFrom(this.zone.localDayOf(from.getTime()));
    const day = this.calendar.addWorkingDaysToDayNumber(firstLateDay, rng.int(0, 2));
    return (
      this.slotOn(rng, day, from, hours) ??
      this.slotOn(rng, this.calendar.addWorkingDaysToDayNumber(day, 1), from, hours)!
    );
  }

  /** When nothing binds the act: the gap's delay on a working day in the act's hours. */
  private natural(rng: Rng, earliest: Date, gap: Gap = { workingDays: [0, 2] }, hours: Hours): Date {
    if ('minutes' in gap)
      return new Date(earliest.getTime() + Math.round(rng.between(0, gap.minutes[1] - gap.minutes[0])) * MINUTE);
    const firstDay = this.zone.localDayOf(earliest.getTime());
    let day: number;
    if ('workingDays' in gap)
      day = this.calendar.addWorkingDaysToDayNumber(
        this.workingDayFrom(firstDay),
        rng.int(0, gap.workingDays[1] - gap.workingDays[0]),
      );
    else day = this.workingDayFrom(firstDay + rng.int(0, gap.days[1] - gap.days[0]));
    for (let i = 0; i < 30; i++, day = this.calendar.addWorkingDaysToDayNumber(day, 1)) {
      const at = this.slotOn(rng, day, earliest, hours);
      if (at) return at;
    }
    return new Date(earliest.getTime() + MINUTE);
  }

  private uniform(rng: Rng, from: Date, to: Date): Date {
    const minutes = Math.floor((to.getTime() - from.getTime()) / MINUTE);
    if (minutes <= 1) return new Date(from.getTime());
    // Whole minutes after `from`, never at the bound itself.
    return new Date(from.getTime() + rng.int(1, Math.max(1, minutes - 1)) * MINUTE);
  }

  /** A minute in the day's hours at or after `from`, or null when the day's hours are over. */
  private slotOn(rng: Rng, day: number, from: Date, hours: Hours): Date | null {
    const [open, close] = HOURS[hours];
    const start = Math.max(this.zone.wallTimeMs(day, open), from.getTime());
    const end = this.zone.wallTimeMs(day, close);
    if (end - start < MINUTE) return null;
    return this.uniform(rng, new Date(start), new Date(end));
  }

  /** The working-day hours between two instants, as [from, to) pairs. */
  private slots(from: Date, to: Date, hours: Hours): [Date, Date][] {
    const [open, close] = HOURS[hours];
    const result: [Date, Date][] = [];
    const last = this.zone.localDayOf(to.getTime() - 1);
    for (let day = this.zone.localDayOf(from.getTime()); day <= last && result.length < 400; day++) {
      if (!this.calendar.isWorkingDayNumber(day)) continue;
      const start = Math.max(this.zone.wallTimeMs(day, open), from.getTime());
      const end = Math.min(this.zone.wallTimeMs(day, close), to.getTime());
      if (end - start >= 2 * MINUTE) result.push([new Date(start), new Date(end)]);
    }
    return result;
  }

  private workingDayFrom(day: number): number {
    while (!this.calendar.isWorkingDayNumber(day)) day++;
    return day;
  }
}

/** A limit on the step's own duration (its clock starts when the step itself begins). */
function isOwnDuration(limit: Limit, step: RegulationStep): boolean {
  return 'stepStarted' in limit.anchor && limit.anchor.stepStarted === step.id;
}
