import type { RecordedEvent } from '../../modules/event-log/event-log.port';
import type { ReadDocument } from '../../modules/read-store/read-store.port';
import type { Projection, ProjectionContext } from '../projection';

export interface StreamSummary extends ReadDocument {
  /** The part of the stream id before the first '-', e.g. `case`. */
  category: string;
  events: number;
  lastRevision: number;
  lastPosition: number;
  lastType: string;
  firstRecordedAt: string;
  lastRecordedAt: string;
}

export interface EventTypeCount extends ReadDocument {
  count: number;
  lastPosition: number;
}

/**
 * What the log holds: one summary per stream and a count per event type. Auditors use it to find streams;
 * /health and the benchmarks use it as the reference projection.
 */
export const logOverviewProjection: Projection = {
  name: 'log-overview',
  version: 1,
  eventTypes: '*',
  collections: ['streams', 'event-types'],
  prefetch: (event) => [
    { collection: 'streams', id: event.streamId },
    { collection: 'event-types', id: event.type },
  ],
  async apply(event: RecordedEvent, ctx: ProjectionContext) {
    const recordedAt = event.recordedAt.toISOString();
    const stream = await ctx.get<StreamSummary>('streams', event.streamId);
    ctx.upsert('streams', {
      _id: event.streamId,
      category: event.streamId.split('-')[0]!,
      events: (stream?.events ?? 0) + 1,
      lastRevision: event.revision,
      lastPosition: event.position,
      lastType: event.type,
      firstRecordedAt: stream?.firstRecordedAt ?? recordedAt,
      lastRecordedAt: recordedAt,
    } satisfies StreamSummary);
    const type = await ctx.get<EventTypeCount>('event-types', event.type);
    ctx.upsert('event-types', {
      _id: event.type,
      count: (type?.count ?? 0) + 1,
      lastPosition: event.position,
    } satisfies EventTypeCount);
  },
};
