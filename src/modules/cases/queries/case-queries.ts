/**
 * The read side of cases: the case view, the list and the SLA rows from the `cases` projection.
 * Read-your-writes: a caller passes the position its command returned and the read waits (bounded) for
 * the projection to reach it. Every answer names the position its model reflected when it was read.
 */
import type { ReferenceData } from '../../regulations/domain/reference-data';
import type { ReadCollection, Filter } from '../../read-store/read-store.port';
import type { ReadModels } from '../../../projections/read-models';
import { ModelAccess, type ModelRead } from '../../../projections/read-model-access';
import type { Principal } from '../../identity/domain/principal';
import { caseVersion, type RegulationVersion } from '../../regulations/domain/catalog';
import type { TimeZone } from '../../calendar/domain/time-zone';
import { CASES, CASES_PROJECTION, type CaseDocument } from '../projections/cases.projection';
import { dayNumber } from '../../calendar/domain/local-date';
import type { CaseStatus } from '../domain/case-state';
import { decodeCursor, DEFAULT_LIMIT, encodeCursor } from './case-cursor';
import { readScope } from '../domain/read-scope';
import { LIST_FIELDS, listRow, mayRead, renderCaseView, slaView, withPosition, type ListedCase } from './case-views';
import type { CallerRateLimiter } from '../../../shared/http/caller-rate-limiter';
import { RenderedViews } from './rendered-views';
import { ERASED } from '../../personal-data/domain/personal-fields';

export const CASE_QUERIES = Symbol('CASE_QUERIES');

export interface Positioned<T> {
  body: T;
  position: number;
}

/** The parameters of a case read, as the edge validated them (form only; what needs the catalog is checked here). */
export interface CaseReadParams {
  after?: number;
}

export interface CaseSlaParams extends CaseReadParams {
  /** An instant with an offset, or a date (the end of that day in the calendar's zone). */
  asOf?: string;
}

export interface CaseListParams extends CaseReadParams {
  serviceId?: string;
  status?: CaseStatus;
  unit?: string;
  assignee?: string;
  applicantIin?: string;
  /** An instant with an offset, or a date: from its start (from) or to its end (to) in the calendar's zone; inclusive. */
  submittedFrom?: string;
  submittedTo?: string;
  limit?: number;
  /** A cursor this endpoint issued (the edge checked that it decodes). */
  cursor?: string;
}

/** Why a read is refused: the edge turns each into its problem (case-problems.ts). */
export type QueryRefusal =
  | { kind: 'invalid'; errors: { field: string; problem: string; allowed?: string }[] }
  | { kind: 'unknown-case'; caseId: string; position: number | null }
  | { kind: 'forbidden'; detail: string; extensions: Record<string, unknown> }
  | { kind: 'sla-not-computable'; detail: string };

export type QueryOutcome<T> = ({ ok: true } & Positioned<T>) | { ok: false; refusal: QueryRefusal };

const refused = (refusal: QueryRefusal): { ok: false; refusal: QueryRefusal } => ({ ok: false, refusal });

export interface CaseQueryOptions {
  /** Memory for case views kept rendered (JSON text); 0 renders every read. */
  viewCacheBytes?: number;
  clock?: () => Date;
  /** Bounds list lookups by applicant IIN per caller (an IIN filter answers whether a person has a case). */
  iinLookups?: CallerRateLimiter;
  /** The keyed blind index the cases projection stores for the applicant's IIN; identity where none is configured. */
  iinIndex?: (iin: string) => string;
  /**
   * Records a person's read of the personal data the cases model keeps in clear (the vault's `recordRead`), before it is
   * answered; unrecorded where none is configured.
   */
  recordRead?: (principal: Principal, cases: string[], purpose: 'case-view' | 'case-list') => Promise<void>;
}

/**
 * Cases whose applicant's personal data the caller reads as someone else's: not their own, not erased. Erased is told by
 * the IIN, which an erasure replaces and a filing can never be (it must be a valid IIN); a name is whatever the filer
 * typed, and a case filed under the name "erased" was read unrecorded.
 */
function othersPersonalData(principal: Principal, docs: readonly Pick<CaseDocument, '_id' | 'applicant'>[]): string[] {
  const own = readScope(principal).iin;
  return docs.filter((d) => d.applicant.iin !== ERASED && (own === null || d.applicant.iin !== own)).map((d) => d._id);
}

/** The first instant of the next UTC day: the disclosure records are kept per UTC day. */
const nextUtcDay = (now: number): number => (Math.floor(now / DAY_MS) + 1) * DAY_MS;
const DAY_MS = 86_400_000;

/** The caller as far as their view of a case can differ from another caller's. */
const perspective = (principal: Principal): string =>
  `${principal.id}\n${principal.roles.join(',')}\n${principal.unit}\n${principal.iin ?? ''}`;

export class CaseQueries {
  /** What the list's parameters are checked against. */
  readonly serviceIds: readonly string[];
  readonly timeZone: TimeZone;
  /** Views kept rendered; null when the budget is 0. */
  readonly renderedViews: RenderedViews | null;
  private readonly model: ModelAccess;
  private readonly clock: () => Date;
  private readonly iinLookups: CallerRateLimiter | null;
  private readonly iinIndex: (iin: string) => string;
  private readonly recordRead: NonNullable<CaseQueryOptions['recordRead']> | null;

  constructor(
    readModels: ReadModels,
    private readonly reference: Pick<ReferenceData, 'catalog' | 'calendar'>,
    readWaitMs: number,
    options: CaseQueryOptions = {},
  ) {
    this.model = new ModelAccess(readModels, CASES_PROJECTION, readWaitMs);
    this.serviceIds = [...reference.catalog.byService.keys()];
    this.timeZone = reference.calendar.timeZone;
    this.clock = options.clock ?? (() => new Date());
    this.iinIndex = options.iinIndex ?? ((iin) => iin);
    this.recordRead = options.recordRead ?? null;
    this.iinLookups = options.iinLookups ?? null;
    this.renderedViews = (options.viewCacheBytes ?? 0) > 0 ? new RenderedViews(options.viewCacheBytes!) : null;
  }

  /**
   * The case view as JSON text, UTF-8. Without a promise when no position is awaited and the view kept for this
   * caller stands (nothing written to the store since it was confirmed): every value is then in memory, and the
   * busiest read takes no turn of the microtask queue. Throws what it rejects with otherwise.
   */
  getCase(
    principal: Principal,
    caseId: string,
    params: CaseReadParams,
  ): QueryOutcome<Buffer> | Promise<QueryOutcome<Buffer>> {
    const read = this.model.readNow(params.after);
    if (read instanceof Promise) return read.then((model) => this.caseFrom(model, principal, caseId, params));
    return this.caseFrom(read, principal, caseId, params);
  }

  private caseFrom(
    { position, collection, mark }: ModelRead,
    principal: Principal,
    caseId: string,
    params: CaseReadParams,
  ): QueryOutcome<Buffer> | Promise<QueryOutcome<Buffer>> {
    const cases = collection<CaseDocument>(CASES);
    const now = this.clock();
    const key = `${caseId}\n${perspective(principal)}`;
    // Nothing written to the store since the kept view was last confirmed: the document cannot have changed.
    const unchanged = this.renderedViews?.unchangedSince(key, mark, now.getTime(), position, withPosition);
    if (unchanged) return { ok: true, body: unchanged, position };
    return this.caseRead(cases, principal, caseId, params, { position, mark, now, key });
  }

  private async caseRead(
    cases: ReadCollection<CaseDocument>,
    principal: Principal,
    caseId: string,
    params: CaseReadParams,
    { position, mark, now, key }: { position: number; mark: string | null; now: Date; key: string },
  ): Promise<QueryOutcome<Buffer>> {
    // The version first: a document written after it is only rendered again, never served stale.
    const docVersion = this.renderedViews ? await cases.versionOf(caseId) : null;
    if (docVersion !== null) {
      const kept = this.renderedViews!.answer(key, docVersion, mark, now.getTime(), position, withPosition);
      if (kept !== null) return { ok: true, body: kept, position };
    }
    const read = await this.checkedRead(principal, cases, caseId, params.after, position);
    if (!read.ok) return read;
    const { doc, version } = read;
    // Recorded before the view is answered; a kept view serves no longer than the day its read was recorded.
    const recorded = this.recordRead ? othersPersonalData(principal, [doc]) : [];
    if (recorded.length > 0) await this.recordRead!(principal, recorded, 'case-view');
    const rendered = renderCaseView(doc, version, principal, now);
    const json = Buffer.from(rendered.json);
    if (docVersion === null) return { ok: true, body: withPosition(json, position), position };
    const validUntil =
      recorded.length > 0 ? Math.min(rendered.validUntil, nextUtcDay(now.getTime())) : rendered.validUntil;
    return {
      ok: true,
      body: this.renderedViews!.put(key, docVersion, mark, validUntil, json, position, withPosition),
      position,
    };
  }

  async caseSla(
    principal: Principal,
    caseId: string,
    params: CaseSlaParams,
  ): Promise<QueryOutcome<ReturnType<typeof slaView>>> {
    const read = await this.readOne(principal, caseId, params.after);
    if (!read.ok) return read;
    const { doc, version, position } = read;
    const asOf = params.asOf === undefined ? this.clock() : this.instantOf(params.asOf, 'end');
    if (asOf.getTime() < Date.parse(doc.submittedAt)) {
      return refused({
        kind: 'invalid',
        errors: [
          {
            field: 'query.asOf',
            problem: `${asOf.toISOString()} is before the case was submitted (${doc.submittedAt})`,
            allowed: `an instant at or after ${doc.submittedAt}`,
          },
        ],
      });
    }
    try {
      return { ok: true, body: slaView(doc, version, this.reference.calendar, asOf, position), position };
    } catch (error) {
      if (error instanceof RangeError) return refused({ kind: 'sla-not-computable', detail: error.message });
      throw error;
    }
  }

  /**
   * An instant with an offset as it is; a date (YYYY-MM-DD) as the start or the inclusive end of that day in the
   * calendar's zone (Asia/Almaty): the end of a day is the instant the next one starts, less one millisecond.
   */
  private instantOf(value: string, end: 'start' | 'end'): Date {
    if (!/^\d{4}-\d{2}-\d{2}$/.test(value)) return new Date(value);
    return end === 'start'
      ? this.timeZone.toInstant(value)
      : new Date(this.timeZone.endOfDay(dayNumber(value)).getTime() - 1);
  }

  async listCases(
    principal: Principal,
    given: CaseListParams,
  ): Promise<
    QueryOutcome<{ cases: ReturnType<typeof listRow>[]; limit: number; nextCursor: string | null; position: number }>
  > {
    // Scope first: a caller learns nothing, not even whether the model is ready, from a list they may not read.
    const scope = scopeFilter(principal, given, this.iinIndex);
    if (!scope.ok) return scope;
    const and: Filter[] = scope.filters;
    const checked = this.listParams(given);
    if (!checked.ok) return checked;
    const params = checked.params;
    const position = await this.readPosition(params.after);
    const cases = await this.casesCollection();
    if (params.serviceId !== undefined) and.push({ serviceId: params.serviceId });
    if (params.status !== undefined) and.push({ status: params.status });
    if (params.unit !== undefined) and.push({ unit: params.unit });
    if (params.assignee !== undefined) and.push({ assignee: params.assignee });
    if (params.applicantIin !== undefined) {
      this.iinLookups?.take(principal.id, 'applicantIin lookups');
      and.push({ applicantIin: this.iinIndex(params.applicantIin) });
    }
    if (params.submittedFrom) and.push({ submittedAt: { $gte: params.submittedFrom.toISOString() } });
    if (params.submittedTo) and.push({ submittedAt: { $lte: params.submittedTo.toISOString() } });
    if (params.cursor) {
      const { submittedAt, caseId } = params.cursor;
      and.push({ $or: [{ submittedAt: { $lt: submittedAt } }, { submittedAt, _id: { $lt: caseId } }] });
    }
    const projection = Object.fromEntries(LIST_FIELDS.map((f) => [f, 1 as const]));
    const docs = (await cases.find(and.length ? { $and: and } : {}, {
      sort: { submittedAt: -1, _id: -1 },
      limit: params.limit + 1,
      projection,
    })) as unknown as ListedCase[];
    const page = docs.slice(0, params.limit);
    if (this.recordRead) {
      const recorded = othersPersonalData(principal, page);
      if (recorded.length > 0) await this.recordRead(principal, recorded, 'case-list');
    }
    const last = page[page.length - 1];
    const nextCursor =
      docs.length > params.limit && last ? encodeCursor({ submittedAt: last.submittedAt, caseId: last._id }) : null;
    return {
      ok: true,
      body: { cases: page.map((doc) => listRow(doc, principal)), limit: params.limit, nextCursor, position },
      position,
    };
  }

  /** What of the list's parameters needs the catalog or the calendar's zone: a known service, the dates' instants. */
  private listParams(given: CaseListParams):
    | {
        ok: true;
        params: Omit<CaseListParams, 'submittedFrom' | 'submittedTo' | 'cursor' | 'limit'> & {
          limit: number;
          submittedFrom?: Date;
          submittedTo?: Date;
          cursor?: { submittedAt: string; caseId: string };
        };
      }
    | { ok: false; refusal: QueryRefusal } {
    const { submittedFrom, submittedTo, cursor, limit, ...rest } = given;
    if (rest.serviceId !== undefined && !this.serviceIds.includes(rest.serviceId)) {
      return refused({
        kind: 'invalid',
        errors: [
          {
            field: 'query.serviceId',
            problem: `unknown service "${rest.serviceId.slice(0, 100)}"`,
            allowed: this.serviceIds.join(', '),
          },
        ],
      });
    }
    const from = submittedFrom === undefined ? undefined : this.instantOf(submittedFrom, 'start');
    const to = submittedTo === undefined ? undefined : this.instantOf(submittedTo, 'end');
    if (from && to && from.getTime() > to.getTime()) {
      return refused({
        kind: 'invalid',
        errors: [
          {
            field: 'query.submittedTo',
            problem: `${to.toISOString()} is before submittedFrom ${from.toISOString()}`,
            allowed: 'an instant or date not before submittedFrom',
          },
        ],
      });
    }
    const decoded = cursor === undefined ? null : decodeCursor(cursor);
    return {
      ok: true,
      params: {
        ...rest,
        limit: limit ?? DEFAULT_LIMIT,
        ...(from ? { submittedFrom: from } : {}),
        ...(to ? { submittedTo: to } : {}),
        ...(decoded ? { cursor: decoded } : {}),
      },
    };
  }

  private async readOne(
    principal: Principal,
    caseId: string,
    after: number | undefined,
  ): Promise<
    { ok: true; doc: CaseDocument; version: RegulationVersion; position: number } | { ok: false; refusal: QueryRefusal }
  > {
    // The position first: the document read after it reflects at least that position.
    const { position, collection } = await this.model.read(after);
    const read = await this.checkedRead(principal, collection<CaseDocument>(CASES), caseId, after, position);
    return read.ok ? { ...read, position } : read;
  }

  private async checkedRead(
    principal: Principal,
    cases: ReadCollection<CaseDocument>,
    caseId: string,
    after: number | undefined,
    position: number,
  ): Promise<{ ok: true; doc: CaseDocument; version: RegulationVersion } | { ok: false; refusal: QueryRefusal }> {
    const doc = await cases.get(caseId);
    if (!doc) return refused({ kind: 'unknown-case', caseId, position: after === undefined ? null : position });
    const version = caseVersion(this.reference.catalog, doc.versionId);
    if (!mayRead(principal, doc, version))
      return refused({
        kind: 'forbidden',
        detail: readRefusal(principal),
        extensions: { callerRoles: principal.roles, callerUnit: principal.unit },
      });
    return { ok: true, doc, version };
  }

  private readPosition(after: number | undefined): Promise<number> {
    return this.model.position(after);
  }

  private casesCollection(): Promise<ReadCollection<CaseDocument>> {
    return this.model.collection<CaseDocument>(CASES);
  }
}

function readRefusal(principal: Principal): string {
  const scope = readScope(principal);
  const may = [
    scope.unit !== null ? `the cases of unit "${scope.unit}"` : null,
    scope.iin !== null ? 'the cases filed with their own IIN' : null,
  ].filter(Boolean);
  if (may.length > 0) return `the caller reads only ${may.join(' and ')}`;
  return 'the e-government portal and other state bodies read only a case on which they recorded an act or may take an open step';
}

/**
 * The list's read scope as filters (ANDed with the caller's own), or 403 when a filter asks for what the caller
 * may not read: another unit, another person's IIN, or any list at all for the portal or a state body.
 */
function scopeFilter(
  principal: Principal,
  params: CaseListParams,
  iinIndex: (iin: string) => string,
): { ok: true; filters: Filter[] } | { ok: false; refusal: QueryRefusal } {
  const scope = readScope(principal);
  if (scope.all) return { ok: true, filters: [] };
  if (scope.unit === null && scope.iin === null) {
    return refused({
      kind: 'forbidden',
      detail:
        'the e-government portal and other state bodies list no cases; they find the steps they may take in GET /api/worklist',
      extensions: { callerRoles: principal.roles },
    });
  }
  if (params.applicantIin !== undefined && params.applicantIin !== scope.iin && scope.unit === null) {
    return refused({
      kind: 'forbidden',
      detail: 'an applicant may filter only by their own IIN (query.applicantIin)',
      extensions: { callerRoles: principal.roles, field: 'query.applicantIin' },
    });
  }
  if (params.unit !== undefined && params.unit !== scope.unit && (scope.iin === null || scope.unit !== null)) {
    return refused({
      kind: 'forbidden',
      detail: `acts for unit "${principal.unit}"; may not list the cases of unit "${params.unit}" (query.unit)`,
      extensions: { requiredUnit: params.unit, callerUnit: principal.unit, field: 'query.unit' },
    });
  }
  const or: Filter[] = [];
  if (scope.unit !== null) or.push({ unit: scope.unit });
  if (scope.iin !== null) or.push({ applicantIin: iinIndex(scope.iin) });
  return { ok: true, filters: [or.length === 1 ? or[0]! : { $or: or }] };
}
