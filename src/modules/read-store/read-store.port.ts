/**
 * The read-model store port: named collections of JSON documents, queried with MongoDB's
 * query language. Adapters: embedded `sqlite` (documents in SQLite, queried with mingo) and
 * `mongodb`. Every adapter passes `read-store.contract.ts`.
 */

/** A document; `_id` is its key inside its collection. */
export interface ReadDocument {
  _id: string;
  [field: string]: unknown;
}

/** MongoDB query / sort / projection syntax, passed through unchanged to both adapters. */
export type Filter = Record<string, unknown>;
export type Sort = Record<string, 1 | -1>;
export type Pipeline = Record<string, unknown>[];

/**
 * An index a projection declares on one of its collections: fields in order (dotted paths allowed), each ascending
 * (1) or descending (-1), as MongoDB's createIndex takes them. A list filtering on a prefix of its fields and sorting
 * by the rest then costs what its page costs, not what the collection holds.
 */
export interface IndexSpec {
  key: Record<string, 1 | -1>;
}

export interface CollectionOptions {
  indexes?: readonly IndexSpec[];
}

export interface FindOptions {
  sort?: Sort;
  skip?: number;
  limit?: number;
  projection?: Record<string, 0 | 1>;
}

export type WriteOp =
  { op: 'upsert'; collection: string; doc: ReadDocument } | { op: 'delete'; collection: string; id: string };

/** A projection's progress: the position of the last event whose effects are stored. */
export interface Checkpoint {
  projection: string;
  position: number;
  /** The id of the event at `position`, when the writer recorded it: tells a log restored or rewritten since from the one projected. */
  eventId?: string;
  updatedAt: Date;
}

export interface WriteBatch {
  ops: readonly WriteOp[];
  /**
   * When present, stored together with `ops` so a crash never separates them
   * (one transaction in SQLite; transaction or position guard in MongoDB).
   * A checkpoint never moves backwards: a batch whose checkpoint is not after the stored one
   * writes nothing and is refused with CheckpointAheadError (its writer's documents are not what the store holds).
   */
  checkpoint?: { projection: string; position: number; eventId?: string };
  /**
   * When present, the batch is written only while this lease still carries this token, checked inside the same
   * transaction: a writer whose lease was taken over (it paused past its expiry, a rolling deploy overlapped) writes
   * nothing and gets LeaseLostError.
   */
  fence?: { lease: string; token: number };
  /**
   * When present, a compare-and-set of these documents: the batch is written only while each is stored with this
   * revision (its numeric `revision` field; 0 for a document without one, or none at all), checked inside the same
   * transaction as the fence and the checkpoint. Otherwise nothing is written and RevisionConflictError names the
   * document: its writer read it before another writer changed it. Each must be a document the batch upserts once
   * (the write that makes a concurrent one conflict, where a store's isolation is snapshot isolation); the upsert
   * carries the next revision itself. For writes of a few documents read before (the projection registry), not for a
   * projection's batches.
   */
  expect?: ReadonlyArray<ExpectedRevision>;
  /**
   * The prefix of the collections of a build no reader has been switched to yet (the projection runtime's build under
   * way): a store may keep, for them, less of what keeps readers' copies of a collection up to date (the embedded
   * store records one change per collection and batch instead of one per document; a reader then reads it whole).
   */
  unreadPrefix?: string;
  /**
   * The caller goes on while the batch commits (where the store `writesBehind`): `write` takes the documents before it
   * returns (serialised: the caller may change them from then on) and settles when the batch is committed or refused;
   * batches written so commit in the order given. The same batch object written again (a retry) is stored as it was
   * taken the first time. Other stores write it as any batch.
   */
  behind?: boolean;
}

/** A document a batch writes only if it is stored with `revision` (WriteBatch.expect). */
export interface ExpectedRevision {
  collection: string;
  id: string;
  revision: number;
}

/**
 * A lease on a named piece of work (a projection): one holder at a time, until `expiresAt` unless renewed. `token`
 * grows at every change of holder, so it fences: a write carrying an older token is refused.
 */
export interface Lease {
  name: string;
  holder: string;
  token: number;
  expiresAt: Date;
}

/** A write fenced with a lease token that is no longer the lease's: another holder took it over. */
export class LeaseLostError extends Error {
  override readonly name = 'LeaseLostError';
  constructor(
    readonly lease: string,
    readonly token: number,
    readonly current: { holder: string; token: number } | null,
  ) {
    super(
      `the lease ${lease} is no longer held with token ${token}${current ? ` (now ${current.holder}, token ${current.token})` : ''}: nothing was written`,
    );
  }
}

/**
 * A batch refused because the stored checkpoint is at or past the batch's: another writer stored that much already
 * (or the batch is a replay). Nothing of it was written; its writer starts over from the stored checkpoint, since
 * what it computed the batch from is not what the store holds.
 */
export class CheckpointAheadError extends Error {
  override readonly name = 'CheckpointAheadError';
  constructor(
    readonly projection: string,
    readonly position: number,
    readonly stored: number,
  ) {
    super(
      `the checkpoint of ${projection} is stored at ${stored}, not before this batch's ${position}: nothing was written`,
    );
  }
}

/**
 * A batch refused because a document it expected at one revision (WriteBatch.expect) is stored at another: another
 * writer changed it since it was read. Nothing of the batch was written; its writer reads the document again.
 * `stored`: the revision found, where the store tells it (null: unknown).
 */
export class RevisionConflictError extends Error {
  override readonly name = 'RevisionConflictError';
  constructor(
    readonly collection: string,
    readonly id: string,
    readonly expected: number,
    readonly stored: number | null,
  ) {
    super(
      `${collection}/${id} is stored at ${stored === null ? 'another revision' : `revision ${stored}`}, not ${expected}: nothing was written`,
    );
  }
}

export interface ReadCollection<T extends ReadDocument = ReadDocument> {
  get(id: string): Promise<T | null>;
  /**
   * The documents of these ids that exist, in one round trip (MongoDB) or one statement (SQLite).
   * The projection runtime reads a batch's documents with it before applying the batch.
   */
  getMany?(ids: readonly string[]): Promise<Map<string, T>>;
  /**
   * A number that changes whenever the document's content changes (a write of the same content may leave it),
   * learnt without reading the document; null when there is no such document, or when the store cannot tell
   * (then a reader must read the document itself). Readers that keep something derived from a document check it
   * with this.
   */
  versionOf(id: string): Promise<number | null>;
  find(filter?: Filter, options?: FindOptions): Promise<T[]>;
  count(filter?: Filter): Promise<number>;
  aggregate<R = Record<string, unknown>>(pipeline: Pipeline): Promise<R[]>;
}

export interface ReadStore {
  readonly kind: 'sqlite' | 'mongodb';
  /**
   * True where `write` commits a batch marked `behind` on another thread (the embedded store's writer thread): the
   * caller may fold its next batch meanwhile.
   */
  readonly writesBehind?: boolean;
  /** A collection; `indexes` are created (MongoDB) or kept in memory (SQLite) the first time they are named. */
  collection<T extends ReadDocument = ReadDocument>(name: string, options?: CollectionOptions): ReadCollection<T>;
  /** Atomic (see WriteBatch). */
  write(batch: WriteBatch): Promise<void>;
  getCheckpoint(projection: string): Promise<Checkpoint | null>;
  /**
   * Takes the lease for `holder`, or renews it when `holder` has it: granted when it is free, expired, or already
   * this holder's; the token grows when the holder changes. null while another holder's lease runs. Atomic.
   * `takeOver`: granted even then (the caller knows by other means that the holder is gone: the embedded store's
   * role lock, which the operating system drops with a dead process); the old holder's writes are fenced off all the same.
   */
  acquireLease(name: string, holder: string, ttlMs: number, options?: { takeOver?: boolean }): Promise<Lease | null>;
  /** Gives the lease up at once, when `holder` has it (a clean stop: the next holder need not wait for the expiry). */
  releaseLease(name: string, holder: string): Promise<void>;
  /** Removes the collections and the checkpoint (used when an old projection version is retired). */
  drop(collections: readonly string[], projection?: string): Promise<void>;
  /**
   * This process's readers have left the collections named with this prefix (a build they were switched away from): a
   * store that keeps copies of collections in memory (the embedded one) lets them go, and keeps none of them from now
   * on (a request that looked the build up before still reads it, from the store). Stores that keep none need not.
   */
  forget?(collectionPrefix: string): void;
  listCollections(): Promise<string[]>;
  /**
   * Creates these indexes on the collection when absent (idempotent): a projection's builds declare the indexes its
   * queries need. Stores that answer queries without server-side indexes may take it as a no-op.
   */
  ensureIndexes(collection: string, specs: readonly IndexSpec[]): Promise<void>;
  /**
   * A mark that changes whenever a write to the store commits, from any connection or process; null when the
   * store cannot tell. Readers may keep what they read while the mark stays the same.
   */
  changeMark(): string | null;
  /**
   * After a write that removed what must not survive anywhere (a personal-data erasure's scrub): leaves no earlier
   * version of any written document in the store's files (SQLite: the WAL copied back and truncated, secure_delete
   * having zeroed freed cells). Answers false, soon, when readers on an older snapshot kept it from finishing: the
   * caller tries again. Stores whose old versions are not in our control (MongoDB: its oplog) have none.
   */
  purgeOldVersions?(): Promise<boolean>;
  ping(): Promise<void>;
  close(): Promise<void>;
}

export const READ_STORE = Symbol('READ_STORE');
