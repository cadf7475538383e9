/**
 * Appends events to a stream the service writes for itself (catalog pins, log-integrity records), sealed and chained
 * like a case (previousHash, hash), so `verify` checks every stream and each leaf of the Merkle tree is a sealed hash.
 * A writer that lost a race reads the new head and seals again.
 */
import { WrongExpectedRevisionError } from '../event-log/event-log.errors';
import type { AppendResult, EventLog } from '../event-log/event-log.port';
import { sealRecord } from '../cases/domain/hash-chain';
import { sealedHashOf } from './domain/log-leaf';

const MAX_ATTEMPTS = 5;

export async function appendSealed(
  log: EventLog,
  streamId: string,
  events: ReadonlyArray<{ type: string; data: unknown; metadata?: Record<string, unknown> }>,
): Promise<AppendResult> {
  for (let attempt = 1; ; attempt++) {
    const [last] = await log.readStream(streamId, { direction: 'backwards', maxCount: 1 });
    const head = last ? last.revision : -1;
    let revision = head;
    let previous = last ? sealedHashOf(last.metadata) : null;
    const sealed = events.map((event) => {
      revision++;
      const record = sealRecord(
        { streamId, revision, type: event.type, data: event.data, metadata: event.metadata ?? {} },
        previous,
      );
      previous = record.hash;
      return { type: event.type, data: record.data, metadata: record.metadata };
    });
    try {
      return await log.append(streamId, sealed, head < 0 ? 'no_stream' : head);
    } catch (error) {
      if (!(error instanceof WrongExpectedRevisionError) || attempt >= MAX_ATTEMPTS) throw error;
    }
  }
}
