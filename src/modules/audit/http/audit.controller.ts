/**
 * Auditors' reads of one case, from the event log itself: history with provenance, state as of an
 * instant or revision, deadline explanations, chain verification and the evidence pack. Nothing here writes.
 */
import { Controller, Get, Header, Headers, Inject, Param, Query, Res } from '@nestjs/common';
import { ApiBearerAuth, ApiOkResponse, ApiTags } from '@nestjs/swagger';
import { ProblemError } from '../../../shared/problem/problem';
import { NoQueryDto } from '../../../shared/problem/validation';
import { EVENT_TYPES, isEventType } from '../../../events/event-types';
import { isSystemEventType, SYSTEM_EVENT_TYPES } from '../../../events/system-event-types';
import { ExplainQueryDto, HistoryQueryDto, StateQueryDto } from './audit.dtos';
import { assertUnit, CurrentPrincipal, Public, RequireRoles } from '../../identity/http/identity.decorators';
import { isRole, ROLES, type Principal } from '../../identity/domain/principal';
import { CasePathDto } from '../../cases/http/case-query.dtos';
import { AuditService, type CaseHistory } from '../audit.service';
import { citeClause, type ClauseCitation } from '../../regulations/domain/clause-citation';
import type { ClauseRef } from '../../deadlines/domain/limit';
import { READ_STORE, type ReadStore } from '../../read-store/read-store.port';
import { deliveriesOfEvents } from '../../deadline-alerts/webhooks/webhook-dispatcher';
import { exportRequest, exportTable, fromArray } from '../../../shared/http/table-export';
import { instantOfParameter } from '../../../shared/http/parameter-constraints';
import { historyColumns } from './history-export';
import {
  CaseExplanationDto,
  CaseHistoryDto,
  CaseStateDto,
  CaseVerificationDto,
  EvidencePublicKeyDto,
} from './audit-responses';

export const AUDIT_SERVICE = Symbol('AUDIT_SERVICE');

/** What an auditor's answer reflects: the event log itself, up to the case's last event (no read model in between). */
/** The clause an act cites, as people read it; null for an event that cites none. */
function citationOf(metadata: Record<string, unknown>): ClauseCitation | null {
  const clause = (metadata.regulation as { clause?: ClauseRef } | undefined)?.clause;
  return clause ? citeClause(clause) : null;
}

/** The label of the role the act was done in, for people; null for an event without a regulation role. */
function roleLabelOf(metadata: Record<string, unknown>): { ru: string; kk: string } | null {
  const role = (metadata.actor as { role?: unknown } | undefined)?.role;
  return typeof role === 'string' && isRole(role) ? ROLES[role] : null;
}

function readFrom(history: CaseHistory) {
  const last = history.recorded[history.recorded.length - 1]!;
  return { staleness: { source: 'event-log', position: last.position, at: last.recordedAt.toISOString() } };
}

interface ReplyLike {
  header(name: string, value: string): unknown;
}

@ApiTags('audit')
@ApiBearerAuth()
@Controller('api')
export class AuditController {
  constructor(
    @Inject(AUDIT_SERVICE) private readonly audit: AuditService,
    @Inject(READ_STORE) private readonly readStore: ReadStore,
  ) {}

  @Get('cases/:caseId/history')
  @ApiOkResponse({
    type: CaseHistoryDto,
    description: 'The events as recorded (CSV or XLSX instead when asked for by format or Accept)',
  })
  @RequireRoles('auditor', 'head')
  async history(
    @CurrentPrincipal() principal: Principal,
    @Param() { caseId }: CasePathDto,
    @Query() query: HistoryQueryDto,
    @Headers('accept') accept: string | undefined,
    @Res({ passthrough: true }) reply: ReplyLike,
  ) {
    const types = query.type ? query.type.split(',').map((t) => t.trim()) : null;
    const axis = query.time ?? 'occurred';
    const zone = this.audit.timeZone;
    const from = query.from === undefined ? undefined : instantOfParameter(query.from, zone, 'start');
    const to = query.to === undefined ? undefined : instantOfParameter(query.to, zone, 'end');
    // A date against an instant is compared here, in the calendar's zone; same forms were compared by the DTO.
    if (from && to && to < from)
      throw ProblemError.badRequest([
        {
          field: 'query.to',
          problem: `${query.to} is before from (${query.from})`,
          allowed: 'a date or an instant at or after from',
        },
      ]);
    // format and lang were checked by the DTO; the Accept header is read here.
    const download = exportRequest({ format: query.format, lang: query.lang }, accept);
    const history = await this.caseFor(principal, caseId, 'history');
    // A warning or breach occurred when its threshold was reached (dueAt) and was recorded when the system knew.
    const at = (e: { metadata: Record<string, unknown>; data: unknown }) =>
      new Date(
        String(
          axis === 'occurred'
            ? (e.metadata.occurredAt ?? (e.data as { dueAt?: unknown }).dueAt)
            : e.metadata.recordedAt,
        ),
      ).getTime();
    // The acts (personal fields as opened for this reader; the stored ciphertext is what /verify and evidence packs
    // carry) and what the system recorded about their limits, in the log's order.
    const all = [...history.opened, ...history.deadlines].sort((a, b) => a.position - b.position);
    const events = all.filter(
      (e) => (!types || types.includes(e.type)) && (!from || at(e) >= from.getTime()) && (!to || at(e) <= to.getTime()),
    );
    // Whom the system told of each event: its webhook deliveries, from the outbox's records.
    const told = await deliveriesOfEvents(
      this.readStore,
      events.map((e) => e.id),
    );
    const labelled = events.map((e) => ({ ...e, label: this.labelOf(e.type), citation: citationOf(e.metadata) }));
    if (download)
      return exportTable(
        reply,
        download,
        `history-${history.caseId}`,
        historyColumns(this.audit.timeZone),
        fromArray(labelled),
      );
    return {
      caseId: history.caseId,
      ...readFrom(history),
      regulationVersionId: history.version.versionId,
      versionId: history.version.versionId,
      total: all.length,
      returned: events.length,
      events: events.map((e) => ({
        streamId: e.streamId,
        revision: e.revision,
        position: e.position,
        id: e.id,
        type: e.type,
        label: this.labelOf(e.type),
        citation: citationOf(e.metadata),
        actorRoleLabel: roleLabelOf(e.metadata),
        data: e.data,
        metadata: e.metadata,
        storedAt: e.recordedAt.toISOString(),
        told: told.get(e.id) ?? [],
      })),
    };
  }

  private labelOf(type: string): { ru: string; kk: string } | null {
    return isEventType(type)
      ? { ru: EVENT_TYPES[type].ru, kk: EVENT_TYPES[type].kk }
      : isSystemEventType(type)
        ? { ru: SYSTEM_EVENT_TYPES[type].ru, kk: SYSTEM_EVENT_TYPES[type].kk }
        : null;
  }

  @Get('cases/:caseId/state')
  @ApiOkResponse({ type: CaseStateDto, description: 'The state replayed' })
  @RequireRoles('auditor', 'head')
  async state(
    @CurrentPrincipal() principal: Principal,
    @Param() { caseId }: CasePathDto,
    @Query() query: StateQueryDto,
  ) {
    if (query.asOf !== undefined && query.atRevision !== undefined)
      throw ProblemError.badRequest([
        { field: 'query.atRevision', problem: 'cannot be combined with asOf', allowed: 'either asOf or atRevision' },
      ]);
    const axis = query.time ?? 'occurred';
    const asOf = query.asOf === undefined ? undefined : instantOfParameter(query.asOf, this.audit.timeZone, 'end');
    const atRevision = query.atRevision;
    const history = await this.caseFor(principal, caseId, 'replay');
    const cut = atRevision !== undefined ? { atRevision } : { asOf: asOf ?? new Date(), axis };
    const replay = this.audit.replay(history, cut);
    if (!replay.ok)
      throw new ProblemError(
        replay.field === 'query.atRevision' ? 404 : 400,
        replay.field === 'query.atRevision' ? 'revision-not-found' : 'bad-request',
        replay.field === 'query.atRevision' ? 'Revision not found' : 'The request is not valid',
        replay.problem,
        [{ field: replay.field, problem: replay.problem, allowed: replay.allowed }],
      );
    return {
      caseId: history.caseId,
      ...readFrom(history),
      replayedFrom: 'event-log',
      asOf: replay.asOf.toISOString(),
      ...('atRevision' in cut ? { atRevision: cut.atRevision } : { time: axis }),
      revision: replay.state.revision,
      events: replay.events.length,
      state: replay.state,
      sla: replay.rows.map(({ result: _r, alternativeResult: _a, ...row }) => ({
        ...row,
        citation: citeClause(row.clause),
      })),
    };
  }

  @Get('cases/:caseId/sla/explain')
  @ApiOkResponse({ type: CaseExplanationDto, description: 'How each deadline was computed' })
  @RequireRoles('auditor', 'head')
  async explain(
    @CurrentPrincipal() principal: Principal,
    @Param() { caseId }: CasePathDto,
    @Query() query: ExplainQueryDto,
  ) {
    const asOfParam = query.asOf;
    const asOf = asOfParam === undefined ? new Date() : instantOfParameter(asOfParam, this.audit.timeZone, 'end');
    const history = await this.caseFor(principal, caseId, 'explanation');
    if (asOf.getTime() < new Date(history.submittedAt).getTime()) {
      throw ProblemError.badRequest([
        {
          field: 'query.asOf',
          problem: `${asOfParam} is before the case was submitted (${history.submittedAt})`,
          allowed: 'an instant at or after the submission',
        },
      ]);
    }
    return {
      caseId: history.caseId,
      ...readFrom(history),
      regulationVersionId: history.version.versionId,
      versionId: history.version.versionId,
      trackId: history.state.trackId,
      asOf: asOf.toISOString(),
      deadlines: this.audit.explain(history, asOf),
    };
  }

  @Get('cases/:caseId/verify')
  @ApiOkResponse({ type: CaseVerificationDto, description: 'The chain checked' })
  @RequireRoles('auditor', 'head')
  async verify(
    @CurrentPrincipal() principal: Principal,
    @Param() { caseId }: CasePathDto,
    @Query() _query: NoQueryDto,
  ) {
    const history = await this.caseFor(principal, caseId, null);
    return { caseId: history.caseId, ...readFrom(history), ...this.audit.verify(history) };
  }

  @Get('cases/:caseId/evidence')
  @RequireRoles('auditor', 'head')
  @Header('content-type', 'text/html; charset=utf-8')
  // The pack is one self-contained page: its own inline style, data in a JSON block, no script at all.
  @Header(
    'content-security-policy',
    "default-src 'none'; style-src 'unsafe-inline'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
  )
  async evidence(
    @CurrentPrincipal() principal: Principal,
    @Param() { caseId }: CasePathDto,
    @Query() _query: NoQueryDto,
    @Headers('authorization') authorization: string | undefined,
    @Res({ passthrough: true }) reply: ReplyLike,
  ) {
    const history = await this.caseFor(principal, caseId, 'evidence');
    reply.header('content-disposition', `attachment; filename="evidence-${history.caseId}.html"`);
    reply.header('x-evidence-key-fingerprint', this.audit.keyFingerprint);
    // The caller's own token: a worker that keeps the log's tree elsewhere gives the proofs to whom this API would.
    return this.audit.evidence(history, principal, authorization ? { authorization } : {});
  }

  @Get('evidence/public-key')
  @ApiOkResponse({ type: EvidencePublicKeyDto, description: 'The public key' })
  @Public()
  evidenceKey() {
    return { algorithm: 'Ed25519', publicKey: this.audit.publicKeyPem, keyFingerprint: this.audit.keyFingerprint };
  }

  /** The case for this reader; `purpose` null: only the stored form is used (verification), nothing personal is opened for them. */
  private async caseFor(
    principal: Principal,
    caseId: string,
    purpose: 'history' | 'evidence' | 'replay' | 'explanation' | null,
  ): Promise<CaseHistory> {
    // The unit is checked before anything is opened, for verification too.
    const history = await this.audit.load(caseId, { principal, purpose, admit: (unit) => assertUnit(principal, unit) });
    if (!history)
      throw new ProblemError(404, 'unknown-case', 'Case not found', `no case ${caseId}`, [
        { field: 'path.caseId', problem: 'no such case' },
      ]);
    assertUnit(principal, history.unit);
    return history;
  }
}
