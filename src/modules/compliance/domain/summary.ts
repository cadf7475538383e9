/** Summary rows from rollup slices: counters summed per key, overdue decided at asOf, percentiles from histograms. Pure. */
import { DURATION_UNITS, percentileOf, type DurationUnit } from './durations';
import { applyCounters, emptyCounters, NO_DEADLINE, type RollupCounters, type RollupDocument } from './rollup';

export interface SummaryRow {
  key: string;
  total: number;
  met: number;
  breached: number;
  open: number;
  overdue: number;
  /** Rows of steps that never became due in their case: counted in `total`, left out of the rate. */
  notApplicable: number;
  /**
   * Rows of due steps whose clock cannot start: the date it counts from is not recorded in their case (the end of
   * document acceptance of a portal filing). Outside `total` and the rate: unmeasured, and said so.
   */
  waiting: number;
  /** met / (met + breached + overdue); null when nothing is decided yet. */
  complianceRate: number | null;
  durationP50: number | null;
  durationP90: number | null;
  /** The unit of durationP50/P90: the unit most of the group's completed rows are measured in. */
  durationUnit: DurationUnit | null;
  /** Percentiles per unit, for groups that mix limit kinds. */
  durations: Partial<Record<DurationUnit, { count: number; p50: number | null; p90: number | null }>>;
}

export function summarise(
  docs: readonly Pick<RollupDocument, 'key' | keyof RollupCounters>[],
  asOf: Date,
): SummaryRow[] {
  const groups = new Map<string, RollupCounters>();
  for (const doc of docs) {
    const into = groups.get(doc.key) ?? emptyCounters();
    applyCounters(into, doc);
    groups.set(doc.key, into);
  }
  const at = asOf.getTime();
  return [...groups.entries()]
    .filter(([, c]) => c.total > 0 || c.waiting > 0)
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([key, c]) => {
      let overdue = 0;
      for (const [deadline, n] of Object.entries(c.openDeadlines))
        if (deadline !== NO_DEADLINE && Date.parse(deadline) <= at) overdue += n;
      const decided = c.met + c.breached + overdue;
      const durations: SummaryRow['durations'] = {};
      let dominant: DurationUnit | null = null;
      for (const unit of DURATION_UNITS) {
        const count = c.durations[unit].reduce((a, b) => a + b, 0);
        if (count === 0) continue;
        durations[unit] = {
          count,
          p50: round(percentileOf(unit, c.durations[unit], 50)),
          p90: round(percentileOf(unit, c.durations[unit], 90)),
        };
        if (dominant === null || count > durations[dominant]!.count) dominant = unit;
      }
      return {
        key,
        total: c.total,
        met: c.met,
        breached: c.breached,
        open: c.open - overdue,
        overdue,
        notApplicable: c.notApplicable,
        waiting: c.waiting,
        complianceRate: decided === 0 ? null : round(c.met / decided, 4),
        durationP50: dominant ? durations[dominant]!.p50 : null,
        durationP90: dominant ? durations[dominant]!.p90 : null,
        durationUnit: dominant,
        durations,
      };
    });
}

function round(value: number | null, digits = 2): number | null {
  if (value === null) return null;
  const f = 10 ** digits;
  return Math.round(value * f) / f;
}
