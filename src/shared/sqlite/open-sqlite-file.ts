import Database from 'better-sqlite3';
import { closeSync, existsSync, openSync, readSync, statSync } from 'node:fs';
import { DATA_FILE_MODE } from '../data-dir';

export type SqliteDatabase = Database.Database;

/** The storage file is not a reglament database, or is corrupt. */
export class StorageOpenError extends Error {
  override readonly name: string = 'StorageOpenError';
  constructor(
    readonly file: string,
    readonly problem: string,
  ) {
    super(`${file}: ${problem}`);
  }
}

/**
 * A file SQLite finds damaged as it opens it (a truncated file, a torn header page): refused as damage, exit 65 as
 * the start's own check refuses a damaged page, not as a file that could not be opened (exit 1).
 */
export class StorageDamagedOnOpenError extends StorageOpenError {
  override readonly name = 'StorageDamagedOnOpenError';
  readonly exitCode = 65;
  constructor(file: string, problem: string) {
    super(file, problem);
    this.message = `${file} is damaged: ${problem}; run \`npm run cli -- check\` and restore it from its backup`;
  }
}

/** Whether SQLite failed because a file is damaged (a page it cannot read, a file that is no database). */
export function isSqliteDamage(error: unknown): boolean {
  return /^SQLITE_(CORRUPT|NOTADB)/.test(String((error as { code?: unknown } | null)?.code ?? ''));
}

/** What opening a file failed with: damage SQLite found named as such. */
function openFailure(file: string, kind: string, error: unknown): StorageOpenError {
  if (isSqliteDamage(error)) return new StorageDamagedOnOpenError(file, (error as Error).message);
  return new StorageOpenError(file, `cannot open the ${kind}: ${(error as Error).message}`);
}

/** One schema step; applied in order, each in its own transaction, recorded in `meta.schema_version`. */
export interface Migration {
  version: number;
  sql: string;
}

export interface SqliteFileSpec {
  file: string;
  /** PRAGMA application_id marking which reglament store the file is, so the wrong file is refused by name. */
  applicationId: number;
  /** Human name used in errors: "event log", "read store". */
  kind: string;
  migrations: readonly Migration[];
  /** The page size (bytes, a power of two from 512 to 65,536) a new file is created with; an existing file keeps its own. */
  pageSize?: number;
}

const SQLITE_HEADER = 'SQLite format 3\u0000';

/** How much of a file reads map into memory; the rest is read with pread. */
export const MMAP_BYTES = 1024 * 1024 * 1024;

/**
 * Opens (or creates) a reglament SQLite file: WAL, synchronous=FULL, schema migrated.
 * A file that is not SQLite, is another program's database, another reglament store, or was written by
 * a newer schema is refused with StorageOpenError naming the file, before anything is written to it.
 */
export function openSqliteFile(spec: SqliteFileSpec): SqliteDatabase {
  const { file, applicationId, kind, migrations } = spec;
  const isNew = !existsSync(file) || statSync(file).size === 0;
  if (!isNew) checkHeader(file, kind);
  // Created 0600 before SQLite opens it: its WAL and shared-memory files take the database file's mode.
  if (!existsSync(file)) createPrivately(file);
  let db: SqliteDatabase;
  try {
    db = new Database(file);
  } catch (error) {
    throw openFailure(file, kind, error);
  }
  try {
    // First: every statement after it, the journal mode's included, waits for another connection's lock (a rebuild's
    // other thread writing a batch) instead of failing at once with "database is locked".
    db.pragma('busy_timeout = 5000');
    // Only an empty file takes it: in WAL mode the page size of a database is fixed once it is created.
    if (isNew && spec.pageSize) db.pragma(`page_size = ${spec.pageSize}`);
    db.pragma('journal_mode = WAL');
    // FULL: a commit is acknowledged only after the WAL is fsynced — an accepted command is never lost.
    db.pragma('synchronous = FULL');
    // Checkpoints run in a background thread (WalCheckpointer), never on the commit path.
    db.pragma('wal_autocheckpoint = 0');
    db.pragma('cache_size = -65536');
    db.pragma('temp_store = MEMORY');
    // Reads through a memory map instead of a pread(2) per page: a case view touches a dozen pages of a large
    // document, and on virtual machines each system call is dear. Writes still go through the WAL.
    db.pragma(`mmap_size = ${MMAP_BYTES}`);
    const existingId = db.pragma('application_id', { simple: true }) as number;
    const tableCount = (
      db.prepare("SELECT count(*) AS n FROM sqlite_master WHERE type = 'table'").get() as { n: number }
    ).n;
    if (existingId === 0 && tableCount > 0) {
      throw new StorageOpenError(
        file,
        `is a SQLite database but not a reglament ${kind} (it has other tables and no reglament marker); point DATA_DIR elsewhere`,
      );
    }
    if (existingId !== 0 && existingId !== applicationId) {
      throw new StorageOpenError(
        file,
        `is a reglament file of another kind (application_id 0x${existingId.toString(16)}), not the ${kind}`,
      );
    }
    migrate(db, spec);
    return db;
  } catch (error) {
    db.close();
    if (error instanceof StorageOpenError) throw error;
    throw openFailure(file, kind, error);
  }
}

/** An empty file, this user's alone (an empty file is a new database to SQLite); one made meanwhile is left. */
export function createPrivately(file: string): void {
  try {
    closeSync(openSync(file, 'wx', DATA_FILE_MODE));
  } catch (error) {
    if ((error as { code?: string }).code !== 'EEXIST') throw error;
  }
}

function checkHeader(file: string, kind: string): void {
  const header = Buffer.alloc(16);
  const fd = openSync(file, 'r');
  try {
    readSync(fd, header, 0, 16, 0);
  } finally {
    closeSync(fd);
  }
  if (header.toString('latin1') !== SQLITE_HEADER) {
    throw new StorageOpenError(
      file,
      `is not a SQLite database (bad header), so it cannot be the ${kind}; it may be corrupt or another file`,
    );
  }
}

function migrate(db: SqliteDatabase, { file, applicationId, kind, migrations }: SqliteFileSpec): void {
  db.exec('CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL) WITHOUT ROWID');
  const row = db.prepare("SELECT value FROM meta WHERE key = 'schema_version'").get() as { value: string } | undefined;
  const current = row ? Number(row.value) : 0;
  const latest = migrations.reduce((max, m) => Math.max(max, m.version), 0);
  if (current > latest) {
    throw new StorageOpenError(
      file,
      `the ${kind} has schema version ${current}, newer than this build knows (${latest}); upgrade reglament`,
    );
  }
  for (const migration of [...migrations].sort((a, b) => a.version - b.version)) {
    if (migration.version <= current) continue;
    db.transaction(() => {
      db.exec(migration.sql);
      db.prepare(
        "INSERT INTO meta (key, value) VALUES ('schema_version', ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value",
      ).run(String(migration.version));
    })();
  }
  db.pragma(`application_id = ${applicationId}`);
}
