/**
 * The event log's Merkle tree as stored in events.db (table tree_nodes, written by the writer thread with the
 * events): reads for proofs, and the catch-up or full rebuild from the log that the writer itself never does.
 */
import type { Statement } from 'better-sqlite3';
import type { SqliteDatabase } from '../../../shared/sqlite/open-sqlite-file';
import { appendLeafHash, type NodeSource } from '../../transparency/domain/merkle';
import { leafData, leafHashOf } from '../../transparency/domain/log-leaf';

const PAGE = 5000;

type LeafRow = { position: number; id: string; stream_id: string; type: string; data: string; metadata: string };

export class SqliteMerkleTree implements NodeSource {
  private readonly getNode: Statement<[number, number], Buffer>;
  private readonly putNode: Statement<[number, number, Uint8Array]>;
  private readonly sizeStmt: Statement<[], number>;
  private readonly logSizeStmt: Statement<[], number>;
  private readonly rowsAfter: Statement<[number, number], LeafRow>;
  private readonly rowAt: Statement<[number], LeafRow>;
  private readonly byId: Statement<[string], LeafRow>;

  constructor(private readonly db: SqliteDatabase) {
    this.getNode = db.prepare<[number, number], Buffer>('SELECT hash FROM tree_nodes WHERE level = ? AND idx = ?').pluck();
    this.putNode = db.prepare('INSERT INTO tree_nodes (level, idx, hash) VALUES (?, ?, ?)');
    this.sizeStmt = db.prepare<[], number>('SELECT coalesce(max(idx) + 1, 0) FROM tree_nodes WHERE level = 0').pluck();
    this.logSizeStmt = db.prepare<[], number>('SELECT coalesce(max(position), 0) FROM events').pluck();
    this.rowsAfter = db.prepare<[number, number], LeafRow>('SELECT position, id, stream_id, type, data, metadata FROM events WHERE position > ? ORDER BY position LIMIT ?');
    this.byId = db.prepare<[string], LeafRow>('SELECT position, id, stream_id, type, data, metadata FROM events WHERE id = ?');
    this.rowAt = db.prepare<[number], LeafRow>('SELECT position, id, stream_id, type, data, metadata FROM events WHERE position = ?');
  }

  /** Leaves in the tree (committed). */
  size(): number {
    return this.sizeStmt.get()!;
  }

  logSize(): number {
    return this.logSizeStmt.get()!;
  }

  /** Events actually stored: fewer than logSize() when some were deleted (positions are gapless otherwise). */
  eventCount(): number {
    return this.db.prepare<[], number>('SELECT count(*) FROM events').pluck().get()!;
  }

  node(level: number, index: number): Uint8Array {
    const hash = this.getNode.get(level, index);
    if (!hash) throw new RangeError(`the log's Merkle tree has no node (${level}, ${index})`);
    return hash;
  }

  /** The leaf of an event by its id: its index and leaf data (the sealed hash). */
  leafOfEvent(eventId: string): { index: number; data: Buffer } | null {
    const row = this.byId.get(eventId.toLowerCase());
    return row ? { index: row.position - 1, data: leafData({ id: row.id, streamId: row.stream_id, type: row.type, data: row.data, metadata: row.metadata }) } : null;
  }

  /** The leaf data of the event at leaf `index`. */
  leafAt(index: number): Buffer | null {
    const row = this.rowAt.get(index + 1);
    return row ? leafData({ id: row.id, streamId: row.stream_id, type: row.type, data: row.data, metadata: row.metadata }) : null;
  }

  /** The leaf hash event `position` should have, recomputed from the event as stored; null when there is none. */
  recomputedLeafHash(position: number): Buffer | null {
    const row = this.rowAt.get(position);
    return row ? leafHashOf({ id: row.id, streamId: row.stream_id, type: row.type, data: row.data, metadata: row.metadata }) : null;
  }

  /**
   * Adds the leaves of events the tree does not have yet (a log written before the tree existed), in one
   * transaction. Refuses a tree larger than the log: events were removed under it.
   */
  catchUp(progress?: (leaves: number) => void): { added: number } {
    let added = 0;
    this.db
      .transaction(() => {
        const start = this.size();
        const head = this.logSize();
        if (start > head) throw new Error(`the Merkle tree holds ${start} leaves but the log only ${head} events: events were removed from the log`);
        added = this.appendFrom(start, progress);
      })
      .immediate();
    return { added };
  }

  /** Drops the stored tree and builds it again from every event, in one transaction. */
  rebuild(progress?: (leaves: number) => void): { leaves: number } {
    let leaves = 0;
    this.db
      .transaction(() => {
        this.db.prepare('DELETE FROM tree_nodes').run();
        leaves = this.appendFrom(0, progress);
      })
      .immediate();
    return { leaves };
  }

  private appendFrom(start: number, progress?: (leaves: number) => void): number {
    // Nodes written by this run are read back from memory: only the right edge is ever read again.
    const written = new Map<string, Uint8Array>();
    const source: NodeSource = { node: (level, index) => written.get(`${level}:${index}`) ?? this.node(level, index) };
    const put = (level: number, index: number, hash: Uint8Array) => {
      this.putNode.run(level, index, hash);
      if (index % 2 === 0) written.set(`${level}:${index}`, hash);
      written.delete(`${level}:${index - 2}`);
    };
    let index = start;
    for (;;) {
      const rows = this.rowsAfter.all(index, PAGE);
      if (rows.length === 0) break;
      for (const row of rows) {
        if (row.position !== index + 1) throw new Error(`the log has no event at position ${index + 1}: positions must be gapless for its tree`);
        appendLeafHash(source, put, index, leafHashOf({ id: row.id, streamId: row.stream_id, type: row.type, data: row.data, metadata: row.metadata }));
        index++;
      }
      progress?.(index);
    }
    return index - start;
  }
}
