/**
 * The pull feed for back-office systems that prefer asking to being told: case events after a position, paged,
 * filtered by type and unit and by what the caller may read; and the same live over Server-Sent Events.
 */
import { ProblemError } from '../../../shared/problem/problem';
import { Controller, Get, Headers, Inject, Query, Sse, type MessageEvent } from '@nestjs/common';
import { ApiBearerAuth, ApiOkResponse, ApiTags } from '@nestjs/swagger';
import { concatMap, from, exhaustMap, finalize, type Observable } from 'rxjs';
import { CHANGE_FEEDS, type ChangeFeeds } from '../../../shared/http/change-feeds';
import { STREAM_SLOTS, type StreamSlots } from '../../../shared/http/stream-slots';
import { liveStream } from '../../../shared/http/live-stream';
import type { Principal } from '../../identity/domain/principal';
import { assertUnit, CurrentPrincipal, TokenExpiry } from '../../identity/http/identity.decorators';
import { FeedQueries } from '../feed/feed.queries';
import { FeedQuery } from './deadline-alerts.dtos';
import { FeedPageDto } from './deadline-alerts-responses';

export const FEED_QUERIES = Symbol('FEED_QUERIES');
const LOG_HEAD = 'log-head';

@ApiTags('feed')
@ApiBearerAuth()
@Controller('api')
export class FeedController {
  constructor(
    @Inject(FEED_QUERIES) private readonly feed: FeedQueries,
    @Inject(CHANGE_FEEDS) private readonly changes: ChangeFeeds,
    @Inject(STREAM_SLOTS) private readonly streamSlots: StreamSlots,
  ) {}

  /** Any signed-in caller; each sees only the cases they may read (`next` goes on from the last position looked at). */
  @Get('feed')
  @ApiOkResponse({ type: FeedPageDto, description: 'The events after `after` the caller may read' })
  async page(@CurrentPrincipal() principal: Principal, @Query() query: FeedQuery) {
    if (query.unit !== undefined && principal.unit !== undefined) assertUnit(principal, query.unit);
    await this.feed.checkAfter(query.after);
    return this.feed.page(principal, {
      after: query.after,
      limit: query.limit,
      ...(query.types ? { types: query.types } : {}),
      ...(query.unit ? { unit: query.unit } : {}),
    });
  }

  /**
   * Live: each event as it is appended (`id` is its position; a reconnecting client resumes from Last-Event-ID). The
   * caller's page is read only when the log's head has moved (one shared watch of it per process).
   */
  @Sse('feed/stream')
  stream(
    @CurrentPrincipal() principal: Principal,
    @TokenExpiry() closeAt: Date | null,
    @Query() query: FeedQuery,
    @Headers('last-event-id') lastEventId?: string,
  ): Observable<MessageEvent> {
    if (query.unit !== undefined && principal.unit !== undefined) assertUnit(principal, query.unit);
    // A live stream waits for what follows its position, so a position past the head is only early; one that is no
    // position at all (digits past the safe integers) is refused.
    if (lastEventId && /^\d+$/.test(lastEventId) && !Number.isSafeInteger(Number(lastEventId)))
      throw ProblemError.badRequest([
        {
          field: 'header.Last-Event-ID',
          problem: 'is not a position: past the largest integer a position can be',
          allowed: 'the id of an event the stream sent',
        },
      ]);
    const closed = this.streamSlots.take(principal.id);
    let after = lastEventId && /^\d+$/.test(lastEventId) ? Number(lastEventId) : query.after;
    const events = this.changes
      .watch(LOG_HEAD, () => this.feed.headPosition())
      .pipe(
        exhaustMap(() =>
          from(
            (async () => {
              const page = await this.feed.page(principal, {
                after,
                limit: query.limit,
                ...(query.types ? { types: query.types } : {}),
                ...(query.unit ? { unit: query.unit } : {}),
              });
              after = page.next;
              return page.items;
            })(),
          ),
        ),
        concatMap((items) =>
          from(items.map((item): MessageEvent => ({ id: String(item.position), type: item.type, data: item }))),
        ),
      );
    return liveStream(events, { closeAt }).pipe(finalize(closed));
  }
}
