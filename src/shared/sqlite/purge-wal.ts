import type { SqliteDatabase } from './open-sqlite-file';

/**
 * How long a purge waits for a reader on an older snapshot: briefly, not a connection's 5 s on a thread that answers
 * requests or runs every projection; a purge refused is owed and tried again by its caller.
 */
export const PURGE_BUSY_TIMEOUT_MS = 5;

/**
 * Copies every WAL frame back into the file and empties the WAL, so the old page images of what was overwritten (with
 * secure_delete, the freed cells zeroed as they were written) are left nowhere. A reader still on an older snapshot
 * keeps them in use: waited for at most PURGE_BUSY_TIMEOUT_MS. True when done.
 */
export function purgeOldPageImages(db: SqliteDatabase): boolean {
  const previous = db.pragma('busy_timeout', { simple: true }) as number;
  db.pragma(`busy_timeout = ${PURGE_BUSY_TIMEOUT_MS}`);
  try {
    const [result] = db.pragma('wal_checkpoint(TRUNCATE)') as Array<{ busy: number }>;
    return result?.busy === 0;
  } finally {
    db.pragma(`busy_timeout = ${previous}`);
  }
}
