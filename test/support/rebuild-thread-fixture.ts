import { join } from 'node:path';
import { openSqliteEventLog } from '../../src/modules/event-log/sqlite/sqlite-event-log';
import { openSqliteReadStore } from '../../src/modules/read-store/sqlite/sqlite-read-store';
import type { ReadDocument } from '../../src/modules/read-store/read-store.port';
import type { Projection } from '../../src/projections/projection';
import type { RebuildThreadParts } from '../../src/projections/rebuild-threads';
import { REGISTRY_COLLECTION, type RegistryEntry } from '../../src/projections/projection-registry';

/**
 * A rebuild thread's setup for the runtime's tests (RuntimeOptions.rebuildThreads): the log and read store of `dir`
 * and counting projections (events per stream, times `factor`). `crashAt`: the thread dies outright, in the middle of
 * a batch (process.exit ends a worker thread at once, as a crash would), when one of its projections reaches that
 * position, after the batches before it were written.
 */
export interface FixtureSetup {
  dir: string;
  /** `poison`: an event type the projection cannot apply (it fails on it). */
  projections: Array<{ name: string; factor?: number; poison?: string }>;
  crashAt?: number;
  /**
   * A projection the calling thread rebuilds and its last generation before the rebuild: the thread fails at its start
   * if that one's new build was begun already, that is if the calling thread wrote to the read store before this
   * thread had opened it.
   */
  openedBeforeWritesOf?: { name: string; lastGeneration: number };
}

export function countingProjection(
  name: string,
  factor = 1,
  onEvent?: (position: number) => void,
  poison?: string,
): Projection {
  return {
    name,
    version: 1,
    eventTypes: '*',
    collections: ['counts'],
    async apply(event, ctx) {
      onEvent?.(event.position);
      if (event.type === poison) throw new Error(`cannot apply ${event.type}`);
      const doc = await ctx.get<ReadDocument & { n: number }>('counts', event.streamId);
      ctx.upsert('counts', { _id: event.streamId, n: (doc?.n ?? 0) + factor });
    },
  };
}

export async function openRebuildThread(setup: FixtureSetup): Promise<RebuildThreadParts> {
  const log = openSqliteEventLog({ file: join(setup.dir, 'events.db'), checkpointer: false, pollIntervalMs: 5 });
  const store = openSqliteReadStore({ file: join(setup.dir, 'read.db') });
  const before = setup.openedBeforeWritesOf;
  if (before) {
    const entry = await store.collection<RegistryEntry>(REGISTRY_COLLECTION).get(before.name);
    if ((entry?.lastGeneration ?? 0) !== before.lastGeneration) {
      await store.close();
      await log.close();
      throw new Error(`${before.name} was being rebuilt before this thread opened the read store`);
    }
  }
  const crash = (position: number): void => {
    if (setup.crashAt !== undefined && position >= setup.crashAt) process.exit(3);
  };
  return {
    log,
    store,
    projections: setup.projections.map((p) => countingProjection(p.name, p.factor, crash, p.poison)),
    async close() {
      await store.close();
      await log.close();
    },
  };
}
