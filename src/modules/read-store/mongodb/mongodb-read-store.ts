import {
  MongoClient,
  type AnyBulkWriteOperation,
  type ClientSession,
  type Db,
  type Document,
  type MongoClientOptions,
} from 'mongodb';
import {
  CheckpointAheadError,
  LeaseLostError,
  RevisionConflictError,
  type Checkpoint,
  type CollectionOptions,
  type IndexSpec,
  type Lease,
  type ReadCollection,
  type ReadDocument,
  type ReadStore,
  type WriteBatch,
} from '../read-store.port';
import { checkCollectionName, checkDocument, checkExpectations } from '../read-store.validation';

const CHECKPOINTS = '_checkpoints';
const LEASES = '_leases';

interface LeaseDoc {
  _id: string;
  holder: string;
  token: number;
  expiresAt: Date;
  fencedAt?: Date;
}

interface CheckpointDoc {
  _id: string;
  position: number;
  eventId?: string;
  updatedAt: Date;
}

/**
 * Read models in MongoDB. A batch with a checkpoint is written in one multi-document transaction that
 * first reads the stored checkpoint and writes nothing when the batch is not after it (CheckpointAheadError), so a
 * replay after a crash changes nothing. A fenced batch, and one expecting documents at a revision (the projection
 * registry's compare-and-set: replaceAtRevision), is written in one too; an unconditional one in bulk writes. Transactions need a replica set: run MongoDB as one (a single-node replica set is
 * enough; docker-compose.yml does this).
 */
export class MongoReadStore implements ReadStore {
  readonly kind = 'mongodb' as const;
  private readonly db: Db;

  constructor(
    private readonly client: MongoClient,
    database: string,
  ) {
    this.db = client.db(database);
  }

  /** Collections whose declared indexes were requested: each is created once per process (createIndex is idempotent). */
  private readonly indexed = new Set<string>();

  collection<T extends ReadDocument = ReadDocument>(name: string, options: CollectionOptions = {}): ReadCollection<T> {
    checkCollectionName(name);
    const collection = this.db.collection<Document>(name);
    if (options.indexes?.length && !this.indexed.has(name)) {
      this.indexed.add(name);
      // In the background: a read must not wait for an index build; until it exists the server scans as before.
      void Promise.all(options.indexes.map((index) => collection.createIndex(index.key))).catch(() =>
        this.indexed.delete(name),
      );
    }
    return {
      get: async (id) => (await collection.findOne({ _id: id as never }, { maxTimeMS: QUERY_TIME_MS })) as T | null,
      getMany: async (ids) => {
        const found = new Map<string, T>();
        if (ids.length === 0) return found;
        for (const doc of await collection
          .find({ _id: { $in: [...ids] as never[] } }, { maxTimeMS: QUERY_TIME_MS })
          .toArray())
          found.set(String(doc._id), doc as unknown as T);
        return found;
      },
      // Documents carry no version here; readers read the document.
      versionOf: async () => null,
      find: async (filter = {}, options = {}) => {
        let cursor = collection.find(filter, {
          maxTimeMS: QUERY_TIME_MS,
          ...(options.projection ? { projection: options.projection } : {}),
        });
        if (options.sort) cursor = cursor.sort(options.sort);
        if (options.skip) cursor = cursor.skip(options.skip);
        if (options.limit !== undefined) cursor = cursor.limit(options.limit);
        return (await cursor.toArray()) as unknown as T[];
      },
      count: async (filter = {}) => collection.countDocuments(filter, { maxTimeMS: QUERY_TIME_MS }),
      aggregate: async <R>(pipeline: Document[]) =>
        (await collection.aggregate(pipeline, { maxTimeMS: QUERY_TIME_MS }).toArray()) as R[],
    };
  }

  async write(batch: WriteBatch): Promise<void> {
    for (const op of batch.ops) {
      checkCollectionName(op.collection);
      if (op.op === 'upsert') checkDocument(op.doc);
    }
    const { checkpoint, fence, expect } = batch;
    if (expect) checkExpectations(batch);
    const revisionOf = expect ? new Map(expect.map((e) => [`${e.collection}\u0000${e.id}`, e.revision])) : null;
    // The documents expected at a revision are written on their own, each by a replacement conditioned on it.
    const conditioned: { collection: string; doc: ReadDocument; revision: number }[] = [];
    const byCollection = new Map<string, { ops: AnyBulkWriteOperation<Document>[]; ids: Set<string> }>();
    for (const op of batch.ops) {
      const revision =
        revisionOf && op.op === 'upsert' ? revisionOf.get(`${op.collection}\u0000${op.doc._id}`) : undefined;
      if (revision !== undefined && op.op === 'upsert') {
        conditioned.push({ collection: op.collection, doc: op.doc, revision });
        continue;
      }
      const entry = byCollection.get(op.collection) ?? { ops: [], ids: new Set<string>() };
      entry.ops.push(
        op.op === 'upsert'
          ? { replaceOne: { filter: { _id: op.doc._id as never }, replacement: op.doc, upsert: true } }
          : { deleteOne: { filter: { _id: op.id as never } } },
      );
      entry.ids.add(op.op === 'upsert' ? op.doc._id : op.id);
      byCollection.set(op.collection, entry);
    }
    // One bulkWrite per collection. Unordered when each document appears once (a projection batch, whose writes are one
    // per document): the driver then sends every replacement in one command and every delete in another, where ordered
    // writes go in one command per run of the same kind. Two writes of one document keep their order.
    const bulk = (
      name: string,
      { ops, ids }: { ops: AnyBulkWriteOperation<Document>[]; ids: Set<string> },
      session?: ClientSession,
    ) => this.db.collection(name).bulkWrite(ops, { ordered: ids.size < ops.length, ...(session ? { session } : {}) });
    if (!checkpoint && !fence && !expect) {
      for (const [name, entry] of byCollection) await bulk(name, entry);
      return;
    }
    const session = this.client.startSession();
    try {
      await session.withTransaction(async () => {
        if (fence) {
          // A write to the lease document, not a read: a takeover committing meanwhile conflicts with this transaction
          // (one of the two is aborted and retried), so a fenced batch never commits beside its successor's.
          const leases = this.db.collection<LeaseDoc>(LEASES);
          const held = await leases.updateOne(
            { _id: fence.lease, token: fence.token },
            { $set: { fencedAt: new Date() } },
            { session },
          );
          if (held.matchedCount !== 1) {
            const current = await leases.findOne({ _id: fence.lease }, { session });
            throw new LeaseLostError(
              fence.lease,
              fence.token,
              current ? { holder: current.holder, token: current.token } : null,
            );
          }
        }
        const checkpoints = this.db.collection<CheckpointDoc>(CHECKPOINTS);
        if (checkpoint) {
          const stored = await checkpoints.findOne({ _id: checkpoint.projection }, { session });
          // Stored already, by this writer (a replay) or another: withTransaction aborts on an error that is not the
          // driver's and rethrows it, so nothing is written and the writer is told.
          if (stored && stored.position >= checkpoint.position)
            throw new CheckpointAheadError(checkpoint.projection, checkpoint.position, stored.position);
        }
        for (const { collection, doc, revision } of conditioned)
          await this.replaceAtRevision(collection, doc, revision, session);
        for (const [name, entry] of byCollection) await bulk(name, entry, session);
        if (checkpoint)
          await checkpoints.replaceOne(
            { _id: checkpoint.projection },
            {
              position: checkpoint.position,
              ...(checkpoint.eventId ? { eventId: checkpoint.eventId } : {}),
              updatedAt: new Date(),
            },
            { upsert: true, session },
          );
      });
    } finally {
      await session.endSession();
    }
  }

  /**
   * Replaces the document only where it is stored at `revision` (a number in its `revision` field; at 0, one without
   * it, null, or none at all, which is then inserted): a filtered replacement, atomic on the one document. The filter
   * matching nothing means another revision is stored: with no upsert (a revision from 1) the replacement reports no
   * match; with one (revision 0) its insert of the same _id fails with a duplicate key (E11000). Inside the batch's
   * transaction a writer that changed the document after this transaction's snapshot makes the write a write conflict
   * instead (TransientTransactionError): withTransaction runs the whole batch again on a new snapshot, which finds the
   * other revision. The conflict thrown is no driver error: withTransaction aborts the transaction and rethrows it.
   */
  private async replaceAtRevision(
    collection: string,
    doc: ReadDocument,
    revision: number,
    session: ClientSession,
  ): Promise<void> {
    const filter = { _id: doc._id as never, revision: revision === 0 ? { $in: [0, null] } : revision };
    try {
      const result = await this.db.collection(collection).replaceOne(filter, doc, { upsert: revision === 0, session });
      if (result.matchedCount + result.upsertedCount === 1) return;
    } catch (error) {
      const { code, keyPattern } = error as { code?: unknown; keyPattern?: Record<string, unknown> };
      // A duplicate key of another unique index would be no conflict of revisions.
      if (code !== 11000 || (keyPattern !== undefined && Object.keys(keyPattern).join() !== '_id')) throw error;
    }
    throw new RevisionConflictError(collection, doc._id, revision, null);
  }

  async acquireLease(
    name: string,
    holder: string,
    ttlMs: number,
    options: { takeOver?: boolean } = {},
  ): Promise<Lease | null> {
    const now = new Date();
    const expiresAt = new Date(now.getTime() + ttlMs);
    try {
      // Matches a lease this holder has, or one that expired; else the upsert's insert of the same _id fails (E11000):
      // another holder's lease runs. The token grows only when the holder changes.
      const lease = await this.db.collection<LeaseDoc>(LEASES).findOneAndUpdate(
        options.takeOver ? { _id: name } : { _id: name, $or: [{ holder }, { expiresAt: { $lte: now } }] },
        [
          {
            $set: {
              token: { $cond: [{ $eq: ['$holder', holder] }, '$token', { $add: [{ $ifNull: ['$token', 0] }, 1] }] },
              holder,
              expiresAt,
            },
          },
        ],
        { upsert: true, returnDocument: 'after' },
      );
      return lease ? { name, holder: lease.holder, token: lease.token, expiresAt: lease.expiresAt } : null;
    } catch (error) {
      if ((error as { code?: unknown }).code === 11000) return null;
      throw error;
    }
  }

  async releaseLease(name: string, holder: string): Promise<void> {
    await this.db.collection<LeaseDoc>(LEASES).updateOne({ _id: name, holder }, { $set: { expiresAt: new Date(0) } });
  }

  async getCheckpoint(projection: string): Promise<Checkpoint | null> {
    const stored = await this.db.collection<CheckpointDoc>(CHECKPOINTS).findOne({ _id: projection });
    return stored
      ? {
          projection,
          position: stored.position,
          ...(stored.eventId ? { eventId: stored.eventId } : {}),
          updatedAt: stored.updatedAt,
        }
      : null;
  }

  async drop(collections: readonly string[], projection?: string): Promise<void> {
    const existing = new Set(await this.listCollections());
    for (const name of collections) if (existing.has(name)) await this.db.collection(name).drop();
    if (projection) await this.db.collection(CHECKPOINTS).deleteOne({ _id: projection as never });
  }

  async ensureIndexes(collection: string, specs: readonly IndexSpec[]): Promise<void> {
    checkCollectionName(collection);
    if (specs.length === 0) return;
    // createIndexes is idempotent for an identical key; the collection is created when absent.
    await this.db.collection(collection).createIndexes(specs.map((spec) => ({ key: spec.key })));
  }

  async listCollections(): Promise<string[]> {
    const all = await this.db.listCollections({}, { nameOnly: true }).toArray();
    return all
      .map((c) => c.name)
      .filter((name) => name !== CHECKPOINTS && !name.startsWith('system.'))
      .sort();
  }

  /** MongoDB has no cheap commit counter a reader could consult: every read goes to the server. */
  changeMark(): null {
    return null;
  }

  async ping(): Promise<void> {
    await this.db.command({ ping: 1 });
  }

  async close(): Promise<void> {
    await this.client.close();
  }
}

/**
 * How long one query may run on the server before it is interrupted (maxTimeMS): a read answers or fails, never hangs.
 */
export const QUERY_TIME_MS = 30_000;

/**
 * Client timeouts, each unless the URL sets it. Server selection waits out an election (electionTimeoutMillis is 10 s,
 * then the new primary catches up; 5 s failed writes through every routine failover); a socket that stops answering
 * (a partition without a reset) is given up after a minute, beyond any query's maxTimeMS; writes are acknowledged by a
 * majority, so an acknowledged checkpoint is not rolled back by a failover.
 */
export const MONGO_CLIENT_DEFAULTS = {
  serverSelectionTimeoutMS: 30_000,
  connectTimeoutMS: 10_000,
  socketTimeoutMS: 60_000,
  retryWrites: true,
  retryReads: true,
  w: 'majority',
} as const satisfies MongoClientOptions;

/** The defaults the URL does not set itself (MongoClient's options object would override the URL's). */
export function mongoClientOptions(url: string): MongoClientOptions {
  const query = url.includes('?') ? url.slice(url.indexOf('?') + 1).toLowerCase() : '';
  const inUrl = new Set(query.split('&').map((pair) => pair.split('=')[0]));
  return Object.fromEntries(Object.entries(MONGO_CLIENT_DEFAULTS).filter(([key]) => !inUrl.has(key.toLowerCase())));
}

export async function openMongoReadStore({
  url,
  database,
}: {
  url: string;
  database: string;
}): Promise<MongoReadStore> {
  const client = new MongoClient(url, mongoClientOptions(url));
  await client.connect();
  const store = new MongoReadStore(client, database);
  await store.ping();
  return store;
}
