/**
 * decide(state, command, context) → the acts to record, or the named reason they may not be.
 * The regulation version, the calendar's time zone, the clock and the caller come in as context. Pure.
 */
import { isWithinWindow, lastClosing, nextOpening } from '../../deadlines/domain/annual-window';
import { checkIin } from '../../identity/domain/iin';
import type { Principal } from '../../identity/domain/principal';
import type { TimeZone } from '../../calendar/domain/time-zone';
import type { WorkingCalendar } from '../../calendar/domain/working-calendar';
import { addDays, addMonths, localDateProblem } from '../../calendar/domain/local-date';
import { describeClause } from '../../regulations/domain/lint';
import type { Catalog, RegulationVersion } from '../../regulations/domain/catalog';
import type { RegulationStep } from '../../regulations/domain/regulation-schema';
import { NoVersionInForceError, resolveVersion, UnknownServiceError } from '../../regulations/domain/resolve-version';
import { parseStepData, type DataProblem, type ApplicationSubmittedData } from './case-event-data';
import { iinsOutOfPlace } from './iins-out-of-place';
import { seesFullIin } from './read-scope';
import { CASE_APPLICANT_ACTOR, clauseReference, type CaseActor, type DecidedEvent } from './case-event';
import {
  actorFor,
  withinReach,
  EXTERNAL_ROLES,
  blockedByResult,
  cancellationStep,
  cancellerFor,
  missingPrerequisites,
  prerequisitesOn,
  notDueReason,
  waitingFor,
  openSteps,
  notRecordableReason,
  type ActorCheck,
} from './case-rules';
import { doneNow, duenessOf } from './case-due';
import { periodOf } from './case-sla';
import { mustNameResult, resultsStepMayName } from './case-results';
import { stepById, stepsOnTrack, type CaseState } from './case-state';

export type RequestedChannel = 'portal' | 'psc' | 'office';

export interface SubmitApplication {
  kind: 'submit';
  caseId: string;
  receiptNumber: string;
  serviceId: string;
  trackId?: string;
  channel: RequestedChannel;
  unit: string;
  applicant: { iin: string; fullName: string };
  occurredAt?: Date;
  startedAt?: Date;
  /** As sent: each value is checked to be a date string (cohortDatesOf). */
  cohortDates?: Record<string, unknown>;
}

export interface TakeStep {
  kind: 'take-step';
  stepId: string;
  occurredAt?: Date;
  startedAt?: Date;
  data: unknown;
}

export interface CancelApplication {
  kind: 'cancel';
  occurredAt?: Date;
  reason?: string;
}

export type CaseCommand = SubmitApplication | TakeStep | CancelApplication;

export interface DecideContext {
  catalog: Catalog;
  zone: TimeZone;
  /** Which dates the working-day calendar covers: a cohort date outside it could start no clock. */
  covers?: (date: string) => boolean;
  /** The working-day calendar: a step bounded by a period in working days (withinPeriod) is checked against it. */
  calendar: WorkingCalendar;
  now: Date;
  /** How far ahead of `now` an act's occurredAt may lie (clients' clocks are never exact); default 0. */
  toleranceMs?: number;
  principal: Principal;
}

/** Every way a command can be refused; the HTTP edge maps each kind to its status. */
export type CaseRejection =
  | { kind: 'invalid'; errors: DataProblem[] }
  | { kind: 'unknown-service'; serviceId: string; known: string[] }
  | { kind: 'unknown-step'; stepId: string; steps: string[] }
  | {
      kind: 'forbidden';
      detail: string;
      requiredRoles: string[];
      callerRoles: string[];
      requiredUnit?: string;
      callerUnit?: string;
    }
  | {
      kind: 'step-not-allowed';
      detail: string;
      stepId: string;
      caseStatus: string;
      openSteps: string[];
      callerMayTake: string[];
      missingPrerequisites?: string[];
    }
  | { kind: 'rule'; code: RuleCode; detail: string; field?: string; extensions?: Record<string, unknown> };

export type RuleCode =
  | 'intake-closed'
  | 'invalid-iin'
  | 'version-not-in-force'
  | 'channel-not-offered'
  | 'before-previous-act'
  | 'no-cancellation'
  | 'result-issued'
  | 'programme-too-long'
  | 'period-ended'
  | 'period-not-ended'
  | 'cohort-date-already-set';

export type Decision =
  { ok: true; version: RegulationVersion; events: DecidedEvent[] } | { ok: false; rejection: CaseRejection };

const refuse = (rejection: CaseRejection): Decision => ({ ok: false, rejection });

/** Which of a version's channels a requested channel is; `office` is the provider's own office or registry. */
export const CHANNEL_MAP: Record<RequestedChannel, readonly string[]> = {
  portal: ['portal'],
  psc: ['psc'],
  office: ['provider', 'provider-registry'],
};

export function decide(state: CaseState | null, command: CaseCommand, ctx: DecideContext): Decision {
  if (command.kind === 'submit')
    return state
      ? refuse({
          kind: 'step-not-allowed',
          detail: `case ${state.caseId} already exists`,
          stepId: 'application-submitted',
          caseStatus: state.status,
          openSteps: [],
          callerMayTake: [],
        })
      : decideSubmit(command, ctx);
  if (!state) throw new Error('a step or cancellation needs an existing case');
  const version = ctx.catalog.byId.get(state.versionId);
  if (!version) throw new Error(`the catalog no longer has ${state.versionId}`);
  return command.kind === 'take-step'
    ? decideStep(state, version, command, ctx)
    : decideCancel(state, version, command, ctx);
}

function businessTimes(
  command: { occurredAt?: Date; startedAt?: Date },
  ctx: DecideContext,
): { occurredAt: Date; startedAt: Date } | DataProblem[] {
  const occurredAt = command.occurredAt ?? ctx.now;
  const startedAt = command.startedAt ?? occurredAt;
  const problems: DataProblem[] = [];
  const tolerance = ctx.toleranceMs ?? 0;
  if (occurredAt.getTime() > ctx.now.getTime() + tolerance) {
    problems.push({
      field: 'occurredAt',
      problem: `${occurredAt.toISOString()} is in the future (server time ${ctx.now.toISOString()})`,
      allowed: `an instant not after now${tolerance > 0 ? ` + ${Math.round(tolerance / 1000)} s` : ''}`,
    });
  }
  if (startedAt.getTime() > occurredAt.getTime())
    problems.push({
      field: 'startedAt',
      problem: `${startedAt.toISOString()} is after occurredAt ${occurredAt.toISOString()}`,
      allowed: 'an instant not after occurredAt',
    });
  // An act's times start and stop its limits' clocks: one outside the working-day calendar's years makes the case's
  // SLA impossible to count (a start in 2010 took a case out of every overdue list and summary).
  for (const [field, instant] of [
    ['occurredAt', occurredAt],
    ['startedAt', startedAt],
  ] as const) {
    if (field === 'startedAt' && command.startedAt === undefined) continue;
    const date = ctx.zone.toLocal(instant).date;
    if (ctx.covers && !ctx.covers(date))
      problems.push({
        field,
        problem: `${instant.toISOString()} (${date}) is outside the years the working-day calendar covers: no deadline could be counted from it`,
        allowed: 'an instant within the calendar (GET /api/calendar/KZ/working-days shows its range)',
      });
  }
  return problems.length ? problems : { occurredAt, startedAt };
}

/** A step's act cannot have started before its case was filed: the filing's own start is the earliest there is. */
function startedBeforeTheCase(state: CaseState, times: { startedAt: Date }): DataProblem[] {
  const filed = Object.values(state.completed).find((c) => c.revision === 0)?.startedAt ?? state.submittedAt;
  return times.startedAt.getTime() < Date.parse(filed)
    ? [
        {
          field: 'startedAt',
          problem: `${times.startedAt.toISOString()} is before the case was filed (${filed})`,
          allowed: `an instant from ${filed} to occurredAt`,
        },
      ]
    : [];
}

function decideSubmit(command: SubmitApplication, ctx: DecideContext): Decision {
  const times = businessTimes(command, ctx);
  if (Array.isArray(times)) return refuse({ kind: 'invalid', errors: times });
  const { occurredAt, startedAt } = times;

  const iin = checkIin(command.applicant.iin);
  if (!iin.valid)
    return refuse({
      kind: 'rule',
      code: 'invalid-iin',
      field: 'applicant.iin',
      detail: `applicant.iin is not a valid IIN: ${iin.problem.message}`,
    });
  // The applicant's name, and the filing's fields stored in clear (the unit is any text the caller gives).
  const { applicant, unit, trackId: givenTrack } = command;
  const outOfPlace = iinsOutOfPlace(
    'ApplicationSubmitted',
    { applicant, unit, ...(givenTrack !== undefined ? { trackId: givenTrack } : {}) },
    applicant.iin,
    '',
  );
  if (outOfPlace.length > 0) return refuse({ kind: 'invalid', errors: outOfPlace });

  let version: RegulationVersion;
  try {
    version = resolveVersion(ctx.catalog, command.serviceId, occurredAt, ctx.zone);
  } catch (error) {
    if (error instanceof UnknownServiceError)
      return refuse({ kind: 'unknown-service', serviceId: command.serviceId, known: error.known });
    if (error instanceof NoVersionInForceError) {
      return refuse({
        kind: 'rule',
        code: 'version-not-in-force',
        field: 'occurredAt',
        detail: error.message,
        extensions: { serviceId: error.serviceId, localDate: error.localDate, versions: error.versions },
      });
    }
    throw error;
  }

  const tracks = version.tracks.map((t) => t.id);
  const trackId = command.trackId ?? (tracks.length === 1 ? tracks[0]! : undefined);
  if (trackId === undefined)
    return refuse({
      kind: 'invalid',
      errors: [
        {
          field: 'trackId',
          problem: `is required: ${version.versionId} has ${tracks.length} tracks`,
          allowed: tracks.join(' | '),
        },
      ],
    });
  if (!tracks.includes(trackId))
    return refuse({
      kind: 'invalid',
      errors: [
        {
          field: 'trackId',
          problem: `"${trackId}" is not a track of ${version.versionId}`,
          allowed: tracks.join(' | '),
        },
      ],
    });

  const channel = version.channels.find((c) => CHANNEL_MAP[command.channel].includes(c.id));
  if (!channel) {
    const offered = (Object.keys(CHANNEL_MAP) as RequestedChannel[]).filter((k) =>
      version.channels.some((c) => CHANNEL_MAP[k].includes(c.id)),
    );
    return refuse({
      kind: 'rule',
      code: 'channel-not-offered',
      field: 'channel',
      detail: `${version.versionId} does not take applications through "${command.channel}"; it offers ${offered.join(', ')}`,
      extensions: { offered },
    });
  }

  for (const window of version.intakeWindows.filter((w) => w.tracks.includes(trackId))) {
    if (window.spec.kind !== 'annual-window' || isWithinWindow(window.spec, occurredAt, ctx.zone)) continue;
    const opens = nextOpening(window.spec, occurredAt, ctx.zone);
    const closed = lastClosing(window.spec, occurredAt, ctx.zone);
    const local = (d: Date) => ctx.zone.formatLocal(d);
    return refuse({
      kind: 'rule',
      code: 'intake-closed',
      field: 'occurredAt',
      detail: `intake "${window.id}" of ${version.versionId} on track ${trackId} is closed at ${local(occurredAt)}: it last closed at ${local(closed)} and next opens at ${local(opens)} (Asia/Almaty)`,
      extensions: {
        window: window.id,
        closedAt: closed.toISOString(),
        opensAt: opens.toISOString(),
        clause: window.clause,
      },
    });
  }

  const step = stepsOnTrack(version, trackId).find((s) => s.after.length === 0);
  if (!step) throw new Error(`${version.versionId} has no first step on track ${trackId}`);
  const actor = actorFor(ctx.principal, step, {
    trackId,
    applicant: command.applicant,
    unit: command.unit,
    signatures: {},
  });
  if (!actor.ok) return refuse(forbidden(actor));
  const cohort = cohortDatesOf(command, version, trackId, actor, ctx, ctx.zone.toLocal(occurredAt).date);
  if (!cohort.ok) return refuse(cohort.rejection);

  const data: ApplicationSubmittedData = {
    caseId: command.caseId,
    serviceId: version.serviceId,
    versionId: version.versionId,
    trackId,
    channel: channel.id,
    requestedChannel: command.channel,
    unit: command.unit,
    applicant: { iin: command.applicant.iin, fullName: command.applicant.fullName },
    receiptNumber: command.receiptNumber,
    cohortDates: cohort.dates,
  };
  return {
    ok: true,
    version,
    events: [
      {
        type: 'ApplicationSubmitted',
        data,
        stepId: step.id,
        actor: actorOf(ctx.principal, actor),
        occurredAt,
        startedAt,
        clause: clauseReference(step.clause),
      },
    ],
  };
}

/**
 * The cohort dates of a filing. They start the provider's clocks (the corps "A" review runs from the end of document
 * acceptance), so they are the provider's to set: the applicant and the portal may send none (403), staff of the case's
 * unit may. Each must be a date (a string YYYY-MM-DD, never an array or object) the version declares, within the
 * version's effective period and the calendar. A date the text itself fixes is set from the filing: a cohort date that
 * only anchors annual windows (the Academy's enrolment, 24–25 August each year) is the filing's own local date, so the
 * window that follows the filing applies.
 */
function cohortDatesOf(
  command: SubmitApplication,
  version: RegulationVersion,
  trackId: string,
  actor: Extract<ActorCheck, { ok: true }>,
  ctx: DecideContext,
  filedOn: string,
): { ok: true; dates: Record<string, string> } | { ok: false; rejection: CaseRejection } {
  const sent = command.cohortDates ?? {};
  const given = Object.keys(sent);
  if (given.length > 0 && (actor.role === 'applicant' || EXTERNAL_ROLES.has(actor.role))) {
    return {
      ok: false,
      rejection: {
        kind: 'forbidden',
        detail: `cohortDates (${given.join(', ')}) start the provider's clocks and are set by the provider's staff of the case's unit, not by the ${actor.role === 'applicant' ? 'applicant' : actor.role}; omit the field`,
        requiredRoles: version.steps
          .find((s) => s.after.length === 0 && s.tracks.includes(trackId))!
          .roles.filter((r) => r !== 'applicant' && !EXTERNAL_ROLES.has(r)),
        callerRoles: ctx.principal.roles,
      },
    };
  }
  const cohortIds = version.cohortDates.map((c) => c.id);
  const problems: DataProblem[] = [];
  for (const [id, date] of Object.entries(sent)) {
    const field = `cohortDates.${id}`;
    const problem = !cohortIds.includes(id)
      ? {
          field,
          problem: `is not a cohort date of ${version.versionId}`,
          allowed: cohortIds.join(' | ') || 'none',
        }
      : cohortDateProblem(field, date, version, ctx);
    if (problem) problems.push(problem);
  }
  if (problems.length) return { ok: false, rejection: { kind: 'invalid', errors: problems } };
  const dates: Record<string, string> = { ...(sent as Record<string, string>) };
  for (const id of cohortIds) {
    if (dates[id] === undefined && fixedByText(version, id)) dates[id] = filedOn;
  }
  return { ok: true, dates };
}

/**
 * What is wrong with a cohort date's value, at the filing or recorded later (setsCohortDate): it must be one date (a
 * string YYYY-MM-DD, never an array or object), within the years the working-day calendar covers and the version's
 * effective period. Null when it is right.
 */
function cohortDateProblem(
  field: string,
  date: unknown,
  version: RegulationVersion,
  ctx: DecideContext,
): DataProblem | null {
  const until = version.effective.until ?? null;
  if (typeof date !== 'string')
    return {
      field,
      problem: `is ${Array.isArray(date) ? 'an array' : date === null ? 'null' : typeof date === 'object' ? 'an object' : `a ${typeof date}`}, not a date`,
      allowed: 'one date YYYY-MM-DD (a string)',
    };
  if (localDateProblem(date)) return { field, problem: localDateProblem(date)!, allowed: 'a date YYYY-MM-DD' };
  if (ctx.covers && !ctx.covers(date))
    return {
      field,
      problem: `${date} is outside the years the working-day calendar covers`,
      allowed: 'a date within the calendar (GET /api/calendar/KZ/working-days shows its range)',
    };
  if (date < version.effective.from || (until !== null && date > until))
    return {
      field,
      problem: `${date} is outside the period of ${version.versionId} (${version.effective.from} to ${until ?? 'open'})`,
      allowed: `a date from ${version.effective.from}${until ? ` to ${until}` : ''}`,
    };
  return null;
}

/**
 * The data of an act that records a cohort date after the filing (setsCohortDate): the step's cohort date (named or
 * left out, never another), and its date checked as a filing's is. The act keeps the cohort date's id.
 */
function recordedCohortDate(
  step: RegulationStep,
  data: Record<string, unknown>,
  version: RegulationVersion,
  ctx: DecideContext,
): { data: Record<string, unknown>; problems: DataProblem[] } {
  const id = step.setsCohortDate!;
  const problems: DataProblem[] = [];
  if (data.cohortDate !== undefined && data.cohortDate !== id)
    problems.push({
      field: 'data.cohortDate',
      problem: `"${String(data.cohortDate)}" is not the cohort date step ${step.id} records`,
      allowed: `${id} (or leave it out)`,
    });
  const dateProblem = cohortDateProblem('data.date', data.date, version, ctx);
  if (dateProblem) problems.push(dateProblem);
  return { data: { cohortDate: id, date: data.date }, problems };
}

/**
 * A cohort date is set once, at the filing or by its own act after it, and never changed: the clocks of the case and
 * of its cohort run from it, and a later date would move deadlines already running or missed.
 */
function cohortDateAlreadySet(
  state: CaseState,
  step: RegulationStep,
  data: Record<string, unknown>,
): CaseRejection | null {
  const id = step.setsCohortDate;
  const current = id === undefined ? undefined : state.cohortDates[id];
  if (id === undefined || current === undefined) return null;
  const done = state.completed[step.id];
  const by = done ? `by the act of revision ${done.revision} (${done.occurredAt})` : 'when the application was filed';
  const same = data.date === current;
  return {
    kind: 'rule',
    code: 'cohort-date-already-set',
    field: 'data.date',
    detail: same
      ? `${id} of this case is already ${current}, set ${by}; there is nothing to record`
      : `${id} of this case is already ${current}, set ${by}; a cohort date is set once and is not changed (${String(data.date)} was sent): the clocks that run from it would move`,
    extensions: {
      cohortDate: id,
      date: current,
      sent: data.date,
      setBy: done ? { revision: done.revision } : 'filing',
    },
  };
}

/** A cohort date the text fixes: every limit anchored on it is an annual window (its dates are the text's). */
function fixedByText(version: RegulationVersion, cohortDateId: string): boolean {
  const anchored = version.steps
    .flatMap((s) => s.limits)
    .filter((l) => 'cohortDate' in l.anchor && l.anchor.cohortDate === cohortDateId);
  return anchored.length > 0 && anchored.every((l) => l.spec.kind === 'annual-window');
}

function decideStep(state: CaseState, version: RegulationVersion, command: TakeStep, ctx: DecideContext): Decision {
  const reach = withinReach(ctx.principal, state, version);
  if (!reach.ok) return refuse(forbidden(reach));
  const step = stepById(version, command.stepId);
  if (!step)
    return refuse({
      kind: 'unknown-step',
      stepId: command.stepId,
      steps: stepsOnTrack(version, state.trackId).map((s) => s.id),
    });
  // Who may act comes before what they sent: a caller who may not take the step learns nothing from validation.
  const actor = actorFor(ctx.principal, step, state);
  if (!actor.ok) return refuse(forbidden(actor));
  const times = businessTimes(command, ctx);
  const parsed = parseStepData(step.eventType as never, command.data);
  const problems = [
    // A start given apart from the act's time (without one, the act's own time answers to the previous act's rule).
    ...(Array.isArray(times) ? times : command.startedAt ? startedBeforeTheCase(state, times) : []),
    ...(parsed.ok ? [] : parsed.problems),
  ];
  if (step.eventType === 'ApplicationSubmitted')
    return refuse(
      notAllowed(state, version, ctx, step, `step ${step.id} is recorded when the case is created (POST /api/cases)`),
    );
  if (parsed.ok && typeof parsed.data.resultId === 'string') {
    const results = resultsStepMayName(version, step, state.trackId);
    if (!step.terminal || step.result || !results.includes(parsed.data.resultId)) {
      problems.push({
        field: 'data.resultId',
        problem: `"${parsed.data.resultId}" is not a result step ${step.id} can issue on track ${state.trackId}`,
        allowed: step.terminal && !step.result ? results.join(' | ') : 'omit it: this step names its result',
      });
    }
  } else if (parsed.ok && mustNameResult(version, step, state.trackId))
    problems.push({
      field: 'data.resultId',
      problem: `required: step ${step.id} issues one of several documents on track ${state.trackId}, and the act names which`,
      allowed: resultsStepMayName(version, step, state.trackId).join(' | '),
    });
  if (parsed.ok) problems.push(...requiredDates(version, step, parsed.data, ctx));
  if (parsed.ok && step.setsCohortDate !== undefined) {
    const recorded = recordedCohortDate(step, parsed.data, version, ctx);
    problems.push(...recorded.problems);
    parsed.data = recorded.data;
  }
  if (parsed.ok)
    problems.push(...iinsOutOfPlace(step.eventType, parsed.data, applicantIinFor(ctx.principal, state), 'data.'));
  if (problems.length || Array.isArray(times) || !parsed.ok) return refuse({ kind: 'invalid', errors: problems });
  const tooLong = programmeTooLong(state, version, parsed.data, ctx.zone);
  if (tooLong) return refuse(tooLong);
  return record(state, version, step, times, parsed.data, actor, ctx);
}

/**
 * A date a limit counts from that this step's act records (the first testing day of a schedule: the limit of the
 * publication counts back from it, the testing month forward, either reading) must be in the act, and within the years
 * the working-day calendar covers, with the days counted from it: no deadline could be counted from it otherwise.
 */
function requiredDates(
  version: RegulationVersion,
  step: RegulationStep,
  data: Record<string, unknown>,
  ctx: DecideContext,
): DataProblem[] {
  const counted = version.steps.flatMap((s) =>
    s.limits.flatMap((limit) =>
      [
        { spec: limit.spec, anchor: limit.anchor },
        ...(limit.alternative?.anchor ? [{ spec: limit.alternative.spec, anchor: limit.alternative.anchor }] : []),
      ].flatMap(({ spec, anchor }) =>
        'stepDataDate' in anchor && anchor.stepDataDate.step === step.id
          ? [{ limit, spec, name: anchor.stepDataDate.field }]
          : [],
      ),
    ),
  );
  const problems = counted.flatMap(({ limit, spec, name }): DataProblem[] => {
    const field = `data.${name}`;
    const value = data[name];
    if (value === undefined)
      return [
        {
          field,
          problem: `is required: the limit ${limit.id} (${describeClause(limit.clause)}) counts from it`,
          allowed: 'a date YYYY-MM-DD',
        },
      ];
    if (typeof value === 'string' && ctx.covers && !ctx.covers(value)) {
      return [
        {
          field,
          problem: `${value} is outside the years the working-day calendar covers`,
          allowed: 'a date within the calendar (GET /api/calendar/KZ/working-days shows its range)',
        },
      ];
    }
    if (typeof value !== 'string' || !ctx.covers || localDateProblem(value) !== null) return [];
    // A limit counted back from the date (published 5 working days before testing starts) needs those days in the
    // calendar too: 2015-01-02 was taken, its count left the calendar, and the case's every deadline was lost with it.
    // Bounded generously: N working days back never span more than 2N + 14 calendar days here. A period counted forward
    // from it (a month of testing) needs its last day and the days off that may follow it.
    if (spec.kind === 'working-days-before' && !ctx.covers(addDays(value, -(2 * spec.days + 14))))
      return [
        {
          field,
          problem: `${value} is too near the start of the working-day calendar: the limit ${limit.id} counts ${spec.days} working days back from it`,
          allowed:
            'a date whose preceding working days are within the calendar (GET /api/calendar/KZ/working-days shows its range)',
        },
      ];
    const forward =
      spec.kind === 'calendar-period'
        ? addDays(addMonths(value, spec.months ?? 0), (spec.days ?? 0) + 14)
        : spec.kind === 'working-days'
          ? addDays(value, 2 * spec.days + 14)
          : null;
    if (forward !== null && !ctx.covers(forward))
      return [
        {
          field,
          problem: `${value} is too near the end of the working-day calendar: the limit ${limit.id} counts its period from it`,
          allowed:
            'a date whose following days are within the calendar (GET /api/calendar/KZ/working-days shows its range)',
        },
      ];
    return [];
  });
  // One problem a field: the first limit that finds it.
  return problems.filter((p, i) => problems.findIndex((q) => q.field === p.field) === i);
}

/**
 * A programme end beyond the longest study the regulation allows (the maxMonths of the track's by-programme limits,
 * counted from their anchor act, e.g. 24 months from the enrolment: order 184, appendix 4, p.5 pp.2) is refused.
 */
function programmeTooLong(
  state: CaseState,
  version: RegulationVersion,
  data: Record<string, unknown>,
  zone: TimeZone,
): CaseRejection | null {
  const endsOn = data.programmeEndsOn;
  if (typeof endsOn !== 'string') return null;
  for (const step of stepsOnTrack(version, state.trackId)) {
    for (const limit of step.limits) {
      if (limit.spec.kind !== 'by-programme' || !limit.spec.maxMonths || !('step' in limit.anchor)) continue;
      const anchor = state.completed[limit.anchor.step];
      if (!anchor) continue;
      const latest = addMonths(zone.toLocal(new Date(anchor.occurredAt)).date, limit.spec.maxMonths);
      if (endsOn <= latest) continue;
      return {
        kind: 'rule',
        code: 'programme-too-long',
        field: 'data.programmeEndsOn',
        detail: `the programme would end on ${endsOn}, more than ${limit.spec.maxMonths} months after ${limit.anchor.step} (${anchor.occurredAt}); ${describeClause(limit.clause)} allows at most ${latest}`,
        extensions: { latest, maxMonths: limit.spec.maxMonths, clause: limit.clause },
      };
    }
  }
  return null;
}

/**
 * The applicant's IIN as the caller may compare an act's text with it: theirs to write only for a caller who reads it
 * in full. For one who reads it masked (the portal, a state body) every IIN in the text is refused alike, so that the
 * answer to a step they may take does not tell them whether the IIN they wrote was the applicant's (12,000 guesses
 * with a valid check digit from the masked one).
 */
function applicantIinFor(principal: Principal, state: CaseState): string | null {
  return seesFullIin(principal, state) ? state.applicant.iin : null;
}

function decideCancel(
  state: CaseState,
  version: RegulationVersion,
  command: CancelApplication,
  ctx: DecideContext,
): Decision {
  const reach = withinReach(ctx.principal, state, version);
  if (!reach.ok) return refuse(forbidden(reach));
  const step = cancellationStep(version, state.trackId);
  if (!step) {
    return refuse({
      kind: 'rule',
      code: 'no-cancellation',
      detail: `${version.versionId} provides no cancellation of an application on track ${state.trackId}; the case ends only by its own steps`,
    });
  }
  // Who may cancel comes before what they sent, as for a step: the reason is checked against the applicant's IIN, and
  // a caller who may not cancel (the portal, a state body: within reach of every case) read from a 400 against a 403
  // whether the IIN they wrote was the applicant's.
  const actor = cancellerFor(ctx.principal, step, state);
  if (!actor.ok) return refuse(forbidden(actor));
  const times = businessTimes(command, ctx);
  // The reason is the cancellation act's text, checked as a step's reason is (hidden characters, blank text): the
  // route of its own skipped the act's schema, and an RLO or a zero-width space went into the log as typed.
  const parsed = parseStepData(step.eventType as never, command.reason ? { reason: command.reason } : {});
  const reason = parsed.ok ? parsed.data : {};
  const problems = [
    ...(Array.isArray(times) ? times : []),
    ...(parsed.ok ? [] : parsed.problems.map((p) => ({ ...p, field: p.field.replace(/^data\./, '') }))),
    ...iinsOutOfPlace(step.eventType, reason, applicantIinFor(ctx.principal, state), ''),
  ];
  if (Array.isArray(times) || problems.length > 0) return refuse({ kind: 'invalid', errors: problems });
  return record(state, version, step, times, reason, actor, ctx);
}

function record(
  state: CaseState,
  version: RegulationVersion,
  step: RegulationStep,
  times: { occurredAt: Date; startedAt: Date },
  data: Record<string, unknown>,
  actor: ActorCheck,
  ctx: DecideContext,
): Decision {
  const notAllowedHere = (detail: string) => refuse(notAllowed(state, version, ctx, step, detail));
  if (!step.tracks.includes(state.trackId))
    return notAllowedHere(`step ${step.id} is not on track ${state.trackId} of this case`);
  if (!actor.ok) return refuse(forbidden(actor));
  if (state.status !== 'open')
    return notAllowedHere(
      `the case is ${state.status}${state.closedAt ? ` since ${state.closedAt}` : ''}; no step may follow`,
    );
  const alreadySet = cohortDateAlreadySet(state, step, data);
  if (alreadySet) return refuse(alreadySet);
  const notRecordable = notRecordableReason(state, version, step);
  if (notRecordable) return notAllowedHere(notRecordable);
  const missing = missingPrerequisites(state, version, step);
  if (missing.length)
    return refuse({
      ...notAllowed(state, version, ctx, step, `step ${step.id} follows ${missing.join(', ')}, not done yet`),
      missingPrerequisites: missing,
    } as CaseRejection);
  // One reading of what is due serves both checks.
  const dueness = duenessOf(version, state.trackId, doneNow(state.completed));
  const notDue = notDueReason(state, version, step, dueness);
  if (notDue) return notAllowedHere(notDue);
  const waiting = waitingFor(state, version, step, dueness);
  if (waiting.length)
    return notAllowedHere(`step ${step.id} waits for ${waiting.join(', ')}, due in this case and not recorded yet`);
  const ended = periodEnded(state, version, step, times.occurredAt, actor, ctx);
  if (ended) return refuse(ended);
  const filingOpen = filingStillOpen(state, version, step, times.occurredAt, ctx);
  if (filingOpen) return refuse(filingOpen);
  if (blockedByResult(state, step) && state.result) {
    return refuse({
      kind: 'rule',
      code: 'result-issued',
      detail: `the result ${state.result.id} was already issued; an application can be ${step.eventType === 'ApplicationCancelled' ? 'cancelled' : 'refused'} only before its result`,
      extensions: { result: state.result },
    });
  }
  // A previous act that lies ahead of the recording clock was recorded while a clock ran ahead: it must not block the
  // case for ever. The act is recorded, and its metadata says that the previous act's time was ahead of the clock.
  const previousAhead = Date.parse(state.lastOccurredAt) > ctx.now.getTime() + (ctx.toleranceMs ?? 0);
  if (times.occurredAt.toISOString() < state.lastOccurredAt && !previousAhead) {
    return refuse({
      kind: 'rule',
      code: 'before-previous-act',
      field: 'occurredAt',
      detail: `${times.occurredAt.toISOString()} is before the case's previous act (${state.lastOccurredAt}); acts are recorded in the order they happened`,
      extensions: { previousActAt: state.lastOccurredAt },
    });
  }
  const startedEarly = startedBeforePrerequisite(state, version, step, times, ctx);
  if (startedEarly) return refuse(startedEarly);
  const flagged =
    previousAhead && times.occurredAt.toISOString() < state.lastOccurredAt
      ? { previousActAhead: state.lastOccurredAt }
      : {};
  return {
    ok: true,
    version,
    events: [
      {
        type: step.eventType as DecidedEvent['type'],
        data,
        stepId: step.id,
        actor: actorOf(ctx.principal, actor),
        occurredAt: times.occurredAt,
        startedAt: times.startedAt,
        clause: clauseReference(step.clause),
        ...flagged,
      },
    ],
  };
}

/**
 * An act whose recorded start lies before a step it follows was done: a limit timed from the act's own start
 * (anchor stepStarted: the test's 2 h 05 min) would count time the step before it took. A prerequisite recorded while
 * a clock ran ahead (see previousActAhead) does not count.
 */
function startedBeforePrerequisite(
  state: CaseState,
  version: RegulationVersion,
  step: RegulationStep,
  times: { occurredAt: Date; startedAt: Date },
  ctx: DecideContext,
): CaseRejection | null {
  if (times.startedAt.getTime() === times.occurredAt.getTime()) return null;
  const ahead = ctx.now.getTime() + (ctx.toleranceMs ?? 0);
  let latest: { stepId: string; at: string } | null = null;
  for (const id of prerequisitesOn(version, state.trackId, step)) {
    const at = state.completed[id]?.occurredAt;
    if (at && Date.parse(at) <= ahead && Date.parse(at) > times.startedAt.getTime() && (!latest || at > latest.at))
      latest = { stepId: id, at };
  }
  if (!latest) return null;
  return {
    kind: 'rule',
    code: 'before-previous-act',
    field: 'startedAt',
    detail: `${times.startedAt.toISOString()} is before step ${latest.stepId}, which step ${step.id} follows, was done (${latest.at}); a step starts once the steps it follows are done`,
    extensions: { previousActAt: latest.at, previousStepId: latest.stepId },
  };
}

/**
 * An act of a step bounded by a period (withinPeriod) at or after the period's end: the appeal after the commission's
 * days. The applicant's own act is judged by when it reached the service as well as by the time it claims: the later
 * of its occurredAt and the recording time less the clock tolerance. The general rules let any actor give an earlier
 * occurredAt (only the future and acts out of order are refused; a late record is flagged backDated, not refused), so
 * an appeal sent on 1 September as of 24 August read as filed in time. Staff recording an act they received earlier
 * keep its occurredAt: they are the provider, accountable for it, and the act is flagged backDated.
 */
function periodEnded(
  state: CaseState,
  version: RegulationVersion,
  step: RegulationStep,
  occurredAt: Date,
  actor: ActorCheck,
  ctx: DecideContext,
): CaseRejection | null {
  const period = periodOf(state, version, step, ctx.calendar);
  if (!period) return null;
  const byApplicant = actor.ok && actor.role === 'applicant' && !actor.onBehalfOf;
  const received = new Date(ctx.now.getTime() - (ctx.toleranceMs ?? 0));
  const judgedAt = byApplicant && received.getTime() > occurredAt.getTime() ? received : occurredAt;
  if (judgedAt.getTime() < period.deadline.getTime()) return null;
  const endedAt = ctx.zone.formatLocal(period.deadline);
  const when =
    judgedAt === occurredAt
      ? `the act is at ${ctx.zone.formatLocal(occurredAt)}`
      : `the act is at ${ctx.zone.formatLocal(occurredAt)} but reached the service at ${ctx.zone.formatLocal(ctx.now)}, and an applicant's own act is judged by when it was sent`;
  return {
    kind: 'rule',
    code: 'period-ended',
    field: 'occurredAt',
    detail: `step ${step.id} may be recorded only within the period ${period.stepId}/${period.limit.id} (${describeClause(period.limit.clause)}${period.limit.clause.quote ? `: «${period.limit.clause.quote}»` : ''}), which ended at ${endedAt} (Asia/Almaty); ${when}`,
    extensions: {
      periodEndedAt: period.deadline.toISOString(),
      allowed: `an instant before ${period.deadline.toISOString()}`,
      period: { stepId: period.stepId, limitId: period.limit.id },
      clause: period.limit.clause,
      ...(judgedAt === occurredAt ? {} : { receivedAt: ctx.now.toISOString() }),
    },
  };
}

/**
 * A step that waits for the answer to a filing (waitsFor a step whose limit bounds that filing, withinPeriod) may not
 * be recorded while the filing may still be made and has not been: not-admitted after the 2015 exams would close the
 * case and cut off an appeal the appeal commission still had its 5 working days to hear (order 184 app.3 p.7 pp.3).
 * Recorded from the period's end, or once the filing is made and answered (waitsFor). These are the periods that hold
 * the step in the case now, whatever the time of the act.
 */
export function filingPeriodsHolding(
  state: CaseState,
  version: RegulationVersion,
  step: RegulationStep,
  calendar: WorkingCalendar,
): { answer: string; filing: string; period: NonNullable<ReturnType<typeof periodOf>> }[] {
  const holding: { answer: string; filing: string; period: NonNullable<ReturnType<typeof periodOf>> }[] = [];
  for (const answer of step.waitsFor ?? []) {
    if (state.completed[answer]) continue;
    for (const filing of stepsOnTrack(version, state.trackId)) {
      if (filing.withinPeriod?.step !== answer || state.completed[filing.id]) continue;
      if (missingPrerequisites(state, version, filing).length > 0) continue;
      const period = periodOf(state, version, filing, calendar);
      if (period) holding.push({ answer, filing: filing.id, period });
    }
  }
  return holding;
}

function filingStillOpen(
  state: CaseState,
  version: RegulationVersion,
  step: RegulationStep,
  occurredAt: Date,
  ctx: DecideContext,
): CaseRejection | null {
  const hold = filingPeriodsHolding(state, version, step, ctx.calendar).find(
    (h) => occurredAt.getTime() < h.period.deadline.getTime(),
  );
  if (!hold) return null;
  const { answer, filing, period } = hold;
  return {
    kind: 'rule',
    code: 'period-not-ended',
    field: 'occurredAt',
    detail: `step ${step.id} waits for ${answer}, and step ${filing} may still be recorded within the period ${period.stepId}/${period.limit.id} (${describeClause(period.limit.clause)}${period.limit.clause.quote ? `: «${period.limit.clause.quote}»` : ''}), which ends at ${ctx.zone.formatLocal(period.deadline)} (Asia/Almaty); ${step.id} may be recorded from then, or once ${filing} is recorded and ${answer} answers it; the act is at ${ctx.zone.formatLocal(occurredAt)}`,
    extensions: {
      periodEndsAt: period.deadline.toISOString(),
      allowed: `an instant from ${period.deadline.toISOString()}, or once ${filing} is recorded and ${answer} answers it`,
      period: { stepId: period.stepId, limitId: period.limit.id },
      clause: period.limit.clause,
      mayStillBeRecorded: filing,
    },
  };
}

/**
 * The actor an act records. The applicant acting on their own case is recorded as the case's applicant (who belongs to
 * no unit of the provider, whatever the token says), not by their token's subject and name (CASE_APPLICANT_ACTOR).
 */
function actorOf(principal: Principal, check: Extract<ActorCheck, { ok: true }>): CaseActor {
  if (check.role === 'applicant' && !check.onBehalfOf) return { ...CASE_APPLICANT_ACTOR, role: 'applicant' };
  const unit = check.role === 'applicant' ? undefined : principal.unit;
  return {
    id: principal.id,
    name: principal.name,
    role: check.role,
    ...(unit !== undefined ? { unit } : {}),
    ...(check.onBehalfOf ? { onBehalfOf: check.onBehalfOf } : {}),
  };
}

function forbidden(check: Extract<ActorCheck, { ok: false }>): CaseRejection {
  const { reason, ok: _ok, ...rest } = check;
  return { kind: 'forbidden', detail: reason, ...rest };
}

function notAllowed(
  state: CaseState,
  version: RegulationVersion,
  ctx: DecideContext,
  step: RegulationStep,
  detail: string,
): Extract<CaseRejection, { kind: 'step-not-allowed' }> {
  const open = openSteps(state, version);
  return {
    kind: 'step-not-allowed',
    detail: `${detail}; steps open now: ${open.map((s) => s.id).join(', ') || 'none'}`,
    stepId: step.id,
    caseStatus: state.status,
    openSteps: open.map((s) => s.id),
    callerMayTake: open.filter((s) => actorFor(ctx.principal, s, state).ok).map((s) => s.id),
  };
}
