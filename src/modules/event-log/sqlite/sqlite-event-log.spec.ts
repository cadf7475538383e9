import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { describeEventLogContract } from '../event-log.contract';
import { StorageOpenError } from '../event-log.errors';
import { decodeRaw, isUndecoded } from '../event-log.port';
import { openSqliteEventLog } from './sqlite-event-log';

const dirs: string[] = [];
function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'reglament-log-'));
  dirs.push(dir);
  return dir;
}
afterAll(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

describeEventLogContract('sqlite', async () => openSqliteEventLog({ file: join(tempDir(), 'events.db') }));

describe('sqlite event log', () => {
  it('concurrent appends share one commit, each with its own result', async () => {
    const log = openSqliteEventLog({ file: join(tempDir(), 'events.db') });
    const results = await Promise.all(
      Array.from({ length: 50 }, (_, i) => log.append(`case-${i}`, [{ type: 'A', data: { i } }], 'no_stream')),
    );
    const stats = log.groupCommitStats();
    expect(stats.appends).toBe(50);
    expect(stats.commits).toBeLessThan(5);
    expect(stats.largestGroup).toBeGreaterThan(10);
    expect(new Set(results.map((r) => r.position)).size).toBe(50);
    await log.close();
  });

  it('groups of successive turns are handed over without waiting for each other, commit in order, and share commits', async () => {
    const log = openSqliteEventLog({ file: join(tempDir(), 'events.db') });
    const appends: Promise<{ nextRevision: number }>[] = [];
    // One append per turn of the event loop, each expecting the revision the one before it will make.
    for (let i = 0; i < 40; i++) {
      appends.push(log.append('case-1', [{ type: 'A', data: { i } }], i === 0 ? 'no_stream' : i - 1));
      await new Promise((resolve) => setImmediate(resolve));
    }
    expect((await Promise.all(appends)).map((r) => r.nextRevision)).toEqual(Array.from({ length: 40 }, (_, i) => i));
    const stats = log.groupCommitStats();
    expect(stats.groups).toBe(40);
    expect(stats.appends).toBe(40);
    expect(stats.commits).toBeLessThanOrEqual(40);
    expect((await log.readStream('case-1')).map((e) => (e.data as { i: number }).i)).toEqual(
      Array.from({ length: 40 }, (_, i) => i),
    );
    await log.close();
  });

  /**
   * Until the writer thread has stored the tree behind its last commit (10 ms after it, on its own): a lone append that
   * asks for the tree meanwhile has the writer store it again, and meets that transaction's write lock, so it goes to
   * the writer thread as it should when the lock is held (seen once in CI). The test below is about the rule, not that.
   */
  async function treeStored(file: string, leaves: number): Promise<void> {
    const nodes = 2 * leaves - leaves.toString(2).replace(/0/g, '').length;
    const reader = new Database(file, { readonly: true });
    try {
      const count = reader.prepare('SELECT count(*) FROM tree_nodes').pluck();
      const deadline = Date.now() + 10_000;
      while ((count.get() as number) < nodes && Date.now() < deadline) await new Promise((r) => setTimeout(r, 5));
    } finally {
      reader.close();
    }
  }

  it("a lone append after another is committed on the calling thread, durable and in order with the writer thread's commits; one that meets another connection's write lock goes to the writer thread and waits for it", async () => {
    const file = join(tempDir(), 'events.db');
    // The order of commits apart from the thread's load: a loaded machine (CI) made this thread look busy with other
    // work, and its second lone append went to the writer thread (the spin below reproduces that moment).
    const log = openSqliteEventLog({ file, inlineCommits: 'regardless-of-load' });
    await log.append('case-0', [{ type: 'A', data: {} }], 'no_stream');
    await treeStored(file, 1);
    const until = performance.now() + 60;
    while (performance.now() < until);
    await log.append('case-1', [{ type: 'A', data: { i: 0 } }], 'no_stream');
    // The first lone append goes to the writer thread, the second in a row is committed here.
    expect(log.groupCommitStats()).toMatchObject({ inlineCommits: 1, commits: 2 });
    // A group goes to the writer thread; two lone appends after it: the second is committed here, on the tree the writer extended.
    await Promise.all([
      log.append('case-2', [{ type: 'A', data: {} }], 'no_stream'),
      log.append('case-3', [{ type: 'A', data: {} }], 'no_stream'),
    ]);
    await log.append('case-4', [{ type: 'A', data: {} }], 'no_stream');
    await treeStored(file, 5);
    await log.append('case-1', [{ type: 'A', data: { i: 1 } }], 0);
    expect(log.groupCommitStats()).toMatchObject({ inlineCommits: 2, commits: 5 });
    expect(log.tree.size()).toBe(6);
    // Another process holds the write lock: the append is not refused, it is committed by the writer thread once the lock is free.
    const other = new Database(file);
    other.exec('BEGIN IMMEDIATE');
    const waiting = log.append('case-1', [{ type: 'A', data: { i: 2 } }], 1);
    await new Promise((resolve) => setTimeout(resolve, 50));
    other.exec('COMMIT');
    other.close();
    expect((await waiting).nextRevision).toBe(2);
    expect(log.groupCommitStats()).toMatchObject({ inlineCommits: 2, commits: 6 });
    expect((await log.readStream('case-1')).map((e) => (e.data as { i: number }).i)).toEqual([0, 1, 2]);
    await log.close();
    const reopened = new Database(file, { readonly: true });
    expect(reopened.prepare('SELECT count(*) FROM events').pluck().get()).toBe(7);
    reopened.close();
  });

  it('a thread busy with other work hands its lone appends to the writer thread; once it is idle again, or only appends, they are committed on it', async () => {
    const log = openSqliteEventLog({ file: join(tempDir(), 'events.db') });
    const spin = (ms: number) => {
      const until = performance.now() + ms;
      while (performance.now() < until);
    };
    const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
    // The writer thread started and idle; then requests answered between the appends: the thread spends most of its
    // time on them. The first two verdicts may still read the quiet start (the writer thread's) and the log's own
    // opening of its inline connection.
    await log.append('warm-up', [{ type: 'A', data: {} }], 'no_stream');
    for (let i = 0; i < 8; i++) {
      spin(80);
      await log.append(`busy-${i}`, [{ type: 'A', data: {} }], 'no_stream');
    }
    expect(log.groupCommitStats().appends).toBe(9);
    expect(log.groupCommitStats().inlineCommits).toBeLessThanOrEqual(2);
    const inlineWhileBusy = log.groupCommitStats().inlineCommits;
    // Nothing else to do between them: lone appends after the first two are committed on this thread.
    await pause(50);
    for (let i = 0; i < 6; i++) {
      await log.append(`idle-${i}`, [{ type: 'A', data: {} }], 'no_stream');
      await pause(5);
    }
    expect(log.groupCommitStats().inlineCommits - inlineWhileBusy).toBeGreaterThanOrEqual(5);
    // A caller that only appends, one after another: the thread never waits (its commits are inline), and its appends'
    // preparation is the log's own work, so it stays inline: four in five at least (a machine loaded by other
    // processes once stalled enough of its fsyncs to hand 146 of the 1,500 to the writer thread).
    const inlineBefore = log.groupCommitStats().inlineCommits;
    for (let i = 0; i < 1500; i++) await log.append(`only-${i}`, [{ type: 'A', data: { i } }], 'no_stream');
    expect(log.groupCommitStats().inlineCommits - inlineBefore).toBeGreaterThanOrEqual(1200);
    expect((await log.readAll({ maxCount: 2000 })).length).toBe(1515);
    await log.close();
  });

  it('a conflicting append in a group fails alone; the others of its commit are stored', async () => {
    const log = openSqliteEventLog({ file: join(tempDir(), 'events.db') });
    await log.append('case-x', [{ type: 'A', data: {} }], 'no_stream');
    const outcomes = await Promise.allSettled([
      log.append('case-y', [{ type: 'B', data: {} }], 'no_stream'),
      log.append('case-x', [{ type: 'Conflict', data: {} }], 'no_stream'),
      log.append('case-z', [{ type: 'C', data: {} }], 'no_stream'),
    ]);
    expect(outcomes.map((o) => o.status)).toEqual(['fulfilled', 'rejected', 'fulfilled']);
    expect(log.groupCommitStats().largestGroup).toBe(3);
    expect((await log.readAll()).map((e) => e.type)).toEqual(['A', 'B', 'C']);
    await log.close();
  });

  it('keeps its events across a reopen, and positions continue', async () => {
    const file = join(tempDir(), 'events.db');
    const first = openSqliteEventLog({ file });
    await first.append('case-1', [{ type: 'A', data: { n: 1 } }], 'no_stream');
    await first.close();
    const second = openSqliteEventLog({ file });
    const result = await second.append('case-1', [{ type: 'B', data: {} }], 0);
    expect(result).toEqual({ nextRevision: 1, position: 2 });
    expect((await second.readStream('case-1')).map((e) => e.data)).toEqual([{ n: 1 }, {}]);
    await second.close();
  });

  it('checkpoints the WAL in a background thread: once writes pause, every WAL frame is in the database', async () => {
    const file = join(tempDir(), 'events.db');
    const log = openSqliteEventLog({ file, checkpointer: { intervalMs: 5, thresholdBytes: 64 * 1024 } });
    const payload = { text: 'x'.repeat(2000) };
    for (let round = 0; round < 40; round++) {
      await Promise.all(
        Array.from({ length: 20 }, (_, i) =>
          log.append(`case-${round}-${i}`, [{ type: 'A', data: payload }], 'no_stream'),
        ),
      );
    }
    const deadline = Date.now() + 5000;
    while (
      !(log.lastCheckpoint && log.lastCheckpoint.log > 0 && log.lastCheckpoint.frames === log.lastCheckpoint.log) &&
      Date.now() < deadline
    ) {
      await new Promise((r) => setTimeout(r, 10));
    }
    expect(log.checkpointsCompleted).toBeGreaterThan(0);
    expect(log.lastCheckpoint!.frames).toBe(log.lastCheckpoint!.log);
    await log.close();
  });

  it('refuses a file that is not SQLite, naming it', () => {
    const file = join(tempDir(), 'events.db');
    writeFileSync(file, 'this is a text file, not a database');
    expect(() => openSqliteEventLog({ file })).toThrow(StorageOpenError);
    expect(() => openSqliteEventLog({ file })).toThrow(new RegExp(`${file}: is not a SQLite database`));
  });

  it("refuses another program's SQLite database without touching it", () => {
    const file = join(tempDir(), 'events.db');
    const other = new Database(file);
    other.exec('CREATE TABLE invoices (id INTEGER PRIMARY KEY)');
    other.close();
    expect(() => openSqliteEventLog({ file })).toThrow(/not a reglament event log/);
    const again = new Database(file);
    expect(again.prepare("SELECT name FROM sqlite_master WHERE type = 'table'").all()).toEqual([{ name: 'invoices' }]);
    again.close();
  });

  it('delivers live to a subscriber in another process sharing the file', async () => {
    const file = join(tempDir(), 'events.db');
    const reader = openSqliteEventLog({ file, pollIntervalMs: 10 });
    const subscription = reader.subscribeToAll({ after: 0 });
    const child = spawn(
      process.execPath,
      [
        '-r',
        join(__dirname, '../../../../test/support/swc-register.js'),
        join(__dirname, '../../../../test/durability/event-log-writer.child.ts'),
        file,
      ],
      { stdio: 'ignore' },
    );
    try {
      let seen = 0;
      for await (const batch of subscription) {
        expect(batch.every((e) => e.type === 'Step')).toBe(true);
        seen += batch.length;
        if (seen >= 50) break;
      }
      expect(seen).toBeGreaterThanOrEqual(50);
    } finally {
      child.kill('SIGKILL');
      await reader.close();
    }
  }, 20_000);

  it('a subscription asked for undecoded events delivers the stored text, which decodes to what a decoded one delivers', async () => {
    const log = openSqliteEventLog({ file: join(tempDir(), 'events.db'), pollIntervalMs: 10 });
    try {
      await log.append(
        'case-1',
        [{ type: 'Filed', data: { applicant: 'Әлия', n: 1 }, metadata: { stepId: 's1' } }],
        'any',
      );
      await log.append('case-2', [{ type: 'Step', data: ['a', 2, null], metadata: {} }], 'any');
      await log.append('case-1', [{ type: 'Step', data: 'text', metadata: { nested: { at: 3 } } }], 'any');
      const first = async <T>(subscription: AsyncIterable<T[]> & { stop(): Promise<void> }): Promise<T[]> => {
        for await (const batch of subscription) {
          await subscription.stop();
          return batch;
        }
        return [];
      };
      const undecoded = await first(log.subscribeToAll({ after: 0, undecoded: true }));
      expect(undecoded.every(isUndecoded)).toBe(true);
      expect(undecoded).toEqual(await log.readAllRaw({ after: 0 }));
      const decoded = await first(log.subscribeToAll({ after: 0 }));
      expect(decoded.some(isUndecoded)).toBe(false);
      expect(undecoded.map((e) => (isUndecoded(e) ? decodeRaw(e) : e))).toEqual(decoded);
      expect(decoded.map((e) => e.data)).toEqual([{ applicant: 'Әлия', n: 1 }, ['a', 2, null], 'text']);
    } finally {
      await log.close();
    }
  });

  it('refuses a file written by a newer schema', async () => {
    const file = join(tempDir(), 'events.db');
    const log = openSqliteEventLog({ file, checkpointer: false });
    await log.close();
    const raw = new Database(file);
    raw.prepare("UPDATE meta SET value = '99' WHERE key = 'schema_version'").run();
    raw.close();
    expect(() => openSqliteEventLog({ file })).toThrow(/schema version 99, newer than this build knows/);
  });
});

describe('closing with appends in flight', () => {
  it('commits every append accepted before close, and refuses those after', async () => {
    const file = join(tempDir(), 'events.db');
    const log = openSqliteEventLog({ file });
    const accepted = Array.from({ length: 20 }, (_, i) =>
      log.append(`s-${i}`, [{ type: 'Probe', data: { i } }], 'no_stream'),
    );
    const closing = log.close();
    await expect(log.append('late', [{ type: 'Probe', data: {} }], 'no_stream')).rejects.toThrow(/closed/);
    const results = await Promise.all(accepted);
    await closing;
    expect(results.map((r) => r.nextRevision)).toEqual(results.map(() => 0));
    const reopened = openSqliteEventLog({ file });
    expect(await reopened.headPosition()).toBe(20);
    await reopened.close();
  });
});
