/**
 * A per-caller budget of some costly or sensitive request (IIN lookups, filings): at most `max` in each window,
 * counted in memory per process. Past it the caller gets 429 problem+json with Retry-After (seconds until the
 * window ends). Keyed by the verified principal's id, never by address: one caller behind a shared gateway
 * must not exhaust another's budget.
 */
import { LRUCache } from 'lru-cache';
import { ProblemError } from '../problem/problem';

export interface CallerRateLimiterOptions {
  /** Requests per window per caller; 0 switches the limit off. */
  max: number;
  windowMs: number;
  /** When the current window of an instant started (default: fixed windows from the epoch). */
  windowStart?: (now: number) => number;
  clock?: () => number;
  /** Callers kept at once; the oldest windows go first beyond it, so the map cannot grow without bound. */
  maxCallers?: number;
}

export class CallerRateLimiter {
  /** The oldest window leaves first (peek: a lookup does not count as a use). */
  private readonly windows: LRUCache<string, { start: number; count: number }>;
  private readonly clock: () => number;
  private readonly windowStart: (now: number) => number;

  constructor(private readonly options: CallerRateLimiterOptions) {
    this.clock = options.clock ?? Date.now;
    this.windowStart = options.windowStart ?? ((now) => now - (now % options.windowMs));
    this.windows = new LRUCache({ max: options.maxCallers ?? 100_000 });
  }

  /** Whether the caller may have one more now; does not count it. */
  check(caller: string, what: string): void {
    this.count(caller, what, 0);
  }

  /** Counts one request of the caller, or throws 429 when their budget for this window is spent. */
  take(caller: string, what: string): void {
    this.count(caller, what, 1);
  }

  /** Counts one request already served (after `check`): never refuses, so what was accepted is answered as such. */
  record(caller: string): void {
    if (this.options.max <= 0) return;
    this.windowOf(caller, this.clock()).window.count++;
  }

  private windowOf(caller: string, now: number): { window: { start: number; count: number }; start: number } {
    const start = this.windowStart(now);
    let window = this.windows.peek(caller);
    if (!window || window.start !== start) {
      window = { start, count: 0 };
      this.windows.set(caller, window);
    }
    return { window, start };
  }

  private count(caller: string, what: string, add: 0 | 1): void {
    if (this.options.max <= 0) return;
    const now = this.clock();
    const { window, start } = this.windowOf(caller, now);
    if (window.count >= this.options.max) {
      const retryAfter = Math.max(1, Math.ceil((start + this.options.windowMs - now) / 1000));
      throw new ProblemError(
        429,
        'rate-limited',
        'Too many requests',
        `${what}: at most ${this.options.max} per ${describe(this.options.windowMs)} per caller; try again in ${retryAfter} s`,
        undefined,
        { limit: this.options.max, windowSeconds: this.options.windowMs / 1000, retryAfterSeconds: retryAfter },
        { 'retry-after': String(retryAfter) },
      );
    }
    window.count += add;
  }
}

function describe(ms: number): string {
  if (ms % 86_400_000 === 0) return ms === 86_400_000 ? 'day' : `${ms / 86_400_000} days`;
  if (ms % 60_000 === 0) return ms === 60_000 ? 'minute' : `${ms / 60_000} minutes`;
  return `${ms / 1000} s`;
}
