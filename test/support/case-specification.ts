/**
 * Given/when/then for the case decider, in the manner of Emmett's DeciderSpecification:
 * `given(events).when(command, caller).then(events)` or `.thenRefused(kind)`. The produced events are
 * sealed into a hash chain the way the command service seals them, so `then` hands back a history the
 * next specification can start from. Test-only support; pure (the clock is injected, nothing is read).
 */
import { join } from 'node:path';
import type { EventType } from '../../src/events/event-types';
import type { TimeZone } from '../../src/modules/calendar/domain/time-zone';
import { loadCalendars } from '../../src/modules/calendar/domain/load-calendar';
import type { WorkingCalendar } from '../../src/modules/calendar/domain/working-calendar';
import type { ClauseRef } from '../../src/modules/deadlines/domain/limit';
import { makeIin } from '../../src/modules/identity/domain/iin';
import type { Principal, Role } from '../../src/modules/identity/domain/principal';
import type { Catalog, RegulationVersion } from '../../src/modules/regulations/domain/catalog';
import { rolesOn, type RegulationStep } from '../../src/modules/regulations/domain/regulation-schema';
import { clauseReference, type CaseEvent, type DecidedEvent } from '../../src/modules/cases/domain/case-event';
import type { StepData } from '../../src/modules/cases/domain/case-event-data';
import { prerequisitesOn } from '../../src/modules/cases/domain/case-rules';
import { mustNameResult, resultsStepMayName } from '../../src/modules/cases/domain/case-results';
import { evolve, openingOf, stepsOnTrack, type CaseState } from '../../src/modules/cases/domain/case-state';
import {
  decide,
  filingPeriodsHolding,
  type CaseCommand,
  type CaseRejection,
  type Decision,
} from '../../src/modules/cases/domain/decide';
import { sealEvents } from '../../src/modules/cases/domain/hash-chain';

export { makeIin };

/** Valid data for each event type a step records (checked against STEP_DATA_SCHEMAS in decide.spec). */
export const VALID_DATA: { [T in Exclude<EventType, 'ApplicationSubmitted'>]: StepData<T> } = {
  ApplicationCancelled: { reason: 'заявитель передумал' },
  ReceiptIssued: { receiptNumber: 'R-1' },
  DocumentsAccepted: {},
  DocumentRegistered: { incomingNumber: '04-117' },
  AssignedToEmployee: { assigneeId: 'employee-1' },
  DocumentsReviewed: { outcome: 'compliant' },
  OrderDrafted: { draftNumber: 'D-12' },
  OrderSigned: { orderNumber: '125-к' },
  ExtractIssued: { documentNumber: 'EX-77' },
  RefusalIssued: { reason: 'документы не соответствуют требованиям' },
  PortalRefusalIssued: { reason: 'сведения об услугополучателе не соответствуют требуемым условиям' },
  NotAdmitted: { reason: 'вступительный экзамен не сдан' },
  TestSlotBooked: { place: 'Астана, ул. Мәңгілік Ел 8', slotAt: '2015-09-20T10:00:00+06:00' },
  TestScheduleAnnounced: { url: 'https://example.kz/schedule', testingStartsOn: '2015-12-01' },
  AdmittedToTest: { identityDocument: 'ID 012345678' },
  ApplicantBriefed: {},
  TestCompleted: { score: 82, passed: true },
  TestResultsSigned: {},
  TestResultIssued: { documentNumber: 'T-9' },
  AdmissionDecided: { admitted: true },
  ExamResultRecorded: { exam: 'state administration', score: 75, passed: true },
  AppealOpened: { reason: 'не согласен с оценкой' },
  AppealResolved: { decision: 'rejected' },
  CompetitionDecided: { admitted: true, score: 140 },
  InformationRequested: { bodies: ['КНБ', 'Генеральная прокуратура'] },
  InformationReceived: { from: 'КНБ' },
  CandidateListSent: { listNumber: 'L-3' },
  GroupFormed: { groupId: 'G-7' },
  ProgrammeScheduleSet: { programmeEndsOn: '2017-06-30' },
  StudyMilestoneRecorded: { milestone: 'research practice' },
  DissertationDefended: { topic: 'Цифровые государственные услуги' },
  StudentDocumentsIssued: { studentCardNumber: 'S-101' },
  CompletionDocumentIssued: { documentNumber: 'D-5' },
  IncompleteStudyReferenceIssued: { documentNumber: 'SP-3', reason: 'отчислен по собственному желанию' },
  CohortDateRecorded: { date: '2015-10-09' },
};

/** Data that gives an act a negative outcome (a failed test or exam, a non-compliant check, a non-admission). */
export const NEGATIVE_DATA: Partial<Record<EventType, Record<string, unknown>>> = {
  DocumentsReviewed: { outcome: 'non-compliant', reasons: ['не представлена копия диплома'] },
  AdmissionDecided: { admitted: false, reasons: ['не соответствует квалификационным требованиям'] },
  TestCompleted: { score: 21, passed: false },
  ExamResultRecorded: { exam: 'state administration', score: 30, passed: false },
  CompetitionDecided: { admitted: false, score: 60 },
  GroupFormed: { groupId: 'G-7', applicantIncluded: false },
};

export function negativeData(eventType: string): Record<string, unknown> {
  const data = NEGATIVE_DATA[eventType as EventType];
  if (!data) throw new Error(`no negative outcome for ${eventType}`);
  return { ...data };
}

export function validData(eventType: string): Record<string, unknown> {
  const data = (VALID_DATA as Record<string, Record<string, unknown>>)[eventType];
  if (!data) throw new Error(`no valid data for ${eventType}`);
  return { ...data };
}

/** Valid data for a step on a track: its event type's, naming the first result where the act must name which. */
export function validStepData(
  version: RegulationVersion,
  step: RegulationStep,
  trackId: string,
  /** The day a walk records its acts on (YYYY-MM-DD): a schedule's first testing day is that day, as a test before it breaches its testing month (order 184, appendix 2, p.7 pp.3). */
  actsOn?: string,
): Record<string, unknown> {
  const data =
    actsOn && step.eventType === 'TestScheduleAnnounced'
      ? { ...validData(step.eventType), testingStartsOn: actsOn }
      : validData(step.eventType);
  return mustNameResult(version, step, trackId)
    ? { ...data, resultId: resultsStepMayName(version, step, trackId)[0] }
    : data;
}

/** A caller holding exactly these roles, acting for `unit` (applicants also carry their IIN). */
export function principal(roles: Role | Role[], unit: string, options: { iin?: string; id?: string } = {}): Principal {
  const list = Array.isArray(roles) ? roles : [roles];
  const id = options.id ?? `${list.join('+')}@${unit}${options.iin ? `#${options.iin}` : ''}`;
  return { id, name: `Test ${id}`, roles: list, unit, ...(options.iin ? { iin: options.iin } : {}) };
}

/** The non-optional steps of a track in an order that respects `after` (the submission first). */
export function mainPath(version: RegulationVersion, trackId: string): RegulationStep[] {
  return ordered(
    version,
    trackId,
    stepsOnTrack(version, trackId).filter((s) => !s.optional),
  );
}

/** The steps that must be done, in order, before `stepId` opens on the track (its prerequisites, transitively). */
export function pathTo(version: RegulationVersion, trackId: string, stepId: string): RegulationStep[] {
  const onTrack = stepsOnTrack(version, trackId);
  const needed = new Set<string>();
  const visit = (id: string) => {
    const step = onTrack.find((s) => s.id === id);
    if (!step) throw new Error(`${version.versionId}/${trackId} has no step ${id}`);
    for (const p of prerequisitesOn(version, trackId, step)) {
      if (!needed.has(p)) {
        needed.add(p);
        visit(p);
      }
    }
  };
  visit(stepId);
  return ordered(
    version,
    trackId,
    onTrack.filter((s) => needed.has(s.id)),
  );
}

function ordered(version: RegulationVersion, trackId: string, steps: RegulationStep[]): RegulationStep[] {
  const done = new Set<string>();
  const order: RegulationStep[] = [];
  while (order.length < steps.length) {
    const next = steps.find((s) => !done.has(s.id) && prerequisitesOn(version, trackId, s).every((p) => done.has(p)));
    if (!next) throw new Error(`${version.versionId}/${trackId}: no step can follow ${[...done].join(', ')}`);
    done.add(next.id);
    order.push(next);
  }
  return order;
}

/** The requested channel a version takes applications through, preferring the provider's office. */
export function offeredChannel(version: RegulationVersion): 'office' | 'portal' | 'psc' {
  const ids = version.channels.map((c) => c.id);
  if (ids.includes('provider') || ids.includes('provider-registry')) return 'office';
  if (ids.includes('portal')) return 'portal';
  if (ids.includes('psc')) return 'psc';
  throw new Error(`${version.versionId} offers no channel the API knows`);
}

export interface ExpectedEvent {
  type: EventType;
  stepId: string;
  role: string;
  clause?: ClauseRef;
  data?: Record<string, unknown>;
  onBehalfOf?: 'applicant';
}

export interface SpecificationDeps {
  catalog: Catalog;
  zone: TimeZone;
  clock: () => Date;
  /** Which dates the working-day calendar covers, as the command service tells decide. */
  covers?: (date: string) => boolean;
  /** The working-day calendar, as the command service gives decide (a step bounded by a period in working days); the project's by default. */
  calendar?: WorkingCalendar;
}

let projectCalendar: WorkingCalendar | undefined;
/** The calendar the service loads (data/calendars), read once. */
function defaultCalendar(): WorkingCalendar {
  projectCalendar ??= loadCalendars(join(__dirname, '../../data/calendars')).get('KZ')!;
  return projectCalendar;
}

export interface Outcome {
  /** The whole history after the command: the given events and the produced ones. */
  events: CaseEvent[];
  produced: CaseEvent[];
  state: CaseState;
}

export class CaseSpecification {
  constructor(private readonly deps: SpecificationDeps) {}

  given(events: readonly CaseEvent[] = []): Given {
    return new Given(this.deps, events);
  }
}

export class Given {
  readonly state: CaseState | null;

  constructor(
    private readonly deps: SpecificationDeps,
    readonly events: readonly CaseEvent[],
  ) {
    this.state = fold(deps.catalog, events);
  }

  when(command: CaseCommand, caller: Principal): When {
    const now = this.deps.clock();
    const decision = decide(this.state, command, {
      catalog: this.deps.catalog,
      zone: this.deps.zone,
      ...(this.deps.covers ? { covers: this.deps.covers } : {}),
      calendar: this.deps.calendar ?? defaultCalendar(),
      now,
      principal: caller,
    });
    return new When(this.deps.catalog, this.events, decision, now, command);
  }
}

export class When {
  constructor(
    private readonly catalog: Catalog,
    private readonly given: readonly CaseEvent[],
    readonly decision: Decision,
    private readonly now: Date,
    private readonly command: CaseCommand,
  ) {}

  /** Asserts the decided events (type, step, actor role, and clause/data when given) and returns the new history. */
  then(expected: ExpectedEvent[]): Outcome {
    if (!this.decision.ok)
      throw new Error(
        `expected ${expected.map((e) => e.stepId).join(', ')} to be decided, but it was refused: ${JSON.stringify(this.decision.rejection)}`,
      );
    const decided = this.decision.events;
    expect(decided.map(summary)).toEqual(
      expected.map((e, i) => ({
        type: e.type,
        stepId: e.stepId,
        role: e.role,
        clause: e.clause ?? decided[i]?.clause,
        data: e.data ?? decided[i]?.data,
        onBehalfOf: e.onBehalfOf,
      })),
    );
    const caseId = this.command.kind === 'submit' ? this.command.caseId : this.given[0]!.metadata.caseId;
    const produced = seal(caseId, this.given, this.decision.version, decided, this.now);
    const events = [...this.given, ...produced];
    return { events, produced, state: fold(this.catalog, events)! };
  }

  /** Asserts the command is refused with this kind (and these fields, matched as a subset); returns the rejection. */
  thenRefused<K extends CaseRejection['kind']>(
    kind: K,
    fields: Record<string, unknown> = {},
  ): Extract<CaseRejection, { kind: K }> {
    if (this.decision.ok)
      throw new Error(
        `expected a ${kind} refusal, but ${this.decision.events.map((e) => `${e.type} (${e.stepId})`).join(', ')} was decided`,
      );
    expect(this.decision.rejection).toMatchObject({ kind, ...fields });
    return this.decision.rejection as Extract<CaseRejection, { kind: K }>;
  }
}

function summary(event: DecidedEvent) {
  return {
    type: event.type,
    stepId: event.stepId,
    role: event.actor.role,
    clause: event.clause,
    data: event.data,
    onBehalfOf: event.actor.onBehalfOf,
  };
}

function fold(catalog: Catalog, events: readonly CaseEvent[]): CaseState | null {
  if (events.length === 0) return null;
  const versionId = openingOf(events[0]!).data.versionId;
  const version = catalog.byId.get(versionId);
  if (!version) throw new Error(`the catalog has no ${versionId}`);
  let state: CaseState | null = null;
  for (const event of events) state = evolve(state, event, version);
  return state;
}

/** Seals decided events onto a history as CaseCommandService does: next revisions, previous hash, own hash. */
export function seal(
  caseId: string,
  history: readonly CaseEvent[],
  version: RegulationVersion,
  decided: readonly DecidedEvent[],
  now: Date,
): CaseEvent[] {
  const last = history[history.length - 1];
  return sealEvents(decided, {
    caseId,
    versionId: version.versionId,
    previous: last ? { revision: last.revision, hash: last.metadata.hash } : null,
    now,
    // Specifications record at the clock of the act: nothing is back-dated here.
    backDatedAfterMs: Number.MAX_SAFE_INTEGER,
    correlationId: `spec-${caseId}`,
    causationId: `spec-${caseId}-${history.length}`,
  });
}

/**
 * A case driven step by step through the specification, with a clock that moves forward one step at a time.
 * Each `take` asserts the step was decided as the regulation names it (type, step, role, clause).
 */
export class CaseWalk {
  private history: CaseEvent[] = [];
  private now: Date;
  readonly spec: CaseSpecification;

  constructor(
    readonly catalog: Catalog,
    readonly zone: TimeZone,
    readonly version: RegulationVersion,
    readonly trackId: string,
    readonly options: {
      unit: string;
      iin: string;
      start: Date;
      stepMinutes?: number;
      covers?: (date: string) => boolean;
      calendar?: WorkingCalendar;
    },
  ) {
    this.now = options.start;
    this.spec = new CaseSpecification({
      catalog,
      zone,
      clock: () => this.now,
      ...(options.covers ? { covers: options.covers } : {}),
      ...(options.calendar ? { calendar: options.calendar } : {}),
    });
  }

  get events(): CaseEvent[] {
    return this.history;
  }

  get state(): CaseState {
    const state = this.spec.given(this.history).state;
    if (!state) throw new Error('the case has not been submitted');
    return state;
  }

  get clock(): Date {
    return this.now;
  }

  /** Moves the clock to an instant (never back). */
  at(instant: Date): this {
    if (instant.getTime() < this.now.getTime())
      throw new Error(`the clock cannot go back from ${this.now.toISOString()} to ${instant.toISOString()}`);
    this.now = instant;
    return this;
  }

  advance(minutes = this.options.stepMinutes ?? 60): this {
    return this.at(new Date(this.now.getTime() + minutes * 60_000));
  }

  callerFor(role: Role, suffix = ''): Principal {
    return role === 'applicant'
      ? principal('applicant', 'public', { iin: this.options.iin })
      : principal(role, this.options.unit, suffix ? { id: `${role}${suffix}@${this.options.unit}` } : {});
  }

  step(stepId: string): RegulationStep {
    const step = this.version.steps.find((s) => s.id === stepId);
    if (!step) throw new Error(`${this.version.versionId} has no step ${stepId}`);
    return step;
  }

  /** Files the application with a caller in the first role of the submission step (at the current clock). */
  submit(
    role?: Role,
    extra: { cohortDates?: Record<string, string>; channel?: 'office' | 'portal' | 'psc'; startedAt?: Date } = {},
  ): Outcome {
    const first = stepsOnTrack(this.version, this.trackId).find((s) => s.after.length === 0)!;
    const as = role ?? (rolesOn(first, this.trackId)[0] as Role);
    const caseId = `case-${this.version.serviceId}-${this.trackId}`;
    const outcome = this.spec
      .given([])
      .when(
        {
          kind: 'submit',
          caseId,
          receiptNumber: `RG-${caseId}`,
          serviceId: this.version.serviceId,
          trackId: this.trackId,
          channel: extra.channel ?? offeredChannel(this.version),
          unit: this.options.unit,
          applicant: { iin: this.options.iin, fullName: 'Әлия Сәрсенова' },
          ...(extra.cohortDates ? { cohortDates: extra.cohortDates } : {}),
          ...(extra.startedAt ? { startedAt: extra.startedAt } : {}),
        },
        this.callerFor(as),
      )
      .then([{ type: 'ApplicationSubmitted', stepId: first.id, role: as, clause: clauseReference(first.clause) }]);
    this.history = outcome.events;
    return outcome;
  }

  /** Takes a step with one caller per role (all of them for requiresAll steps), at `at` or one clock step after the last act. */
  take(
    stepId: string,
    options: { roles?: Role[]; data?: Record<string, unknown>; at?: Date; startedAt?: Date } = {},
  ): Outcome {
    const step = this.step(stepId);
    const onTrack = rolesOn(step, this.trackId);
    const roles = options.roles ?? ((step.requiresAll ? onTrack : [onTrack[0]]) as Role[]);
    let outcome: Outcome | undefined;
    if (!options.at) this.fromItsStartDate(step);
    for (const role of roles) {
      if (options.at && role === roles[0]) this.at(options.at);
      else this.advance();
      outcome = this.spec
        .given(this.history)
        .when(
          {
            kind: 'take-step',
            stepId,
            data: options.data ?? validStepData(this.version, step, this.trackId),
            ...(options.startedAt ? { startedAt: options.startedAt } : {}),
          },
          this.callerFor(role),
        )
        .then([{ type: step.eventType as EventType, stepId, role, clause: clauseReference(step.clause) }]);
      this.history = outcome.events;
    }
    return outcome!;
  }

  /**
   * After the submission, takes the steps that open `stepId` and make it due: the act of its first condition on
   * this track (with the outcome the condition names), then the rest of its prerequisites, with valid data.
   */
  openUpTo(stepId: string): void {
    const onTrack = new Set(stepsOnTrack(this.version, this.trackId).map((s) => s.id));
    const condition = this.step(stepId).dueWhen?.find((d) => onTrack.has(d.step));
    const steps = [
      ...(condition ? [...pathTo(this.version, this.trackId, condition.step), this.step(condition.step)] : []),
      ...pathTo(this.version, this.trackId, stepId),
    ];
    for (const s of steps) {
      if (this.state.completed[s.id]) continue;
      this.take(
        s.id,
        s.id === condition?.step && condition.outcome === 'negative' ? { data: negativeData(s.eventType) } : {},
      );
    }
    this.pastFilingPeriods(stepId);
    this.fromItsStartDate(this.step(stepId));
  }

  /**
   * Moves the clock to the day a limit of the step counts forward from, when an earlier act recorded it (the corps «A»
   * test from the schedule's first testing day): an act before that day breaches its limit.
   */
  private fromItsStartDate(step: RegulationStep): void {
    for (const limit of step.limits) {
      const anchor = limit.anchor;
      if (!('stepDataDate' in anchor) || anchor.stepDataDate.step === step.id) continue;
      const date = this.history.length
        ? this.state.completed[anchor.stepDataDate.step]?.dates?.[anchor.stepDataDate.field]
        : undefined;
      if (date === undefined) continue;
      const midnight = this.zone.toInstant(date as never);
      if (midnight.getTime() > this.now.getTime()) this.at(midnight);
    }
  }

  /**
   * Moves the clock to the end of any period in which a filing the step would cut off may still be made (not-admitted
   * after the 2015 exams, while an appeal may be filed): the step is open, but recorded only from then.
   */
  pastFilingPeriods(stepId: string): this {
    const calendar = this.options.calendar ?? defaultCalendar();
    for (const { period } of filingPeriodsHolding(this.state, this.version, this.step(stepId), calendar))
      if (period.deadline.getTime() > this.now.getTime()) this.at(period.deadline);
    return this;
  }

  /** Takes every step of the list except the submission, which must already be done. */
  takeAll(steps: readonly RegulationStep[]): void {
    for (const step of steps) if (step.after.length > 0) this.take(step.id);
  }
}
