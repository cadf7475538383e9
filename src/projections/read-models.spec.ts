import { join } from 'node:path';
import { closeRuntimeFiles, openRuntimeFiles, type RuntimeFiles } from '../../test/support/runtime-files';
import { openSqliteEventLog, type SqliteEventLog } from '../modules/event-log/sqlite/sqlite-event-log';
import { openSqliteReadStore } from '../modules/read-store/sqlite/sqlite-read-store';
import type { ReadDocument } from '../modules/read-store/read-store.port';
import type { Projection } from './projection';
import { ProjectionRuntime } from './projection-runtime';
import { ReadModelNotReadyError, ReadModels } from './read-models';

/** Counts events per stream. */
const counts: Projection = {
  name: 'counts',
  version: 1,
  eventTypes: '*',
  collections: ['counts'],
  async apply(event, ctx) {
    const doc = await ctx.get<ReadDocument & { n: number }>('counts', event.streamId);
    ctx.upsert('counts', { _id: event.streamId, n: (doc?.n ?? 0) + 1 });
  },
};

describe('read models', () => {
  let files: RuntimeFiles;
  const runtimes: ProjectionRuntime[] = [];
  const logs: SqliteEventLog[] = [];

  beforeEach(() => (files = openRuntimeFiles('reglament-read-models-')));
  afterEach(async () => {
    for (const runtime of runtimes.splice(0)) await runtime.stop();
    for (const log of logs.splice(0)) await log.close();
    await closeRuntimeFiles(files, []);
  });

  /** Another events.db beside read.db, holding `count` events of its own (another history than the first file's). */
  async function otherLog(name: string, count: number, stream: string): Promise<SqliteEventLog> {
    const log = openSqliteEventLog({ file: join(files.dir, name), pollIntervalMs: 5 });
    logs.push(log);
    for (let i = 0; i < count; i++) await log.append(`${stream}-${i % 3}`, [{ type: 'Step', data: { i } }], 'any');
    return log;
  }

  async function projectFirstLog(count: number): Promise<void> {
    for (let i = 0; i < count; i++) await files.log.append(`lost-${i % 4}`, [{ type: 'Step', data: { i } }], 'any');
    const runtime = new ProjectionRuntime(files.log, files.store, [counts]);
    runtimes.push(runtime);
    await runtime.start();
    await new ReadModels(files.log, files.store, [counts]).waitFor('counts', count, 5000);
    await runtime.stop();
  }

  it('a build whose checkpoint the log does not hold (past its head, or on another event) is not served: 503 "being built", /health state ahead-of-log, until the projections rebuild it', async () => {
    await projectFirstLog(10);
    const served = new ReadModels(files.log, files.store, [counts]);
    expect(await (await served.collection('counts', 'counts')).count()).toBe(4);
    expect((await served.status())[0]).toMatchObject({ state: 'stopped', checkpoint: 10, error: null });

    // An older copy of the log (5 events), and another history grown past the checkpoint (15 events): the read store kept.
    const shorter = await otherLog('shorter.db', 5, 'kept');
    const other = await otherLog('other.db', 15, 'kept');
    for (const [log, problem] of [
      [shorter, "position 10 is past the log's head 5"],
      [other, 'the event at position 10 is'],
    ] as const) {
      const models = new ReadModels(log, files.store, [counts]);
      await expect(models.collection('counts', 'counts')).rejects.toBeInstanceOf(ReadModelNotReadyError);
      expect(() => (models.activeNow('counts') as { collection(n: string): unknown }).collection('counts')).toThrow(
        ReadModelNotReadyError,
      );
      expect(await models.position('counts')).toBe(0);
      const [status] = await models.status();
      expect(status).toMatchObject({
        name: 'counts',
        state: 'ahead-of-log',
        checkpoint: 0,
        error: { checkpoint: 10, problem: expect.stringContaining(problem) },
      });
    }

    // The projections' start drops the build and builds the log's anew: the same reader serves it then.
    const models = new ReadModels(other, files.store, [counts]);
    await expect(models.collection('counts', 'counts')).rejects.toBeInstanceOf(ReadModelNotReadyError);
    const runtime = new ProjectionRuntime(other, files.store, [counts]);
    runtimes.push(runtime);
    await runtime.start();
    await models.waitFor('counts', 15, 5000);
    const rebuilt = await models.collection('counts', 'counts');
    expect((await rebuilt.find({}, { sort: { _id: 1 } })).map((d) => d._id)).toEqual(['kept-0', 'kept-1', 'kept-2']);
    expect((await models.status())[0]).toMatchObject({ state: 'live', checkpoint: 15, error: null });
  });

  it("a reader lets its copies of a build go once it is switched to the next (a request that looked the old one up still reads it, uncopied), and a dropped build's", async () => {
    for (let i = 0; i < 30; i++) await files.log.append(`case-${i % 3}`, [{ type: 'Step', data: { i } }], 'any');
    // The API's own connection to read.db: what the projections write and drop reaches it from another connection.
    const api = openSqliteReadStore({ file: join(files.dir, 'read.db') });
    try {
      const models = new ReadModels(files.log, api, [counts]);
      const keptFor = (ms: number) =>
        new ProjectionRuntime(files.log, files.store, [counts], { retiredBuildGraceMs: ms });
      const list = async () => (await models.collection('counts', 'counts')).find({}, { sort: { _id: 1 } });
      await keptFor(60_000).rebuild('counts');
      expect(await list()).toHaveLength(3);
      const looked = await models.collection('counts', 'counts');
      expect(api.cachedDocuments()).toEqual(new Map([['counts.v1.g1.counts', 3]]));

      await keptFor(60_000).rebuild('counts');
      expect(await list()).toHaveLength(3);
      expect(api.cachedDocuments()).toEqual(new Map([['counts.v1.g2.counts', 3]]));
      // Within its grace period the old build still answers whoever looked it up before the switch, read from the file.
      expect(await looked.find({}, { sort: { _id: 1 } })).toHaveLength(3);
      expect(await looked.count()).toBe(3);
      expect(api.cachedDocuments()).toEqual(new Map([['counts.v1.g2.counts', 3]]));

      // No grace: the retired builds are dropped at the switch.
      await keptFor(0).rebuild('counts');
      expect(await list()).toHaveLength(3);
      expect(api.cachedDocuments()).toEqual(new Map([['counts.v1.g3.counts', 3]]));
      expect(await looked.find({})).toEqual([]);
      expect(api.cachedDocuments()).toEqual(new Map([['counts.v1.g3.counts', 3]]));
    } finally {
      await api.close();
    }
  });
});
