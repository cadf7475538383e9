/**
 * What every Server-Sent Events stream of the API adds to its events: `retry:` (how long a client waits before
 * reconnecting), a comment line as heartbeat every 15 s (proxies close a connection idle for long, and a client
 * learns a dead one), and the end of the stream when the caller's token expires, with a last `token-expired` event
 * so the client signs in again instead of reconnecting with a token the server no longer takes.
 */
import type { MessageEvent } from '@nestjs/common';
import { concat, defer, interval, map, merge, of, takeUntil, tap, timer, type Observable } from 'rxjs';
import { ProblemError } from '../problem/problem';

export const HEARTBEAT_MS = 15_000;
export const RETRY_MS = 5_000;

export interface LiveStreamOptions {
  /** When the caller's token expires; null: it does not. */
  closeAt: Date | null;
  heartbeatMs?: number;
  retryMs?: number;
  now?: () => number;
  /** The id a reconnecting client resumes from when no event of this stream has one yet (its Last-Event-ID). */
  lastId?: string;
  /** Where a client reconnecting after the token's end resumes (the feed: the last position it looked at). */
  resumeId?: () => string;
}

export function liveStream(events: Observable<MessageEvent>, options: LiveStreamOptions): Observable<MessageEvent> {
  const retry = options.retryMs ?? RETRY_MS;
  let lastId = options.lastId;
  const live = merge(
    events.pipe(
      map((event) => ({ ...event, retry })),
      tap((event) => {
        if (event.id !== undefined) lastId = String(event.id);
      }),
    ),
    interval(options.heartbeatMs ?? HEARTBEAT_MS).pipe(map((): MessageEvent => ({ comment: 'heartbeat' }))),
  );
  if (options.closeAt === null) return live;
  const left = Math.max(0, options.closeAt.getTime() - (options.now ?? Date.now)());
  const closeAt = options.closeAt;
  // An event with no id is numbered by Nest from 1, and a client reconnecting with Last-Event-ID 1 was sent the whole
  // feed again: the last event carries the id the client is to resume from.
  const expired = defer(() =>
    of<MessageEvent>({
      type: 'token-expired',
      id: options.resumeId?.() ?? lastId ?? '0',
      data: {
        detail: 'the bearer token has expired; sign in again and reconnect with the new token',
        expiredAt: closeAt.toISOString(),
      },
    }),
  );
  return concat(live.pipe(takeUntil(timer(left))), expired);
}

/**
 * The position a reconnecting client resumes after (its Last-Event-ID: the id of an event the stream sent, a log
 * position), none when it sends none, or a 400: a value that is no position (`-1`, `abc`, `0x10`, `50.5`, more digits
 * than a position has) was ignored, and the stream started over from the beginning or waited for ever.
 */
export function lastEventPosition(header: string | undefined): number | undefined {
  if (header === undefined || header === '') return undefined;
  if (/^\d+$/.test(header) && Number.isSafeInteger(Number(header))) return Number(header);
  throw ProblemError.badRequest([
    {
      field: 'header.Last-Event-ID',
      problem: /^\d+$/.test(header)
        ? 'is not a position: past the largest integer a position can be'
        : `is ${JSON.stringify(header.slice(0, 40))}${header.length > 40 ? '…' : ''}, not a position`,
      allowed: 'the id of an event the stream sent: a log position, a whole number from 0',
    },
  ]);
}
