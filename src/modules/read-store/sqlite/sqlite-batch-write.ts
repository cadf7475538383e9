import type Database from 'better-sqlite3';
import type { Statement } from 'better-sqlite3';
import {
  CheckpointAheadError,
  LeaseLostError,
  RevisionConflictError,
  type WriteBatch,
  type WriteOp,
} from '../read-store.port';

/**
 * The id of a change that stands for every change of its collection in one write (a build no reader is switched to yet,
 * WriteBatch.unreadPrefix): a reader that meets it reads the collection whole. No document has an empty id.
 */
export const WHOLE_COLLECTION_CHANGED = '';

/** What a connection that writes batches sets beyond openSqliteFile's settings: the store's own and its writer thread's. */
export function setUpWriterConnection(db: Database.Database): void {
  // SQLite's own checkpoint, in the commit that takes the WAL past 4,000 pages, until the WAL is large enough for the
  // checkpointer thread (startCheckpointerOnceDue), which from then on keeps it below that: a checkpoint in the commit
  // (copying the WAL into the file and syncing it) took about a tenth of a projection's catch-up on its thread.
  db.pragma('wal_autocheckpoint = 4000');
  // Read models are rebuilt from the log and a batch commits with its checkpoint, so a commit need not wait for
  // fsync: in WAL mode NORMAL survives a crash of the process; after a power loss the last batches are
  // re-projected from the checkpoint they left behind. The event log keeps synchronous=FULL.
  db.pragma('synchronous = NORMAL');
  // Documents hold personal data until an erasure scrubs them: the old images of a rewritten document are zeroed
  // rather than left in free pages, where the erased name and IIN could still be read from the file.
  db.pragma('secure_delete = ON');
}

/** A document of a serialised batch: its text is the next `bytes` bytes of the batch's `text` (-1: deleted). */
export interface SerialisedOp {
  collection: string;
  id: string;
  bytes: number;
}

/**
 * A write batch with every document serialised already (what the writer thread is sent): the documents' JSON text,
 * UTF-8, one after another in one buffer outside the heap, handed over without a copy. Each text is garbage as soon
 * as it is copied in, as when a batch is written here one document at a time; held as strings until the batch was
 * sent, a batch's 30 MB of text survived the collector's scavenges and were copied by each.
 */
export interface SerialisedBatch {
  ops: SerialisedOp[];
  text: Uint8Array;
  checkpoint?: WriteBatch['checkpoint'];
  fence?: WriteBatch['fence'];
  expect?: WriteBatch['expect'];
  unreadPrefix?: string;
}

/**
 * Serialised once, when the batch is handed over: whatever its documents become afterwards is not stored. The buffer
 * starts at the size the last batch needed (`sizeHint`): memory outside the heap that grows fast makes V8 collect more.
 */
export function serialiseBatch(batch: WriteBatch, sizeHint = 1 << 20): SerialisedBatch {
  let text = Buffer.allocUnsafeSlow(Math.max(1 << 16, Math.ceil(sizeHint * 1.25)));
  let used = 0;
  const ops: SerialisedOp[] = [];
  for (const op of batch.ops) {
    if (op.op === 'delete') {
      ops.push({ collection: op.collection, id: op.id, bytes: -1 });
      continue;
    }
    const json = JSON.stringify(op.doc);
    // UTF-8 takes at most three bytes per UTF-16 unit.
    if (used + 3 * json.length > text.length) {
      const larger = Buffer.allocUnsafeSlow(Math.max(2 * text.length, used + 3 * json.length));
      text.copy(larger, 0, 0, used);
      text = larger;
    }
    const bytes = text.write(json, used);
    used += bytes;
    ops.push({ collection: op.collection, id: op.doc._id, bytes });
  }
  return {
    ops,
    text: text.subarray(0, used),
    ...(batch.checkpoint ? { checkpoint: batch.checkpoint } : {}),
    ...(batch.fence ? { fence: batch.fence } : {}),
    ...(batch.expect ? { expect: batch.expect } : {}),
    ...(batch.unreadPrefix !== undefined ? { unreadPrefix: batch.unreadPrefix } : {}),
  };
}

/**
 * The statements a batch's write runs, prepared on one connection: the store's own, and its writer thread's (each
 * connection prepares its own), so both write a batch with the same SQL.
 */
export class BatchStatements {
  readonly lease: Statement<[string], { holder: string; token: number }>;
  readonly checkpoint: Statement<[string], { position: number }>;
  /** A document's `revision` field (WriteBatch.expect): undefined without the document, null without the field. */
  readonly revision: Statement<[string, string], unknown>;
  readonly upsertDoc: Statement<[string, string, string, number]>;
  /** The same upsert from a document's UTF-8 bytes, stored as text: the writer thread makes no string of them. */
  readonly upsertBytes: Statement<[string, string, Uint8Array, number]>;
  readonly deleteDoc: Statement<[string, string]>;
  readonly recordChange: Statement<[string, number, string]>;
  readonly pruneChanges: Statement<[number]>;
  readonly changesAfter: Statement<[], string>;
  readonly writeChangesAfter: Statement<[string]>;
  readonly putCheckpoint: Statement<[string, number, string | null, number]>;
  readonly readSeq: Statement<[], { value: string }>;
  readonly writeSeq: Statement<[string]>;

  constructor(db: Database.Database) {
    this.lease = db.prepare('SELECT holder, token FROM leases WHERE name = ?');
    this.checkpoint = db.prepare('SELECT position FROM checkpoints WHERE projection = ?');
    this.revision = db
      .prepare<[string, string], unknown>(
        "SELECT json_extract(doc, '$.revision') FROM documents WHERE collection = ? AND id = ?",
      )
      .pluck();
    // A document written again with the same text is left as it is: no page is dirtied, and its seq (which caches
    // and rendered views key on) stands, as nothing about it changed.
    this.upsertDoc = db.prepare(
      'INSERT INTO documents (collection, id, doc, seq) VALUES (?, ?, ?, ?) ON CONFLICT (collection, id) DO UPDATE SET doc = excluded.doc, seq = excluded.seq WHERE doc IS NOT excluded.doc',
    );
    this.upsertBytes = db.prepare(
      'INSERT INTO documents (collection, id, doc, seq) VALUES (?, ?, CAST(? AS TEXT), ?) ON CONFLICT (collection, id) DO UPDATE SET doc = excluded.doc, seq = excluded.seq WHERE doc IS NOT excluded.doc',
    );
    this.deleteDoc = db.prepare('DELETE FROM documents WHERE collection = ? AND id = ?');
    this.recordChange = db.prepare('INSERT INTO changes (collection, seq, id) VALUES (?, ?, ?)');
    this.pruneChanges = db.prepare('DELETE FROM changes WHERE seq <= ?');
    this.changesAfter = db.prepare<[], string>("SELECT value FROM meta WHERE key = 'changes_after'").pluck();
    this.writeChangesAfter = db.prepare("UPDATE meta SET value = ? WHERE key = 'changes_after'");
    this.putCheckpoint = db.prepare(
      'INSERT INTO checkpoints (projection, position, event_id, updated_at) VALUES (?, ?, ?, ?) ON CONFLICT (projection) DO UPDATE SET position = excluded.position, event_id = excluded.event_id, updated_at = excluded.updated_at',
    );
    this.readSeq = db.prepare("SELECT value FROM meta WHERE key = 'seq'");
    this.writeSeq = db.prepare("UPDATE meta SET value = ? WHERE key = 'seq'");
  }
}

/**
 * A batch's documents, change records and checkpoint; run inside the caller's (IMMEDIATE) transaction. Documents not
 * serialised yet are serialised one at a time as they are written, so their text is garbage at once.
 */
export function writeBatchInTransaction(
  s: BatchStatements,
  batch: WriteBatch | SerialisedBatch,
  changesKept: number,
): void {
  if (batch.fence) {
    const lease = s.lease.get(batch.fence.lease);
    if (!lease || lease.token !== batch.fence.token)
      throw new LeaseLostError(batch.fence.lease, batch.fence.token, lease ?? null);
  }
  if (batch.checkpoint) {
    const stored = s.checkpoint.get(batch.checkpoint.projection);
    // Stored already, by this writer (a replay) or another: nothing is written, and its writer is told, so it does not
    // take the batch's documents for what the store holds.
    if (stored && stored.position >= batch.checkpoint.position)
      throw new CheckpointAheadError(batch.checkpoint.projection, batch.checkpoint.position, stored.position);
  }
  // A compare-and-set (the projection registry's): the documents as this transaction, which holds the write lock, finds
  // them. A projection's batches expect nothing.
  if (batch.expect) {
    for (const { collection, id, revision } of batch.expect) {
      const stored = s.revision.get(collection, id) ?? 0;
      if (stored !== revision)
        throw new RevisionConflictError(collection, id, revision, typeof stored === 'number' ? stored : null);
    }
  }
  let seq = Number(s.readSeq.get()!.value);
  const unread = batch.unreadPrefix;
  let wholeChanged: Set<string> | null = null;
  const serialised =
    'text' in batch ? Buffer.from(batch.text.buffer, batch.text.byteOffset, batch.text.byteLength) : null;
  let offset = 0;
  for (const op of batch.ops as ReadonlyArray<WriteOp | SerialisedOp>) {
    seq++;
    let id: string;
    let written: { changes: number };
    if ('bytes' in op) {
      id = op.id;
      written =
        op.bytes < 0
          ? s.deleteDoc.run(op.collection, id)
          : s.upsertBytes.run(op.collection, id, serialised!.subarray(offset, (offset += op.bytes)), seq);
    } else {
      id = op.op === 'upsert' ? op.doc._id : op.id;
      written =
        op.op === 'upsert'
          ? s.upsertDoc.run(op.collection, id, JSON.stringify(op.doc), seq)
          : s.deleteDoc.run(op.collection, id);
    }
    if (written.changes === 0) continue;
    if (unread && op.collection.startsWith(unread)) (wholeChanged ??= new Set()).add(op.collection);
    else s.recordChange.run(op.collection, seq, id);
  }
  for (const collection of wholeChanged ?? []) s.recordChange.run(collection, ++seq, WHOLE_COLLECTION_CHANGED);
  s.writeSeq.run(String(seq));
  const after = Number(s.changesAfter.get());
  if (seq - after > 2 * changesKept) {
    s.pruneChanges.run(seq - changesKept);
    s.writeChangesAfter.run(String(seq - changesKept));
  }
  if (batch.checkpoint)
    s.putCheckpoint.run(
      batch.checkpoint.projection,
      batch.checkpoint.position,
      batch.checkpoint.eventId ?? null,
      Date.now(),
    );
}
