/**
 * How long a step took against its limit, in the unit the limit is stated in: minutes for minute limits,
 * working hours for working-day limits (hours elapsed on working days of the calendar; a working day
 * counts 24 h, as the deadline engine ends such periods at 24:00), calendar days for the others.
 * Durations are kept as fixed-bucket histograms so rollups can be summed and percentiles read back. Pure.
 */
import type { WorkingCalendar } from '../../calendar/domain/working-calendar';
import type { LimitSpec } from '../../deadlines/domain/limit';
import { isoMs } from '../../../shared/dates/instant-text';

export type DurationUnit = 'minutes' | 'working-hours' | 'calendar-days';
export const DURATION_UNITS: readonly DurationUnit[] = ['minutes', 'working-hours', 'calendar-days'];

export function durationUnitOf(kind: LimitSpec['kind']): DurationUnit {
  return kind === 'minutes' ? 'minutes' : kind === 'working-days' ? 'working-hours' : 'calendar-days';
}

const HOUR = 3_600_000;
const DAY = 24 * HOUR;

/** Working hours between two instants: the part of [start, end) that falls on working days. */
export function workingHoursBetween(start: Date, end: Date, calendar: WorkingCalendar): number {
  if (end.getTime() <= start.getTime()) return 0;
  const zone = calendar.timeZone;
  const firstDay = zone.localDayOf(start.getTime());
  const lastDay = zone.localDayOf(end.getTime());
  const working = (day: number) => calendar.isWorkingDayNumber(day);
  if (firstDay === lastDay) return working(firstDay) ? (end.getTime() - start.getTime()) / HOUR : 0;
  const firstEnd = zone.wallTimeMs(firstDay + 1, 0);
  const lastStart = zone.wallTimeMs(lastDay, 0);
  let ms = (working(firstDay) ? firstEnd - start.getTime() : 0) + (working(lastDay) ? end.getTime() - lastStart : 0);
  for (let day = firstDay + 1; day < lastDay; day++) if (working(day)) ms += DAY;
  return ms / HOUR;
}

export function durationOf(
  kind: LimitSpec['kind'],
  startedAt: string,
  completedAt: string,
  calendar: WorkingCalendar,
): { unit: DurationUnit; value: number } {
  const start = new Date(isoMs(startedAt));
  const end = new Date(isoMs(completedAt));
  const unit = durationUnitOf(kind);
  // A limit counted back from a later date (a schedule published before testing starts) measures the lead time.
  const elapsed =
    kind === 'working-days-before'
      ? Math.abs(end.getTime() - start.getTime())
      : Math.max(0, end.getTime() - start.getTime());
  if (unit === 'minutes') return { unit, value: elapsed / 60_000 };
  if (unit === 'working-hours') return { unit, value: workingHoursBetween(start, end, calendar) };
  return { unit, value: elapsed / DAY };
}

/** Upper edges of the histogram buckets per unit; the last bucket is open-ended. */
export const BUCKET_EDGES: Readonly<Record<DurationUnit, readonly number[]>> = {
  minutes: [1, 2, 3, 5, 7, 10, 15, 20, 25, 30, 40, 50, 60, 90, 120, 180, 240, 480, 1440],
  'working-hours': [1, 2, 4, 8, 12, 16, 20, 24, 36, 48, 60, 72, 96, 120, 144, 168, 192, 240, 360, 480, 720],
  'calendar-days': [1, 2, 3, 5, 7, 10, 14, 21, 30, 45, 60, 90, 120, 180, 270, 365, 730, 1095],
};

export function bucketOf(unit: DurationUnit, value: number): number {
  const edges = BUCKET_EDGES[unit];
  for (let i = 0; i < edges.length; i++) if (value <= edges[i]!) return i;
  return edges.length;
}

/**
 * The p-th percentile read from a histogram, interpolated linearly inside its bucket (so it is exact to
 * the bucket's width); null for an empty histogram.
 */
export function percentileOf(unit: DurationUnit, counts: readonly number[], p: number): number | null {
  const total = counts.reduce((a, b) => a + b, 0);
  if (total === 0) return null;
  const edges = BUCKET_EDGES[unit];
  const rank = (p / 100) * total;
  let seen = 0;
  for (let i = 0; i < counts.length; i++) {
    const n = counts[i] ?? 0;
    if (n > 0 && seen + n >= rank) {
      const low = i === 0 ? 0 : edges[i - 1]!;
      const high = i < edges.length ? edges[i]! : low * 2;
      return low + ((high - low) * Math.max(0, rank - seen)) / n;
    }
    seen += n;
  }
  return edges[edges.length - 1]!;
}
