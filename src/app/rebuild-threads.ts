import { openEventLog, type EventLogConfig } from '../modules/event-log/open-event-log';
import { openReadStore, type ReadStoreConfig } from '../modules/read-store/open-read-store';
import { openKeyStore, type KeyStoreSettings } from '../modules/personal-data/keys/open-key-store';
import { PersonalDataVault } from '../modules/personal-data/personal-data-vault';
import type { RebuildThreadParts, RebuildThreadsOptions } from '../projections/rebuild-threads';
import { loadReferenceData } from './reference-data';
import { allProjections } from './projections';

/** What a rebuild thread opens for itself: the same stores, reference data and personal-data keys as its caller. */
export interface RebuildThreadStores {
  eventLog: EventLogConfig;
  readStore: ReadStoreConfig;
  regulationsDir: string;
  calendarsDir: string;
  /** The key store and its master key (hex) where acts' personal fields are to be opened, as the caller's are. */
  personalData?: { settings: KeyStoreSettings; masterKey: string };
}

/**
 * Each projection's CPU time in a rebuild, in seconds for 230,000 bench events (each rebuilt alone, less the log's
 * read for the two light ones; BENCHMARKS.md, issue 19, "Rebuilt on several threads"): the groups of a rebuild on
 * several threads are balanced by it, so the threads end about together (compliance | the other three on two).
 */
export const REBUILD_WEIGHTS: Readonly<Record<string, number>> = {
  compliance: 9.6,
  cases: 6.5,
  // Alone, most of their time is reading and decoding the log, which a thread does once for all its projections.
  'log-overview': 1.2,
  'catalog-usage': 0.9,
};

/** `rebuildMany` on `threads` threads (see RuntimeOptions.rebuildThreads), each opening `stores` for itself. */
export function rebuildThreads(threads: number, stores: RebuildThreadStores): RebuildThreadsOptions {
  return { threads, setup: { module: __filename, data: stores }, weights: REBUILD_WEIGHTS };
}

/** Runs in a rebuild thread (rebuild-thread-entry.ts): the thread's own connections and projections. */
export async function openRebuildThread(stores: RebuildThreadStores): Promise<RebuildThreadParts> {
  const reference = loadReferenceData(stores);
  // Only reads: the log's writer and its checkpointer stay with the process that writes it.
  const log = await openEventLog(stores.eventLog, { readerOnly: true });
  const store = await openReadStore(stores.readStore).catch(async (error: unknown) => {
    await log.close();
    throw error;
  });
  const keys = stores.personalData
    ? await openKeyStore(stores.personalData.settings, Buffer.from(stores.personalData.masterKey, 'hex'))
    : null;
  return {
    log,
    store,
    projections: allProjections(reference, keys ? new PersonalDataVault(keys) : undefined),
    async close() {
      await store.close();
      await keys?.close();
      await log.close();
    },
  };
}
