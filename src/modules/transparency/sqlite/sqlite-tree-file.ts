/**
 * The log's Merkle tree in a file of its own (DATA_DIR/tree.db), for an event log that cannot keep it in its own
 * transaction (EventStoreDB): the worker follows the log and appends each event as a leaf, with the event's id and
 * position, so proofs can be found by event id. Nodes are numbered in post-order as in events.db.
 */
import type { Statement } from 'better-sqlite3';
import { openSqliteFile, type SqliteDatabase } from '../../../shared/sqlite/open-sqlite-file';
import { hashChildren, hashLeaf, leavesOfNodeCount, nodePosition, storedNodeCount } from '../domain/merkle';
import type { MerkleTreeReader } from '../transparency-log';

/** 'RGLT': marks a file as a reglament Merkle tree. */
export const TREE_FILE_APPLICATION_ID = 0x52474c54;
export const TREE_FILE = 'tree.db';

const MIGRATIONS = [
  {
    version: 1,
    sql: `
      CREATE TABLE tree_nodes (pos INTEGER PRIMARY KEY, hash BLOB NOT NULL);
      CREATE TABLE leaves (
        idx      INTEGER PRIMARY KEY,
        event_id TEXT    NOT NULL,
        position INTEGER NOT NULL,   -- the event's position in the log (EventStoreDB: its prepare position)
        leaf     BLOB    NOT NULL    -- the leaf data: the event's sealed hash
      );
      CREATE UNIQUE INDEX leaves_by_event ON leaves (event_id);
    `,
  },
];

export interface LeafToAppend {
  eventId: string;
  position: number;
  leaf: Buffer;
}

export class SqliteTreeFile implements MerkleTreeReader {
  private readonly db: SqliteDatabase;
  private readonly getNode: Statement<[number], Buffer>;
  private readonly putNode: Statement<[number, Uint8Array]>;
  private readonly putLeaf: Statement<[number, string, number, Uint8Array]>;
  private readonly nodeCount: Statement<[], number>;
  private readonly lastPositionStmt: Statement<[], number>;
  private readonly byEvent: Statement<[string], { idx: number; leaf: Buffer }>;
  private readonly byIndex: Statement<[number], Buffer>;

  constructor(readonly file: string) {
    this.db = openSqliteFile({
      file,
      applicationId: TREE_FILE_APPLICATION_ID,
      kind: 'Merkle tree',
      migrations: MIGRATIONS,
    });
    this.getNode = this.db.prepare<[number], Buffer>('SELECT hash FROM tree_nodes WHERE pos = ?').pluck();
    this.putNode = this.db.prepare('INSERT INTO tree_nodes (pos, hash) VALUES (?, ?)');
    this.putLeaf = this.db.prepare('INSERT INTO leaves (idx, event_id, position, leaf) VALUES (?, ?, ?, ?)');
    this.nodeCount = this.db.prepare<[], number>('SELECT coalesce(max(pos) + 1, 0) FROM tree_nodes').pluck();
    this.lastPositionStmt = this.db
      .prepare<[], number>('SELECT coalesce((SELECT position FROM leaves ORDER BY idx DESC LIMIT 1), 0)')
      .pluck();
    this.byEvent = this.db.prepare<[string], { idx: number; leaf: Buffer }>(
      'SELECT idx, leaf FROM leaves WHERE event_id = ?',
    );
    this.byIndex = this.db.prepare<[number], Buffer>('SELECT leaf FROM leaves WHERE idx = ?').pluck();
  }

  size(): number {
    const nodes = this.nodeCount.get()!;
    const leaves = leavesOfNodeCount(nodes);
    if (leaves === null) throw new Error(`${this.file} holds ${nodes} nodes, which no whole tree has: it is damaged`);
    return leaves;
  }

  /** The log position of the last event in the tree: where following resumes. */
  lastPosition(): number {
    return this.lastPositionStmt.get()!;
  }

  node(level: number, index: number): Uint8Array {
    const hash = this.getNode.get(nodePosition(level, index));
    if (!hash) throw new RangeError(`the Merkle tree has no node (${level}, ${index})`);
    return hash;
  }

  leafOfEvent(eventId: string): { index: number; data: Buffer } | null {
    const row = this.byEvent.get(eventId.toLowerCase());
    return row ? { index: row.idx, data: row.leaf } : null;
  }

  leafAt(index: number): Buffer | null {
    return this.byIndex.get(index) ?? null;
  }

  /** Appends leaves in log order, in one transaction. */
  append(leaves: readonly LeafToAppend[]): void {
    this.db
      .transaction(() => {
        const start = this.size();
        const edge: Uint8Array[] = [];
        for (let level = 0; 2 ** level <= start; level++) {
          const index = Math.floor(start / 2 ** level);
          if (index % 2 === 1) edge[level] = this.node(level, index - 1);
        }
        let pos = storedNodeCount(start);
        leaves.forEach((leaf, k) => {
          const index = start + k;
          this.putLeaf.run(index, leaf.eventId.toLowerCase(), leaf.position, leaf.leaf);
          let hash: Uint8Array = hashLeaf(leaf.leaf);
          this.putNode.run(pos++, hash);
          let level = 0;
          for (let i = index; i % 2 === 1; i = (i - 1) / 2) {
            hash = hashChildren(edge[level]!, hash);
            level++;
            this.putNode.run(pos++, hash);
          }
          edge[level] = hash;
        });
      })
      .immediate();
  }

  close(): void {
    this.db.close();
  }
}
