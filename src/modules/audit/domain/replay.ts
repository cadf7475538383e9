/**
 * A case as it stood at an instant or a revision, replayed from its own events (never from a read
 * model), with the SLA rows as they stood then. Pure.
 */
import type { WorkingCalendar } from '../../calendar/domain/working-calendar';
import type { RegulationVersion } from '../../regulations/domain/catalog';
import type { CaseEvent } from '../../cases/domain/case-event';
import { caseSla, type SlaRowWithResult } from '../../cases/domain/case-sla';
import { evolve, type CaseState } from '../../cases/domain/case-state';

/** Which clock cuts the history: business time (when acts happened) or server time (when they were recorded). */
export type TimeAxis = 'occurred' | 'recorded';

export type ReplayCut = { asOf: Date; axis: TimeAxis } | { atRevision: number };

export type ReplayOutcome =
  | { ok: true; state: CaseState; events: CaseEvent[]; asOf: Date; rows: SlaRowWithResult[] }
  | { ok: false; field: 'query.asOf' | 'query.atRevision'; problem: string; allowed: string };

const instantOf = (event: CaseEvent, axis: TimeAxis): number =>
  new Date(axis === 'occurred' ? event.metadata.occurredAt : event.metadata.recordedAt).getTime();

export function replayCase(
  events: readonly CaseEvent[],
  version: RegulationVersion,
  calendar: WorkingCalendar,
  cut: ReplayCut,
): ReplayOutcome {
  const last = events.length - 1;
  let kept: CaseEvent[];
  let asOf: Date;
  if ('atRevision' in cut) {
    if (cut.atRevision > last)
      return {
        ok: false,
        field: 'query.atRevision',
        problem: `revision ${cut.atRevision} is past the end of the case (last revision ${last})`,
        allowed: `0–${last}`,
      };
    kept = events.slice(0, cut.atRevision + 1);
    // SLA as it stood right after that act.
    asOf = new Date(Math.max(...kept.map((e) => instantOf(e, 'occurred'))));
  } else {
    kept = events.filter((e) => instantOf(e, cut.axis) <= cut.asOf.getTime());
    const first = events[0]!;
    if (kept.length === 0 || kept[0] !== first) {
      return {
        ok: false,
        field: 'query.asOf',
        problem: `${cut.asOf.toISOString()} is before the case existed (${cut.axis === 'occurred' ? 'submitted' : 'recorded'} ${new Date(instantOf(first, cut.axis)).toISOString()})`,
        allowed: 'an instant at or after the submission',
      };
    }
    asOf = cut.asOf;
  }
  let state: CaseState | null = null;
  for (const event of kept) state = evolve(state, event, version);
  return { ok: true, state: state!, events: kept, asOf, rows: caseSla(state!, version, calendar, asOf) };
}
