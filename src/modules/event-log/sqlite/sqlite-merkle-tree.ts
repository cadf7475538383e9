/**
 * The event log's Merkle tree as stored in events.db (table tree_nodes, written by the writer thread right behind the
 * events): reads for proofs, and the catch-up or full rebuild from the log that the writer itself never does.
 */
import type { Statement } from 'better-sqlite3';
import type { SqliteDatabase } from '../../../shared/sqlite/open-sqlite-file';
import { hash as oneShotHash } from 'node:crypto';
import {
  leavesOfNodeCount,
  nodePosition,
  rootAt,
  storedNodeCount,
  type NodeSource,
} from '../../transparency/domain/merkle';
import { leafData, leafHashOf } from '../../transparency/domain/log-leaf';
import { storedLinks } from '../../cases/domain/hash-chain';
import { TreeBuilder } from './tree-builder';

const PAGE = 5000;

type LeafRow = { position: number; id: string; stream_id: string; type: string; data: string; metadata: string };
type MetadataRow = [position: number, metadata: string];

/** Rows per multi-row INSERT while building: one statement step for many nodes. */
const INSERT_BATCH = 200;

export class SqliteMerkleTree implements NodeSource {
  private readonly getNode: Statement<[number], Buffer>;
  private readonly putNode: Statement<[number, Uint8Array]>;
  private readonly sizeStmt: Statement<[], number>;
  private readonly logSizeStmt: Statement<[], number>;
  private readonly rowsAfter: Statement<[number, number], MetadataRow>;
  private readonly putNodes: Statement<number[]>;
  private readonly rowAt: Statement<[number], LeafRow>;
  private readonly byId: Statement<[string], LeafRow>;

  /** `settle`: waits until the tree holds what the log has acknowledged (SqliteEventLog), before the size is read. */
  constructor(
    private readonly db: SqliteDatabase,
    private readonly settle: () => void = () => undefined,
  ) {
    this.getNode = db.prepare<[number], Buffer>('SELECT hash FROM tree_nodes WHERE pos = ?').pluck();
    this.putNode = db.prepare('INSERT INTO tree_nodes (pos, hash) VALUES (?, ?)');
    this.sizeStmt = db.prepare<[], number>('SELECT coalesce(max(pos) + 1, 0) FROM tree_nodes').pluck();
    this.logSizeStmt = db.prepare<[], number>('SELECT coalesce(max(position), 0) FROM events').pluck();
    // Building reads the metadata only: a sealed event's leaf is its hash; the rest is read for an unsealed one.
    this.rowsAfter = db
      .prepare<[number, number], MetadataRow>(
        'SELECT position, metadata FROM events WHERE position > ? ORDER BY position LIMIT ?',
      )
      .raw();
    this.putNodes = db.prepare<number[]>(
      `INSERT INTO tree_nodes (pos, hash) VALUES ${Array.from({ length: INSERT_BATCH }, () => '(?, ?)').join(', ')}`,
    );
    this.byId = db.prepare<[string], LeafRow>(
      'SELECT position, id, stream_id, type, data, metadata FROM events WHERE id = ?',
    );
    this.rowAt = db.prepare<[number], LeafRow>(
      'SELECT position, id, stream_id, type, data, metadata FROM events WHERE position = ?',
    );
  }

  /** Leaves in the tree (committed). Throws when the stored nodes are not those of any whole tree. */
  size(): number {
    // Inside a transaction of this connection the writer could not store anything before it ends.
    if (!this.db.inTransaction) this.settle();
    return this.storedSize();
  }

  private storedSize(): number {
    const nodes = this.sizeStmt.get()!;
    const leaves = leavesOfNodeCount(nodes);
    if (leaves === null)
      throw new Error(
        `the log's Merkle tree holds ${nodes} nodes, which no whole tree has: it is damaged; rebuild it (npm run cli -- rebuild-tree)`,
      );
    return leaves;
  }

  logSize(): number {
    return this.logSizeStmt.get()!;
  }

  /**
   * The log's last position and the events actually stored (fewer when some were deleted; positions are gapless
   * otherwise), read in one statement: another process committing between two reads would look like a deletion.
   */
  logExtent(): { positions: number; events: number } {
    return this.db
      .prepare<[], { positions: number; events: number }>(
        'SELECT coalesce(max(position), 0) AS positions, count(*) AS events FROM events',
      )
      .get()!;
  }

  node(level: number, index: number): Uint8Array {
    const hash = this.getNode.get(nodePosition(level, index));
    if (!hash) throw new RangeError(`the log's Merkle tree has no node (${level}, ${index})`);
    return hash;
  }

  /** The leaf of an event by its id: its index and leaf data (the sealed hash). */
  leafOfEvent(eventId: string): { index: number; data: Buffer } | null {
    const row = this.byId.get(eventId.toLowerCase());
    return row
      ? {
          index: row.position - 1,
          data: leafData({
            id: row.id,
            streamId: row.stream_id,
            type: row.type,
            data: row.data,
            metadata: row.metadata,
          }),
        }
      : null;
  }

  /** The leaf data of the event at leaf `index`. */
  leafAt(index: number): Buffer | null {
    const row = this.rowAt.get(index + 1);
    return row
      ? leafData({ id: row.id, streamId: row.stream_id, type: row.type, data: row.data, metadata: row.metadata })
      : null;
  }

  /** The leaf hash event `position` should have, recomputed from the event as stored; null when there is none. */
  recomputedLeafHash(position: number): Buffer | null {
    const row = this.rowAt.get(position);
    return row
      ? leafHashOf({ id: row.id, streamId: row.stream_id, type: row.type, data: row.data, metadata: row.metadata })
      : null;
  }

  /**
   * Adds the leaves of events the tree does not have yet (a log written before the tree existed), in one
   * transaction. Refuses a tree larger than the log: events were removed under it.
   */
  catchUp(progress?: (leaves: number) => void): { added: number } {
    let added = 0;
    this.settle();
    this.db
      .transaction(() => {
        const start = this.storedSize();
        const head = this.logSize();
        if (start > head)
          throw new Error(
            `the Merkle tree holds ${start} leaves but the log only ${head} events: events were removed from the log`,
          );
        added = this.appendFrom(start, progress);
      })
      .immediate();
    return { added };
  }

  /**
   * Drops the stored tree and builds it again from every event, in one transaction: this thread reads the events,
   * a builder thread (tree-builder.ts) hashes and stores the nodes. The builder takes the write lock first, so the
   * events read are the ones the tree commits to; a rebuild that stops half-way leaves the tree it started from.
   */
  rebuild(progress?: (leaves: number) => void): { leaves: number } {
    this.settle();
    const builder = new TreeBuilder(this.db.name);
    let read = 0;
    try {
      this.db
        .transaction(() => {
          for (;;) {
            const rows = this.rowsAfter.all(read, PAGE);
            if (rows.length === 0) break;
            const leaves = Buffer.allocUnsafeSlow(rows.length * 32);
            for (let r = 0; r < rows.length; r++) {
              const [position, metadata] = rows[r]!;
              if (position !== read + 1)
                throw new Error(`the log has no event at position ${read + 1}: positions must be gapless for its tree`);
              const sealed = storedLinks(metadata)?.hash;
              if (sealed) leaves.write(sealed, r * 32, 'hex');
              else leaves.set(this.leafAt(read)!, r * 32);
              read++;
            }
            builder.add(leaves);
            progress?.(read);
          }
        })
        .deferred();
    } catch (error) {
      builder.abort();
      throw error;
    }
    const built = builder.commit();
    // What this connection now sees must be the tree the builder committed (the same file, every leaf). A running
    // service may have appended events and their leaves since the commit released the lock: the tree may be larger,
    // and its first `read` leaves must have the root the builder computed.
    if (
      built.leaves !== read ||
      this.size() < read ||
      (read > 0 && !Buffer.from(rootAt(this, read)).equals(built.root!))
    )
      throw new Error(
        `the rebuilt tree is not the one this log sees (${built.leaves} leaves built, ${this.size()} stored, ${read} events read): rebuild it again (npm run cli -- rebuild-tree)`,
      );
    return { leaves: read };
  }

  private appendFrom(start: number, progress?: (leaves: number) => void): number {
    // The right edge of the tree: edge[level] is the left node at that level still waiting for its sibling.
    const edge: Uint8Array[] = [];
    for (let level = 0; 2 ** level <= start; level++) {
      const index = Math.floor(start / 2 ** level);
      if (index % 2 === 1) edge[level] = this.node(level, index - 1);
    }
    let pos = storedNodeCount(start);
    let pending: Array<number | Uint8Array> = [];
    const put = (hash: Uint8Array) => {
      pending.push(pos++, hash);
      if (pending.length === INSERT_BATCH * 2) {
        this.putNodes.run(...(pending as number[]));
        pending = [];
      }
    };
    // RFC 9162 hashing (merkle.ts hashLeaf / hashChildren) into two reused buffers: a leaf's hex goes straight into
    // its input and each node's children are copied into the other, so a leaf costs its two hashes and no allocations.
    const leafInput = Buffer.alloc(33);
    const nodeInput = Buffer.alloc(65);
    nodeInput[0] = 1;
    let index = start;
    for (;;) {
      const rows = this.rowsAfter.all(index, PAGE);
      if (rows.length === 0) break;
      for (const [position, metadata] of rows) {
        if (position !== index + 1)
          throw new Error(`the log has no event at position ${index + 1}: positions must be gapless for its tree`);
        const sealed = storedLinks(metadata)?.hash;
        let hash: Uint8Array;
        if (sealed) {
          leafInput.write(sealed, 1, 'hex');
          hash = oneShotHash('sha256', leafInput, 'buffer');
        } else hash = this.recomputedLeafHash(position)!;
        put(hash);
        let level = 0;
        for (let i = index; i % 2 === 1; i = (i - 1) / 2) {
          nodeInput.set(edge[level]!, 1);
          nodeInput.set(hash, 33);
          hash = oneShotHash('sha256', nodeInput, 'buffer');
          level++;
          put(hash);
        }
        edge[level] = hash;
        index++;
      }
      progress?.(index);
    }
    for (let i = 0; i < pending.length; i += 2) this.putNode.run(pending[i] as number, pending[i + 1] as Uint8Array);
    return index - start;
  }
}
