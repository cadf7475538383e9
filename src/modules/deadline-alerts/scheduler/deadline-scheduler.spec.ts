/**
 * The scheduler against the real SQLite event log and its real index file, with an injected clock (no sleeping).
 * The case: order 184's personnel reserve (track A) filed on the portal on Sunday 6 March 2016 at 11:00 Almaty time;
 * its registration and assignment limits (1 working day) skip Monday 7 March (a day off moved from Saturday 5 March)
 * and the 8 March holiday: 50 % at 12:00 and 80 % at 19:12 on Wednesday 9 March, the deadline at 24:00 that day.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadCalendars } from '../../calendar/domain/load-calendar';
import { loadCatalog } from '../../regulations/domain/catalog';
import { CaseWalk, makeIin } from '../../../../test/support/case-specification';
import { caseStreamId } from '../../cases/domain/case-event';
import { verifyChain } from '../../cases/domain/hash-chain';
import { openSqliteEventLog } from '../../event-log/sqlite/sqlite-event-log';
import type { EventLog } from '../../event-log/event-log.port';
import { deadlinesStreamId, type DeadlineEventData } from '../domain/deadline-events';
import { DeadlineScheduler } from './deadline-scheduler';
import { TimerStore } from './timer-store';

const DATA = join(__dirname, '../../../../data');
const catalog = loadCatalog(join(DATA, 'regulations'));
const calendar = loadCalendars(join(DATA, 'calendars')).get('KZ')!;
const version = catalog.byId.get('personnel-reserve/order-184-2015')!;
const almaty = (local: string) => new Date(`${local}+06:00`);

let dir: string;
let log: EventLog;
let now: Date;
const stores: TimerStore[] = [];

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'deadline-scheduler-'));
  log = openSqliteEventLog({ file: join(dir, 'events.db'), checkpointer: false });
  now = almaty('2016-03-06T11:00:00');
});

afterEach(async () => {
  for (const store of stores.splice(0)) store.close();
  await log.close();
  rmSync(dir, { recursive: true, force: true });
});

function scheduler(
  options: { storeDir?: string; holder?: string; recordFrom?: Date; log?: EventLog } = {},
): DeadlineScheduler {
  const store = new TimerStore(options.storeDir ?? dir);
  stores.push(store);
  return new DeadlineScheduler({
    log: options.log ?? log,
    catalog,
    calendar,
    store,
    clock: () => now,
    ...(options.holder ? { holder: options.holder } : {}),
    ...(options.recordFrom ? { recordFrom: options.recordFrom } : {}),
  });
}

/** Files the case and appends its events to the log; later acts go through `record`. */
async function fileCase(): Promise<CaseWalk> {
  const walk = new CaseWalk(catalog, calendar.timeZone, version, 'competition-recommended', {
    unit: 'astana',
    iin: makeIin('880101', 3, 123),
    start: now,
  });
  walk.submit(undefined, { channel: 'portal' });
  await record(walk, 0);
  return walk;
}

async function record(walk: CaseWalk, from: number): Promise<void> {
  const events = walk.events.slice(from);
  await log.append(
    caseStreamId(walk.state.caseId),
    events.map((e) => ({ type: e.type, data: e.data, metadata: e.metadata as unknown as Record<string, unknown> })),
    from === 0 ? 'no_stream' : from - 1,
  );
}

async function recorded(caseId: string): Promise<Array<{ type: string } & DeadlineEventData>> {
  return (await log.readStream(deadlinesStreamId(caseId))).map((e) => ({
    type: e.type,
    ...(e.data as DeadlineEventData),
  }));
}

const summary = (events: Array<{ type: string } & DeadlineEventData>) =>
  events.map((e) => `${e.type} ${e.stepId} ${e.threshold}${e.late ? ` late ${e.lateByMs / 60_000} min` : ''}`);

describe('the deadline scheduler', () => {
  it('wakes at the next instant and records each warning and the breach once, on time, in a chained stream of its own', async () => {
    const walk = await fileCase();
    const s = scheduler();
    await s.tick();
    expect(s.stats()).toMatchObject({ openCases: 1, nextAt: almaty('2016-03-09T12:00:00').getTime() });
    now = almaty('2016-03-09T11:59:59');
    expect((await s.tick()).fired).toBe(0);
    now = almaty('2016-03-09T12:00:00');
    await s.tick();
    now = almaty('2016-03-09T19:12:00');
    await s.tick();
    await s.tick();
    now = almaty('2016-03-10T00:00:00');
    await s.tick();
    const events = await recorded(walk.state.caseId);
    expect(summary(events)).toEqual([
      'DeadlineApproaching assigned-to-employee 50',
      'DeadlineApproaching documents-registered 50',
      'DeadlineApproaching assigned-to-employee 80',
      'DeadlineApproaching documents-registered 80',
      'DeadlineBreached assigned-to-employee 100',
      'DeadlineBreached documents-registered 100',
    ]);
    const breach = events.find((e) => e.type === 'DeadlineBreached')!;
    expect(breach).toMatchObject({
      deadline: almaty('2016-03-10T00:00:00').toISOString(),
      dueAt: almaty('2016-03-10T00:00:00').toISOString(),
      recordedAt: now.toISOString(),
      late: false,
      lateByMs: 0,
    });
    expect(breach.clause).toMatchObject({ act: 'order-184-2015', appendix: 2, paragraph: 7 });
    const stream = await log.readStream(deadlinesStreamId(walk.state.caseId));
    expect(verifyChain(stream).valid).toBe(true);
    // What is left: the review's limit, counted from the filing too (3 working days, its half at 12:00 on 10 March).
    expect(s.stats().nextAt).toBe(almaty('2016-03-10T12:00:00').getTime());
  });

  it('a restart while instants pass: the next scheduler records the missed ones at once, as late and by how much, and nothing twice', async () => {
    const walk = await fileCase();
    const first = scheduler();
    await first.tick();
    await first.stop();
    stores.pop()!.close();
    // Down from Sunday until 20:00 on Wednesday: both warnings passed meanwhile.
    now = almaty('2016-03-09T20:00:00');
    const second = scheduler();
    await second.tick();
    await second.tick();
    await second.sync();
    expect(summary(await recorded(walk.state.caseId))).toEqual([
      'DeadlineApproaching assigned-to-employee 50 late 480 min',
      'DeadlineApproaching documents-registered 50 late 480 min',
      'DeadlineApproaching assigned-to-employee 80 late 48 min',
      'DeadlineApproaching documents-registered 80 late 48 min',
    ]);
    expect(second.stats()).toMatchObject({ approaching: 4, late: 4, dueCases: 0 });
  });

  it('the index file lost: a scheduler rebuilds it from the log and fires nothing already recorded', async () => {
    const walk = await fileCase();
    now = almaty('2016-03-09T12:30:00');
    await scheduler().tick();
    const other = mkdtempSync(join(tmpdir(), 'deadline-index-'));
    try {
      const rebuilt = scheduler({ storeDir: other });
      expect((await rebuilt.tick()).fired).toBe(0);
      expect((await recorded(walk.state.caseId)).length).toBe(2);
    } finally {
      rmSync(other, { recursive: true, force: true });
    }
  });

  it('two schedulers racing with indexes of their own: each instant is recorded once (the second append is refused by the expected revision or recognised as the same events)', async () => {
    const walk = await fileCase();
    const otherDir = mkdtempSync(join(tmpdir(), 'deadline-race-'));
    try {
      const a = scheduler({ holder: 'a' });
      const b = scheduler({ storeDir: otherDir, holder: 'b' });
      await Promise.all([a.sync(), b.sync()]);
      now = almaty('2016-03-10T00:00:01');
      await Promise.all([a.fireDue(), b.fireDue(), a.fireDue(), b.fireDue()]);
      await Promise.all([a.sync(), b.sync()]);
      const events = await recorded(walk.state.caseId);
      expect(events.map((e) => e.key).sort()).toEqual([...new Set(events.map((e) => e.key))].sort());
      expect(events).toHaveLength(6);
      expect(a.stats()).toMatchObject({ approaching: 4, breached: 2 });
      expect(b.stats()).toMatchObject({ approaching: 4, breached: 2 });
      expect(verifyChain(await log.readStream(deadlinesStreamId(walk.state.caseId))).valid).toBe(true);
    } finally {
      rmSync(otherDir, { recursive: true, force: true });
    }
  });

  it('its own records read back while following the log do not make it fold their case again; a record another scheduler made does, and both keep the same next instant', async () => {
    const walk = await fileCase();
    const otherDir = mkdtempSync(join(tmpdir(), 'deadline-own-'));
    // The real log, with its case-stream reads counted per scheduler.
    const counted = () => {
      const reads = { caseStreams: 0 };
      const view = new Proxy(log, {
        get(target, name, receiver) {
          if (name === 'readStream')
            return (streamId: string, ...rest: unknown[]) => {
              if (streamId === caseStreamId(walk.state.caseId)) reads.caseStreams++;
              return (target.readStream as (...args: unknown[]) => unknown).call(target, streamId, ...rest);
            };
          const value = Reflect.get(target, name, receiver) as unknown;
          return typeof value === 'function' ? (value as (...args: unknown[]) => unknown).bind(target) : value;
        },
      });
      return { reads, view };
    };
    const a = counted();
    const b = counted();
    try {
      const fire = scheduler({ holder: 'fire', log: a.view });
      const watch = scheduler({ holder: 'watch', storeDir: otherDir, log: b.view });
      await Promise.all([fire.sync(), watch.sync()]);
      now = almaty('2016-03-09T12:00:00');
      expect(await fire.fireDue()).toBe(2);
      const before = { fire: a.reads.caseStreams, watch: b.reads.caseStreams };
      await Promise.all([fire.sync(), watch.sync()]);
      // Before this, the scheduler that recorded the two warnings folded the case again when it read them back.
      expect(a.reads.caseStreams - before.fire).toBe(0);
      expect(b.reads.caseStreams - before.watch).toBe(1);
      expect(fire.stats()).toMatchObject({
        approaching: 2,
        dueCases: 0,
        nextAt: almaty('2016-03-09T19:12:00').getTime(),
      });
      expect(watch.stats()).toMatchObject({
        approaching: 2,
        dueCases: 0,
        nextAt: almaty('2016-03-09T19:12:00').getTime(),
      });
    } finally {
      rmSync(otherDir, { recursive: true, force: true });
    }
  });

  /**
   * The real log, with `work` run once inside the scheduler's next call of `at`: reading the case's deadlines stream
   * (its fold has read the case's acts already), or appending its records (before the append, or after it).
   */
  function interleaved(at: 'deadlines-read' | 'before-append' | 'after-append', work: () => Promise<void>): EventLog {
    let pending: (() => Promise<void>) | null = work;
    const once = async () => {
      const run = pending;
      pending = null;
      if (run) await run();
    };
    return new Proxy(log, {
      get(target, name, receiver) {
        if (name === 'readStream' && at === 'deadlines-read')
          return async (...args: Parameters<EventLog['readStream']>) => {
            if (args[0].startsWith('deadlines-')) await once();
            return target.readStream(...args);
          };
        if (name === 'append' && at !== 'deadlines-read')
          return async (...args: Parameters<EventLog['append']>) => {
            if (at === 'before-append') await once();
            const result = await target.append(...args);
            if (at === 'after-append') await once();
            return result;
          };
        const value = Reflect.get(target, name, receiver) as unknown;
        return typeof value === 'function' ? (value as (...a: unknown[]) => unknown).bind(target) : value;
      },
    });
  }

  /** The next instant a scheduler with an index of its own makes of the log. */
  async function freshNextAt(): Promise<number | null> {
    const otherDir = mkdtempSync(join(tmpdir(), 'deadline-fresh-'));
    try {
      const fresh = scheduler({ storeDir: otherDir, holder: 'fresh' });
      await fresh.sync();
      return fresh.stats().nextAt;
    } finally {
      rmSync(otherDir, { recursive: true, force: true });
    }
  }

  // Found by review: a scheduler wrote a case's next instant from a fold taken before an act that another scheduler
  // sharing the index had already looked at, and nothing read that act again. The index now keeps the newest fold's.
  it.each(['before-append', 'after-append'] as const)(
    'schedulers sharing an index: an act another one looks at while this one records (%s) keeps its instant in the index',
    async (at) => {
      const walk = await fileCase();
      const watcher = scheduler({ holder: 'watcher' });
      const firing = scheduler({
        holder: 'firing',
        log: interleaved(at, async () => {
          walk.take('documents-registered', { at: now });
          walk.take('assigned-to-employee', { at: now });
          await record(walk, 1);
          await watcher.sync();
        }),
      });
      await firing.sync();
      now = almaty('2016-03-09T12:00:00');
      expect(await firing.fireDue()).toBe(2);
      await firing.sync();
      await watcher.sync();
      const expected = await freshNextAt();
      // The acts moved it: the warnings at 19:12 no longer apply.
      expect(expected).toBe(almaty('2016-03-10T12:00:00').getTime());
      expect(firing.stats().nextAt).toBe(expected);
    },
  );

  it("schedulers sharing an index: two following the log at once, the one whose fold is older does not replace the newer one's instant", async () => {
    const walk = await fileCase();
    const watcher = scheduler({ holder: 'watcher' });
    await watcher.sync();
    walk.take('documents-registered', { at: almaty('2016-03-07T10:00:00') });
    await record(walk, 1);
    // Its fold reads the case's acts (the registration), then another act lands and the watcher looks at it.
    const following = scheduler({
      holder: 'following',
      log: interleaved('deadlines-read', async () => {
        walk.take('assigned-to-employee', { at: almaty('2016-03-07T11:00:00') });
        await record(walk, 2);
        await watcher.sync();
      }),
    });
    await following.sync();
    const expected = await freshNextAt();
    expect(expected).not.toBe(almaty('2016-03-09T12:00:00').getTime());
    expect(following.stats().nextAt).toBe(expected);
  });

  it('two schedulers sharing an index: only the lease holder fires; the other takes over when the lease is released', async () => {
    const walk = await fileCase();
    const a = scheduler({ holder: 'a' });
    const b = scheduler({ holder: 'b' });
    await a.sync();
    now = almaty('2016-03-09T11:59:50');
    expect(await a.fireDue()).toBe(0);
    expect(a.stats().leader).toBe(true);
    now = almaty('2016-03-09T12:00:00');
    expect(await b.fireDue()).toBe(0);
    expect(b.stats().leader).toBe(false);
    await a.stop();
    expect(await b.fireDue()).toBe(2);
    expect(summary(await recorded(walk.state.caseId))).toEqual([
      'DeadlineApproaching assigned-to-employee 50',
      'DeadlineApproaching documents-registered 50',
    ]);
  });

  it('a limit made inapplicable by another ending gets no warning and no breach, and its timers are gone', async () => {
    const walk = await fileCase();
    const s = scheduler();
    await s.tick();
    expect(s.stats().openCases).toBe(1);
    walk.take('portal-refusal', { at: almaty('2016-03-06T11:05:00') });
    now = almaty('2016-03-06T11:06:00');
    await record(walk, 1);
    now = almaty('2016-03-11T00:00:00');
    await s.tick();
    expect(await recorded(walk.state.caseId)).toEqual([]);
    expect(s.stats().openCases).toBe(0);
  });

  it('a step done after its first warning is breached by none of its later instants', async () => {
    const walk = await fileCase();
    const s = scheduler();
    now = almaty('2016-03-09T12:00:00');
    await s.tick();
    walk.take('documents-registered', { at: almaty('2016-03-09T15:00:00') });
    now = almaty('2016-03-09T15:00:00');
    await record(walk, 1);
    now = almaty('2016-03-10T00:00:00');
    await s.tick();
    expect(summary(await recorded(walk.state.caseId))).toEqual([
      'DeadlineApproaching assigned-to-employee 50',
      'DeadlineApproaching documents-registered 50',
      'DeadlineApproaching assigned-to-employee 80 late 288 min',
      'DeadlineBreached assigned-to-employee 100',
    ]);
  });

  it('a first start over an old log with a cut-off records only the instants from it on', async () => {
    const walk = await fileCase();
    now = almaty('2016-03-09T20:00:00');
    const s = scheduler({ recordFrom: almaty('2016-03-09T19:00:00') });
    await s.tick();
    expect(summary(await recorded(walk.state.caseId))).toEqual([
      'DeadlineApproaching assigned-to-employee 80 late 48 min',
      'DeadlineApproaching documents-registered 80 late 48 min',
    ]);
  });
});
