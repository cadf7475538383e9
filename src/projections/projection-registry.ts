import type { ReadDocument, ReadStore, WriteBatch } from '../modules/read-store/read-store.port';
import type { Build } from './projection';

/** Where the registry lives in the read store: one document per projection. */
export const REGISTRY_COLLECTION = '_projections';

/**
 * The last event each build's checkpoint reflects, its position and recording time: written in the same batch as the
 * checkpoint (one transaction), so a read answer's staleness stamp needs no read of the log, and no position is ever
 * computed (on EventStoreDB positions are byte offsets: `position − 1` is not a record).
 */
export const CHECKPOINT_EVENTS_COLLECTION = '_checkpoint-events';

export interface CheckpointEvent extends ReadDocument {
  /** The checkpoint key of the build (`checkpointKey`). */
  _id: string;
  position: number;
  /** ISO-8601, as the log recorded the event. */
  recordedAt: string;
}

/**
 * `retrying`: the last attempt stopped on something outside the projection (the store refused a write, the log's
 * subscription dropped: a server restart, a leader change); the runner tries again from its checkpoint, backing off.
 * `failed`: an event it cannot apply; only a fix and a restart or rebuild help.
 */
export type ProjectionState = 'catching-up' | 'live' | 'rebuilding' | 'stopped' | 'retrying' | 'failed';

/** Why a projection is retrying, and when it tries next. */
export interface ProjectionRetry {
  error: string;
  /** Attempts that failed in a row. */
  attempt: number;
  since: string;
  nextAttemptAt: string;
}

export interface ProjectionFailure {
  position: number;
  eventId: string;
  eventType: string;
  streamId: string;
  error: string;
  failedAt: string;
}

/**
 * Which build readers use (`active`) and which one is being built beside it (`building`). Switching is one
 * document write, so readers see either the old complete model or the new complete one, never a half-built one.
 */
export interface RegistryEntry extends ReadDocument {
  active: (Build & { switchedAt: string }) | null;
  /**
   * `lease`: the lease of the runner writing it (`projection:<name>` or `rebuild:<name>`; absent in entries written
   * before it was recorded). A runner under another lease never writes it while that lease is held.
   */
  building: (Build & { startedAt: string; lease?: string }) | null;
  /** The highest generation ever used, so a new build never reuses old collection names. */
  lastGeneration: number;
  state: ProjectionState;
  failure: ProjectionFailure | null;
  /** Set while `state` is `retrying`. */
  retry?: ProjectionRetry | null;
  /** Builds readers no longer use, kept until a grace period after the switch for requests still reading them. */
  retired?: Array<Build & { retiredAt: string }>;
}

/**
 * The entry's retired builds with `build` among them, retired `at` (dropped after the grace period, with its
 * checkpoint): a build switched away from, replaced while under way, or found ahead of the log. None added for null.
 */
export function retiredWith(
  entry: RegistryEntry,
  build: Build | null | undefined,
  at: string,
): NonNullable<RegistryEntry['retired']> {
  const retired = entry.retired ?? [];
  return build ? [...retired, { version: build.version, generation: build.generation, retiredAt: at }] : retired;
}

export class ProjectionRegistry {
  constructor(private readonly store: ReadStore) {}

  async get(name: string): Promise<RegistryEntry | null> {
    return this.store.collection<RegistryEntry>(REGISTRY_COLLECTION).get(name);
  }

  async all(): Promise<RegistryEntry[]> {
    return this.store.collection<RegistryEntry>(REGISTRY_COLLECTION).find({}, { sort: { _id: 1 } });
  }

  /** `fence`: written only while the runner's lease stands (see WriteBatch.fence). */
  async put(entry: RegistryEntry, fence?: WriteBatch['fence']): Promise<void> {
    await this.store.write({
      ops: [{ op: 'upsert', collection: REGISTRY_COLLECTION, doc: entry }],
      ...(fence ? { fence } : {}),
    });
  }

  async update(
    name: string,
    change: (entry: RegistryEntry) => RegistryEntry,
    fence?: WriteBatch['fence'],
  ): Promise<RegistryEntry> {
    const current = (await this.get(name)) ?? {
      _id: name,
      active: null,
      building: null,
      lastGeneration: 0,
      state: 'stopped',
      failure: null,
    };
    const next = change(current);
    await this.put(next, fence);
    return next;
  }
}
