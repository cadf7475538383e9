/**
 * The `cases` projection: one document per case (its CaseState, folded with the domain's `evolve`, plus
 * fields to query by, and its SLA rows). Only what does not depend on "now" is stored: deadlines, completion,
 * met/breached; whether an open row is open or overdue is decided when it is read, against the reader's asOf.
 * Deterministic: a rebuild writes the same documents.
 *
 * Version 2 no longer keeps an `sla` document per case, step and limit beside the case: no reader used them (the
 * case view reads the case's own rows; dashboards read the compliance projection), and writing them was a
 * quarter of the projection's writes.
 */
import type { RecordedEvent } from '../../event-log/event-log.port';
import type { IndexSpec, ReadDocument } from '../../read-store/read-store.port';
import type { Projection, ProjectionContext } from '../../../projections/projection';
import { EVENT_TYPE_NAMES } from '../../../events/event-types';
import type { WorkingCalendar } from '../../calendar/domain/working-calendar';
import { fromDayNumber } from '../../calendar/domain/local-date';
import { isoMs } from '../../../shared/dates/instant-text';
import type { ClauseRef, LimitSpec } from '../../deadlines/domain/limit';
import { caseVersion, type Catalog, type RegulationVersion } from '../../regulations/domain/catalog';
import { toCaseEvent } from '../commands/case-repository';
import { CASE_STREAM_PREFIX } from '../domain/case-event';
import { caseSla, type SlaStatus } from '../domain/case-sla';
import { evolve, openingOf, type CaseState } from '../domain/case-state';
import { ERASED } from '../../personal-data/domain/personal-fields';
import { applicantIndexer } from '../../personal-data/domain/blind-index';
import { PERSONAL_DATA_ERASED, scrubCaseState, type PersonalDataErasedData } from '../../personal-data/domain/erasure';
import type { PersonalDataReading } from '../../personal-data/personal-data-vault';

export const CASES_PROJECTION = 'cases';
export const CASES = 'cases';

/**
 * The status a row keeps whatever "now" is: met or breached once its step is done or its case closed (an
 * undone step of a closed case is breached when its deadline had passed by the close); not-applicable and waiting
 * (for the date its clock counts from), which the acts alone decide; null while the case is open and the step
 * undone: open or overdue is then decided against asOf when read.
 */
export type SettledStatus = 'met' | 'breached' | 'not-applicable' | 'waiting' | null;

/**
 * One SLA row as the case document keeps it, for the case view: the facts only (the clause and the
 * limit's parameters are the regulation's, looked up by step and limit id when shown).
 */
export interface CaseSlaRow {
  stepId: string;
  limitId: string;
  kind: LimitSpec['kind'];
  /** Null while the row waits for the date its clock counts from (settled `waiting`). */
  startedAt: string | null;
  deadline: string | null;
  opensAt?: string;
  completedAt: string | null;
  settled: SettledStatus;
  alternative: { kind: LimitSpec['kind']; deadline: string | null; settled: SettledStatus } | null;
}

export interface CaseDocument extends ReadDocument, CaseState {
  /** The keyed blind index of the applicant's IIN (the clear IIN where no personal-data vault is configured); "erased" once erased. */
  applicantIin: string;
  /** Log position of the last event folded in. */
  lastPosition: number;
  /**
   * Every SLA row whose clock has started at some instant (its `startedAt`; a reader filters by asOf), and those of due
   * steps waiting for the date their clock counts from (startedAt null, settled `waiting`).
   */
  sla: CaseSlaRow[];
  /** Set when the SLA could not be computed (e.g. a cohort date outside the calendar's years). */
  slaProblem: string | null;
}

/** A row with the regulation's clause and parameters beside the facts. */
export interface FullSlaRow extends Omit<CaseSlaRow, 'alternative'> {
  clause: ClauseRef;
  spec: LimitSpec;
  alternative: {
    kind: LimitSpec['kind'];
    spec: LimitSpec;
    clause: ClauseRef;
    deadline: string | null;
    settled: SettledStatus;
  } | null;
}

/** The Asia/Almaty month (YYYY-MM) of an instant: the month a row counts in. */
export function monthOf(calendar: WorkingCalendar, instant: string): string {
  // The local day alone: toLocal would format the time of day and the offset too, for every row of every case.
  return fromDayNumber(calendar.timeZone.localDayOf(isoMs(instant))).slice(0, 7);
}

/** Later than any act: with it, caseSla counts every act and every started clock, whatever today is. */
const END_OF_TIME = new Date(8.64e15);

/** The CaseState inside a case document (the document adds query fields around it). */
export function stateOf(doc: CaseDocument): CaseState {
  const {
    caseId,
    serviceId,
    versionId,
    trackId,
    channel,
    requestedChannel,
    unit,
    applicant,
    receiptNumber,
    submittedAt,
    status,
    result,
  } = doc;
  const {
    closedAt,
    revision,
    lastOccurredAt,
    lastHash,
    acts,
    completed,
    signatures,
    assignee,
    cohortDates,
    programmeEndsOn,
    negativeOutcome,
  } = doc;
  return {
    caseId,
    serviceId,
    versionId,
    trackId,
    channel,
    requestedChannel,
    unit,
    applicant,
    receiptNumber,
    submittedAt,
    status,
    result,
    closedAt,
    revision,
    lastOccurredAt,
    lastHash,
    acts,
    completed,
    signatures,
    assignee,
    cohortDates,
    programmeEndsOn,
    negativeOutcome,
  };
}

/** A row's status at `asOf`: the settled one, else open or overdue by the deadline. */
export function statusAt(settled: SettledStatus, deadline: string | null, asOf: Date): SlaStatus {
  if (settled) return settled;
  return deadline !== null && asOf.getTime() >= Date.parse(deadline) ? 'overdue' : 'open';
}

/** Done rows and every row of a closed case keep their status whatever "now" is; the rest are decided when read. */
function settledOf(status: SlaStatus, completedAt: string | null, caseOpen: boolean): SettledStatus {
  // Whether a step is due, and whether the date its clock counts from is known, depend on the acts alone, never on "now".
  if (status === 'not-applicable' || status === 'waiting') return status;
  return completedAt !== null || !caseOpen ? (status as SettledStatus) : null;
}

/** Every SLA row of the case whose clock has started at any instant, with what does not depend on "now". */
export function storedSlaRows(state: CaseState, version: RegulationVersion, calendar: WorkingCalendar): FullSlaRow[] {
  const open = state.status === 'open';
  return caseSla(state, version, calendar, END_OF_TIME).map((row) => {
    const { stepId, limitId, kind, clause, spec, startedAt, deadline, completedAt } = row;
    const settled = settledOf(row.status, completedAt, open);
    const alternative = row.alternative
      ? {
          kind: row.alternative.spec.kind,
          spec: row.alternative.spec,
          clause: row.alternative.clause,
          deadline: row.alternative.deadline,
          settled: settledOf(row.alternative.status, completedAt, open),
        }
      : null;
    // Two literals of one order, as in compact below (see caseSla): no spread of opensAt among the fields.
    return row.opensAt
      ? {
          stepId,
          limitId,
          kind,
          clause,
          spec,
          startedAt,
          deadline,
          opensAt: row.opensAt,
          completedAt,
          settled,
          alternative,
        }
      : { stepId, limitId, kind, clause, spec, startedAt, deadline, completedAt, settled, alternative };
  });
}

/**
 * The SLA rows of the cases folded last, shared by the cases and compliance projections of one runtime (allProjections):
 * each folds every case and computes its rows, and over one read of the log (a rebuild of every read model, or both
 * following the log) they do so for the same case at the same event, one batch apart at most. A case's rows follow
 * from its history, which its revision and last event's hash name, its regulation version and the calendar; a case
 * whose events carry no hash is computed each time. The rows handed out are shared: callers copy, never change them.
 */
export class SharedSlaRows {
  private readonly kept = new Map<
    string,
    {
      revision: number;
      lastHash: string;
      version: RegulationVersion;
      calendar: WorkingCalendar;
      rows: readonly FullSlaRow[];
    }
  >();

  /** `capacity` cases are kept, the oldest dropped: a catch-up batch's worth (20,000 events) of distinct cases. */
  constructor(private readonly capacity = 25_000) {}

  of(state: CaseState, version: RegulationVersion, calendar: WorkingCalendar): readonly FullSlaRow[] {
    const { caseId, revision, lastHash } = state;
    if (lastHash === null) return storedSlaRows(state, version, calendar);
    const kept = this.kept.get(caseId);
    if (
      kept &&
      kept.revision === revision &&
      kept.lastHash === lastHash &&
      kept.version === version &&
      kept.calendar === calendar
    )
      return kept.rows;
    // A RangeError (a date the calendar does not cover) leaves nothing kept: the other projection meets it as well.
    const rows = storedSlaRows(state, version, calendar);
    this.kept.delete(caseId);
    this.kept.set(caseId, { revision, lastHash, version, calendar, rows });
    if (this.kept.size > this.capacity) this.kept.delete(this.kept.keys().next().value!);
    return rows;
  }
}

/** The facts of a row, in the order of its fields (spelt out: a rest copy of every row of every case cost more). */
function compact(row: FullSlaRow): CaseSlaRow {
  const { stepId, limitId, kind, startedAt, deadline, completedAt, settled } = row;
  const alternative = row.alternative
    ? { kind: row.alternative.kind, deadline: row.alternative.deadline, settled: row.alternative.settled }
    : null;
  return row.opensAt !== undefined
    ? { stepId, limitId, kind, startedAt, deadline, opensAt: row.opensAt, completedAt, settled, alternative }
    : { stepId, limitId, kind, startedAt, deadline, completedAt, settled, alternative };
}

export interface CasesProjectionReference {
  catalog: Catalog;
  calendar: WorkingCalendar;
  /** Opens acts' personal fields and indexes IINs; absent where nothing is encrypted (tests of other capabilities). */
  personalData?: PersonalDataReading;
  /** Rows computed once for this projection and the compliance one where both run together. */
  slaRows?: SharedSlaRows;
}

/** GET /api/cases sorts newest first; each filter it takes (and the read scope's unit or IIN) leads an index. */
const NEWEST_FIRST = { submittedAt: -1, _id: -1 } as const;
export const CASE_LIST_INDEXES: readonly IndexSpec[] = [
  { key: { ...NEWEST_FIRST } },
  ...['unit', 'applicantIin', 'serviceId', 'status', 'assignee'].map((field) => ({
    key: { [field]: 1 as const, ...NEWEST_FIRST },
  })),
  { key: { unit: 1, status: 1, ...NEWEST_FIRST } },
  { key: { unit: 1, serviceId: 1, ...NEWEST_FIRST } },
];

export function casesProjection(reference: CasesProjectionReference): Projection {
  const { catalog, calendar, personalData, slaRows } = reference;
  const versionOf = (versionId: string): RegulationVersion => caseVersion(catalog, versionId);
  const applicantIndex = applicantIndexer(personalData);

  return {
    name: CASES_PROJECTION,
    // 3: rows of steps that never became due are kept as not-applicable; the state keeps each act's outcome.
    // 4: applicantIin is the IIN's blind index; personal data erasures scrub the case.
    // 5: erasures also scrub the actor of an act the applicant recorded as their token named them (scrubCaseState);
    // a retraining completion that named no document has no result, not the guessed retraining one.
    // 6: a limit in minutes kept by an act at exactly its deadline is met (the acts say "not more than N minutes").
    // 7: the 2015 academy admission filing and the technical secretary's acceptance are two steps, each with its own 30 minutes.
    // 8: the law review's corrections: rows waiting for the date their clock counts from (status waiting), alternative
    // readings with a start of their own, the 2015 test timed from its own start, one year for a case's annual windows.
    version: 8,
    eventTypes: [...EVENT_TYPE_NAMES, PERSONAL_DATA_ERASED],
    // The scrub's batch leaves no old page with the clear data in read.db or its WAL.
    purgesOn: [PERSONAL_DATA_ERASED],
    collections: [CASES],
    indexes: { [CASES]: CASE_LIST_INDEXES },
    prefetch: (recorded) =>
      recorded.streamId.startsWith(CASE_STREAM_PREFIX)
        ? [{ collection: CASES, id: recorded.streamId.slice(CASE_STREAM_PREFIX.length) }]
        : [],
    async apply(recorded: RecordedEvent, ctx: ProjectionContext) {
      const working = workingSet(ctx);
      if (recorded.type === PERSONAL_DATA_ERASED) {
        for (const caseId of (recorded.data as PersonalDataErasedData).cases) {
          // What its events so far in this batch make of the case is written first, as applying them one by one would have.
          const folded = working.get(caseId);
          if (folded) {
            write(ctx, caseId, folded);
            working.delete(caseId);
          }
          const doc = await ctx.get<CaseDocument>(CASES, caseId);
          if (doc) ctx.upsert(CASES, { ...scrubCaseState(doc), applicantIin: ERASED });
        }
        return;
      }
      // Case events live in case streams; the same types elsewhere are not case acts.
      if (!recorded.streamId.startsWith(CASE_STREAM_PREFIX)) return;
      const caseId = recorded.streamId.slice(CASE_STREAM_PREFIX.length);
      const event = toCaseEvent(
        personalData ? (await personalData.open([recorded], { kind: 'system', purpose: 'projection' }))[0]! : recorded,
      );
      let folded = working.get(caseId);
      if (!folded) {
        const existing = await ctx.get<CaseDocument>(CASES, caseId);
        folded = {
          state: existing ? stateOf(existing) : null,
          version: null,
          lastPosition: existing?.lastPosition ?? 0,
        };
      }
      const current = folded.state;
      if (current && event.revision <= current.revision) return;
      if (!current && event.revision !== 0)
        throw new Error(`case ${caseId} has no document, yet its event at revision ${event.revision} is not its first`);
      if (current && event.revision !== current.revision + 1)
        throw new Error(
          `case ${caseId} is at revision ${current.revision}; event revision ${event.revision} skips one`,
        );
      const version = folded.version ?? versionOf(current ? current.versionId : openingOf(event).data.versionId);
      // Only the fold happens per event; the SLA rows follow from the batch's last state (flush).
      folded.state = evolve(current, event, version);
      folded.version = version;
      folded.lastPosition = recorded.position;
      working.set(caseId, folded);
    },
    flush(ctx: ProjectionContext) {
      const working = workingSet(ctx);
      for (const [caseId, folded] of working) write(ctx, caseId, folded);
      working.clear();
    },
  };

  /** The case's document from its state after the batch's events, as the last of them alone would have written it. */
  function write(ctx: ProjectionContext, caseId: string, { state, version, lastPosition }: FoldedCase): void {
    if (!state || !version) return;
    let sla: readonly FullSlaRow[] = [];
    let slaProblem: string | null = null;
    try {
      sla = slaRows ? slaRows.of(state, version, calendar) : storedSlaRows(state, version, calendar);
    } catch (error) {
      // A date the calendar does not cover (a cohort date years ahead) must not stop every case's model.
      if (!(error instanceof RangeError)) throw error;
      slaProblem = error.message;
    }
    ctx.upsert(CASES, {
      _id: caseId,
      ...state,
      applicantIin: applicantIndex(state.applicant.iin),
      lastPosition,
      sla: sla.map(compact),
      slaProblem,
    } satisfies CaseDocument);
  }
}

/** A case as a batch has folded it so far: its state after the batch's events and the position of the last. */
interface FoldedCase {
  state: CaseState | null;
  version: RegulationVersion | null;
  lastPosition: number;
}

/** The cases a batch has folded, per batch (its context), written once each when the batch ends. */
const workingSets = new WeakMap<ProjectionContext, Map<string, FoldedCase>>();

function workingSet(ctx: ProjectionContext): Map<string, FoldedCase> {
  let working = workingSets.get(ctx);
  if (!working) {
    working = new Map();
    workingSets.set(ctx, working);
  }
  return working;
}
