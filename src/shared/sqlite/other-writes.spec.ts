import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { OtherWrites } from './other-writes';

const dir = mkdtempSync(join(tmpdir(), 'reglament-other-writes-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function open(file: string, mode: 'WAL' | 'DELETE'): Database.Database {
  const db = new Database(file);
  db.pragma(`journal_mode = ${mode}`);
  db.exec('CREATE TABLE IF NOT EXISTS t (n INTEGER)');
  return db;
}

describe('OtherWrites', () => {
  it.each(['WAL', 'DELETE'] as const)(
    "answers SQLite's own data_version after every commit of another connection, asking SQLite only when one may have happened (%s)",
    (mode) => {
      const file = join(dir, `${mode}.db`);
      const reader = open(file, mode);
      const writer = open(file, mode);
      const statement = reader.prepare('PRAGMA data_version').pluck();
      let asked = 0;
      const writes = new OtherWrites(file, () => {
        asked++;
        return statement.get() as number;
      });
      const first = writes.dataVersion();
      expect(writes.dataVersion()).toBe(first);
      for (let n = 1; n <= 50; n++) {
        writer.prepare('INSERT INTO t (n) VALUES (?)').run(n);
        const before = asked;
        expect(writes.dataVersion()).toBe(statement.get());
        expect(asked).toBe(before + 1);
        // Nothing written since: in WAL mode the header says so and SQLite is not asked again.
        writes.dataVersion();
        expect(asked).toBe(mode === 'WAL' ? before + 1 : before + 2);
      }
      expect(writes.dataVersion()).not.toBe(first);
      writes.close();
      writer.close();
      reader.close();
    },
  );
});
