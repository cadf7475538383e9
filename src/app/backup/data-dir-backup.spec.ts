/**
 * The backup runs while the service writes: files appear under temporary names and vanish between the listing and
 * their copy. Found once in CI (the head record's `events.head.json.tmp`, listed, then renamed away before it was
 * read, failed the whole backup); these reproduce it on real files without a server's timing.
 */
import Database from 'better-sqlite3';
import { createHash, randomBytes } from 'node:crypto';
import {
  closeSync,
  existsSync,
  ftruncateSync,
  mkdirSync,
  mkdtempSync,
  openSync,
  readdirSync,
  rmSync,
  statSync,
  unlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { backupDataDir, dataFiles, readVerifiedManifest, sha256OfFile } from './data-dir-backup';

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

it('copies the key store after the log: the log depends on it (a key is committed before the act sealed under it)', () => {
  for (const name of ['keys.db', 'read.db', 'personal-data-master-key']) writeFileSync(join(dataDir, name), '');
  expect(dataFiles(dataDir).map((f) => f.name)).toEqual([
    'a-holder.json',
    'events.head.json',
    'personal-data-master-key',
    'read.db',
    'events.db',
    'keys.db',
  ]);
});

describe('hashes a file in pieces, so a data file past 2 GiB (what one Buffer holds) backs up and restores', () => {
  it('gives the SHA-256 of the whole file, over many reads', () => {
    // 3.5 MiB of random bytes: several reads and a short last one.
    const bytes = randomBytes(3.5 * 1024 * 1024);
    writeFileSync(join(dataDir, 'blob.bin'), bytes);
    expect(sha256OfFile(join(dataDir, 'blob.bin'))).toBe(createHash('sha256').update(bytes).digest('hex'));
    writeFileSync(join(dataDir, 'empty.bin'), '');
    expect(sha256OfFile(join(dataDir, 'empty.bin'))).toBe(createHash('sha256').digest('hex'));
  });

  it('verifies a backup holding a file of more than 2 GiB (a sparse one: no disk space taken)', () => {
    const big = join(dataDir, 'big.db');
    const bytes = 2 * 1024 * 1024 * 1024 + 1024 * 1024;
    const fd = openSync(big, 'w');
    try {
      ftruncateSync(fd, bytes);
    } finally {
      closeSync(fd);
    }
    // A filesystem without sparse files would write 2 GiB here: not worth it in a unit test.
    if (statSync(big).blocks * 512 > 64 * 1024 * 1024) return;
    const zeros = Buffer.alloc(1024 * 1024);
    const expected = createHash('sha256');
    for (let done = 0; done < bytes; done += zeros.length) expected.update(zeros);
    writeFileSync(
      join(dataDir, 'manifest.json'),
      JSON.stringify({
        format: 1,
        createdAt: new Date().toISOString(),
        source: dataDir,
        files: [
          { name: 'big.db', kind: 'sqlite', bytes, sha256: expected.digest('hex') },
          {
            name: 'events.db',
            kind: 'sqlite',
            bytes: statSync(join(dataDir, 'events.db')).size,
            sha256: sha256OfFile(join(dataDir, 'events.db')),
          },
        ],
      }),
    );
    // It threw ERR_FS_FILE_TOO_LARGE (readFileSync of the whole file), after a backup had copied everything.
    expect(readVerifiedManifest(dataDir).files.map((f) => f.name)).toEqual(['big.db', 'events.db']);
  }, 180_000);
});
