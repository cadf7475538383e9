/**
 * The dashboards' and worklists' reads, all from the `compliance` projection: summaries from rollups,
 * overdue rows, the caller's worklist, and the cases behind a step. Framework-free.
 */
import type { ReferenceData } from '../regulations/domain/reference-data';
import { ModelAccess, RETRY_AFTER_SECONDS, type Staleness } from '../../projections/read-model-access';
import { ProblemError } from '../../shared/problem/problem';
import type { Filter } from '../read-store/read-store.port';
import { isRole, ROLES, type Principal } from '../identity/domain/principal';
import { actorFor } from '../cases/domain/case-rules';
import { channelLabel, requestedChannelOf } from '../cases/domain/channels';
import type { RequestedChannel } from '../cases/domain/decide';
import { citeClause } from '../regulations/domain/clause-citation';
import type { CaseState } from '../cases/domain/case-state';
import type { ReadModels } from '../../projections/read-models';
import {
  COMPLIANCE_PROJECTION,
  CASE_ROWS,
  OPEN_ROWS,
  OPEN_STEPS,
  OPEN_STEPS_BY_BLIND_INDEX,
  rollupCollection,
  type OpenRowDocument,
  type OpenStepDocument,
  type StoredComplianceRow,
} from './compliance.projection';
import { type GroupBy, type RollupDocument } from './domain/rollup';
import { summarise, type SummaryRow } from './domain/summary';
import {
  DEFAULT_WARNING_POLICY,
  thresholdsFor,
  urgencyOf,
  type Urgency,
  type WarningPolicy,
} from '../deadline-alerts/domain/warning-instants';
import type { LimitSpec } from '../deadlines/domain/limit';

export interface SummaryParams {
  groupBy: GroupBy;
  serviceId?: string;
  versionId?: string;
  trackId?: string;
  unit?: string;
  /** Months YYYY-MM, both inclusive: rows whose clock started in them. */
  fromMonth?: string;
  toMonth?: string;
  asOf: Date;
  after?: number;
}

/** The instants between which a row's clock started: `from` inclusive, `until` exclusive (local days made instants). */
export interface Period {
  from?: Date;
  until?: Date;
}

/** What every list the dashboard shows takes: the filters, the period, the instant it is read at, and the page. */
export interface ListParams {
  asOf: Date;
  unit?: string;
  serviceId?: string;
  period?: Period;
  /** Rows skipped before the page (offset paging: lists are sorted by deadline, which rows keep while they are open). */
  offset?: number;
  limit: number;
  after?: number;
}

export interface OverdueParams extends ListParams {
  role?: string;
}

/** Rows read per round trip when an export walks a whole list. */
export const EXPORT_CHUNK = 500;

/** A filter on `startedAt`: in the period, and (for lists read at asOf) started by then. */
function startedIn(period: Period | undefined, notAfter?: Date): Filter | undefined {
  const bound: Record<string, string> = {};
  if (period?.from) bound.$gte = period.from.toISOString();
  if (period?.until) bound.$lt = period.until.toISOString();
  if (notAfter) bound.$lte = notAfter.toISOString();
  return Object.keys(bound).length ? bound : undefined;
}

export interface StepCasesParams extends ListParams {
  serviceId: string;
  stepId: string;
}

type CaseRowsDoc = { _id: string; state: CaseState; rows: StoredComplianceRow[] };

export class ComplianceQueries {
  constructor(
    private readonly model: ModelAccess,
    /** With the deadline warnings' shares (DEADLINE_WARNINGS), which say when an open step is at risk. */
    private readonly reference: Pick<ReferenceData, 'catalog' | 'calendar'> & { warnings?: WarningPolicy },
    private readonly clock: () => Date = () => new Date(),
    /** The IIN as the open steps store it: the vault's blind index (the IIN itself where no vault is configured). */
    private readonly iinIndex: (iin: string) => string = (iin) => iin,
  ) {}

  /** The service's now: what a list is read as of when no asOf is given. */
  now(): Date {
    return this.clock();
  }

  async summary(params: SummaryParams): Promise<{
    staleness: Staleness;
    rows: (SummaryRow & {
      label?: { ru: string | null; kk: string | null; en?: string };
      requestedChannel?: RequestedChannel | null;
    })[];
  }> {
    const staleness = await this.model.staleness(params.after);
    const filter: Filter = {};
    if (params.serviceId) filter.serviceId = params.serviceId;
    if (params.versionId) filter.versionId = params.versionId;
    if (params.trackId) filter.trackId = params.trackId;
    if (params.unit) filter.unit = params.unit;
    if (params.fromMonth || params.toMonth)
      filter.month = {
        ...(params.fromMonth ? { $gte: params.fromMonth } : {}),
        ...(params.toMonth ? { $lte: params.toMonth } : {}),
      };
    const docs = await (await this.model.collection<RollupDocument>(rollupCollection(params.groupBy))).find(filter);
    return {
      staleness,
      rows: summarise(docs, params.asOf).map((row) => ({ ...row, ...this.labelOf(params.groupBy, row.key, params) })),
    };
  }

  async overdue(params: OverdueParams) {
    const staleness = await this.model.staleness(params.after);
    const filter = this.overdueFilter(params);
    const collection = await this.model.collection<OpenRowDocument>(OPEN_ROWS);
    const total = await collection.count(filter);
    const offset = params.offset ?? 0;
    const rows = await collection.find(filter, { sort: { deadline: 1, _id: 1 }, skip: offset, limit: params.limit });
    return {
      staleness,
      asOf: params.asOf.toISOString(),
      total,
      offset,
      limit: params.limit,
      rows: rows.map((r) => this.overdueRow(r, params.asOf)),
    };
  }

  /** Every overdue row, in the list's order, a chunk at a time (for exports: never the whole list in memory). */
  async *overdueAll(params: OverdueParams): AsyncGenerator<ReturnType<ComplianceQueries['overdueRow']>> {
    const filter = this.overdueFilter(params);
    const collection = await this.model.collection<OpenRowDocument>(OPEN_ROWS);
    for (let skip = 0; ; skip += EXPORT_CHUNK) {
      const rows = await collection.find(filter, { sort: { deadline: 1, _id: 1 }, skip, limit: EXPORT_CHUNK });
      for (const r of rows) yield this.overdueRow(r, params.asOf);
      if (rows.length < EXPORT_CHUNK) return;
    }
  }

  private overdueFilter(params: OverdueParams): Filter {
    const filter: Filter = { deadline: { $ne: null, $lte: params.asOf.toISOString() } };
    if (params.unit) filter.unit = params.unit;
    if (params.serviceId) filter.serviceId = params.serviceId;
    if (params.role) filter.roles = params.role;
    const started = startedIn(params.period);
    if (started) filter.startedAt = started;
    return filter;
  }

  private overdueRow(r: OpenRowDocument, asOf: Date) {
    return {
      ...this.openRowView(r),
      trackId: r.trackId,
      overdueMinutes: Math.floor((asOf.getTime() - Date.parse(r.deadline!)) / 60_000),
    };
  }

  /** The open steps the caller may take now, most urgent first. */
  async worklist(principal: Principal, limit: number, after?: number) {
    const staleness = await this.model.staleness(after);
    const roles = principal.roles as string[];
    const applicant = roles.includes('applicant') && principal.iin;
    const external = roles.filter((r) => r === 'e-government-portal' || r === 'state-body');
    // One query per way a caller can hold a step, each led by an indexed field (the caller's unit, their IIN); only
    // the portal and state bodies, bound to no unit, look through every unit's open steps.
    const queries: Filter[] = principal.unit !== undefined ? [{ unit: principal.unit, roles: { $in: roles } }] : [];
    if (external.length > 0) queries.push({ roles: { $in: external } });
    // Any token's IIN, a staff member's too: on their own case they may act only as its applicant (actorFor), so the
    // steps listed are the ones a command would take.
    const ownIndex = principal.iin ? this.iinIndex(principal.iin) : null;
    const model = await this.model.read();
    if (applicant && ownIndex !== null) {
      // Never by the IIN in clear, which MongoDB's slow-query log and profiler keep with the filter. A build from before
      // the blind index holds it so; it is served only while the rebuild to this version runs (a version's build
      // replaces an older one once it has caught up): an applicant waits for it instead of getting a list without
      // their steps.
      if (model.version !== null && model.version < OPEN_STEPS_BY_BLIND_INDEX) throw openStepsInClear(model.version);
      queries.push({ applicantIin: ownIndex, roles: 'applicant' });
    }
    const collection = model.collection<OpenStepDocument>(OPEN_STEPS);
    const found = new Map<string, OpenStepDocument>();
    for (const filter of queries) for (const doc of await collection.find(filter)) found.set(doc._id, doc);
    const docs = [...found.values()];
    const now = this.clock().getTime();
    const mine = docs.filter((d) => actorFor(principal, this.stepOf(d), partialState(d, principal, ownIndex)).ok);
    mine.sort((a, b) => (a.deadline ?? '\uffff').localeCompare(b.deadline ?? '\uffff') || a._id.localeCompare(b._id));
    const at = new Date(now);
    const urgencies = new Map(mine.map((d) => [d._id, this.stepUrgency(d, at)]));
    const count = (pick: (u: Urgency) => boolean) =>
      mine.filter((d) => {
        const u = urgencies.get(d._id);
        return u !== null && u !== undefined && pick(u);
      }).length;
    return {
      staleness,
      total: mine.length,
      counts: { dueToday: count((u) => u.dueToday), atRisk: count((u) => u.atRisk), overdue: count((u) => u.overdue) },
      items: mine.slice(0, limit).map((d) => ({
        caseId: d.caseId,
        receiptNumber: d.receiptNumber,
        serviceId: d.serviceId,
        versionId: d.versionId,
        trackId: d.trackId,
        unit: d.unit,
        stepId: d.stepId,
        label: d.label,
        optional: d.optional,
        roles: d.roles,
        clause: d.clause,
        citation: citeClause(d.clause),
        deadline: d.deadline,
        minutesLeft: d.deadline === null ? null : Math.floor((Date.parse(d.deadline) - now) / 60_000),
        overdue: d.deadline !== null && Date.parse(d.deadline) <= now,
        ...this.urgencyFields(urgencies.get(d._id) ?? null),
        limits: d.limits.map((l) => ({ ...l, citation: citeClause(l.clause) })),
      })),
    };
  }

  /**
   * The open rows past a warning share and not yet past their deadline (a head's unit, or any for auditors), the
   * nearest deadline first, with how much working time is left.
   */
  async atRisk(params: ListParams) {
    const staleness = await this.model.staleness(params.after);
    const offset = params.offset ?? 0;
    const rows: ReturnType<ComplianceQueries['atRiskRow']>[] = [];
    let total = 0;
    // Whether a row is at risk depends on asOf and its own limit, so the count is of the rows walked, a chunk at a time.
    for await (const row of this.atRiskAll(params)) {
      if (total >= offset && rows.length < params.limit) rows.push(row);
      total++;
    }
    return { staleness, asOf: params.asOf.toISOString(), total, offset, limit: params.limit, rows };
  }

  async *atRiskAll(params: ListParams): AsyncGenerator<ReturnType<ComplianceQueries['atRiskRow']>> {
    const filter: Filter = { deadline: { $ne: null, $gt: params.asOf.toISOString() } };
    if (params.unit) filter.unit = params.unit;
    if (params.serviceId) filter.serviceId = params.serviceId;
    filter.startedAt = startedIn(params.period, params.asOf)!;
    const collection = await this.model.collection<OpenRowDocument>(OPEN_ROWS);
    for (let skip = 0; ; skip += EXPORT_CHUNK) {
      const rows = await collection.find(filter, { sort: { deadline: 1, _id: 1 }, skip, limit: EXPORT_CHUNK });
      for (const r of rows) {
        // An open row's clock has started (a row waiting for its date is never an open row).
        const u = this.urgency(r.kind, r.startedAt!, r.deadline!, r.serviceId, r.versionId, params.asOf, r.opensAt);
        if (u.atRisk) yield this.atRiskRow(r, u);
      }
      if (rows.length < EXPORT_CHUNK) return;
    }
  }

  private atRiskRow(r: OpenRowDocument, u: Urgency) {
    return { ...this.openRowView(r), ...this.urgencyFields(u) };
  }

  private urgency(
    kind: LimitSpec['kind'],
    startedAt: string,
    deadline: string,
    serviceId: string,
    versionId: string,
    now: Date,
    opensAt?: string,
  ): Urgency {
    const thresholds = thresholdsFor(this.reference.warnings ?? DEFAULT_WARNING_POLICY, serviceId, versionId);
    return urgencyOf(
      kind,
      new Date(startedAt),
      new Date(deadline),
      thresholds,
      this.reference.calendar,
      now,
      opensAt === undefined ? undefined : new Date(opensAt),
    );
  }

  /** The most urgent of a step's running limits (documents built before kinds were kept have none). */
  private stepUrgency(d: OpenStepDocument, now: Date): Urgency | null {
    let worst: Urgency | null = null;
    for (const l of d.limits) {
      if (!l.deadline || !l.kind || !l.startedAt) continue;
      const u = this.urgency(l.kind, l.startedAt, l.deadline, d.serviceId, d.versionId, now, l.opensAt);
      if (
        !worst ||
        u.overdue > worst.overdue ||
        (u.overdue === worst.overdue && (u.threshold ?? 0) > (worst.threshold ?? 0))
      )
        worst = u;
    }
    return worst;
  }

  /** An open row as the overdue and at-risk lists show it: the case, the step and limit, who acts, the clause. */
  private openRowView(r: OpenRowDocument) {
    return {
      caseId: r.caseId,
      receiptNumber: r.receiptNumber,
      serviceId: r.serviceId,
      versionId: r.versionId,
      unit: r.unit,
      assignee: r.assignee,
      stepId: r.stepId,
      limitId: r.limitId,
      label: this.stepLabel(r.versionId, r.stepId),
      roles: r.roles,
      roleLabels: r.roles.map((role) => (isRole(role) ? ROLES[role] : null)),
      clause: r.clause,
      citation: citeClause(r.clause),
      startedAt: r.startedAt,
      deadline: r.deadline,
    };
  }

  private urgencyFields(u: Urgency | null) {
    return {
      dueToday: u?.dueToday ?? false,
      atRisk: u?.atRisk ?? false,
      threshold: u?.threshold ?? null,
      timeLeft: u && !u.overdue ? u.timeLeft : null,
    };
  }

  /** Cases with a row of this step (drill-down from a step to its cases), newest filing first. */
  async stepCases(params: StepCasesParams) {
    const staleness = await this.model.staleness(params.after);
    const filter = this.stepCasesFilter(params);
    const collection = await this.model.collection<CaseRowsDoc>(CASE_ROWS);
    const total = await collection.count(filter);
    const offset = params.offset ?? 0;
    const docs = await collection.find(filter, {
      sort: { 'state.submittedAt': -1, _id: 1 },
      skip: offset,
      limit: params.limit,
    });
    return {
      staleness,
      asOf: params.asOf.toISOString(),
      total,
      offset,
      limit: params.limit,
      cases: docs.map((d) => this.stepCase(d, params)),
    };
  }

  async *stepCasesAll(params: StepCasesParams): AsyncGenerator<ReturnType<ComplianceQueries['stepCase']>> {
    const filter = this.stepCasesFilter(params);
    const collection = await this.model.collection<CaseRowsDoc>(CASE_ROWS);
    for (let skip = 0; ; skip += EXPORT_CHUNK) {
      const docs = await collection.find(filter, {
        sort: { 'state.submittedAt': -1, _id: 1 },
        skip,
        limit: EXPORT_CHUNK,
      });
      for (const d of docs) yield this.stepCase(d, params);
      if (docs.length < EXPORT_CHUNK) return;
    }
  }

  private stepCasesFilter(params: StepCasesParams): Filter {
    const match: Filter = { stepId: params.stepId };
    match.startedAt = startedIn(params.period, params.asOf)!;
    // A case's rows count in its unit, which its state holds (the stored rows leave the grouping to it).
    return {
      'state.serviceId': params.serviceId,
      ...(params.unit ? { 'state.unit': params.unit } : {}),
      rows: { $elemMatch: match },
    };
  }

  private stepCase(d: CaseRowsDoc, params: StepCasesParams) {
    const at = params.asOf.getTime();
    // The rows the filter chose the case by: of the step, their clock started in the period and by asOf. A case found
    // by one such row listed its other rows of the step too (started the month before, or after), and the list's
    // counts then exceeded the summary's for the same period.
    const from = params.period?.from?.getTime() ?? -Infinity;
    const until = params.period?.until?.getTime() ?? Infinity;
    // A row waiting for the date its clock counts from started in no period (it is outside the summary's total too).
    const inPeriod = (startedAt: string | null) => {
      if (startedAt === null) return false;
      const started = Date.parse(startedAt);
      return started >= from && started < until && started <= at;
    };
    return {
      caseId: d._id,
      receiptNumber: d.state.receiptNumber,
      status: d.state.status,
      unit: d.state.unit,
      submittedAt: d.state.submittedAt,
      rows: d.rows
        .filter((r) => r.stepId === params.stepId && inPeriod(r.startedAt))
        // A row settled after asOf was still open (or overdue) then.
        .map((r) => ({
          limitId: r.limitId,
          startedAt: r.startedAt,
          deadline: r.deadline,
          completedAt: r.completedAt,
          status:
            r.settled && (r.completedAt === null || Date.parse(r.completedAt) <= at)
              ? r.settled
              : r.deadline !== null && Date.parse(r.deadline) <= at
                ? 'overdue'
                : 'open',
        })),
    };
  }

  private stepOf(d: OpenStepDocument) {
    const step = this.reference.catalog.byId.get(d.versionId)?.steps.find((s) => s.id === d.stepId);
    if (!step) throw new Error(`open step ${d._id} is not in the catalog`);
    return step;
  }

  private stepLabel(versionId: string, stepId: string) {
    const step = this.reference.catalog.byId.get(versionId)?.steps.find((s) => s.id === stepId);
    return step ? { ru: step.label.ru, kk: step.label.kk } : null;
  }

  private labelOf(
    groupBy: GroupBy,
    key: string,
    params: SummaryParams,
  ): { label?: { ru: string | null; kk: string | null; en?: string }; requestedChannel?: RequestedChannel | null } {
    const catalog = this.reference.catalog;
    // The key stays the catalog's (the law's) channel id; the command's word for it and a label go beside it.
    if (groupBy === 'channel') return { label: channelLabel(key), requestedChannel: requestedChannelOf(key) };
    if (groupBy === 'service') {
      const v = catalog.byService.get(key)?.at(-1);
      return v ? { label: { ru: v.title.ru, kk: v.title.kk } } : {};
    }
    if (groupBy === 'version') {
      const v = catalog.byId.get(key);
      return v ? { label: { ru: `${v.title.ru} (${v.act.number}, ${v.act.date})`, kk: v.title.kk } } : {};
    }
    if (groupBy === 'step') {
      const versions = params.versionId
        ? [catalog.byId.get(params.versionId)!]
        : params.serviceId
          ? (catalog.byService.get(params.serviceId) ?? [])
          : catalog.versions;
      const step = versions.flatMap((v) => v.steps).find((s) => s.id === key);
      return step ? { label: { ru: step.label.ru, kk: step.label.kk } } : {};
    }
    return {};
  }
}

/**
 * What actorFor reads of a case, from an open-step document. The document holds the applicant's blind index: the case
 * is the caller's own when it is the caller's (`ownIndex`), and then its applicant's IIN is the caller's.
 */
function partialState(
  d: OpenStepDocument,
  principal: Principal,
  ownIndex: string | null,
): Parameters<typeof actorFor>[2] {
  return {
    trackId: d.trackId,
    unit: d.unit,
    applicant: {
      iin: ownIndex !== null && d.applicantIin === ownIndex ? principal.iin! : d.applicantIin,
      fullName: '',
    },
    signatures: { [d.stepId]: d.signatures.map((s) => ({ ...s, occurredAt: '' })) },
    completed: {},
  };
}

/** An applicant's worklist while readers are on a build whose open steps hold IINs in clear (503, try again). */
function openStepsInClear(version: number): ProblemError {
  return new ProblemError(
    503,
    'read-model-not-ready',
    'The read model is being built',
    `the ${COMPLIANCE_PROJECTION} read model is being rebuilt: its build in use (version ${version}) finds an applicant's open steps only by their IIN in clear, which is never sent to the read store; retry once the rebuild is done`,
    undefined,
    { projection: COMPLIANCE_PROJECTION },
    { 'retry-after': String(RETRY_AFTER_SECONDS) },
  );
}

export interface OverdueCount {
  unit: string;
  serviceId: string;
  count: number;
}

/**
 * Open limits past their deadline at `asOf`, counted by unit and regulation (service), for /metrics: only the overdue
 * rows are read (the deadline index), and only the two fields counted.
 */
export async function overdueCounts(readModels: Pick<ReadModels, 'collection'>, asOf: Date): Promise<OverdueCount[]> {
  const rows = await (
    await readModels.collection<OpenRowDocument>(COMPLIANCE_PROJECTION, OPEN_ROWS)
  ).find({ deadline: { $ne: null, $lte: asOf.toISOString() } }, { projection: { unit: 1, serviceId: 1 } });
  const counts = new Map<string, OverdueCount>();
  for (const { unit, serviceId } of rows) {
    const key = JSON.stringify([unit, serviceId]);
    const entry = counts.get(key) ?? { unit, serviceId, count: 0 };
    entry.count += 1;
    counts.set(key, entry);
  }
  return [...counts.values()];
}
