/**
 * The scheduler's index of open limits: per case, the next instant one of its limits reaches (a warning share or the
 * deadline), in a B-tree on that instant, so the next instant of a million cases is found in O(log n). Beside it the
 * position of the log it reflects, and the lease that lets one scheduler at a time fire. The index is derived from
 * the log: deleting the file only makes the scheduler rebuild it from the start of the log; what was fired is known
 * from the deadlines streams, never from here.
 */
import { join } from 'node:path';
import { openSqliteFile, type SqliteDatabase } from '../../../shared/sqlite/open-sqlite-file';

export const TIMER_STORE_FILE = 'deadline-timers.db';
/** PRAGMA application_id of the file: "rgDT". */
const TIMER_STORE_APPLICATION_ID = 0x72674454;

const MIGRATIONS = [
  {
    version: 1,
    sql: `
      CREATE TABLE case_timers (case_id TEXT PRIMARY KEY, next_at INTEGER NOT NULL) WITHOUT ROWID;
      CREATE INDEX case_timers_by_next ON case_timers (next_at, case_id);
      CREATE TABLE lease (name TEXT PRIMARY KEY, holder TEXT NOT NULL, expires_at INTEGER NOT NULL, fence INTEGER NOT NULL) WITHOUT ROWID;
    `,
  },
  {
    // Each case's next instant with the log position the fold it came from had read (as_of), so a write from an older
    // fold does not replace one from a newer (schedulers sharing the file write in turns); a case with no instant left
    // keeps its row (next_at NULL) for the same reason.
    version: 2,
    sql: `
      CREATE TABLE case_timers_v2 (case_id TEXT PRIMARY KEY, next_at INTEGER, as_of INTEGER NOT NULL DEFAULT 0) WITHOUT ROWID;
      INSERT INTO case_timers_v2 (case_id, next_at) SELECT case_id, next_at FROM case_timers;
      DROP TABLE case_timers;
      ALTER TABLE case_timers_v2 RENAME TO case_timers;
      CREATE INDEX case_timers_by_next ON case_timers (next_at, case_id) WHERE next_at IS NOT NULL;
    `,
  },
];

export interface CaseTimer {
  caseId: string;
  nextAt: number;
}

/** A case's next instant (null: none left), from a fold of its streams that had read the log up to `asOf`. */
export interface CaseTimerUpdate {
  caseId: string;
  nextAt: number | null;
  asOf: number;
}

export class TimerStore {
  private readonly db: SqliteDatabase;
  private readonly statements;

  constructor(dataDir: string) {
    this.db = openSqliteFile({
      file: join(dataDir, TIMER_STORE_FILE),
      applicationId: TIMER_STORE_APPLICATION_ID,
      kind: 'deadline timer index',
      migrations: MIGRATIONS,
    });
    // Rebuilt from the log when lost: a commit need not wait for fsync, and no background checkpointer runs here.
    this.db.pragma('synchronous = NORMAL');
    this.db.pragma('wal_autocheckpoint = 1000');
    this.statements = {
      position: this.db.prepare("SELECT value FROM meta WHERE key = 'position'").pluck(),
      setPosition: this.db.prepare(
        "INSERT INTO meta (key, value) VALUES ('position', ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value",
      ),
      upsert: this.db.prepare(
        'INSERT INTO case_timers (case_id, next_at, as_of) VALUES (?, ?, ?) ON CONFLICT(case_id) DO UPDATE SET next_at = excluded.next_at, as_of = excluded.as_of WHERE excluded.as_of >= case_timers.as_of',
      ),
      earliest: this.db.prepare(
        'SELECT case_id AS caseId, next_at AS nextAt FROM case_timers WHERE next_at IS NOT NULL ORDER BY next_at, case_id LIMIT 1',
      ),
      due: this.db.prepare(
        'SELECT case_id AS caseId, next_at AS nextAt FROM case_timers WHERE next_at <= ? ORDER BY next_at, case_id LIMIT ?',
      ),
      count: this.db.prepare('SELECT count(*) FROM case_timers WHERE next_at IS NOT NULL').pluck(),
      dueCount: this.db.prepare('SELECT count(*) FROM case_timers WHERE next_at <= ?').pluck(),
      lease: this.db.prepare('SELECT holder, expires_at AS expiresAt, fence FROM lease WHERE name = ?'),
      putLease: this.db.prepare(
        'INSERT INTO lease (name, holder, expires_at, fence) VALUES (?, ?, ?, ?) ON CONFLICT(name) DO UPDATE SET holder = excluded.holder, expires_at = excluded.expires_at, fence = excluded.fence',
      ),
    };
  }

  /** The log position the index reflects; 0 before anything was indexed. */
  position(): number {
    const value = this.statements.position.get() as string | undefined;
    return value === undefined ? 0 : Number(value);
  }

  /**
   * Sets the next instant of each case, unless the index holds one from a fold that had read further (a larger asOf),
   * and the position the index reflects, in one transaction.
   */
  update(timers: ReadonlyArray<CaseTimerUpdate>, position?: number): void {
    this.db.transaction(() => {
      for (const { caseId, nextAt, asOf } of timers) this.statements.upsert.run(caseId, nextAt, asOf);
      if (position !== undefined && position > this.position()) this.statements.setPosition.run(String(position));
    })();
  }

  earliest(): CaseTimer | null {
    return (this.statements.earliest.get() as CaseTimer | undefined) ?? null;
  }

  /** The cases whose next instant is at or before `now`, earliest first. */
  due(now: number, limit: number): CaseTimer[] {
    return this.statements.due.all(now, limit) as CaseTimer[];
  }

  counts(now: number): { open: number; due: number } {
    return { open: this.statements.count.get() as number, due: this.statements.dueCount.get(now) as number };
  }

  /**
   * Takes or renews the named lease for `holder` until `now + ttlMs` when it is free, expired or already its own;
   * answers whether the holder has it. The fence grows with each new holder (logged with what it fires).
   */
  acquire(name: string, holder: string, now: number, ttlMs: number): { held: boolean; fence: number } {
    return this.db
      .transaction(() => {
        const current = this.statements.lease.get(name) as
          { holder: string; expiresAt: number; fence: number } | undefined;
        if (current && current.holder !== holder && current.expiresAt > now)
          return { held: false, fence: current.fence };
        const fence = current?.holder === holder ? current.fence : (current?.fence ?? 0) + 1;
        this.statements.putLease.run(name, holder, now + ttlMs, fence);
        return { held: true, fence };
      })
      .immediate();
  }

  release(name: string, holder: string): void {
    const current = this.statements.lease.get(name) as { holder: string } | undefined;
    if (current?.holder === holder)
      this.statements.putLease.run(name, holder, 0, (this.statements.lease.get(name) as { fence: number }).fence);
  }

  close(): void {
    this.db.close();
  }
}
