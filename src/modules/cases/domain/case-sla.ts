/**
 * The SLA of a case, computed from its acts and the regulation, never typed in: one row per step and
 * limit whose clock has started. A row is met or breached once its step is done, and open or overdue
 * before. Where the regulation contradicts itself, the other reading's deadline and status come along. Pure.
 */
import type { WorkingCalendar } from '../../calendar/domain/working-calendar';
import { dayNumber } from '../../calendar/domain/local-date';
import { computeDeadline, type DeadlineResult } from '../../deadlines/domain/compute-deadline';
import type { ClauseRef, Limit, LimitSpec } from '../../deadlines/domain/limit';
import type { RegulationVersion } from '../../regulations/domain/catalog';
import type { RegulationStep } from '../../regulations/domain/regulation-schema';
import { prerequisitesOn } from './case-rules';
import { stepsOnTrack, type CaseState } from './case-state';

export type SlaStatus = 'met' | 'breached' | 'open' | 'overdue';

export interface SlaRow {
  stepId: string;
  limitId: string;
  clause: ClauseRef;
  kind: LimitSpec['kind'];
  spec: LimitSpec;
  /** What started the clock: a step's completion or start, or a cohort date. */
  anchor: Limit['anchor'];
  startedAt: string;
  /** The first instant at which the limit is exceeded; null while a by-programme limit has no programme. */
  deadline: string | null;
  /** For annual windows: when acting became possible. */
  opensAt?: string;
  completedAt: string | null;
  status: SlaStatus;
  /** The other reading where the text contradicts itself. */
  alternative: { spec: LimitSpec; clause: ClauseRef; deadline: string | null; status: SlaStatus } | null;
}

/** Whether a limit applies to this case: its clause's track, and its intake channels. */
export function limitApplies(limit: Limit, state: Pick<CaseState, 'trackId' | 'channel'>): boolean {
  return (!limit.clause.track || limit.clause.track === state.trackId) && (!limit.channels || limit.channels.includes(state.channel));
}

/** The instant a limit's clock started, or null while it has not (as of `asOf`). */
export function anchorInstant(limit: Limit, state: CaseState, calendar: WorkingCalendar, asOf: Date): Date | null {
  const anchor = limit.anchor;
  let instant: Date | null = null;
  if ('step' in anchor) instant = doneBy(state, anchor.step, asOf) ? new Date(state.completed[anchor.step]!.occurredAt) : null;
  else if ('stepStarted' in anchor) instant = doneBy(state, anchor.stepStarted, asOf) ? new Date(state.completed[anchor.stepStarted]!.startedAt) : null;
  else {
    const date = state.cohortDates[anchor.cohortDate];
    instant = date ? calendar.timeZone.toInstant(date, 0) : null;
  }
  return instant && instant.getTime() <= asOf.getTime() ? instant : null;
}

function doneBy(state: CaseState, stepId: string, asOf: Date): boolean {
  const done = state.completed[stepId];
  return done !== undefined && new Date(done.occurredAt).getTime() <= asOf.getTime();
}

/**
 * A row's status at asOf. A step left undone when its case closed is no longer open: breached when its
 * deadline had passed at the close, met (nothing missed) when it had not.
 */
export function statusOf(deadline: Date | null, completedAt: Date | null, asOf: Date, closedAt: Date | null = null): SlaStatus {
  if (completedAt) return deadline && completedAt.getTime() >= deadline.getTime() ? 'breached' : 'met';
  if (closedAt) return deadline && deadline.getTime() <= closedAt.getTime() ? 'breached' : 'met';
  return deadline && asOf.getTime() >= deadline.getTime() ? 'overdue' : 'open';
}

/** The by-programme deadline: the end of the programme's last day. */
export function programmeDeadline(state: CaseState, calendar: WorkingCalendar): Date | undefined {
  return state.programmeEndsOn ? calendar.timeZone.endOfDay(dayNumber(state.programmeEndsOn)) : undefined;
}

export interface SlaRowWithResult extends SlaRow {
  /** The engine's result, whose explanation is built only when read. */
  result: DeadlineResult;
  alternativeResult: DeadlineResult | null;
}

/** Every SLA row of the case as it stood at `asOf` (acts that occurred later are not counted). */
export function caseSla(state: CaseState, version: RegulationVersion, calendar: WorkingCalendar, asOf: Date, explain: { withDays?: boolean } = {}): SlaRowWithResult[] {
  const rows: SlaRowWithResult[] = [];
  const closedAt = state.closedAt && new Date(state.closedAt).getTime() <= asOf.getTime() ? new Date(state.closedAt) : null;
  // Bulk computation leaves out the day-by-day list; an auditor's explanation asks for it.
  const options = { withoutDays: !explain.withDays, programmeDeadline: programmeDeadline(state, calendar) };
  for (const step of stepsOnTrack(version, state.trackId)) {
    const completedAt = doneBy(state, step.id, asOf) ? new Date(state.completed[step.id]!.occurredAt) : null;
    if (!completedAt && step.optional && !reachable(state, version, step, asOf)) continue;
    for (const limit of step.limits) {
      if (!limitApplies(limit, state)) continue;
      const anchor = anchorInstant(limit, state, calendar, asOf);
      if (!anchor) continue;
      const result = computeDeadline(limit, anchor, calendar, options);
      // A step left undone by a case that closed: only a deadline that had already passed at the close counts.
      if (!completedAt && closedAt && !(result.deadline && result.deadline.getTime() <= closedAt.getTime())) continue;
      const status = statusOf(result.deadline, completedAt, asOf, closedAt);
      const alternative = limit.alternative ? computeDeadline({ ...limit, spec: limit.alternative.spec, clause: limit.alternative.clause }, anchor, calendar, options) : null;
      rows.push({
        stepId: step.id,
        limitId: limit.id,
        clause: limit.clause,
        kind: limit.spec.kind,
        spec: limit.spec,
        anchor: limit.anchor,
        startedAt: anchor.toISOString(),
        deadline: result.deadline?.toISOString() ?? null,
        ...(result.opensAt ? { opensAt: result.opensAt.toISOString() } : {}),
        completedAt: completedAt?.toISOString() ?? null,
        status,
        alternative:
          limit.alternative && alternative
            ? { spec: limit.alternative.spec, clause: limit.alternative.clause, deadline: alternative.deadline?.toISOString() ?? null, status: statusOf(alternative.deadline, completedAt, asOf, closedAt) }
            : null,
        result,
        alternativeResult: alternative,
      });
    }
  }
  return rows;
}

/** An optional step counts only once it could have been taken (its prerequisites were done by `asOf`). */
function reachable(state: CaseState, version: RegulationVersion, step: RegulationStep, asOf: Date): boolean {
  return prerequisitesOn(version, state.trackId, step).every((id) => doneBy(state, id, asOf));
}
