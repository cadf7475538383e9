/**
 * A case as its events make it: `evolve(state, event, version)` folds one event in. The regulation
 * version says which step an act completes, which steps close the case and with which result. Pure.
 */
import type { EventType } from '../../../events/event-types';
import type { RegulationVersion } from '../../regulations/domain/catalog';
import { rolesOn, type RegulationStep } from '../../regulations/domain/regulation-schema';
import type { CaseActor, CaseEvent, CaseEventOf } from './case-event';
import { mustNameResult } from './case-results';

export type CaseStatus = 'open' | 'completed' | 'refused' | 'cancelled';

export interface CaseAct {
  revision: number;
  stepId: string;
  eventType: EventType;
  actor: CaseActor;
  occurredAt: string;
  recordedAt: string;
  backDated: boolean;
  data: Record<string, unknown>;
}

export interface StepCompletion {
  occurredAt: string;
  startedAt: string;
  revision: number;
  /** The act's outcome was negative (a failed test or exam, non-compliant documents, a non-admission). */
  negative?: true;
  /** When an upheld appeal reversed that negative outcome. */
  reversedAt?: string;
  /** The dates (YYYY-MM-DD) the act recorded in its data, by field: limits may count from them. */
  dates?: Record<string, string>;
}

export interface CaseState {
  caseId: string;
  serviceId: string;
  versionId: string;
  trackId: string;
  channel: string;
  requestedChannel: 'portal' | 'psc' | 'office';
  unit: string;
  applicant: { iin: string; fullName: string };
  receiptNumber: string;
  submittedAt: string;
  status: CaseStatus;
  result: { id: string; kind: 'positive' | 'negative' } | null;
  closedAt: string | null;
  /** Revision of the last event folded in. */
  revision: number;
  lastOccurredAt: string;
  lastHash: string | null;
  acts: CaseAct[];
  /** Steps done, by step id. */
  completed: Record<string, StepCompletion>;
  /** Partial sign-offs of steps that need every one of their roles (requiresAll). */
  signatures: Record<string, { role: string; actorId: string; occurredAt: string }[]>;
  assignee: string | null;
  cohortDates: Record<string, string>;
  /** Set by the programme schedule or the enrolment order; the deadline of by-programme limits. */
  programmeEndsOn: string | null;
  /** An outcome so far that leads to a negative result (failed test or exam, non-compliant documents, not admitted). */
  negativeOutcome: boolean;
}

export class CaseHistoryError extends Error {
  override readonly name = 'CaseHistoryError';
}

const onTrack = new WeakMap<RegulationVersion, Map<string, readonly RegulationStep[]>>();

/** The steps of the version that apply on a track, in the file's order (computed once per version and track). */
export function stepsOnTrack(version: RegulationVersion, trackId: string): readonly RegulationStep[] {
  let byTrack = onTrack.get(version);
  if (!byTrack) onTrack.set(version, (byTrack = new Map()));
  let steps = byTrack.get(trackId);
  if (!steps) byTrack.set(trackId, (steps = version.steps.filter((s) => s.tracks.includes(trackId))));
  return steps;
}

const byId = new WeakMap<RegulationVersion, Map<string, RegulationStep>>();

/** A step of the version by its id (the first of that id, as a search in the file's order finds it), indexed once per version. */
export function stepById(version: RegulationVersion, stepId: string): RegulationStep | undefined {
  let steps = byId.get(version);
  if (!steps) {
    steps = new Map();
    for (const step of version.steps) if (!steps.has(step.id)) steps.set(step.id, step);
    byId.set(version, steps);
  }
  return steps.get(stepId);
}

/** The first event: the submission that creates the case. */
export function initialState(event: CaseEventOf<'ApplicationSubmitted'>): CaseState {
  const d = event.data;
  const occurredAt = event.metadata.occurredAt;
  return {
    caseId: d.caseId,
    serviceId: d.serviceId,
    versionId: d.versionId,
    trackId: d.trackId,
    channel: d.channel,
    requestedChannel: d.requestedChannel,
    unit: d.unit,
    applicant: { ...d.applicant },
    receiptNumber: d.receiptNumber,
    submittedAt: occurredAt,
    status: 'open',
    result: null,
    closedAt: null,
    revision: event.revision,
    lastOccurredAt: occurredAt,
    lastHash: event.metadata.hash,
    acts: [actOf(event)],
    completed: {
      [event.metadata.stepId]: { occurredAt, startedAt: event.metadata.startedAt, revision: event.revision },
    },
    signatures: {},
    assignee: null,
    cohortDates: { ...d.cohortDates },
    programmeEndsOn: null,
    negativeOutcome: false,
  };
}

function actOf(event: CaseEvent): CaseAct {
  const m = event.metadata;
  return {
    revision: event.revision,
    stepId: m.stepId,
    eventType: event.type,
    actor: m.actor,
    occurredAt: m.occurredAt,
    recordedAt: m.recordedAt,
    backDated: m.backDated,
    data: event.data,
  };
}

const NEGATIVE_OUTCOME: Partial<Record<EventType, (d: Record<string, unknown>) => boolean>> = {
  TestCompleted: (d) => d.passed === false,
  ExamResultRecorded: (d) => d.passed === false,
  DocumentsReviewed: (d) => d.outcome === 'non-compliant',
  AdmissionDecided: (d) => d.admitted === false,
  CompetitionDecided: (d) => d.admitted === false,
  GroupFormed: (d) => d.applicantIncluded === false,
};

const LOCAL_DATE = /^\d{4}-\d{2}-\d{2}$/;

function datesOf(data: Record<string, unknown>): Record<string, string> | null {
  // Run on every event folded: most events have no date, and build nothing (not even the list of their fields).
  let dates: [string, string][] | null = null;
  for (const field in data) {
    const value = data[field];
    if (typeof value === 'string' && LOCAL_DATE.test(value)) (dates ??= []).push([field, value]);
  }
  return dates ? Object.fromEntries(dates) : null;
}

/** A case's first event, which opens it and names its regulation version; any other first event is a broken history. */
export function openingOf(event: CaseEvent): CaseEventOf<'ApplicationSubmitted'> {
  if (event.type !== 'ApplicationSubmitted')
    throw new CaseHistoryError(`a case starts with ApplicationSubmitted, not ${event.type}`);
  return event;
}

/** Folds one event into the state. A history that breaks the regulation's rules is refused, never repaired. */
export function evolve(state: CaseState | null, event: CaseEvent, version: RegulationVersion): CaseState {
  if (state === null) return initialState(openingOf(event));
  const step = stepById(version, event.metadata.stepId);
  if (!step)
    throw new CaseHistoryError(
      `event ${event.revision} completes step "${event.metadata.stepId}", which ${version.versionId} does not have`,
    );
  const m = event.metadata;
  // Every field spelt out, in initialState's order (which stored documents keep), rather than spread from the state:
  // a spread followed by the fields it replaces cost a third of the fold, which runs for every event of every catch-up.
  const next: CaseState = {
    caseId: state.caseId,
    serviceId: state.serviceId,
    versionId: state.versionId,
    trackId: state.trackId,
    channel: state.channel,
    requestedChannel: state.requestedChannel,
    unit: state.unit,
    applicant: state.applicant,
    receiptNumber: state.receiptNumber,
    submittedAt: state.submittedAt,
    status: state.status,
    result: state.result,
    closedAt: state.closedAt,
    revision: event.revision,
    lastOccurredAt: m.occurredAt > state.lastOccurredAt ? m.occurredAt : state.lastOccurredAt,
    lastHash: m.hash,
    acts: [...state.acts, actOf(event)],
    completed: state.completed,
    signatures: state.signatures,
    assignee: state.assignee,
    cohortDates: state.cohortDates,
    programmeEndsOn: state.programmeEndsOn,
    negativeOutcome: state.negativeOutcome,
  };
  if (step.requiresAll) {
    const signatures = [
      ...(state.signatures[step.id] ?? []),
      { role: m.actor.role, actorId: m.actor.id, occurredAt: m.occurredAt },
    ];
    next.signatures = { ...state.signatures, [step.id]: signatures };
    if (!rolesOn(step, state.trackId).every((r) => signatures.some((s) => s.role === r))) return next;
  }
  // A repeatable step is complete with its latest occurrence; it started with its first.
  const earlier = state.completed[step.id];
  const negative = NEGATIVE_OUTCOME[event.type]?.(event.data) === true;
  const dates = datesOf(event.data);
  const completion: StepCompletion = {
    occurredAt: m.occurredAt,
    startedAt: earlier?.startedAt ?? m.startedAt,
    revision: event.revision,
  };
  // Set in this order, which stored documents keep.
  if (negative) completion.negative = true;
  if (dates) completion.dates = dates;
  next.completed = { ...state.completed, [step.id]: completion };
  if (event.type === 'AssignedToEmployee') next.assignee = event.data.assigneeId;
  if (event.type === 'ProgrammeScheduleSet') next.programmeEndsOn = event.data.programmeEndsOn;
  // A cohort date recorded after the filing (one a portal filing could not set): the clocks it starts run from it.
  if (event.type === 'CohortDateRecorded') {
    const id = event.data.cohortDate ?? step.setsCohortDate;
    if (id === undefined) throw new CaseHistoryError(`event ${event.revision} records a cohort date without naming it`);
    next.cohortDates = { ...state.cohortDates, [id]: event.data.date };
  }
  if (event.type === 'OrderSigned' && event.data.programmeEndsOn) next.programmeEndsOn = event.data.programmeEndsOn;
  if (negative) next.negativeOutcome = true;
  if (event.type === 'AppealResolved' && event.data.decision === 'upheld') {
    next.negativeOutcome = false;
    // The appeal reverses the negative outcomes standing when it is upheld; the acts after it are judged on that.
    for (const [id, c] of Object.entries(next.completed))
      if (c.negative && !c.reversedAt) next.completed[id] = { ...c, reversedAt: m.occurredAt };
  }
  if (step.result) next.result = resultRef(version, step.result);
  // Only a completion document names its result (the schemas refuse resultId elsewhere).
  else if (step.terminal && event.type === 'CompletionDocumentIssued' && event.data.resultId !== undefined)
    next.result = resultRef(version, event.data.resultId);
  if (step.terminal) close(next, step, version, m.occurredAt);
  return next;
}

function resultRef(version: RegulationVersion, resultId: string): { id: string; kind: 'positive' | 'negative' } {
  const result = version.results.find((r) => r.id === resultId);
  if (!result) throw new CaseHistoryError(`${version.versionId} has no result "${resultId}"`);
  return { id: result.id, kind: result.kind };
}

function close(state: CaseState, step: RegulationStep, version: RegulationVersion, at: string): void {
  state.closedAt = at;
  if (step.eventType === 'ApplicationCancelled') {
    state.status = 'cancelled';
    return;
  }
  // A completion act that had to name its document and did not (recorded before that was required) gets no result:
  // which of the track's documents was issued is unknown, and a guess would be wrong for some listeners.
  if (!state.result && !mustNameResult(version, step, state.trackId)) {
    const kind =
      step.eventType === 'RefusalIssued' || step.eventType === 'PortalRefusalIssued' || state.negativeOutcome
        ? 'negative'
        : 'positive';
    state.result = impliedResult(version, state.trackId, kind);
  }
  // A case ends refused only when the service itself was refused (the portal's message, p.10 process 5); a result the
  // service gives (p.3), favourable or not (a reference with results below the threshold, a notice of non-admission),
  // completes it.
  const result = state.result ? version.results.find((r) => r.id === state.result!.id) : undefined;
  state.status = result
    ? result.refusal
      ? 'refused'
      : 'completed'
    : step.eventType === 'RefusalIssued' || step.eventType === 'PortalRefusalIssued'
      ? 'refused'
      : 'completed';
}

/**
 * The result of a terminal step that does not name one: the track's result of that kind which no other
 * step issues (e.g. the test certificate or the below-threshold reference, by the test outcome).
 */
export function impliedResult(
  version: RegulationVersion,
  trackId: string,
  kind: 'positive' | 'negative',
): { id: string; kind: 'positive' | 'negative' } | null {
  const issuedBySteps = new Set(version.steps.map((s) => s.result).filter(Boolean));
  const candidates = version.results.filter((r) => r.tracks.includes(trackId) && r.kind === kind && !r.refusal);
  const own = candidates.find((r) => !issuedBySteps.has(r.id)) ?? candidates[0];
  return own ? { id: own.id, kind: own.kind } : null;
}

/** Folds a whole history; the version is the one the first event names. */
export function foldCase(
  events: readonly CaseEvent[],
  versionOf: (versionId: string) => RegulationVersion,
): CaseState | null {
  if (events.length === 0) return null;
  const version = versionOf(openingOf(events[0]!).data.versionId);
  let state: CaseState | null = null;
  for (const event of events) state = evolve(state, event, version);
  return state;
}
