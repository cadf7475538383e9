import { join } from 'node:path';
import { closeRuntimeFiles, openRuntimeFiles } from '../../test/support/runtime-files';
import type { SqliteEventLog } from '../modules/event-log/sqlite/sqlite-event-log';
import type { SqliteReadStore } from '../modules/read-store/sqlite/sqlite-read-store';
import type { ReadDocument } from '../modules/read-store/read-store.port';
import { ProjectionRuntime, type BuildProgress, type RebuiltThread } from './projection-runtime';
import { ReadModels } from './read-models';
import { REGISTRY_COLLECTION, type RegistryEntry } from './projection-registry';
import { RebuildThreadError, splitForThreads } from './rebuild-threads';
import { countingProjection, type FixtureSetup } from '../../test/support/rebuild-thread-fixture';

const FIXTURE = join(__dirname, '../../test/support/rebuild-thread-fixture.ts');

describe('splitForThreads', () => {
  it('balances the groups by weight, the heaviest group first, each in the order the projections were named', () => {
    const weights = { compliance: 9.6, cases: 6.5, 'log-overview': 1.2, 'catalog-usage': 0.9 };
    const all = ['log-overview', 'cases', 'compliance', 'catalog-usage'];
    expect(splitForThreads(all, 2, weights)).toEqual([['compliance'], ['log-overview', 'cases', 'catalog-usage']]);
    expect(splitForThreads(all, 3, weights)).toEqual([['compliance'], ['cases'], ['log-overview', 'catalog-usage']]);
    expect(splitForThreads(all, 1, weights)).toEqual([all]);
    // More threads than projections: one each, no empty thread.
    expect(splitForThreads(['a', 'b'], 8)).toEqual([['a'], ['b']]);
  });
});

describe('rebuildMany on several threads', () => {
  it('a rebuild whose old build cannot be dropped at the switch still returns; the old build stays retired', async () => {
    // Two threads writing one SQLite file: a drop waiting past the busy timeout for the other's long write failed, and
    // the switched runner then followed the log live instead of ending (the rebuild hung).
    const busy = new Proxy(store, {
      get: (target, property, receiver) =>
        property === 'drop'
          ? () => Promise.reject(new Error('database is locked'))
          : (Reflect.get(target, property, receiver) as unknown),
    });
    await appendMany(20);
    const r = new ProjectionRuntime(log, busy, [countingProjection('counts')], {
      batchSize: 10,
      retiredBuildGraceMs: 0,
      retry: { initialMs: 20, maxMs: 100 },
    });
    runtimes.push(r);
    await r.rebuild('counts');
    await expect(r.rebuild('counts')).resolves.toEqual({ version: 1, generation: 2 });
    const entry = await store.collection<RegistryEntry>(REGISTRY_COLLECTION).get('counts');
    expect(entry).toMatchObject({ active: { generation: 2 }, retired: [{ generation: 1 }] });
  }, 10_000);

  let dir: string;
  let log: SqliteEventLog;
  let store: SqliteReadStore;
  const runtimes: ProjectionRuntime[] = [];

  beforeEach(() => ({ dir, log, store } = openRuntimeFiles('reglament-threads-')));
  afterEach(() => closeRuntimeFiles({ dir, log, store }, runtimes));

  const projections = () => [countingProjection('counts'), countingProjection('doubled', 2)];

  async function runtime(threads: number, crashAt?: number, poison?: string): Promise<ProjectionRuntime> {
    const entry = await store.collection<RegistryEntry>(REGISTRY_COLLECTION).get('counts');
    const setup: FixtureSetup = {
      dir,
      projections: [{ name: 'counts' }, { name: 'doubled', factor: 2, ...(poison ? { poison } : {}) }],
      // This thread (`counts`) writes nothing before the worker thread has opened the read store: its first writes
      // held the store's lock while the worker opened it ("database is locked").
      openedBeforeWritesOf: { name: 'counts', lastGeneration: entry?.lastGeneration ?? 0 },
      ...(crashAt !== undefined ? { crashAt } : {}),
    };
    const r = new ProjectionRuntime(log, store, projections(), {
      batchSize: 10,
      retiredBuildGraceMs: 0,
      retry: { initialMs: 20, maxMs: 100 },
      lease: { holder: 'rebuild-test' },
      // Equal weights: `counts` is rebuilt on this thread, `doubled` on a worker thread.
      rebuildThreads: { threads, setup: { module: FIXTURE, data: setup } },
    });
    runtimes.push(r);
    return r;
  }

  async function appendMany(count: number, streams = 5): Promise<void> {
    for (let i = 0; i < count; i++) await log.append(`case-${i % streams}`, [{ type: 'Step', data: { i } }], 'any');
  }

  const models = () => new ReadModels(log, store, projections());
  const counts = async (name: string): Promise<Record<string, number>> =>
    Object.fromEntries(
      (await (await models().collection<ReadDocument & { n: number }>(name, 'counts')).find({})).map((d) => [
        d._id,
        d.n,
      ]),
    );
  const generations = async () => (await models().status()).map((s) => [s.name, s.generation]);

  it('rebuilds each group on its own thread, reports every projection’s progress, and builds what one thread builds', async () => {
    await appendMany(50, 7);
    await (await runtime(1)).rebuildMany(['counts', 'doubled']);
    const oneThread = { counts: await counts('counts'), doubled: await counts('doubled') };
    expect(Object.values(oneThread.doubled).reduce((a, b) => a + b, 0)).toBe(100);

    const progress: BuildProgress[] = [];
    const twoThreads = await runtime(2);
    let threads: RebuiltThread[] = [];
    twoThreads.events.once('rebuilt', (used: RebuiltThread[]) => (threads = used));
    const builds = await twoThreads.rebuildMany(['counts', 'doubled'], (p) => progress.push(p));
    // Each thread's projections and CPU time (Linux: /proc; null elsewhere).
    const cpu = process.platform === 'linux' ? expect.any(Number) : null;
    expect(threads).toEqual([
      { projections: ['counts'], cpuSeconds: cpu },
      { projections: ['doubled'], cpuSeconds: cpu },
    ]);
    expect(builds).toEqual([
      { version: 1, generation: 2 },
      { version: 1, generation: 2 },
    ]);
    // The worker thread's progress comes back to the caller as this thread's does: every batch, up to the head.
    for (const name of ['counts', 'doubled'])
      expect(progress.filter((p) => p.projection === name).map((p) => p.position)).toEqual([10, 20, 30, 40, 50]);
    expect(await generations()).toEqual([
      ['counts', 2],
      ['doubled', 2],
    ]);
    expect({ counts: await counts('counts'), doubled: await counts('doubled') }).toEqual(oneThread);
  }, 30_000);

  it('a projection that fails on its thread is reported with its event, as on one thread, and the others switch', async () => {
    await appendMany(30, 3);
    await (await runtime(1)).rebuildMany(['counts', 'doubled']);
    await log.append('case-9', [{ type: 'Poison', data: {} }], 'any');
    await appendMany(5, 3);
    await expect((await runtime(2, undefined, 'Poison')).rebuildMany(['counts', 'doubled'])).rejects.toThrow(
      /^projection doubled failed at position 31 \(Poison in case-9\): cannot apply Poison$/,
    );
    expect(await generations()).toEqual([
      ['counts', 2],
      ['doubled', 1],
    ]);
    expect(Object.values(await counts('counts')).reduce((a, b) => a + b, 0)).toBe(36);
  }, 30_000);

  it('a thread that dies mid-rebuild leaves its projections’ old builds served, the others switch, and a rebuild again succeeds', async () => {
    await appendMany(50, 7);
    await (await runtime(1)).rebuildMany(['counts', 'doubled']);
    const before = await counts('doubled');
    await appendMany(10, 7);

    // The worker thread (`doubled`) exits in the middle of its third batch, two batches of its new build written.
    const failed = (await runtime(2, 25)).rebuildMany(['counts', 'doubled']);
    await expect(failed).rejects.toThrow(RebuildThreadError);
    // Its exit code, or what the thread threw as it went down: CI once saw the thread's last error reported first.
    await expect(failed).rejects.toThrow(/^the rebuild thread of doubled stopped: /);
    // `counts`, on this thread, switched; readers of `doubled` still read its old build, as it was.
    expect(await generations()).toEqual([
      ['counts', 2],
      ['doubled', 1],
    ]);
    expect(Object.values(await counts('counts')).reduce((a, b) => a + b, 0)).toBe(60);
    expect(await counts('doubled')).toEqual(before);
    const entry = await store.collection<RegistryEntry>(REGISTRY_COLLECTION).get('doubled');
    expect(entry).toMatchObject({ active: { generation: 1 }, building: { generation: 2 } });

    // Run again (the dead thread's rebuild lease was this runtime's holder's: taken at once), it completes.
    await (await runtime(2)).rebuildMany(['counts', 'doubled']);
    expect(await generations()).toEqual([
      ['counts', 3],
      ['doubled', 3],
    ]);
    expect(Object.values(await counts('doubled')).reduce((a, b) => a + b, 0)).toBe(120);
  }, 30_000);
});
