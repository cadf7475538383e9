import Database from 'better-sqlite3';
import { MemoryTree } from '../../src/modules/transparency/domain/merkle';
import { leafData } from '../../src/modules/transparency/domain/log-leaf';

/** The Merkle tree recomputed from scratch over the events of an events.db as stored, the reference a stored tree must equal. */
export function recomputedTree(file: string): MemoryTree {
  const db = new Database(file, { readonly: true });
  const tree = new MemoryTree();
  for (const row of db
    .prepare('SELECT id, stream_id, type, data, metadata FROM events ORDER BY position')
    .all() as Array<Record<string, string>>)
    tree.appendLeaf(
      leafData({ id: row.id!, streamId: row.stream_id!, type: row.type!, data: row.data!, metadata: row.metadata! }),
    );
  db.close();
  return tree;
}
