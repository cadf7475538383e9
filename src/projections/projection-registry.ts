import {
  RevisionConflictError,
  type ReadDocument,
  type ReadStore,
  type WriteBatch,
} from '../modules/read-store/read-store.port';
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
  /**
   * Grows by one at every write of the entry, each conditioned on the revision it read (ProjectionRegistry.update):
   * absent in entries written before it was kept (revision 0).
   */
  revision?: number;
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

/** How many times `update` reads the entry again after another writer changed it between its read and its write. */
export const REGISTRY_UPDATE_ATTEMPTS = 10;

export class ProjectionRegistry {
  constructor(private readonly store: ReadStore) {}

  async get(name: string): Promise<RegistryEntry | null> {
    return this.store.collection<RegistryEntry>(REGISTRY_COLLECTION).get(name);
  }

  async all(): Promise<RegistryEntry[]> {
    return this.store.collection<RegistryEntry>(REGISTRY_COLLECTION).find({}, { sort: { _id: 1 } });
  }

  /**
   * Reads the entry, applies `change` and writes the result, on the condition that the entry is still the one read
   * (its revision, checked in the write's transaction, with the fence): two runners write one entry (the service's and
   * the rebuild command's, in other processes), and a write of what was read before the other's write would undo it
   * (a switch of readers undone by a state change). Refused so, it reads the entry again and applies `change` again:
   * `change` computes the entry from the one it is given only, and may be applied more than once. At most
   * REGISTRY_UPDATE_ATTEMPTS times; then the RevisionConflictError is thrown. A `change` that gives back the entry it
   * was given writes nothing. `fence`: written only while the runner's lease stands (see WriteBatch.fence).
   */
  async update(
    name: string,
    change: (entry: RegistryEntry) => RegistryEntry,
    fence?: WriteBatch['fence'],
  ): Promise<RegistryEntry> {
    for (let attempt = 1; ; attempt++) {
      const stored = await this.get(name);
      const current = stored ?? emptyEntry(name);
      const changed = change(current);
      if (stored && changed === stored) return stored;
      try {
        return await this.replace(current, changed, fence);
      } catch (error) {
        if (!(error instanceof RevisionConflictError) || attempt >= REGISTRY_UPDATE_ATTEMPTS) throw error;
      }
    }
  }

  /**
   * Writes `next` in place of `read`, the entry as read (an empty one where there was none: emptyEntry), only if the
   * stored entry is still that one: else RevisionConflictError, nothing written. For a caller that chose what to write
   * from more than the entry (a new generation, chosen after leases were looked at): it chooses again from the entry
   * read anew rather than applying its choice to it.
   */
  async replace(read: RegistryEntry, next: RegistryEntry, fence?: WriteBatch['fence']): Promise<RegistryEntry> {
    const revision = read.revision ?? 0;
    const written: RegistryEntry = { ...next, _id: read._id, revision: revision + 1 };
    await this.store.write({
      ops: [{ op: 'upsert', collection: REGISTRY_COLLECTION, doc: written }],
      expect: [{ collection: REGISTRY_COLLECTION, id: read._id, revision }],
      ...(fence ? { fence } : {}),
    });
    return written;
  }
}

/** The entry of a projection the registry has none of yet. */
export function emptyEntry(name: string): RegistryEntry {
  return { _id: name, active: null, building: null, lastGeneration: 0, state: 'stopped', failure: null };
}
