import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { rootAt, storedNodeCount } from '../../transparency/domain/merkle';
import { leafData } from '../../transparency/domain/log-leaf';
import { openSqliteEventLog } from './sqlite-event-log';
import { recomputedTree } from '../../../../test/support/recomputed-tree';

const dirs: string[] = [];
function tempFile(): string {
  const dir = mkdtempSync(join(tmpdir(), 'reglament-tree-'));
  dirs.push(dir);
  return join(dir, 'events.db');
}
afterAll(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

const sealed = (i: number) => ({ type: 'A', data: { i }, metadata: { hash: i.toString(16).padStart(64, '0') } });

describe('the event log keeps its Merkle tree', () => {
  it('every commit extends the tree: the stored root equals a recomputation at every size, refused appends add no leaf', async () => {
    const file = tempFile();
    const log = openSqliteEventLog({ file });
    await Promise.all(
      Array.from({ length: 37 }, (_, i) => log.append(`s-${i % 5}`, [sealed(i), { type: 'B', data: { i } }], 'any')),
    );
    await expect(log.append('s-0', [{ type: 'C', data: {} }], 'no_stream')).rejects.toThrow();
    await log.append('s-9', [sealed(99)], 'no_stream');
    const expected = recomputedTree(file);
    expect(log.tree.size()).toBe(75);
    for (const size of [0, 1, 2, 31, 32, 33, 64, 74, 75])
      expect(Buffer.from(rootAt(log.tree, size))).toEqual(Buffer.from(expected.root(size)));
    // The leaf of a sealed event is its sealed hash.
    expect(
      leafData({
        id: 'x',
        streamId: 's',
        type: 'A',
        data: '{}',
        metadata: JSON.stringify(sealed(5).metadata),
      }).toString('hex'),
    ).toBe(sealed(5).metadata.hash);
    await log.close();
  });

  it('two writers on one log (the API and its projection process) append at the same time: every append is acknowledged and the tree holds every event', async () => {
    // Found on a build that stored the tree behind the commits: the second writer met the first's leaves not yet stored
    // and refused every append with "the Merkle tree holds … nodes", a 500 to the caller.
    const file = tempFile();
    const api = openSqliteEventLog({ file });
    const worker = openSqliteEventLog({ file });
    // Each writer appends right after the other's append was acknowledged, and both also in bursts.
    const refused: unknown[] = [];
    for (let i = 0; i < 40; i++) {
      const log = i % 2 === 0 ? api : worker;
      await log.append(`s-${i}`, [sealed(i), { type: 'B', data: { i } }], 'no_stream').catch((e) => refused.push(e));
    }
    const burst = await Promise.allSettled(
      Array.from({ length: 360 }, (_, k) =>
        (k % 3 === 0 ? worker : api).append(`s-${40 + k}`, [sealed(40 + k), { type: 'B', data: {} }], 'no_stream'),
      ),
    );
    refused.push(...burst.filter((o) => o.status === 'rejected').map((o) => (o as PromiseRejectedResult).reason));
    expect(refused).toEqual([]);
    await api.append('s-last', [sealed(1000)], 'no_stream');
    expect(api.tree.size()).toBe(801);
    expect(Buffer.from(rootAt(api.tree, 801))).toEqual(Buffer.from(recomputedTree(file).root(801)));
    await worker.close();
    await api.close();
  });

  it('a log written before the tree existed gets its tree on the first append, and the tree is rebuilt identically', async () => {
    const file = tempFile();
    const first = openSqliteEventLog({ file });
    for (let i = 0; i < 20; i++) await first.append('s', [sealed(i)], 'any');
    await first.close();
    const raw = new Database(file);
    raw.prepare('DELETE FROM tree_nodes').run();
    raw.close();
    const log = openSqliteEventLog({ file });
    expect(log.tree.size()).toBe(0);
    await log.append('s', [sealed(20)], 'any');
    expect(log.tree.size()).toBe(21);
    expect(Buffer.from(rootAt(log.tree, 21))).toEqual(Buffer.from(recomputedTree(file).root()));
    const before = Buffer.from(rootAt(log.tree, 21));
    expect(log.tree.rebuild()).toEqual({ leaves: 21 });
    expect(Buffer.from(rootAt(log.tree, 21))).toEqual(before);
    await log.close();
  });

  it('a tree behind the log (its last nodes lost) is caught up from where it stands to the same root', async () => {
    const file = tempFile();
    // Commits on the writer thread, its tree stored a while after: what a loaded machine does (the busy rule sends the
    // appends there), where the nodes were removed before the last commit's tree was stored, which then restored them.
    const log = openSqliteEventLog({ file, inlineCommits: false, treeLagMs: 200 });
    for (let i = 0; i < 45; i++) await log.append('s', [sealed(i)], 'any');
    // The tree of every acknowledged append is stored (reading its size waits for it) before nodes are lost.
    expect(log.tree.size()).toBe(45);
    for (const kept of [44, 37, 32, 13, 1]) {
      const raw = new Database(file);
      raw.prepare('DELETE FROM tree_nodes WHERE pos >= ?').run(storedNodeCount(kept));
      raw.close();
      expect(log.tree.size()).toBe(kept);
      expect(log.tree.catchUp()).toEqual({ added: 45 - kept });
      expect(Buffer.from(rootAt(log.tree, 45))).toEqual(Buffer.from(recomputedTree(file).root()));
    }
    await log.close();
  });

  it('a tree that cannot be stored behind the commits: appends are still acknowledged, proofs stay on the tree stored (the failure told once), and once it can be stored the whole tree is', async () => {
    const file = tempFile();
    const problems: string[] = [];
    const log = openSqliteEventLog({ file, onTreeError: (problem) => problems.push(problem) });
    const appendEight = (prefix: string, from: number) =>
      Promise.all(Array.from({ length: 8 }, (_, i) => log.append(`${prefix}-${i}`, [sealed(from + i)], 'no_stream')));
    await appendEight('s', 0);
    expect(log.tree.size()).toBe(8);
    const raw = new Database(file);
    raw.exec(
      "CREATE TRIGGER tree_write_fails BEFORE INSERT ON tree_nodes BEGIN SELECT RAISE(ABORT, 'the disk failed'); END",
    );
    await appendEight('t', 8);
    expect(log.tree.size()).toBe(8);
    await appendEight('u', 16);
    expect(await log.headPosition()).toBe(24);
    expect(log.tree.size()).toBe(8);
    expect(problems).toEqual([expect.stringContaining('the disk failed')]);
    raw.exec('DROP TRIGGER tree_write_fails');
    raw.close();
    await log.append('v', [sealed(24)], 'no_stream');
    expect(log.tree.size()).toBe(25);
    expect(Buffer.from(rootAt(log.tree, 25))).toEqual(Buffer.from(recomputedTree(file).root()));
    await log.close();
  });

  it('a rebuild that fails half-way (an event missing mid-log) leaves the stored tree as it was', async () => {
    const file = tempFile();
    const first = openSqliteEventLog({ file });
    for (let s = 0; s < 4; s++)
      await first.append(
        `s-${s}`,
        Array.from({ length: 3000 }, (_, i) => sealed(s * 3000 + i)),
        'no_stream',
      );
    const root = Buffer.from(rootAt(first.tree, 12_000));
    await first.close();
    const raw = new Database(file);
    raw.prepare('DELETE FROM events WHERE position = 7000').run();
    raw.close();
    const log = openSqliteEventLog({ file });
    expect(() => log.tree.rebuild()).toThrow('the log has no event at position 7000');
    expect(log.tree.size()).toBe(12_000);
    expect(Buffer.from(rootAt(log.tree, 12_000))).toEqual(root);
    await log.close();
  });

  it('events deleted from the end of the log while it is open are caught at the next append, alone or in a group: nothing more is written', async () => {
    const file = tempFile();
    const log = openSqliteEventLog({ file });
    for (let i = 0; i < 5; i++) await log.append('s', [sealed(i)], 'any');
    expect(log.tree.size()).toBe(5);
    const raw = new Database(file);
    raw.prepare('DELETE FROM events WHERE position = 5').run();
    raw.close();
    // Without the check, the new event would take position 5 and its leaf be dropped as already stored.
    await expect(log.append('s', [sealed(9)], 'any')).rejects.toThrow(
      'the Merkle tree holds 5 leaves but the log only 4 events',
    );
    const group = await Promise.allSettled(
      Array.from({ length: 8 }, (_, i) => log.append(`g-${i}`, [sealed(20 + i)], 'any')),
    );
    expect(group.map((outcome) => outcome.status)).toEqual(Array(8).fill('rejected'));
    expect(await log.headPosition()).toBe(4);
    await log.close();
  });

  it('a tree larger than the log (events deleted under it) is refused: nothing more is written', async () => {
    const file = tempFile();
    const first = openSqliteEventLog({ file });
    for (let i = 0; i < 5; i++) await first.append('s', [sealed(i)], 'any');
    await first.close();
    const raw = new Database(file);
    raw.prepare('DELETE FROM events WHERE position = 5').run();
    raw.close();
    const log = openSqliteEventLog({ file });
    await expect(log.append('s', [sealed(9)], 'any')).rejects.toThrow(
      'the Merkle tree holds 5 leaves but the log only 4 events',
    );
    expect(await log.headPosition()).toBe(4);
    await log.close();
  });
});
