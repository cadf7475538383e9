import type { EventEmitter } from 'node:events';
import type { RecordedEvent } from './event-log.port';

export interface PollingSource<E extends { position: number } = RecordedEvent> {
  after: number;
  maxBatchSize: number;
  read(after: number, maxCount: number): E[] | Promise<E[]>;
  head(): number | Promise<number>;
  /** Emits 'committed' after an in-process commit: live delivery without waiting for the next poll. */
  wake: EventEmitter;
  /** Appends made by other processes on the same file are noticed by polling at this interval. */
  pollIntervalMs: number;
  onStop(): void;
}

/**
 * Catch-up then live subscription over any log that can be read "after position P".
 * Batches are read on demand (pull): a slow consumer never makes the log buffer events.
 */
export class PollingSubscription<E extends { position: number } = RecordedEvent> implements AsyncIterable<E[]> {
  private position: number;
  private stopped = false;
  private wakeUp: (() => void) | null = null;
  private readonly onCommitted = () => this.wakeUp?.();

  constructor(private readonly source: PollingSource<E>) {
    this.position = source.after;
    source.wake.on('committed', this.onCommitted);
  }

  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    this.source.wake.off('committed', this.onCommitted);
    this.wakeUp?.();
    this.source.onStop();
  }

  [Symbol.asyncIterator](): AsyncIterator<E[]> {
    return {
      next: async () => {
        while (!this.stopped) {
          // Head first: every event at or below it is visible to the read that follows.
          const head = await this.source.head();
          const batch = await this.source.read(this.position, this.source.maxBatchSize);
          if (this.stopped) break;
          if (batch.length > 0) {
            this.position = batch[batch.length - 1]!.position;
            return { done: false, value: batch };
          }
          // A filtered read may find nothing although the log moved on: skip ahead so the next read starts there.
          if (head > this.position) {
            this.position = head;
            continue;
          }
          await this.idle();
        }
        return { done: true, value: undefined };
      },
      return: async () => {
        await this.stop();
        return { done: true, value: undefined };
      },
    };
  }

  private idle(): Promise<void> {
    return new Promise<void>((resolve) => {
      const timer = setTimeout(done, this.source.pollIntervalMs);
      const self = this;
      function done() {
        clearTimeout(timer);
        self.wakeUp = null;
        resolve();
      }
      this.wakeUp = done;
    });
  }
}
