/**
 * GET /api/compliance/summary, /overdue, /step-cases, /stream (Server-Sent Events) and GET /api/worklist.
 * Every answer carries its staleness stamp: the log position its model reflects and when that event was recorded.
 */
import { Controller, Get, Headers, Inject, Query, Req, Res, Sse, type MessageEvent } from '@nestjs/common';
import { ApiBearerAuth, ApiOkResponse, ApiTags } from '@nestjs/swagger';
import { exhaustMap, filter, finalize, from, map, type Observable } from 'rxjs';
import { STREAM_SLOTS, type ClientConnection, type StreamSlots } from '../../../shared/http/stream-slots';
import { CHANGE_FEEDS, type ChangeFeeds } from '../../../shared/http/change-feeds';
import { lastEventPosition, liveStream } from '../../../shared/http/live-stream';
import { ProblemError, type ProblemFieldError } from '../../../shared/problem/problem';
import { NoQueryDto } from '../../../shared/problem/validation';
import type { ReferenceData } from '../../regulations/domain/reference-data';
import { instantOfParameter } from '../../../shared/http/parameter-constraints';
import type { ModelAccess, Staleness } from '../../../projections/read-model-access';
import { CASE_STREAM_PREFIX } from '../../cases/domain/case-event';
import type { Principal } from '../../identity/domain/principal';
import { CurrentPrincipal, forbidden, RequireRoles, TokenExpiry } from '../../identity/http/identity.decorators';
import { ComplianceQueries, type Period } from '../compliance.queries';
import { dayNumber } from '../../calendar/domain/local-date';
import { complianceExports } from './compliance-exports';
import { exportRequest, exportTable, fromArray } from '../../../shared/http/table-export';
import {
  ComplianceFilterQueryDto,
  ComplianceListQueryDto,
  dayOfMonthOrDate,
  DEFAULT_LIST_LIMIT,
  OverdueQueryDto,
  StepCasesQueryDto,
  SummaryQueryDto,
  WorklistQueryDto,
} from './compliance.dtos';
import {
  AtRiskPageDto,
  ComplianceSummaryDto,
  OverduePageDto,
  StepCasesPageDto,
  WorklistDto,
} from './compliance-responses';

export const COMPLIANCE_QUERIES = Symbol('COMPLIANCE_QUERIES');
export const COMPLIANCE_MODEL = Symbol('COMPLIANCE_MODEL');
export const COMPLIANCE_REFERENCE = Symbol('COMPLIANCE_REFERENCE');
const COMPLIANCE_CHANGES = 'compliance-model';
interface ReplyLike {
  header(name: string, value: string): unknown;
}

@ApiTags('compliance')
@ApiBearerAuth()
@Controller('api')
export class ComplianceController {
  constructor(
    @Inject(COMPLIANCE_QUERIES) private readonly queries: ComplianceQueries,
    @Inject(COMPLIANCE_MODEL) private readonly model: ModelAccess,
    @Inject(COMPLIANCE_REFERENCE) private readonly reference: ReferenceData,
    @Inject(STREAM_SLOTS) private readonly streamSlots: StreamSlots,
    @Inject(CHANGE_FEEDS) private readonly changes: ChangeFeeds,
  ) {
    this.exports = complianceExports(reference.calendar.timeZone);
  }

  private readonly exports: ReturnType<typeof complianceExports>;

  @Get('compliance/summary')
  @ApiOkResponse({
    type: ComplianceSummaryDto,
    description: 'One row per group, with the filters applied (CSV or XLSX instead when asked for by format or Accept)',
  })
  @RequireRoles('auditor', 'head')
  async summary(
    @CurrentPrincipal() principal: Principal,
    @Query() query: SummaryQueryDto,
    @Headers('accept') accept: string | undefined,
    @Res({ passthrough: true }) reply: ReplyLike,
  ) {
    const groupBy = query.groupBy ?? 'service';
    const common = this.common(principal, query);
    const download = exportRequest(query, accept);
    const result = await this.queries.summary({ groupBy, ...common });
    reply.header('x-read-position', String(result.staleness.position));
    if (download)
      return exportTable(reply, download, `compliance-by-${groupBy}`, this.exports.summary, fromArray(result.rows));
    return {
      groupBy,
      // Rollups count by month: a date range is widened to the whole months it touches, and `from`/`to` say which.
      filters: {
        serviceId: common.serviceId ?? null,
        versionId: common.versionId ?? null,
        trackId: common.trackId ?? null,
        unit: common.unit ?? null,
        from: common.fromMonth ?? null,
        to: common.toMonth ?? null,
      },
      total: result.rows.length,
      asOf: common.asOf.toISOString(),
      durationUnits:
        'durations are in the unit of the limit: minutes for minute limits, working hours (hours on working days) for working-day limits, calendar days for windows, periods and programmes; durationUnit says which one durationP50/P90 use',
      rows: result.rows,
      staleness: result.staleness,
    };
  }

  /** Open steps past a deadline warning (DEADLINE_WARNINGS) and not yet overdue: a head's own unit, any for auditors. */
  @Get('compliance/at-risk')
  @ApiOkResponse({
    type: AtRiskPageDto,
    description: 'A page of the open steps at risk (CSV or XLSX instead when asked for by format or Accept)',
  })
  @RequireRoles('auditor', 'head')
  async atRisk(
    @CurrentPrincipal() principal: Principal,
    @Query() query: ComplianceListQueryDto,
    @Headers('accept') accept: string | undefined,
    @Res({ passthrough: true }) reply: ReplyLike,
  ) {
    const params = this.listParams(principal, query);
    const download = exportRequest(query, accept);
    if (download) return exportTable(reply, download, 'at-risk', this.exports.atRisk, this.queries.atRiskAll(params));
    const result = await this.queries.atRisk(params);
    reply.header('x-read-position', String(result.staleness.position));
    return result;
  }

  @Get('compliance/overdue')
  @ApiOkResponse({
    type: OverduePageDto,
    description:
      'A page of the open steps past their deadline (CSV or XLSX instead when asked for by format or Accept)',
  })
  @RequireRoles('auditor', 'head')
  async overdue(
    @CurrentPrincipal() principal: Principal,
    @Query() query: OverdueQueryDto,
    @Headers('accept') accept: string | undefined,
    @Res({ passthrough: true }) reply: ReplyLike,
  ) {
    const params = { ...this.listParams(principal, query), ...(query.role ? { role: query.role } : {}) };
    const download = exportRequest(query, accept);
    if (download) return exportTable(reply, download, 'overdue', this.exports.overdue, this.queries.overdueAll(params));
    const result = await this.queries.overdue(params);
    reply.header('x-read-position', String(result.staleness.position));
    return result;
  }

  @Get('compliance/step-cases')
  @ApiOkResponse({
    type: StepCasesPageDto,
    description: 'A page of the cases with a row of the step (CSV or XLSX instead when asked for by format or Accept)',
  })
  @RequireRoles('auditor', 'head')
  async stepCases(
    @CurrentPrincipal() principal: Principal,
    @Query() query: StepCasesQueryDto,
    @Headers('accept') accept: string | undefined,
    @Res({ passthrough: true }) reply: ReplyLike,
  ) {
    const errors: ProblemFieldError[] = [];
    const common = this.listParams(principal, query);
    if (!common.serviceId)
      errors.push({
        field: 'query.serviceId',
        problem: 'is required',
        allowed: [...this.reference.catalog.byService.keys()].join(' | '),
      });
    const steps = new Set(
      (common.serviceId ? (this.reference.catalog.byService.get(common.serviceId) ?? []) : []).flatMap((v) =>
        v.steps.map((s) => s.id),
      ),
    );
    if (!query.stepId || !steps.has(query.stepId))
      errors.push({
        field: 'query.stepId',
        problem: query.stepId ? `"${query.stepId}" is not a step of ${common.serviceId}` : 'is required',
        allowed: [...steps].join(' | ') || 'a step of the service',
      });
    if (errors.length) throw ProblemError.badRequest(errors);
    const download = exportRequest(query, accept);
    const params = { ...common, serviceId: common.serviceId!, stepId: query.stepId! };
    if (download)
      return exportTable(
        reply,
        download,
        `step-cases-${params.stepId}`,
        this.exports.stepCases,
        this.queries.stepCasesAll(params),
      );
    const result = await this.queries.stepCases(params);
    reply.header('x-read-position', String(result.staleness.position));
    return result;
  }

  @Get('worklist')
  @ApiOkResponse({ type: WorklistDto, description: 'The steps the caller may take now, most urgent first' })
  async worklist(
    @CurrentPrincipal() principal: Principal,
    @Query() query: WorklistQueryDto,
    @Res({ passthrough: true }) reply: ReplyLike,
  ) {
    if (principal.roles.every((r) => r === 'auditor' || r === 'admin'))
      throw forbidden('the worklist lists steps the caller may take; auditors and administrators take none', {
        callerRoles: principal.roles,
      });
    const result = await this.queries.worklist(principal, query.limit ?? DEFAULT_LIST_LIMIT, query.after);
    reply.header('x-read-position', String(result.staleness.position));
    return result;
  }

  /**
   * Server-Sent Events: `projected` each time the compliance model has taken in new case events (with its
   * staleness stamp). Other events (such as the access log of the very auditor watching) do not wake it.
   */
  @Sse('compliance/stream')
  @RequireRoles('auditor', 'head')
  stream(
    @CurrentPrincipal() principal: Principal,
    @TokenExpiry() closeAt: Date | null,
    @Query() _query: NoQueryDto,
    @Req() request: { raw: { socket: ClientConnection } },
    @Headers('last-event-id') lastEventId?: string,
  ): Observable<MessageEvent> {
    // Only the events appended since the last tick are looked at, so a client costs little however long the log.
    let scannedUpTo: number | null = null;
    // A reconnecting client has seen the model up to its last event's id: its first answer waits for a later position.
    const seen = lastEventPosition(lastEventId) ?? null;
    const closed = this.streamSlots.takeFor(principal.id, request.raw.socket);
    let pending = seen === null ? 0 : seen + 1;
    let first = seen === null;
    // Looked at only when the log's head or the model's position moved: one shared watch per process, not a poll per client.
    const changes = this.changes.watch(
      COMPLIANCE_CHANGES,
      async () => `${await this.model.headPosition()}/${await this.model.position()}`,
    );
    const events = changes.pipe(
      exhaustMap(() =>
        from(
          (async () => {
            const head = await this.model.headPosition();
            if (scannedUpTo === null) scannedUpTo = head;
            else if (head > scannedUpTo) {
              pending = Math.max(pending, await this.model.latestPosition(CASE_STREAM_PREFIX, scannedUpTo));
              scannedUpTo = head;
            }
            if (!first && pending === 0) return null;
            const staleness = await this.model.staleness();
            if (staleness.position < pending) return null;
            first = false;
            pending = 0;
            return staleness;
          })(),
        ),
      ),
      filter((s): s is Staleness => s !== null),
      map((staleness) => ({ type: 'projected', id: String(staleness.position), data: staleness })),
    );
    return liveStream(events, { closeAt, ...(seen !== null ? { lastId: String(seen) } : {}) }).pipe(finalize(closed));
  }

  /**
   * The filters shared by the dashboard's queries, checked against the catalog (the DTO checked their forms); heads
   * see their own unit only.
   */
  private common(principal: Principal, query: ComplianceFilterQueryDto & { versionId?: string; trackId?: string }) {
    const catalog = this.reference.catalog;
    const errors: ProblemFieldError[] = [];
    const out: {
      serviceId?: string;
      versionId?: string;
      trackId?: string;
      unit?: string;
      fromMonth?: string;
      toMonth?: string;
      period?: Period;
      asOf: Date;
      after?: number;
    } = { asOf: this.queries.now() };
    if (query.serviceId !== undefined) {
      if (!catalog.byService.has(query.serviceId))
        throw new ProblemError(404, 'unknown-service', 'Service not found', `unknown service "${query.serviceId}"`, [
          { field: 'query.serviceId', problem: 'no such service', allowed: [...catalog.byService.keys()].join(' | ') },
        ]);
      out.serviceId = query.serviceId;
    }
    if (query.versionId !== undefined) {
      const version = catalog.byId.get(query.versionId);
      if (!version)
        throw new ProblemError(
          404,
          'unknown-version',
          'Version not found',
          `unknown regulation version "${query.versionId}"`,
          [
            {
              field: 'query.versionId',
              problem: 'no such version',
              allowed: catalog.versions.map((v) => v.versionId).join(' | '),
            },
          ],
        );
      if (out.serviceId && version.serviceId !== out.serviceId)
        errors.push({
          field: 'query.versionId',
          problem: `${query.versionId} is not a version of ${out.serviceId}`,
          allowed: (catalog.byService.get(out.serviceId) ?? []).map((v) => v.versionId).join(' | '),
        });
      out.versionId = query.versionId;
    }
    if (query.trackId !== undefined) {
      const versions = out.versionId
        ? [catalog.byId.get(out.versionId)!]
        : out.serviceId
          ? catalog.byService.get(out.serviceId)!
          : catalog.versions;
      const tracks = new Set(versions.flatMap((v) => v.tracks.map((t) => t.id)));
      if (!tracks.has(query.trackId))
        errors.push({
          field: 'query.trackId',
          problem: `"${query.trackId}" is not a track here`,
          allowed: [...tracks].join(' | '),
        });
      out.trackId = query.trackId;
    }
    if (errors.length) throw ProblemError.badRequest(errors);
    if (query.unit !== undefined) out.unit = query.unit;
    const isUnitBound = !principal.roles.some((r) => r === 'auditor' || r === 'admin');
    if (isUnitBound) {
      if (out.unit !== undefined && out.unit !== principal.unit)
        throw forbidden(`acts for unit "${principal.unit}"; may not read unit "${out.unit}"`, {
          requiredUnit: out.unit,
          callerUnit: principal.unit,
        });
      out.unit = principal.unit;
    }
    // A month stands for its first day (from) or its last (to); both ends are local days in Asia/Almaty, inclusive.
    const fromDay = query.from === undefined ? null : dayOfMonthOrDate(query.from, 'from');
    const toDay = query.to === undefined ? null : dayOfMonthOrDate(query.to, 'to');
    if (fromDay) out.fromMonth = fromDay.slice(0, 7);
    if (toDay) out.toMonth = toDay.slice(0, 7);
    const zone = this.reference.calendar.timeZone;
    if (fromDay || toDay)
      out.period = {
        ...(fromDay ? { from: zone.toInstant(fromDay) } : {}),
        ...(toDay ? { until: zone.endOfDay(dayNumber(toDay)) } : {}),
      };
    if (query.asOf !== undefined) out.asOf = instantOfParameter(query.asOf, zone, 'end');
    if (query.after !== undefined) out.after = query.after;
    return out;
  }

  /** The filters, period and page of a list (overdue, at risk, a step's cases). */
  private listParams(principal: Principal, query: ComplianceListQueryDto) {
    const {
      fromMonth: _from,
      toMonth: _to,
      versionId: _version,
      trackId: _track,
      ...common
    } = this.common(principal, query);
    return { ...common, limit: query.limit ?? DEFAULT_LIST_LIMIT, offset: query.offset ?? 0 };
  }
}
