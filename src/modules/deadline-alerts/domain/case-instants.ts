/**
 * The timer instants of one case: for every limit that applies, its warnings and its deadline, each while the
 * limit's clock was still running (before its step was done, or its case closed). Computed from the case's SLA rows
 * as its recorded acts make them, so a limit that stops applying (a case that ended with a result, a branch not
 * taken) has none. Pure.
 */
import type { WorkingCalendar } from '../../calendar/domain/working-calendar';
import type { ClauseRef, LimitSpec } from '../../deadlines/domain/limit';
import type { RegulationVersion } from '../../regulations/domain/catalog';
import { caseSla } from '../../cases/domain/case-sla';
import type { CaseState } from '../../cases/domain/case-state';
import { limitInstants, thresholdsFor, type WarningPolicy } from './warning-instants';

export interface CaseInstant {
  /** Unique per case: the limit, the threshold and the deadline it is a share of (a moved deadline warns anew). */
  key: string;
  stepId: string;
  limitId: string;
  clause: ClauseRef;
  kind: LimitSpec['kind'];
  startedAt: string;
  deadline: string;
  /** Percent of the limit's time; 100 is the breach. */
  threshold: number;
  at: string;
}

/** Every acts' completion has occurred by the time it is recorded: the far future sees them all. */
const ALL_RECORDED = new Date(8_640_000_000_000_000);

export function instantKey(stepId: string, limitId: string, threshold: number, deadline: string): string {
  return `${stepId}/${limitId}/${threshold}@${deadline}`;
}

export function caseInstants(
  state: CaseState,
  version: RegulationVersion,
  calendar: WorkingCalendar,
  policy: WarningPolicy,
): CaseInstant[] {
  const thresholds = thresholdsFor(policy, state.serviceId, state.versionId);
  const closedAt = state.closedAt ? Date.parse(state.closedAt) : Number.POSITIVE_INFINITY;
  const instants: CaseInstant[] = [];
  for (const row of caseSla(state, version, calendar, ALL_RECORDED)) {
    // A row waiting for the date its clock counts from has no deadline to warn of yet.
    if (row.status === 'not-applicable' || row.deadline === null || row.startedAt === null) continue;
    const deadline = new Date(row.deadline);
    // The clock runs until the step is done or the case closes; a warning is due before that, a breach at it too
    // (an act at its deadline is late: the deadline is the first instant the limit is exceeded).
    const end = row.completedAt ? Math.min(Date.parse(row.completedAt), closedAt) : closedAt;
    for (const { threshold, at } of limitInstants(
      row.kind,
      new Date(row.startedAt),
      deadline,
      thresholds,
      calendar,
      row.opensAt ? new Date(row.opensAt) : undefined,
    )) {
      const ms = at.getTime();
      if (threshold === 100 ? ms > end : ms >= end) continue;
      instants.push({
        key: instantKey(row.stepId, row.limitId, threshold, row.deadline),
        stepId: row.stepId,
        limitId: row.limitId,
        clause: row.clause,
        kind: row.kind,
        startedAt: row.startedAt,
        deadline: row.deadline,
        threshold,
        at: at.toISOString(),
      });
    }
  }
  return instants.sort((a, b) => a.at.localeCompare(b.at) || a.key.localeCompare(b.key));
}

/** The instants not yet recorded, split into those due at `now` and the next one after it. */
export function pendingInstants(
  instants: readonly CaseInstant[],
  fired: ReadonlySet<string>,
  now: Date,
): { due: CaseInstant[]; next: CaseInstant | null } {
  const due: CaseInstant[] = [];
  let next: CaseInstant | null = null;
  for (const instant of instants) {
    if (fired.has(instant.key)) continue;
    if (Date.parse(instant.at) <= now.getTime()) due.push(instant);
    else if (!next) next = instant;
  }
  return { due, next };
}
