import { join } from 'node:path';
import { closeRuntimeFiles, openRuntimeFiles } from '../../test/support/runtime-files';
import type { SqliteEventLog } from '../modules/event-log/sqlite/sqlite-event-log';
import { openSqliteReadStore, type SqliteReadStore } from '../modules/read-store/sqlite/sqlite-read-store';
import type { ReadDocument, ReadStore, WriteBatch } from '../modules/read-store/read-store.port';
import type { Projection } from './projection';
import { ProjectionRuntime } from './projection-runtime';
import { ProjectionRegistry, REGISTRY_COLLECTION, type RegistryEntry } from './projection-registry';
import { ReadModels } from './read-models';

interface Counter extends ReadDocument {
  n: number;
}

/** Counts events per stream; `gate`, when given, is awaited before each event is applied (a process held mid-batch). */
function counter(gate?: (position: number) => Promise<void> | void): Projection {
  return {
    name: 'counts',
    version: 1,
    eventTypes: '*',
    collections: ['counts'],
    async apply(event, ctx) {
      await gate?.(event.position);
      const doc = await ctx.get<Counter>('counts', event.streamId);
      ctx.upsert('counts', { _id: event.streamId, n: (doc?.n ?? 0) + 1 });
    },
  };
}

/**
 * A process's connection to the read store whose next registry write, once armed, is held after the registry read the
 * entry and before it writes it (a process descheduled, a network round trip): everything else passes straight through.
 */
function holdingRegistryWrites(store: ReadStore): {
  store: ReadStore;
  /** Holds the next registry write: `reached` once it is held, `release` lets it go on to the store. */
  arm(): { reached: Promise<void>; release(): void };
} {
  let armed: { reached(): void; released: Promise<void> } | null = null;
  const write = async (batch: WriteBatch): Promise<void> => {
    const hold = armed;
    if (hold && batch.ops.some((op) => op.collection === REGISTRY_COLLECTION)) {
      armed = null;
      hold.reached();
      await hold.released;
    }
    return store.write(batch);
  };
  return {
    store: new Proxy(store, {
      get(target, prop) {
        if (prop === 'write') return write;
        const value = Reflect.get(target, prop, target) as unknown;
        return typeof value === 'function' ? (value as (...args: unknown[]) => unknown).bind(target) : value;
      },
    }),
    arm() {
      let reached!: () => void;
      let release!: () => void;
      const reachedHold = new Promise<void>((resolve) => (reached = resolve));
      const released = new Promise<void>((resolve) => (release = resolve));
      armed = { reached, released };
      return { reached: reachedHold, release };
    },
  };
}

async function waitFor(condition: () => Promise<boolean>, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 5));
  }
}

describe('projection registry: two writers of one entry on two connections to one read.db', () => {
  let dir: string;
  let log: SqliteEventLog;
  let store: SqliteReadStore;
  const runtimes: ProjectionRuntime[] = [];
  const others: SqliteReadStore[] = [];

  beforeEach(() => ({ dir, log, store } = openRuntimeFiles('reglament-registry-')));
  afterEach(async () => {
    for (const r of runtimes.splice(0)) await r.stop();
    for (const other of others.splice(0)) await other.close();
    await closeRuntimeFiles({ dir, log, store }, runtimes);
  });

  /** Another process's connection to the same read.db. */
  function connection(): SqliteReadStore {
    const other = openSqliteReadStore({ file: join(dir, 'read.db') });
    others.push(other);
    return other;
  }

  function runtime(projection: Projection, on: ReadStore, holder: string): ProjectionRuntime {
    const r = new ProjectionRuntime(log, on, [projection], {
      batchSize: 10,
      retry: { initialMs: 20, maxMs: 100 },
      lease: { holder, ttlMs: 60_000 },
    });
    runtimes.push(r);
    return r;
  }

  async function appendMany(count: number, streams = 4): Promise<number> {
    let last = 0;
    for (let i = 0; i < count; i++)
      last = (await log.append(`case-${i % streams}`, [{ type: 'Step', data: { i } }], 'any')).position;
    return last;
  }

  const entry = async (): Promise<RegistryEntry | null> => new ProjectionRegistry(store).get('counts');

  it("update reads again and re-applies its change when another connection wrote the entry between its read and its write: neither writer's change is lost", async () => {
    const held = holdingRegistryWrites(connection());
    const service = new ProjectionRegistry(held.store);
    const rebuild = new ProjectionRegistry(connection());
    await rebuild.update('counts', (e) => ({ ...e, active: { version: 1, generation: 1, switchedAt: 't0' } }));
    const hold = held.arm();
    const stateChange = service.update('counts', (e) => ({ ...e, state: 'live' }));
    await hold.reached;
    // The rebuild's switch, between the service's read of the entry and its write.
    await rebuild.update('counts', (e) => ({
      ...e,
      active: { version: 1, generation: 2, switchedAt: 't1' },
      retired: [{ version: 1, generation: 1, retiredAt: 't1' }],
    }));
    hold.release();
    await stateChange;
    expect(await entry()).toMatchObject({
      state: 'live',
      active: { generation: 2 },
      retired: [{ generation: 1 }],
    });
  });

  it("the service's runner changing its state while the rebuild command switches readers (another process) leaves readers on the new build, the old one retired", async () => {
    await appendMany(20);
    const held = holdingRegistryWrites(connection());
    const service = runtime(counter(), held.store, 'service');
    await service.start();
    const models = new ReadModels(log, connection(), [counter()]);
    await models.waitFor('counts', 20, 5000);
    // The rebuild command, in another process: it records its build under way (state `rebuilding`), then is held
    // at its first event.
    let resume!: () => void;
    const resumed = new Promise<void>((resolve) => (resume = resolve));
    let rebuildHeld = false;
    const command = runtime(
      counter(async (position) => {
        if (position !== 1 || rebuildHeld) return;
        rebuildHeld = true;
        await resumed;
      }),
      connection(),
      'rebuild-command',
    );
    const rebuilt = command.rebuild('counts');
    await waitFor(async () => rebuildHeld && (await entry())?.state === 'rebuilding');
    // An append: the service's runner projects it, reaches the head and says `live` again. Its registry write is held
    // after its read of the entry, while the command builds, switches readers and returns.
    const hold = held.arm();
    await appendMany(1);
    await hold.reached;
    resume();
    expect(await rebuilt).toEqual({ version: 1, generation: 2 });
    hold.release();
    // The service's state change is written over the switch, not instead of it.
    await waitFor(async () => (await entry())?.state === 'live');
    expect(await entry()).toMatchObject({
      active: { version: 1, generation: 2 },
      building: null,
      retired: [{ version: 1, generation: 1 }],
    });
    // Readers are on the new build, which the service's runner follows from then on.
    const last = await appendMany(3);
    await models.waitFor('counts', last, 5000);
    expect((await models.status())[0]).toMatchObject({ generation: 2, checkpoint: last });
    const counted = await store.collection<Counter>('counts.v1.g2.counts').find({});
    expect(counted.reduce((sum, c) => sum + c.n, 0)).toBe(last);
  });

  it('a runner that chose a new generation from an entry another runner has since changed chooses again: the service starting while the rebuild command starts never writes the build under way by the command', async () => {
    await appendMany(20);
    // The service starts on a model never built: it reads the entry (no build), chooses generation 1, and its write of
    // that choice is held.
    const held = holdingRegistryWrites(connection());
    const hold = held.arm();
    const service = runtime(counter(), held.store, 'service');
    let byService = 0;
    service.events.on('projected', () => byService++);
    const started = service.start();
    await hold.reached;
    // The rebuild command (another process) reads the entry meanwhile, chooses generation 1 too, records it under its
    // lease and is held inside its build.
    let resume!: () => void;
    const resumed = new Promise<void>((resolve) => (resume = resolve));
    let rebuildHeld = false;
    const command = runtime(
      counter(async (position) => {
        if (position !== 5 || rebuildHeld) return;
        rebuildHeld = true;
        await resumed;
      }),
      connection(),
      'rebuild-command',
    );
    const rebuilt = command.rebuild('counts');
    await waitFor(async () => rebuildHeld);
    hold.release();
    await started;
    await new Promise((resolve) => setTimeout(resolve, 300));
    // The service's runner waits for the command's build: one writer of a build under way.
    expect(byService).toBe(0);
    expect((await entry())?.building).toMatchObject({ version: 1, generation: 1, lease: 'rebuild:counts' });
    resume();
    expect(await rebuilt).toEqual({ version: 1, generation: 1 });
    // Then follows the build the command switched readers to; each event applied once.
    const last = await appendMany(4);
    await new ReadModels(log, store, [counter()]).waitFor('counts', last, 5000);
    expect(byService).toBeGreaterThan(0);
    const counted = await store.collection<Counter>('counts.v1.g1.counts').find({});
    expect(counted.reduce((sum, c) => sum + c.n, 0)).toBe(last);
    expect(await entry()).toMatchObject({ active: { generation: 1 }, building: null, lastGeneration: 1 });
  });
});
