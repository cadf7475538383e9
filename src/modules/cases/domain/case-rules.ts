/**
 * Who may do which step of a case, and when: a step is open when the case is open, the step is on the
 * case's track and not done, and every step it follows (on that track) is done. An actor may take it
 * with one of its roles, acting for the case's unit (applicants: only on their own case). Pure.
 */
import type { Principal } from '../../identity/domain/principal';
import type { RegulationVersion } from '../../regulations/domain/catalog';
import { rolesOn, type RegulationStep } from '../../regulations/domain/regulation-schema';
import { doneNow, duenessOf, type Dueness } from './case-due';
import { stepsOnTrack, type CaseState } from './case-state';

/** Roles outside the provider's units (the e-government portal, other state bodies): not bound to the case's unit. */
export const EXTERNAL_ROLES: ReadonlySet<string> = new Set(['e-government-portal', 'state-body']);

/** The steps a step follows that exist on the track (a step may follow different steps on different tracks). */
const prerequisites = new WeakMap<RegulationStep, Map<string, readonly string[]>>();

export function prerequisitesOn(version: RegulationVersion, trackId: string, step: RegulationStep): readonly string[] {
  let byTrack = prerequisites.get(step);
  if (!byTrack) prerequisites.set(step, (byTrack = new Map()));
  let ids = byTrack.get(trackId);
  if (!ids) {
    const onTrack = new Set(stepsOnTrack(version, trackId).map((s) => s.id));
    byTrack.set(trackId, (ids = step.after.filter((id) => onTrack.has(id))));
  }
  return ids;
}

export function missingPrerequisites(state: CaseState, version: RegulationVersion, step: RegulationStep): string[] {
  return prerequisitesOn(version, state.trackId, step).filter((id) => !state.completed[id]);
}

/** The steps on a track that follow a step (name it in their after), by step: computed once per version and track. */
const followers = new WeakMap<RegulationVersion, Map<string, Map<string, readonly string[]>>>();

function followersOn(version: RegulationVersion, trackId: string): Map<string, readonly string[]> {
  let byTrack = followers.get(version);
  if (!byTrack) followers.set(version, (byTrack = new Map()));
  let byStep = byTrack.get(trackId);
  if (!byStep) {
    const found = new Map<string, string[]>();
    for (const s of stepsOnTrack(version, trackId))
      for (const id of prerequisitesOn(version, trackId, s)) found.set(id, [...(found.get(id) ?? []), s.id]);
    byTrack.set(trackId, (byStep = found));
  }
  return byStep;
}

/** A step done in the case that follows this one, if any. */
function doneFollower(state: CaseState, version: RegulationVersion, step: RegulationStep): string | undefined {
  return followersOn(version, state.trackId)
    .get(step.id)
    ?.find((id) => state.completed[id]);
}

/**
 * Whether a step may be recorded (again): not done yet, or repeatable; in both cases only while no step that follows it
 * is done. A step not done that a later step already followed was passed by a history recorded under an earlier
 * model of the version (a step split from another, such as the 2015 admission's acceptance): recording it now would
 * put it after the acts that follow it.
 */
export function recordable(state: CaseState, version: RegulationVersion, step: RegulationStep): boolean {
  if (state.completed[step.id] && !step.repeatable) return false;
  // A cohort date is set once: at the filing, or by its own step after it.
  if (step.setsCohortDate !== undefined && state.cohortDates[step.setsCohortDate] !== undefined) return false;
  return doneFollower(state, version, step) === undefined && endedBy(state, step) === undefined;
}

/** A step of `until` done in the case: this step's chance has passed. */
function endedBy(state: CaseState, step: RegulationStep): string | undefined {
  return step.until?.find((id) => state.completed[id]);
}

/** Why a step may not be recorded (again) now, for a refusal; null when it may (recordable). */
export function notRecordableReason(state: CaseState, version: RegulationVersion, step: RegulationStep): string | null {
  if (recordable(state, version, step)) return null;
  const done = state.completed[step.id];
  if (done && !step.repeatable) return `step ${step.id} is already done (revision ${done.revision})`;
  const ended = endedBy(state, step);
  if (ended) return `step ${step.id} can no longer be recorded: it may be recorded only until ${ended}, which is done`;
  if (done) return `step ${step.id} can no longer be recorded: a step that follows it is done`;
  return `step ${step.id} can no longer be recorded: the case went past it (${doneFollower(state, version, step)} is done), as recorded before the step was a step of its own`;
}

/** The steps that may be done now, by anyone: among them only those due (a refusal only after a negative outcome). */
export function openSteps(state: CaseState, version: RegulationVersion): RegulationStep[] {
  if (state.status !== 'open') return [];
  const dueness = duenessOf(version, state.trackId, doneNow(state.completed));
  return stepsOnTrack(version, state.trackId).filter(
    (step) =>
      recordable(state, version, step) &&
      !blockedByResult(state, step) &&
      missingPrerequisites(state, version, step).length === 0 &&
      mayBeTaken(step, dueness.get(step.id)) &&
      waitingFor(state, version, step, dueness).length === 0,
  );
}

/** The steps of `waitsFor` that hold this step now: due in the case and not done yet. */
export function waitingFor(
  state: CaseState,
  version: RegulationVersion,
  step: RegulationStep,
  dueness: ReadonlyMap<string, Dueness> = duenessOf(version, state.trackId, doneNow(state.completed)),
): string[] {
  return (step.waitsFor ?? []).filter((id) => !state.completed[id] && dueness.get(id) === 'due');
}

/** A step with a condition may be taken once it is due; any other step unless the case took a branch without it. */
export function mayBeTaken(step: RegulationStep, dueness: Dueness | undefined): boolean {
  return dueness === 'due' || (dueness === 'pending' && !step.dueWhen);
}

/** Why a step is not due now, for a refusal; null when it is. */
export function notDueReason(
  state: CaseState,
  version: RegulationVersion,
  step: RegulationStep,
  dueness: ReadonlyMap<string, Dueness> = duenessOf(version, state.trackId, doneNow(state.completed)),
): string | null {
  const stepDueness = dueness.get(step.id);
  if (mayBeTaken(step, stepDueness)) return null;
  const onTrack = new Set(stepsOnTrack(version, state.trackId).map((s) => s.id));
  const conditions = (step.dueWhen ?? [])
    .filter((d) => onTrack.has(d.step))
    .map((d) => (d.outcome === 'done' ? d.step : `${d.step} with a ${d.outcome} outcome`))
    .join(' or ');
  if (stepDueness === 'pending') return `step ${step.id} is due only after ${conditions}, not recorded yet`;
  return conditions
    ? `step ${step.id} is not due in this case: it follows ${conditions}, and the case went another way`
    : `step ${step.id} is not due in this case: a step it follows was not due`;
}

/** Cancellation and refusal are possible only before a result is issued. */
export function blockedByResult(state: CaseState, step: RegulationStep): boolean {
  return (
    (step.eventType === 'ApplicationCancelled' ||
      step.eventType === 'RefusalIssued' ||
      step.eventType === 'PortalRefusalIssued') &&
    state.result !== null
  );
}

export type ActorCheck =
  | { ok: true; role: string; onBehalfOf?: 'applicant' }
  | {
      ok: false;
      reason: string;
      requiredRoles: string[];
      callerRoles: string[];
      requiredUnit?: string;
      callerUnit?: string;
    };

/** Whether this caller may take this step on this case, and in which role. */
export function actorFor(
  principal: Principal,
  step: RegulationStep,
  state: Pick<CaseState, 'trackId' | 'unit' | 'applicant' | 'signatures'> & { completed?: CaseState['completed'] },
): ActorCheck {
  const callerRoles = principal.roles as string[];
  // A step shared by tracks may be given to different roles on each: only the case's track counts.
  const roles = rolesOn(step, state.trackId);
  const refuse = (reason: string, extra: Partial<Extract<ActorCheck, { ok: false }>> = {}): ActorCheck => ({
    ok: false,
    reason,
    requiredRoles: roles,
    callerRoles,
    ...extra,
  });
  if (callerRoles.every((r) => r === 'auditor')) return refuse('auditors read and never write');
  // Sign-offs matter only while the step waits for them; once done, the step is refused as done, for everyone alike.
  const signatures = state.completed?.[step.id] ? [] : (state.signatures[step.id] ?? []);
  const signed = new Set(signatures.map((s) => s.role));
  if (signatures.some((s) => s.actorId === principal.id))
    return refuse(`${principal.id} has already signed step ${step.id}; each of its roles signs in person`);
  const candidates = roles.filter((r) => callerRoles.includes(r) && !signed.has(r));
  if (candidates.length === 0) {
    const pending = step.requiresAll ? roles.filter((r) => !signed.has(r)) : roles;
    const onTrack = step.rolesByTrack ? ` on track ${state.trackId}` : '';
    return refuse(
      `step ${step.id} is done by ${pending.join(' or ')}${onTrack}; the caller has ${callerRoles.join(', ')}`,
      { requiredRoles: pending },
    );
  }
  let failure: ActorCheck | null = null;
  for (const role of candidates) {
    if (role === 'applicant') {
      if (isCaseApplicant(principal, state)) return { ok: true, role };
      failure ??= refuse('an applicant acts only on a case filed with their own IIN');
      continue;
    }
    // A token may hold the applicant's role beside a staff one (a civil servant who applies): on their own case they
    // are its applicant only, or one person could admit, score and sign their own test.
    if (principal.iin !== undefined && principal.iin === state.applicant.iin) {
      failure ??= refuse(
        `the caller is this case's applicant: on their own case they act as its applicant only, never in role ${role}`,
      );
      continue;
    }
    if (EXTERNAL_ROLES.has(role) || principal.unit === state.unit) return { ok: true, role };
    failure ??= refuse(`acts for unit "${principal.unit}"; this case belongs to unit "${state.unit}"`, {
      requiredUnit: state.unit,
      callerUnit: principal.unit,
    });
  }
  return failure!;
}

/** Whether the caller is the case's applicant: they hold the applicant role and the IIN the case was filed with. */
export function isCaseApplicant(
  principal: Pick<Principal, 'roles' | 'iin'>,
  state: Pick<CaseState, 'applicant'>,
): boolean {
  return principal.roles.includes('applicant') && principal.iin !== undefined && principal.iin === state.applicant.iin;
}

/**
 * Whether the caller is within reach of this case at all, whatever the step: an applicant of a case filed with their
 * own IIN, the provider's staff of the case's unit, auditors and administrators (who read every case), and the portal
 * and other state bodies (bound to no unit) only where they have a part (externalHasPart): the cases they may read.
 * Checked first on every command to an existing case, so a caller outside it learns nothing of the case (its
 * revision, its steps, its state, what its open steps say of its outcomes) from how the command is refused.
 */
export function withinReach(principal: Principal, state: CaseState, version: RegulationVersion): ActorCheck {
  const callerRoles = principal.roles as string[];
  const reaches = (role: string): boolean =>
    role === 'applicant'
      ? isCaseApplicant(principal, state)
      : EXTERNAL_ROLES.has(role)
        ? externalHasPart(principal, state, version)
        : role === 'auditor' || role === 'admin' || principal.unit === state.unit;
  const role = callerRoles.find(reaches);
  if (role !== undefined) return { ok: true, role };
  const applicant = callerRoles.includes('applicant');
  const external = callerRoles.some((r) => EXTERNAL_ROLES.has(r));
  return {
    ok: false,
    reason: applicant
      ? 'an applicant acts only on a case filed with their own IIN'
      : external && !callerRoles.some((r) => !EXTERNAL_ROLES.has(r))
        ? 'the e-government portal and state bodies act only on a case where they recorded an act or a step is theirs to take now'
        : `acts for unit "${principal.unit}"; this case belongs to unit "${state.unit}"`,
    requiredRoles: [],
    callerRoles,
    ...(applicant || external ? {} : { requiredUnit: state.unit, callerUnit: principal.unit }),
  };
}

/**
 * Whether the portal or a state body has a part in this case: an act it recorded, or an open step it may take now.
 * Bound to no unit, they reach every case's id; only such a case do they read or act on.
 */
export function externalHasPart(principal: Principal, state: CaseState, version: RegulationVersion): boolean {
  return (
    state.acts.some((act) => act.actor.id === principal.id) || stepsCallerMayTake(state, version, principal).length > 0
  );
}

/** Ids of the open steps this caller may take now. */
export function stepsCallerMayTake(state: CaseState, version: RegulationVersion, principal: Principal): string[] {
  return openSteps(state, version)
    .filter((step) => actorFor(principal, step, state).ok)
    .map((s) => s.id);
}

/** The step of this track that cancels an application, if the regulation has one. */
export function cancellationStep(version: RegulationVersion, trackId: string): RegulationStep | undefined {
  return stepsOnTrack(version, trackId).find((s) => s.eventType === 'ApplicationCancelled');
}

/**
 * Who may cancel: the applicant, or a PSC operator of the case's unit on the applicant's behalf when the
 * application came in through a PSC.
 */
export function cancellerFor(principal: Principal, step: RegulationStep, state: CaseState): ActorCheck {
  const direct = actorFor(principal, step, state);
  if (direct.ok) return direct;
  if (
    state.requestedChannel === 'psc' &&
    (principal.roles as string[]).includes('psc-operator') &&
    !(principal.iin !== undefined && principal.iin === state.applicant.iin)
  ) {
    if (principal.unit === state.unit) return { ok: true, role: 'psc-operator', onBehalfOf: 'applicant' };
    return {
      ok: false,
      reason: `acts for unit "${principal.unit}"; this case belongs to unit "${state.unit}"`,
      requiredRoles: [...rolesOn(step, state.trackId), 'psc-operator'],
      callerRoles: principal.roles,
      requiredUnit: state.unit,
      callerUnit: principal.unit,
    };
  }
  return {
    ...direct,
    requiredRoles:
      state.requestedChannel === 'psc' ? [...rolesOn(step, state.trackId), 'psc-operator'] : direct.requiredRoles,
  };
}
