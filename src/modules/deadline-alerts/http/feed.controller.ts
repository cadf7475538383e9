/**
 * The pull feed for back-office systems that prefer asking to being told: case events after a position, paged,
 * filtered by type and unit and by what the caller may read; and the same live over Server-Sent Events.
 */
import { Controller, Get, Headers, Inject, Query, Req, Sse, type MessageEvent } from '@nestjs/common';
import { ApiBearerAuth, ApiOkResponse, ApiTags } from '@nestjs/swagger';
import { concatMap, EMPTY, exhaustMap, expand, finalize, from, mergeMap, tap, type Observable } from 'rxjs';
import { CHANGE_FEEDS, type ChangeFeeds } from '../../../shared/http/change-feeds';
import { STREAM_SLOTS, type ClientConnection, type StreamSlots } from '../../../shared/http/stream-slots';
import { lastEventPosition, liveStream } from '../../../shared/http/live-stream';
import { isCitizen, type Principal } from '../../identity/domain/principal';
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
    @Req() request: { raw: { socket: ClientConnection } },
    @Headers('last-event-id') lastEventId?: string,
  ): Observable<MessageEvent> {
    if (query.unit !== undefined && principal.unit !== undefined) assertUnit(principal, query.unit);
    // A live stream waits for what follows its position, so a position past the head is only early; one that is no
    // position at all is refused.
    const resumed = lastEventPosition(lastEventId);
    const closed = this.streamSlots.takeFor(principal.id, request.raw.socket, isCitizen(principal));
    let after = resumed ?? query.after;
    const filter = {
      limit: query.limit,
      ...(query.types ? { types: query.types } : {}),
      ...(query.unit ? { unit: query.unit } : {}),
    };
    const pageAfter = (position: number) => from(this.feed.page(principal, { ...filter, after: position }));
    const events = this.changes
      .watch(LOG_HEAD, () => this.feed.headPosition())
      .pipe(
        // Page after page until the head the last page saw: a client resuming further behind than one page was sent
        // a page and then nothing while the log stood still.
        exhaustMap(() =>
          pageAfter(after).pipe(
            expand((page) =>
              page.next < page.head
                ? pageAfter(page.next)
                : // An append after this page looked at the head woke the shared watch while the chain ran, and that
                  // wake-up was dropped: the head is looked at once more before the chain ends, or the event waited
                  // for the next append.
                  from(this.feed.headPosition()).pipe(
                    mergeMap((head) => (head > page.next ? pageAfter(page.next) : EMPTY)),
                  ),
            ),
          ),
        ),
        tap((page) => (after = page.next)),
        concatMap((page) =>
          from(page.items.map((item): MessageEvent => ({ id: String(item.position), type: item.type, data: item }))),
        ),
      );
    return liveStream(events, { closeAt, resumeId: () => String(after) }).pipe(finalize(closed));
  }
}
