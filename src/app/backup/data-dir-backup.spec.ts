/**
 * The backup runs while the service writes: files appear under temporary names and vanish between the listing and
 * their copy. Found once in CI (the head record's `events.head.json.tmp`, listed, then renamed away before it was
 * read, failed the whole backup); these reproduce it on real files without a server's timing.
 */
import Database from 'better-sqlite3';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { backupDataDir, dataFiles, readVerifiedManifest } from './data-dir-backup';

let root: string;
let dataDir: string;
beforeEach(() => {
  root = mkdtempSync(join(tmpdir(), 'backup-race-'));
  dataDir = join(root, 'data');
  mkdirSync(dataDir);
  const log = new Database(join(dataDir, 'events.db'));
  log.pragma('journal_mode = WAL');
  log.exec('CREATE TABLE events (position INTEGER PRIMARY KEY, data TEXT); INSERT INTO events (data) VALUES (1), (2)');
  log.close();
  writeFileSync(join(dataDir, 'events.head.json'), '{"position":2,"eventId":"e2"}');
  writeFileSync(join(dataDir, 'a-holder.json'), '{}');
});
afterEach(() => rmSync(root, { recursive: true, force: true }));

it('leaves out a file being written under a temporary name: it is never part of the data directory', async () => {
  writeFileSync(join(dataDir, 'events.head.json.tmp'), '{"position":3');
  expect(dataFiles(dataDir).map((f) => f.name)).toEqual(['a-holder.json', 'events.head.json', 'events.db']);
  const manifest = await backupDataDir(dataDir, join(root, 'copy'));
  expect(manifest.files.map((f) => f.name)).toEqual(['a-holder.json', 'events.head.json', 'events.db']);
  expect(readdirSync(join(root, 'copy')).filter((f) => f.endsWith('.tmp'))).toEqual([]);
});

it('goes on when a file listed at the start is gone by the time it is copied, and the backup verifies', async () => {
  // Deleted right after the first file is copied, as the service's own rename would do it mid-backup.
  const manifest = await backupDataDir(dataDir, join(root, 'copy'), ({ file }) => {
    if (file === 'a-holder.json') unlinkSync(join(dataDir, 'events.head.json'));
  });
  expect(manifest.files.map((f) => f.name)).toEqual(['a-holder.json', 'events.db']);
  expect(readVerifiedManifest(join(root, 'copy')).files).toHaveLength(2);
});

it('still fails when the log itself is gone: a backup without the log is no backup', async () => {
  // What is thrown is SQLite's own error; better-sqlite3's native part keeps the error class of the first test file
  // that loaded it in this jest worker (another realm), so it is checked by its message, not with toThrow.
  const failure = await backupDataDir(dataDir, join(root, 'copy'), ({ file }) => {
    if (file === 'a-holder.json')
      for (const f of ['events.db', 'events.db-wal', 'events.db-shm']) rmSync(join(dataDir, f), { force: true });
  }).then(
    () => null,
    (error: unknown) => String((error as { message?: unknown }).message),
  );
  expect(failure).toMatch(/unable to open|not copied|no event log/);
  expect(existsSync(join(root, 'copy', 'manifest.json'))).toBe(false);
});
