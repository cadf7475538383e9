import {
  ANY,
  BACKWARDS,
  DeadlineExceededError,
  END,
  EVENT_TYPE,
  EventStoreDBClient,
  FORWARDS,
  MaxAppendSizeExceededError,
  NO_STREAM,
  NotLeaderError,
  START,
  STREAM_NAME,
  StreamNotFoundError,
  UnavailableError,
  WrongExpectedVersionError,
  eventTypeFilter,
  jsonEvent,
  streamNameFilter,
  type AllStreamResolvedEvent,
  type AllStreamSubscription,
  type BaseOptions,
  type Filter,
  type Position,
  type ReadPosition,
  type ResolvedEvent,
  type StreamingRead,
} from '@eventstore/db-client';
import type { CallOptions, ClientReadableStream, Metadata } from '@grpc/grpc-js';
import { Empty } from '@eventstore/db-client/generated/shared_pb';
import { StreamsClient } from '@eventstore/db-client/generated/streams_grpc_pb';
import { ReadReq, type ReadResp } from '@eventstore/db-client/generated/streams_pb';
import { ReadStream } from '@eventstore/db-client/dist/streams/utils/ReadStream';
import { convertGrpcEvent } from '@eventstore/db-client/dist/utils/convertGrpcEvent';
import type {
  AllFilter,
  AppendResult,
  EventLog,
  EventSubscription,
  EventToAppend,
  ExpectedRevision,
  ReadAllOptions,
  ReadStreamOptions,
  RecordedEvent,
  SubscribeOptions,
} from '../event-log.port';
import { AppendTooLargeError, EventLogUnavailableError, WrongExpectedRevisionError } from '../event-log.errors';
import { checkStreamId, prepareAppend } from '../event-validation';

/*
 * Mapping to the port:
 * - revisions: EventStoreDB's bigint stream revisions, 0-based like ours → Number.
 * - positions: an event's *prepare* position in the transaction log (unique per event, increasing in $all
 *   order) → Number; safe up to a 9 PB log. `after: P` reads $all from {commit: P, prepare: P} and drops
 *   events at or before P, so every position we hand out works as a resume point.
 * - system events ($-prefixed streams and types) are never returned.
 * - reads of $all and subscriptions filter on the server by one criterion (stream prefix, else event type, else
 *   "not a system stream") and client-side by the other.
 * - reads go in pages of at most `readPageSize` records, each under a deadline and cancelled when left.
 */

type AnyRecorded = NonNullable<ResolvedEvent['event']> & { position?: Position };

function toPosition(position: Position | undefined): number {
  if (!position) throw new Error('EventStoreDB returned an event without a position; server ≥ 22.6 is required');
  return Number(position.prepare);
}

function fromPosition(after: number): Position | typeof START {
  return after <= 0 ? START : { commit: BigInt(after), prepare: BigInt(after) };
}

function toRecorded(event: AnyRecorded): RecordedEvent {
  const data = event.isJson ? event.data : JSON.parse(Buffer.from(event.data as Uint8Array).toString('utf8'));
  const metadata =
    event.metadata === undefined || event.metadata === null
      ? {}
      : event.isJson
        ? event.metadata
        : JSON.parse(Buffer.from(event.metadata as Uint8Array).toString('utf8') || '{}');
  return {
    id: event.id,
    type: event.type,
    data,
    metadata: metadata as Record<string, unknown>,
    streamId: event.streamId,
    revision: Number(event.revision),
    position: toPosition(event.position),
    recordedAt: event.created,
  };
}

function isSystem(event: { streamId: string; type: string }): boolean {
  return event.streamId.startsWith('$') || event.type.startsWith('$');
}

function matches(event: RecordedEvent, filter: AllFilter | undefined): boolean {
  if (isSystem(event)) return false;
  if (filter?.eventTypes?.length && !filter.eventTypes.includes(event.type)) return false;
  if (filter?.streamPrefixes?.length && !filter.streamPrefixes.some((p) => event.streamId.startsWith(p))) return false;
  return true;
}

function escapeRegex(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/**
 * KurrentDB's MaxAppendSize default (v25.0 `ClusterVNodeOptions.Application.MaxAppendSize = 1_024 * 1_024`), counted as
 * the server counts it (`Event.SizeOnDisk`): data bytes + metadata bytes + two bytes per character of the type, summed
 * over the append. An append over it is refused by the server with `maximum-append-size-exceeded`.
 */
export const MAX_APPEND_BYTES = 1024 * 1024;

/** The size of an append as the server counts it against MaxAppendSize. */
export function appendSize(events: readonly { type: string; data: string; metadata: string }[]): number {
  let total = 0;
  for (const e of events) total += Buffer.byteLength(e.data) + Buffer.byteLength(e.metadata) + e.type.length * 2;
  return total;
}

export interface EventStoreDbOptions {
  /**
   * Most records asked for by one gRPC read; longer reads are several calls, each cancelled when left early.
   * @defaultValue 500
   */
  readPageSize?: number;
  /**
   * How long one gRPC read may take before it is cancelled and `EventLogUnavailableError` thrown. The client sets
   * no deadline on reads (its readAll/readStream pass `deadline: Infinity`), so this is ours.
   * @defaultValue 30000
   */
  readDeadlineMs?: number;
  /**
   * The deadline of an append call (the client's `deadline` option).
   * @defaultValue 30000
   */
  appendDeadlineMs?: number;
}

/** The client's internals its own operations are built on (`Client.prototype.readAll` uses exactly these). */
interface ClientInternals {
  GRPCStreamCreator(
    client: typeof StreamsClient,
    debugName: string,
    creator: (client: StreamsClient) => ClientReadableStream<ReadResp>,
  ): () => Promise<ClientReadableStream<ReadResp>>;
  callArguments(options: BaseOptions, callOptions?: CallOptions): [Metadata, CallOptions];
}

/** The one server-side filter a read or subscription of $all can carry: stream prefixes, else types, else "no system stream". */
function serverFilter(filter: AllFilter | undefined): Filter {
  return filter?.streamPrefixes?.length
    ? streamNameFilter({ prefixes: [...filter.streamPrefixes] })
    : filter?.eventTypes?.length
      ? eventTypeFilter({ regex: `^(${filter.eventTypes.map(escapeRegex).join('|')})$` })
      : streamNameFilter({ regex: '^[^$]' });
}

/** The promise, or the error `late()` makes once `ms` have passed without it settling. */
async function withDeadline<T>(promise: Promise<T>, ms: number, late: () => Error): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([
      promise,
      new Promise<never>((_, reject) => (timer = setTimeout(() => reject(late()), ms))),
    ]);
  } finally {
    clearTimeout(timer);
  }
}

export class EventStoreDbEventLog implements EventLog {
  readonly kind = 'eventstoredb' as const;
  private readonly pageSize: number;
  private readonly readDeadlineMs: number;
  private readonly appendDeadlineMs: number;
  readonly appendSettlesMs: number;

  constructor(
    private readonly client: EventStoreDBClient,
    options: EventStoreDbOptions = {},
  ) {
    // At least two: a page of $all starts at the previous page's last record, which it returns again.
    this.pageSize = Math.max(2, options.readPageSize ?? 500);
    this.readDeadlineMs = options.readDeadlineMs ?? 30_000;
    this.appendDeadlineMs = options.appendDeadlineMs ?? 30_000;
    // append's own bound (the client's deadline, and a second for the features query before it), and a second.
    this.appendSettlesMs = this.appendDeadlineMs + 2_000;
  }

  async append(streamId: string, events: readonly EventToAppend[], expected: ExpectedRevision): Promise<AppendResult> {
    const prepared = prepareAppend(streamId, events, expected, { leaves: false });
    const bytes = appendSize(prepared);
    if (bytes > MAX_APPEND_BYTES) throw new AppendTooLargeError(streamId, bytes, MAX_APPEND_BYTES);
    const expectedRevision = expected === 'no_stream' ? NO_STREAM : expected === 'any' ? ANY : BigInt(expected);
    let nextRevision: number;
    const unanswered = `no answer within ${this.appendDeadlineMs} ms; it may have been stored: retry the request (the same event ids are recognised)`;
    try {
      const append = this.client.appendToStream(
        streamId,
        prepared.map((e) =>
          jsonEvent({ id: e.id, type: e.type, data: JSON.parse(e.data), metadata: JSON.parse(e.metadata) }),
        ),
        { expectedRevision, requiresLeader: true, deadline: this.appendDeadlineMs },
      );
      // The client's deadline covers the append call, not the server-features query it makes first (no deadline).
      const result = await withDeadline(
        append,
        this.appendDeadlineMs + 1000,
        () => new EventLogUnavailableError('append', unanswered),
      );
      nextRevision = Number(result.nextExpectedRevision);
    } catch (error) {
      if (error instanceof DeadlineExceededError || error instanceof UnavailableError)
        throw new EventLogUnavailableError('append', unanswered);
      if (error instanceof WrongExpectedVersionError) {
        const actual = error.actualVersion === NO_STREAM ? 'no_stream' : Number(error.actualVersion);
        throw new WrongExpectedRevisionError(streamId, expected, actual);
      }
      // A server configured below our limit refuses the append whole.
      if (error instanceof MaxAppendSizeExceededError)
        throw new AppendTooLargeError(streamId, bytes, error.maxAppendSize);
      throw error;
    }
    return { nextRevision, position: await this.positionOf(streamId, nextRevision, prepared[prepared.length - 1]!.id) };
  }

  /**
   * The append result carries the transaction's commit position; the port promises the last event's own position, so
   * the event is read back, from the leader: a follower behind it could answer with the stream's previous last event.
   * Its revision and id are checked, never assumed.
   */
  private async positionOf(streamId: string, revision: number, lastId: string): Promise<number> {
    let seen = 'nothing';
    for (let attempt = 0; attempt < 3; attempt++) {
      try {
        const [last] = await this.readStreamPage(streamId, {
          backwards: true,
          from: BigInt(revision),
          count: 1,
          requiresLeader: true,
        });
        if (last && last.revision === revision && last.id === lastId) return last.position;
        seen = last ? `revision ${last.revision} (event ${last.id})` : 'no event';
      } catch (error) {
        // The node we asked is no longer the leader: the client reconnects to the one it names; ask again.
        if (!(error instanceof NotLeaderError)) throw error;
        seen = 'a node that is not the leader';
      }
    }
    throw new EventLogUnavailableError(
      'append',
      `stored ${streamId}@${revision}, but reading it back from the leader found ${seen}; retry the request (the same event ids are recognised)`,
    );
  }

  async readStream(streamId: string, options: ReadStreamOptions = {}): Promise<RecordedEvent[]> {
    checkStreamId(streamId);
    const backwards = options.direction === 'backwards';
    const out: RecordedEvent[] = [];
    const maxCount = options.maxCount ?? Number.MAX_SAFE_INTEGER;
    if (maxCount <= 0) return out;
    let from: bigint | typeof START | typeof END =
      options.fromRevision !== undefined ? BigInt(options.fromRevision) : backwards ? END : START;
    for (;;) {
      // `until` is applied client-side, so a page may hold events that are not returned.
      const count = options.until ? this.pageSize : Math.min(this.pageSize, maxCount - out.length);
      const page = await this.readStreamPage(streamId, { backwards, from, count });
      for (const event of page) {
        if (
          options.toRevision !== undefined &&
          (backwards ? event.revision < options.toRevision : event.revision > options.toRevision)
        )
          return out;
        if (options.until && event.recordedAt.getTime() > options.until.getTime()) {
          if (backwards) continue;
          return out;
        }
        out.push(event);
        if (out.length >= maxCount) return out;
      }
      const last = page[page.length - 1];
      if (page.length < count || !last) return out;
      if (backwards && last.revision === 0) return out;
      from = BigInt(backwards ? last.revision - 1 : last.revision + 1);
    }
  }

  private async readStreamPage(
    streamId: string,
    {
      backwards,
      from,
      count,
      requiresLeader = false,
    }: { backwards: boolean; from: bigint | typeof START | typeof END; count: number; requiresLeader?: boolean },
  ): Promise<RecordedEvent[]> {
    try {
      return await this.drain(
        `readStream ${streamId}`,
        this.client.readStream(streamId, {
          direction: backwards ? BACKWARDS : FORWARDS,
          fromRevision: from,
          maxCount: count,
          requiresLeader,
        }),
        count,
      );
    } catch (error) {
      if (error instanceof StreamNotFoundError) return [];
      throw error;
    }
  }

  async readAll({ after = 0, maxCount = 1000, filter }: ReadAllOptions = {}): Promise<RecordedEvent[]> {
    const out: RecordedEvent[] = [];
    if (maxCount <= 0) return out;
    let from: ReadPosition = fromPosition(after);
    // Each page starts at the previous page's last record (a position the server handed out), which it returns again.
    let seen = after;
    for (;;) {
      const count = Math.min(this.pageSize, maxCount - out.length + 1);
      const page = await this.readAllPage({ from, backwards: false, count, filter: serverFilter(filter) });
      for (const record of page) {
        // The server filters on one criterion; the other (and the exclusive start) is checked here.
        if (record.position <= seen || !matches(record, filter)) continue;
        out.push(record);
        if (out.length >= maxCount) return out;
      }
      const last = page[page.length - 1];
      if (page.length < count || !last) return out;
      from = last.raw;
      seen = last.position;
    }
  }

  /**
   * One page of $all, filtered on the server. 6.2.1's readAll sends `no_filter` always; this builds the same ReadReq
   * with a filter, as the client's subscribeToAll does, on the client's own channel and stream reader. KurrentDB serves
   * filtered reads of $all in both directions (`ReadAllForwardsFiltered` / `ReadAllBackwardsFiltered`).
   */
  private async readAllPage({
    from,
    backwards,
    count,
    filter,
    requiresLeader = false,
  }: {
    from: ReadPosition;
    backwards: boolean;
    count: number;
    filter: Filter;
    requiresLeader?: boolean;
  }): Promise<Array<RecordedEvent & { raw: Position }>> {
    const req = new ReadReq();
    const options = new ReadReq.Options();
    const uuidOption = new ReadReq.Options.UUIDOption();
    uuidOption.setString(new Empty());
    const allOptions = new ReadReq.Options.AllOptions();
    if (from === START) allOptions.setStart(new Empty());
    else if (from === END) allOptions.setEnd(new Empty());
    else {
      const position = new ReadReq.Options.Position();
      position.setCommitPosition(from.commit.toString(10));
      position.setPreparePosition(from.prepare.toString(10));
      allOptions.setPosition(position);
    }
    options.setAll(allOptions);
    options.setResolveLinks(false);
    options.setCount(String(count));
    options.setUuidOption(uuidOption);
    const expression = new ReadReq.Options.FilterOptions.Expression();
    if ('prefixes' in filter) expression.setPrefixList(filter.prefixes);
    if ('regex' in filter) expression.setRegex(filter.regex);
    const filterOptions = new ReadReq.Options.FilterOptions();
    if (filter.filterOn === STREAM_NAME) filterOptions.setStreamIdentifier(expression);
    else if (filter.filterOn === EVENT_TYPE) filterOptions.setEventType(expression);
    filterOptions.setCount(new Empty());
    filterOptions.setCheckpointintervalmultiplier(1);
    options.setFilter(filterOptions);
    options.setReadDirection(backwards ? 1 : 0);
    req.setOptions(options);
    const internals = this.client as unknown as ClientInternals;
    const createStream = internals.GRPCStreamCreator(StreamsClient, 'readAll', (grpc) =>
      grpc.read(req, ...internals.callArguments({ requiresLeader }, { deadline: Infinity })),
    );
    const read = new ReadStream<AllStreamResolvedEvent>(
      createStream,
      convertGrpcEvent,
      {},
    ) as StreamingRead<AllStreamResolvedEvent>;
    const out: Array<RecordedEvent & { raw: Position }> = [];
    await this.drain('readAll', read, count, (resolved) => {
      const event = resolved.event as AnyRecorded | undefined;
      if (event?.position) out.push({ ...toRecorded(event), raw: event.position });
    });
    return out;
  }

  /**
   * Reads one gRPC stream to its end or `count` records, under a deadline, and cancels the call in every case: a call
   * left open (a loop left early, an error, a deadline) holds one of the connection's HTTP/2 streams, and once the
   * server's limit of concurrent streams is reached every later call on the connection waits for ever.
   */
  private async drain<E extends ResolvedEvent>(
    operation: string,
    read: StreamingRead<E>,
    count: number,
    visit?: (resolved: E) => void,
  ): Promise<RecordedEvent[]> {
    const out: RecordedEvent[] = [];
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      read.destroy(
        new EventLogUnavailableError(
          operation,
          `no complete answer within ${this.readDeadlineMs} ms; the call was cancelled`,
        ),
      );
    }, this.readDeadlineMs);
    try {
      let records = 0;
      for await (const resolved of read) {
        records++;
        if (visit) visit(resolved);
        else if (resolved.event) out.push(toRecorded(resolved.event as AnyRecorded));
        if (records >= count) break;
      }
    } catch (error) {
      if (timedOut && !(error instanceof EventLogUnavailableError)) {
        throw new EventLogUnavailableError(
          operation,
          `no complete answer within ${this.readDeadlineMs} ms; the call was cancelled`,
        );
      }
      if (error instanceof UnavailableError || error instanceof DeadlineExceededError)
        throw new EventLogUnavailableError(operation, error.message);
      throw error;
    } finally {
      clearTimeout(timer);
      await read.cancel().catch(() => undefined);
    }
    return out;
  }

  subscribeToAll(options: SubscribeOptions = {}): EventSubscription {
    const subscription = this.client.subscribeToAll({
      fromPosition: fromPosition(options.after ?? 0),
      filter: serverFilter(options.filter),
    });
    return new BatchingSubscription(subscription, options.after ?? 0, options.maxBatchSize ?? 1000, options.filter);
  }

  async lastEvent(): Promise<RecordedEvent | null> {
    const [newest] = await this.readAllPage({ from: END, backwards: true, count: 1, filter: serverFilter(undefined) });
    if (!newest) return null;
    const { raw: _raw, ...event } = newest;
    return event;
  }

  /** The newest event outside system streams: one record, found by the server (a filtered backwards read from the end). */
  async headPosition(options: { fromLeader?: boolean } = {}): Promise<number> {
    const [newest] = await this.readAllPage({
      from: END,
      backwards: true,
      count: 1,
      filter: serverFilter(undefined),
      requiresLeader: options.fromLeader === true,
    });
    return newest ? newest.position : 0;
  }

  async ping(): Promise<void> {
    await this.drain('ping', this.client.readAll({ fromPosition: END, direction: BACKWARDS, maxCount: 1 }), 1);
  }

  async close(): Promise<void> {
    // The client's dispose waits for every call it still counts as open, and a call broken by its server (UNAVAILABLE
    // after a leader change) may never settle: a shutdown waits for it at most CLOSE_WAIT_MS, then leaves it.
    let timer: NodeJS.Timeout | undefined;
    const waited = new Promise<void>((resolve) => {
      timer = setTimeout(resolve, CLOSE_WAIT_MS);
      timer.unref();
    });
    try {
      await Promise.race([this.client.dispose(), waited]);
    } finally {
      clearTimeout(timer);
    }
  }
}

const CLOSE_WAIT_MS = 5_000;

/** Turns the client's event-at-a-time subscription into batches, pausing the gRPC stream when the consumer lags. */
class BatchingSubscription implements EventSubscription {
  private readonly queue: RecordedEvent[] = [];
  private waiting: (() => void) | null = null;
  private stopped = false;
  private failure: unknown = null;

  constructor(
    private readonly source: AllStreamSubscription,
    private readonly after: number,
    private readonly maxBatchSize: number,
    private readonly filter: AllFilter | undefined,
  ) {
    source.on('data', (resolved: AllStreamResolvedEvent) => {
      if (!resolved.event) return;
      const event = toRecorded(resolved.event as AnyRecorded);
      if (event.position <= this.after || !matches(event, this.filter)) return;
      this.queue.push(event);
      if (this.queue.length >= this.maxBatchSize * 4) source.pause();
      this.notify();
    });
    source.on('error', (error: Error) => {
      if (!this.stopped) this.failure = error;
      this.notify();
    });
    source.on('end', () => {
      // Ended by the server, not by stop(): the consumer must learn it, not take it for a quiet log (it resubscribes).
      if (!this.stopped) this.failure = new Error('the server ended the subscription to $all');
      this.stopped = true;
      this.notify();
    });
  }

  private notify(): void {
    const wake = this.waiting;
    this.waiting = null;
    wake?.();
  }

  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    this.notify();
    await this.source.unsubscribe();
  }

  [Symbol.asyncIterator](): AsyncIterator<RecordedEvent[]> {
    return {
      next: async () => {
        for (;;) {
          if (this.failure) throw this.failure;
          if (this.queue.length > 0 && !this.stopped) {
            const batch = this.queue.splice(0, this.maxBatchSize);
            if (this.source.isPaused() && this.queue.length < this.maxBatchSize) this.source.resume();
            return { done: false, value: batch };
          }
          if (this.stopped) return { done: true, value: undefined };
          await new Promise<void>((resolve) => (this.waiting = resolve));
        }
      },
      return: async () => {
        await this.stop();
        return { done: true, value: undefined };
      },
    };
  }
}

export function openEventStoreDbEventLog({
  connectionString,
  ...options
}: { connectionString: string } & EventStoreDbOptions): EventStoreDbEventLog {
  return new EventStoreDbEventLog(EventStoreDBClient.connectionString(connectionString), options);
}
