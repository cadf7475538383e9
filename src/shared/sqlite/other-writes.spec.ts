import { mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
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

  // Found in review: the helper once opened the -shm file itself and closed it with the store, and closing any
  // descriptor of a file drops every POSIX lock the process holds on it, SQLite's "this file is in use" lock included.
  it("leaves SQLite's locks on the -shm file in place when it is closed", () => {
    const file = join(dir, 'locks.db');
    const reader = open(file, 'WAL');
    const other = open(file, 'WAL');
    const writes = new OtherWrites(file, () => reader.prepare('PRAGMA data_version').pluck().get() as number);
    writes.dataVersion();
    writes.dataVersion();
    const inode = statSync(`${file}-shm`).ino;
    const ours = () =>
      readFileSync('/proc/locks', 'utf8')
        .split('\n')
        .filter((line) => line.includes(` ${process.pid} `) && line.includes(`:${inode} `));
    expect(ours().length).toBeGreaterThan(0);
    writes.close();
    reader.close();
    // The other connection is still open: its lock must still be there.
    expect(ours().length).toBeGreaterThan(0);
    other.close();
  });

  it('reads the -shm file SQLite uses when the database is reached through a symbolic link, not a stale one beside the link', () => {
    const realDir = join(dir, 'real');
    mkdirSync(realDir);
    const realFile = join(realDir, 'x.db');
    const link = join(dir, 'link.db');
    open(realFile, 'WAL').close();
    symlinkSync(realFile, link);
    // A -shm left beside the link (a crash, a move): its header never changes.
    writeFileSync(`${link}-shm`, Buffer.alloc(32768, 7));
    const reader = open(link, 'WAL');
    const writer = open(realFile, 'WAL');
    const statement = reader.prepare('PRAGMA data_version').pluck();
    const writes = new OtherWrites(link, () => statement.get() as number);
    writes.dataVersion();
    for (let n = 1; n <= 20; n++) {
      writer.prepare('INSERT INTO t (n) VALUES (?)').run(n);
      expect(writes.dataVersion()).toBe(statement.get());
    }
    writes.close();
    writer.close();
    reader.close();
  });
});
