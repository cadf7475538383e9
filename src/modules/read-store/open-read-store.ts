import { join } from 'node:path';
import type { ReadStore } from './read-store.port';
import { openSqliteReadStore } from './sqlite/sqlite-read-store';

export type ReadStoreConfig = { kind: 'sqlite'; dataDir: string } | { kind: 'mongodb'; url: string; database: string };

/** The file name of the embedded read store inside DATA_DIR (apart from the event log: separate writers). */
export const READ_STORE_FILE = 'read.db';

export async function openReadStore(config: ReadStoreConfig): Promise<ReadStore> {
  if (config.kind === 'sqlite') return openSqliteReadStore({ file: join(config.dataDir, READ_STORE_FILE) });
  // The driver is loaded only by a deployment that uses it, as the EventStoreDB client is.
  const { openMongoReadStore } = await import('./mongodb/mongodb-read-store.js');
  return openMongoReadStore({ url: config.url, database: config.database });
}
