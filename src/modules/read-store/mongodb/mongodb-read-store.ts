import { MongoClient, type AnyBulkWriteOperation, type Db, type Document } from 'mongodb';
import type { Checkpoint, ReadCollection, ReadDocument, ReadStore, WriteBatch } from '../read-store.port';
import { checkCollectionName, checkDocument } from '../read-store.validation';

const CHECKPOINTS = '_checkpoints';

interface CheckpointDoc {
  _id: string;
  position: number;
  eventId?: string;
  updatedAt: Date;
}

/**
 * Read models in MongoDB. A batch with a checkpoint is written in one multi-document transaction that
 * first reads the stored checkpoint and writes nothing when the batch is not after it, so a replay after
 * a crash is idempotent. Transactions need a replica set: run MongoDB as one (a single-node replica set is
 * enough; docker-compose.yml does this).
 */
export class MongoReadStore implements ReadStore {
  readonly kind = 'mongodb' as const;
  private readonly db: Db;

  constructor(private readonly client: MongoClient, database: string) {
    this.db = client.db(database);
  }

  collection<T extends ReadDocument = ReadDocument>(name: string): ReadCollection<T> {
    checkCollectionName(name);
    const collection = this.db.collection<Document>(name);
    return {
      get: async (id) => (await collection.findOne({ _id: id as never })) as T | null,
      // Documents carry no version here; readers read the document.
      versionOf: async () => null,
      find: async (filter = {}, options = {}) => {
        let cursor = collection.find(filter, options.projection ? { projection: options.projection } : {});
        if (options.sort) cursor = cursor.sort(options.sort);
        if (options.skip) cursor = cursor.skip(options.skip);
        if (options.limit !== undefined) cursor = cursor.limit(options.limit);
        return (await cursor.toArray()) as unknown as T[];
      },
      count: async (filter = {}) => collection.countDocuments(filter),
      aggregate: async <R>(pipeline: Document[]) => (await collection.aggregate(pipeline).toArray()) as R[],
    };
  }

  async write(batch: WriteBatch): Promise<void> {
    for (const op of batch.ops) {
      checkCollectionName(op.collection);
      if (op.op === 'upsert') checkDocument(op.doc);
    }
    const byCollection = new Map<string, AnyBulkWriteOperation<Document>[]>();
    for (const op of batch.ops) {
      const ops = byCollection.get(op.collection) ?? [];
      ops.push(op.op === 'upsert' ? { replaceOne: { filter: { _id: op.doc._id as never }, replacement: op.doc, upsert: true } } : { deleteOne: { filter: { _id: op.id as never } } });
      byCollection.set(op.collection, ops);
    }
    const checkpoint = batch.checkpoint;
    if (!checkpoint) {
      for (const [name, ops] of byCollection) await this.db.collection(name).bulkWrite(ops, { ordered: true });
      return;
    }
    const session = this.client.startSession();
    try {
      await session.withTransaction(async () => {
        const checkpoints = this.db.collection<CheckpointDoc>(CHECKPOINTS);
        const stored = await checkpoints.findOne({ _id: checkpoint.projection }, { session });
        if (stored && stored.position >= checkpoint.position) return;
        for (const [name, ops] of byCollection) await this.db.collection(name).bulkWrite(ops, { ordered: true, session });
        await checkpoints.replaceOne({ _id: checkpoint.projection }, { position: checkpoint.position, ...(checkpoint.eventId ? { eventId: checkpoint.eventId } : {}), updatedAt: new Date() }, { upsert: true, session });
      });
    } finally {
      await session.endSession();
    }
  }

  async getCheckpoint(projection: string): Promise<Checkpoint | null> {
    const stored = await this.db.collection<CheckpointDoc>(CHECKPOINTS).findOne({ _id: projection });
    return stored ? { projection, position: stored.position, ...(stored.eventId ? { eventId: stored.eventId } : {}), updatedAt: stored.updatedAt } : null;
  }

  async drop(collections: readonly string[], projection?: string): Promise<void> {
    const existing = new Set(await this.listCollections());
    for (const name of collections) if (existing.has(name)) await this.db.collection(name).drop();
    if (projection) await this.db.collection(CHECKPOINTS).deleteOne({ _id: projection as never });
  }

  async listCollections(): Promise<string[]> {
    const all = await this.db.listCollections({}, { nameOnly: true }).toArray();
    return all.map((c) => c.name).filter((name) => name !== CHECKPOINTS && !name.startsWith('system.')).sort();
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

export async function openMongoReadStore({ url, database }: { url: string; database: string }): Promise<MongoReadStore> {
  const client = new MongoClient(url, { serverSelectionTimeoutMS: 5000 });
  await client.connect();
  const store = new MongoReadStore(client, database);
  await store.ping();
  return store;
}
