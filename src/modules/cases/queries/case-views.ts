/**
 * The JSON views of the case read model: the case, a list row, the SLA rows. Built from one stored
 * document and the regulation version, with cheap derived fields only (no collection scans). Pure.
 */
import { EVENT_TYPES, isEventType } from '../../../events/event-types';
import type { WorkingCalendar } from '../../calendar/domain/working-calendar';
import { maskIin } from '../../identity/domain/iin';
import type { Principal } from '../../identity/domain/principal';
import type { RegulationVersion } from '../../regulations/domain/catalog';
import { rolesOn, type RegulationStep } from '../../regulations/domain/regulation-schema';
import { citeClause } from '../../regulations/domain/clause-citation';
import type { Limit } from '../../deadlines/domain/limit';
import { EXTERNAL_ROLES, externalHasPart, stepsCallerMayTake, openSteps } from '../domain/case-rules';
import type { CaseState } from '../domain/case-state';
import { caseSla } from '../domain/case-sla';
import { stateOf, statusAt, type CaseDocument } from '../projections/cases.projection';
import { seesFullIin } from '../domain/read-scope';

/**
 * Whether the caller may read this case: within their read scope, or (the portal, a state body) a case on which
 * they recorded an act or may take an open step now.
 */
export function mayRead(principal: Principal, doc: CaseDocument, version: RegulationVersion): boolean {
  if (seesFullIin(principal, doc)) return true;
  if (!principal.roles.some((r) => EXTERNAL_ROLES.has(r))) return false;
  return externalHasPart(principal, stateOf(doc), version);
}

function applicantView(principal: Principal, doc: CaseDocument) {
  const full = seesFullIin(principal, doc);
  return {
    iin: full ? doc.applicant.iin : maskIin(doc.applicant.iin),
    iinMasked: !full,
    fullName: doc.applicant.fullName,
  };
}

/** Lookups of one version, built once per version: the case view runs on every read. */
interface VersionIndex {
  steps: Map<string, RegulationStep>;
  roleLabels: Map<string, RegulationVersion['roles'][number]['label']>;
  tracks: Map<string, RegulationVersion['tracks'][number]>;
  channels: Map<string, RegulationVersion['channels'][number]>;
  results: Map<string, RegulationVersion['results'][number]>;
  /** By `${stepId}/${limitId}`. */
  limits: Map<string, Limit>;
}
const indexes = new WeakMap<RegulationVersion, VersionIndex>();
function indexOf(version: RegulationVersion): VersionIndex {
  let index = indexes.get(version);
  if (!index) {
    index = {
      steps: new Map(version.steps.map((s) => [s.id, s])),
      roleLabels: new Map(version.roles.map((r) => [r.id, r.label])),
      tracks: new Map(version.tracks.map((t) => [t.id, t])),
      channels: new Map(version.channels.map((c) => [c.id, c])),
      results: new Map(version.results.map((r) => [r.id, r])),
      limits: new Map(version.steps.flatMap((s) => s.limits.map((l) => [`${s.id}/${l.id}`, l] as const))),
    };
    indexes.set(version, index);
  }
  return index;
}

/**
 * What a row with no clock yet waits for (status `waiting`): the date its limit counts from, with its label (a cohort
 * date's, e.g. the end of document acceptance, or the step whose act records it).
 */
export function waitingForOf(version: RegulationVersion, anchor: Limit['anchor']) {
  const index = indexOf(version);
  const label =
    'cohortDate' in anchor
      ? version.cohortDates.find((c) => c.id === anchor.cohortDate)?.label
      : index.steps.get(
          'stepDataDate' in anchor ? anchor.stepDataDate.step : 'step' in anchor ? anchor.step : anchor.stepStarted,
        )?.label;
  return { anchor, label: label ? { ru: label.ru, kk: label.kk } : null };
}

const eventLabel = (type: string) =>
  isEventType(type) ? { ru: EVENT_TYPES[type].ru, kk: EVENT_TYPES[type].kk } : null;

/**
 * GET /api/cases/:caseId, as JSON text without the model's position (the answer's last member, added per
 * read by `withPosition`), and the first instant at which the same document would read differently: an
 * open step's clock starting or its deadline passing. Until then, and while the document is not written
 * again, the text stands for this caller.
 */
export function renderCaseView(
  doc: CaseDocument,
  version: RegulationVersion,
  principal: Principal,
  now: Date,
): { json: string; validUntil: number } {
  const state = stateOf(doc);
  const open = openSteps(state, version);
  const json = JSON.stringify(caseView(doc, state, version, principal, now, open));
  return { json: json.slice(0, -1), validUntil: viewChangesAt(doc, open, now) };
}

/** The rendered view (UTF-8) with the position its model reflected when it was read. */
export function withPosition(rendered: Buffer, position: number): Buffer {
  return Buffer.concat([rendered, Buffer.from(`,"position":${position}}`)]);
}

/** What of the view depends on "now": which open steps' clocks have started, and open or overdue. */
function viewChangesAt(doc: CaseDocument, open: readonly RegulationStep[], now: Date): number {
  const t = now.getTime();
  let next = Infinity;
  const consider = (instant: string | null) => {
    if (instant === null) return;
    const at = Date.parse(instant);
    if (at > t && at < next) next = at;
  };
  for (const row of doc.sla) {
    if (!open.some((step) => step.id === row.stepId)) continue;
    consider(row.startedAt);
    if (row.settled === null) consider(row.deadline);
    if (row.alternative && row.alternative.settled === null) consider(row.alternative.deadline);
  }
  return next;
}

function caseView(
  doc: CaseDocument,
  state: CaseState,
  version: RegulationVersion,
  principal: Principal,
  now: Date,
  open: readonly RegulationStep[],
) {
  const index = indexOf(version);
  const track = index.tracks.get(doc.trackId);
  const channel = index.channels.get(doc.channel);
  return {
    caseId: doc.caseId,
    receiptNumber: doc.receiptNumber,
    // One name for the version across answers; `version.id` (and the list's `versionId`) stay for existing clients.
    regulationVersionId: doc.versionId,
    service: { id: doc.serviceId, title: version.title },
    version: { id: doc.versionId, act: { id: version.act.id, number: version.act.number, date: version.act.date } },
    track: { id: doc.trackId, label: track?.label ?? null },
    channel: { id: doc.channel, requested: doc.requestedChannel, label: channel?.label ?? null },
    unit: doc.unit,
    status: doc.status,
    result: doc.result ? { ...doc.result, label: index.results.get(doc.result.id)?.label ?? null } : null,
    submittedAt: doc.submittedAt,
    closedAt: doc.closedAt,
    applicant: applicantView(principal, doc),
    assignee: doc.assignee,
    revision: doc.revision,
    acts: doc.acts.map((act) => ({
      revision: act.revision,
      stepId: act.stepId,
      stepLabel: index.steps.get(act.stepId)?.label ?? null,
      eventType: act.eventType,
      eventLabel: eventLabel(act.eventType),
      actor: act.actor,
      occurredAt: act.occurredAt,
      recordedAt: act.recordedAt,
      backDated: act.backDated,
    })),
    openSteps: open.map((step) => ({
      stepId: step.id,
      label: step.label,
      eventType: step.eventType,
      eventLabel: eventLabel(step.eventType),
      roles: rolesOn(step, doc.trackId).map((role) => ({ id: role, label: index.roleLabels.get(role) ?? null })),
      requiresAll: step.requiresAll,
      signedBy: (doc.signatures[step.id] ?? []).map((s) => s.role),
      optional: step.optional,
      // The running clocks, and those that wait for the date they count from (no deadline yet).
      deadlines: doc.sla
        .filter(
          (row) =>
            row.stepId === step.id &&
            (row.startedAt === null ? row.settled === 'waiting' : Date.parse(row.startedAt) <= now.getTime()),
        )
        .map((row) => {
          const limit = index.limits.get(`${row.stepId}/${row.limitId}`);
          return {
            limitId: row.limitId,
            kind: row.kind,
            clause: limit?.clause ?? null,
            citation: limit ? citeClause(limit.clause) : null,
            startedAt: row.startedAt,
            deadline: row.deadline,
            status: statusAt(row.settled, row.deadline, now),
            ...(row.settled === 'waiting' && limit ? { waitingFor: waitingForOf(version, limit.anchor) } : {}),
            ...(row.alternative
              ? {
                  alternative: {
                    kind: row.alternative.kind,
                    // Where the other reading counts from another act or date than the applied one.
                    ...(limit?.alternative?.anchor ? { anchor: limit.alternative.anchor } : {}),
                    clause: limit?.alternative?.clause ?? null,
                    citation: limit?.alternative ? citeClause(limit.alternative.clause) : null,
                    deadline: row.alternative.deadline,
                    status: statusAt(row.alternative.settled, row.alternative.deadline, now),
                  },
                }
              : {}),
          };
        }),
    })),
    callerMayTake: stepsCallerMayTake(state, version, principal),
    ...(doc.slaProblem ? { slaProblem: doc.slaProblem } : {}),
    lastPosition: doc.lastPosition,
  };
}

/** The fields a list row needs; the list reads only these from the store. */
export const LIST_FIELDS = [
  'caseId',
  'receiptNumber',
  'serviceId',
  'versionId',
  'trackId',
  'channel',
  'unit',
  'status',
  'result',
  'applicant',
  'applicantIin',
  'assignee',
  'submittedAt',
  'closedAt',
  'revision',
  'lastPosition',
] as const;
export type ListedCase = Pick<CaseDocument, '_id' | (typeof LIST_FIELDS)[number]>;

/** One row of GET /api/cases */
export function listRow(doc: ListedCase, principal: Principal) {
  return {
    caseId: doc.caseId,
    receiptNumber: doc.receiptNumber,
    serviceId: doc.serviceId,
    regulationVersionId: doc.versionId,
    versionId: doc.versionId,
    trackId: doc.trackId,
    channel: doc.channel,
    unit: doc.unit,
    status: doc.status,
    result: doc.result,
    applicant: applicantView(principal, doc as CaseDocument),
    assignee: doc.assignee,
    submittedAt: doc.submittedAt,
    closedAt: doc.closedAt,
    revision: doc.revision,
    lastPosition: doc.lastPosition,
  };
}

/**
 * GET /api/cases/:caseId/sla: the rows as the case stood at asOf. Computed by the domain from the stored
 * state, so an asOf in the past counts only the acts that had occurred by then.
 */
export function slaView(
  doc: CaseDocument,
  version: RegulationVersion,
  calendar: WorkingCalendar,
  asOf: Date,
  position: number,
) {
  const index = indexOf(version);
  const rows = caseSla(stateOf(doc), version, calendar, asOf).map((row) => ({
    stepId: row.stepId,
    stepLabel: index.steps.get(row.stepId)?.label ?? null,
    limitId: row.limitId,
    clause: row.clause,
    citation: citeClause(row.clause),
    kind: row.kind,
    spec: row.spec,
    anchor: row.anchor,
    startedAt: row.startedAt,
    ...(row.startNotRecorded ? { startNotRecorded: true } : {}),
    deadline: row.deadline,
    ...(row.opensAt ? { opensAt: row.opensAt } : {}),
    completedAt: row.completedAt,
    status: row.status,
    ...(row.status === 'waiting' ? { waitingFor: waitingForOf(version, row.anchor) } : {}),
    alternative: row.alternative
      ? {
          kind: row.alternative.spec.kind,
          spec: row.alternative.spec,
          clause: row.alternative.clause,
          citation: citeClause(row.alternative.clause),
          ...(row.alternative.anchor ? { anchor: row.alternative.anchor, startedAt: row.alternative.startedAt } : {}),
          deadline: row.alternative.deadline,
          status: row.alternative.status,
        }
      : null,
  }));
  return { caseId: doc.caseId, asOf: asOf.toISOString(), caseStatus: doc.status, rows, position };
}
