import { statSync } from 'node:fs';
import type Database from 'better-sqlite3';
import type { Statement } from 'better-sqlite3';
import { aggregate as mingoAggregate, find as mingoFind } from 'mingo';
import { openSqliteFile, type SqliteDatabase } from '../../../shared/sqlite/open-sqlite-file';
import { OtherWrites } from '../../../shared/sqlite/other-writes';
import { purgeOldPageImages } from '../../../shared/sqlite/purge-wal';
import {
  LeaseLostError,
  type Checkpoint,
  type CollectionOptions,
  type Filter,
  type FindOptions,
  type IndexSpec,
  type Lease,
  type Pipeline,
  type ReadCollection,
  type ReadDocument,
  type ReadStore,
  type WriteBatch,
} from '../read-store.port';
import { MemoryIndex, planQuery, runPlan } from './memory-index';
import { WalCheckpointer, type CheckpointerOptions } from '../../event-log/sqlite/wal-checkpointer';
import {
  BatchStatements,
  serialiseBatch,
  setUpWriterConnection,
  WHOLE_COLLECTION_CHANGED,
  writeBatchInTransaction,
  type SerialisedBatch,
} from './sqlite-batch-write';
import { ReadStoreWriter } from './read-store-writer';
import { checkCollectionName, checkDocument, checkExpectations } from '../read-store.validation';

/** 'RGLR': marks a file as a reglament read store. */
export const READ_STORE_APPLICATION_ID = 0x52474c52;

const MIGRATIONS = [
  {
    version: 1,
    sql: `
      -- doc is NULL for a deleted document: the tombstone's seq tells other processes' caches to drop it.
      CREATE TABLE documents (
        collection TEXT    NOT NULL,
        id         TEXT    NOT NULL,
        doc        TEXT,
        seq        INTEGER NOT NULL,
        PRIMARY KEY (collection, id)
      ) WITHOUT ROWID;
      CREATE INDEX documents_by_seq ON documents (collection, seq);
      CREATE TABLE checkpoints (
        projection TEXT PRIMARY KEY,
        position   INTEGER NOT NULL,
        updated_at INTEGER NOT NULL
      ) WITHOUT ROWID;
      INSERT INTO meta (key, value) VALUES ('seq', '0');
    `,
  },
  {
    // Documents of hundreds of bytes to kilobytes do not belong in a WITHOUT ROWID table, whose B-tree keeps
    // each whole row in its key order: every upsert split and spilled pages. A rowid table keeps the rows and
    // a small unique index finds them: writes take a third to a half of the time, the file 40 % less room.
    version: 2,
    sql: `
      CREATE TABLE documents_by_rowid (
        collection TEXT    NOT NULL,
        id         TEXT    NOT NULL,
        doc        TEXT,
        seq        INTEGER NOT NULL
      );
      INSERT INTO documents_by_rowid (collection, id, doc, seq) SELECT collection, id, doc, seq FROM documents ORDER BY collection, seq;
      DROP TABLE documents;
      ALTER TABLE documents_by_rowid RENAME TO documents;
      CREATE UNIQUE INDEX documents_by_key ON documents (collection, id);
      CREATE INDEX documents_by_seq ON documents (collection, seq);
    `,
  },
  {
    // Changes are recorded in a table of their own, appended to at the end of each collection's range, instead
    // of an index on (collection, seq) that every write moved an entry of: that index took a page from a random
    // place on every write, about a third of what a projection batch wrote. Deleted documents are deleted
    // (their change is the record of it) rather than kept as tombstones.
    version: 3,
    sql: `
      CREATE TABLE changes (
        collection TEXT    NOT NULL,
        seq        INTEGER NOT NULL,
        id         TEXT    NOT NULL,
        PRIMARY KEY (collection, seq)
      ) WITHOUT ROWID;
      INSERT INTO changes (collection, seq, id) SELECT collection, seq, id FROM documents;
      DELETE FROM documents WHERE doc IS NULL;
      DROP INDEX documents_by_seq;
      INSERT INTO meta (key, value) VALUES ('changes_after', '0');
    `,
  },
  {
    // The id of the event a checkpoint stands at: a log restored from an older copy, or rewritten, is told from the
    // one the model was projected from even where its head has grown past the checkpoint again.
    version: 4,
    sql: `ALTER TABLE checkpoints ADD COLUMN event_id TEXT;`,
  },
  {
    // Who runs each projection (one runner at a time, however many processes start one), and the fencing token its
    // batches carry.
    version: 5,
    sql: `CREATE TABLE leases (name TEXT PRIMARY KEY, holder TEXT NOT NULL, token INTEGER NOT NULL, expires_at INTEGER NOT NULL) WITHOUT ROWID;`,
  },
];

/** The page size of a new read-store file. */
export const READ_STORE_PAGE_SIZE = 16_384;

/** Changes kept (the newest); a reader whose copy of a collection is older than all of them reads it whole. */
export const DEFAULT_CHANGES_KEPT = 200_000;

/**
 * The read store's WAL is checkpointed from 64 MiB (the 4,000 pages of 16 KiB SQLite's own checkpoint ran at before),
 * looked at every 50 ms; past 512 MiB the checkpointer waits briefly for writers and readers so the WAL cannot grow
 * without bound.
 */
export const READ_STORE_CHECKPOINTER: CheckpointerOptions = {
  intervalMs: 50,
  thresholdBytes: 64 * 1024 * 1024,
  hardLimitBytes: 512 * 1024 * 1024,
};

export interface SqliteReadStoreOptions {
  file: string;
  changesKept?: number;
  /** Overrides of READ_STORE_CHECKPOINTER (tests make it checkpoint sooner). */
  checkpointer?: Partial<CheckpointerOptions>;
}

/**
 * Parsed documents of one collection, kept in memory so queries do not JSON.parse the collection each
 * time. Refreshed incrementally: only changes after `seq` (by this or another process) are read.
 */
interface CollectionCache {
  seq: number;
  docs: Map<string, ReadDocument>;
  /** Declared indexes, kept in step with `docs` as it is refreshed. */
  indexes: MemoryIndex[];
  /**
   * The lists of specs already declared on this cache: a projection names its indexes with the same list on every
   * read, and comparing its specs again (as JSON) took a noticeable part of a case view read.
   */
  declared: WeakSet<readonly IndexSpec[]>;
}

/** What the queries of this store examined: documents tested against a filter (an index's range, or a whole collection). */
export interface ReadStoreQueryStats {
  examined: number;
  indexedQueries: number;
  scans: number;
}

/**
 * The embedded read store: documents in one SQLite file (its own file, so the projection worker's writes
 * never contend with the event log's writer), queried in-process with mingo — the same MongoDB query
 * language the mongodb adapter passes to the server.
 */
export class SqliteReadStore implements ReadStore {
  readonly kind = 'sqlite' as const;
  readonly writesBehind = true;
  private readonly db: SqliteDatabase;
  private readonly caches = new Map<string, CollectionCache>();
  /** Prefixes of the collections readers have left (`forget`): read from the file, never kept in `caches`. */
  private readonly forgotten: string[] = [];
  private readonly getDoc: Statement<[string, string], { doc: string | null }>;
  private readonly getSeq: Statement<[string, string], number>;
  private readonly getDocs: Statement<[string, string], { id: string; doc: string | null }>;
  private readonly changedSince: Statement<
    [string, number],
    { id: string; seq: number; doc: string | null; current: number | null }
  >;
  private readonly wholeCollection: Statement<[string], { id: string; doc: string; seq: number }>;
  private readonly changesAfter: Statement<[], string>;
  private readonly refresh: Database.Transaction<(name: string, cache: CollectionCache) => void>;
  private readonly getCheckpointStmt: Statement<
    [string],
    { position: number; updated_at: number; event_id: string | null }
  >;
  private readonly readSeq: Statement<[], { value: string }>;
  private readonly batchStatements: BatchStatements;
  private readonly writeTx: Database.Transaction<(batch: WriteBatch) => void>;
  /** Started by the first batch written behind; another is started after one that ended (crashed). */
  private writer: ReadStoreWriter | null = null;
  /** The text of the last batch written behind, in bytes: the next one's buffer starts at about that. */
  private lastBatchBytes = 1 << 20;
  /** What each batch written behind was serialised to: a retry of the same batch writes the same text. */
  private readonly serialised = new WeakMap<WriteBatch, SerialisedBatch>();
  private readonly dataVersion: Statement<[], number>;
  /** Writes through this connection: data_version counts only other connections' commits. */
  private ownWrites = 0;
  /** Other connections' commits (data_version), asked of SQLite only when the WAL index says one happened. */
  private readonly otherWrites: OtherWrites;
  /**
   * Started by a write of this connection that finds the WAL file past the checkpointer's threshold (the commits'
   * own checkpoint at 4,000 pages has run once by then): a store only read (the API's) or written little runs no thread.
   */
  private checkpointer: WalCheckpointer | null = null;
  private readonly checkpointerOptions: CheckpointerOptions;
  readonly queryStats: ReadStoreQueryStats = { examined: 0, indexedQueries: 0, scans: 0 };

  constructor(
    readonly file: string,
    private readonly changesKept = DEFAULT_CHANGES_KEPT,
    checkpointer: Partial<CheckpointerOptions> = {},
  ) {
    this.checkpointerOptions = { ...READ_STORE_CHECKPOINTER, ...checkpointer };
    this.db = openSqliteFile({
      file,
      applicationId: READ_STORE_APPLICATION_ID,
      kind: 'read store',
      migrations: MIGRATIONS,
      // A case document (4–6 KB) did not fit a 4 KB page: every write of one chained overflow pages, which took about
      // a tenth of the cases projection's catch-up. A file created before keeps its 4 KB pages.
      pageSize: READ_STORE_PAGE_SIZE,
    });
    setUpWriterConnection(this.db);
    this.getDoc = this.db.prepare('SELECT doc FROM documents WHERE collection = ? AND id = ?');
    this.getDocs = this.db.prepare(
      'SELECT id, doc FROM documents WHERE collection = ? AND id IN (SELECT value FROM json_each(?))',
    );
    // seq is the store-wide write counter a write stamps on its document: unique to that write of it.
    this.getSeq = this.db
      .prepare<[string, string], number>('SELECT seq FROM documents WHERE collection = ? AND id = ?')
      .pluck();
    // A document changed twice since has two changes; only the one its current seq names carries it. A change
    // whose document is gone is its deletion.
    this.changedSince = this.db.prepare(
      'SELECT c.id, c.seq, d.doc, d.seq AS current FROM changes c LEFT JOIN documents d ON d.collection = c.collection AND d.id = c.id WHERE c.collection = ? AND c.seq > ? ORDER BY c.seq',
    );
    this.wholeCollection = this.db.prepare('SELECT id, doc, seq FROM documents WHERE collection = ? ORDER BY seq');
    this.changesAfter = this.db.prepare<[], string>("SELECT value FROM meta WHERE key = 'changes_after'").pluck();
    // One snapshot for the horizon and the changes read against it, so a prune between them cannot hide one.
    this.refresh = this.db.transaction((name: string, cache: CollectionCache) => this.refreshInSnapshot(name, cache));
    this.getCheckpointStmt = this.db.prepare(
      'SELECT position, updated_at, event_id FROM checkpoints WHERE projection = ?',
    );
    this.readSeq = this.db.prepare("SELECT value FROM meta WHERE key = 'seq'");
    this.batchStatements = new BatchStatements(this.db);
    this.writeTx = this.db.transaction((batch: WriteBatch) =>
      writeBatchInTransaction(this.batchStatements, batch, this.changesKept),
    );
    this.dataVersion = this.db.prepare<[], number>('PRAGMA data_version').pluck();
    this.otherWrites = new OtherWrites(file, () => this.dataVersion.get() as number);
  }

  changeMark(): string {
    return `${this.otherWrites.dataVersion()}.${this.ownWrites}`;
  }

  collection<T extends ReadDocument = ReadDocument>(name: string, options: CollectionOptions = {}): ReadCollection<T> {
    checkCollectionName(name);
    if (options.indexes?.length) this.declareIndexes(name, options.indexes);
    return {
      get: async (id) => {
        const row = this.getDoc.get(name, id);
        return row?.doc ? (JSON.parse(row.doc) as T) : null;
      },
      // A projection batch's documents in one statement: its prefetch reads thousands, most of them not there yet.
      getMany: async (ids) => {
        const found = new Map<string, T>();
        if (ids.length === 0) return found;
        for (const row of this.getDocs.iterate(name, JSON.stringify(ids)))
          if (row.doc) found.set(row.id, JSON.parse(row.doc) as T);
        return found;
      },
      versionOf: async (id) => this.getSeq.get(name, id) ?? null,
      find: async (filter = {}, options = {}) => this.findSync(name, filter, options) as T[],
      count: async (filter = {}) => {
        const cache = this.refreshed(name);
        if (Object.keys(filter).length === 0) return cache.docs.size;
        const plan = planQuery(cache.indexes, filter, undefined);
        if (plan) {
          this.queryStats.indexedQueries++;
          let n = 0;
          for (const _ of runPlan(plan, filter, cache.docs, this.queryStats)) n++;
          return n;
        }
        this.queryStats.scans++;
        this.queryStats.examined += cache.docs.size;
        return mingoFind([...cache.docs.values()], filter).all().length;
      },
      aggregate: async <R>(pipeline: Pipeline) =>
        structuredClone(mingoAggregate(this.documents(name), pipeline)) as R[],
    };
  }

  /** Keeps these indexes for the collection from now on (built from its documents at once). */
  private declareIndexes(name: string, specs: readonly IndexSpec[]): void {
    const cache = this.cacheOf(name);
    if (cache.declared.has(specs)) return;
    const known = new Set(cache.indexes.map((i) => JSON.stringify(i.spec.key)));
    const added = specs.filter((spec) => !known.has(JSON.stringify(spec.key))).map((spec) => new MemoryIndex(spec));
    for (const index of added) index.rebuild(cache.docs.values());
    cache.indexes.push(...added);
    cache.declared.add(specs);
  }

  private findSync(name: string, filter: Filter, options: FindOptions): ReadDocument[] {
    const cache = this.refreshed(name);
    // Without a sort the order is the store's own: an index may serve only a query that takes every match.
    const plan =
      options.sort || (options.limit === undefined && !options.skip)
        ? planQuery(cache.indexes, filter, options.sort)
        : null;
    if (plan) {
      // The index gives the order: walk its range, stop once skip + limit documents matched.
      this.queryStats.indexedQueries++;
      const wanted = options.limit === undefined ? Infinity : (options.skip ?? 0) + options.limit;
      const page: ReadDocument[] = [];
      if (wanted > 0) {
        for (const doc of runPlan(plan, filter, cache.docs, this.queryStats)) {
          page.push(doc);
          if (page.length >= wanted) break;
        }
      }
      const rows = page.slice(options.skip ?? 0);
      return structuredClone(
        options.projection ? mingoFind(rows, {}, options.projection).all() : rows,
      ) as ReadDocument[];
    }
    this.queryStats.scans++;
    this.queryStats.examined += cache.docs.size;
    let cursor = mingoFind([...cache.docs.values()], filter, options.projection);
    if (options.sort) cursor = cursor.sort(options.sort);
    if (options.skip) cursor = cursor.skip(options.skip);
    if (options.limit !== undefined) cursor = cursor.limit(options.limit);
    // Callers get their own copies: mutating a result must never change the cache.
    return structuredClone(cursor.all()) as ReadDocument[];
  }

  private documents(name: string): ReadDocument[] {
    return [...this.refreshed(name).docs.values()];
  }

  private cacheOf(name: string): CollectionCache {
    let cache = this.caches.get(name);
    if (!cache) {
      cache = { seq: 0, docs: new Map(), indexes: [], declared: new WeakSet() };
      // A build readers left is read by a request that looked it up before the switch: for that query only.
      if (!this.forgotten.some((prefix) => name.startsWith(prefix))) this.caches.set(name, cache);
    }
    return cache;
  }

  forget(collectionPrefix: string): void {
    for (const name of this.caches.keys()) if (name.startsWith(collectionPrefix)) this.caches.delete(name);
    this.forgotten.push(collectionPrefix);
  }

  private refreshed(name: string): CollectionCache {
    const cache = this.cacheOf(name);
    this.refresh(name, cache);
    return cache;
  }

  private refreshInSnapshot(name: string, cache: CollectionCache): void {
    const changesAfter = Number(this.changesAfter.get());
    // Older than every change still kept: read the collection as it is.
    if (cache.seq < changesAfter) this.readWhole(name, cache, changesAfter);
    const changed: { id: string; doc: ReadDocument | null }[] = [];
    let wholeChanged = false;
    for (const row of this.changedSince.iterate(name, cache.seq)) {
      if (row.id === WHOLE_COLLECTION_CHANGED) {
        wholeChanged = true;
      } else if (row.doc === null) {
        cache.docs.delete(row.id);
        changed.push({ id: row.id, doc: null });
      } else if (row.current === row.seq) {
        const doc = JSON.parse(row.doc) as ReadDocument;
        cache.docs.set(row.id, doc);
        changed.push({ id: row.id, doc });
      }
      cache.seq = row.seq;
    }
    // The snapshot's whole collection holds every change up to its last one, those without a record of their own too.
    if (wholeChanged) return this.readWhole(name, cache, Math.max(changesAfter, cache.seq));
    if (changed.length === 0 || cache.indexes.length === 0) return;
    // Each change moves an entry of a sorted array; past a share of the collection, sorting it again is cheaper.
    if (changed.length > Math.max(64, cache.docs.size / 16)) {
      for (const index of cache.indexes) index.rebuild(cache.docs.values());
      return;
    }
    for (const index of cache.indexes) {
      for (const { id, doc } of changed) {
        if (doc === null) index.remove(id);
        else index.put(doc);
      }
    }
  }

  private readWhole(name: string, cache: CollectionCache, seenUpTo: number): void {
    cache.docs = new Map();
    for (const row of this.wholeCollection.iterate(name)) {
      cache.docs.set(row.id, JSON.parse(row.doc) as ReadDocument);
      cache.seq = row.seq;
    }
    cache.seq = Math.max(cache.seq, seenUpTo);
    for (const index of cache.indexes) index.rebuild(cache.docs.values());
  }

  private startCheckpointerOnceDue(): void {
    if (this.checkpointer) return;
    const walBytes = statSync(`${this.file}-wal`, { throwIfNoEntry: false })?.size ?? 0;
    if (walBytes >= this.checkpointerOptions.thresholdBytes)
      this.checkpointer = new WalCheckpointer(this.file, this.checkpointerOptions);
  }

  async write(batch: WriteBatch): Promise<void> {
    if (batch.behind) return this.writeBehind(batch);
    for (const op of batch.ops) {
      checkCollectionName(op.collection);
      if (op.op === 'upsert') checkDocument(op.doc);
    }
    if (batch.expect) checkExpectations(batch);
    this.startCheckpointerOnceDue();
    // IMMEDIATE: the worker and a rebuild command may write at once; wait for the lock instead of failing.
    try {
      this.writeTx.immediate(batch);
    } finally {
      this.ownWrites++;
    }
  }

  /**
   * A batch marked `behind`, committed by this store's writer thread while the caller goes on. The thread is
   * another connection: its commits move this connection's data_version, which the change mark counts already, so
   * they are not counted in `ownWrites` (this connection's own commits, which data_version leaves out).
   */
  private writeBehind(batch: WriteBatch): Promise<void> {
    let serialised = this.serialised.get(batch);
    try {
      // A batch after close would start a writer thread on a store being closed, which nothing would stop.
      if (this.closing) throw new Error('the read store is closed');
      if (!serialised) {
        for (const op of batch.ops) {
          checkCollectionName(op.collection);
          if (op.op === 'upsert') checkDocument(op.doc);
        }
        if (batch.expect) checkExpectations(batch);
        serialised = serialiseBatch(batch, this.lastBatchBytes);
        this.lastBatchBytes = serialised.text.byteLength;
        this.serialised.set(batch, serialised);
      }
      // Its text went to a writer thread that ended without giving it back: written again, the documents would be
      // serialised as they are now, which need not be what the batch held.
      if (serialised.text.buffer.byteLength === 0)
        throw new Error('a batch handed to the read store writer thread that ended cannot be written again');
      this.startCheckpointerOnceDue();
      if (!this.writer?.alive) this.writer = new ReadStoreWriter(this.file, this.changesKept);
    } catch (error) {
      return Promise.reject(error);
    }
    return this.writer.write(serialised);
  }

  async acquireLease(
    name: string,
    holder: string,
    ttlMs: number,
    options: { takeOver?: boolean } = {},
  ): Promise<Lease | null> {
    const take = this.db.transaction((): Lease | null => {
      const now = Date.now();
      const row = this.db
        .prepare<[string], { holder: string; token: number; expires_at: number }>(
          'SELECT holder, token, expires_at FROM leases WHERE name = ?',
        )
        .get(name);
      if (row && row.holder !== holder && row.expires_at > now && !options.takeOver) return null;
      const token = !row ? 1 : row.holder === holder ? row.token : row.token + 1;
      const expiresAt = now + ttlMs;
      this.db
        .prepare(
          'INSERT INTO leases (name, holder, token, expires_at) VALUES (?, ?, ?, ?) ON CONFLICT (name) DO UPDATE SET holder = excluded.holder, token = excluded.token, expires_at = excluded.expires_at',
        )
        .run(name, holder, token, expiresAt);
      return { name, holder, token, expiresAt: new Date(expiresAt) };
    });
    try {
      return take.immediate();
    } finally {
      this.ownWrites++;
    }
  }

  async releaseLease(name: string, holder: string): Promise<void> {
    try {
      this.db.prepare('UPDATE leases SET expires_at = 0 WHERE name = ? AND holder = ?').run(name, holder);
    } finally {
      this.ownWrites++;
    }
  }

  async getCheckpoint(projection: string): Promise<Checkpoint | null> {
    const row = this.getCheckpointStmt.get(projection);
    return row
      ? {
          projection,
          position: row.position,
          ...(row.event_id ? { eventId: row.event_id } : {}),
          updatedAt: new Date(row.updated_at),
        }
      : null;
  }

  async drop(collections: readonly string[], projection?: string): Promise<void> {
    this.ownWrites++;
    const s = this.batchStatements;
    this.db.transaction(() => {
      let seq = Number(s.readSeq.get()!.value);
      for (const name of collections) {
        this.db.prepare('DELETE FROM documents WHERE collection = ?').run(name);
        this.db.prepare('DELETE FROM changes WHERE collection = ?').run(name);
        // Other connections' copies of it (the API's, of a retired build) are read whole, empty, at their next query:
        // with its changes gone and no record of the drop, they answered from what they held, and held it.
        s.recordChange.run(name, ++seq, WHOLE_COLLECTION_CHANGED);
        this.caches.delete(name);
      }
      s.writeSeq.run(String(seq));
      if (projection) this.db.prepare('DELETE FROM checkpoints WHERE projection = ?').run(projection);
    })();
  }

  /** The collections this connection keeps a parsed copy of, and how many documents each copy holds. */
  cachedDocuments(): Map<string, number> {
    return new Map([...this.caches].map(([name, cache]) => [name, cache.docs.size]));
  }

  /** WAL checkpoints this store's thread has made (0 until its first write). */
  get checkpointsCompleted(): number {
    return this.checkpointer?.completed ?? 0;
  }

  /** A no-op: queries run in-process (mingo over each collection's parsed copy); only the collection name is checked. */
  async ensureIndexes(collection: string, _specs: readonly IndexSpec[]): Promise<void> {
    checkCollectionName(collection);
  }

  async listCollections(): Promise<string[]> {
    return (
      this.db.prepare('SELECT DISTINCT collection FROM documents ORDER BY collection').all() as Array<{
        collection: string;
      }>
    ).map((r) => r.collection);
  }

  async ping(): Promise<void> {
    this.readSeq.get();
  }

  private closing: Promise<void> | null = null;

  /** Idempotent: two owners closing one store wait for the same close. */
  close(): Promise<void> {
    this.closing ??= this.closeOnce();
    return this.closing;
  }

  async purgeOldVersions(): Promise<boolean> {
    // An erasure's old versions: this thread runs every projection (and both case models purge); the caller tries again.
    return purgeOldPageImages(this.db);
  }

  private async closeOnce(): Promise<void> {
    if (!this.db.open) return;
    // The batches begun are committed before the store closes.
    await this.writer?.stop();
    // The checkpointer's connection closed first, so the truncating checkpoint below does not find it in the way.
    await this.checkpointer?.stop();
    this.otherWrites.close();
    try {
      this.db.pragma('wal_checkpoint(TRUNCATE)');
    } catch {
      // Another process still has the file open.
    }
    this.db.close();
  }
}

export function openSqliteReadStore({ file, changesKept, checkpointer }: SqliteReadStoreOptions): SqliteReadStore {
  return new SqliteReadStore(file, changesKept, checkpointer);
}
