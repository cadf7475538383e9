/**
 * Reading a projection's model at the HTTP edge: read-your-writes (wait, bounded, for the position a
 * command returned, else 503 with Retry-After), 503 while a first build runs, and the staleness stamp
 * every read answer carries (the log position its model reflects and when that event was recorded).
 */
import { ProblemError } from '../shared/problem/problem';
import type { EventLog } from '../modules/event-log/event-log.port';
import { positionPastHead } from '../modules/event-log/event-log.problems';
import type { ReadCollection, ReadDocument } from '../modules/read-store/read-store.port';
import { ReadModelNotReadyError, ReadModelTimeoutError, type ActiveModel, type ReadModels } from './read-models';

/** Seconds a client should wait before retrying a read the model could not serve yet. */
export const RETRY_AFTER_SECONDS = 1;

export interface Staleness {
  /** The last log position the model reflects. */
  position: number;
  /** When the event at that position was recorded; null for an empty model. */
  at: string | null;
}

/** The active model as a read sees it: its position, the store's change mark then, and its collections. */
export interface ModelRead {
  position: number;
  /** The active build's version; null while the first build runs. */
  version: number | null;
  mark: string | null;
  collection<T extends ReadDocument = ReadDocument>(name: string): ReadCollection<T>;
}

export class ModelAccess {
  private readonly reads = new WeakMap<ActiveModel, ModelRead>();

  constructor(
    private readonly readModels: ReadModels,
    private readonly projection: string,
    private readonly waitMs: number,
    private readonly log?: EventLog,
  ) {}

  /** Waits for `after` when given; then the position the active build reflects. */
  async position(after?: number): Promise<number> {
    await this.reach(after);
    return this.readModels.position(this.projection);
  }

  /**
   * Waits for `after` when given; then the active build's position and its collections, from one look at the
   * registry (what a read of one document needs, read in that order: the document reflects at least the position).
   */
  async read(after?: number): Promise<ModelRead> {
    // Most reads name no position: no wait to set up (a promise and a turn of the queue on the busiest read).
    if (after !== undefined) await this.reach(after);
    return this.readNow();
  }

  /** `read` without a promise when no position is awaited and the active model is known at the store's current mark. */
  readNow(after?: number): ModelRead | Promise<ModelRead> {
    if (after !== undefined) return this.read(after);
    const model = this.readModels.activeNow(this.projection);
    return model instanceof Promise ? model.then((known) => this.readOf(known)) : this.readOf(model);
  }

  /**
   * The read of a model, made once per model (the registry keeps one while the store's mark stands), with one handle
   * per collection: a handle is names and closures over the store, and the mark moves on any write (a dropped or
   * rebuilt collection included), after which the registry gives a new model.
   */
  private readOf(model: ActiveModel): ModelRead {
    let read = this.reads.get(model);
    if (!read) {
      const handles = new Map<string, ReadCollection>();
      const collection = <T extends ReadDocument = ReadDocument>(name: string): ReadCollection<T> => {
        let handle = handles.get(name);
        if (!handle) {
          try {
            handle = model.collection(name);
          } catch (error) {
            throw asProblem(error, this.projection);
          }
          handles.set(name, handle);
        }
        return handle as ReadCollection<T>;
      };
      read = { position: model.position, version: model.version, mark: model.mark, collection };
      this.reads.set(model, read);
    }
    return read;
  }

  private async reach(after: number | undefined): Promise<void> {
    if (after !== undefined) {
      // Most reads name a position the model has: one look at it, no wait set up.
      if ((await this.readModels.position(this.projection)) >= after) return;
      // A position past the log's head is none a command or a read ever answered: no wait reaches it, so it is refused at
      // once instead of held for the wait and answered "retry later".
      const head = await this.readModels.headPosition();
      if (after > head) throw positionPastHead(after, head);
      try {
        await this.readModels.waitFor(this.projection, after, this.waitMs);
      } catch (error) {
        if (error instanceof ReadModelTimeoutError) {
          throw new ProblemError(
            503,
            'read-model-behind',
            'The read model has not caught up yet',
            `the ${this.projection} read model reached log position ${error.reached}, not ${after}, within ${this.waitMs} ms; retry later`,
            undefined,
            { projection: this.projection, requestedPosition: after, reachedPosition: error.reached },
            { 'retry-after': String(RETRY_AFTER_SECONDS) },
          );
        }
        throw error;
      }
    }
  }

  /** The position and the recording time of its event, as kept with the checkpoint (no read of the log). */
  async staleness(after?: number): Promise<Staleness> {
    const position = await this.position(after);
    return this.readModels.lastEvent(this.projection, position);
  }

  async headPosition(): Promise<number> {
    return this.log ? this.log.headPosition() : 0;
  }

  /** The position of the newest event in streams with this prefix after `after`; 0 when there is none. */
  async latestPosition(streamPrefix: string, after: number): Promise<number> {
    if (!this.log) return 0;
    let latest = after;
    let found = 0;
    for (;;) {
      const page = await this.log.readAll({
        after: latest,
        maxCount: 1000,
        filter: { streamPrefixes: [streamPrefix] },
      });
      if (page.length === 0) return found;
      latest = found = page[page.length - 1]!.position;
    }
  }

  async collection<T extends ReadDocument = ReadDocument>(name: string): Promise<ReadCollection<T>> {
    try {
      return await this.readModels.collection<T>(this.projection, name);
    } catch (error) {
      throw asProblem(error, this.projection);
    }
  }
}

/** A model whose first build still runs is a 503 with Retry-After; other errors pass as they are. */
function asProblem(error: unknown, projection: string): unknown {
  if (!(error instanceof ReadModelNotReadyError)) return error;
  return new ProblemError(
    503,
    'read-model-not-ready',
    'The read model is being built',
    error.message,
    undefined,
    { projection },
    { 'retry-after': String(RETRY_AFTER_SECONDS) },
  );
}
