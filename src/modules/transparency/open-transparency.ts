/**
 * Opens the verifiable log beside the embedded event log and checks it before anything is served: the tree
 * caught up with the log (a log written before the tree existed), its last leaf matching its event, the
 * newest checkpoint matching the tree. A mismatch stops start-up: a rewritten, truncated or replaced log is
 * refused, never signed over.
 */
import { join } from 'node:path';
import type { Logger } from 'pino';
import { StorageOpenError } from '../event-log/event-log.errors';
import type { SqliteEventLog } from '../event-log/sqlite/sqlite-event-log';
import { CHECKPOINT_STORE_FILE, SqliteCheckpointStore } from './sqlite/sqlite-checkpoint-store';
import type { KeyRing } from './signing-keys';
import { TransparencyLog } from './transparency-log';

export function openTransparencyLog(log: SqliteEventLog, dataDir: string, keys: KeyRing, logger: Logger): { transparency: TransparencyLog; close(): void } {
  const tree = log.tree;
  const leaves = tree.size();
  const events = tree.logSize();
  const stored = tree.eventCount();
  if (stored !== events) throw new StorageOpenError(log.file, `the log's positions run to ${events} but only ${stored} events are stored: events were removed; run npm run cli -- verify to see which checkpoint it contradicts`);
  if (leaves > events) throw new StorageOpenError(log.file, `its Merkle tree holds ${leaves} leaves but the log only ${events} events: events were removed; run npm run cli -- verify`);
  if (leaves < events) {
    const { added } = tree.catchUp();
    logger.info({ added, leaves: leaves + added }, 'the log\'s Merkle tree caught up with the log');
  }
  const store = new SqliteCheckpointStore(join(dataDir, CHECKPOINT_STORE_FILE));
  const transparency = new TransparencyLog(tree, store, keys, logger.child({ component: 'transparency' }));
  const problem = transparency.stateProblem((position) => tree.recomputedLeafHash(position));
  if (problem) {
    store.close();
    throw new StorageOpenError(log.file, `${problem}; run npm run cli -- verify to see which checkpoint it contradicts`);
  }
  return { transparency, close: () => store.close() };
}
