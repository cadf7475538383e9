import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { describeReadStoreContract } from '../read-store.contract';
import { openSqliteReadStore, READ_STORE_PAGE_SIZE } from './sqlite-read-store';
import { CheckpointAheadError, LeaseLostError } from '../read-store.port';
import { openSqliteEventLog } from '../../event-log/sqlite/sqlite-event-log';

const dir = mkdtempSync(join(tmpdir(), 'reglament-read-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describeReadStoreContract('sqlite', async () => openSqliteReadStore({ file: join(dir, `read-${Math.random()}.db`) }));

/** A read store file as an earlier schema left it: `sql` creates its documents and checkpoints. */
function writeOldFile(file: string, sql: string): void {
  const old = new Database(file);
  old.exec(`
    PRAGMA journal_mode = WAL;
    CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL) WITHOUT ROWID;
    ${sql}
    PRAGMA application_id = ${0x52474c52};
  `);
  old.close();
}

describe('sqlite read store', () => {
  it('a second connection (another process) sees writes, updates and deletes made after its first query', async () => {
    const file = join(dir, 'shared.db');
    const writer = openSqliteReadStore({ file });
    const reader = openSqliteReadStore({ file });
    await writer.write({
      ops: [
        { op: 'upsert', collection: 'cases', doc: { _id: 'a', n: 1 } },
        { op: 'upsert', collection: 'cases', doc: { _id: 'b', n: 2 } },
      ],
    });
    expect(await reader.collection('cases').count()).toBe(2);
    await writer.write({
      ops: [
        { op: 'upsert', collection: 'cases', doc: { _id: 'a', n: 10 } },
        { op: 'delete', collection: 'cases', id: 'b' },
        { op: 'upsert', collection: 'cases', doc: { _id: 'c', n: 3 } },
      ],
    });
    expect(await reader.collection('cases').find({}, { sort: { _id: 1 } })).toEqual([
      { _id: 'a', n: 10 },
      { _id: 'c', n: 3 },
    ]);
    await writer.close();
    await reader.close();
  });

  it('keeps documents and checkpoints across a reopen', async () => {
    const file = join(dir, 'reopen.db');
    const first = openSqliteReadStore({ file });
    await first.write({
      ops: [{ op: 'upsert', collection: 'cases', doc: { _id: 'a' } }],
      checkpoint: { projection: 'p', position: 5 },
    });
    await first.close();
    const second = openSqliteReadStore({ file });
    expect(await second.collection('cases').get('a')).toEqual({ _id: 'a' });
    expect((await second.getCheckpoint('p'))!.position).toBe(5);
    await second.close();
  });

  it('a new file takes 16 KB pages, so a case document fits one; a file created with 4 KB pages keeps them and still takes writes', async () => {
    const fresh = join(dir, 'pages-new.db');
    const store = openSqliteReadStore({ file: fresh });
    const big = { _id: 'case', text: 'д'.repeat(3000) };
    await store.write({ ops: [{ op: 'upsert', collection: 'cases', doc: big }] });
    await store.close();
    const created = new Database(fresh, { readonly: true });
    expect(created.pragma('page_size', { simple: true })).toBe(READ_STORE_PAGE_SIZE);
    // The 6 KB document lives on its row's page: no overflow page is chained to it.
    expect(
      created.prepare("SELECT count(*) FROM dbstat WHERE name = 'documents' AND pagetype = 'overflow'").pluck().get(),
    ).toBe(0);
    created.close();

    const older = join(dir, 'pages-old.db');
    // A file SQLite created with 4 KB pages before this store was ever opened on it (as every file before this change).
    const bare = new Database(older);
    bare.pragma('page_size = 4096');
    bare.pragma('journal_mode = WAL');
    bare.close();
    const kept = openSqliteReadStore({ file: older });
    await kept.write({ ops: [{ op: 'upsert', collection: 'cases', doc: big }] });
    expect(await kept.collection('cases').get('case')).toEqual(big);
    await kept.close();
    const reopened = new Database(older, { readonly: true });
    expect(reopened.pragma('page_size', { simple: true })).toBe(4096);
    reopened.close();
  });

  it('a file of the first schema (documents WITHOUT ROWID) is migrated on open, keeping documents, deletions, change order and checkpoints', async () => {
    const file = join(dir, 'schema-1.db');
    writeOldFile(
      file,
      `
      CREATE TABLE documents (collection TEXT NOT NULL, id TEXT NOT NULL, doc TEXT, seq INTEGER NOT NULL, PRIMARY KEY (collection, id)) WITHOUT ROWID;
      CREATE INDEX documents_by_seq ON documents (collection, seq);
      CREATE TABLE checkpoints (projection TEXT PRIMARY KEY, position INTEGER NOT NULL, updated_at INTEGER NOT NULL) WITHOUT ROWID;
      INSERT INTO meta (key, value) VALUES ('seq', '3'), ('schema_version', '1');
      INSERT INTO documents VALUES ('cases', 'b', '{"_id":"b","n":2}', 1), ('cases', 'a', '{"_id":"a","n":1}', 2), ('cases', 'gone', NULL, 3);
      INSERT INTO checkpoints VALUES ('cases', 42, 0);
    `,
    );
    const store = openSqliteReadStore({ file });
    expect(await store.collection('cases').get('a')).toEqual({ _id: 'a', n: 1 });
    expect(await store.collection('cases').get('gone')).toBeNull();
    expect(await store.collection('cases').find({})).toEqual([
      { _id: 'b', n: 2 },
      { _id: 'a', n: 1 },
    ]);
    expect((await store.getCheckpoint('cases'))!.position).toBe(42);
    await store.write({ ops: [{ op: 'upsert', collection: 'cases', doc: { _id: 'a', n: 10 } }] });
    expect(await store.collection('cases').get('a')).toEqual({ _id: 'a', n: 10 });
    await store.close();
    const migrated = new Database(file, { readonly: true });
    expect(migrated.prepare("SELECT value FROM meta WHERE key = 'schema_version'").pluck().get()).toBe('5');
    expect(migrated.prepare("SELECT sql FROM sqlite_master WHERE name = 'documents'").pluck().get()).not.toMatch(
      /WITHOUT ROWID/,
    );
    // Schema 4: a checkpoint of an older schema keeps its position and has no event id recorded.
    expect(migrated.prepare("SELECT position, event_id FROM checkpoints WHERE projection = 'cases'").get()).toEqual({
      position: 42,
      event_id: null,
    });
    // Schema 3: the deletion is a recorded change, not a row kept with no document.
    expect(migrated.prepare('SELECT id FROM documents ORDER BY id').pluck().all()).toEqual(['a', 'b']);
    expect(migrated.prepare("SELECT id FROM changes WHERE collection = 'cases' ORDER BY seq").pluck().all()).toEqual([
      'b',
      'a',
      'gone',
      'a',
    ]);
    migrated.close();
  });

  it("a file of the second schema (tombstones, an index on each write's seq) is migrated on open, keeping documents, versions and checkpoints", async () => {
    const file = join(dir, 'schema-2.db');
    writeOldFile(
      file,
      `
      CREATE TABLE documents (collection TEXT NOT NULL, id TEXT NOT NULL, doc TEXT, seq INTEGER NOT NULL);
      CREATE UNIQUE INDEX documents_by_key ON documents (collection, id);
      CREATE INDEX documents_by_seq ON documents (collection, seq);
      CREATE TABLE checkpoints (projection TEXT PRIMARY KEY, position INTEGER NOT NULL, updated_at INTEGER NOT NULL) WITHOUT ROWID;
      INSERT INTO meta (key, value) VALUES ('seq', '4'), ('schema_version', '2');
      INSERT INTO documents VALUES ('cases', 'a', '{"_id":"a","n":1}', 1), ('cases', 'gone', NULL, 3), ('cases', 'b', '{"_id":"b","n":2}', 4), ('other', 'x', '{"_id":"x"}', 2);
      INSERT INTO checkpoints VALUES ('cases', 7, 0);
    `,
    );
    const store = openSqliteReadStore({ file });
    expect(await store.collection('cases').find({})).toEqual([
      { _id: 'a', n: 1 },
      { _id: 'b', n: 2 },
    ]);
    expect(await store.collection('cases').versionOf('gone')).toBeNull();
    expect(await store.collection('cases').versionOf('b')).toBe(4);
    expect(await store.listCollections()).toEqual(['cases', 'other']);
    await store.write({
      ops: [
        { op: 'delete', collection: 'cases', id: 'a' },
        { op: 'upsert', collection: 'cases', doc: { _id: 'c', n: 3 } },
      ],
      checkpoint: { projection: 'cases', position: 8 },
    });
    expect(await store.collection('cases').find({})).toEqual([
      { _id: 'b', n: 2 },
      { _id: 'c', n: 3 },
    ]);
    await store.close();
    const migrated = new Database(file, { readonly: true });
    expect(
      migrated
        .prepare("SELECT name FROM sqlite_master WHERE type = 'index' AND name = 'documents_by_seq'")
        .pluck()
        .get(),
    ).toBeUndefined();
    migrated.close();
  });

  it('keeps the newest changes only; a reader whose copy is older than all of them reads the collection whole, and misses nothing', async () => {
    const file = join(dir, 'pruned.db');
    const writer = openSqliteReadStore({ file, changesKept: 3 });
    const reader = openSqliteReadStore({ file, changesKept: 3 });
    const upsert = (id: string, n: number) => ({ op: 'upsert' as const, collection: 'cases', doc: { _id: id, n } });
    await writer.write({ ops: [upsert('a', 1), upsert('b', 1), upsert('c', 1)] });
    expect(await reader.collection('cases').count()).toBe(3);
    // Twenty changes later, the reader's last look is older than every change kept.
    for (let i = 2; i <= 10; i++) await writer.write({ ops: [upsert('a', i), upsert('d', i)] });
    await writer.write({ ops: [{ op: 'delete', collection: 'cases', id: 'b' }] });
    const kept = new Database(file, { readonly: true });
    expect(kept.prepare('SELECT count(*) FROM changes').pluck().get()).toBeLessThanOrEqual(7);
    kept.close();
    expect(await reader.collection('cases').find({}, { sort: { _id: 1 } })).toEqual([
      { _id: 'a', n: 10 },
      { _id: 'c', n: 1 },
      { _id: 'd', n: 10 },
    ]);
    // A reader that never looked reads it whole too.
    const late = openSqliteReadStore({ file });
    expect(await late.collection('cases').find({}, { sort: { _id: 1 } })).toEqual([
      { _id: 'a', n: 10 },
      { _id: 'c', n: 1 },
      { _id: 'd', n: 10 },
    ]);
    // And both follow the changes after.
    await writer.write({ ops: [upsert('c', 11), { op: 'delete', collection: 'cases', id: 'd' }] });
    for (const store of [reader, late])
      expect(await store.collection('cases').find({}, { sort: { _id: 1 } })).toEqual([
        { _id: 'a', n: 10 },
        { _id: 'c', n: 11 },
      ]);
    await Promise.all([writer.close(), reader.close(), late.close()]);
  });

  it('a collection dropped through another connection (a retired build) reads empty for a reader that kept a copy of it, which lets the copy go; a collection of that name written again is read as written', async () => {
    const file = join(dir, 'dropped.db');
    const worker = openSqliteReadStore({ file });
    const api = openSqliteReadStore({ file });
    const upsert = (collection: string, id: string) => ({ op: 'upsert' as const, collection, doc: { _id: id } });
    await worker.write({
      ops: [upsert('p.v1.g1.cases', 'a'), upsert('p.v1.g1.cases', 'b'), upsert('p.v1.g2.cases', 'a')],
      checkpoint: { projection: 'p.v1.g1', position: 2 },
    });
    const retired = api.collection('p.v1.g1.cases', { indexes: [{ key: { _id: 1 } }] });
    expect(await retired.count()).toBe(2);
    expect(await api.collection('p.v1.g2.cases').count()).toBe(1);
    expect(api.cachedDocuments()).toEqual(
      new Map([
        ['p.v1.g1.cases', 2],
        ['p.v1.g2.cases', 1],
      ]),
    );
    await worker.drop(['p.v1.g1.cases'], 'p.v1.g1');
    expect(await retired.count()).toBe(0);
    expect(await retired.find({}, { sort: { _id: 1 } })).toEqual([]);
    expect(api.cachedDocuments().get('p.v1.g1.cases') ?? 0).toBe(0);
    expect(await api.collection('p.v1.g2.cases').count()).toBe(1);
    await worker.write({ ops: [upsert('p.v1.g1.cases', 'c')] });
    expect(await retired.find({}, { sort: { _id: 1 } })).toEqual([{ _id: 'c' }]);
    await Promise.all([worker.close(), api.close()]);
  });

  it("a build written with one change per batch (unreadPrefix) is read whole by any reader, before the switch or after, which then follows its changes; other collections keep each document's", async () => {
    const file = join(dir, 'unread.db');
    const writer = openSqliteReadStore({ file });
    const reader = openSqliteReadStore({ file });
    const upsert = (collection: string, id: string, n: number) => ({
      op: 'upsert' as const,
      collection,
      doc: { _id: id, n },
    });
    // The reader already follows a live collection; the build's batches carry a checkpoint document outside the build.
    await writer.write({ ops: [upsert('_checkpoint-events', 'p.v1.g2', 0)] });
    expect(await reader.collection('_checkpoint-events').count()).toBe(1);
    for (let i = 0; i < 3; i++)
      await writer.write({
        ops: [
          upsert('p.v1.g2.cases', `a${i}`, i),
          upsert('p.v1.g2.cases', 'b', i),
          upsert('_checkpoint-events', 'p.v1.g2', i),
        ],
        unreadPrefix: 'p.v1.g2.',
      });
    // A reader of the build before its switch (a tool, a test) follows it too.
    expect(await reader.collection('p.v1.g2.cases').count()).toBe(4);
    await writer.write({ ops: [{ op: 'delete', collection: 'p.v1.g2.cases', id: 'a0' }], unreadPrefix: 'p.v1.g2.' });
    const raw = new Database(file, { readonly: true });
    expect(raw.prepare("SELECT count(*) FROM changes WHERE collection = 'p.v1.g2.cases'").pluck().get()).toBe(4);
    expect(raw.prepare("SELECT count(*) FROM changes WHERE collection = '_checkpoint-events'").pluck().get()).toBe(3);
    raw.close();
    expect(await reader.collection('_checkpoint-events').find({})).toEqual([{ _id: 'p.v1.g2', n: 2 }]);
    // Switched: the reader's first look reads the build whole, then follows its change records.
    expect(await reader.collection('p.v1.g2.cases').find({}, { sort: { _id: 1 } })).toEqual([
      { _id: 'a1', n: 1 },
      { _id: 'a2', n: 2 },
      { _id: 'b', n: 2 },
    ]);
    await writer.write({
      ops: [upsert('p.v1.g2.cases', 'b', 9), { op: 'delete', collection: 'p.v1.g2.cases', id: 'a1' }],
    });
    expect(await reader.collection('p.v1.g2.cases').find({}, { sort: { _id: 1 } })).toEqual([
      { _id: 'a2', n: 2 },
      { _id: 'b', n: 9 },
    ]);
    await Promise.all([writer.close(), reader.close()]);
  });

  it('the change mark moves with every commit of another connection, one right after another, and stands while nothing is written', async () => {
    const file = join(dir, 'marks.db');
    const writer = openSqliteReadStore({ file });
    const reader = openSqliteReadStore({ file });
    await writer.write({ ops: [{ op: 'upsert', collection: 'cases', doc: { _id: 'a', n: 0 } }] });
    let mark = reader.changeMark();
    expect(reader.changeMark()).toBe(mark);
    for (let n = 1; n <= 300; n++) {
      await writer.write({ ops: [{ op: 'upsert', collection: 'cases', doc: { _id: 'a', n } }] });
      const next = reader.changeMark();
      expect({ n, moved: next !== mark }).toEqual({ n, moved: true });
      expect(reader.changeMark()).toBe(next);
      expect(await reader.collection('cases').get('a')).toEqual({ _id: 'a', n });
      mark = next;
    }
    // The reader's own writes move it too (counted apart: SQLite's data_version leaves them out).
    await reader.write({ ops: [{ op: 'upsert', collection: 'cases', doc: { _id: 'b', n: 1 } }] });
    expect(reader.changeMark()).not.toBe(mark);
    await Promise.all([writer.close(), reader.close()]);
  });

  it("the change mark moves with each commit of another process, and what it then reads is that commit's", async () => {
    const file = join(dir, 'marks-process.db');
    const reader = openSqliteReadStore({ file });
    await reader.write({ ops: [{ op: 'upsert', collection: 'cases', doc: { _id: 'p', n: 0 } }] });
    const script = `
      const { openSqliteReadStore } = require(${JSON.stringify(require.resolve('./sqlite-read-store.ts'))});
      const store = openSqliteReadStore({ file: process.argv[1] });
      store.write({ ops: [{ op: 'upsert', collection: 'cases', doc: { _id: 'p', n: Number(process.argv[2]) } }] })
        .then(() => store.close());
    `;
    const register = join(__dirname, '../../../../test/support/swc-register.js');
    let mark = reader.changeMark();
    for (let n = 1; n <= 3; n++) {
      const child = spawnSync(process.execPath, ['-r', register, '-e', script, file, String(n)], { encoding: 'utf8' });
      expect(child.stderr).toBe('');
      expect(child.status).toBe(0);
      const next = reader.changeMark();
      expect(next).not.toBe(mark);
      expect(await reader.collection('cases').get('p')).toEqual({ _id: 'p', n });
      mark = next;
    }
    await reader.close();
  });

  it("a writer's WAL is checkpointed by a thread of the store, not by its commits, and closing leaves it empty", async () => {
    const file = join(dir, 'checkpointed.db');
    const store = openSqliteReadStore({ file, checkpointer: { intervalMs: 5, thresholdBytes: 64 * 1024 } });
    const docs = Array.from({ length: 40 }, (_, i) => ({ _id: `d${i}`, text: 'x'.repeat(4_000) }));
    await store.write({ ops: docs.map((doc) => ({ op: 'upsert' as const, collection: 'cases', doc })) });
    // The commit left its 160 KB in the WAL (SQLite's own checkpoint is off); the next write finds it past the threshold
    // and starts the thread, which copies it into the file.
    await store.write({ ops: [{ op: 'upsert', collection: 'cases', doc: docs[0]! }] });
    for (let waited = 0; store.checkpointsCompleted === 0 && waited < 10_000; waited += 10)
      await new Promise((resolve) => setTimeout(resolve, 10));
    expect(store.checkpointsCompleted).toBeGreaterThan(0);
    await store.close();
    await store.close();
    expect(statSync(`${file}-wal`, { throwIfNoEntry: false })?.size ?? 0).toBe(0);
    const reopened = openSqliteReadStore({ file });
    expect(await reopened.collection('cases').count()).toBe(40);
    expect(await reopened.collection('cases').get('d39')).toEqual(docs[39]);
    await reopened.close();
  });

  it('a batch written behind is taken when written (changed afterwards, it is stored as it was), committed in order by the writer thread, and seen by readers', async () => {
    const file = join(dir, 'behind.db');
    const writer = openSqliteReadStore({ file });
    const reader = openSqliteReadStore({ file });
    const mark = writer.changeMark();
    const doc = { _id: 'a', n: 1, name: 'Әсел' };
    const first = writer.write({
      ops: [{ op: 'upsert', collection: 'cases', doc }],
      checkpoint: { projection: 'p', position: 1 },
      behind: true,
    });
    doc.n = 99;
    const second = writer.write({
      ops: [
        { op: 'upsert', collection: 'cases', doc: { _id: 'b', n: 2 } },
        { op: 'delete', collection: 'cases', id: 'c' },
      ],
      checkpoint: { projection: 'p', position: 2 },
      behind: true,
    });
    // An older checkpoint written after them is a replay: nothing of it is stored, and it is refused as such.
    const replay = writer.write({
      ops: [{ op: 'upsert', collection: 'cases', doc: { _id: 'a', n: -1 } }],
      checkpoint: { projection: 'p', position: 1 },
      behind: true,
    });
    await expect(replay).rejects.toBeInstanceOf(CheckpointAheadError);
    await expect(replay).rejects.toMatchObject({ projection: 'p', position: 1, stored: 2 });
    await Promise.all([first, second]);
    expect(await reader.collection('cases').find({}, { sort: { _id: 1 } })).toEqual([
      { _id: 'a', n: 1, name: 'Әсел' },
      { _id: 'b', n: 2 },
    ]);
    expect((await reader.getCheckpoint('p'))?.position).toBe(2);
    expect(writer.changeMark()).not.toBe(mark);
    expect(await writer.collection('cases').get('a')).toEqual({ _id: 'a', n: 1, name: 'Әсел' });
    await Promise.all([writer.close(), reader.close()]);
  });

  it('a process that closes its store after a batch written behind runs on after the close (its exit code is its own), and a batch after close is refused', async () => {
    const file = join(dir, 'behind-close.db');
    // Review finding: the writer thread, unreferenced between batches, let a process with nothing else to do end in
    // the middle of close (exit code 0, the lines after close never run), so a failed rebuild looked like a success.
    const script = `
      const { openSqliteReadStore } = require(${JSON.stringify(require.resolve('./sqlite-read-store.ts'))});
      const store = openSqliteReadStore({ file: process.argv[1] });
      store
        .write({ ops: [{ op: 'upsert', collection: 'cases', doc: { _id: 'w', n: 1 } }], checkpoint: { projection: 'p', position: 1 }, behind: true })
        .then(() => store.close())
        .then(() => store.write({ ops: [], checkpoint: { projection: 'p', position: 2 }, behind: true }))
        .then(() => process.exit(4), (error) => { process.stdout.write(String(error.message)); process.exit(3); });
    `;
    const register = join(__dirname, '../../../../test/support/swc-register.js');
    const child = spawnSync(process.execPath, ['-r', register, '-e', script, file], { encoding: 'utf8' });
    expect(child.stderr).toBe('');
    expect(child.stdout).toBe('the read store is closed');
    expect(child.status).toBe(3);
    const reader = openSqliteReadStore({ file });
    expect(await reader.collection('cases').get('w')).toEqual({ _id: 'w', n: 1 });
    await reader.close();
  });

  it("a batch written behind under a lease taken over is refused inside the writer thread's transaction: LeaseLostError, nothing stored", async () => {
    const file = join(dir, 'behind-fenced.db');
    const store = openSqliteReadStore({ file });
    const first = await store.acquireLease('projection:p', 'runner-a', 60_000);
    await store.acquireLease('projection:p', 'runner-b', 60_000, { takeOver: true });
    const refused = store.write({
      ops: [{ op: 'upsert', collection: 'cases', doc: { _id: 'a' } }],
      checkpoint: { projection: 'p', position: 1 },
      fence: { lease: 'projection:p', token: first!.token },
      behind: true,
    });
    await expect(refused).rejects.toBeInstanceOf(LeaseLostError);
    await expect(refused).rejects.toMatchObject({ current: { holder: 'runner-b', token: first!.token + 1 } });
    expect(await store.collection('cases').count()).toBe(0);
    expect(await store.getCheckpoint('p')).toBeNull();
    await store.close();
  });

  it('refuses the event log file as a read store, naming it', async () => {
    const file = join(dir, 'events.db');
    await openSqliteEventLog({ file, checkpointer: false }).close();
    expect(() => openSqliteReadStore({ file })).toThrow(new RegExp(`${file}: is a reglament file of another kind`));
  });
});
