/**
 * How much of the time the projections of a process may work while commands come in faster than they can follow.
 * An API in inline mode shares its machine with its projection process. When commands arrive faster than the
 * projections could keep up with even at full speed, the read models fall behind whatever the projections do; working
 * flat out then only slows the commands (on a 2-core machine by a fifth to a quarter, even at the lowest priority:
 * the projections still take the caches and a core whenever a request thread sleeps for an instant). So in that case
 * the projections work `share` of the time and rest the remainder.
 *
 * The test after each batch: the log grows at R events per second (measured over the last quarter second or more),
 * the projections cost C ms per event (summed over them, averaged over their recent batches); when R × C exceeds
 * one second per second, and the batch's oldest event was recorded less than `recentMs` ago, the next batch of any
 * projection of the process starts no sooner than the batch's work × (1/share − 1) later. Below that rate they
 * keep up at full speed; once the burst ends they catch up at full speed; events recorded longer ago (a burst that
 * has lasted longer than that, the catch-up after a start, a rebuild) never wait: the lag stays bounded. Reads with
 * `?after` wait for the read models as always.
 */
export interface WorkShareOptions {
  /** The share of the time projections may work while they cannot keep up, in (0, 1]; 1 never waits. */
  share: number;
  /** Events recorded longer ago than this are projected without waiting. */
  recentMs?: number;
  /** Monotonic milliseconds, for the work's timing and the log's rate (performance.now). */
  monotonic?: () => number;
  /** Wall-clock milliseconds, to compare with when events were recorded. */
  wallClock?: () => number;
  sleep?: (ms: number) => Promise<void>;
  /**
   * Events the process itself has appended so far (its deadline scheduler's warnings and breaches): not commands coming
   * in, so not growth to rest for. They were what kept the projections resting after a burst of filings of past cases.
   */
  ownAppends?: () => number;
}

/** What a projection says of a batch it has stored. */
export interface BatchDone {
  projection: string;
  events: number;
  /** Time the batch took: applying it and storing it. */
  workMs: number;
  oldestRecordedAt: Date;
  /** The log's head position once the batch was stored. */
  head: number;
  /**
   * Looks at the log's head again. Given, a rest is taken in slices and ends at the first slice over which the log
   * no longer grew faster than the projections can follow: a burst that ends during a rest is not waited out.
   */
  headNow?: () => Promise<number>;
}

export const DEFAULT_RECENT_MS = 60_000;
/** The log's growth is measured over at least this long. */
const RATE_WINDOW_MS = 250;
/** A rest with `headNow` looks at the log's growth this often. */
const REST_SLICE_MS = RATE_WINDOW_MS;
/** Weight of the newest batch in a projection's cost per event. */
const COST_WEIGHT = 0.2;

export class WorkShare {
  readonly share: number;
  readonly recentMs: number;
  private readonly monotonic: () => number;
  private readonly wallClock: () => number;
  private readonly sleep: (ms: number) => Promise<void>;
  private readonly ownAppends: () => number;
  private nextStart = 0;
  private stopped = false;
  private readonly sleeping = new Set<{ timer: NodeJS.Timeout; wake: () => void }>();
  /** Per projection: ms of work per event, averaged over its recent batches. */
  private readonly costPerEvent = new Map<string, number>();
  private rateSample: { at: number; head: number } | null = null;
  /** Events appended per ms, over the last window measured. */
  private growthPerMs = 0;
  /** Total time batches waited, for status and benchmarks. */
  waitedMs = 0;

  constructor(options: WorkShareOptions) {
    if (!(options.share > 0 && options.share <= 1))
      throw new RangeError(`share must be in (0, 1], got ${options.share}`);
    this.share = options.share;
    this.recentMs = options.recentMs ?? DEFAULT_RECENT_MS;
    this.monotonic = options.monotonic ?? (() => performance.now());
    this.wallClock = options.wallClock ?? (() => Date.now());
    this.sleep = options.sleep ?? ((ms) => this.sleepUntilStopped(ms));
    this.ownAppends = options.ownAppends ?? (() => 0);
  }

  /** Called by a projection after each stored batch; resolves when the next batch may start. */
  async after(batch: BatchDone): Promise<void> {
    const now = this.monotonic();
    this.learn(batch, now);
    if (this.stopped || this.share >= 1 || !this.fallingBehind()) return;
    if (this.wallClock() - batch.oldestRecordedAt.getTime() >= this.recentMs) return;
    this.nextStart = Math.max(this.nextStart, now) + batch.workMs * (1 / this.share - 1);
    const wait = this.nextStart - now;
    if (wait <= 0) return;
    if (!batch.headNow) {
      this.waitedMs += wait;
      await this.sleep(wait);
      return;
    }
    await this.rest(wait, batch.head, batch.headNow);
  }

  /**
   * Rests `ms` in slices, measuring the log's growth over each: once it no longer outgrows the projections (the burst
   * is over) the rest ends, and so do the rests other projections were given, so the lag is caught up at full speed.
   * A rest of nine times a 20,000-event batch was otherwise waited out whole after the burst had ended.
   */
  private async rest(ms: number, head: number, headNow: () => Promise<number>): Promise<void> {
    let sample = { at: this.monotonic(), head: head - this.ownAppends() };
    for (let left = ms; left > 0 && !this.stopped;) {
      const slice = Math.min(REST_SLICE_MS, left);
      await this.sleep(slice);
      this.waitedMs += slice;
      left -= slice;
      if (left <= 0 || this.stopped) return;
      const now = this.monotonic();
      // A log that does not answer now leaves the rest as it was decided.
      const headThen = await headNow().catch(() => null);
      if (headThen === null) continue;
      const current = headThen - this.ownAppends();
      // A slept slice is at least as long as asked (a clock under test may not move at all).
      this.growthPerMs = Math.max(0, current - sample.head) / Math.max(now - sample.at, slice);
      sample = { at: now, head: current };
      this.rateSample = sample;
      if (!this.fallingBehind()) {
        this.nextStart = Math.min(this.nextStart, now);
        return;
      }
    }
  }

  /** Would following the log at its present rate take more than all of the time? */
  fallingBehind(): boolean {
    let costPerEvent = 0;
    for (const cost of this.costPerEvent.values()) costPerEvent += cost;
    return this.growthPerMs * costPerEvent > 1;
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

  private learn(batch: BatchDone, now: number): void {
    if (batch.events > 0) {
      const cost = batch.workMs / batch.events;
      const previous = this.costPerEvent.get(batch.projection);
      this.costPerEvent.set(
        batch.projection,
        previous === undefined ? cost : previous + COST_WEIGHT * (cost - previous),
      );
    }
    // The log's growth from others than this process: the head less what it appended itself.
    const head = batch.head - this.ownAppends();
    if (!this.rateSample) {
      this.rateSample = { at: now, head };
      return;
    }
    const elapsed = now - this.rateSample.at;
    if (elapsed < RATE_WINDOW_MS) return;
    this.growthPerMs = Math.max(0, head - this.rateSample.head) / elapsed;
    this.rateSample = { at: now, head };
  }

  private sleepUntilStopped(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const sleeper = { timer: setTimeout(() => (this.sleeping.delete(sleeper), resolve()), ms), wake: resolve };
      this.sleeping.add(sleeper);
    });
  }
}
