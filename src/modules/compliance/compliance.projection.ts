/**
 * The `compliance` projection: what dashboards and worklists read, so that no query scans every step.
 * - `rollup-<grouping>`: counters per grouping (service, version, step, unit, assignee, channel, month),
 *   kept by the delta of each case's SLA rows;
 * - `open-rows`: the SLA rows of open cases not yet met or breached (for the overdue list);
 * - `open-steps`: the steps open now in each case, with their roles and earliest deadline (for worklists);
 * - `case-rows`: the projection's own memory of each case (state and rows), to compute the deltas.
 * Deterministic: a rebuild writes the same documents.
 */
import type { RecordedEvent } from '../event-log/event-log.port';
import type { ReadDocument } from '../read-store/read-store.port';
import type { Projection, ProjectionContext } from '../../projections/projection';
import { EVENT_TYPE_NAMES } from '../../events/event-types';
import type { WorkingCalendar } from '../calendar/domain/working-calendar';
import type { Anchor, ClauseRef, LimitSpec } from '../deadlines/domain/limit';
import { caseVersion, type Catalog, type RegulationVersion } from '../regulations/domain/catalog';
import { toCaseEvent } from '../cases/commands/case-repository';
import { PERSONAL_DATA_ERASED, scrubCaseState, type PersonalDataErasedData } from '../personal-data/domain/erasure';
import { applicantIndexer } from '../personal-data/domain/blind-index';
import type { PersonalDataReading } from '../personal-data/personal-data-vault';
import { CASE_STREAM_PREFIX } from '../cases/domain/case-event';
import { openSteps } from '../cases/domain/case-rules';
import { rolesOn } from '../regulations/domain/regulation-schema';
import { evolve, openingOf, stepById, type CaseState } from '../cases/domain/case-state';
import { slaGroupingOf, type SlaGrouping } from '../cases/domain/case-sla';
import { monthOf, storedSlaRows, type SharedSlaRows } from '../cases/projections/cases.projection';
import {
  applyCounters,
  emptyCounters,
  GROUP_BY,
  rollupDelta,
  RollupSums,
  type GroupBy,
  type RollupDocument,
  type RollupRow,
} from './domain/rollup';

export const COMPLIANCE_PROJECTION = 'compliance';
export const CASE_ROWS = 'case-rows';
export const OPEN_ROWS = 'open-rows';
export const OPEN_STEPS = 'open-steps';
export const rollupCollection = (dim: GroupBy): string => `rollup-${dim}`;

/** A case's SLA row as the compliance model counts it (complianceRowsOf): the rollups' grouping, the limit, the times. */
export type ComplianceRow = RollupRow & {
  limitId: string;
  /** When a window opens (annual windows): how far along an open row is counts from then. Not kept in case-rows. */
  opensAt?: string;
};

/**
 * A row as `case-rows` keeps it: without the case's grouping (service, version, track, unit, assignee, channel), which
 * is its state's, stored beside the rows (a sixth of every row's text, on every case of every batch), and without the
 * limit's clause, which the regulation file holds (its quote made a row's text twice as dear to write).
 */
export type StoredComplianceRow = Omit<ComplianceRow, keyof SlaGrouping>;

interface CaseRowsDocument extends ReadDocument {
  state: CaseState;
  rows: StoredComplianceRow[];
  openStepIds: string[];
}

export interface OpenRowDocument extends ReadDocument, RollupRow {
  caseId: string;
  limitId: string;
  clause: ClauseRef;
  roles: string[];
  receiptNumber: string;
  /** When the limit's window opens, for a window the clock started before (the at-risk list counts from then). */
  opensAt?: string;
}

export interface OpenStepDocument extends ReadDocument {
  caseId: string;
  serviceId: string;
  versionId: string;
  trackId: string;
  unit: string;
  stepId: string;
  label: { ru: string | null; kk: string | null };
  roles: string[];
  requiresAll: boolean;
  optional: boolean;
  /** Sign-offs so far of a step that needs every one of its roles. */
  signatures: { role: string; actorId: string }[];
  applicantIin: string;
  assignee: string | null;
  receiptNumber: string;
  /** The earliest deadline among the step's running limits; null when none runs. */
  deadline: string | null;
  clause: ClauseRef;
  /** Kind and start let readers tell how far along each limit is (warnings, time left in its own unit). */
  limits: {
    limitId: string;
    deadline: string | null;
    clause: ClauseRef;
    kind?: LimitSpec['kind'];
    startedAt?: string;
    opensAt?: string;
    /** Set on a limit whose clock cannot start yet: the date it counts from (its anchor), not recorded in the case. */
    waitingFor?: Anchor;
  }[];
}

export interface ComplianceReference {
  catalog: Catalog;
  calendar: WorkingCalendar;
  personalData?: PersonalDataReading;
  /** Rows computed once for this projection and the cases one where both run together. */
  slaRows?: SharedSlaRows;
}

/** A case's SLA rows as the compliance model counts them: grouped by the case, the month each clock started. */
export function complianceRowsOf(
  state: CaseState,
  version: RegulationVersion,
  calendar: WorkingCalendar,
  slaRows?: SharedSlaRows,
): ComplianceRow[] {
  let stored;
  try {
    stored = slaRows ? slaRows.of(state, version, calendar) : storedSlaRows(state, version, calendar);
  } catch (error) {
    // A cohort date outside the calendar's years: the case counts in no rollup rather than stopping all.
    if (error instanceof RangeError) return [];
    throw error;
  }
  // Spelt out in slaGroupingOf's order rather than spread into each row: the rows are built for every case a batch touches.
  const { serviceId, versionId, trackId, unit, assignee, channel } = state;
  return stored.map((r) => ({
    serviceId,
    versionId,
    trackId,
    unit,
    assignee,
    channel,
    stepId: r.stepId,
    limitId: r.limitId,
    // A row waiting for the date its clock counts from has no start: it counts in the month its case was filed.
    month: monthOf(calendar, r.startedAt ?? state.submittedAt),
    kind: r.kind,
    startedAt: r.startedAt,
    deadline: r.deadline,
    completedAt: r.completedAt,
    settled: r.settled,
    opensAt: r.opensAt,
  }));
}

/** A row as `case-rows` stores it: the fields after the grouping, in the row's order. */
function storedRow(r: ComplianceRow): StoredComplianceRow {
  return {
    stepId: r.stepId,
    limitId: r.limitId,
    month: r.month,
    kind: r.kind,
    startedAt: r.startedAt,
    deadline: r.deadline,
    completedAt: r.completedAt,
    settled: r.settled,
  };
}

/** A stored row with its case's grouping again, from the state stored with it (the state its rows were computed from). */
export function rowWithGrouping(state: CaseState, r: StoredComplianceRow): ComplianceRow {
  return { ...slaGroupingOf(state), ...r };
}

/** The first version whose open steps hold the applicant's IIN as its blind index; older builds hold it in clear. */
export const OPEN_STEPS_BY_BLIND_INDEX = 7;

export function complianceProjection({ catalog, calendar, personalData, slaRows }: ComplianceReference): Projection {
  const versionOf = (versionId: string): RegulationVersion => caseVersion(catalog, versionId);
  const rowsOf = (state: CaseState, version: RegulationVersion) => complianceRowsOf(state, version, calendar, slaRows);
  const applicantIndex = applicantIndexer(personalData);

  return {
    name: COMPLIANCE_PROJECTION,
    // 2: rows of steps that never became due are counted apart (not-applicable), in no rate, no overdue list, no worklist deadline;
    // open steps keep the roles of the case's track.
    // 5: the case rows no longer repeat each limit's clause (open rows and open steps still carry it).
    // 6: the case rows no longer repeat the case's grouping, which its stored state holds.
    // 7: open steps hold the applicant's IIN as its blind index (an applicant's worklist is found by it), not in clear.
    // 8: the folded state of a retraining completion that named no document has no result, not a guessed one.
    // 9: a limit in minutes kept by an act at exactly its deadline is met (the acts say "not more than N minutes").
    // 10: the 2015 academy admission filing and the technical secretary's acceptance are two steps, each with its own 30
    // minutes; its non-admission is no open step while a filed appeal awaits its answer (waitsFor). Open rows and open
    // steps' limits keep a window's opening (opensAt): the at-risk list and the worklist count a window's share from it.
    // 11: the portal's refusal is no open step once the provider took the case up (until).
    // 12: the law review's corrections: rows waiting for their clock's date (counted apart as waiting, in no total),
    // alternatives with a start of their own, the 2015 test timed from its own start, one year for a case's annual
    // windows, the roles of the corrected steps on open steps.
    version: 12,
    eventTypes: [...EVENT_TYPE_NAMES, PERSONAL_DATA_ERASED],
    // The scrub's batch leaves no old page with the clear data in read.db or its WAL.
    purgesOn: [PERSONAL_DATA_ERASED],
    collections: [CASE_ROWS, OPEN_ROWS, OPEN_STEPS, ...GROUP_BY.map(rollupCollection)],
    // The overdue list (most overdue first, per unit for unit-bound callers) and the drill-down from a step to its cases.
    indexes: {
      [OPEN_ROWS]: [
        { key: { deadline: 1, _id: 1 } },
        { key: { unit: 1, deadline: 1, _id: 1 } },
        { key: { serviceId: 1, deadline: 1, _id: 1 } },
      ],
      [CASE_ROWS]: [{ key: { 'state.serviceId': 1, 'state.submittedAt': -1, _id: 1 } }],
      [OPEN_STEPS]: [{ key: { unit: 1, _id: 1 } }, { key: { applicantIin: 1, _id: 1 } }],
    },
    prefetch: (recorded) =>
      recorded.streamId.startsWith(CASE_STREAM_PREFIX)
        ? [{ collection: CASE_ROWS, id: recorded.streamId.slice(CASE_STREAM_PREFIX.length) }]
        : [],
    async apply(recorded: RecordedEvent, ctx: ProjectionContext) {
      const working = workingSet(ctx).cases;
      if (recorded.type === PERSONAL_DATA_ERASED) {
        // The case keeps its rows and counts; its folded state loses the applicant and the acts' personal fields.
        for (const caseId of (recorded.data as PersonalDataErasedData).cases) {
          // What its events so far in this batch make of the case is written first, as applying them one by one would have.
          const folded = working.get(caseId);
          if (folded) {
            await write(ctx, caseId, folded);
            working.delete(caseId);
          }
          const doc = await ctx.get<CaseRowsDocument>(CASE_ROWS, caseId);
          if (doc) ctx.upsert(CASE_ROWS, { ...doc, state: scrubCaseState(doc.state) });
        }
        return;
      }
      if (!recorded.streamId.startsWith(CASE_STREAM_PREFIX)) return;
      const caseId = recorded.streamId.slice(CASE_STREAM_PREFIX.length);
      const event = toCaseEvent(
        personalData ? (await personalData.open([recorded], { kind: 'system', purpose: 'projection' }))[0]! : recorded,
      );
      let folded = working.get(caseId);
      if (!folded) {
        const before = await ctx.get<CaseRowsDocument>(CASE_ROWS, caseId);
        folded = { before, state: before?.state ?? null, version: null };
      }
      const current = folded.state;
      if (current && event.revision <= current.revision) return;
      if ((current ? current.revision + 1 : 0) !== event.revision)
        throw new Error(
          `case ${caseId}: event revision ${event.revision} does not follow ${current?.revision ?? 'nothing'}`,
        );
      const version = folded.version ?? versionOf(current ? current.versionId : openingOf(event).data.versionId);
      // Only the fold happens per event; rows, deltas, open rows and steps follow from the batch's last state (flush).
      // The acts are the cases projection's business: dropped at once, so a batch does not copy them event after event.
      folded.state = evolve(current, event, version);
      folded.state.acts = [];
      folded.version = version;
      working.set(caseId, folded);
    },
    async flush(ctx: ProjectionContext) {
      const working = workingSet(ctx);
      const { cases } = working;
      const slices = working.slices.slices;
      for (const [caseId, folded] of cases) await write(ctx, caseId, folded);
      cases.clear();
      // Each slice the batch touches is read, changed and written once, with the sum of its cases' deltas: a slice
      // counts most of a batch's cases (a service, a unit, a month), and applying case by case read and changed it as often.
      const byCollection = new Map<string, string[]>();
      for (const [id, { doc }] of slices) {
        const collection = rollupCollection(doc.dim);
        const ids = byCollection.get(collection);
        if (ids) ids.push(id);
        else byCollection.set(collection, [id]);
      }
      // Read in one round trip per grouping where the store can (MongoDB).
      for (const [collection, ids] of byCollection) await ctx.load(collection, ids);
      for (const [id, { doc, delta }] of slices) {
        const collection = rollupCollection(doc.dim);
        // ctx.get returns this batch's own copy (parsed from the store, or kept from an earlier batch): safe to change in place.
        const current = await ctx.get<RollupDocument>(collection, id);
        const next = applyCounters<RollupDocument>(current ?? { ...doc, ...emptyCounters() }, delta);
        if (next) ctx.upsert(collection, next);
        else ctx.delete(collection, id);
      }
      working.slices = new RollupSums();
    },
  };

  /**
   * The documents of one case from its state after the batch's events: the rollups take the delta between the rows it
   * had before the batch and its rows now, which is the sum of the deltas event by event; open rows and steps that
   * opened and closed within the batch were never stored, so they need no delete.
   */
  async function write(ctx: ProjectionContext, caseId: string, folded: FoldedCase): Promise<void> {
    const { before: existing, state, version } = folded;
    if (!state || !version) return;
    const rows = rowsOf(state, version);

    // Summed per slice, applied once at the batch's end (flush): the sum of the deltas is the delta of the sum.
    const { slices } = workingSet(ctx);
    // A case new to the model (every case of a build from scratch) adds its rows straight to the batch's sums.
    if (!existing || existing.rows.length === 0) slices.addNew(rows, calendar);
    else
      slices.add(
        rollupDelta(
          existing.rows.map((r) => rowWithGrouping(existing.state, r)),
          rows,
          calendar,
        ),
      );

    const openRowId = (r: { stepId: string; limitId: string }) => `${caseId}/${r.stepId}/${r.limitId}`;
    const nowOpen = rows.filter((r) => r.settled === null && state.status === 'open');
    if (existing) {
      const stillOpen = new Set(nowOpen.map(openRowId));
      for (const r of existing.rows)
        if (r.settled === null && !stillOpen.has(openRowId(r))) ctx.delete(OPEN_ROWS, openRowId(r));
    }
    for (const r of nowOpen)
      ctx.upsert(OPEN_ROWS, {
        _id: openRowId(r),
        caseId,
        serviceId: r.serviceId,
        versionId: r.versionId,
        trackId: r.trackId,
        unit: r.unit,
        assignee: r.assignee,
        channel: r.channel,
        stepId: r.stepId,
        limitId: r.limitId,
        clause: limitClause(version, r.stepId, r.limitId),
        month: r.month,
        kind: r.kind,
        startedAt: r.startedAt,
        deadline: r.deadline,
        completedAt: r.completedAt,
        settled: r.settled,
        roles: rolesOn(stepById(version, r.stepId)!, state.trackId),
        receiptNumber: state.receiptNumber,
        ...(r.opensAt ? { opensAt: r.opensAt } : {}),
      } satisfies OpenRowDocument);

    const steps = openSteps(state, version);
    for (const id of existing?.openStepIds ?? [])
      if (!steps.some((s) => s.id === id)) ctx.delete(OPEN_STEPS, `${caseId}/${id}`);
    for (const step of steps) {
      // The running limits of the step, and those waiting for the date they count from (said, with no deadline).
      const limits: OpenStepDocument['limits'] = rows
        .filter((r) => r.stepId === step.id && (r.settled === null || r.settled === 'waiting'))
        .map((r) =>
          r.startedAt === null
            ? {
                limitId: r.limitId,
                deadline: null,
                clause: limitClause(version, r.stepId, r.limitId),
                kind: r.kind,
                waitingFor: limitOf(version, r.stepId, r.limitId).anchor,
              }
            : {
                limitId: r.limitId,
                deadline: r.deadline,
                clause: limitClause(version, r.stepId, r.limitId),
                kind: r.kind,
                startedAt: r.startedAt,
                ...(r.opensAt ? { opensAt: r.opensAt } : {}),
              },
        );
      const deadlines = limits
        .map((l) => l.deadline)
        .filter((d): d is string => d !== null)
        .sort();
      ctx.upsert(OPEN_STEPS, {
        _id: `${caseId}/${step.id}`,
        caseId,
        serviceId: state.serviceId,
        versionId: state.versionId,
        trackId: state.trackId,
        unit: state.unit,
        stepId: step.id,
        label: { ru: step.label.ru, kk: step.label.kk },
        roles: rolesOn(step, state.trackId),
        requiresAll: step.requiresAll,
        optional: step.optional,
        signatures: (state.signatures[step.id] ?? []).map((s) => ({ role: s.role, actorId: s.actorId })),
        applicantIin: applicantIndex(state.applicant.iin),
        assignee: state.assignee,
        receiptNumber: state.receiptNumber,
        deadline: deadlines[0] ?? null,
        clause: step.clause,
        limits,
      } satisfies OpenStepDocument);
    }
    // The acts are the cases projection's business; without them the memory of a case stays small.
    ctx.upsert(CASE_ROWS, {
      _id: caseId,
      state: { ...state, acts: [] },
      rows: rows.map(storedRow),
      openStepIds: steps.map((s) => s.id),
    } satisfies CaseRowsDocument);
  }
}

/** A limit of a step (a row's). */
function limitOf(version: RegulationVersion, stepId: string, limitId: string) {
  return stepById(version, stepId)!.limits.find((l) => l.id === limitId)!;
}

/** The clause of a limit of a step (a row's), as caseSla gives it. */
function limitClause(version: RegulationVersion, stepId: string, limitId: string): ClauseRef {
  return limitOf(version, stepId, limitId).clause;
}

/** A case as a batch has folded it so far: its document before the batch, and its state after the batch's events. */
interface FoldedCase {
  before: CaseRowsDocument | null;
  state: CaseState | null;
  version: RegulationVersion | null;
}

/** What a batch has folded so far (its context): the cases, written once each, and the rollup deltas summed per slice. */
interface WorkingSet {
  cases: Map<string, FoldedCase>;
  slices: RollupSums;
}

const workingSets = new WeakMap<ProjectionContext, WorkingSet>();

function workingSet(ctx: ProjectionContext): WorkingSet {
  let working = workingSets.get(ctx);
  if (!working) {
    working = { cases: new Map(), slices: new RollupSums() };
    workingSets.set(ctx, working);
  }
  return working;
}
