/**
 * Opens the verifiable log beside the embedded event log and checks it before anything is served: the tree
 * caught up with the log (a log written before the tree existed, or a writer stopped between the events' commit and
 * the tree's), its last leaf matching its event, the
 * newest checkpoint matching the tree. A mismatch stops start-up: a rewritten, truncated or replaced log is
 * refused, never signed over.
 */
import { join } from 'node:path';
import type { Logger } from 'pino';
import { StorageOpenError } from '../event-log/event-log.errors';
import type { SqliteEventLog } from '../event-log/sqlite/sqlite-event-log';
import type { EventLog } from '../event-log/event-log.port';
import { CHECKPOINT_STORE_FILE, SqliteCheckpointStore } from './sqlite/sqlite-checkpoint-store';
import { SqliteTreeFile, TREE_FILE } from './sqlite/sqlite-tree-file';
import { TreeFollower } from './tree-follower';
import type { KeyRing } from './signing-keys';
import type { NoteVerifierKey } from './domain/signed-note';
import { lastLeafProblem, TransparencyLog } from './transparency-log';

/**
 * `acceptLoss`: the operator is accepting a loss of acknowledged events (accept-log-loss): checkpoints of more leaves
 * than the log now holds are set aside (kept, named by verify) instead of refusing the start. `witnesses`: the keys
 * whose cosignatures are kept and served (loadWitnessKeys); none by default, so every cosignature is refused.
 */
export function openTransparencyLog(
  log: SqliteEventLog,
  dataDir: string,
  keys: KeyRing,
  logger: Logger,
  options: { acceptLoss?: string; witnesses?: readonly NoteVerifierKey[] } = {},
): { transparency: TransparencyLog; close(): void } {
  const tree = log.tree;
  const leaves = tree.size();
  // The tree first: it only grows after the events it covers, so it is never read ahead of the log read after it.
  const { positions: events, events: stored } = tree.logExtent();
  if (stored !== events)
    throw new StorageOpenError(
      log.file,
      `the log's positions run to ${events} but only ${stored} events are stored: events were removed; run npm run cli -- verify to see which checkpoint it contradicts`,
    );
  if (leaves > events)
    throw new StorageOpenError(
      log.file,
      `its Merkle tree holds ${leaves} leaves but the log only ${events} events: events were removed; run npm run cli -- verify`,
    );
  if (leaves < events) {
    // The last leaf the tree holds is checked before the tree grows past it: afterwards only the new last leaf is, and
    // an event replaced at exactly that position, with no checkpoint yet covering it, would be taken into the tree.
    const problem = lastLeafProblem(tree, leaves, (position) => tree.recomputedLeafHash(position));
    if (problem)
      throw new StorageOpenError(log.file, `${problem}; run npm run cli -- verify to see which event differs`);
    const { added } = tree.catchUp();
    logger.info({ added, leaves: leaves + added }, "the log's Merkle tree caught up with the log");
  }
  const store = new SqliteCheckpointStore(join(dataDir, CHECKPOINT_STORE_FILE));
  if (options.acceptLoss !== undefined) {
    const moved = store.supersedeBeyond(tree.size(), options.acceptLoss);
    if (moved > 0)
      logger.warn(
        { checkpoints: moved, leaves: tree.size() },
        'signed checkpoints of the lost history set aside: witnesses holding them will report a fork, which the recorded acceptance explains',
      );
  }
  const transparency = new TransparencyLog(tree, store, keys, logger.child({ component: 'transparency' }), {
    witnesses: options.witnesses ?? [],
  });
  const problem = transparency.stateProblem((position) => tree.recomputedLeafHash(position));
  if (problem) {
    store.close();
    throw new StorageOpenError(
      log.file,
      `${problem}; run npm run cli -- verify to see which checkpoint it contradicts`,
    );
  }
  return { transparency, close: async () => store.close() };
}

/**
 * The verifiable log behind an event log that cannot keep the tree in its own transaction (EventStoreDB): the
 * worker follows the log into DATA_DIR/tree.db and signs checkpoints of it. Checked on start like the embedded one
 * (the newest checkpoint's root must be the tree's); the tree may be behind the log by the events not yet followed.
 */
export function openFollowedTransparencyLog(
  log: EventLog,
  dataDir: string,
  keys: KeyRing,
  logger: Logger,
  options: { witnesses?: readonly NoteVerifierKey[] } = {},
): { transparency: TransparencyLog; close(): Promise<void> } {
  const tree = new SqliteTreeFile(join(dataDir, TREE_FILE));
  const store = new SqliteCheckpointStore(join(dataDir, CHECKPOINT_STORE_FILE));
  const transparency = new TransparencyLog(tree, store, keys, logger.child({ component: 'transparency' }), {
    witnesses: options.witnesses ?? [],
  });
  const problem = transparency.stateProblem(null);
  if (problem) {
    store.close();
    tree.close();
    throw new StorageOpenError(
      tree.file,
      `${problem}; run npm run cli -- verify to see which checkpoint the log contradicts`,
    );
  }
  const follower = new TreeFollower(log, tree, logger.child({ component: 'transparency' }));
  follower.start();
  return {
    transparency,
    async close() {
      await follower.stop();
      store.close();
      tree.close();
    },
  };
}
