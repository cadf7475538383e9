import { EventEmitter } from 'node:events';
import { performance } from 'node:perf_hooks';
import type { Logger } from 'pino';
import type { EventLog, EventSubscription, RecordedEvent } from '../modules/event-log/event-log.port';
import type { ReadDocument, ReadStore, WriteOp } from '../modules/read-store/read-store.port';
import { checkpointKey, handles, physicalCollection, type Build, type Projection, type ProjectionContext } from './projection';
import { ProjectionRegistry, type ProjectionFailure, type ProjectionState, type RegistryEntry } from './projection-registry';
import type { WorkShare } from './work-share';
import { buildPositions, positionNotInLog } from './build-positions';

export interface RuntimeOptions {
  /** Events per batch, and so the most events between two checkpoints. */
  batchSize?: number;
  logger?: Pick<Logger, 'info' | 'warn' | 'error'>;
  /** Shared by every projection of the runtime: how much of the time they work while they cannot keep up with the log. */
  workShare?: WorkShare;
  /** Told when a projection's write finds the read store's disk full (with SQLite's message), and when one goes through again (null). */
  onStorageFull?: (detail: string | null) => void;
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
  constructor(readonly projection: string, readonly failure: ProjectionFailure) {
    super(`projection ${projection} failed at position ${failure.position} (${failure.eventType} in ${failure.streamId}): ${failure.error}`);
  }
}

/**
 * Runs projections against the event log: each from its own checkpoint, in batches, catching up then
 * following live. One projection failing stops only that projection.
 */
export class ProjectionRuntime {
  /** Emits 'projected' ({ projection, position }) after every stored batch: read-your-writes waits on it. */
  readonly events = new EventEmitter();
  private readonly registry: ProjectionRegistry;
  private readonly runners = new Map<string, ProjectionRunner>();
  private readonly batchSize: number;
  /** The projections waiting out a full read store: the runtime reports the fault while any is. */
  private readonly waitingForSpace = new Set<string>();

  constructor(
    private readonly log: EventLog,
    private readonly store: ReadStore,
    private readonly projections: readonly Projection[],
    private readonly options: RuntimeOptions = {},
  ) {
    this.registry = new ProjectionRegistry(store);
    this.batchSize = options.batchSize ?? 1000;
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
    for (const projection of this.projections) {
      const runner = new ProjectionRunner(projection, this.log, this.store, this.registry, this.batchSize, this.events, this.options.logger, undefined, this.options.workShare, (detail) => this.storageFull(projection.name, detail));
      this.runners.set(projection.name, runner);
      await runner.start({ rebuild: false });
    }
  }

  /**
   * Builds a fresh generation of one projection from the first event, beside the active one, and switches
   * readers to it when it has caught up. Resolves after the switch.
   */
  async rebuild(name: string, onProgress?: (progress: BuildProgress) => void): Promise<Build> {
    const projection = this.projections.find((p) => p.name === name);
    if (!projection) throw new Error(`unknown projection ${name}; known: ${this.projections.map((p) => p.name).join(', ')}`);
    const runner = new ProjectionRunner(projection, this.log, this.store, this.registry, this.batchSize, this.events, this.options.logger, onProgress);
    await runner.start({ rebuild: true, stopWhenSwitched: true });
    const outcome = await runner.finished;
    if (outcome.failure) throw new ProjectionFailedError(name, outcome.failure);
    return outcome.build;
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
        { projection: built.projection, build: built.build, which: built.which, checkpoint: built.position, checkpointEventId: built.eventId ?? null, head, problem },
        'a read model is ahead of its event log: it is dropped and rebuilt from the log',
      );
      const collections = await this.store.listCollections();
      const prefix = physicalCollection(built.projection, built.build, '');
      await this.store.drop(collections.filter((c) => c.startsWith(prefix)), built.key);
      await this.registry.update(built.projection, (e) => ({ ...e, [built.which]: null, state: 'stopped', failure: null }));
    }
  }

  async stop(): Promise<void> {
    this.options.workShare?.stop();
    await Promise.all([...this.runners.values()].map((r) => r.stop()));
  }
}

interface RunOutcome {
  build: Build;
  failure: ProjectionFailure | null;
}

class ProjectionRunner {
  private subscription: EventSubscription | null = null;
  private stopping = false;
  private build!: Build;
  private building = false;
  private stopWhenSwitched = false;
  private resolveFinished!: (outcome: RunOutcome) => void;
  readonly finished = new Promise<RunOutcome>((resolve) => (this.resolveFinished = resolve));
  private loop: Promise<void> = Promise.resolve();

  constructor(
    private readonly projection: Projection,
    private readonly log: EventLog,
    private readonly store: ReadStore,
    private readonly registry: ProjectionRegistry,
    private readonly batchSize: number,
    private readonly events: EventEmitter,
    private readonly logger?: Pick<Logger, 'info' | 'warn' | 'error'>,
    private readonly onProgress?: (progress: BuildProgress) => void,
    private readonly workShare?: WorkShare,
    private readonly onStorageFull?: (detail: string | null) => void,
  ) {}

  async start(options: { rebuild: boolean; stopWhenSwitched?: boolean }): Promise<void> {
    this.stopWhenSwitched = options.stopWhenSwitched ?? false;
    const { name, version } = this.projection;
    const entry = await this.registry.get(name);
    if (!options.rebuild && entry?.active?.version === version) {
      this.build = { version, generation: entry.active.generation };
      this.building = false;
    } else if (!options.rebuild && entry?.building?.version === version) {
      // A build of this version was under way when the process stopped: resume it from its checkpoint.
      this.build = { version, generation: entry.building.generation };
      this.building = true;
    } else {
      const generation = (entry?.lastGeneration ?? 0) + 1;
      this.build = { version, generation };
      this.building = true;
      await this.registry.update(name, (e) => ({ ...e, building: { ...this.build, startedAt: new Date().toISOString() }, lastGeneration: generation }));
    }
    await this.setState(this.building ? (entry?.active ? 'rebuilding' : 'catching-up') : 'catching-up');
    this.logger?.info({ projection: name, build: this.build, building: this.building }, 'projection starting');
    this.loop = this.run().catch((error: unknown) => {
      this.logger?.error({ projection: name, err: error }, 'projection loop crashed');
    });
  }

  async stop(): Promise<void> {
    this.stopping = true;
    await this.subscription?.stop();
    await this.loop;
  }

  private get key(): string {
    return checkpointKey(this.projection.name, this.build);
  }

  private async run(): Promise<void> {
    let position = (await this.store.getCheckpoint(this.key))?.position ?? 0;
    let head = await this.log.headPosition();
    let eventsApplied = 0;
    if (this.building && position >= head) {
      await this.switchToBuild();
      if (this.stopWhenSwitched) return this.finish(null);
    } else if (!this.building && position >= head) {
      await this.setState('live');
    }
    this.subscription = this.log.subscribeToAll({ after: position, maxBatchSize: this.batchSize });
    for await (const batch of this.subscription) {
      if (this.stopping) break;
      if (!this.building && (await this.supersededBy()) !== null) {
        // Another process switched readers to a newer build of this version: follow it.
        await this.subscription.stop();
        return this.restartOnActive();
      }
      const started = performance.now();
      const waitedBefore = this.waitedForSpaceMs;
      let ops: WriteOp[];
      try {
        ops = await this.applyBatch(batch);
      } catch (failure) {
        await this.subscription.stop();
        return this.finish(failure as ProjectionFailure);
      }
      const lastEvent = batch[batch.length - 1]!;
      const last = lastEvent.position;
      await this.whileStorageFull(() => this.store.write({ ops, checkpoint: { projection: this.key, position: last, eventId: lastEvent.id } }));
      position = last;
      eventsApplied += batch.length;
      this.events.emit('projected', { projection: this.projection.name, position } satisfies ProjectedEvent);
      // Time spent waiting out a full disk is not work: the work share would otherwise rest for it many times over.
      const worked = performance.now() - started - (this.waitedForSpaceMs - waitedBefore);
      // The head is looked up again when this batch may have reached it, and after every batch for a work share,
      // which measures how fast the log grows. A full batch short of the last head known has not reached it.
      if (this.workShare || batch.length < this.batchSize || position >= head) head = await this.log.headPosition();
      if (position >= head) {
        if (this.building) {
          await this.switchToBuild();
          if (this.stopWhenSwitched) {
            this.onProgress?.({ projection: this.projection.name, build: this.build, position, head, events: eventsApplied });
            await this.subscription.stop();
            return this.finish(null);
          }
        } else {
          await this.setState('live');
        }
      }
      this.onProgress?.({ projection: this.projection.name, build: this.build, position, head, events: eventsApplied });
      await this.workShare?.after({ projection: this.projection.name, events: batch.length, workMs: worked, oldestRecordedAt: batch[0]!.recordedAt, head });
    }
    if (this.stopping) await this.setState('stopped').catch(() => undefined);
    await this.finish(null);
  }

  private async restartOnActive(): Promise<void> {
    await this.start({ rebuild: false, stopWhenSwitched: this.stopWhenSwitched });
  }

  private async supersededBy(): Promise<RegistryEntry | null> {
    const entry = await this.registry.get(this.projection.name);
    const active = entry?.active;
    return active && (active.version !== this.build.version || active.generation !== this.build.generation) && active.version === this.projection.version ? entry : null;
  }

  private async applyBatch(batch: RecordedEvent[]): Promise<WriteOp[]> {
    const pending = new Map<string, Map<string, ReadDocument | null>>();
    const physical = (collection: string) => {
      if (!this.projection.collections.includes(collection)) {
        throw new Error(`writes to collection "${collection}", which it does not declare (declared: ${this.projection.collections.join(', ')})`);
      }
      return physicalCollection(this.projection.name, this.build, collection);
    };
    const ctx: ProjectionContext = {
      get: async <T extends ReadDocument>(collection: string, id: string) => {
        const name = physical(collection);
        const staged = pending.get(name);
        if (staged?.has(id)) return (staged.get(id) ?? null) as T | null;
        return this.store.collection<T>(name).get(id);
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
    for (const event of batch) {
      if (!handles(this.projection, event.type)) continue;
      try {
        await this.projection.apply(event, ctx);
      } catch (error) {
        const failure: ProjectionFailure = {
          position: event.position,
          eventId: event.id,
          eventType: event.type,
          streamId: event.streamId,
          error: error instanceof Error ? error.message : String(error),
          failedAt: new Date().toISOString(),
        };
        throw failure;
      }
    }
    const ops: WriteOp[] = [];
    for (const [collection, docs] of pending) {
      for (const [id, doc] of docs) ops.push(doc ? { op: 'upsert', collection, doc } : { op: 'delete', collection, id });
    }
    return ops;
  }

  private async switchToBuild(): Promise<void> {
    const { name } = this.projection;
    const previous = (await this.registry.get(name))?.active ?? null;
    await this.registry.update(name, (e) => ({ ...e, active: { ...this.build, switchedAt: new Date().toISOString() }, building: null, state: 'live', failure: null }));
    this.building = false;
    this.logger?.info({ projection: name, build: this.build, previous }, 'projection switched to its new build');
    if (previous && (previous.version !== this.build.version || previous.generation !== this.build.generation)) {
      const collections = await this.store.listCollections();
      const prefix = physicalCollection(name, previous, '');
      await this.store.drop(collections.filter((c) => c.startsWith(prefix)), checkpointKey(name, previous));
    }
  }

  private async setState(state: ProjectionState): Promise<void> {
    const entry = await this.registry.get(this.projection.name);
    if (entry?.state === state && entry.failure === null) return;
    await this.whileStorageFull(() => this.registry.update(this.projection.name, (e) => ({ ...e, state, failure: state === 'failed' ? e.failure : null })));
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
          this.logger?.error({ projection: this.projection.name, problem: (error as Error).message }, 'the read store\'s disk is full: projecting waits until space is freed');
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
      this.logger?.error({ projection: this.projection.name, failure }, 'projection stopped on an event it cannot apply');
      await this.registry.update(this.projection.name, (e) => ({ ...e, state: 'failed', failure })).catch(() => undefined);
    }
    this.resolveFinished({ build: this.build, failure });
  }
}
