/**
 * Appends events to streams the service writes for itself as things happen (a day's auditors' access log, its
 * personal-data disclosures), sealed and chained like every stream. Concurrent callers would race for a stream's next
 * revision and lose past any number of retries: one writer per process appends them in batches, in order, and each
 * caller waits for the batch that holds its event. The stream's head is kept from the last append (no read per
 * batch); another process's writer is met by reading it again, a few times.
 */
import type { EventLog } from '../event-log/event-log.port';
import { WrongExpectedRevisionError } from '../event-log/event-log.errors';
import { sealRecord } from '../cases/domain/hash-chain';
import { sealedHashOf } from './domain/log-leaf';

/** Attempts at appending a batch when another writer (another API instance) extended the stream meanwhile. */
const MAX_ATTEMPTS = 5;

export interface StreamEvent {
  type: string;
  data: unknown;
  metadata: Record<string, unknown>;
}

interface Pending {
  streamId: string;
  event: StreamEvent;
  resolve(): void;
  reject(error: unknown): void;
}

export class SealedStreamWriter {
  private pending: Pending[] = [];
  private writing = false;
  /** The stream's last revision and hash as this writer last appended them; read from the log when unknown. */
  private head: { streamId: string; revision: number; hash: string | null } | null = null;

  constructor(private readonly log: EventLog) {}

  /** Settles once the event is stored; rejects with the log's error (WrongExpectedRevisionError: other writers won). */
  append(streamId: string, event: StreamEvent): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      this.pending.push({ streamId, event, resolve, reject });
      void this.drain();
    });
  }

  private async drain(): Promise<void> {
    if (this.writing) return;
    this.writing = true;
    try {
      while (this.pending.length > 0) {
        const batch = this.pending;
        this.pending = [];
        const byStream = new Map<string, Pending[]>();
        for (const item of batch) byStream.set(item.streamId, [...(byStream.get(item.streamId) ?? []), item]);
        for (const [streamId, items] of byStream) {
          try {
            await this.appendChained(streamId, items);
            for (const item of items) item.resolve();
          } catch (error) {
            for (const item of items) item.reject(error);
          }
        }
      }
    } finally {
      this.writing = false;
    }
  }

  private async appendChained(streamId: string, items: Pending[]): Promise<void> {
    for (let attempt = 1; ; attempt++) {
      let head = this.head?.streamId === streamId ? this.head : null;
      if (!head) {
        const [last] = await this.log.readStream(streamId, { direction: 'backwards', maxCount: 1 });
        head = { streamId, revision: last ? last.revision : -1, hash: last ? sealedHashOf(last.metadata) : null };
      }
      let revision = head.revision;
      let previous = head.hash;
      const events = items.map(({ event }) => {
        revision++;
        const sealed = sealRecord(
          { streamId, revision, type: event.type, data: event.data, metadata: event.metadata },
          previous,
        );
        previous = sealed.hash;
        return { type: event.type, data: sealed.data, metadata: sealed.metadata };
      });
      try {
        await this.log.append(streamId, events, head.revision < 0 ? 'no_stream' : head.revision);
        this.head = { streamId, revision, hash: previous };
        return;
      } catch (error) {
        this.head = null;
        if (!(error instanceof WrongExpectedRevisionError) || attempt >= MAX_ATTEMPTS) throw error;
      }
    }
  }
}
