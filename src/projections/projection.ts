import type { RecordedEvent } from '../modules/event-log/event-log.port';
import type { IndexSpec, ReadDocument } from '../modules/read-store/read-store.port';

/** What a projection may do while applying a batch: read (its own pending writes first) and write documents. */
export interface ProjectionContext {
  /** A document the projection may change in place (a fresh copy from the store, or its own staged one); only upsert stores it. */
  get<T extends ReadDocument = ReadDocument>(collection: string, id: string): Promise<T | null>;
  /**
   * Reads these documents in one round trip where the store offers it (MongoDB's `$in`), so the `get`s that follow
   * are answered from memory; documents the batch staged or already holds are not read again.
   */
  load(collection: string, ids: Iterable<string>): Promise<void>;
  upsert(collection: string, doc: ReadDocument): void;
  delete(collection: string, id: string): void;
}

/**
 * A read model built from the event log. `apply` is deterministic: given the same events and the same
 * documents it makes the same writes, so a rebuild reproduces the model exactly.
 */
export interface Projection {
  /** Stable kebab-case name, e.g. `case-view`. */
  readonly name: string;
  /** Bump when `apply` or the document shapes change: the new version is built beside the old one. */
  readonly version: number;
  /** Event types handled; other events only move the checkpoint. `'*'` handles every event. */
  readonly eventTypes: readonly string[] | '*';
  /** Logical collection names it writes. */
  readonly collections: readonly string[];
  /**
   * Event types whose batch must leave no earlier version of what it wrote in the store's files (a personal-data
   * erasure, whose scrub would otherwise stand beside the old clear text): the store purges them once the batch is
   * committed (`ReadStore.purgeOldVersions`).
   */
  readonly purgesOn?: readonly string[];
  apply(event: RecordedEvent, ctx: ProjectionContext): Promise<void> | void;
  /**
   * Called once after a batch's events were applied, with the same context, before the batch is stored: work a
   * projection defers to once per batch (what follows from a case's final state, not from each of its events) is done
   * here. Its writes must be what applying the events one by one would have left, so any batch size builds the same
   * model. An error here stops the projection at the batch's last event.
   */
  flush?(ctx: ProjectionContext): Promise<void> | void;
  /** Indexes its queries need, per logical collection; each build creates them before it is written. */
  readonly indexes?: Readonly<Record<string, readonly IndexSpec[]>>;
  /**
   * The documents `apply` will read for this event, as far as the event alone tells: the runtime reads a batch's in one
   * round trip per collection before applying it, where the store offers that (MongoDB), instead of one per event.
   * Given the event before it is decoded: its data and metadata are not read here.
   */
  prefetch?(event: Omit<RecordedEvent, 'data' | 'metadata'>): Array<{ collection: string; id: string }>;
}

/** One physical build of a projection: its version and a generation counter (a rebuild of the same version is a new generation). */
export interface Build {
  version: number;
  generation: number;
}

/** Physical collection name of one build, e.g. `log-overview.v1.g2.streams`. */
export function physicalCollection(projection: string, build: Build, collection: string): string {
  return `${projection}.v${build.version}.g${build.generation}.${collection}`;
}

/** The checkpoint key of one build. */
export function checkpointKey(projection: string, build: Build): string {
  return `${projection}.v${build.version}.g${build.generation}`;
}

/** Each list of event types as a set, built once: the case projections name every type, and were searched per event. */
const typeSets = new WeakMap<readonly string[], ReadonlySet<string>>();

export function handles(projection: Projection, type: string): boolean {
  const types = projection.eventTypes;
  if (types === '*') return true;
  let set = typeSets.get(types);
  if (!set) typeSets.set(types, (set = new Set(types)));
  return set.has(type);
}
