/**
 * When a limit warns: at given shares of its time, measured in the limit's own unit. Minute limits in minutes;
 * working-day limits in working time (the working days after the anchor day, each 24 h, as the deadline engine ends
 * such periods at 24:00), so a warning never falls on a holiday or a transferred day off; calendar periods, annual
 * windows and programmes in calendar time. The deadline itself is the 100 % instant, the breach. Pure.
 */
import type { WorkingCalendar } from '../../calendar/domain/working-calendar';
import { workingHoursBetween } from '../../compliance/domain/durations';
import type { LimitSpec } from '../../deadlines/domain/limit';
import {
  DEFAULT_WARNING_POLICY,
  DEFAULT_WARNING_THRESHOLDS,
  type WarningPolicy,
  type WarningThresholds,
} from '../../../shared/config/warning-policy';

/** Declared in shared/config (the environment sets it); the domain's vocabulary still names them here. */
export { DEFAULT_WARNING_POLICY, DEFAULT_WARNING_THRESHOLDS, type WarningPolicy, type WarningThresholds };

export function thresholdsFor(policy: WarningPolicy, serviceId: string, versionId: string): WarningThresholds {
  return policy.byVersion?.[versionId] ?? policy.byService?.[serviceId] ?? policy.default;
}

export interface LimitInstant {
  /** Percent of the limit's time; 100 is the deadline (the breach). */
  threshold: number;
  at: Date;
}

const HOUR = 3_600_000;

/**
 * The instant at which `workingMs` of working time has passed, counting whole working days from the start of
 * `fromDay` (a local day number); the result never lies on a day that is not a working day.
 */
export function afterWorkingTime(fromDay: number, workingMs: number, calendar: WorkingCalendar): Date {
  const zone = calendar.timeZone;
  let remaining = workingMs;
  for (let day = fromDay; ; day++) {
    if (!calendar.isWorkingDayNumber(day)) continue;
    const start = zone.wallTimeMs(day, 0);
    const length = zone.wallTimeMs(day + 1, 0) - start;
    if (remaining < length) return new Date(start + remaining);
    remaining -= length;
  }
}

/**
 * The warning instants and the deadline of one limit whose clock started at `startedAt`, in order. A limit counted
 * back from a later date (`working-days-before`) has no start of its own to take shares of: only its deadline.
 */
export function limitInstants(
  kind: LimitSpec['kind'],
  startedAt: Date,
  deadline: Date,
  thresholds: WarningThresholds,
  calendar: WorkingCalendar,
  opensAt?: Date,
): LimitInstant[] {
  const instants: LimitInstant[] = [];
  const shares = [...new Set(thresholds)].filter((t) => t > 0 && t < 100).sort((a, b) => a - b);
  if (kind !== 'working-days-before') {
    for (const threshold of shares) {
      const at = shareOf(kind, startedAt, deadline, threshold / 100, calendar, opensAt);
      if (at.getTime() < deadline.getTime()) instants.push({ threshold, at });
    }
  }
  instants.push({ threshold: 100, at: deadline });
  return instants;
}

function shareOf(
  kind: LimitSpec['kind'],
  startedAt: Date,
  deadline: Date,
  share: number,
  calendar: WorkingCalendar,
  opensAt?: Date,
): Date {
  if (kind === 'working-days') {
    // Civil Code art. 171: the anchor day is not counted; the limit's time is the working days after it.
    const firstDay = calendar.timeZone.localDayOf(startedAt.getTime()) + 1;
    const from = new Date(calendar.timeZone.wallTimeMs(firstDay, 0));
    const total = workingHoursBetween(from, deadline, calendar) * HOUR;
    // Zero working days: the limit ends with the anchor day itself, so its share is taken of what is left of it.
    if (total <= 0) return linear(startedAt, deadline, share);
    return afterWorkingTime(firstDay, Math.floor(total * share), calendar);
  }
  // A window counts from when acting became possible, if the clock started before it opened.
  const start = opensAt && opensAt.getTime() > startedAt.getTime() ? opensAt : startedAt;
  return linear(start, deadline, share);
}

function linear(start: Date, end: Date, share: number): Date {
  return new Date(start.getTime() + Math.floor((end.getTime() - start.getTime()) * share));
}

/** Working time left until a deadline, in hours (working-day limits), or minutes / calendar days for the others. */
export function timeLeft(
  kind: LimitSpec['kind'],
  now: Date,
  deadline: Date,
  calendar: WorkingCalendar,
): { unit: 'minutes' | 'working-hours' | 'calendar-days'; value: number } {
  const ms = deadline.getTime() - now.getTime();
  if (kind === 'minutes') return { unit: 'minutes', value: Math.round(ms / 60_000) };
  if (kind === 'working-days' || kind === 'working-days-before') {
    const hours =
      ms >= 0 ? workingHoursBetween(now, deadline, calendar) : -workingHoursBetween(deadline, now, calendar);
    return { unit: 'working-hours', value: Math.round(hours * 10) / 10 };
  }
  return { unit: 'calendar-days', value: Math.round((ms / (24 * HOUR)) * 10) / 10 };
}

export interface Urgency {
  /** The deadline is later today (Almaty), not yet passed. */
  dueToday: boolean;
  /** A warning share has passed and the deadline has not: the act is at risk. */
  atRisk: boolean;
  overdue: boolean;
  /** The highest share passed (percent), null before the first. */
  threshold: number | null;
  timeLeft: { unit: 'minutes' | 'working-hours' | 'calendar-days'; value: number };
}

/** How urgent an open limit is at `now`, for people: due today, at risk (past a warning), time left in its own unit. */
export function urgencyOf(
  kind: LimitSpec['kind'],
  startedAt: Date,
  deadline: Date,
  thresholds: WarningThresholds,
  calendar: WorkingCalendar,
  now: Date,
  opensAt?: Date,
): Urgency {
  const overdue = now.getTime() >= deadline.getTime();
  const zone = calendar.timeZone;
  const dueToday = !overdue && zone.localDayOf(deadline.getTime() - 1) === zone.localDayOf(now.getTime());
  let threshold: number | null = null;
  for (const instant of limitInstants(kind, startedAt, deadline, thresholds, calendar, opensAt)) {
    if (instant.threshold < 100 && instant.at.getTime() <= now.getTime()) threshold = instant.threshold;
  }
  return {
    dueToday,
    atRisk: !overdue && threshold !== null,
    overdue,
    threshold,
    timeLeft: timeLeft(kind, now, deadline, calendar),
  };
}
