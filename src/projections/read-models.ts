import type { EventLog } from '../modules/event-log/event-log.port';
import type { ReadCollection, ReadDocument, ReadStore } from '../modules/read-store/read-store.port';
import { AHEAD_OF_LOG, type ProjectionHealth, type ProjectionStatusSource } from './projection-status';
import { positionNotInLog } from './build-positions';
import { checkpointKey, physicalCollection, type Build, type Projection } from './projection';
import {
  CHECKPOINT_EVENTS_COLLECTION,
  ProjectionRegistry,
  type CheckpointEvent,
  type RegistryEntry,
} from './projection-registry';

/**
 * On EventStoreDB, the most events counted for a projection's lag on each /health or /metrics (counting reads them):
 * a lag of this many means at least this many. The lag in seconds is exact either way.
 */
export const LAG_EVENTS_COUNTED = 100;

/**
 * The projection has no complete build yet (first build still running, or its build is ahead of the log and waits to be
 * dropped and rebuilt): readers get 503, not a partial model.
 */
export class ReadModelNotReadyError extends Error {
  override readonly name = 'ReadModelNotReadyError';
  constructor(readonly projection: string) {
    super(`the ${projection} read model is still being built`);
  }
}

/** A wait for read-your-writes ran out of time. */
export class ReadModelTimeoutError extends Error {
  override readonly name = 'ReadModelTimeoutError';
  constructor(
    readonly projection: string,
    readonly position: number,
    readonly reached: number,
  ) {
    super(`the ${projection} read model reached position ${reached}, not ${position}, in time`);
  }
}

export interface ActiveModel {
  position: number;
  /** The active build's version; null while the first build runs. What a reader of an older document shape asks. */
  version: number | null;
  /** The store's change mark when the build and position were looked up (null where the store has none). */
  mark: string | null;
  collection<T extends ReadDocument = ReadDocument>(name: string): ReadCollection<T>;
}

export interface ProjectionStatusRow extends ProjectionHealth {
  name: string;
  version: number;
  generation: number | null;
  state: string;
  checkpoint: number;
  lagEvents: number;
  lagSeconds: number;
  building: { version: number; generation: number; checkpoint: number } | null;
  error: unknown;
}

/**
 * The read side of the projections, usable in a process that does not run them (the API when a worker
 * projects): always reads the active build, reports status and lag from the stores themselves.
 */
export class ReadModels implements ProjectionStatusSource {
  private readonly registry: ProjectionRegistry;
  private readonly byName: Map<string, Projection>;
  /**
   * The builds whose checkpoint was found in the log: a position the log held stays held, so each build is looked up
   * in the log once, when it is first met, never on a read that finds its model known.
   */
  private readonly inLog = new Set<string>();
  /** The newest build each projection's readers were given: when a newer one is given, the store lets the older go. */
  private readonly served = new Map<string, Build>();
  /** Registry entries and checkpoints as read while the store's change mark stayed `mark`. */
  private known: {
    mark: string | null;
    entries: Map<string, RegistryEntry | null>;
    positions: Map<string, number>;
    /** Each projection's active model as `activeNow` gave it at this mark: one object, not a new one per read. */
    models: Map<string, ActiveModel>;
  } = {
    mark: null,
    entries: new Map(),
    positions: new Map(),
    models: new Map(),
  };

  constructor(
    private readonly log: EventLog,
    private readonly store: ReadStore,
    private readonly projections: readonly Projection[],
  ) {
    this.registry = new ProjectionRegistry(store);
    this.byName = new Map(projections.map((p) => [p.name, p]));
  }

  /** The active build's collection; resolved on every call so a switch is seen at once. */
  async collection<T extends ReadDocument = ReadDocument>(
    projection: string,
    collection: string,
  ): Promise<ReadCollection<T>> {
    return (await this.active(projection)).collection<T>(collection);
  }

  /** The position the active build of a projection reflects. */
  async position(projection: string): Promise<number> {
    return (await this.activeNow(projection)).position;
  }

  /**
   * The active build's position and its collections from one look at the registry, so both are of the same
   * build. `collection` throws ReadModelNotReadyError while the first build runs.
   */
  async active(projection: string): Promise<ActiveModel> {
    return this.activeNow(projection);
  }

  /**
   * `active` without a promise when nothing was written to the store since the registry entry and the checkpoint
   * were read (the store's change mark is looked at on every call, as by `active`); a promise when they must be read.
   */
  activeNow(projection: string): ActiveModel | Promise<ActiveModel> {
    this.look();
    const known = this.known.models.get(projection);
    if (known) return known;
    const entry = this.known.entries.get(projection);
    const build = entry?.active;
    const key = build ? checkpointKey(projection, build) : null;
    const position = key ? this.known.positions.get(key) : 0;
    if (entry !== undefined && position !== undefined && (key === null || this.inLog.has(key)))
      return this.modelAt(projection, build, position);
    return this.activeAfterLook(projection);
  }

  private async activeAfterLook(projection: string): Promise<ActiveModel> {
    // What is read below is of this look's mark, even if another read looks again meanwhile.
    const known = this.known;
    const build = await this.servedBuild(projection);
    return this.modelAt(projection, build, build ? await this.checkpointOf(projection, build) : 0, known);
  }

  /**
   * The active build, or null while there is none readers may use: none yet, or one whose checkpoint the log does not
   * hold (the log lost events or an older copy was put back, and the loss was accepted). Such a build holds cases the
   * log no longer has; the projections' next start drops and rebuilds it, which an API without them (PROJECTIONS=off)
   * does not wait for: until then its model is "being built", as the start-up check's refusal would have it.
   */
  private async servedBuild(projection: string): Promise<Build | null> {
    const build = (await this.entryAfterLook(projection))?.active;
    if (!build) return null;
    return (await this.notInLog(projection, build)) === null ? build : null;
  }

  /**
   * Why the build's checkpoint is not in the log (as the start-up check judges it), or null when it is. The checkpoint
   * is read before the head, so a build the projections are writing from this log is never found past it.
   */
  private async notInLog(
    projection: string,
    build: Build,
  ): Promise<{ problem: string; position: number; eventId: string | null; head: number } | null> {
    const key = checkpointKey(projection, build);
    if (this.inLog.has(key)) return null;
    const checkpoint = await this.store.getCheckpoint(key);
    if (!checkpoint || checkpoint.position === 0) return null;
    const head = await this.log.headPosition({ fromLeader: true });
    const problem = await positionNotInLog(this.log, checkpoint, head);
    if (problem === null) {
      this.inLog.add(key);
      return null;
    }
    return { problem, position: checkpoint.position, eventId: checkpoint.eventId ?? null, head };
  }

  /** The model of `build` at `position`, read at `known`'s mark, and kept with it. */
  private modelAt(
    projection: string,
    build: Build | null | undefined,
    position: number,
    known = this.known,
  ): ActiveModel {
    if (build) this.serving(projection, build);
    const model: ActiveModel = {
      position,
      version: build?.version ?? null,
      mark: known.mark,
      collection: <T extends ReadDocument = ReadDocument>(collection: string) => {
        if (!build) throw new ReadModelNotReadyError(projection);
        const indexes = this.byName.get(projection)?.indexes?.[collection];
        return this.store.collection<T>(
          physicalCollection(projection, build, collection),
          indexes ? { indexes } : undefined,
        );
      },
    };
    // Only what was read at a known mark is kept (the entry and checkpoint maps keep nothing at a null mark).
    if (known.mark !== null) known.models.set(projection, model);
    return model;
  }

  /**
   * Readers switched to `build`: the store's copies of the build they had (the embedded store keeps each collection
   * read parsed in memory, a build of the cases model hundreds of MB) are let go now, not when it is dropped, which
   * another process does. Generations only grow: a model read at an older mark, resolved late, changes nothing.
   */
  private serving(projection: string, build: Build): void {
    const previous = this.served.get(projection);
    if (previous && build.generation <= previous.generation) return;
    this.served.set(projection, build);
    if (previous) this.store.forget?.(physicalCollection(projection, previous, ''));
  }

  private async checkpointOf(projection: string, build: Build): Promise<number> {
    const key = checkpointKey(projection, build);
    const known = this.known;
    const kept = known.positions.get(key);
    if (kept !== undefined) return kept;
    const position = (await this.store.getCheckpoint(key))?.position ?? 0;
    if (known.mark !== null) known.positions.set(key, position);
    return position;
  }

  /**
   * The registry entry, read again only when a write has committed to the store since it was read (any
   * connection, any process): a read needs one cheap look at the store's change mark, not two queries.
   */
  private async entry(projection: string): Promise<RegistryEntry | null> {
    this.look();
    return this.entryAfterLook(projection);
  }

  /** One look at the store's change mark: what was known at another mark (or at none) is forgotten. */
  private look(): void {
    const mark = this.store.changeMark();
    if (mark === null || mark !== this.known.mark)
      this.known = { mark, entries: new Map(), positions: new Map(), models: new Map() };
  }

  /** The registry entry, as known since the last look or read now. */
  private async entryAfterLook(projection: string): Promise<RegistryEntry | null> {
    const known = this.known;
    const entry = known.entries.get(projection);
    if (entry !== undefined) return entry;
    const read = await this.registry.get(projection);
    // Kept with the mark it was read at: another look meanwhile starts from what its own mark shows.
    if (known.mark !== null) known.entries.set(projection, read);
    return read;
  }

  /**
   * The last event the active build reflects: its position and when the log recorded it, as stored with the
   * checkpoint. `at` is null for an empty model, and for a build whose checkpoint was stored before the time was kept
   * with it (until its next batch). Never older than the checkpoint read before it.
   */
  async lastEvent(projection: string, position: number): Promise<{ position: number; at: string | null }> {
    const entry = await this.entry(projection);
    if (!entry?.active || position === 0) return { position, at: null };
    const stored = await this.store
      .collection<CheckpointEvent>(CHECKPOINT_EVENTS_COLLECTION)
      .get(checkpointKey(projection, entry.active));
    // Written in the same transaction as the checkpoint: at or after the position read a moment ago.
    return stored && stored.position >= position
      ? { position: stored.position, at: stored.recordedAt }
      : { position, at: null };
  }

  /** The log's head position, the leader's on a cluster: what a position a client names must not exceed. */
  headPosition(): Promise<number> {
    return this.log.headPosition({ fromLeader: true });
  }

  /** Resolves once the projection's active build has applied `position`; polls the store, so it works across processes. */
  async waitFor(projection: string, position: number, timeoutMs: number): Promise<number> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const reached = await this.position(projection);
      if (reached >= position) return reached;
      if (Date.now() >= deadline) throw new ReadModelTimeoutError(projection, position, reached);
      await new Promise((r) => setTimeout(r, 10));
    }
  }

  async status(): Promise<ProjectionStatusRow[]> {
    const head = await this.log.headPosition();
    // Lag counted once per distinct checkpoint (several projections usually share one).
    const lags = new Map<number, Promise<{ events: number; seconds: number }>>();
    const rows: ProjectionStatusRow[] = [];
    for (const projection of this.projections) {
      const entry = await this.registry.get(projection.name);
      const current = entry?.active ?? entry?.building ?? null;
      // A build ahead of the log serves nothing: it stands where nothing is projected yet, the whole log behind it.
      const ahead = entry?.active ? await this.notInLog(projection.name, entry.active) : null;
      const checkpoint =
        current && !ahead
          ? ((await this.store.getCheckpoint(checkpointKey(projection.name, current)))?.position ?? 0)
          : 0;
      const building = entry?.building
        ? {
            version: entry.building.version,
            generation: entry.building.generation,
            checkpoint: (await this.store.getCheckpoint(checkpointKey(projection.name, entry.building)))?.position ?? 0,
          }
        : null;
      if (!lags.has(checkpoint)) lags.set(checkpoint, this.lag(checkpoint, head));
      const lag = await lags.get(checkpoint)!;
      rows.push({
        name: projection.name,
        version: entry?.active?.version ?? projection.version,
        generation: entry?.active?.generation ?? null,
        state: ahead ? AHEAD_OF_LOG : (entry?.state ?? 'stopped'),
        checkpoint,
        lagEvents: lag.events,
        lagSeconds: lag.seconds,
        building,
        error: ahead
          ? { problem: ahead.problem, checkpoint: ahead.position, checkpointEventId: ahead.eventId, head: ahead.head }
          : (entry?.failure ?? entry?.retry ?? null),
      });
    }
    return rows;
  }

  /**
   * Seconds behind: since the oldest event not yet projected was recorded. Events behind: SQLite positions are gapless
   * event numbers, so a subtraction; EventStoreDB positions are byte offsets, so the events are counted, at most
   * LAG_EVENTS_COUNTED of them (that number then means "at least"), in one read that also gives the oldest.
   */
  private async lag(checkpoint: number, head: number): Promise<{ events: number; seconds: number }> {
    if (checkpoint >= head) return { events: 0, seconds: 0 };
    const counted = this.log.kind === 'sqlite' ? 1 : LAG_EVENTS_COUNTED;
    const behind = await this.log.readAll({ after: checkpoint, maxCount: counted });
    const oldest = behind[0];
    const seconds = oldest ? Math.max(0, (Date.now() - oldest.recordedAt.getTime()) / 1000) : 0;
    return { events: this.log.kind === 'sqlite' ? head - checkpoint : behind.length, seconds };
  }
}
