import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { TIMER_STORE_FILE, TimerStore } from './timer-store';

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'timer-store-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

describe('the deadline timer index', () => {
  it("keeps each case's instant from the newest fold: an older fold's write is ignored, a case with none left keeps its row", () => {
    const store = new TimerStore(dir);
    try {
      store.update([{ caseId: 'c1', nextAt: 5_000, asOf: 20 }], 20);
      // A fold that had read only up to position 12 (taken before the act at 20): its instant does not replace.
      store.update([{ caseId: 'c1', nextAt: 9_000, asOf: 12 }]);
      expect(store.earliest()).toEqual({ caseId: 'c1', nextAt: 5_000 });
      // Nothing left for the case, from a fold as new: it leaves the instants, and an older fold cannot bring it back.
      store.update([{ caseId: 'c1', nextAt: null, asOf: 20 }]);
      store.update([{ caseId: 'c1', nextAt: 7_000, asOf: 15 }]);
      expect(store.earliest()).toBeNull();
      expect(store.counts(10_000)).toEqual({ open: 0, due: 0 });
      expect(store.due(10_000, 10)).toEqual([]);
      store.update([{ caseId: 'c1', nextAt: 8_000, asOf: 25 }]);
      expect(store.due(10_000, 10)).toEqual([{ caseId: 'c1', nextAt: 8_000 }]);
      expect(store.position()).toBe(20);
    } finally {
      store.close();
    }
  });

  it('an index written by the previous schema keeps its instants and position, each as of the start of the log', () => {
    const db = new Database(join(dir, TIMER_STORE_FILE));
    db.exec(`
      CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL) WITHOUT ROWID;
      INSERT INTO meta (key, value) VALUES ('schema_version', '1'), ('position', '42');
      CREATE TABLE case_timers (case_id TEXT PRIMARY KEY, next_at INTEGER NOT NULL) WITHOUT ROWID;
      CREATE INDEX case_timers_by_next ON case_timers (next_at, case_id);
      CREATE TABLE lease (name TEXT PRIMARY KEY, holder TEXT NOT NULL, expires_at INTEGER NOT NULL, fence INTEGER NOT NULL) WITHOUT ROWID;
      INSERT INTO case_timers (case_id, next_at) VALUES ('c1', 3000), ('c2', 1000);
    `);
    db.pragma('application_id = 0x72674454');
    db.close();
    const store = new TimerStore(dir);
    try {
      expect(store.position()).toBe(42);
      expect(store.due(5_000, 10)).toEqual([
        { caseId: 'c2', nextAt: 1_000 },
        { caseId: 'c1', nextAt: 3_000 },
      ]);
      // Any fold replaces them.
      store.update([{ caseId: 'c2', nextAt: null, asOf: 1 }]);
      expect(store.counts(5_000)).toEqual({ open: 1, due: 1 });
    } finally {
      store.close();
    }
  });
});
