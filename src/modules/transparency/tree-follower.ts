/**
 * Keeps a Merkle tree file current behind an event log that cannot keep it in its own transaction (EventStoreDB):
 * follows the log from the last event in the tree and appends each batch of events as leaves, in log order.
 * Run by the worker, the one process that follows the whole log. Framework-free.
 */
import type { Logger } from 'pino';
import type { EventLog, EventSubscription } from '../event-log/event-log.port';
import { leafData } from './domain/log-leaf';
import type { SqliteTreeFile } from './sqlite/sqlite-tree-file';

export class TreeFollower {
  private subscription: EventSubscription | null = null;
  private running: Promise<void> | null = null;

  constructor(
    private readonly log: EventLog,
    private readonly tree: SqliteTreeFile,
    private readonly logger: Logger,
  ) {}

  start(): void {
    this.subscription = this.log.subscribeToAll({ after: this.tree.lastPosition(), maxBatchSize: 1000 });
    const subscription = this.subscription;
    this.running = (async () => {
      try {
        for await (const batch of subscription) {
          this.tree.append(
            batch.map((e) => ({
              eventId: e.id,
              position: e.position,
              leaf: leafData({
                id: e.id,
                streamId: e.streamId,
                type: e.type,
                data: JSON.stringify(e.data),
                metadata: JSON.stringify(e.metadata),
              }),
            })),
          );
        }
      } catch (error) {
        this.logger.error(
          { err: error },
          'the Merkle tree stopped following the log; no checkpoint covers what came after',
        );
      }
    })();
  }

  async stop(): Promise<void> {
    await this.subscription?.stop();
    await this.running;
  }
}
