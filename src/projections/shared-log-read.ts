import type { EventLog, EventSubscription, RecordedEvent, SubscribeOptions } from '../modules/event-log/event-log.port';

/**
 * One read of the log for several projections rebuilt together: each gets a view of the log whose subscription is
 * served from batches read (and decoded) once and handed to every view that asks for the same batch. Rebuilt side by
 * side from the first event with the same batch size, the runners ask for the same batches, so the log is read once
 * whatever their number. A view asking for something no other has read (a runner that started over from its
 * checkpoint) reads it itself; past the head, each view follows the log live on a subscription of its own.
 *
 * The views share the batches' event objects: a projection must not change an event it is given (none does).
 *
 * Memory: a view that runs ahead waits while `window` batches are held and a slower view has yet to take them, so at
 * most about `window` batches of events are kept however far apart the projections' speeds are.
 */
export class SharedLogRead {
  /** Read batches by `after:maxCount`, kept until every view's next read is past them. */
  private readonly batches = new Map<string, { after: number; events: Promise<RecordedEvent[]> }>();
  /** Each open view subscription's next `after`. */
  private readonly cursors = new Map<symbol, number>();
  private readonly waiters = new Set<() => void>();
  /** Reads of the underlying log (batches read once, whoever asked first). */
  reads = 0;

  constructor(
    private readonly log: EventLog,
    private readonly window = 2,
  ) {}

  /**
   * A log for one runner: the shared subscription, everything else the underlying log's. The view counts as reading
   * from `from` until it subscribes, so the batches a runner that is still starting will ask for are kept for it;
   * `leave()` for a runner that will not read (it stands by for another's lease).
   */
  view(from = 0): { log: EventLog; leave: () => void } {
    const log = this.log;
    const id = Symbol('view');
    this.cursors.set(id, from);
    const subscribeToAll = (options: SubscribeOptions = {}): EventSubscription =>
      options.filter
        ? log.subscribeToAll(options)
        : new SharedSubscription(this, log, id, options.after ?? 0, options.maxBatchSize ?? 1000);
    return { log: this.proxy(subscribeToAll), leave: () => this.close(id) };
  }

  private proxy(subscribeToAll: EventLog['subscribeToAll']): EventLog {
    return new Proxy(this.log, {
      get: (target, property, receiver) => {
        if (property === 'subscribeToAll') return subscribeToAll;
        const value = Reflect.get(target, property, receiver) as unknown;
        return typeof value === 'function' ? (value as (...args: unknown[]) => unknown).bind(target) : value;
      },
    });
  }

  /** @internal The batch after `after` for the view `id`, read once for all of them. */
  async batch(id: symbol, after: number, maxCount: number): Promise<RecordedEvent[]> {
    // On the embedded stores every read and write resolves at once, so a rebuild would run from its first batch to its
    // last without leaving the microtask queue: the thread's timers (lease renewals) and messages (the progress of a
    // rebuild's other threads) would wait for its end. Once a batch, they get their turn.
    await new Promise<void>((resolve) => setImmediate(resolve));
    this.cursors.set(id, after);
    this.evict();
    const key = `${after}:${maxCount}`;
    // Ahead of a slower view with `window` batches held: wait for it to take them (the slowest never waits).
    while (!this.batches.has(key) && this.batches.size >= this.window && after > this.slowest()) {
      await new Promise<void>((resolve) => this.waiters.add(resolve));
      // Stopped while it waited: nothing is read for it.
      if (!this.cursors.has(id)) return [];
    }
    let entry = this.batches.get(key);
    if (!entry) {
      this.reads += 1;
      entry = { after, events: this.log.readAll({ after, maxCount }) };
      this.batches.set(key, entry);
    }
    const events = await entry.events;
    // A view stopped meanwhile stays out: its cursor would hold the others back for good.
    if (this.cursors.has(id)) this.cursors.set(id, events.length > 0 ? events[events.length - 1]!.position : after);
    this.evict();
    return events;
  }

  /** @internal The view `id` stopped: its cursor no longer holds batches back. */
  close(id: symbol): void {
    this.cursors.delete(id);
    this.evict();
  }

  private slowest(): number {
    let least = Infinity;
    for (const cursor of this.cursors.values()) least = Math.min(least, cursor);
    return least;
  }

  /** Drops the batches every open view has gone past, and lets waiting views look again. */
  private evict(): void {
    const slowest = this.slowest();
    for (const [key, entry] of this.batches) if (entry.after < slowest) this.batches.delete(key);
    const waiting = [...this.waiters];
    this.waiters.clear();
    for (const wake of waiting) wake();
  }
}

/** A view's subscription: the shared batches up to the head, then the log's own live subscription. */
class SharedSubscription implements EventSubscription {
  private stopped = false;
  private live: EventSubscription | null = null;

  constructor(
    private readonly shared: SharedLogRead,
    private readonly log: EventLog,
    private readonly id: symbol,
    private after: number,
    private readonly maxBatchSize: number,
  ) {}

  async stop(): Promise<void> {
    this.stopped = true;
    this.shared.close(this.id);
    await this.live?.stop();
  }

  async *[Symbol.asyncIterator](): AsyncIterator<RecordedEvent[]> {
    try {
      while (!this.stopped) {
        const events = await this.shared.batch(this.id, this.after, this.maxBatchSize);
        if (this.stopped) return;
        if (events.length === 0) break;
        this.after = events[events.length - 1]!.position;
        yield events;
      }
      if (this.stopped) return;
      // At the head: what is appended from now on comes to this view alone, as it would to any subscriber.
      this.shared.close(this.id);
      this.live = this.log.subscribeToAll({ after: this.after, maxBatchSize: this.maxBatchSize });
      for await (const events of this.live) yield events;
    } finally {
      this.shared.close(this.id);
    }
  }
}
