/**
 * One poller per watched value per process, shared by every live stream that waits on it: a thousand dashboards
 * open cost one look at the log head a tick, not a thousand (each client polled on its own before). A stream does
 * its own work only when the value it watches has changed. Stops while nobody watches.
 */
import { catchError, distinctUntilChanged, EMPTY, exhaustMap, from, shareReplay, timer, type Observable } from 'rxjs';

export const CHANGE_FEEDS = Symbol('CHANGE_FEEDS');

export class ChangeFeeds {
  private readonly feeds = new Map<string, Observable<unknown>>();

  constructor(private readonly pollMs = 250) {}

  /** The probe's value now and each time it changes; the first caller of a key chooses its probe. */
  watch<T extends string | number>(key: string, probe: () => Promise<T>): Observable<T> {
    let feed = this.feeds.get(key);
    if (!feed) {
      feed = timer(0, this.pollMs).pipe(
        // A failed look (a store briefly unavailable) is skipped: the next tick looks again, no watcher is failed.
        exhaustMap(() => from(probe()).pipe(catchError(() => EMPTY))),
        distinctUntilChanged(),
        shareReplay({ bufferSize: 1, refCount: true }),
      );
      this.feeds.set(key, feed);
    }
    return feed as Observable<T>;
  }
}
