import {
  ANY,
  BACKWARDS,
  END,
  EventStoreDBClient,
  FORWARDS,
  NO_STREAM,
  START,
  StreamNotFoundError,
  WrongExpectedVersionError,
  eventTypeFilter,
  jsonEvent,
  streamNameFilter,
  type AllStreamResolvedEvent,
  type AllStreamSubscription,
  type Filter,
  type Position,
  type ResolvedEvent,
} from '@eventstore/db-client';
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
import { WrongExpectedRevisionError } from '../event-log.errors';
import { checkStreamId, prepareAppend } from '../event-validation';

/*
 * Mapping to the port:
 * - revisions: EventStoreDB's bigint stream revisions, 0-based like ours → Number.
 * - positions: an event's *prepare* position in the transaction log (unique per event, increasing in $all
 *   order) → Number; safe up to a 9 PB log. `after: P` reads $all from {commit: P, prepare: P} and drops
 *   events at or before P, so every position we hand out works as a resume point.
 * - system events ($-prefixed streams and types) are never returned.
 * - readAll filters run client-side (v6's readAll has none); subscribeToAll filters on the server by one
 *   criterion (stream prefix, else event type) and client-side by the other.
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
  const metadata = event.metadata === undefined || event.metadata === null ? {} : event.isJson ? event.metadata : JSON.parse(Buffer.from(event.metadata as Uint8Array).toString('utf8') || '{}');
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

export class EventStoreDbEventLog implements EventLog {
  readonly kind = 'eventstoredb' as const;

  constructor(private readonly client: EventStoreDBClient) {}

  async append(streamId: string, events: readonly EventToAppend[], expected: ExpectedRevision): Promise<AppendResult> {
    const prepared = prepareAppend(streamId, events, expected);
    const expectedRevision = expected === 'no_stream' ? NO_STREAM : expected === 'any' ? ANY : BigInt(expected);
    try {
      const result = await this.client.appendToStream(
        streamId,
        prepared.map((e) => jsonEvent({ id: e.id, type: e.type, data: JSON.parse(e.data), metadata: JSON.parse(e.metadata) })),
        { expectedRevision },
      );
      const nextRevision = Number(result.nextExpectedRevision);
      // The append result carries the commit position; the port promises the last event's own position.
      const [last] = await this.readStream(streamId, { direction: 'backwards', fromRevision: nextRevision, maxCount: 1 });
      return { nextRevision, position: last ? last.position : toPosition(result.position) };
    } catch (error) {
      if (error instanceof WrongExpectedVersionError) {
        const actual = error.actualVersion === NO_STREAM ? 'no_stream' : Number(error.actualVersion);
        throw new WrongExpectedRevisionError(streamId, expected, actual);
      }
      throw error;
    }
  }

  async readStream(streamId: string, options: ReadStreamOptions = {}): Promise<RecordedEvent[]> {
    checkStreamId(streamId);
    const backwards = options.direction === 'backwards';
    const out: RecordedEvent[] = [];
    const maxCount = options.maxCount ?? Number.MAX_SAFE_INTEGER;
    if (maxCount <= 0) return out;
    try {
      const read = this.client.readStream(streamId, {
        direction: backwards ? BACKWARDS : FORWARDS,
        fromRevision: options.fromRevision !== undefined ? BigInt(options.fromRevision) : backwards ? END : START,
        // `until` is applied client-side, so the count is applied after it.
        maxCount: options.until ? Number.MAX_SAFE_INTEGER : maxCount,
      });
      for await (const resolved of read) {
        if (!resolved.event) continue;
        const event = toRecorded(resolved.event as AnyRecorded);
        if (options.toRevision !== undefined && (backwards ? event.revision < options.toRevision : event.revision > options.toRevision)) break;
        if (options.until && event.recordedAt.getTime() > options.until.getTime()) {
          if (backwards) continue;
          break;
        }
        out.push(event);
        if (out.length >= maxCount) break;
      }
    } catch (error) {
      if (error instanceof StreamNotFoundError) return [];
      throw error;
    }
    return out;
  }

  async readAll({ after = 0, maxCount = 1000, filter }: ReadAllOptions = {}): Promise<RecordedEvent[]> {
    const out: RecordedEvent[] = [];
    if (maxCount <= 0) return out;
    const read = this.client.readAll({ fromPosition: fromPosition(after), direction: FORWARDS });
    for await (const resolved of read as AsyncIterable<AllStreamResolvedEvent>) {
      if (!resolved.event) continue;
      const event = toRecorded(resolved.event as AnyRecorded);
      if (event.position <= after || !matches(event, filter)) continue;
      out.push(event);
      if (out.length >= maxCount) break;
    }
    return out;
  }

  subscribeToAll(options: SubscribeOptions = {}): EventSubscription {
    const filter: Filter = options.filter?.streamPrefixes?.length
      ? streamNameFilter({ prefixes: [...options.filter.streamPrefixes] })
      : options.filter?.eventTypes?.length
        ? eventTypeFilter({ regex: `^(${options.filter.eventTypes.map(escapeRegex).join('|')})$` })
        : streamNameFilter({ regex: '^[^$]' });
    const subscription = this.client.subscribeToAll({ fromPosition: fromPosition(options.after ?? 0), filter });
    return new BatchingSubscription(subscription, options.after ?? 0, options.maxBatchSize ?? 1000, options.filter);
  }

  async headPosition(): Promise<number> {
    for await (const resolved of this.client.readAll({ fromPosition: END, direction: BACKWARDS, maxCount: 50 })) {
      if (resolved.event && !isSystem(resolved.event)) return toPosition(resolved.event.position);
    }
    // The newest 50 records are all system events (or the log is empty): fall back to a forward scan.
    let head = 0;
    for await (const resolved of this.client.readAll({ fromPosition: START, direction: FORWARDS })) {
      if (resolved.event && !isSystem(resolved.event)) head = toPosition(resolved.event.position);
    }
    return head;
  }

  async ping(): Promise<void> {
    for await (const _ of this.client.readAll({ fromPosition: END, direction: BACKWARDS, maxCount: 1 })) break;
  }

  async close(): Promise<void> {
    await this.client.dispose();
  }
}

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

export function openEventStoreDbEventLog({ connectionString }: { connectionString: string }): EventStoreDbEventLog {
  return new EventStoreDbEventLog(EventStoreDBClient.connectionString(connectionString));
}
