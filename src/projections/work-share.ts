/**
 * How much of the time the projections of a process may work while they follow new events. An API in inline
 * mode shares its machine with its projection process, and a burst of commands should keep the CPU rather than be
 * slowed by projecting (on a 2-core machine, projections working flat out beside a saturating load cost the
 * commands a fifth to a quarter of their throughput, even at the lowest priority: they still take the caches and
 * the cores whenever a request thread sleeps for an instant).
 *
 * While commands are coming in (the log grew during the batch) and the batch's oldest event was recorded less than
 * `recentMs` ago, the next batch of any projection of the process starts no sooner than the work took
 * × (1/share − 1) later. Once the log stops growing (the burst is over) the projections catch up at full speed;
 * and events recorded longer ago (a burst that has lasted longer than that, the catch-up after a start, a
 * rebuild) never wait, so read models fall behind a burst by about `recentMs` at most, never without end. Reads
 * with `?after` wait for them as always.
 */
export interface WorkShareOptions {
  /** The share of the time projections may work on recent events, in (0, 1]; 1 never waits. */
  share: number;
  /** Events recorded longer ago than this are projected without waiting. */
  recentMs?: number;
  /** Monotonic milliseconds, for the work's timing (performance.now). */
  monotonic?: () => number;
  /** Wall-clock milliseconds, to compare with when events were recorded. */
  wallClock?: () => number;
  sleep?: (ms: number) => Promise<void>;
}

export const DEFAULT_RECENT_MS = 60_000;

export class WorkShare {
  readonly share: number;
  readonly recentMs: number;
  private readonly monotonic: () => number;
  private readonly wallClock: () => number;
  private readonly sleep: (ms: number) => Promise<void>;
  private nextStart = 0;
  private stopped = false;
  private readonly sleeping = new Set<{ timer: NodeJS.Timeout; wake: () => void }>();
  /** Total time batches waited, for status and benchmarks. */
  waitedMs = 0;

  constructor(options: WorkShareOptions) {
    if (!(options.share > 0 && options.share <= 1)) throw new RangeError(`share must be in (0, 1], got ${options.share}`);
    this.share = options.share;
    this.recentMs = options.recentMs ?? DEFAULT_RECENT_MS;
    this.monotonic = options.monotonic ?? (() => performance.now());
    this.wallClock = options.wallClock ?? (() => Date.now());
    this.sleep = options.sleep ?? ((ms) => this.sleepUntilStopped(ms));
  }

  /**
   * Called by a projection after each stored batch: the time its work took, when its oldest event was recorded,
   * and whether the log grew while it worked.
   */
  async after(workMs: number, batch: { oldestRecordedAt: Date; logGrew: boolean }): Promise<void> {
    if (this.stopped || this.share >= 1 || !batch.logGrew) return;
    if (this.wallClock() - batch.oldestRecordedAt.getTime() >= this.recentMs) return;
    const now = this.monotonic();
    this.nextStart = Math.max(this.nextStart, now) + workMs * (1 / this.share - 1);
    const wait = this.nextStart - now;
    if (wait <= 0) return;
    this.waitedMs += wait;
    await this.sleep(wait);
  }

  /** No more waiting, and whoever waits now goes on: the runtime is stopping. */
  stop(): void {
    this.stopped = true;
    for (const sleeper of this.sleeping) {
      clearTimeout(sleeper.timer);
      sleeper.wake();
    }
    this.sleeping.clear();
  }

  private sleepUntilStopped(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const sleeper = { timer: setTimeout(() => (this.sleeping.delete(sleeper), resolve()), ms), wake: resolve };
      this.sleeping.add(sleeper);
    });
  }
}
