import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { openSqliteEventLog } from '../event-log/sqlite/sqlite-event-log';
import { rootAt } from './domain/merkle';
import { SqliteTreeFile } from './sqlite/sqlite-tree-file';
import { TreeFollower } from './tree-follower';

const dir = mkdtempSync(join(tmpdir(), 'reglament-follower-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const sealed = (i: number) => ({ type: 'A', data: { i }, metadata: { hash: (i + 1).toString(16).padStart(64, '0') } });

async function until(condition: () => boolean): Promise<void> {
  while (!condition()) await new Promise((resolve) => setTimeout(resolve, 10));
}

describe('a tree file kept behind the log by a follower (the EventStoreDB shape)', () => {
  it('follows the log through the port to the same root as the tree the embedded log keeps, and resumes after a restart', async () => {
    const log = openSqliteEventLog({ file: join(dir, 'events.db'), pollIntervalMs: 5 });
    for (let i = 0; i < 30; i++) await log.append(`s-${i % 4}`, [sealed(i)], 'any');
    let tree = new SqliteTreeFile(join(dir, 'tree.db'));
    let follower = new TreeFollower(log, tree, pino({ level: 'silent' }));
    follower.start();
    await until(() => tree.size() === 30);
    for (let i = 30; i < 45; i++) await log.append(`s-${i % 4}`, [sealed(i), { type: 'B', data: { i } }], 'any');
    await until(() => tree.size() === 60);
    await follower.stop();
    tree.close();

    for (let i = 45; i < 50; i++) await log.append('s-x', [sealed(i)], 'any');
    tree = new SqliteTreeFile(join(dir, 'tree.db'));
    follower = new TreeFollower(log, tree, pino({ level: 'silent' }));
    follower.start();
    await until(() => tree.size() === 65);
    await follower.stop();
    expect(Buffer.from(rootAt(tree, 65))).toEqual(Buffer.from(rootAt(log.tree, 65)));
    expect(Buffer.from(rootAt(tree, 33))).toEqual(Buffer.from(rootAt(log.tree, 33)));
    const [first] = await log.readAll({ maxCount: 1 });
    expect(tree.leafOfEvent(first!.id)).toEqual({ index: 0, data: Buffer.from(sealed(0).metadata.hash, 'hex') });
    tree.close();
    await log.close();
  });
});
