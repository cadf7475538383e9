/**
 * For every deadline of a case: which event started the clock, which clause sets the limit, each day
 * counted and each day skipped with its reason and act, the reading applied and the other one. Pure.
 */
import type { WorkingCalendar } from '../../calendar/domain/working-calendar';
import type { DeadlineExplanation } from '../../deadlines/domain/compute-deadline';
import type { RegulationVersion } from '../../regulations/domain/catalog';
import { describeSpec, readingOf } from '../../regulations/domain/lint';
import { citeClause, type ClauseCitation } from '../../regulations/domain/clause-citation';
import type { CaseEvent } from '../../cases/domain/case-event';
import { caseSla, type SlaRow } from '../../cases/domain/case-sla';
import type { CaseState } from '../../cases/domain/case-state';

export interface AnchorEvent {
  revision: number;
  type: string;
  stepId: string;
  occurredAt: string;
  startedAt: string;
}

export interface ExplainedDeadline extends Omit<SlaRow, 'alternative'> {
  /** The event whose act started the clock; null when a cohort date did. */
  anchorEvent: AnchorEvent | null;
  /** The clause as people read it (Russian); `citation` has it in Russian, Kazakh and English. */
  clauseText: string;
  citation: ClauseCitation;
  applied: {
    spec: string;
    rule: 'only-reading' | ReturnType<typeof readingOf>['rule'];
    reason: string | null;
    /** Null while the row waits for the date its clock counts from (status `waiting`): nothing is counted yet. */
    explanation: DeadlineExplanation | null;
  };
  alternative: {
    spec: string;
    /** Where the other reading counts from another act or date: what, and when its clock started. */
    anchor?: SlaRow['anchor'];
    startedAt?: string | null;
    clauseText: string;
    citation: ClauseCitation;
    deadline: string | null;
    status: SlaRow['status'];
    explanation: DeadlineExplanation;
  } | null;
  /** The event that stopped the clock (the step's completion), if any. */
  completedBy: AnchorEvent | null;
}

const anchorOf = (event: CaseEvent | undefined): AnchorEvent | null =>
  event
    ? {
        revision: event.revision,
        type: event.type,
        stepId: event.metadata.stepId,
        occurredAt: event.metadata.occurredAt,
        startedAt: event.metadata.startedAt,
      }
    : null;

export function explainCaseSla(
  state: CaseState,
  events: readonly CaseEvent[],
  version: RegulationVersion,
  calendar: WorkingCalendar,
  asOf: Date,
): ExplainedDeadline[] {
  const byRevision = new Map(events.map((e) => [e.revision, e]));
  const completing = (stepId: string) => {
    const done = state.completed[stepId];
    return done ? byRevision.get(done.revision) : undefined;
  };
  return caseSla(state, version, calendar, asOf, { withDays: true }).map((row) => {
    const limit = version.steps.find((s) => s.id === row.stepId)!.limits.find((l) => l.id === row.limitId)!;
    // The act whose time (or recorded date) started the clock: the other reading's where the act's own start is not
    // recorded (startNotRecorded), since the row counts from there.
    const counted = row.startNotRecorded && row.alternative?.anchor ? row.alternative.anchor : row.anchor;
    const anchorStep =
      'step' in counted
        ? counted.step
        : 'stepStarted' in counted
          ? counted.stepStarted
          : 'stepDataDate' in counted
            ? counted.stepDataDate.step
            : null;
    const reading = readingOf(limit);
    const { result, alternativeResult, alternative, ...plain } = row;
    return {
      ...plain,
      anchorEvent: anchorStep ? anchorOf(completing(anchorStep)) : null,
      clauseText: citeClause(row.clause).ru,
      citation: citeClause(row.clause),
      applied: {
        spec: describeSpec(row.spec),
        rule: limit.alternative ? reading.rule : 'only-reading',
        reason: limit.appliedReason ?? null,
        explanation: result ? result.explanation : null,
      },
      alternative:
        alternative && alternativeResult
          ? {
              spec: describeSpec(alternative.spec),
              ...(alternative.anchor ? { anchor: alternative.anchor, startedAt: alternative.startedAt ?? null } : {}),
              clauseText: citeClause(alternative.clause).ru,
              citation: citeClause(alternative.clause),
              deadline: alternative.deadline,
              status: alternative.status,
              explanation: alternativeResult.explanation,
            }
          : null,
      completedBy: row.completedAt ? anchorOf(completing(row.stepId)) : null,
    };
  });
}
