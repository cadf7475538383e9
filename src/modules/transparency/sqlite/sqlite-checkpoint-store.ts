/**
 * Every checkpoint the log signed, in DATA_DIR/checkpoints.db: a file of its own, so a replaced or rolled-back
 * events.db still meets the checkpoints signed before, and `verify` reports the first one it contradicts.
 */
import Database, { type Statement } from 'better-sqlite3';
import { openSqliteFile, type SqliteDatabase } from '../../../shared/sqlite/open-sqlite-file';

/** 'RGLC': marks a file as a reglament checkpoint store. */
export const CHECKPOINT_STORE_APPLICATION_ID = 0x52474c43;
export const CHECKPOINT_STORE_FILE = 'checkpoints.db';

const MIGRATIONS = [
  {
    version: 1,
    sql: `
      CREATE TABLE checkpoints (
        seq       INTEGER PRIMARY KEY,
        tree_size INTEGER NOT NULL,
        root      BLOB    NOT NULL,
        signed_at INTEGER NOT NULL,  -- POSIX seconds, as in the note's time line
        key_id    TEXT    NOT NULL,  -- hex, the signed-note key id
        note      TEXT    NOT NULL,  -- the signed note exactly as served
        cosignatures TEXT NOT NULL DEFAULT ''  -- witnesses' verified cosignature lines, appended as they come
      );
      CREATE INDEX checkpoints_by_size ON checkpoints (tree_size);
    `,
  },
  {
    version: 2,
    sql: `
      -- Checkpoints of a history the operator accepted as lost (accept-log-loss): kept as evidence, never served as
      -- the log's state again; a witness holding one reports the fork, which the recorded acceptance explains.
      CREATE TABLE superseded_checkpoints (
        seq       INTEGER PRIMARY KEY,
        tree_size INTEGER NOT NULL,
        root      BLOB    NOT NULL,
        signed_at INTEGER NOT NULL,
        key_id    TEXT    NOT NULL,
        note      TEXT    NOT NULL,
        cosignatures TEXT NOT NULL DEFAULT '',
        superseded_at INTEGER NOT NULL,
        reason    TEXT    NOT NULL
      );
    `,
  },
];

export interface StoredCheckpoint {
  seq: number;
  size: number;
  root: Buffer;
  signedAt: Date;
  keyId: string;
  note: string;
  /**
   * Witnesses' cosignature lines (c2sp.org/tlog-cosignature), verified when they were added; before witnesses had to
   * be configured, lines of any key were kept, so readers serve only those of configured witnesses.
   */
  cosignatures: string;
}

type Row = {
  seq: number;
  tree_size: number;
  root: Buffer;
  signed_at: number;
  key_id: string;
  note: string;
  cosignatures: string;
};
const toCheckpoint = (row: Row): StoredCheckpoint => ({
  seq: row.seq,
  size: row.tree_size,
  root: row.root,
  signedAt: new Date(row.signed_at * 1000),
  keyId: row.key_id,
  note: row.note,
  cosignatures: row.cosignatures,
});

/** Every checkpoint, oldest first, and how many an accepted loss set aside: read by the store and by readCheckpointFile. */
const ALL_CHECKPOINTS = 'SELECT * FROM checkpoints ORDER BY seq';
const SUPERSEDED_COUNT = 'SELECT count(*) FROM superseded_checkpoints';

/**
 * The checkpoints of a checkpoints.db read as the file is, through a read-only connection, and how many an accepted
 * loss set aside: `restore` reads a copy it has not verified yet, which opening it as the store would change (marked,
 * migrated, given a WAL). Throws an Error saying what is wrong with a file that is not a checkpoint store or is damaged.
 */
export function readCheckpointFile(file: string): { checkpoints: StoredCheckpoint[]; superseded: number } {
  const db = new Database(file, { readonly: true, fileMustExist: true });
  try {
    const id = db.pragma('application_id', { simple: true }) as number;
    if (id !== CHECKPOINT_STORE_APPLICATION_ID)
      throw new Error(`${file} is not a reglament checkpoint store (application_id 0x${id.toString(16)})`);
    const tables = new Set(db.prepare<[], string>("SELECT name FROM sqlite_master WHERE type = 'table'").pluck().all());
    if (!tables.has('checkpoints')) throw new Error(`${file} has no checkpoints table`);
    const rows = db.prepare<[], Row>(ALL_CHECKPOINTS).all();
    const superseded = tables.has('superseded_checkpoints')
      ? (db.prepare(SUPERSEDED_COUNT).pluck().get() as number)
      : 0;
    return { checkpoints: rows.map(toCheckpoint), superseded };
  } finally {
    db.close();
  }
}

export interface CheckpointStore {
  add(checkpoint: Omit<StoredCheckpoint, 'seq' | 'cosignatures'>): StoredCheckpoint;
  /** Replaces a checkpoint's cosignature lines (the log keeps one per witness). */
  setCosignatures(seq: number, lines: string): void;
  /** The checkpoint whose note has exactly this body (the text a cosignature signs, its time line included). */
  withBody(size: number, body: string): StoredCheckpoint | null;
  /** The checkpoints holding at least `size` leaves that carry cosignature lines, newest first. */
  cosignedNewestFirst(size: number): Iterable<StoredCheckpoint>;
  latest(): StoredCheckpoint | null;
  /** Newest first, below `before` (a seq). */
  page(options: { before?: number; limit: number }): StoredCheckpoint[];
  /** The newest checkpoint of exactly this tree size. */
  ofSize(size: number): StoredCheckpoint | null;
  /** Oldest first. */
  all(): Iterable<StoredCheckpoint>;
  /** Per key id, the first and last instant it signed a checkpoint. */
  keyUse(): Map<string, { first: Date; last: Date; checkpoints: number }>;
  /** Moves the checkpoints of more than `size` leaves aside (an accepted loss of events); returns how many. */
  supersedeBeyond(size: number, reason: string): number;
  /** How many checkpoints an accepted loss set aside. */
  supersededCount(): number;
  close(): void;
}

export class SqliteCheckpointStore implements CheckpointStore {
  private readonly db: SqliteDatabase;
  private readonly insert: Statement;
  private readonly latestStmt: Statement<[], Row>;
  private readonly pageStmt: Statement<[number, number], Row>;
  private readonly ofSizeStmt: Statement<[number], Row>;
  private readonly allStmt: Statement<[], Row>;

  constructor(readonly file: string) {
    this.db = openSqliteFile({
      file,
      applicationId: CHECKPOINT_STORE_APPLICATION_ID,
      kind: 'checkpoint store',
      migrations: MIGRATIONS,
    });
    this.insert = this.db.prepare(
      'INSERT INTO checkpoints (tree_size, root, signed_at, key_id, note) VALUES (?, ?, ?, ?, ?)',
    );
    this.latestStmt = this.db.prepare<[], Row>('SELECT * FROM checkpoints ORDER BY seq DESC LIMIT 1');
    this.pageStmt = this.db.prepare<[number, number], Row>(
      'SELECT * FROM checkpoints WHERE seq < ? ORDER BY seq DESC LIMIT ?',
    );
    this.ofSizeStmt = this.db.prepare<[number], Row>(
      'SELECT * FROM checkpoints WHERE tree_size = ? ORDER BY seq DESC LIMIT 1',
    );
    this.allStmt = this.db.prepare<[], Row>(ALL_CHECKPOINTS);
  }

  add(checkpoint: Omit<StoredCheckpoint, 'seq' | 'cosignatures'>): StoredCheckpoint {
    const seq = Number(
      this.insert.run(
        checkpoint.size,
        checkpoint.root,
        Math.floor(checkpoint.signedAt.getTime() / 1000),
        checkpoint.keyId,
        checkpoint.note,
      ).lastInsertRowid,
    );
    return { ...checkpoint, seq, cosignatures: '' };
  }

  setCosignatures(seq: number, lines: string): void {
    this.db.prepare('UPDATE checkpoints SET cosignatures = ? WHERE seq = ?').run(lines, seq);
  }

  withBody(size: number, body: string): StoredCheckpoint | null {
    const row = this.db
      .prepare<[number, string, string], Row>(
        'SELECT * FROM checkpoints WHERE tree_size = ? AND substr(note, 1, length(?) + 1) = ? ORDER BY seq DESC LIMIT 1',
      )
      .get(size, body, `${body}\n`);
    return row ? toCheckpoint(row) : null;
  }

  *cosignedNewestFirst(size: number): Iterable<StoredCheckpoint> {
    const rows = this.db
      .prepare<[number], Row>("SELECT * FROM checkpoints WHERE tree_size >= ? AND cosignatures <> '' ORDER BY seq DESC")
      .iterate(size);
    for (const row of rows) yield toCheckpoint(row);
  }

  latest(): StoredCheckpoint | null {
    const row = this.latestStmt.get();
    return row ? toCheckpoint(row) : null;
  }

  page({ before = Number.MAX_SAFE_INTEGER, limit }: { before?: number; limit: number }): StoredCheckpoint[] {
    return this.pageStmt.all(before, limit).map(toCheckpoint);
  }

  ofSize(size: number): StoredCheckpoint | null {
    const row = this.ofSizeStmt.get(size);
    return row ? toCheckpoint(row) : null;
  }

  *all(): Iterable<StoredCheckpoint> {
    for (const row of this.allStmt.iterate()) yield toCheckpoint(row);
  }

  keyUse(): Map<string, { first: Date; last: Date; checkpoints: number }> {
    const rows = this.db
      .prepare(
        'SELECT key_id, min(signed_at) AS first, max(signed_at) AS last, count(*) AS n FROM checkpoints GROUP BY key_id',
      )
      .all() as Array<{ key_id: string; first: number; last: number; n: number }>;
    return new Map(
      rows.map((r) => [r.key_id, { first: new Date(r.first * 1000), last: new Date(r.last * 1000), checkpoints: r.n }]),
    );
  }

  supersedeBeyond(size: number, reason: string): number {
    return this.db.transaction(() => {
      const moved = this.db
        .prepare(
          'INSERT INTO superseded_checkpoints (seq, tree_size, root, signed_at, key_id, note, cosignatures, superseded_at, reason) SELECT seq, tree_size, root, signed_at, key_id, note, cosignatures, ?, ? FROM checkpoints WHERE tree_size > ?',
        )
        .run(Math.floor(Date.now() / 1000), reason, size).changes;
      this.db.prepare('DELETE FROM checkpoints WHERE tree_size > ?').run(size);
      return moved;
    })();
  }

  supersededCount(): number {
    return this.db.prepare(SUPERSEDED_COUNT).pluck().get() as number;
  }

  close(): void {
    this.db.close();
  }
}
