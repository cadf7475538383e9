/**
 * What a demo run wrote, read back from the event log itself (not from the seeder's own bookkeeping):
 * cases per version and track with their status, events, back-dated acts, appeals, refusals, failed tests
 * and the SLA rows as of a given instant.
 */
import type { WorkingCalendar } from '../modules/calendar/domain/working-calendar';
import type { EventLog, RecordedEvent } from '../modules/event-log/event-log.port';
import type { Catalog } from '../modules/regulations/domain/catalog';
import { toCaseEvent } from '../modules/cases/commands/case-repository';
import { CASE_STREAM_PREFIX } from '../modules/cases/domain/case-event';
import { caseSla, type SlaStatus } from '../modules/cases/domain/case-sla';
import { foldCase, type CaseStatus } from '../modules/cases/domain/case-state';

export interface DemoSummary {
  cases: number;
  events: number;
  backDated: number;
  byTrack: { versionId: string; trackId: string; cases: number; statuses: Record<CaseStatus, number> }[];
  statuses: Record<CaseStatus, number>;
  eventTypes: Record<string, number>;
  appeals: { opened: number; upheld: number; rejected: number };
  portalRefusals: number;
  failedTests: number;
  sla: Record<SlaStatus, number>;
  /** Open cases with at least one overdue SLA row at `asOf`. */
  openOverdue: number;
}

const emptyStatuses = (): Record<CaseStatus, number> => ({ open: 0, completed: 0, refused: 0, cancelled: 0 });

/** Reads the case events after `after` and summarises them. */
export async function summarizeDemo(
  log: EventLog,
  catalog: Catalog,
  calendar: WorkingCalendar,
  options: { after: number; asOf: Date },
): Promise<DemoSummary> {
  const streams = new Map<string, RecordedEvent[]>();
  let after = options.after;
  for (;;) {
    const batch = await log.readAll({ after, maxCount: 5000, filter: { streamPrefixes: [CASE_STREAM_PREFIX] } });
    if (batch.length === 0) break;
    for (const event of batch) {
      const list = streams.get(event.streamId) ?? [];
      list.push(event);
      streams.set(event.streamId, list);
    }
    after = batch[batch.length - 1]!.position;
  }

  const summary: DemoSummary = {
    cases: 0,
    events: 0,
    backDated: 0,
    byTrack: [],
    statuses: emptyStatuses(),
    eventTypes: {},
    appeals: { opened: 0, upheld: 0, rejected: 0 },
    portalRefusals: 0,
    failedTests: 0,
    sla: { met: 0, breached: 0, open: 0, overdue: 0, 'not-applicable': 0, waiting: 0 },
    openOverdue: 0,
  };
  const tracks = new Map<string, DemoSummary['byTrack'][number]>();
  for (const recorded of streams.values()) {
    const events = recorded.sort((a, b) => a.revision - b.revision).map(toCaseEvent);
    // A stream that started before `after` (seeded with --force on top of older cases) is not this run's case.
    if (events[0]?.revision !== 0) continue;
    const state = foldCase(events, (id) => catalog.byId.get(id)!)!;
    const version = catalog.byId.get(state.versionId)!;
    summary.cases++;
    summary.statuses[state.status]++;
    const key = `${state.versionId}\n${state.trackId}`;
    const row = tracks.get(key) ?? {
      versionId: state.versionId,
      trackId: state.trackId,
      cases: 0,
      statuses: emptyStatuses(),
    };
    row.cases++;
    row.statuses[state.status]++;
    tracks.set(key, row);
    for (const event of events) {
      summary.events++;
      summary.eventTypes[event.type] = (summary.eventTypes[event.type] ?? 0) + 1;
      if (event.metadata.backDated) summary.backDated++;
      if (event.type === 'AppealOpened') summary.appeals.opened++;
      if (event.type === 'AppealResolved') summary.appeals[event.data.decision === 'upheld' ? 'upheld' : 'rejected']++;
      if (
        (event.type === 'RefusalIssued' || event.type === 'PortalRefusalIssued') &&
        event.metadata.actor.role === 'e-government-portal'
      )
        summary.portalRefusals++;
      if ((event.type === 'TestCompleted' || event.type === 'ExamResultRecorded') && event.data.passed === false)
        summary.failedTests++;
    }
    const rows = caseSla(state, version, calendar, options.asOf);
    for (const r of rows) summary.sla[r.status]++;
    if (state.status === 'open' && rows.some((r) => r.status === 'overdue')) summary.openOverdue++;
  }
  summary.byTrack = [...tracks.values()].sort(
    (a, b) => a.versionId.localeCompare(b.versionId) || a.trackId.localeCompare(b.trackId),
  );
  return summary;
}

/** The summary as the command prints it. */
export function formatSummary(summary: DemoSummary): string {
  const pct = (n: number, of: number) => (of === 0 ? '0.0' : ((100 * n) / of).toFixed(1));
  const statusLine = (s: Record<CaseStatus, number>) =>
    (['completed', 'refused', 'cancelled', 'open'] as const).map((k) => `${k} ${String(s[k]).padStart(3)}`).join('  ');
  const versionWidth = Math.max(...summary.byTrack.map((r) => r.versionId.length), 7);
  const trackWidth = Math.max(...summary.byTrack.map((r) => r.trackId.length), 5);
  const slaTotal = summary.sla.met + summary.sla.breached + summary.sla.open + summary.sla.overdue;
  return [
    `cases per version and track:`,
    ...summary.byTrack.map(
      (r) =>
        `  ${r.versionId.padEnd(versionWidth)}  ${r.trackId.padEnd(trackWidth)}  ${String(r.cases).padStart(4)}   ${statusLine(r.statuses)}`,
    ),
    `  ${'all'.padEnd(versionWidth)}  ${''.padEnd(trackWidth)}  ${String(summary.cases).padStart(4)}   ${statusLine(summary.statuses)}`,
    `events written: ${summary.events} (${Object.entries(summary.eventTypes)
      .sort((a, b) => b[1] - a[1])
      .map(([t, n]) => `${t} ${n}`)
      .join(', ')})`,
    `back-dated acts: ${summary.backDated} (${pct(summary.backDated, summary.events)} % of events)`,
    `appeals: ${summary.appeals.opened} opened, ${summary.appeals.upheld} upheld, ${summary.appeals.rejected} rejected; portal refusals: ${summary.portalRefusals}; failed tests and exams: ${summary.failedTests}`,
    `SLA rows: ${summary.sla.met} met, ${summary.sla.breached} breached (${pct(summary.sla.breached, summary.sla.met + summary.sla.breached)} % of finished), ${summary.sla.overdue} overdue, ${summary.sla.open} open; ${summary.openOverdue} open cases have an overdue step (of ${slaTotal} rows; ${summary.sla['not-applicable']} more not applicable, ${summary.sla.waiting} waiting for the date their clock counts from)`,
    `compliance rate (met / (met + breached + overdue)): ${pct(summary.sla.met, summary.sla.met + summary.sla.breached + summary.sla.overdue)} %`,
  ].join('\n');
}
