/**
 * Compliance rollups: each SLA row counts in one slice document per dashboard grouping (service, version,
 * step, unit, assignee, channel, month), keyed also by the filters (version, track, unit, month), so a
 * summary reads a few thousand counters instead of every step. When a case changes, the delta between its
 * old and new rows is applied. Open rows keep their deadlines, so "overdue" is decided at the reader's asOf. Pure.
 */
import type { WorkingCalendar } from '../../calendar/domain/working-calendar';
import type { LimitSpec } from '../../deadlines/domain/limit';
import type { SlaGrouping } from '../../cases/domain/case-sla';
import { bucketOf, DURATION_UNITS, durationOf, type DurationUnit } from './durations';

export const GROUP_BY = ['service', 'version', 'step', 'unit', 'assignee', 'channel', 'month'] as const;
export type GroupBy = (typeof GROUP_BY)[number];

/** What a rollup needs of one SLA row: what dashboards group by, and the row's times and status. */
export interface RollupRow extends SlaGrouping {
  stepId: string;
  /**
   * Asia/Almaty month in which the clock started, YYYY-MM; for a row waiting for the date its clock counts from, the
   * month the case was filed.
   */
  month: string;
  kind: LimitSpec['kind'];
  /** Null while the row waits for the date its clock counts from. */
  startedAt: string | null;
  deadline: string | null;
  completedAt: string | null;
  /**
   * met/breached once done or the case closed; not-applicable when the step never became due (counted apart, in no
   * compliance rate); waiting while the step is due but the date its clock counts from is not recorded (counted
   * apart, outside `total`); null while open (open or overdue by its deadline at asOf).
   */
  settled: 'met' | 'breached' | 'not-applicable' | 'waiting' | null;
}

export interface RollupCounters {
  total: number;
  met: number;
  breached: number;
  /** Rows of steps that never became due: in `total`, in no compliance rate. */
  notApplicable: number;
  /** Rows not settled: open or overdue, by their deadline at the reader's asOf. */
  open: number;
  /**
   * Rows of due steps whose clock cannot start: the date it counts from (a cohort date) is not recorded. Outside
   * `total` and every rate (no clock, nothing to measure), and said apart so that an unmeasured step is seen.
   */
  waiting: number;
  /** Deadlines of the open rows, ISO instant → count; rows with no deadline yet count under "none". */
  openDeadlines: Record<string, number>;
  durations: Record<DurationUnit, number[]>;
}

/** Which slice a rollup document counts: one grouping's key, within one version, track, unit and month. */
export interface RollupSlice {
  _id: string;
  dim: GroupBy;
  key: string;
  serviceId: string;
  versionId: string;
  trackId: string;
  unit: string;
  month: string;
}

export interface RollupDocument extends RollupSlice, RollupCounters {
  [field: string]: unknown;
}

export const UNASSIGNED = '(unassigned)';
export const NO_DEADLINE = 'none';

export function groupKey(
  dim: GroupBy,
  row: Pick<RollupRow, 'serviceId' | 'versionId' | 'stepId' | 'unit' | 'assignee' | 'channel' | 'month'>,
): string {
  switch (dim) {
    case 'service':
      return row.serviceId;
    case 'version':
      return row.versionId;
    case 'step':
      return row.stepId;
    case 'unit':
      return row.unit;
    case 'assignee':
      return row.assignee ?? UNASSIGNED;
    case 'channel':
      return row.channel;
    case 'month':
      return row.month;
  }
}

export function rollupId(
  dim: GroupBy,
  key: string,
  row: Pick<RollupRow, 'versionId' | 'trackId' | 'unit' | 'month'>,
): string {
  return `${dim}|${key}${rollupIdTail(row)}`;
}

/** What follows the grouping and key in a slice's id: the same for the seven slices of one row. */
function rollupIdTail(row: Pick<RollupRow, 'versionId' | 'trackId' | 'unit' | 'month'>): string {
  return `|${row.versionId}|${row.trackId}|${row.unit}|${row.month}`;
}

// A literal in DURATION_UNITS' order: built for every slice a delta touches.
export const emptyCounters = (): RollupCounters => ({
  total: 0,
  met: 0,
  breached: 0,
  notApplicable: 0,
  open: 0,
  waiting: 0,
  openDeadlines: {},
  durations: { minutes: [], 'working-hours': [], 'calendar-days': [] },
});

/** What one row adds to every slice it counts in: worked out once per row, then added to each of its seven groupings. */
interface Contribution {
  settled: RollupRow['settled'];
  /** The open row's deadline key. */
  deadline: string;
  /** The histogram bucket of a done row's duration. */
  duration: { unit: DurationUnit; bucket: number } | null;
}

function contributionOf(row: RollupRow, calendar: WorkingCalendar): Contribution {
  // An act that was not due (taken anyway) says nothing about how long due acts take.
  let duration: Contribution['duration'] = null;
  // Nor does an act whose clock never started (a row waiting for its date).
  if (row.completedAt && row.startedAt !== null && row.settled !== 'not-applicable' && row.settled !== 'waiting') {
    const { unit, value } = durationOf(row.kind, row.startedAt, row.completedAt, calendar);
    duration = { unit, bucket: bucketOf(unit, value) };
  }
  return { settled: row.settled, deadline: row.deadline ?? NO_DEADLINE, duration };
}

/** One row's contribution, with sign +1 (added) or -1 (removed). */
function contribute(counters: RollupCounters, c: Contribution, sign: 1 | -1): void {
  // A row waiting for its date has no clock: counted apart, outside the total.
  if (c.settled === 'waiting') {
    counters.waiting += sign;
    return;
  }
  counters.total += sign;
  if (c.settled === null) {
    counters.open += sign;
    const next = (counters.openDeadlines[c.deadline] ?? 0) + sign;
    if (next === 0) delete counters.openDeadlines[c.deadline];
    else counters.openDeadlines[c.deadline] = next;
  } else if (c.settled === 'met') counters.met += sign;
  else if (c.settled === 'breached') counters.breached += sign;
  else counters.notApplicable += sign;
  if (c.duration) {
    const histogram = counters.durations[c.duration.unit];
    while (histogram.length <= c.duration.bucket) histogram.push(0);
    histogram[c.duration.bucket]! += sign;
  }
}

/** The signature of a row for delta purposes: two equal rows cancel out. */
const rowSignature = (row: RollupRow) =>
  `${row.serviceId}|${row.versionId}|${row.trackId}|${row.unit}|${row.assignee}|${row.channel}|${row.stepId}|${row.month}|${row.kind}|${row.startedAt}|${row.deadline}|${row.completedAt}|${row.settled}`;

/** Slices by id, each with the counters to add to it. */
export type RollupDeltas = Map<string, SliceEntry>;

/** Changes to apply to slice documents when a case's rows go from `before` to `after`. */
export function rollupDelta(
  before: readonly RollupRow[],
  after: readonly RollupRow[],
  calendar: WorkingCalendar,
): RollupDeltas {
  // A case seen for the first time (every case of a build from scratch) has nothing to cancel out.
  if (before.length === 0) return addRollupRows(after, calendar, new Map());
  const counted = (rows: readonly RollupRow[]) => {
    const map = new Map<string, { row: RollupRow; n: number }>();
    for (const row of rows) {
      const sig = rowSignature(row);
      const entry = map.get(sig);
      if (entry) entry.n++;
      else map.set(sig, { row, n: 1 });
    }
    return map;
  };
  const out: RollupDeltas = new Map();
  const touch = slicesToucher(out, calendar);
  const old = counted(before);
  const now = counted(after);
  for (const [sig, { row, n }] of old) {
    const times = n - (now.get(sig)?.n ?? 0);
    if (times > 0) touch(row, -1, times);
  }
  for (const [sig, { row, n }] of now) {
    const times = n - (old.get(sig)?.n ?? 0);
    if (times > 0) touch(row, 1, times);
  }
  return out;
}

/**
 * Adds the rows of a case seen for the first time to `into`, as they come: what adding equal rows together would add,
 * in the same order. `into` may already hold other cases' sums (a batch's): adding only, a count of its never passes
 * through zero on its way up unless a removal made it negative, and a removal's deadline is in the stored slice
 * already, so the slices come out as if each case's delta were summed apart and added (one Map per case spared).
 */
export function addRollupRows(
  after: readonly RollupRow[],
  calendar: WorkingCalendar,
  into: RollupDeltas,
  index?: SliceIndex,
): RollupDeltas {
  const touch = slicesToucher(into, calendar, index);
  for (const row of after) touch(row, 1, 1);
  return into;
}

/**
 * A batch's rollup deltas summed per slice (`slices`), as the compliance projection applies them at the batch's end.
 * Its rows are found through the slice id's tail (version, track, unit, month) and each grouping's key, so a case's
 * rows compose one tail instead of seven ids each; `slices` is only ever added to, never replaced or emptied.
 */
export class RollupSums {
  readonly slices: RollupDeltas = new Map();
  /** Tail → per grouping (GROUP_BY's order), key → the entry `slices` holds under the composed id. */
  private readonly byTail: SliceIndex = new Map();

  /** The rows of a case new to the model (see addRollupRows), added straight to the sums. */
  addNew(rows: readonly RollupRow[], calendar: WorkingCalendar): void {
    addRollupRows(rows, calendar, this.slices, this.byTail);
  }

  /** One case's delta (rollupDelta), added to the sums. */
  add(deltas: RollupDeltas): void {
    for (const [id, entry] of deltas) {
      const summed = this.slices.get(id);
      // The sum may net a slice to zero rows while its statuses moved: applyCounters' null (nothing left) means nothing here.
      if (summed) applyCounters(summed.delta, entry.delta);
      else this.slices.set(id, entry);
    }
  }
}

type SliceEntry = { doc: RollupSlice; delta: RollupCounters };
type SliceIndex = Map<string, Map<string, SliceEntry>[]>;

/**
 * Adds (or removes, `times` over) one row's contribution to each of its seven slices in `out`. With an `index` (kept
 * for `out` alone, and `out` never emptied meanwhile) a slice is looked up by its tail and key before its id is composed.
 */
function slicesToucher(out: RollupDeltas, calendar: WorkingCalendar, index?: SliceIndex) {
  // A case's rows mostly count in the same slices (its service, unit, assignee, channel, month): a row whose id parts
  // equal the previous row's takes that row's entry, without composing and looking up its id again.
  let previous: RollupRow | null = null;
  const previousEntries: SliceEntry[] = [];
  let indexed: Map<string, SliceEntry>[] | null = null;
  const touch = (row: RollupRow, sign: 1 | -1, times: number) => {
    const contribution = contributionOf(row, calendar);
    const sameTail =
      previous !== null &&
      previous.versionId === row.versionId &&
      previous.trackId === row.trackId &&
      previous.unit === row.unit &&
      previous.month === row.month;
    // rollupId, its tail composed once for the row's seven slices.
    let tail: string | null = null;
    if (index && !sameTail) {
      tail = rollupIdTail(row);
      indexed = index.get(tail) ?? null;
      if (!indexed) index.set(tail, (indexed = GROUP_BY.map(() => new Map<string, SliceEntry>())));
    }
    for (let d = 0; d < GROUP_BY.length; d++) {
      const dim = GROUP_BY[d]!;
      const key = groupKey(dim, row);
      let entry = sameTail && groupKey(dim, previous!) === key ? previousEntries[d] : indexed?.[d]!.get(key);
      if (!entry) {
        const _id = `${dim}|${key}${(tail ??= rollupIdTail(row))}`;
        entry = out.get(_id);
        if (!entry) {
          entry = {
            doc: {
              _id,
              dim,
              key,
              serviceId: row.serviceId,
              versionId: row.versionId,
              trackId: row.trackId,
              unit: row.unit,
              month: row.month,
            },
            delta: emptyCounters(),
          };
          out.set(_id, entry);
        }
        indexed?.[d]!.set(key, entry);
      }
      previousEntries[d] = entry;
      for (let i = 0; i < times; i++) contribute(entry.delta, contribution, sign);
    }
    previous = row;
  };
  return touch;
}

/** Adds counters into a document; null when nothing is left to count (the document can go). */
export function applyCounters<T extends RollupCounters>(target: T, delta: RollupCounters): T | null {
  target.total += delta.total;
  target.met += delta.met;
  target.breached += delta.breached;
  // Documents stored before this counter existed lack it.
  target.notApplicable = (target.notApplicable ?? 0) + delta.notApplicable;
  target.open += delta.open;
  // Documents stored before this counter existed lack it (on either side: a summary adds stored documents).
  target.waiting = (target.waiting ?? 0) + (delta.waiting ?? 0);
  for (const deadline in delta.openDeadlines) {
    const next = (target.openDeadlines[deadline] ?? 0) + delta.openDeadlines[deadline]!;
    if (next === 0) delete target.openDeadlines[deadline];
    else target.openDeadlines[deadline] = next;
  }
  for (const unit of DURATION_UNITS) {
    const into = target.durations[unit];
    const from = delta.durations[unit];
    for (let i = 0; i < from.length; i++) {
      while (into.length <= i) into.push(0);
      into[i]! += from[i]!;
    }
  }
  return target.total === 0 && !target.waiting ? null : target;
}
