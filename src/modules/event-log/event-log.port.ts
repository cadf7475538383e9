/**
 * The event log port: the only source of truth. Adapters: `sqlite` (embedded default) and
 * `eventstoredb`. Every adapter passes `event-log.contract.ts`.
 *
 * Revisions are 0-based per stream. Global positions are positive, strictly increasing in
 * commit order, and comparable across the whole log; 0 means "before the first event".
 */

/** `no_stream`: the stream must not exist; `any`: no check; a number: the stream's last revision must be exactly that. */
export type ExpectedRevision = 'no_stream' | 'any' | number;

export type EventMetadata = Record<string, unknown>;

export interface EventToAppend<D = unknown, M extends EventMetadata = EventMetadata> {
  /** UUID; generated when omitted. Lets a retried append be recognised. */
  id?: string;
  type: string;
  data: D;
  metadata?: M;
}

export interface RecordedEvent<D = unknown, M extends EventMetadata = EventMetadata> {
  id: string;
  type: string;
  data: D;
  metadata: M;
  streamId: string;
  /** 0-based revision of this event inside its stream. */
  revision: number;
  /** Position in the global order of the whole log. */
  position: number;
  /** Server time at which the log recorded the event. */
  recordedAt: Date;
}

/** An event as stored, its data and metadata as the JSON text the log keeps (for verification of exact bytes). */
export interface RawRecordedEvent {
  id: string;
  type: string;
  data: string;
  metadata: string;
  streamId: string;
  revision: number;
  position: number;
  recordedAt: Date;
}

/** An event as stored (asked for `undecoded`): its metadata, always an object once decoded, is still JSON text. */
export function isUndecoded(event: RecordedEvent | RawRecordedEvent): event is RawRecordedEvent {
  return typeof event.metadata === 'string';
}

/** A stored event decoded: its data and metadata parsed from the JSON text the log keeps. */
export function decodeRaw(raw: RawRecordedEvent): RecordedEvent {
  return {
    position: raw.position,
    id: raw.id,
    streamId: raw.streamId,
    revision: raw.revision,
    type: raw.type,
    data: JSON.parse(raw.data),
    metadata: JSON.parse(raw.metadata),
    recordedAt: raw.recordedAt,
  };
}

export interface AppendResult {
  /** Revision of the last appended event (the stream's revision after the append). */
  nextRevision: number;
  /** Global position of the last appended event. */
  position: number;
}

export interface ReadStreamOptions {
  direction?: 'forwards' | 'backwards';
  /** Inclusive. Forwards: the first revision returned; backwards: the highest one. */
  fromRevision?: number;
  /** Inclusive bound on the other side. */
  toRevision?: number;
  /** Only events recorded at or before this instant. */
  until?: Date;
  maxCount?: number;
}

export interface AllFilter {
  eventTypes?: readonly string[];
  streamPrefixes?: readonly string[];
}

export interface ReadAllOptions {
  /** Exclusive: events strictly after this position. Default 0 (from the start). */
  after?: number;
  maxCount?: number;
  filter?: AllFilter;
}

export interface SubscribeOptions {
  /** Exclusive start position; default 0. Use `await log.headPosition()` to follow only new events. */
  after?: number;
  filter?: AllFilter;
  /** Upper bound on events per delivered batch. */
  maxBatchSize?: number;
  /**
   * Deliver the events as stored where the adapter can serve them so cheaply (the embedded log): data and metadata the
   * JSON text (`isUndecoded`), decoded by the consumer (`decodeRaw`) as it takes each. A consumer that decodes each event
   * as it applies it holds a batch's text meanwhile, not its thousands of parsed objects. Other adapters decode as ever.
   */
  undecoded?: boolean;
}

/**
 * Catch up from `after`, then live. Delivers events in global order, in batches.
 * Iterate with `for await`; `stop()` ends the iteration cleanly (pending `next()` resolves done).
 */
export interface EventSubscription extends AsyncIterable<RecordedEvent[]> {
  stop(): Promise<void>;
}

/** A subscription asked for `undecoded` events: each is decoded, or as stored where the adapter serves that. */
export interface UndecodedEventSubscription extends AsyncIterable<Array<RecordedEvent | RawRecordedEvent>> {
  stop(): Promise<void>;
}

export interface EventLog {
  readonly kind: 'sqlite' | 'eventstoredb';
  /**
   * The longest an append may take, from its call, before it is stored or answered as failed (the SQLite write lock's
   * wait; EventStoreDB's append deadline), with a margin. Whoever must know that another process's append will not land
   * later (an erasure, before it destroys a key) waits this long.
   */
  readonly appendSettlesMs: number;
  append(streamId: string, events: readonly EventToAppend[], expected: ExpectedRevision): Promise<AppendResult>;
  /** Empty array for a stream that does not exist. */
  readStream(streamId: string, options?: ReadStreamOptions): Promise<RecordedEvent[]>;
  readAll(options?: ReadAllOptions): Promise<RecordedEvent[]>;
  /** Like readAll, with data and metadata as stored JSON text; adapters that can serve it cheaply do. */
  readAllRaw?(options?: ReadAllOptions): Promise<RawRecordedEvent[]>;
  subscribeToAll(options: SubscribeOptions & { undecoded: true }): UndecodedEventSubscription;
  subscribeToAll(options?: SubscribeOptions): EventSubscription;
  /**
   * Position of the last event in the log, 0 when empty. `fromLeader`: on a cluster, the leader's (a follower may not
   * have what a command was just answered with yet); where a position a client names is judged against the head.
   */
  headPosition(options?: { fromLeader?: boolean }): Promise<number>;
  /** The last event in the log (outside the store's own system streams), null when empty: where a copy resumes. */
  lastEvent(): Promise<RecordedEvent | null>;
  /** Cheap liveness check for /health. */
  ping(): Promise<void>;
  close(): Promise<void>;
}

export const EVENT_LOG = Symbol('EVENT_LOG');
