/**
 * What every Server-Sent Events stream of the API adds to its events: `retry:` (how long a client waits before
 * reconnecting), a comment line as heartbeat every 15 s (proxies close a connection idle for long, and a client
 * learns a dead one), and the end of the stream when the caller's token expires, with a last `token-expired` event
 * so the client signs in again instead of reconnecting with a token the server no longer takes.
 */
import type { MessageEvent } from '@nestjs/common';
import { concat, interval, map, merge, of, takeUntil, timer, type Observable } from 'rxjs';

export const HEARTBEAT_MS = 15_000;
export const RETRY_MS = 5_000;

export interface LiveStreamOptions {
  /** When the caller's token expires; null: it does not. */
  closeAt: Date | null;
  heartbeatMs?: number;
  retryMs?: number;
  now?: () => number;
}

export function liveStream(events: Observable<MessageEvent>, options: LiveStreamOptions): Observable<MessageEvent> {
  const retry = options.retryMs ?? RETRY_MS;
  const live = merge(
    events.pipe(map((event) => ({ ...event, retry }))),
    interval(options.heartbeatMs ?? HEARTBEAT_MS).pipe(map((): MessageEvent => ({ comment: 'heartbeat' }))),
  );
  if (options.closeAt === null) return live;
  const left = Math.max(0, options.closeAt.getTime() - (options.now ?? Date.now)());
  const expired: MessageEvent = {
    type: 'token-expired',
    data: {
      detail: 'the bearer token has expired; sign in again and reconnect with the new token',
      expiredAt: options.closeAt.toISOString(),
    },
  };
  return concat(live.pipe(takeUntil(timer(left))), of(expired));
}
