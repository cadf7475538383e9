/**
 * The durable deadline scheduler. It follows the log (case acts and the deadlines streams) from the position its index
 * reflects, keeps per case the next instant one of its open limits reaches (TimerStore), wakes at the earliest, and
 * records what is due as DeadlineApproaching / DeadlineBreached in the case's `deadlines-<caseId>` stream.
 *
 * What fires is decided from the log alone, at the moment of firing: the case is folded, its instants computed, and
 * those already in its deadlines stream left out; the append carries the deadlines stream's expected revision. So an
 * instant fires exactly once however many schedulers run (the loser of a race is refused, reads again and finds
 * nothing left), an instant missed while no scheduler ran is recorded on the next start (late, with by how much), and
 * a limit that stopped applying before its instant has nothing to fire. A lease in the index file keeps the other
 * schedulers sharing it idle while one fires.
 */
import { randomUUID } from 'node:crypto';
import type { Logger } from 'pino';
import type { EventLog, RecordedEvent } from '../../event-log/event-log.port';
import { WrongExpectedRevisionError } from '../../event-log/event-log.errors';
import type { WorkingCalendar } from '../../calendar/domain/working-calendar';
import { caseVersion, type Catalog } from '../../regulations/domain/catalog';
import { CASE_STREAM_PREFIX, caseStreamId } from '../../cases/domain/case-event';
import { foldCase } from '../../cases/domain/case-state';
import { toCaseEvent } from '../../cases/commands/case-repository';
import { caseInstants, pendingInstants, type CaseInstant } from '../domain/case-instants';
import {
  DEADLINES_STREAM_PREFIX,
  deadlinesStreamId,
  sealDeadlineEvents,
  type CaseFacts,
} from '../domain/deadline-events';
import { DEFAULT_WARNING_POLICY, type WarningPolicy } from '../domain/warning-instants';
import type { CaseTimerUpdate, TimerStore } from './timer-store';
import { StepLoop } from '../step-loop';

export const SCHEDULER_LEASE = 'deadline-scheduler';
const FIRING_CONCURRENCY = 32;

export interface DeadlineSchedulerOptions {
  log: EventLog;
  catalog: Catalog;
  calendar: WorkingCalendar;
  store: TimerStore;
  policy?: WarningPolicy;
  clock?: () => Date;
  logger?: Logger;
  /** This scheduler's name in the lease; a fresh UUID by default. */
  holder?: string;
  /** How long the lease lasts without renewal (default 30 s): another scheduler takes over after it. */
  leaseTtlMs?: number;
  /** The longest sleep between looks at the log (default 1 s). */
  pollMs?: number;
  /** Log events read per step while following the log, cases fired per step (default 500). */
  batchSize?: number;
  /**
   * Instants before this are never recorded: a scheduler started for the first time over a log of years would
   * otherwise record every warning and breach of every past case, late.
   */
  recordFrom?: Date;
}

export interface SchedulerStats {
  /** Cases with an instant still to come or due. */
  openCases: number;
  /** Cases with an instant due now and not yet recorded. */
  dueCases: number;
  /** Recorded in the log since this scheduler started following it (by any scheduler). */
  approaching: number;
  breached: number;
  /** Of those recorded, how many more than a minute after their instant. */
  late: number;
  /** Appends refused because another scheduler had recorded first. */
  conflicts: number;
  /** Whether this scheduler holds the lease. */
  leader: boolean;
  /** Seconds the earliest due instant has been waiting (0 when none is due). */
  lagSeconds: number;
  /** The earliest instant still to record (ms), null when none is. */
  nextAt: number | null;
  position: number;
}

interface CaseTimerState {
  facts: CaseFacts;
  due: CaseInstant[];
  next: CaseInstant | null;
  previous: { revision: number; hash: string | null } | null;
  /** The largest log position among the events the fold read: the index keeps the instant of the newest fold. */
  asOf: number;
}

export class DeadlineScheduler {
  private readonly clock: () => Date;
  private readonly policy: WarningPolicy;
  private readonly holder: string;
  private readonly leaseTtlMs: number;
  private readonly pollMs: number;
  private readonly batchSize: number;
  private counters = { approaching: 0, breached: 0, late: 0, conflicts: 0 };
  private leader = false;

  private readonly loop: StepLoop;
  /**
   * Ids of the events this scheduler appended and has not read back yet while following the log. Its appends set their
   * case's next instant already (fireCase, from its fold before the append; a newer fold's, another scheduler's,
   * stands: TimerStore keeps the newest); read back, only an append it did not make, or an act, makes the case be
   * looked at again. Each id leaves the set when it is read back; a sync that reaches the head empties it.
   */
  private readonly ownAppends = new Set<string>();

  constructor(private readonly options: DeadlineSchedulerOptions) {
    this.clock = options.clock ?? (() => new Date());
    this.policy = options.policy ?? DEFAULT_WARNING_POLICY;
    this.holder = options.holder ?? randomUUID();
    this.leaseTtlMs = options.leaseTtlMs ?? 30_000;
    this.pollMs = options.pollMs ?? 1_000;
    this.batchSize = options.batchSize ?? 500;
    // A step, then sleep until the next instant or at most pollMs.
    this.loop = new StepLoop(
      'the deadline scheduler',
      () => this.tick(),
      () => {
        const next = this.options.store.earliest();
        return Math.max(10, Math.min(this.pollMs, next ? next.nextAt - this.clock().getTime() : this.pollMs));
      },
      options.logger,
    );
  }

  /** Brings the index up to the head of the log; answers how many events it read. */
  async sync(): Promise<number> {
    let seen = 0;
    for (;;) {
      const after = this.options.store.position();
      const events = await this.options.log.readAll({
        after,
        maxCount: this.batchSize,
        filter: { streamPrefixes: [CASE_STREAM_PREFIX, DEADLINES_STREAM_PREFIX] },
      });
      if (events.length === 0) {
        // Everything appended before this sync has been read: an id left (a store that gives ids back in another
        // form, say) would only make its case be looked at again.
        this.ownAppends.clear();
        return seen;
      }
      seen += events.length;
      this.count(events);
      const cases = new Set<string>();
      for (const event of events) if (!this.ownAppends.delete(event.id)) cases.add(caseIdOf(event));
      const now = this.clock();
      const timers: CaseTimerUpdate[] = [];
      for (const caseId of cases) timers.push(timerOf(caseId, await this.load(caseId, now)));
      this.options.store.update(timers, events[events.length - 1]!.position);
    }
  }

  /** Records every instant due now, if this scheduler holds the lease; answers how many events it appended. */
  async fireDue(): Promise<number> {
    const now = this.clock();
    this.leader = this.options.store.acquire(SCHEDULER_LEASE, this.holder, now.getTime(), this.leaseTtlMs).held;
    if (!this.leader) return 0;
    let fired = 0;
    for (;;) {
      const due = this.options.store.due(now.getTime(), this.batchSize);
      if (due.length === 0) return fired;
      // Cases a few dozen at a time: their appends share the log's group commits; each case's own stays one append.
      const queue = due.map((d) => d.caseId);
      await Promise.all(
        Array.from({ length: Math.min(FIRING_CONCURRENCY, queue.length) }, async () => {
          for (let caseId = queue.shift(); caseId !== undefined; caseId = queue.shift()) {
            const recorded = await this.fireCase(caseId, now);
            fired += recorded;
          }
        }),
      );
    }
  }

  /** One look: follow the log, then fire what is due. */
  async tick(): Promise<{ read: number; fired: number }> {
    const read = await this.sync();
    const fired = await this.fireDue();
    return { read, fired };
  }

  /** Runs until stop(): a tick, then sleep until the next instant or at most `pollMs`. */
  start(): void {
    this.loop.start();
  }

  async stop(): Promise<void> {
    await this.loop.stop();
    this.options.store.release(SCHEDULER_LEASE, this.holder);
  }

  stats(): SchedulerStats {
    const now = this.clock().getTime();
    const counts = this.options.store.counts(now);
    const earliest = this.options.store.earliest();
    return {
      openCases: counts.open,
      dueCases: counts.due,
      ...this.counters,
      leader: this.leader,
      lagSeconds: earliest && earliest.nextAt <= now ? (now - earliest.nextAt) / 1000 : 0,
      nextAt: earliest?.nextAt ?? null,
      position: this.options.store.position(),
    };
  }

  /** Counted as the log has them, whoever recorded them: a retried or raced append is in the log once. */
  private count(events: readonly RecordedEvent[]): void {
    for (const event of events) {
      if (event.type === 'DeadlineBreached') this.counters.breached++;
      else if (event.type === 'DeadlineApproaching') this.counters.approaching++;
      else continue;
      if ((event.data as { late?: unknown }).late === true) this.counters.late++;
    }
  }

  private async fireCase(caseId: string, now: Date): Promise<number> {
    for (let attempt = 1; ; attempt++) {
      const state = await this.load(caseId, now);
      if (!state || state.due.length === 0) {
        this.options.store.update([timerOf(caseId, state)]);
        return 0;
      }
      const sealed = sealDeadlineEvents(state.facts, state.due, state.previous, now);
      try {
        await this.options.log.append(
          deadlinesStreamId(caseId),
          sealed.map(({ id, type, data, metadata }) => ({
            id,
            type,
            data,
            metadata: metadata as unknown as Record<string, unknown>,
          })),
          state.previous ? state.previous.revision : 'no_stream',
        );
      } catch (error) {
        if (!(error instanceof WrongExpectedRevisionError) || attempt >= 5) throw error;
        // Another scheduler recorded first: read again, and fire only what it left.
        this.counters.conflicts++;
        continue;
      }
      this.options.logger?.info(
        {
          caseId,
          recorded: sealed.map((e) => ({
            type: e.type,
            key: e.data.key,
            late: e.data.late,
            lateByMs: e.data.lateByMs,
          })),
        },
        'deadline instants recorded',
      );
      // From the fold before the append: an act another scheduler looked at since, in a newer fold, keeps its instant.
      this.options.store.update([{ caseId, nextAt: state.next ? Date.parse(state.next.at) : null, asOf: state.asOf }]);
      for (const event of sealed) this.ownAppends.add(event.id);
      return sealed.length;
    }
  }

  /** The case as the log has it now: its instants due and next, and its deadlines stream's end. */
  private async load(caseId: string, now: Date): Promise<CaseTimerState | null> {
    const recorded = await this.options.log.readStream(caseStreamId(caseId));
    if (recorded.length === 0) return null;
    const versionOf = (id: string) => caseVersion(this.options.catalog, id);
    const state = foldCase(recorded.map(toCaseEvent), versionOf)!;
    const from = this.options.recordFrom?.getTime() ?? Number.NEGATIVE_INFINITY;
    const instants = caseInstants(state, versionOf(state.versionId), this.options.calendar, this.policy).filter(
      (i) => Date.parse(i.at) >= from,
    );
    const deadlines = await this.options.log.readStream(deadlinesStreamId(caseId));
    const fired = new Set(deadlines.map((e) => String((e.data as { key?: unknown }).key)));
    const last = deadlines[deadlines.length - 1];
    return {
      asOf: Math.max(recorded[recorded.length - 1]!.position, last?.position ?? 0),
      facts: { caseId, unit: state.unit, serviceId: state.serviceId, versionId: state.versionId },
      ...pendingInstants(instants, fired, now),
      previous: last ? { revision: last.revision, hash: (last.metadata.hash as string | undefined) ?? null } : null,
    };
  }
}

function caseIdOf(event: RecordedEvent): string {
  return event.streamId.startsWith(DEADLINES_STREAM_PREFIX)
    ? event.streamId.slice(DEADLINES_STREAM_PREFIX.length)
    : event.streamId.slice(CASE_STREAM_PREFIX.length);
}

/** The index's entry for a case from its fold (null: the case has no acts). */
function timerOf(caseId: string, state: CaseTimerState | null): CaseTimerUpdate {
  return { caseId, nextAt: nextAtOf(state), asOf: state?.asOf ?? 0 };
}

function nextAtOf(state: CaseTimerState | null): number | null {
  if (!state) return null;
  if (state.due.length > 0) return Date.parse(state.due[0]!.at);
  return state.next ? Date.parse(state.next.at) : null;
}
