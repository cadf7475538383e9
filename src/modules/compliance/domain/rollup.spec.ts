import fc from 'fast-check';
import { loadCalendars } from '../../calendar/domain/load-calendar';
import { durationOf, percentileOf, workingHoursBetween } from './durations';
import {
  applyCounters,
  emptyCounters,
  GROUP_BY,
  rollupDelta,
  RollupSums,
  type RollupDocument,
  type RollupRow,
} from './rollup';
import { summarise } from './summary';

const calendar = loadCalendars('data/calendars').get('KZ')!;

describe('working hours', () => {
  it('count only the hours that fall on working days (Friday 16:00 to Monday 10:00 is 8 + 10 hours)', () => {
    // 2015-12-11 is a Friday; Saturday 12 and Sunday 13 December are days off.
    expect(
      workingHoursBetween(new Date('2015-12-11T16:00:00+06:00'), new Date('2015-12-14T10:00:00+06:00'), calendar),
    ).toBe(18);
  });
  it('skip public holidays: 15 Dec 09:00 to 18 Dec 09:00 spans Independence Day (16–17 Dec 2015)', () => {
    expect(
      workingHoursBetween(new Date('2015-12-15T09:00:00+06:00'), new Date('2015-12-18T09:00:00+06:00'), calendar),
    ).toBe(15 + 9);
  });
  it('minutes for minute limits, calendar days for windows', () => {
    expect(durationOf('minutes', '2015-09-15T10:00:00Z', '2015-09-15T10:25:00Z', calendar)).toEqual({
      unit: 'minutes',
      value: 25,
    });
    expect(durationOf('annual-window', '2015-09-01T00:00:00Z', '2015-09-11T00:00:00Z', calendar)).toEqual({
      unit: 'calendar-days',
      value: 10,
    });
  });
});

describe('percentiles from histograms', () => {
  it('interpolate inside the bucket holding the rank', () => {
    // minutes buckets: ≤1, ≤2, ≤3, ≤5 …; ten samples in (3, 5]: the median is half-way, 4.
    expect(percentileOf('minutes', [0, 0, 0, 10], 50)).toBe(4);
    expect(percentileOf('minutes', [], 50)).toBeNull();
  });
});

const row = fc
  .record({
    serviceId: fc.constantFrom('s1', 's2'),
    versionId: fc.constantFrom('s1/a', 's2/b'),
    trackId: fc.constantFrom('t1', 't2'),
    unit: fc.constantFrom('astana', 'almaty'),
    assignee: fc.constantFrom(null, 'e1', 'e2'),
    channel: fc.constantFrom('portal', 'psc'),
    stepId: fc.constantFrom('a', 'b', 'c'),
    month: fc.constantFrom('2015-09', '2015-10'),
    kind: fc.constantFrom('minutes' as const, 'working-days' as const),
    startedAt: fc.constant('2015-09-15T04:00:00.000Z'),
    deadline: fc.constantFrom(null, '2015-09-16T18:00:00.000Z', '2015-09-20T18:00:00.000Z'),
    completedAt: fc.constantFrom(null, '2015-09-15T05:00:00.000Z', '2015-09-17T05:00:00.000Z'),
    settled: fc.constantFrom(null, 'met' as const, 'breached' as const, 'not-applicable' as const, 'waiting' as const),
  })
  // A row waiting for the date its clock counts from has no start and no deadline.
  .map((r) => (r.settled === 'waiting' ? { ...r, startedAt: null, deadline: null } : r)) as fc.Arbitrary<RollupRow>;

function applyAll(store: Map<string, RollupDocument>, before: RollupRow[], after: RollupRow[]) {
  for (const [id, { doc, delta }] of rollupDelta(before, after, calendar)) {
    const existing =
      store.get(id) ??
      ({
        ...doc,
        total: 0,
        met: 0,
        breached: 0,
        open: 0,
        waiting: 0,
        openDeadlines: {},
        durations: { minutes: [], 'working-hours': [], 'calendar-days': [] },
      } as unknown as RollupDocument);
    const next = applyCounters(existing, delta);
    if (next) store.set(id, next);
    else store.delete(id);
  }
}

describe('rollups', () => {
  it('applied as deltas case by case, they equal the counts taken directly from the final rows', () => {
    fc.assert(
      fc.property(
        fc.array(fc.array(fc.array(row, { maxLength: 5 }), { minLength: 1, maxLength: 4 }), { maxLength: 6 }),
        fc.constantFrom(...GROUP_BY),
        (cases, dim) => {
          const store = new Map<string, RollupDocument>();
          const finals: RollupRow[] = [];
          for (const history of cases) {
            let current: RollupRow[] = [];
            for (const next of history) {
              applyAll(store, current, next);
              current = next;
            }
            finals.push(...current);
          }
          const asOf = new Date('2015-09-18T00:00:00Z');
          const summary = summarise(
            [...store.values()].filter((d) => d.dim === dim),
            asOf,
          );
          // A row waiting for its date counts apart, outside the total.
          const total = finals.filter((r) => r.settled !== 'waiting').length;
          expect(summary.reduce((a, r) => a + r.waiting, 0)).toBe(finals.filter((r) => r.settled === 'waiting').length);
          expect(summary.reduce((a, r) => a + r.total, 0)).toBe(total);
          expect(summary.reduce((a, r) => a + r.met, 0)).toBe(finals.filter((r) => r.settled === 'met').length);
          expect(summary.reduce((a, r) => a + r.breached, 0)).toBe(
            finals.filter((r) => r.settled === 'breached').length,
          );
          const overdue = finals.filter(
            (r) => r.settled === null && r.deadline !== null && Date.parse(r.deadline) <= asOf.getTime(),
          ).length;
          expect(summary.reduce((a, r) => a + r.overdue, 0)).toBe(overdue);
          expect(summary.reduce((a, r) => a + r.open, 0)).toBe(
            finals.filter((r) => r.settled === null).length - overdue,
          );
          // Rows of steps that never became due are counted apart and weigh in no rate.
          expect(summary.reduce((a, r) => a + r.notApplicable, 0)).toBe(
            finals.filter((r) => r.settled === 'not-applicable').length,
          );
          for (const r of summary) {
            const decided = r.met + r.breached + r.overdue;
            expect(r.complianceRate).toBe(decided === 0 ? null : Math.round((r.met / decided) * 10_000) / 10_000);
          }
          // Nothing is left behind for rows that went away.
          for (const doc of store.values()) expect(doc.total + doc.waiting).toBeGreaterThan(0);
        },
      ),
      { numRuns: 200 },
    );
  });
  it("a batch's new cases added straight to its sums store the same slice documents, byte for byte, as each case's delta summed apart", () => {
    // A batch as the compliance projection sums it: cases already stored (their old rows removed, their new rows
    // added) and cases new to the model, in any order; the sums then applied to the stored slices.
    const batchCase = fc.record({
      stored: fc.option(fc.array(row, { maxLength: 5 })),
      now: fc.array(row, { maxLength: 5 }),
    });
    fc.assert(
      fc.property(fc.array(batchCase, { minLength: 1, maxLength: 8 }), (batch) => {
        const stored = new Map<string, RollupDocument>();
        for (const c of batch) if (c.stored) applyAll(stored, [], c.stored);
        const sumApart = (direct: boolean) => {
          const sums = new RollupSums();
          for (const c of batch) {
            if (direct && !c.stored) sums.addNew(c.now, calendar);
            else sums.add(rollupDelta(c.stored ?? [], c.now, calendar));
          }
          const out = structuredClone(stored);
          for (const [id, { doc, delta }] of sums.slices) {
            const next = applyCounters(out.get(id) ?? ({ ...doc, ...emptyCounters() } as RollupDocument), delta);
            if (next) out.set(id, next);
            else out.delete(id);
          }
          return JSON.stringify([...out].sort(([a], [b]) => (a < b ? -1 : 1)));
        };
        expect(sumApart(true)).toBe(sumApart(false));
      }),
      { numRuns: 500 },
    );
  });
});
