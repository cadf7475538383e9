import { join } from 'node:path';
import { closeRuntimeFiles, openRuntimeFiles } from '../../test/support/runtime-files';
import { openSqliteEventLog, type SqliteEventLog } from '../modules/event-log/sqlite/sqlite-event-log';
import type { EventLog } from '../modules/event-log/event-log.port';
import { openSqliteReadStore, type SqliteReadStore } from '../modules/read-store/sqlite/sqlite-read-store';
import {
  LeaseLostError,
  type IndexSpec,
  type ReadCollection,
  type ReadDocument,
  type ReadStore,
} from '../modules/read-store/read-store.port';
import type { Projection } from './projection';
import { ProjectionRuntime, ProjectionFailedError } from './projection-runtime';
import { ReadModelNotReadyError, ReadModels } from './read-models';
import { logOverviewProjection, type StreamSummary } from './log-overview/log-overview.projection';
import { WorkShare } from './work-share';
import { CHECKPOINT_EVENTS_COLLECTION, ProjectionRegistry } from './projection-registry';
import { ModelAccess } from './read-model-access';

interface Counter extends ReadDocument {
  n: number;
}

/** Counts events per stream; a replayed batch would double the counts, so it shows lost or doubled effects. */
function counter(
  name: string,
  version = 1,
  options: { poison?: string; factor?: number; gate?: () => Promise<void> } = {},
): Projection {
  return {
    name,
    version,
    eventTypes: '*',
    collections: ['counts'],
    async apply(event, ctx) {
      if (options.gate) await options.gate();
      if (event.type === options.poison) throw new Error(`cannot apply ${event.type}`);
      const doc = await ctx.get<Counter>('counts', event.streamId);
      ctx.upsert('counts', { _id: event.streamId, n: (doc?.n ?? 0) + (options.factor ?? 1) });
    },
  };
}

describe('projection runtime', () => {
  let dir: string;
  let log: SqliteEventLog;
  let store: SqliteReadStore;
  const runtimes: ProjectionRuntime[] = [];

  beforeEach(() => ({ dir, log, store } = openRuntimeFiles('reglament-proj-')));
  afterEach(() => closeRuntimeFiles({ dir, log, store }, runtimes));

  function runtime(
    projections: Projection[],
    batchSize = 1000,
    workShare?: WorkShare,
    options: {
      store?: ReadStore;
      log?: EventLog;
      retiredBuildGraceMs?: number;
      lease?: { holder: string; ttlMs: number };
      keptDocuments?: number;
      catchUpBatchSize?: number;
      buildBatchSize?: number;
      readChunkSize?: number;
    } = {},
  ): ProjectionRuntime {
    const r = new ProjectionRuntime(options.log ?? log, options.store ?? store, projections, {
      retry: { initialMs: 20, maxMs: 100 },
      ...(options.lease ? { lease: options.lease } : {}),
      batchSize,
      ...(workShare ? { workShare } : {}),
      ...(options.retiredBuildGraceMs !== undefined ? { retiredBuildGraceMs: options.retiredBuildGraceMs } : {}),
      ...(options.keptDocuments !== undefined ? { keptDocuments: options.keptDocuments } : {}),
      ...(options.catchUpBatchSize !== undefined ? { catchUpBatchSize: options.catchUpBatchSize } : {}),
      ...(options.buildBatchSize !== undefined ? { buildBatchSize: options.buildBatchSize } : {}),
      ...(options.readChunkSize !== undefined ? { readChunkSize: options.readChunkSize } : {}),
    });
    runtimes.push(r);
    return r;
  }

  async function appendMany(count: number, streams = 5, type = 'Step'): Promise<number> {
    let last = 0;
    for (let i = 0; i < count; i++)
      last = (await log.append(`case-${i % streams}`, [{ type, data: { i } }], 'any')).position;
    return last;
  }

  it('catches up on existing events, then follows live appends', async () => {
    await appendMany(20);
    const models = new ReadModels(log, store, [logOverviewProjection]);
    await runtime([logOverviewProjection]).start();
    await models.waitFor('log-overview', 20, 5000);
    const streams = await models.collection<StreamSummary>('log-overview', 'streams');
    expect(await streams.get('case-0')).toMatchObject({ category: 'case', events: 4, lastRevision: 3 });
    const live = await log.append('order-1', [{ type: 'OrderSigned', data: {} }], 'no_stream');
    await models.waitFor('log-overview', live.position, 5000);
    expect(await (await models.collection('log-overview', 'streams')).get('order-1')).toMatchObject({
      category: 'order',
      events: 1,
      lastType: 'OrderSigned',
    });
    expect(await (await models.collection('log-overview', 'event-types')).get('Step')).toMatchObject({ count: 20 });
    const [status] = await models.status();
    expect(status).toMatchObject({
      name: 'log-overview',
      state: 'live',
      checkpoint: live.position,
      lagEvents: 0,
      lagSeconds: 0,
    });
  });

  it('applies in batches, with a checkpoint after every batch', async () => {
    await appendMany(95);
    const checkpoints: number[] = [];
    const r = runtime([counter('counts')], 10);
    r.events.on('projected', (p: { position: number }) => checkpoints.push(p.position));
    await r.start();
    await new ReadModels(log, store, []).waitFor('counts', 95, 5000);
    expect(checkpoints).toEqual([10, 20, 30, 40, 50, 60, 70, 80, 90, 95]);
  });

  it('applies every event decoded, the same events whether the log delivers them as stored text or decoded', async () => {
    await log.append('case-1', [{ type: 'Filed', data: { applicant: 'Әлия' }, metadata: { stepId: 's1' } }], 'any');
    await log.append('case-1', [{ type: 'Step', data: [1, 'two'], metadata: { at: { day: 3 } } }], 'any');
    await appendMany(8);
    /** Keeps what `apply` was given, as the projection sees it. */
    const recorder = (name: string, seen: unknown[]): Projection => ({
      name,
      version: 1,
      eventTypes: '*',
      collections: ['counts'],
      prefetch: (event) => [{ collection: 'counts', id: event.streamId }],
      async apply(event, ctx) {
        seen.push(event);
        const doc = await ctx.get<Counter>('counts', event.streamId);
        ctx.upsert('counts', { _id: event.streamId, n: (doc?.n ?? 0) + 1 });
      },
    });
    // The real SQLite log, its subscriptions always decoding (as an adapter that cannot serve stored text does).
    const decoding = new Proxy(log, {
      get: (target, property, receiver) => {
        if (property === 'subscribeToAll')
          return (options?: Parameters<EventLog['subscribeToAll']>[0]) =>
            target.subscribeToAll({ ...options, undecoded: false });
        const value = Reflect.get(target, property, receiver) as unknown;
        return typeof value === 'function' ? (value as (...args: unknown[]) => unknown).bind(target) : value;
      },
    }) as EventLog;
    const fromText: unknown[] = [];
    const fromDecoded: unknown[] = [];
    await runtime([recorder('text', fromText)], 4).start();
    await runtime([recorder('decoded', fromDecoded)], 4, undefined, { log: decoding }).start();
    const models = new ReadModels(log, store, []);
    await models.waitFor('text', 10, 5000);
    await models.waitFor('decoded', 10, 5000);
    expect(fromText).toEqual(await log.readAll({ after: 0 }));
    expect(fromDecoded).toEqual(fromText);
    expect((fromText[1] as { metadata: unknown }).metadata).toEqual({ at: { day: 3 } });
  });

  it('catches up in large batches when far behind, and switches to them when a burst puts it behind while following', async () => {
    await appendMany(95);
    const checkpoints: number[] = [];
    const r = runtime([counter('counts')], 10, undefined, { catchUpBatchSize: 40 });
    r.events.on('projected', (p: { position: number }) => checkpoints.push(p.position));
    await r.start();
    const models = new ReadModels(log, store, []);
    await models.waitFor('counts', 95, 5000);
    expect(checkpoints).toEqual([40, 80, 95]);
    await r.stop();
    // A runner that starts at the head follows in small batches. A burst larger than one fills it, then large batches follow.
    checkpoints.length = 0;
    const follower = runtime([counter('counts')], 10, undefined, { catchUpBatchSize: 40 });
    follower.events.on('projected', (p: { position: number }) => checkpoints.push(p.position));
    await follower.start();
    await models.waitFor('counts', 95, 5000);
    const burst = (
      await log.append(
        'burst',
        Array.from({ length: 60 }, (_, i) => ({ type: 'Step', data: { i } })),
        'no_stream',
      )
    ).position;
    await models.waitFor('counts', burst, 5000);
    expect(checkpoints).toEqual([105, 145, 155]);
  });

  it('an event a projection cannot apply stops that projection only, naming the event; nothing of its batch is written', async () => {
    await appendMany(10);
    const poison = await log.append('case-bad', [{ type: 'Poison', data: {} }], 'no_stream');
    await appendMany(5);
    const models = new ReadModels(log, store, [counter('fragile', 1, { poison: 'Poison' }), counter('sturdy')]);
    await runtime([counter('fragile', 1, { poison: 'Poison' }), counter('sturdy')], 4).start();
    await models.waitFor('sturdy', 16, 5000);
    await waitFor(async () => (await models.status()).find((s) => s.name === 'fragile')!.state === 'failed');
    const [fragile, sturdy] = await models.status();
    expect(fragile).toMatchObject({
      name: 'fragile',
      state: 'failed',
      checkpoint: 8,
      lagEvents: 8,
      error: { position: poison.position, eventType: 'Poison', streamId: 'case-bad', error: 'cannot apply Poison' },
    });
    expect(sturdy).toMatchObject({ state: 'live', checkpoint: 16, lagEvents: 0 });
    // Batches of 4: events 1–8 applied; the batch 9–12 holding the poison at 11 is not written at all.
    // Its first build never completed, so readers are not served a partial model.
    await expect(models.collection('fragile', 'counts')).rejects.toThrow(ReadModelNotReadyError);
    const counts = await store.collection<Counter>('fragile.v1.g1.counts').find({});
    expect(counts.reduce((sum, c) => sum + c.n, 0)).toBe(8);
  });

  it('a store write that fails (an I/O error, not a full disk) does not end the projection: it is retrying with the error, then resumes from its checkpoint and applies each event once', async () => {
    await appendMany(12, 3);
    // The real SQLite read store, refusing the batch writes (those that carry a checkpoint) while `failing` is set.
    let failing = true;
    let refused = 0;
    const faulty: ReadStore = Object.assign(Object.create(store) as ReadStore, {
      write: async (batch: Parameters<ReadStore['write']>[0]) => {
        if (failing && batch.checkpoint) {
          refused++;
          throw Object.assign(new Error('disk I/O error'), { code: 'SQLITE_IOERR' });
        }
        return store.write(batch);
      },
    });
    const models = new ReadModels(log, store, [counter('counts')]);
    await runtime([counter('counts')], 5, undefined, { store: faulty }).start();
    await waitFor(async () => (await models.status())[0]!.state === 'retrying' && refused >= 2);
    const [retrying] = await models.status();
    expect(retrying).toMatchObject({
      state: 'retrying',
      checkpoint: 0,
      error: { error: 'disk I/O error', attempt: expect.any(Number) },
    });
    failing = false;
    await models.waitFor('counts', 12, 5000);
    await appendMany(3, 3);
    await models.waitFor('counts', 15, 5000);
    await waitFor(async () => (await models.status())[0]!.state === 'live');
    expect((await models.status())[0]).toMatchObject({ state: 'live', error: null });
    expect(await countsPerStream(models)).toEqual([
      ['case-0', 5],
      ['case-1', 5],
      ['case-2', 5],
    ]);
  });

  it("catching up, a batch commits on the store's writer thread while the next is folded from its documents; the next is written only after it, and each event is applied once", async () => {
    await appendMany(15, 3);
    // The real SQLite read store, whose answers for batches written behind wait for the test (the commit itself is not held).
    const behind: number[] = [];
    let release!: () => void;
    const released = new Promise<void>((resolve) => (release = resolve));
    const written: number[] = [];
    const holding: ReadStore = Object.assign(Object.create(store) as ReadStore, {
      write: async (batch: Parameters<ReadStore['write']>[0]) => {
        const stored = store.write(batch);
        if (batch.behind) {
          behind.push(batch.checkpoint!.position);
          await released;
        }
        await stored;
        if (batch.checkpoint) written.push(batch.checkpoint.position);
      },
    });
    const applied: number[] = [];
    const counting: Projection = {
      ...counter('counts'),
      apply: async (event, ctx) => {
        applied.push(event.position);
        await counter('counts').apply(event, ctx);
      },
    };
    const models = new ReadModels(log, store, [counting]);
    await runtime([counting], 5, undefined, { store: holding }).start();
    // Batch 1–5 is written behind; 6–10 is folded meanwhile (its streams' counts taken from 1–5) and waits to be written.
    await waitFor(async () => applied.length >= 10);
    expect(behind).toEqual([5]);
    expect(written).toEqual([]);
    release();
    await models.waitFor('counts', 15, 5000);
    expect(behind).toEqual([5, 10]);
    expect(written).toEqual([5, 10, 15]);
    expect(applied).toEqual(Array.from({ length: 15 }, (_, i) => i + 1));
    expect(await countsPerStream(models)).toEqual([
      ['case-0', 5],
      ['case-1', 5],
      ['case-2', 5],
    ]);
  });

  it("runners side by side over one read of the log write their batches inline, never on the store's writer thread", async () => {
    await appendMany(15, 3);
    // Both connections' writes waiting for each other's locks made a rebuild of four read models 15 % slower.
    const behind: string[] = [];
    const watching: ReadStore = Object.assign(Object.create(store) as ReadStore, {
      write: (batch: Parameters<ReadStore['write']>[0]) => {
        if (batch.behind) behind.push(batch.checkpoint!.projection);
        return store.write(batch);
      },
    });
    const projections = [counter('counts'), counter('tallies')];
    const models = new ReadModels(log, store, projections);
    await runtime(projections, 5, undefined, { store: watching }).start();
    await models.waitFor('counts', 15, 5000);
    await models.waitFor('tallies', 15, 5000);
    expect(behind).toEqual([]);
    // The same runtime's rebuild of one of them, alone, does write behind.
    await runtime(projections, 5, undefined, { store: watching }).rebuild('counts');
    expect(behind.length).toBeGreaterThan(0);
  });

  it('a subscription the log ends or breaks (a server restart) is taken up again from the checkpoint, each event applied once', async () => {
    await appendMany(10, 2);
    // The real SQLite log, whose first two subscriptions break after their first batch, as a dropped connection does.
    let subscriptions = 0;
    const dropping: EventLog = Object.assign(Object.create(log) as EventLog, {
      subscribeToAll: (options: Parameters<EventLog['subscribeToAll']>[0]) => {
        const real = log.subscribeToAll(options);
        const nth = ++subscriptions;
        if (nth > 2) return real;
        return {
          stop: () => real.stop(),
          async *[Symbol.asyncIterator]() {
            for await (const batch of real) {
              yield batch;
              if (nth === 1) throw new Error('14 UNAVAILABLE: Connection dropped');
              return; // ended by the server, without an error
            }
          },
        };
      },
    });
    const models = new ReadModels(log, store, [counter('counts')]);
    await runtime([counter('counts')], 3, undefined, { log: dropping }).start();
    await models.waitFor('counts', 10, 5000);
    await waitFor(async () => (await models.status())[0]!.state === 'live');
    expect(subscriptions).toBeGreaterThanOrEqual(3);
    expect(await countsPerStream(models)).toEqual([
      ['case-0', 5],
      ['case-1', 5],
    ]);
  });

  describe('one runner per projection (a lease with a fencing token in the read store)', () => {
    /** Counts events per stream; `pauseAt(position)` may hold the apply of one event (a process paused mid-batch). */
    function pausable(pauseAt: (position: number) => Promise<void> | void): Projection {
      return {
        name: 'counts',
        version: 1,
        eventTypes: '*',
        collections: ['counts'],
        async apply(event, ctx) {
          await pauseAt(event.position);
          const doc = await ctx.get<Counter>('counts', event.streamId);
          ctx.upsert('counts', { _id: event.streamId, n: (doc?.n ?? 0) + 1 });
        },
      };
    }
    const total = async () =>
      (await store.collection<Counter>('counts.v1.g1.counts').find({})).reduce((sum, c) => sum + c.n, 0);

    it('two runtimes on one data dir: one projects, the other stands by and takes over when it stops; each event applied once', async () => {
      await appendMany(20, 4);
      const other = openSqliteReadStore({ file: join(dir, 'read.db') });
      try {
        const first = runtime([counter('counts')], 5, undefined, { lease: { holder: 'api-1', ttlMs: 60_000 } });
        const second = runtime([counter('counts')], 5, undefined, {
          store: other,
          lease: { holder: 'api-2', ttlMs: 60_000 },
        });
        let byFirst = 0;
        let bySecond = 0;
        first.events.on('projected', () => byFirst++);
        second.events.on('projected', () => bySecond++);
        await first.start();
        await second.start();
        const models = new ReadModels(log, store, [counter('counts')]);
        await models.waitFor('counts', 20, 5000);
        await appendMany(10, 4);
        await models.waitFor('counts', 30, 5000);
        expect(byFirst).toBeGreaterThan(0);
        expect(bySecond).toBe(0);
        // A clean stop gives the lease up: the runtime standing by takes over without waiting for the expiry (60 s).
        await first.stop();
        await appendMany(10, 4);
        await models.waitFor('counts', 40, 5000);
        expect(bySecond).toBeGreaterThan(0);
        expect(await total()).toBe(40);
      } finally {
        for (const r of runtimes.splice(0)) await r.stop();
        await other.close();
      }
    });

    it('a runner paused past its lease (renewals not reaching the store) writes nothing once another took over, even a batch ahead of the new checkpoint', async () => {
      await appendMany(10, 1);
      let partitioned = false;
      let refused = 0;
      // The real SQLite read store under runner A: its lease renewals fail while it is partitioned, and its refused writes are counted.
      const storeA: ReadStore = Object.assign(Object.create(store) as ReadStore, {
        acquireLease: async (...args: Parameters<ReadStore['acquireLease']>) => {
          if (partitioned) throw new Error('connection timed out');
          return store.acquireLease(...args);
        },
        write: async (batch: Parameters<ReadStore['write']>[0]) => {
          try {
            return await store.write(batch);
          } catch (error) {
            if (error instanceof LeaseLostError) refused++;
            throw error;
          }
        },
      });
      const other = openSqliteReadStore({ file: join(dir, 'read.db') });
      let resumeA!: () => void;
      const aResumes = new Promise<void>((resolve) => (resumeA = resolve));
      let aPaused = false;
      let resumeB!: () => void;
      const bResumes = new Promise<void>((resolve) => (resumeB = resolve));
      try {
        // A applies 1–4, then pauses inside its batch 5–8 and stops renewing.
        const a = runtime(
          [
            pausable(async (position) => {
              if (position !== 5 || aPaused) return;
              aPaused = true;
              partitioned = true;
              await aResumes;
            }),
          ],
          4,
          undefined,
          { store: storeA, lease: { holder: 'runner-a', ttlMs: 150 } },
        );
        await a.start();
        await waitFor(async () => aPaused);
        // B takes over once A's lease expires, applies 5–7 (batches of 3) and is held before event 8.
        const b = runtime([pausable((position) => (position === 8 ? bResumes : undefined))], 3, undefined, {
          store: other,
          lease: { holder: 'runner-b', ttlMs: 60_000 },
        });
        await b.start();
        // The first build has not reached the head: its checkpoint, not the readers' model, shows the progress.
        const checkpoint = async () => (await store.getCheckpoint('counts.v1.g1'))?.position ?? 0;
        await waitFor(async () => (await checkpoint()) >= 7);
        // A wakes up and tries to store its batch 5–8 (its checkpoint 8 is ahead of B's 7): refused, nothing written.
        resumeA();
        await waitFor(async () => refused > 0);
        expect((await store.getCheckpoint('counts.v1.g1'))?.position).toBe(7);
        expect(await total()).toBe(7);
        resumeB();
        await waitFor(async () => (await checkpoint()) >= 10);
        expect(await total()).toBe(10);
      } finally {
        resumeA();
        resumeB();
        for (const r of runtimes.splice(0)) await r.stop();
        await other.close();
      }
    });
    it("never writes a build another runner's lease writes (the rebuild command's, on a model not built yet): it waits for the switch, then follows that build; each event applied once", async () => {
      await appendMany(40, 4);
      const other = openSqliteReadStore({ file: join(dir, 'read.db') });
      let release!: () => void;
      const released = new Promise<void>((resolve) => (release = resolve));
      let held = false;
      try {
        // The rebuild command, held inside its second batch (after its first checkpoint), as by SIGSTOP.
        const command = runtime(
          [
            pausable(async (position) => {
              if (position !== 15 || held) return;
              held = true;
              await released;
            }),
          ],
          10,
          undefined,
          { lease: { holder: 'rebuild-command', ttlMs: 60_000 } },
        );
        const rebuilt = command.rebuild('counts');
        // Its first batch is committed (on the store's writer thread, while the second is folded).
        await waitFor(async () => held && (await store.getCheckpoint('counts.v1.g1'))?.position === 10);
        // The worker starts meanwhile: no build of this version is active, the command's is under way.
        const worker = runtime([pausable(() => undefined)], 10, undefined, {
          store: other,
          lease: { holder: 'worker', ttlMs: 60_000 },
        });
        let byWorker = 0;
        worker.events.on('projected', () => byWorker++);
        await worker.start();
        await new Promise((resolve) => setTimeout(resolve, 300));
        expect(byWorker).toBe(0);
        expect((await store.getCheckpoint('counts.v1.g1'))?.position).toBe(10);
        release();
        expect(await rebuilt).toEqual({ version: 1, generation: 1 });
        // The worker follows the build the command switched readers to.
        await appendMany(4, 4);
        await new ReadModels(log, store, [counter('counts')]).waitFor('counts', 44, 5000);
        expect(byWorker).toBeGreaterThan(0);
        expect(await total()).toBe(44);
      } finally {
        release();
        for (const r of runtimes.splice(0)) await r.stop();
        await other.close();
      }
    });
  });

  it("a build of a new version the service's runner left under way (the deploy rolled back before it switched) is dropped by the old version's runner that follows the active build: a rebuild then does not wait for ever on that runner's lease (review finding)", async () => {
    await appendMany(30);
    const models = new ReadModels(log, store, [counter('counts')]);
    const v1 = runtime([counter('counts', 1)], 10, undefined, { lease: { holder: 'worker', ttlMs: 60_000 } });
    await v1.start();
    await models.waitFor('counts', 30, 5000);
    await v1.stop();
    // Version 2 starts its build under the service's lease and stops a third of the way in (rolled back).
    let reached!: () => void;
    const reachedGate = new Promise<void>((resolve) => (reached = resolve));
    let release!: () => void;
    const released = new Promise<void>((resolve) => (release = resolve));
    let applied = 0;
    const v2 = runtime(
      [
        counter('counts', 2, {
          gate: async () => {
            if (++applied !== 15) return;
            reached();
            await released;
          },
        }),
      ],
      10,
      undefined,
      { lease: { holder: 'worker', ttlMs: 60_000 } },
    );
    await v2.start();
    await reachedGate;
    const stopped = v2.stop();
    release();
    await stopped;
    expect((await new ProjectionRegistry(store).get('counts'))?.building).toMatchObject({
      version: 2,
      lease: 'projection:counts',
    });
    // The old version's runner takes the service's lease again and follows the active build.
    const again = runtime([counter('counts', 1)], 10, undefined, { lease: { holder: 'worker', ttlMs: 60_000 } });
    await again.start();
    await models.waitFor('counts', 30, 5000);
    // The rebuild command does not wait for the lease the runner holds and renews.
    const rebuilt = runtime([counter('counts', 1)], 10, undefined, {
      lease: { holder: 'rebuild', ttlMs: 60_000 },
    }).rebuild('counts');
    const outcome = await Promise.race([
      rebuilt,
      new Promise((resolve) => setTimeout(() => resolve('still waiting after 5 s'), 5000)),
    ]);
    expect(outcome).toEqual({ version: 1, generation: 3 });
    const entry = await new ProjectionRegistry(store).get('counts');
    expect(entry?.building).toBeNull();
    expect(entry?.retired?.map((r) => `${r.version}.${r.generation}`)).toContain('2.2');
  });

  it('a new version builds beside the old one; readers see the old model until the switch, then the new one', async () => {
    await appendMany(30);
    const models = new ReadModels(log, store, [counter('counts')]);
    const v1 = runtime([counter('counts', 1)]);
    await v1.start();
    await models.waitFor('counts', 30, 5000);
    await v1.stop();

    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    let applied = 0;
    const v2 = runtime(
      [
        counter('counts', 2, {
          factor: 10,
          gate: async () => {
            if (++applied === 15) await gate;
          },
        }),
      ],
      10,
    );
    await v2.start();
    await waitFor(async () => applied >= 15);
    // Mid-build: the old build still serves every read, complete.
    const during = await (await models.collection<Counter>('counts', 'counts')).find({});
    expect(during.reduce((s, c) => s + c.n, 0)).toBe(30);
    expect((await models.status())[0]).toMatchObject({ state: 'rebuilding', version: 1, building: { version: 2 } });
    release();
    await waitFor(async () => (await models.status())[0]!.version === 2);
    const after = await (await models.collection<Counter>('counts', 'counts')).find({});
    expect(after.reduce((s, c) => s + c.n, 0)).toBe(300);
    // The old build stays for its grace period: a request that looked it up just before the switch still reads it whole.
    expect((await store.listCollections()).filter((c) => c.startsWith('counts.'))).toEqual([
      'counts.v1.g1.counts',
      'counts.v2.g2.counts',
    ]);
    expect((await store.collection<Counter>('counts.v1.g1.counts').find({})).reduce((s, c) => s + c.n, 0)).toBe(30);
    expect((await store.collection('_projections').get('counts'))?.['retired']).toEqual([
      { version: 1, generation: 1, retiredAt: expect.any(String) },
    ]);
    await v2.stop();

    // A runner started once the grace period has passed (here: a grace of 0) drops it, with its checkpoint.
    await runtime([counter('counts', 2, { factor: 10 })], 10, undefined, { retiredBuildGraceMs: 0 }).start();
    expect((await store.listCollections()).filter((c) => c.startsWith('counts.'))).toEqual(['counts.v2.g2.counts']);
    expect(await store.getCheckpoint('counts.v1.g1')).toBeNull();
    expect((await store.collection('_projections').get('counts'))?.['retired']).toEqual([]);
  });

  it("reads a batch's documents in one call per collection where the store offers it, and creates the build's declared indexes", async () => {
    await appendMany(50, 5);
    const calls = { get: 0, getMany: [] as string[][], ensureIndexes: [] as Array<[string, readonly IndexSpec[]]> };
    const observed = observing(store, calls);
    const projection: Projection = {
      ...counter('counts'),
      indexes: { counts: [{ key: { n: -1 } }] },
      prefetch: (event) => [{ collection: 'counts', id: event.streamId }],
    };
    await runtime([projection], 10, undefined, { store: observed, keptDocuments: 0 }).start();
    const models = new ReadModels(log, store, [projection]);
    await models.waitFor('counts', 50, 5000);
    expect(calls.ensureIndexes).toEqual([['counts.v1.g1.counts', [{ key: { n: -1 } }]]]);
    // 5 batches of 10 events over 5 streams, no documents kept between batches: one read of the 5 documents per batch, none per event.
    expect(calls.getMany).toHaveLength(5);
    for (const ids of calls.getMany)
      expect([...ids].sort()).toEqual(['case-0', 'case-1', 'case-2', 'case-3', 'case-4']);
    expect(calls.get).toBe(0);
    const counts = await (await models.collection<Counter>('counts', 'counts')).find({}, { sort: { _id: 1 } });
    expect(counts.map((c) => c.n)).toEqual([10, 10, 10, 10, 10]);
  });

  it('a batch larger than one read of the log gathers several, each applied before the next: one checkpoint and one read of each document a batch, and a batch that ends at the head is written without waiting for another append', async () => {
    await appendMany(45, 5);
    const calls = { get: 0, getMany: [] as string[][], ensureIndexes: [] as Array<[string, readonly IndexSpec[]]> };
    const observed = observing(store, calls);
    // The reads the runner makes of the log, and the events it applies, in their order.
    const seen: string[] = [];
    const counted = readsRecorded(log, seen);
    const counting = counter('counts');
    const projection: Projection = {
      ...counting,
      prefetch: (event) => [{ collection: 'counts', id: event.streamId }],
      async apply(event, ctx) {
        seen.push(`apply ${event.position}`);
        await counting.apply(event, ctx);
      },
    };
    const checkpoints: number[] = [];
    const r = runtime([projection], 5, undefined, {
      store: observed,
      log: counted,
      keptDocuments: 0,
      buildBatchSize: 20,
      readChunkSize: 5,
    });
    r.events.on('projected', (p: { position: number }) => checkpoints.push(p.position));
    await r.start();
    const models = new ReadModels(log, store, [projection]);
    // 45 is a whole number of reads: a runner that read on at the head would wait there for the next append.
    await models.waitFor('counts', 45, 5000);
    // Each read of 5 is applied before the next read is made.
    const expected: string[] = [];
    for (let position = 1; position <= 45; position++) {
      if (position % 5 === 1) expected.push('read 5');
      expected.push(`apply ${position}`);
    }
    expect(seen).toEqual(expected);
    expect(checkpoints).toEqual([20, 40, 45]);
    // Every read of 5 events touches the 5 streams; each batch reads their documents once, in its first read.
    expect(calls.getMany).toHaveLength(3);
    expect(calls.get).toBe(0);
    const counts = await (await models.collection<Counter>('counts', 'counts')).find({}, { sort: { _id: 1 } });
    expect(counts.map((c) => c.n)).toEqual([9, 9, 9, 9, 9]);
  });

  it('a batch gathering reads looks the head up again once at most: following a log that grows while it applies, it is written at the head it saw', async () => {
    await appendMany(10, 5);
    // Every event applied up to position 30 appends one more, as commands do while a projection applies a batch.
    const growing: Projection = {
      ...counter('counts'),
      async apply(event, ctx) {
        if (event.position <= 30) await log.append('growth', [{ type: 'Grown', data: {} }], 'any');
        const doc = await ctx.get<Counter>('counts', event.streamId);
        ctx.upsert('counts', { _id: event.streamId, n: (doc?.n ?? 0) + 1 });
      },
    };
    const checkpoints: number[] = [];
    const r = runtime([growing], 5, undefined, { buildBatchSize: 40, readChunkSize: 5 });
    r.events.on('projected', (p: { position: number }) => checkpoints.push(p.position));
    await r.start();
    await new ReadModels(log, store, []).waitFor('counts', 40, 5000);
    // The batch read to the head known at its start (10), looked it up once (20, grown by its first 10 events), read to
    // it and was written there; looking it up after every read, it would have gathered until full (40).
    expect(checkpoints[0]).toBe(20);
    expect(checkpoints.at(-1)).toBe(40);
  });

  it('a batch never exceeds its size: it reads on only while a whole read fits', async () => {
    await appendMany(20, 5);
    const checkpoints: number[] = [];
    const r = runtime([counter('counts')], 3, undefined, { buildBatchSize: 10, readChunkSize: 3 });
    r.events.on('projected', (p: { position: number }) => checkpoints.push(p.position));
    await r.start();
    await new ReadModels(log, store, []).waitFor('counts', 20, 5000);
    expect(checkpoints).toEqual([9, 18, 20]);
  });

  it('a read that does not arrive at once ends the batch there and opens the next one: nothing skipped, nothing applied twice', async () => {
    await appendMany(20, 5);
    // The log's third read is held back until the events before it are stored (a server's subscription that has not
    // delivered yet): a runner that waited for it to fill its batch would wait for ever.
    const checkpoints: number[] = [];
    let firstStored!: () => void;
    const stored = new Promise<void>((resolve) => (firstStored = resolve));
    let reads = 0;
    const late = readsWatched(log, async () => {
      if (++reads === 3) await stored;
    });
    const r = runtime([counter('counts')], 5, undefined, { log: late, buildBatchSize: 20, readChunkSize: 5 });
    r.events.on('projected', (p: { position: number }) => {
      checkpoints.push(p.position);
      firstStored();
    });
    await r.start();
    const models = new ReadModels(log, store, [counter('counts')]);
    await models.waitFor('counts', 20, 5000);
    expect(checkpoints).toEqual([10, 20]);
    const counts = await (await models.collection<Counter>('counts', 'counts')).find({}, { sort: { _id: 1 } });
    expect(counts.map((c) => c.n)).toEqual([4, 4, 4, 4, 4]);
  });

  it('a projection that defers its writes to the end of the batch reads their documents in one call (load), then from memory', async () => {
    await appendMany(20, 5);
    const calls = { get: 0, getMany: [] as string[][], ensureIndexes: [] as Array<[string, readonly IndexSpec[]]> };
    const observed = observing(store, calls);
    const seen = new WeakMap<object, Map<string, number>>();
    const deferred: Projection = {
      name: 'deferred',
      version: 1,
      eventTypes: '*',
      collections: ['counts'],
      apply(event, ctx) {
        const counts = seen.get(ctx) ?? new Map<string, number>();
        counts.set(event.streamId, (counts.get(event.streamId) ?? 0) + 1);
        seen.set(ctx, counts);
      },
      async flush(ctx) {
        const counts = seen.get(ctx)!;
        await ctx.load('counts', counts.keys());
        for (const [id, n] of counts)
          ctx.upsert('counts', { _id: id, n: ((await ctx.get<Counter>('counts', id))?.n ?? 0) + n });
      },
    };
    await runtime([deferred], 10, undefined, { store: observed, keptDocuments: 0 }).start();
    const models = new ReadModels(log, store, [deferred]);
    await models.waitFor('deferred', 20, 5000);
    expect(calls.getMany).toHaveLength(2);
    expect(calls.get).toBe(0);
    const counts = await (await models.collection<Counter>('deferred', 'counts')).find({}, { sort: { _id: 1 } });
    expect(counts.map((c) => c.n)).toEqual([4, 4, 4, 4, 4]);
  });

  it('keeps the documents it wrote for its next batches: read once, and read again after it starts over', async () => {
    await appendMany(50, 5);
    const calls = { get: 0, getMany: [] as string[][], ensureIndexes: [] as Array<[string, readonly IndexSpec[]]> };
    const observed = observing(store, calls);
    const projection: Projection = {
      ...counter('counts'),
      prefetch: (event) => [{ collection: 'counts', id: event.streamId }],
    };
    const first = runtime([projection], 10, undefined, { store: observed });
    await first.start();
    const models = new ReadModels(log, store, [projection]);
    await models.waitFor('counts', 50, 5000);
    // The first batch finds none of the 5 documents; the next four take the copies the batch before wrote.
    expect(calls.getMany).toEqual([['case-0', 'case-1', 'case-2', 'case-3', 'case-4']]);
    expect(calls.get).toBe(0);
    await first.stop();
    // Another runner (a restart) keeps nothing from this one: it reads what the store holds.
    const last = await appendMany(10, 5);
    await runtime([projection], 10, undefined, { store: observed }).start();
    await models.waitFor('counts', last, 5000);
    expect(calls.getMany).toHaveLength(2);
    const counts = await (await models.collection<Counter>('counts', 'counts')).find({}, { sort: { _id: 1 } });
    expect(counts.map((c) => c.n)).toEqual([12, 12, 12, 12, 12]);
  });

  it('a reader on another connection (the API beside the projection process) sees every batch and a switch at once', async () => {
    const other = openSqliteReadStore({ file: join(dir, 'read.db') });
    try {
      const models = new ReadModels(log, other, [counter('counts')]);
      await appendMany(30);
      const v1 = runtime([counter('counts', 1)]);
      await v1.start();
      await models.waitFor('counts', 30, 5000);
      expect((await (await models.collection<Counter>('counts', 'counts')).find({})).reduce((s, c) => s + c.n, 0)).toBe(
        30,
      );
      const last = await appendMany(5);
      expect(await models.waitFor('counts', last, 5000)).toBe(last);
      await v1.stop();
      // The switch to version 2 is committed by the projections' connection; this reader must not keep the old build.
      const v2 = runtime([counter('counts', 2, { factor: 10 })], 1000, undefined, { retiredBuildGraceMs: 0 });
      await v2.start();
      // (Dropped at the switch: a grace of 0.)
      await waitFor(async () => (await store.listCollections()).every((c) => !c.startsWith('counts.v1')));
      expect((await (await models.collection<Counter>('counts', 'counts')).find({})).reduce((s, c) => s + c.n, 0)).toBe(
        350,
      );
      expect(await models.position('counts')).toBe(last);
    } finally {
      await other.close();
    }
  });

  it('a build readers are not switched to yet is written in build batches; the live model catches up in catch-up batches', async () => {
    await appendMany(95);
    const r = runtime([counter('counts')], 10, undefined, { catchUpBatchSize: 20, buildBatchSize: 50 });
    await r.start();
    const models = new ReadModels(log, store, [counter('counts')]);
    await models.waitFor('counts', 95, 5000);
    const rebuilt: number[] = [];
    await r.rebuild('counts', (p) => rebuilt.push(p.position));
    expect(rebuilt).toEqual([50, 95]);
    // The live build, stopped 40 events behind, catches up in batches of 20 once it starts again.
    await r.stop();
    const last = await appendMany(40);
    const caughtUp: number[] = [];
    const again = runtime([counter('counts')], 10, undefined, { catchUpBatchSize: 20, buildBatchSize: 50 });
    again.events.on('projected', (p: { position: number }) => caughtUp.push(p.position));
    await again.start();
    await models.waitFor('counts', last, 5000);
    expect(caughtUp).toEqual([115, 135]);
    const counts = await (await models.collection<Counter>('counts', 'counts')).find({});
    expect(counts.reduce((sum, c) => sum + c.n, 0)).toBe(135);
  });

  it('rebuild() builds a fresh generation from the first event, reporting progress, and switches', async () => {
    await appendMany(50);
    const r = runtime([counter('counts')], 10);
    await r.start();
    const models = new ReadModels(log, store, [counter('counts')]);
    await models.waitFor('counts', 50, 5000);
    const progress: number[] = [];
    const build = await r.rebuild('counts', (p) => progress.push(p.position));
    expect(build).toEqual({ version: 1, generation: 2 });
    expect(progress[progress.length - 1]).toBe(50);
    expect(progress.length).toBeGreaterThanOrEqual(5);
    expect((await models.status())[0]).toMatchObject({ generation: 2, checkpoint: 50 });
    const counts = await (await models.collection<Counter>('counts', 'counts')).find({});
    expect(counts.reduce((s, c) => s + c.n, 0)).toBe(50);
  });

  /**
   * The log, counting the batches read from it (readAll, and what its subscriptions deliver) as `reads`, and the events
   * they held as `eventsRead` (a look past the head holds none).
   */
  function countingLog(): { log: EventLog; reads: () => number; eventsRead: () => number } {
    let reads = 0;
    let eventsRead = 0;
    const counted = new Proxy(log, {
      get: (target, property, receiver) => {
        // A read of one event is the start's check that a build's checkpoint is in the log, not a batch.
        if (property === 'readAll')
          return (options?: Parameters<EventLog['readAll']>[0]) => {
            if (options?.maxCount === 1) return target.readAll(options);
            reads += 1;
            return target.readAll(options).then((events) => ((eventsRead += events.length), events));
          };
        if (property === 'subscribeToAll') {
          return (options?: Parameters<EventLog['subscribeToAll']>[0]) => {
            const inner = target.subscribeToAll(options);
            return {
              stop: () => inner.stop(),
              async *[Symbol.asyncIterator]() {
                for await (const batch of inner) {
                  reads += 1;
                  eventsRead += batch.length;
                  yield batch;
                }
              },
            };
          };
        }
        const value = Reflect.get(target, property, receiver) as unknown;
        return typeof value === 'function' ? (value as (...args: unknown[]) => unknown).bind(target) : value;
      },
    }) as EventLog;
    return { log: counted, reads: () => reads, eventsRead: () => eventsRead };
  }

  it('rebuildMany() reads the log once for every projection it rebuilds, and builds what separate rebuilds build', async () => {
    await appendMany(50, 7);
    const projections = () => [logOverviewProjection, counter('counts'), counter('doubled', 1, { factor: 2 })];
    const separate = countingLog();
    const one = runtime(projections(), 10, undefined, { log: separate.log, retiredBuildGraceMs: 0 });
    for (const { name } of projections()) await one.rebuild(name);
    // Each separate rebuild reads the 50 events in batches of 10.
    expect(separate.reads()).toBe(15);
    const models = new ReadModels(log, store, projections());
    const documents = async () => ({
      streams: await (await models.collection('log-overview', 'streams')).find({}),
      types: await (await models.collection('log-overview', 'event-types')).find({}),
      counts: await (await models.collection('counts', 'counts')).find({}),
      doubled: await (await models.collection('doubled', 'counts')).find({}),
    });
    const before = await documents();
    expect(before.counts.reduce((sum, c) => sum + (c as Counter).n, 0)).toBe(50);

    const together = countingLog();
    const progress = new Map<string, number>();
    const builds = await runtime(projections(), 10, undefined, {
      log: together.log,
      retiredBuildGraceMs: 0,
    }).rebuildMany(
      projections().map((p) => p.name),
      (p) => progress.set(p.projection, p.position),
    );
    expect(together.reads()).toBe(5);
    expect(builds).toEqual([
      { version: 1, generation: 2 },
      { version: 1, generation: 2 },
      { version: 1, generation: 2 },
    ]);
    expect(Object.fromEntries(progress)).toEqual({ 'log-overview': 50, counts: 50, doubled: 50 });
    // Readers were switched to the new builds, which hold what the separate rebuilds wrote.
    expect((await models.status()).map((s) => [s.name, s.generation])).toEqual([
      ['log-overview', 2],
      ['counts', 2],
      ['doubled', 2],
    ]);
    expect(await documents()).toEqual(before);
  });

  it('a start with several new projection versions builds them over one read of the log, then each follows it live', async () => {
    await appendMany(50, 7);
    await runtime([counter('counts'), counter('doubled', 1, { factor: 2 })], 10).start();
    const models = new ReadModels(log, store, [counter('counts'), counter('doubled')]);
    await models.waitFor('counts', 50, 5000);
    await models.waitFor('doubled', 50, 5000);
    for (const r of runtimes.splice(0)) await r.stop();

    const counted = countingLog();
    await runtime([counter('counts', 2), counter('doubled', 2, { factor: 2 })], 10, undefined, {
      log: counted.log,
    }).start();
    const next = new ReadModels(log, store, [counter('counts', 2), counter('doubled', 2)]);
    await waitFor(async () => (await next.status()).every((s) => s.version === 2));
    expect((await next.status()).map((s) => [s.name, s.version, s.checkpoint])).toEqual([
      ['counts', 2, 50],
      ['doubled', 2, 50],
    ]);
    // The fifty events read once for both builds (each alone would read them again). Counted as events, not batches:
    // the live follow's looks past the head, of which there may be none yet or several, hold none (counting batches
    // failed once in CI, a look not yet made).
    expect(counted.eventsRead()).toBe(50);
    await appendMany(3, 7);
    await next.waitFor('counts', 53, 5000);
    await next.waitFor('doubled', 53, 5000);
    const sum = async (name: string) =>
      (await (await next.collection<Counter>(name, 'counts')).find({})).reduce((total, c) => total + c.n, 0);
    expect([await sum('counts'), await sum('doubled')]).toEqual([53, 106]);
  });

  it('rebuildMany() with a projection that fails reports its event and still switches the others', async () => {
    await appendMany(30, 3);
    await log.append('case-9', [{ type: 'Poison', data: {} }], 'any');
    await appendMany(5, 3);
    const r = runtime([counter('counts'), counter('fragile', 1, { poison: 'Poison' })], 10);
    await expect(r.rebuildMany(['counts', 'fragile'])).rejects.toThrow(
      /fragile failed at position 31 \(Poison in case-9\)/,
    );
    await expect(r.rebuildMany(['counts', 'counts'])).rejects.toThrow('a projection is named twice: counts, counts');
    const models = new ReadModels(log, store, [counter('counts')]);
    const counts = await (await models.collection<Counter>('counts', 'counts')).find({});
    expect(counts.reduce((sum, c) => sum + c.n, 0)).toBe(36);
  });

  it("a read answer's staleness stamp (position and when its event was recorded) comes with the checkpoint, served with the log closed", async () => {
    await appendMany(7);
    const r = runtime([counter('counts')], 3, undefined, { retiredBuildGraceMs: 0 });
    await r.start();
    const models = new ReadModels(log, store, [counter('counts')]);
    await models.waitFor('counts', 7, 5000);
    const [seventh] = await log.readStream('case-1', { direction: 'backwards', maxCount: 1 });
    // The stamp never reads the log: a log it could not read would fail the answer (on EventStoreDB the old
    // `position − 1` read was no record boundary, and every compliance endpoint answered 500).
    const closedLog = openSqliteEventLog({ file: join(dir, 'events.db') });
    await closedLog.close();
    const access = new ModelAccess(models, 'counts', 1000, closedLog);
    expect(await access.staleness()).toEqual({ position: 7, at: seventh!.recordedAt.toISOString() });
    expect(await access.staleness(7)).toEqual({ position: 7, at: seventh!.recordedAt.toISOString() });

    // After a rebuild, the stamp is the new build's, and the old build's is removed with its collections.
    await r.rebuild('counts');
    expect(await access.staleness()).toEqual({ position: 7, at: seventh!.recordedAt.toISOString() });
    expect(await store.collection(CHECKPOINT_EVENTS_COLLECTION).find({})).toEqual([
      { _id: 'counts.v1.g2', position: 7, recordedAt: seventh!.recordedAt.toISOString() },
    ]);
  });

  it('a rebuild that stopped half-way (failed, or killed) leaves nothing once the next build replaces it: its collections and checkpoint are dropped as a retired build', async () => {
    await appendMany(20);
    await log.append('case-x', [{ type: 'Poison', data: {} }], 'any');
    await appendMany(9);
    await expect(runtime([counter('counts', 1, { poison: 'Poison' })], 10).rebuild('counts')).rejects.toThrow(
      ProjectionFailedError,
    );
    expect((await store.listCollections()).filter((c) => c.startsWith('counts.'))).toEqual(['counts.v1.g1.counts']);
    expect((await store.getCheckpoint('counts.v1.g1'))?.position).toBe(20);

    const r = runtime([counter('counts')], 10, undefined, { retiredBuildGraceMs: 0 });
    expect(await r.rebuild('counts')).toEqual({ version: 1, generation: 2 });
    expect((await store.listCollections()).filter((c) => c.startsWith('counts.'))).toEqual(['counts.v1.g2.counts']);
    expect(await store.getCheckpoint('counts.v1.g1')).toBeNull();
    expect((await store.collection('_projections').get('counts'))?.['retired']).toEqual([]);
  });

  it('rebuild() of a projection that fails reports the failing event', async () => {
    await appendMany(3, 1, 'Poison');
    const r = runtime([counter('fragile', 1, { poison: 'Poison' })]);
    await expect(r.rebuild('fragile')).rejects.toThrow(ProjectionFailedError);
    await expect(r.rebuild('fragile')).rejects.toThrow(/position 1 \(Poison in case-0\): cannot apply Poison/);
  });

  it('a read model ahead of its log whose drop a kill cuts short is not served at the next start: "being built" until a new build reaches the head', async () => {
    await appendMany(50);
    const first = runtime([counter('counts')], 10);
    await first.start();
    await new ReadModels(log, store, [counter('counts')]).waitFor('counts', 50, 5000);
    await first.stop();
    // An older events.db put back while read.db was kept: 20 events, the model's checkpoint 50 past the head.
    const older = openSqliteEventLog({ file: join(dir, 'older.db'), pollIntervalMs: 5 });
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    try {
      for (let i = 0; i < 20; i++) await older.append(`case-${i % 5}`, [{ type: 'Step', data: { i } }], 'any');
      // The start that discards the build is killed after its first write (the drop, or the registry's update).
      let writes = 0;
      const killed = new Error('killed');
      const dying: ReadStore = Object.assign(Object.create(store) as ReadStore, {
        write: async (batch: Parameters<ReadStore['write']>[0]) => {
          if (++writes > 1) throw killed;
          return store.write(batch);
        },
        drop: async (...args: Parameters<ReadStore['drop']>) => {
          if (++writes > 1) throw killed;
          return store.drop(...args);
        },
      });
      await expect(runtime([counter('counts')], 10, undefined, { store: dying, log: older }).start()).rejects.toBe(
        killed,
      );
      // The next start, held inside its build: readers are turned away, never shown the model as it grows.
      let applied = 0;
      const next = runtime(
        [counter('counts', 1, { gate: async () => void (++applied === 15 && (await gate)) })],
        10,
        undefined,
        { log: older, retiredBuildGraceMs: 0 },
      );
      await next.start();
      await waitFor(async () => applied >= 15);
      const models = new ReadModels(older, store, [counter('counts')]);
      await expect(models.collection('counts', 'counts')).rejects.toThrow(ReadModelNotReadyError);
      release();
      await models.waitFor('counts', 20, 5000);
      const counts = await (await models.collection<Counter>('counts', 'counts')).find({});
      expect(counts.reduce((sum, c) => sum + c.n, 0)).toBe(20);
      expect((await store.listCollections()).filter((c) => c.startsWith('counts.'))).toHaveLength(1);
    } finally {
      release();
      for (const r of runtimes.splice(0)) await r.stop();
      await older.close();
    }
  });

  it('a build retired at a switch from before an erasure the log records (a CLI erasure with the service stopped, then a rebuild) is dropped after the erasure grace, not the 5 minutes, and the store purged after', async () => {
    const erasing: Projection = { ...counter('counts'), purgesOn: ['PersonalDataErased'] };
    await appendMany(20);
    const service = runtime([erasing], 10);
    await service.start();
    await new ReadModels(log, store, [erasing]).waitFor('counts', 20, 5000);
    await service.stop();
    // Erased with the service stopped: the active build never meets the erasure; the rebuild's build has it in it.
    await log.append('personal-data-erasures', [{ type: 'PersonalDataErased', data: {} }], 'any');
    const steps: string[] = [];
    const watched: ReadStore = Object.assign(Object.create(store) as ReadStore, {
      drop: async (...args: Parameters<ReadStore['drop']>) => {
        steps.push(`drop ${args[1]}`);
        return store.drop(...args);
      },
      purgeOldVersions: async () => {
        steps.push('purge');
        return store.purgeOldVersions();
      },
    });
    expect(await runtime([erasing], 10, undefined, { store: watched }).rebuild('counts')).toEqual({
      version: 1,
      generation: 2,
    });
    // The service starts again (its grace for retired builds the default 5 minutes).
    await runtime([erasing], 10, undefined, { store: watched }).start();
    await waitFor(async () => !(await store.listCollections()).includes('counts.v1.g1.counts'), 10_000);
    expect(await store.getCheckpoint('counts.v1.g1')).toBeNull();
    await waitFor(async () => steps.lastIndexOf('purge') > steps.indexOf('drop counts.v1.g1'));
  });

  it('before its first build completes a read model is not served, and lag is reported', async () => {
    await appendMany(12);
    const models = new ReadModels(log, store, [counter('counts')]);
    await expect(models.collection('counts', 'counts')).rejects.toThrow(ReadModelNotReadyError);
    const [status] = await models.status();
    expect(status).toMatchObject({ state: 'stopped', checkpoint: 0, lagEvents: 12 });
    expect(status!.lagSeconds).toBeGreaterThanOrEqual(0);
  });
  describe("with a work share (an API's projection process)", () => {
    /** Costs `ms` of CPU per event, like a real projection many times over. */
    const slow = (name: string, ms: number): Projection => ({
      ...counter(name),
      apply(event, ctx) {
        const until = performance.now() + ms;
        while (performance.now() < until);
        return counter(name).apply(event, ctx);
      },
    });
    /** Appends `count` events, one append after another, while the runtime projects. */
    async function appendDuring(count: number): Promise<number> {
      let last = 0;
      for (let i = 0; i < count; i++)
        last = (await log.append(`case-${i % 5}`, [{ type: 'Step', data: { i } }], 'any')).position;
      return last;
    }

    it('rests while the log grows faster than its projections can follow, and misses nothing', async () => {
      const waits: number[] = [];
      const share = new WorkShare({ share: 0.5, sleep: async (ms) => void waits.push(ms) });
      await runtime([slow('a', 4), slow('b', 4)], 20, share).start();
      const last = await appendDuring(400);
      const models = new ReadModels(log, store, [counter('a'), counter('b')]);
      await models.waitFor('a', last, 30_000);
      await models.waitFor('b', last, 30_000);
      expect(waits.length).toBeGreaterThan(0);
      expect(await (await models.collection<Counter>('a', 'counts')).get('case-0')).toMatchObject({ n: 80 });
    }, 60_000);

    it('does not rest when the log has stopped growing (the burst is over), nor on events recorded before its window', async () => {
      const last = await appendDuring(200);
      const caughtUpWaits: number[] = [];
      await runtime(
        [slow('c', 1)],
        10,
        new WorkShare({ share: 0.5, sleep: async (ms) => void caughtUpWaits.push(ms) }),
      ).start();
      await new ReadModels(log, store, [counter('c')]).waitFor('c', last, 30_000);
      expect(caughtUpWaits).toEqual([]);

      // A clock an hour ahead: every event, even one appended while projecting, was recorded before the window.
      const oldWaits: number[] = [];
      const hourAhead = new WorkShare({
        share: 0.5,
        wallClock: () => Date.now() + 3_600_000,
        sleep: async (ms) => void oldWaits.push(ms),
      });
      const behind: boolean[] = [];
      const after = hourAhead.after.bind(hourAhead);
      hourAhead.after = async (batch) => {
        await after(batch);
        behind.push(hourAhead.fallingBehind());
      };
      await runtime([slow('d', 5)], 20, hourAhead).start();
      const more = await appendDuring(600);
      await new ReadModels(log, store, [counter('d')]).waitFor('d', more, 30_000);
      // It fell behind the log, as in the first test, yet never rested.
      expect(behind).toContain(true);
      expect(oldWaits).toEqual([]);
    }, 60_000);
  });
});

/** The counts projection's documents as [stream, count] pairs, by stream. */
async function countsPerStream(models: ReadModels): Promise<Array<[string, number]>> {
  const counts = await (await models.collection<Counter>('counts', 'counts')).find({}, { sort: { _id: 1 } });
  return counts.map((c) => [c._id, c.n]);
}

async function waitFor(condition: () => Promise<boolean>, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 5));
  }
}

/** A property of the real object, its methods bound to it. */
function passThrough<T extends object>(target: T, prop: string | symbol): unknown {
  const value = Reflect.get(target, prop, target) as unknown;
  return typeof value === 'function' ? (value as (...args: unknown[]) => unknown).bind(target) : value;
}

/** The real log, each read its subscriptions deliver recorded (as `read <n>`) in `seen`, where appliers record theirs. */
function readsRecorded(log: EventLog, seen: string[]): EventLog {
  return readsWatched(log, (events) => void seen.push(`read ${events.length}`));
}

/** The real log, `onRead` told of each read its subscriptions deliver, and awaited before the read is handed over. */
function readsWatched(log: EventLog, onRead: (events: readonly unknown[]) => Promise<void> | void): EventLog {
  return new Proxy(log, {
    get(target, prop) {
      if (prop !== 'subscribeToAll') return passThrough(target, prop);
      return (options: Parameters<EventLog['subscribeToAll']>[0]) => {
        const subscription = target.subscribeToAll(options as never);
        const chunks = subscription[Symbol.asyncIterator]();
        return {
          stop: () => subscription.stop(),
          [Symbol.asyncIterator]: () => ({
            next: async () => {
              const next = await chunks.next();
              if (!next.done) await onRead(next.value);
              return next;
            },
            return: () => chunks.return!(),
          }),
        };
      };
    },
  });
}

/**
 * The real store, with its collections' reads counted and getMany offered (as MongoDB's adapter offers it) over the
 * real store's get; index declarations recorded (SQLite takes them as a no-op).
 */
function observing(
  store: ReadStore,
  calls: { get: number; getMany: string[][]; ensureIndexes: Array<[string, readonly IndexSpec[]]> },
): ReadStore {
  const collection = (name: string): ReadCollection =>
    new Proxy(store.collection(name), {
      get(target, prop) {
        // Projection collections only: the registry and checkpoints are read as before.
        if (prop === 'get') return (id: string) => (name.startsWith('_') ? undefined : calls.get++, target.get(id));
        if (prop === 'getMany') {
          return async (ids: readonly string[]) => {
            calls.getMany.push([...ids]);
            const found = new Map<string, ReadDocument>();
            for (const id of ids) {
              const doc = await target.get(id);
              if (doc) found.set(id, doc);
            }
            return found;
          };
        }
        return passThrough(target, prop);
      },
    });
  return new Proxy(store, {
    get(target, prop) {
      if (prop === 'collection') return collection;
      if (prop === 'ensureIndexes')
        return async (name: string, specs: readonly IndexSpec[]) => void calls.ensureIndexes.push([name, specs]);
      return passThrough(target, prop);
    },
  });
}
