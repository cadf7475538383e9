import { EventEmitter } from 'node:events';
import { performance } from 'node:perf_hooks';
import type { Logger } from 'pino';
import {
  decodeRaw,
  isUndecoded,
  type EventLog,
  type RawRecordedEvent,
  type RecordedEvent,
  type UndecodedEventSubscription,
} from '../modules/event-log/event-log.port';
import { hostname } from 'node:os';
import { randomUUID } from 'node:crypto';
import {
  CheckpointAheadError,
  LeaseLostError,
  RevisionConflictError,
  type Lease,
  type ReadDocument,
  type ReadStore,
  type WriteBatch,
  type WriteOp,
} from '../modules/read-store/read-store.port';
import {
  checkpointKey,
  handles,
  physicalCollection,
  type Build,
  type Projection,
  type ProjectionContext,
} from './projection';
import {
  CHECKPOINT_EVENTS_COLLECTION,
  emptyEntry,
  ProjectionRegistry,
  REGISTRY_UPDATE_ATTEMPTS,
  retiredWith,
  type CheckpointEvent,
  type ProjectionFailure,
  type ProjectionRetry,
  type ProjectionState,
  type RegistryEntry,
} from './projection-registry';
import type { WorkShare } from './work-share';
import { buildPositions, positionNotInLog } from './build-positions';
import { SharedLogRead } from './shared-log-read';
import { threadCpuSeconds } from '../shared/thread-cpu';
import { splitForThreads, startRebuildThread, type RebuildThreadsOptions, type ThreadOutcome } from './rebuild-threads';

export interface RuntimeOptions {
  /** Events per batch while following the log, and so the most events between two checkpoints then. */
  batchSize?: number;
  /**
   * Events per batch while a projection starts more than `batchSize` events behind the head (a catch-up, a rebuild):
   * the work a batch does once (each document it touches read and written once, each case's rows computed once)
   * then covers more events. Readers of a live build see it move a batch at a time.
   * @defaultValue 20000, or `batchSize` when that is given
   */
  catchUpBatchSize?: number;
  /**
   * Events per batch while a projection writes a build readers have not been switched to (a rebuild, a new version's
   * first build): no reader watches it move, so a batch may be larger still, and its documents, rollup slices and
   * checkpoint are written once for more events. Memory: a shared read holds two reads (readChunkSize) of decoded events.
   * @defaultValue 50000, or `catchUpBatchSize` (else `batchSize`) when that is given
   */
  buildBatchSize?: number;
  /**
   * Documents a projection wrote, kept parsed between its batches (the most recently written), so the next batch that
   * touches them (a rollup, an open case) neither reads nor parses them again. Only the runner holding the projection's
   * lease writes its build, so what it wrote is what the store holds; the copy is dropped whenever the runner starts
   * over (a retry, a lost lease). 0 keeps none. Memory: 20,000 case documents of the bench took about 120 MB of heap.
   * @defaultValue 20000
   */
  keptDocuments?: number;
  /**
   * Events read from the log at a time. A batch larger than this gathers several reads, each applied before the next
   * is made, so the events' stored text dies young instead of living (and being copied by every scavenge, then
   * promoted) until a batch of 50,000 is applied: a compliance catch-up spent a fifth of its thread in the collector.
   * A batch reads on while a whole read fits, so it never exceeds its size (following the log, a batch is one read).
   * @defaultValue 1000
   */
  readChunkSize?: number;
  logger?: Pick<Logger, 'info' | 'warn' | 'error'>;
  /** Shared by every projection of the runtime: how much of the time they work while they cannot keep up with the log. */
  workShare?: WorkShare;
  /**
   * How long a build readers have left stays, after the switch, before its collections are dropped: a request that
   * looked up the old build just before the switch still reads it whole. 0 drops at the switch.
   * @defaultValue 300000 (5 minutes)
   */
  retiredBuildGraceMs?: number;
  /** Told when a projection's write finds the read store's disk full (with SQLite's message), and when one goes through again (null). */
  onStorageFull?: (detail: string | null) => void;
  /**
   * How a projection that stopped on something outside it (a store error, a dropped subscription) tries again: after
   * `initialMs`, doubling up to `maxMs`, from its checkpoint, until it gets through or is stopped.
   * @defaultValue { initialMs: 1000, maxMs: 30000 }
   */
  retry?: { initialMs: number; maxMs: number };
  /**
   * Each projection runs in one runner at a time, however many processes start one: the runner holds a lease in the
   * read store (renewed every third of `ttlMs`; taken over by a waiting runner once it expires) and every write it
   * makes carries the lease's fencing token, so a runner that lost its lease writes nothing. `holder` names this runtime.
   * `takeOverAtStart`: this process holds the embedded store's `projections` role lock, so no other runner can be alive:
   * a lease left by a process killed outright is taken at once instead of after its expiry.
   * @defaultValue { holder: `<host>:<pid>:<random>`, ttlMs: 15000, takeOverAtStart: false }
   */
  lease?: { holder?: string; ttlMs?: number; takeOverAtStart?: boolean };
  /**
   * `rebuildMany` spreads its projections over this many threads (this one and `threads − 1` worker threads, each
   * reading the log and writing its projections' builds itself), the groups balanced by `weights`. Absent, or
   * `threads: 1`: every projection is rebuilt on this thread.
   */
  rebuildThreads?: RebuildThreadsOptions;
}

/** See RuntimeOptions.lease. */
export const PROJECTION_LEASE_TTL_MS = 15_000;

/** See RuntimeOptions.retry. */
export const PROJECTION_RETRY = { initialMs: 1_000, maxMs: 30_000 };

/** See RuntimeOptions.catchUpBatchSize, buildBatchSize and keptDocuments. */
export const CATCH_UP_BATCH_SIZE = 20_000;
export const BUILD_BATCH_SIZE = 50_000;
export const KEPT_DOCUMENTS = 20_000;
export const READ_CHUNK_SIZE = 1_000;
/** How long a batch waits for a further read of events the log's head says are there before it is written as it is. */
const GATHER_WAIT_MS = 100;
/**
 * An erasure's purge of old versions: tries at once (each waits at most the store's short busy timeout for readers on
 * an older snapshot), the wait between them, and between rounds while it stays owed; and the grace a retired build
 * keeps after an erasure, for a read another process resolved to it a moment before.
 */
const PURGE_ATTEMPTS = 5;
const PURGE_RETRY_MS = 100;
const PURGE_OWED_RETRY_MS = 1_000;
const ERASURE_RETIRED_GRACE_MS = 5_000;

/** See RuntimeOptions.retiredBuildGraceMs. */
export const RETIRED_BUILD_GRACE_MS = 5 * 60_000;

/** One thread of a `rebuildMany` (the runtime's 'rebuilt' event): its projections and the CPU time it used (Linux). */
export interface RebuiltThread {
  projections: readonly string[];
  cpuSeconds: number | null;
}

export interface ProjectedEvent {
  projection: string;
  position: number;
}

export interface BuildProgress {
  projection: string;
  build: Build;
  position: number;
  head: number;
  events: number;
}

/** Thrown by `rebuild` when the projection stops on an event it cannot apply. */
export class ProjectionFailedError extends Error {
  override readonly name = 'ProjectionFailedError';
  constructor(
    readonly projection: string,
    readonly failure: ProjectionFailure,
  ) {
    super(
      `projection ${projection} failed at position ${failure.position} (${failure.eventType} in ${failure.streamId}): ${failure.error}`,
    );
  }
}

/**
 * Runs projections against the event log: each from its own checkpoint, in batches, catching up then
 * following live. One projection failing stops only that projection.
 */
export class ProjectionRuntime {
  /**
   * Emits 'projected' ({ projection, position }) after every stored batch: read-your-writes waits on it; and 'rebuilt'
   * (RebuiltThread[]) at the end of a `rebuildMany`, each thread's projections and CPU time.
   */
  readonly events = new EventEmitter();
  private readonly registry: ProjectionRegistry;
  private readonly runners = new Map<string, ProjectionRunner>();
  private readonly sizes: RunnerSizes;
  private readonly graceMs: number;
  private readonly lease: { holder: string; ttlMs: number; takeOverAtStart: boolean };
  /** The projections waiting out a full read store: the runtime reports the fault while any is. */
  private readonly waitingForSpace = new Set<string>();

  constructor(
    private readonly log: EventLog,
    private readonly store: ReadStore,
    private readonly projections: readonly Projection[],
    private readonly options: RuntimeOptions = {},
  ) {
    this.registry = new ProjectionRegistry(store);
    const batchSize = options.batchSize ?? 1000;
    // A runtime given its batch size keeps it for catch-ups and builds too unless told otherwise (tests count its
    // checkpoints).
    const catchUpBatchSize =
      options.catchUpBatchSize ?? (options.batchSize === undefined ? CATCH_UP_BATCH_SIZE : batchSize);
    const buildBatchSize = options.buildBatchSize ?? options.catchUpBatchSize ?? options.batchSize ?? BUILD_BATCH_SIZE;
    this.sizes = {
      batchSize,
      catchUpBatchSize: Math.max(batchSize, catchUpBatchSize),
      buildBatchSize: Math.max(batchSize, catchUpBatchSize, buildBatchSize),
      keptDocuments: options.keptDocuments ?? KEPT_DOCUMENTS,
      readChunkSize: Math.max(1, options.readChunkSize ?? READ_CHUNK_SIZE),
    };
    this.graceMs = options.retiredBuildGraceMs ?? RETIRED_BUILD_GRACE_MS;
    this.lease = {
      holder: options.lease?.holder ?? `${hostname()}:${process.pid}:${randomUUID().slice(0, 8)}`,
      ttlMs: options.lease?.ttlMs ?? PROJECTION_LEASE_TTL_MS,
      takeOverAtStart: options.lease?.takeOverAtStart ?? false,
    };
    this.events.setMaxListeners(0);
    const names = new Set<string>();
    for (const p of projections) {
      if (names.has(p.name)) throw new Error(`two projections are named ${p.name}`);
      names.add(p.name);
    }
  }

  /** Starts every projection in the background; returns once each has chosen its build. */
  async start(): Promise<void> {
    await this.discardBuildsAheadOfLog();
    // A purge an erasure still owed when the last process stopped without one (a crash, readers at its close): once
    // here, before any runner writes.
    if (this.projections.some((p) => p.purgesOn?.length)) await this.store.purgeOldVersions?.().catch(() => false);
    // Projections building from far behind (several new versions after a deploy, a first start) share their reads of
    // the log while their batches coincide; each follows the log on its own subscription once at the head.
    const shared = this.projections.length > 1 ? new SharedLogRead(this.log) : null;
    // Every view is there before the first runner reads, so the batches it reads are kept for the others.
    const views = this.projections.map(() => shared?.view());
    for (const [i, projection] of this.projections.entries()) {
      const view = views[i];
      const runner = this.runnerFor(projection, view?.log ?? this.log, {
        workShare: this.options.workShare,
        onStorageFull: (detail) => this.storageFull(projection.name, detail),
        writeBehind: shared === null,
      });
      this.runners.set(projection.name, runner);
      await runner.start({ rebuild: false });
      // Standing by for another process's runner: the others do not keep batches for it meanwhile.
      if (!runner.leased) view?.leave();
    }
  }

  private projectionNamed(name: string): Projection {
    const projection = this.projections.find((p) => p.name === name);
    if (!projection)
      throw new Error(`unknown projection ${name}; known: ${this.projections.map((p) => p.name).join(', ')}`);
    return projection;
  }

  /** A runner of this runtime's store, registry, lease and settings over `log` (the log itself, or a shared read's view). */
  private runnerFor(
    projection: Projection,
    log: EventLog,
    extra: {
      onProgress?: (progress: BuildProgress) => void;
      workShare?: WorkShare;
      onStorageFull?: (detail: string | null) => void;
      /**
       * Whether catch-up batches may be committed on the store's writer thread (ProjectionRunner.writeBehind): only
       * for a runner that has the store to itself. Runners side by side (a shared read of the log) write inline, since
       * their writes through both connections wait for each other's locks: measured, a rebuild of the four read models
       * took 9.6 s over 230,109 events with them and 8.3 s without (BENCHMARKS.md, issue 19).
       */
      writeBehind?: boolean;
    },
  ): ProjectionRunner {
    const runner = new ProjectionRunner(
      projection,
      log,
      this.store,
      this.registry,
      this.sizes,
      this.events,
      this.options.logger,
      extra.onProgress,
      extra.workShare,
      this.graceMs,
      extra.onStorageFull,
      this.options.retry,
      this.lease,
    );
    runner.writeBehind = extra.writeBehind ?? true;
    return runner;
  }

  /**
   * Builds a fresh generation of one projection from the first event, beside the active one, and switches
   * readers to it when it has caught up. Resolves after the switch.
   */
  async rebuild(name: string, onProgress?: (progress: BuildProgress) => void): Promise<Build> {
    const runner = this.runnerFor(this.projectionNamed(name), this.log, { onProgress });
    await runner.start({ rebuild: true, stopWhenSwitched: true });
    const outcome = await runner.finished;
    await runner.stop();
    if (outcome.failure) throw new ProjectionFailedError(name, outcome.failure);
    return outcome.build;
  }

  /**
   * Rebuilds several projections side by side over one read of the log (`rebuild --all`): every batch is read and
   * decoded once and fed to each projection, which writes into its own new build and switches its readers when that
   * build has caught up. Resolves when all have switched; throws the first failure once every other has ended.
   */
  async rebuildMany(names: readonly string[], onProgress?: (progress: BuildProgress) => void): Promise<Build[]> {
    // Two runners of one projection in one runtime would hold the same lease and write two builds at once.
    if (new Set(names).size !== names.length) throw new Error(`a projection is named twice: ${names.join(', ')}`);
    for (const name of names) this.projectionNamed(name);
    const threads = this.options.rebuildThreads;
    const groups = threads && threads.threads > 1 ? splitForThreads(names, threads.threads, threads.weights) : [names];
    const [here, ...elsewhere] = groups as [string[], ...string[][]];
    // The other groups each on a thread of its own, with this runtime's settings and lease holder (a thread that
    // died leaves its rebuild leases to this runtime, which may take them again at once).
    const started = elsewhere.map((group) =>
      startRebuildThread(
        {
          setup: threads!.setup,
          names: group,
          options: {
            batchSize: this.sizes.batchSize,
            catchUpBatchSize: this.sizes.catchUpBatchSize,
            buildBatchSize: this.sizes.buildBatchSize,
            keptDocuments: this.sizes.keptDocuments,
            readChunkSize: this.sizes.readChunkSize,
            retiredBuildGraceMs: this.graceMs,
            ...(this.options.retry ? { retry: this.options.retry } : {}),
            lease: { holder: this.lease.holder, ttlMs: this.lease.ttlMs },
          },
        },
        onProgress,
        this.options.logger,
      ),
    );
    try {
      // The threads open their stores before this one writes anything: this thread's first writes (the registry, the
      // drop of retired builds) would otherwise hold the embedded read store's lock while they open it.
      await Promise.all(started.map((thread) => thread.ready));
      // Every group runs to its end, whatever another one meets; then the first failure in `names` order is thrown.
      const cpuBefore = threadCpuSeconds();
      const settled = await Promise.allSettled([
        this.rebuildHere(here, onProgress).then((outcomes) => {
          const cpuAfter = threadCpuSeconds();
          return { outcomes, cpuSeconds: cpuBefore === null || cpuAfter === null ? null : cpuAfter - cpuBefore };
        }),
        ...started.map((thread) => thread.finished),
      ]);
      const outcomes = new Map<string, ThreadOutcome>();
      const threadsUsed: RebuiltThread[] = [];
      let crashed: unknown = null;
      for (const [i, result] of settled.entries()) {
        const group = groups[i]!;
        if (result.status === 'fulfilled') {
          group.forEach((name, j) => outcomes.set(name, result.value.outcomes[j]!));
          threadsUsed.push({ projections: group, cpuSeconds: result.value.cpuSeconds });
        } else crashed ??= result.reason;
      }
      this.events.emit('rebuilt', threadsUsed);
      for (const name of names) {
        const outcome = outcomes.get(name);
        if (outcome?.failure) throw new ProjectionFailedError(name, outcome.failure);
      }
      if (crashed) throw crashed;
      if (elsewhere.length > 0)
        this.options.logger?.info(
          { projections: names, threads: threadsUsed },
          'projections rebuilt on several threads',
        );
      return names.map((name) => outcomes.get(name)!.build!);
    } finally {
      await Promise.all(started.map((thread) => thread.terminate()));
    }
  }

  /**
   * @internal `rebuildMany`'s work on this thread (and a rebuild thread's): the projections side by side over one read
   * of the log; each one's outcome in `names` order, a failure included.
   */
  async rebuildHere(names: readonly string[], onProgress?: (progress: BuildProgress) => void): Promise<RunOutcome[]> {
    const projections = names.map((name) => this.projectionNamed(name));
    const shared = new SharedLogRead(this.log);
    const views = projections.map(() => shared.view());
    const runners = projections.map((projection, i) =>
      this.runnerFor(projection, views[i]!.log, { onProgress, writeBehind: projections.length === 1 }),
    );
    try {
      for (const [i, runner] of runners.entries()) {
        await runner.start({ rebuild: true, stopWhenSwitched: true });
        // Standing by for another process's rebuild of it: the others do not keep batches for it meanwhile.
        if (!runner.leased) views[i]!.leave();
      }
      const outcomes = await Promise.all(runners.map((runner) => runner.finished));
      if (outcomes.every((o) => o.failure === null))
        this.options.logger?.info(
          { projections: names, logReads: shared.reads },
          'projections rebuilt over one read of the log',
        );
      return outcomes;
    } finally {
      await Promise.all(runners.map((runner) => runner.stop()));
    }
  }

  private storageFull(projection: string, detail: string | null): void {
    const before = this.waitingForSpace.size;
    if (detail === null) this.waitingForSpace.delete(projection);
    else this.waitingForSpace.add(projection);
    if (before === 0 && detail !== null) this.options.onStorageFull?.(detail);
    if (before > 0 && this.waitingForSpace.size === 0) this.options.onStorageFull?.(null);
  }

  /**
   * A build whose checkpoint the log does not hold (past its head, or another event there: the log lost events or was
   * restored from an older copy while the read store was kept) would serve cases that no longer exist and never show
   * new ones. It is dropped and built again from the first event; readers get "being built" (503) until then.
   */
  private async discardBuildsAheadOfLog(): Promise<void> {
    const head = await this.log.headPosition();
    for (const built of await buildPositions(this.store, this.projections)) {
      const problem = await positionNotInLog(this.log, built, head);
      if (problem === null) continue;
      this.options.logger?.warn(
        {
          projection: built.projection,
          build: built.build,
          which: built.which,
          checkpoint: built.position,
          checkpointEventId: built.eventId ?? null,
          head,
          problem,
        },
        'a read model is ahead of its event log: it is dropped and rebuilt from the log',
      );
      // Readers are turned away first, and the build listed as retired, before anything is dropped: killed between
      // a drop and this write, the start after found the build still active without its checkpoint, resumed it in place
      // from the first event, and served it as it grew. Killed after this write, the next start drops it as retired.
      // Applied to the entry as it is when written (another process's runner may have written it since it was read
      // here): the build is taken from the place it holds then, active or under way (its runner may have switched to
      // it meanwhile); one that holds neither was retired already, by whoever replaced it.
      const retiredAt = new Date().toISOString();
      const isBuilt = (b: Build | null | undefined) =>
        b?.version === built.build.version && b.generation === built.build.generation;
      await this.registry.update(built.projection, (e) =>
        !isBuilt(e.active) && !isBuilt(e.building)
          ? e
          : {
              ...e,
              active: isBuilt(e.active) ? null : e.active,
              building: isBuilt(e.building) ? null : e.building,
              state: 'stopped',
              failure: null,
              retired: retiredWith(e, built.build, retiredAt),
            },
      );
      const collections = await this.store.listCollections();
      const prefix = physicalCollection(built.projection, built.build, '');
      await this.store.drop(
        collections.filter((c) => c.startsWith(prefix)),
        built.key,
      );
      await this.registry.update(built.projection, (e) => ({
        ...e,
        retired: (e.retired ?? []).filter((b) => checkpointKey(built.projection, b) !== built.key),
      }));
    }
  }

  async stop(): Promise<void> {
    this.options.workShare?.stop();
    await Promise.all([...this.runners.values()].map((r) => r.stop()));
  }
}

const keptKey = (collection: string, id: string): string => `${collection}\u0000${id}`;

/** A read of the store that failed under a projection's apply: retried, unlike an error of the projection itself. */
class StoreReadError extends Error {
  constructor(override readonly cause: unknown) {
    super(cause instanceof Error ? cause.message : String(cause));
  }
}

/** A batch's event as the runner's subscription delivers it: decoded, or as stored (decoded as it is applied). */
type LoggedEvent = RecordedEvent | RawRecordedEvent;

/** The promise's value if it settles within `ms`, else null (it goes on; the caller keeps it). */
async function settledWithin<T>(promise: Promise<T>, ms: number): Promise<T | null> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([promise, new Promise<null>((resolve) => (timer = setTimeout(() => resolve(null), ms)))]);
  } finally {
    clearTimeout(timer);
  }
}

/** A batch applied: its writes, how many events it read, its first and last, and whether one asks for a purge. */
interface AppliedBatch {
  ops: WriteOp[];
  events: number;
  firstEvent: LoggedEvent;
  lastEvent: LoggedEvent;
  purges: boolean;
}

interface RunnerSizes {
  batchSize: number;
  catchUpBatchSize: number;
  buildBatchSize: number;
  keptDocuments: number;
  readChunkSize: number;
}

export interface RunOutcome {
  build: Build;
  failure: ProjectionFailure | null;
}

class ProjectionRunner {
  private subscription: UndecodedEventSubscription | null = null;
  private stopping = false;
  private build!: Build;
  private building = false;
  private stopWhenSwitched = false;
  /** Whether full catch-up batches may be committed on the store's writer thread while the next is folded. */
  writeBehind = true;
  /**
   * What an erasure's batch leaves to do once it is committed: drop the model's retired builds (never scrubbed; after a
   * short grace, since another process's read may have resolved one a moment before) and purge the store's files of
   * the old versions. Owed until done: tried again while readers keep the store from it (they hold an older snapshot).
   * After a drop of a retired build of a model holding personal data, the purge alone is owed (`position` and
   * `retiredAfter` null).
   */
  private erasureOwed: { position: number | null; retiredAfter: number | null; warned: boolean } | null = null;
  private erasureTimer: NodeJS.Timeout | null = null;
  /** The round under way: one at a time, a caller meanwhile joins it (and what it owes is taken by the next round). */
  private settling: Promise<void> | null = null;

  /** Settles what an erasure owes (`position`: the erasure's batch, just committed); never throws. */
  private settleErasure(position?: number): Promise<void> {
    if (position !== undefined)
      this.erasureOwed = {
        position,
        retiredAfter: Date.now() + ERASURE_RETIRED_GRACE_MS,
        warned: this.erasureOwed?.warned ?? false,
      };
    this.settling ??= this.settleRound().finally(() => {
      this.settling = null;
    });
    return this.settling;
  }

  /** Settles the purge a drop of retired builds owes: their documents' old page images left in no page of the store. */
  private settleDropped(): Promise<void> {
    this.erasureOwed ??= { position: null, retiredAfter: null, warned: false };
    return this.settleErasure();
  }

  private async settleRound(): Promise<void> {
    const owed = this.erasureOwed;
    if (!owed || this.stopping) return;
    if (this.erasureTimer) clearTimeout(this.erasureTimer);
    this.erasureTimer = null;
    let retryInMs = PURGE_OWED_RETRY_MS;
    try {
      let purged = !this.store.purgeOldVersions;
      for (let attempt = 1; !purged && attempt <= PURGE_ATTEMPTS && !this.stopping; attempt++) {
        purged = await this.store.purgeOldVersions!();
        if (!purged) await new Promise((resolve) => setTimeout(resolve, PURGE_RETRY_MS));
      }
      const retiredDue = owed.retiredAfter === null || Date.now() >= owed.retiredAfter;
      if (owed.retiredAfter !== null && retiredDue && !this.stopping) await this.retireDue(true);
      // Dropping the retired builds wrote too: their pages go the same way.
      if (purged && retiredDue && (!this.store.purgeOldVersions || (await this.store.purgeOldVersions()))) {
        if (owed.warned)
          this.logger?.info({ projection: this.projection.name, position: owed.position }, 'erased data purged');
        if (this.erasureOwed === owed) {
          this.erasureOwed = null;
          return;
        }
        retryInMs = 0;
      } else if (purged) retryInMs = Math.max(0, (owed.retiredAfter ?? 0) - Date.now());
      else if (!owed.warned) {
        owed.warned = true;
        this.logger?.warn(
          { projection: this.projection.name, position: owed.position, attempts: PURGE_ATTEMPTS },
          'erased data: readers keep the read store from purging the old versions; tried again every second until done',
        );
      }
    } catch (error) {
      this.logger?.warn({ projection: this.projection.name, err: error }, 'erased data: purge failed; tried again');
    }
    if (this.stopping) return;
    this.erasureTimer = setTimeout(() => {
      this.erasureTimer = null;
      void this.settleErasure();
    }, retryInMs);
    this.erasureTimer.unref();
  }

  private resolveFinished!: (outcome: RunOutcome) => void;
  readonly finished = new Promise<RunOutcome>((resolve) => (this.resolveFinished = resolve));
  private loop: Promise<void> = Promise.resolve();
  /** Registry writes of this runner, one after another (the retirement timer writes beside the loop). */
  private registryWrites: Promise<unknown> = Promise.resolve();
  private retireTimer: NodeJS.Timeout | null = null;

  constructor(
    private readonly projection: Projection,
    private readonly log: EventLog,
    private readonly store: ReadStore,
    private readonly registry: ProjectionRegistry,
    private readonly sizes: RunnerSizes,
    private readonly events: EventEmitter,
    private readonly logger?: Pick<Logger, 'info' | 'warn' | 'error'>,
    private readonly onProgress?: (progress: BuildProgress) => void,
    private readonly workShare?: WorkShare,
    private readonly retiredGraceMs: number = RETIRED_BUILD_GRACE_MS,
    private readonly onStorageFull?: (detail: string | null) => void,
    private readonly retry: { initialMs: number; maxMs: number } = PROJECTION_RETRY,
    private readonly leaseOptions: { holder: string; ttlMs: number; takeOverAtStart?: boolean } = {
      holder: `${hostname()}:${process.pid}:${randomUUID().slice(0, 8)}`,
      ttlMs: PROJECTION_LEASE_TTL_MS,
    },
  ) {}

  /**
   * `projection:<name>` for the runner readers follow; `rebuild:<name>` for a rebuild beside it (one at a time too). The
   * build under way is written under one lease only: the one the registry records with it (see prepare).
   */
  private leaseName: string | null = null;
  /** The lease of another runner writing the build this one would write: it waits until that build is switched or the lease lapses. */
  private waitingFor: string | null = null;
  private lease: Lease | null = null;
  private renewTimer: NodeJS.Timeout | null = null;
  /** Set when a renewal found the lease taken over: the loop stops and the runner stands by. */
  private leaseLost = false;
  private startedOnce = false;
  private renewFailing = false;

  /** What every write of this runner carries: refused by the store once another runner took the lease. */
  private get fence(): WriteBatch['fence'] {
    return this.lease && this.leaseName ? { lease: this.leaseName, token: this.lease.token } : undefined;
  }

  /** Whether this runner projects: it holds its projection's lease, and no other runner's lease holds its build. */
  get leased(): boolean {
    return this.lease !== null && this.waitingFor === null;
  }

  /** Takes or renews the lease; true when this runner holds it. */
  private async tryLease(takeOver = false): Promise<boolean> {
    const lease = await this.store.acquireLease(this.leaseName!, this.leaseOptions.holder, this.leaseOptions.ttlMs, {
      takeOver,
    });
    if (!lease) return false;
    if (!this.lease || this.lease.token !== lease.token)
      this.logger?.info(
        { projection: this.projection.name, lease: this.leaseName, holder: lease.holder, token: lease.token },
        'projection lease taken: this runner projects',
      );
    this.lease = lease;
    this.leaseLost = false;
    if (!this.renewTimer) {
      this.renewTimer = setInterval(() => void this.renew(), Math.max(10, Math.floor(this.leaseOptions.ttlMs / 3)));
      this.renewTimer.unref();
    }
    return true;
  }

  private async renew(): Promise<void> {
    if (!this.lease || this.stopping) return;
    try {
      const lease = await this.store.acquireLease(this.leaseName!, this.leaseOptions.holder, this.leaseOptions.ttlMs);
      if (lease && lease.token === this.lease?.token) {
        this.lease = lease;
        this.renewFailing = false;
        return;
      }
      this.logger?.warn(
        { projection: this.projection.name, lease: this.leaseName, token: this.lease?.token },
        'projection lease lost to another runner: this one stops projecting and stands by',
      );
      this.leaseLost = true;
      this.dropLease();
      await this.subscription?.stop().catch(() => undefined);
    } catch (error) {
      // The store did not answer: the writes are fenced anyway, so the runner goes on until a write or renewal is refused.
      // Logged once until a renewal goes through again (a full disk would otherwise log every 5 s).
      if (!this.renewFailing)
        this.logger?.warn(
          { projection: this.projection.name, err: error },
          'projection lease renewal failed; retried every third of the lease',
        );
      this.renewFailing = true;
    }
  }

  private dropLease(): void {
    this.lease = null;
    if (this.renewTimer) clearInterval(this.renewTimer);
    this.renewTimer = null;
  }

  /** Waits until this runner holds the lease (another runner's expired or was released), or it is stopped. */
  private async standBy(): Promise<void> {
    this.logger?.info(
      { projection: this.projection.name, lease: this.leaseName },
      'another runner projects this projection: standing by',
    );
    while (!this.stopping) {
      if (await this.tryLease().catch(() => false)) return;
      // At most a second apart: a lease given up by a clean stop is taken over at once, not at its expiry.
      await this.sleep(Math.min(1_000, Math.max(10, Math.floor(this.leaseOptions.ttlMs / 3))));
    }
  }

  private async sleep(ms: number): Promise<void> {
    await new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, ms);
      this.retryWake = () => {
        clearTimeout(timer);
        resolve();
      };
    });
    this.retryWake = null;
  }

  /** See RuntimeOptions.keptDocuments: physical collection and id → the document as stored (null: deleted). */
  private readonly kept = new Map<string, ReadDocument | null>();

  /**
   * The batch the store's writer thread is committing while this runner folds the next (WriteBatch.behind): its
   * documents are kept already; a read of the store for one of them (one no longer kept) waits for the commit.
   */
  private uncommitted: {
    keys: ReadonlySet<string>;
    committed: Promise<void>;
    batch: WriteBatch;
    position: number;
  } | null = null;

  /** Before reading these documents from the store: one the batch being committed writes is read after its commit. */
  private async beforeStoreRead(name: string, ids: Iterable<string>): Promise<void> {
    const uncommitted = this.uncommitted;
    if (!uncommitted) return;
    for (const id of ids) {
      if (uncommitted.keys.has(keptKey(name, id))) {
        await uncommitted.committed;
        return;
      }
    }
  }

  /**
   * Waits for the batch being committed, then tells what follows its commit (read-your-writes waits on 'projected').
   * Throws what refused it: the runner then starts over from the checkpoint, dropping what it kept of it.
   */
  private async confirmWrite(): Promise<void> {
    const uncommitted = this.uncommitted;
    if (!uncommitted) return;
    try {
      await uncommitted.committed;
    } catch (error) {
      if ((error as { code?: unknown }).code !== 'SQLITE_FULL' || this.stopping) {
        this.uncommitted = null;
        throw error;
      }
      // A full disk is waited out as for any write; the batch is written again as it was serialised.
      await this.whileStorageFull(() => this.store.write(uncommitted.batch));
    }
    this.uncommitted = null;
    await this.stored(uncommitted.position);
  }

  /** After a batch's commit: a retry's recovery is over, and what waits on 'projected' (read-your-writes) is told. */
  private async stored(position: number): Promise<void> {
    await this.recovered();
    this.events.emit('projected', { projection: this.projection.name, position } satisfies ProjectedEvent);
  }

  /** Attempts that failed in a row on something outside the projection; 0 once a batch or the head is reached again. */
  private failedAttempts = 0;
  private retryWake: (() => void) | null = null;

  private exclusive<T>(write: () => Promise<T>): Promise<T> {
    const next = this.registryWrites.then(write, write);
    this.registryWrites = next.catch(() => undefined);
    return next;
  }

  /**
   * Chooses the build and starts projecting when this runner gets the projection's lease; otherwise returns at once
   * and stands by in the background until the lease is free.
   */
  async start(options: { rebuild: boolean; stopWhenSwitched?: boolean }): Promise<void> {
    this.stopWhenSwitched = options.stopWhenSwitched ?? false;
    this.leaseName ??= `${options.rebuild ? 'rebuild' : 'projection'}:${this.projection.name}`;
    const held = await this.tryLease(
      !options.rebuild && !this.startedOnce && this.leaseOptions.takeOverAtStart === true,
    );
    this.startedOnce = true;
    const prepared = held && (await this.prepare(options.rebuild));
    this.loop = this.supervise(prepared, options.rebuild);
  }

  /**
   * Chooses the build this runner writes: the active one of its version, the one under way (resumed from its
   * checkpoint), or a new generation. False, choosing nothing, while another runner's lease holds the build under way
   * (the rebuild command's, beside the service's runner, or the reverse): two writers of one build would each skip the
   * other's batches and apply effects twice. The runner waits then (supervise) and chooses again. A new generation is
   * recorded only over the entry it was chosen from (ProjectionRegistry.replace): where another runner wrote the entry
   * meanwhile (the rebuild command recording its build under way as the service's runner starts), it chooses again.
   */
  private async prepare(rebuild: boolean, attempt = 1): Promise<boolean> {
    const options = { rebuild };
    const { name, version } = this.projection;
    const entry = await this.registry.get(name);
    const underWay = entry?.building ?? null;
    if (!options.rebuild && entry?.active?.version === version) {
      this.build = { version, generation: entry.active.generation };
      this.building = false;
      // A build of another version this runner's own lease was writing (a deploy rolled back before it switched) is
      // resumed by nobody while this runner follows the active one, and held the rebuild command waiting for that
      // lease, renewed here, for ever: it is dropped as a retired build.
      if (
        underWay &&
        underWay.version !== version &&
        (underWay.lease === undefined || underWay.lease === this.leaseName)
      )
        await this.registry.update(
          name,
          (e) =>
            e.building?.version === underWay.version && e.building.generation === underWay.generation
              ? { ...e, building: null, retired: retiredWith(e, underWay, new Date().toISOString()) }
              : e,
          this.fence,
        );
    } else if (underWay && entry?.state !== 'failed' && !(await this.mayWrite(underWay))) {
      // A warning: the rebuild command shows no info line, and an operator waiting on it must see why.
      if (this.waitingFor === null)
        this.logger?.warn(
          { projection: name, build: underWay, lease: underWay.lease },
          'another runner writes the build under way: this runner waits until it is switched or its lease lapses',
        );
      this.waitingFor = underWay.lease!;
      return false;
    } else if (
      !options.rebuild &&
      underWay?.version === version &&
      (underWay.lease === undefined || underWay.lease === this.leaseName)
    ) {
      // A build of this version was under way when the process stopped: resume it from its checkpoint. One another
      // runner's lease wrote is not resumed, even once that lease lapsed: a new generation replaces it (see below).
      this.build = { version, generation: underWay.generation };
      this.building = true;
    } else {
      // Chosen from this entry, and from the leases looked at: not to be applied to another entry (its generation may
      // be taken, its build under way another runner's).
      const read = entry ?? emptyEntry(name);
      const build: Build = { version, generation: read.lastGeneration + 1 };
      const now = new Date().toISOString();
      let chooseAgain = false;
      try {
        await this.registry.replace(
          read,
          {
            ...read,
            building: { ...build, startedAt: now, lease: this.leaseName! },
            lastGeneration: build.generation,
            // The build under way this one replaces (a rebuild killed or failed half-way, a version never switched to)
            // is dropped as a retired build: left out of the registry, its collections stayed in the store for good.
            retired: retiredWith(read, read.building, now),
          },
          this.fence,
        );
      } catch (error) {
        if (!(error instanceof RevisionConflictError) || attempt >= REGISTRY_UPDATE_ATTEMPTS) throw error;
        chooseAgain = true;
      }
      // The lapsed lease of the build replaced, taken in mayWrite, is let go: kept, the next rebuild waited out its TTL.
      // (Choosing again takes it again, if that build is still the one to replace.)
      if (underWay?.lease !== undefined && underWay.lease !== this.leaseName)
        await this.store
          .releaseLease(underWay.lease, `${this.leaseOptions.holder}/${this.leaseName}`)
          .catch(() => undefined);
      if (chooseAgain) {
        this.logger?.info(
          { projection: name, attempt },
          'another runner wrote the registry entry as this one chose its build: it chooses again',
        );
        return this.prepare(rebuild, attempt + 1);
      }
      this.build = build;
      this.building = true;
    }
    if (this.waitingFor !== null)
      this.logger?.info(
        { projection: name, lease: this.waitingFor },
        "the other runner's build is switched or its lease lapsed: this runner projects",
      );
    this.waitingFor = null;
    await this.setState(this.building ? (entry?.active ? 'rebuilding' : 'catching-up') : 'catching-up');
    for (const [collection, specs] of Object.entries(this.projection.indexes ?? {})) {
      await this.store.ensureIndexes(physicalCollection(name, this.build, collection), specs);
    }
    await this.retireDue();
    this.logger?.info({ projection: name, build: this.build, building: this.building }, 'projection starting');
    return true;
  }

  /**
   * Whether this runner may write (resume or replace) the build under way: one its own lease writes, or one recorded
   * before leases were, or one whose writer's lease has lapsed (or whose writer stopped on an event it cannot apply,
   * the registry's state `failed`: it writes nothing more). That lease is taken here, so its writer, if it only
   * paused (SIGSTOP, a long pause of its host), is refused its next write (its token is no longer the lease's). Taken
   * as this runner's lease's holder: a rebuild in this runtime (the same holder) holds it against this runner too.
   */
  private async mayWrite(underWay: NonNullable<RegistryEntry['building']>): Promise<boolean> {
    if (underWay.lease === undefined || underWay.lease === this.leaseName) return true;
    const holder = `${this.leaseOptions.holder}/${this.leaseName}`;
    return (await this.store.acquireLease(underWay.lease, holder, this.leaseOptions.ttlMs)) !== null;
  }

  /** Whether the registry still lists this runner's build as under way by its lease (nobody took it over meanwhile). */
  private async stillBuilding(): Promise<boolean> {
    const underWay = (await this.registry.get(this.projection.name))?.building;
    return (
      underWay?.version === this.build.version &&
      underWay.generation === this.build.generation &&
      (underWay.lease === undefined || underWay.lease === this.leaseName)
    );
  }

  /**
   * Runs the loop again whenever it stops on something outside the projection: a write the store refused, a
   * subscription the log ended (a server restart or leader change). Each attempt starts over from the stored
   * checkpoint with a new subscription, after a back-off (RuntimeOptions.retry); the registry says `retrying` with the
   * error meanwhile. An event the projection cannot apply is not retried: it ends as `failed` (see finish).
   */
  private async supervise(prepared: boolean, rebuild: boolean): Promise<void> {
    const { name } = this.projection;
    for (;;) {
      try {
        if (!this.lease) {
          await this.standBy();
          if (this.stopping) return this.finish(null);
          // The runner that had the lease may have switched builds meanwhile: choose again. A rebuild keeps its own
          // unless a runner under another lease took it over while this one's had lapsed.
          if (!rebuild || (prepared && !(await this.stillBuilding()))) prepared = false;
        }
        if (!prepared) {
          prepared = await this.prepare(rebuild);
          if (!prepared) {
            await this.sleep(Math.min(1_000, Math.max(10, Math.floor(this.leaseOptions.ttlMs / 3))));
            if (this.stopping) return this.finish(null);
            continue;
          }
        }
        await this.run();
        return;
      } catch (error) {
        await this.subscription?.stop().catch(() => undefined);
        this.subscription = null;
        if (this.stopping) return this.finish(null);
        if (error instanceof CheckpointAheadError) {
          // The build was stored past this batch by another writer: what this runner kept of its batches is not what
          // the store holds. Nothing of the batch was written; the runner starts over from the stored checkpoint.
          this.logger?.warn(
            { projection: name, err: error },
            'projection batch refused: the stored checkpoint is past it; the runner starts over from there',
          );
          continue;
        }
        if (error instanceof LeaseLostError || this.leaseLost) {
          // Another runner has the projection now; whatever this one had not written is its to write.
          this.logger?.warn(
            { projection: name, lease: this.leaseName, err: error },
            'projection lease lost: nothing more is written by this runner; it stands by',
          );
          this.dropLease();
          this.leaseLost = false;
          continue;
        }
        this.failedAttempts += 1;
        const delay = Math.min(this.retry.initialMs * 2 ** (this.failedAttempts - 1), this.retry.maxMs);
        const message = error instanceof Error ? error.message : String(error);
        const now = new Date();
        this.logger?.warn(
          { projection: name, err: error, attempt: this.failedAttempts, retryInMs: delay },
          'projection stopped on a store or subscription error: it resumes from its checkpoint',
        );
        const retry: ProjectionRetry = {
          error: message,
          attempt: this.failedAttempts,
          since: now.toISOString(),
          nextAttemptAt: new Date(now.getTime() + delay).toISOString(),
        };
        // The store may be what fails: the state is told when it can be, the retry does not wait on it.
        await this.exclusive(() =>
          this.registry.update(
            name,
            (e) => ({ ...e, state: 'retrying', retry: { ...retry, since: e.retry?.since ?? retry.since } }),
            this.fence,
          ),
        ).catch(() => undefined);
        await this.sleep(delay);
        if (this.stopping) return this.finish(null);
      }
    }
  }

  /** After a successful batch or on reaching the head: a retrying projection says what it is doing again. */
  private async recovered(): Promise<void> {
    if (this.failedAttempts === 0) return;
    this.failedAttempts = 0;
    this.logger?.info({ projection: this.projection.name }, 'projection resumed after retrying');
    await this.setState(this.building ? 'rebuilding' : 'catching-up');
  }

  async stop(): Promise<void> {
    this.stopping = true;
    if (this.retireTimer) clearTimeout(this.retireTimer);
    if (this.erasureTimer) clearTimeout(this.erasureTimer);
    await this.settling;
    this.retryWake?.();
    await this.subscription?.stop();
    await this.loop;
    const held = this.lease !== null;
    this.dropLease();
    // Given up at once, so a runner standing by elsewhere need not wait for the expiry.
    if (held && this.leaseName)
      await this.store.releaseLease(this.leaseName, this.leaseOptions.holder).catch(() => undefined);
  }

  private get key(): string {
    return checkpointKey(this.projection.name, this.build);
  }

  /** A runner far behind catches up in these; a build readers do not see yet in the largest (buildBatchSize). */
  private largeBatchSize(): number {
    return this.building ? this.sizes.buildBatchSize : this.sizes.catchUpBatchSize;
  }

  private async run(): Promise<void> {
    // A batch an earlier run left committing ends first, so the checkpoint read next is the one it leaves.
    await this.uncommitted?.committed.catch(() => undefined);
    this.uncommitted = null;
    let position = (await this.store.getCheckpoint(this.key))?.position ?? 0;
    let head = await this.log.headPosition();
    let eventsApplied = 0;
    if (this.building && position >= head) {
      await this.switchToBuild();
      if (this.stopWhenSwitched) return this.finish(null);
    } else if (!this.building && position >= head) {
      await this.setState('live');
    }
    // What was kept from an earlier run may not be what the store holds now (another runner had the lease meanwhile).
    this.kept.clear();
    // A runner far behind takes large batches until it reaches the head; following the log, its batches are what is new.
    let batchSize = head - position > this.sizes.batchSize ? this.largeBatchSize() : this.sizes.batchSize;
    subscribe: for (;;) {
      // Undecoded where the log serves it so: each event is decoded as it is applied, so a batch's parsed events do not
      // all stay alive (and get copied by every scavenge) until the batch is written.
      // A batch gathers reads of readChunkSize events, each applied before the next is made (RuntimeOptions.readChunkSize).
      const chunkSize = Math.min(batchSize, this.sizes.readChunkSize);
      const subscription = this.log.subscribeToAll({ after: position, maxBatchSize: chunkSize, undecoded: true });
      this.subscription = subscription;
      const chunks = subscription[Symbol.asyncIterator]();
      // A read a batch began and did not wait for (its events had not arrived) opens the next batch.
      let carried: Promise<IteratorResult<readonly LoggedEvent[]>> | null = null;
      for (;;) {
        let opened: IteratorResult<readonly LoggedEvent[]> | null = await (carried ?? chunks.next());
        carried = null;
        if (opened.done || this.stopping) break;
        if (opened.value.length === 0) continue;
        if (!this.building && (await this.supersededBy()) !== null) {
          // Another process switched readers to a newer build of this version: follow it.
          await this.confirmWrite();
          await subscription.stop();
          return this.restartOnActive();
        }
        const started = performance.now();
        const waitedBefore = this.waitedForSpaceMs;
        let batch: AppliedBatch;
        // The head is looked up again once a batch at most: a batch following a log that keeps growing would otherwise
        // gather until it is full, and hold back what it applied (read-your-writes waits on its checkpoint).
        let headLookedUp = false;
        // Time spent reading the batch's further reads is not the projection's work (the work share's measure).
        let readingMs = 0;
        let filled = false;
        try {
          batch = await this.applyBatch(async (after) => {
            if (opened) {
              // Handed over, then forgotten here: each read's stored text is garbage once its events are applied.
              const first = opened.value as readonly LoggedEvent[];
              opened = null;
              return first;
            }
            const reading = performance.now();
            try {
              // Another read only while a whole one fits in the batch (a batch never exceeds its size; following the
              // log, a batch is one read) and the log is known to hold more: a read at the head would wait for the
              // next append, holding back the events applied so far. (A short read is no sign of the head: a server's
              // subscription hands over what has arrived.)
              if (this.stopping) return null;
              if (after.events + chunkSize > batchSize) {
                // A full last read says the log may hold more: the batch counts as full (written behind, or a
                // following runner that ran ahead switches to catch-up batches).
                filled = after.last === chunkSize;
                return null;
              }
              if (after.position >= head && !headLookedUp) {
                headLookedUp = true;
                head = await this.log.headPosition();
              }
              if (after.position >= head) return null;
              // Not there at once (a server's subscription that has not delivered yet, or a head that counts events it
              // never delivers, a server's system events): the read opens the next batch, and this one is written.
              const next = chunks.next();
              const arrived = await settledWithin(next, GATHER_WAIT_MS);
              if (arrived === null || arrived.done) {
                carried = next;
                return null;
              }
              return arrived.value.length > 0 ? arrived.value : null;
            } catch (error) {
              // The log's failure, not the event's: the supervisor takes the subscription up again.
              throw error instanceof Error ? error : new Error(String(error));
            } finally {
              readingMs += performance.now() - reading;
            }
          });
        } catch (failure) {
          // A store read that failed is the store's fault, not the event's: the supervisor retries it.
          if (failure instanceof Error) throw failure;
          // What was applied before the event that failed is stored, as when batches were committed one by one.
          await this.confirmWrite();
          await subscription.stop();
          return this.finish(failure as ProjectionFailure);
        }
        const { ops, lastEvent } = batch;
        const last = lastEvent.position;
        const checkpointEvent: CheckpointEvent = {
          _id: this.key,
          position: last,
          recordedAt: lastEvent.recordedAt.toISOString(),
        };
        ops.push({ op: 'upsert', collection: CHECKPOINT_EVENTS_COLLECTION, doc: checkpointEvent });
        const write: WriteBatch = {
          ops,
          checkpoint: { projection: this.key, position: last, eventId: lastEvent.id },
          fence: this.fence,
          // Nobody reads a build before the switch: its change records would serve no reader's copy.
          ...(this.building ? { unreadPrefix: physicalCollection(this.projection.name, this.build, '') } : {}),
        };
        // Batches commit in their order, and one refused stops the runner before a later one is stored.
        await this.confirmWrite();
        // Catching up, with more of the log known to be there: the store's writer thread commits this batch while the
        // next one is folded (its documents are kept, so the next batch takes them from here).
        // A batch that must leave no earlier version behind is committed here, then purged from the store's files.
        const { purges } = batch;
        const behind =
          !purges &&
          this.writeBehind &&
          this.store.writesBehind &&
          batchSize >= this.sizes.catchUpBatchSize &&
          filled &&
          last < head;
        if (behind) {
          const committed = this.store.write(Object.assign(write, { behind: true }));
          // Awaited by confirmWrite; a refusal meanwhile is not an unhandled rejection.
          committed.catch(() => undefined);
          this.uncommitted = {
            keys: new Set(ops.map((op) => keptKey(op.collection, op.op === 'upsert' ? op.doc._id : op.id))),
            committed,
            batch: write,
            position: last,
          };
        } else await this.whileStorageFull(() => this.store.write(write));
        if (purges) await this.settleErasure(last);
        this.keep(ops);
        position = last;
        eventsApplied += batch.events;
        if (!behind) await this.stored(position);
        // Time spent waiting out a full disk is not work: the work share would otherwise rest for it many times over.
        const worked = performance.now() - started - readingMs - (this.waitedForSpaceMs - waitedBefore);
        // The head is looked up again when this batch may have reached it, and after every batch for a work share,
        // which measures how fast the log grows. A full batch short of the last head known has not reached it.
        if (this.workShare || !filled || position >= head) head = await this.log.headPosition();
        if (position >= head) {
          if (this.building) {
            await this.switchToBuild();
            if (this.stopWhenSwitched) {
              this.onProgress?.({
                projection: this.projection.name,
                build: this.build,
                position,
                head,
                events: eventsApplied,
              });
              await subscription.stop();
              return this.finish(null);
            }
          } else {
            await this.setState('live');
          }
        }
        this.onProgress?.({
          projection: this.projection.name,
          build: this.build,
          position,
          head,
          events: eventsApplied,
        });
        await this.workShare?.after({
          projection: this.projection.name,
          events: batch.events,
          workMs: worked,
          oldestRecordedAt: batch.firstEvent.recordedAt,
          head,
          headNow: () => this.log.headPosition(),
        });
        if (batchSize < this.sizes.catchUpBatchSize && filled) {
          // A full batch while following the log: it ran ahead (a burst of commands). Caught up in large batches.
          batchSize = this.largeBatchSize();
          await subscription.stop();
          continue subscribe;
        }
      }
      await subscription.stop();
      break;
    }
    await this.confirmWrite();
    if (!this.stopping) throw new Error('the event log ended the subscription');
    await this.setState('stopped').catch(() => undefined);
    await this.finish(null);
  }

  private async restartOnActive(): Promise<void> {
    await this.start({ rebuild: false, stopWhenSwitched: this.stopWhenSwitched });
  }

  private async supersededBy(): Promise<RegistryEntry | null> {
    const entry = await this.registry.get(this.projection.name);
    const active = entry?.active;
    return active &&
      (active.version !== this.build.version || active.generation !== this.build.generation) &&
      active.version === this.projection.version
      ? entry
      : null;
  }

  /**
   * Applies a batch's events a read at a time, each read as `read` gives it (null: the batch ends there; the first is
   * never null), its documents prefetched before its events are applied; then the projection's flush. The batch's
   * writes come back.
   */
  private async applyBatch(
    read: (after: { events: number; last: number; position: number }) => Promise<readonly LoggedEvent[] | null>,
  ): Promise<AppliedBatch> {
    const pending = new Map<string, Map<string, ReadDocument | null>>();
    // Looked up on every get and upsert of every event: each collection's name is checked and composed once a batch.
    const physicalNames = new Map<string, string>();
    const physical = (collection: string) => {
      let name = physicalNames.get(collection);
      if (name !== undefined) return name;
      if (!this.projection.collections.includes(collection)) {
        throw new Error(
          `writes to collection "${collection}", which it does not declare (declared: ${this.projection.collections.join(', ')})`,
        );
      }
      name = physicalCollection(this.projection.name, this.build, collection);
      physicalNames.set(collection, name);
      return name;
    };
    const fetched = new Map<string, Map<string, ReadDocument | null>>();
    const prefetched = new Map<string, Set<string>>();
    const ctx: ProjectionContext = {
      get: async <T extends ReadDocument>(collection: string, id: string) => {
        const name = physical(collection);
        const staged = pending.get(name);
        if (staged?.has(id)) return (staged.get(id) ?? null) as T | null;
        // A prefetched or kept copy is handed out once (the projection may change it in place); a second get reads again.
        const read = fetched.get(name);
        if (read?.has(id)) {
          const doc = read.get(id) ?? null;
          read.delete(id);
          return doc as T | null;
        }
        const kept = this.kept.get(keptKey(name, id));
        if (kept !== undefined) {
          this.kept.delete(keptKey(name, id));
          return kept as T | null;
        }
        return this.beforeStoreRead(name, [id])
          .then(() => this.store.collection<T>(name).get(id))
          .catch((error: unknown) => {
            throw new StoreReadError(error);
          });
      },
      load: async (collection, ids) => {
        const name = physical(collection);
        const store = this.store.collection(name);
        if (!store.getMany) return;
        const staged = pending.get(name);
        const read = fetched.get(name) ?? new Map<string, ReadDocument | null>();
        const missing = [...new Set(ids)].filter(
          (id) => !staged?.has(id) && !read.has(id) && !this.kept.has(keptKey(name, id)),
        );
        if (missing.length === 0) return;
        const found = await this.beforeStoreRead(name, missing)
          .then(() => store.getMany!(missing))
          .catch((error: unknown) => {
            throw new StoreReadError(error);
          });
        for (const id of missing) read.set(id, found.get(id) ?? null);
        fetched.set(name, read);
      },
      upsert: (collection, doc) => {
        const name = physical(collection);
        if (!pending.has(name)) pending.set(name, new Map());
        pending.get(name)!.set(doc._id, doc);
      },
      delete: (collection, id) => {
        const name = physical(collection);
        if (!pending.has(name)) pending.set(name, new Map());
        pending.get(name)!.set(id, null);
      },
    };
    const failed = (event: LoggedEvent, error: unknown): ProjectionFailure | Error => {
      if (error instanceof StoreReadError)
        return error.cause instanceof Error ? error.cause : new Error(String(error.cause));
      return {
        position: event.position,
        eventId: event.id,
        eventType: event.type,
        streamId: event.streamId,
        error: error instanceof Error ? error.message : String(error),
        failedAt: new Date().toISOString(),
      };
    };
    let lastHandled: LoggedEvent | null = null;
    const purgesOn = this.projection.purgesOn ?? [];
    let purges = false;
    let events = 0;
    let chunk = await read({ events: 0, last: 0, position: 0 });
    if (!chunk?.length) throw new Error('a batch opens with a read of at least one event');
    const firstEvent = chunk[0]!;
    let lastEvent = firstEvent;
    while (chunk) {
      await this.prefetch(chunk, physical, fetched, prefetched);
      for (const event of chunk) {
        if (purgesOn.length > 0 && purgesOn.includes(event.type)) purges = true;
        if (!handles(this.projection, event.type)) continue;
        lastHandled = event;
        // Outside the try: stored text that does not parse is the log's fault, as it was when the subscription decoded it.
        const decoded = isUndecoded(event) ? decodeRaw(event) : event;
        try {
          await this.projection.apply(decoded, ctx);
        } catch (error) {
          throw failed(event, error);
        }
      }
      events += chunk.length;
      lastEvent = chunk[chunk.length - 1]!;
      chunk = await read({ events, last: chunk.length, position: lastEvent.position });
    }
    if (lastHandled && this.projection.flush) {
      try {
        await this.projection.flush(ctx);
      } catch (error) {
        throw failed(lastHandled, error);
      }
    }
    const ops: WriteOp[] = [];
    for (const [collection, docs] of pending) {
      for (const [id, doc] of docs)
        ops.push(doc ? { op: 'upsert', collection, doc } : { op: 'delete', collection, id });
    }
    return { ops, events, firstEvent, lastEvent, purges };
  }

  /**
   * The documents a chunk of a batch will read, as its projection declares them, read into `fetched` in one call per
   * collection where the store can; each at most once a batch (`prefetched`), whether or not taken since.
   */
  private async prefetch(
    chunk: readonly LoggedEvent[],
    physical: (collection: string) => string,
    fetched: Map<string, Map<string, ReadDocument | null>>,
    prefetched: Map<string, Set<string>>,
  ): Promise<void> {
    if (!this.projection.prefetch) return;
    const wanted = new Map<string, Set<string>>();
    for (const event of chunk) {
      if (!handles(this.projection, event.type)) continue;
      for (const { collection, id } of this.projection.prefetch(event)) {
        const name = physical(collection);
        if (!wanted.has(name)) wanted.set(name, new Set());
        wanted.get(name)!.add(id);
      }
    }
    for (const [name, wantedIds] of wanted) {
      const collection = this.store.collection(name);
      if (!collection.getMany) continue;
      let done = prefetched.get(name);
      if (!done) prefetched.set(name, (done = new Set()));
      // A document an earlier chunk asked for was read then, or kept: the projection may hold (and have changed) it.
      const ids = [...wantedIds].filter((id) => !done.has(id) && !this.kept.has(keptKey(name, id)));
      for (const id of wantedIds) done.add(id);
      if (ids.length === 0) continue;
      await this.beforeStoreRead(name, ids);
      const found = await collection.getMany(ids);
      let read = fetched.get(name);
      if (!read) fetched.set(name, (read = new Map()));
      for (const id of ids) read.set(id, found.get(id) ?? null);
    }
  }

  /** Keeps a stored batch's documents (null: deleted) as the next batches' copies, the oldest dropped past the limit. */
  private keep(ops: readonly WriteOp[]): void {
    const limit = this.sizes.keptDocuments;
    if (limit <= 0) return;
    for (const op of ops) {
      if (op.collection === CHECKPOINT_EVENTS_COLLECTION) continue;
      const key = keptKey(op.collection, op.op === 'upsert' ? op.doc._id : op.id);
      // Deleted and set again: a Map iterates in insertion order, so the first entries are the least recently written.
      this.kept.delete(key);
      this.kept.set(key, op.op === 'upsert' ? op.doc : null);
    }
    if (this.kept.size <= limit) return;
    let excess = this.kept.size - limit;
    for (const key of this.kept.keys()) {
      if (excess-- <= 0) break;
      this.kept.delete(key);
    }
  }

  private async switchToBuild(): Promise<void> {
    const { name } = this.projection;
    const now = new Date().toISOString();
    let previous: Build | null = null;
    await this.exclusive(() =>
      this.registry.update(
        name,
        (e) => {
          previous = e.active;
          const retiring =
            previous && (previous.version !== this.build.version || previous.generation !== this.build.generation);
          const ours = e.building?.version === this.build.version && e.building.generation === this.build.generation;
          return {
            ...e,
            active: { ...this.build, switchedAt: now },
            // Another runner's build under way, begun meanwhile, stays listed as such.
            building: ours ? null : e.building,
            state: 'live',
            failure: null,
            retired: retiredWith(e, retiring ? previous : null, now),
          };
        },
        this.fence,
      ),
    );
    this.building = false;
    this.logger?.info(
      { projection: name, build: this.build, previous, dropAfterMs: this.retiredGraceMs },
      'projection switched to its new build',
    );
    // Readers have switched: an old build that cannot be dropped now (the store busy with another thread's long write,
    // past its busy timeout) stays listed as retired and is dropped at the next start. Thrown, it sent a rebuild's
    // runner, switched already, back through the retry to follow the log live, and its rebuild never returned.
    await this.retireDue().catch((error: unknown) =>
      this.logger?.warn({ projection: name, err: error }, 'dropping a retired build failed; retried at the next start'),
    );
  }

  /**
   * Drops the retired builds whose grace period has passed, and sets a timer for the next one. Runs at start and at
   * each switch, so a build retired by a process that stopped (the rebuild command) is dropped by the next runner.
   * `all`: every retired build now, grace or not (an erasure: a retired build was never scrubbed, and nobody reads it).
   * A model holding personal data is purged of the dropped builds' old page images afterwards (settleDropped).
   */
  private async retireDue(all = false): Promise<void> {
    const { name } = this.projection;
    if (this.retireTimer) clearTimeout(this.retireTimer);
    this.retireTimer = null;
    const retired = (await this.registry.get(name))?.retired ?? [];
    const now = Date.now();
    const dropAt = new Map<Build, number>();
    for (const build of retired) dropAt.set(build, await this.dropAt(build));
    const due = retired.filter((b) => all || dropAt.get(b)! <= now);
    if (due.length > 0) {
      const collections = await this.store.listCollections();
      for (const build of due) {
        const prefix = physicalCollection(name, build, '');
        await this.store.drop(
          collections.filter((c) => c.startsWith(prefix)),
          checkpointKey(name, build),
        );
        await this.store.write({
          ops: [{ op: 'delete', collection: CHECKPOINT_EVENTS_COLLECTION, id: checkpointKey(name, build) }],
        });
        this.logger?.info(
          { projection: name, build },
          all
            ? 'retired build dropped at once: an erasure scrubbed the active one'
            : dropAt.get(build)! < Date.parse(build.retiredAt) + this.retiredGraceMs
              ? 'retired build dropped: an erasure the log records came after it, and it holds what the erasure scrubbed'
              : 'retired build dropped after its grace period',
        );
      }
      const dropped = new Set(due.map((b) => checkpointKey(name, b)));
      await this.exclusive(() =>
        this.registry.update(name, (e) => ({
          ...e,
          retired: (e.retired ?? []).filter((b) => !dropped.has(checkpointKey(name, b))),
        })),
      );
      // An erasure's settling purges after its own drop.
      if (!all && this.projection.purgesOn?.length) await this.settleDropped();
    }
    const waiting = retired.filter((b) => !due.includes(b)).map((b) => dropAt.get(b)! - now);
    if (waiting.length > 0 && !this.stopping) {
      this.retireTimer = setTimeout(
        () => {
          this.retireDue().catch((error: unknown) =>
            this.logger?.warn(
              { projection: name, err: error },
              'dropping a retired build failed; retried at the next start',
            ),
          );
        },
        Math.min(...waiting),
      );
      this.retireTimer.unref();
    }
  }

  /**
   * When a retired build is dropped: after the grace period, or, where the log records an erasure after the build's
   * checkpoint (a model holding personal data, rebuilt after a CLI erasure made with the service stopped: the new build
   * has the erasure in it, so no runner meets it again), after an erasure's short grace: the build still holds what
   * the erasure scrubbed, which must not stay for the grace period.
   */
  private async dropAt(build: Build & { retiredAt: string }): Promise<number> {
    const graceEnds = Date.parse(build.retiredAt) + this.retiredGraceMs;
    const purgesOn = this.projection.purgesOn ?? [];
    if (purgesOn.length === 0) return graceEnds;
    const position = (await this.store.getCheckpoint(checkpointKey(this.projection.name, build)))?.position ?? 0;
    const [erasure] = await this.log.readAll({ after: position, maxCount: 1, filter: { eventTypes: purgesOn } });
    return erasure ? Math.min(graceEnds, Date.parse(build.retiredAt) + ERASURE_RETIRED_GRACE_MS) : graceEnds;
  }

  private async setState(state: ProjectionState): Promise<void> {
    const entry = await this.registry.get(this.projection.name);
    if (entry?.state === state && entry.failure === null && !entry.retry) return;
    if (state !== 'retrying') this.failedAttempts = 0;
    await this.whileStorageFull(() =>
      this.exclusive(() =>
        this.registry.update(
          this.projection.name,
          (e) => ({ ...e, state, failure: state === 'failed' ? e.failure : null, retry: null }),
          this.fence,
        ),
      ),
    );
  }

  /**
   * A full disk under the read store is waited out, not a reason to stop projecting for good: the write is tried
   * again (after 0.5 s, doubling to 2 s) until it goes through or the runner is stopped; logged once each way.
   */
  private waitedForSpaceMs = 0;

  private async whileStorageFull<T>(write: () => Promise<T>): Promise<T> {
    let delay = 500;
    let told = false;
    for (;;) {
      try {
        const result = await write();
        if (told) {
          this.logger?.info({ projection: this.projection.name }, 'the read store has space again: projecting resumes');
          this.onStorageFull?.(null);
        }
        return result;
      } catch (error) {
        if ((error as { code?: unknown }).code !== 'SQLITE_FULL' || this.stopping) throw error;
        if (!told) {
          this.logger?.error(
            { projection: this.projection.name, problem: (error as Error).message },
            "the read store's disk is full: projecting waits until space is freed",
          );
          this.onStorageFull?.((error as Error).message);
        }
        told = true;
        await new Promise((resolve) => setTimeout(resolve, delay));
        this.waitedForSpaceMs += delay;
        delay = Math.min(delay * 2, 2_000);
      }
    }
  }

  private async finish(failure: ProjectionFailure | null): Promise<void> {
    if (failure) {
      this.logger?.error(
        { projection: this.projection.name, failure },
        'projection stopped on an event it cannot apply',
      );
      await this.registry
        .update(this.projection.name, (e) => ({ ...e, state: 'failed', failure }), this.fence)
        .catch(() => undefined);
    }
    this.resolveFinished({ build: this.build, failure });
  }
}
