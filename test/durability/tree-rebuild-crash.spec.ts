import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { openSqliteEventLog } from '../../src/modules/event-log/sqlite/sqlite-event-log';
import { rootAt, storedNodeCount } from '../../src/modules/transparency/domain/merkle';
import { recomputedTree } from '../support/recomputed-tree';

/** Runs the rebuild child until it kills itself after reading `killAt` events; its stderr if it did not. */
function rebuildAndKill(file: string, killAt: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(
      process.execPath,
      [
        '-r',
        join(__dirname, '../support/swc-register.js'),
        join(__dirname, 'tree-rebuild.child.ts'),
        file,
        `${killAt}`,
      ],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.on('error', reject);
    child.on('exit', (_code, signal) =>
      signal === 'SIGKILL' ? resolve() : reject(new Error(`the rebuild was not killed: ${output}`)),
    );
  });
}

describe('a tree rebuild killed half-way', () => {
  const dir = mkdtempSync(join(tmpdir(), 'reglament-tree-crash-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it.each([5_000, 10_000])(
    'killed after reading %i of 12,000 events leaves the tree it started from, never a partial one, and the next start completes it',
    async (killAt) => {
      const file = join(dir, `events-${killAt}.db`);
      const log = openSqliteEventLog({ file });
      for (let s = 0; s < 240; s += 40)
        await Promise.all(
          Array.from({ length: 40 }, (_, k) =>
            log.append(
              `case-${s + k}`,
              Array.from({ length: 50 }, (_, j) => ({
                type: 'Step',
                data: { s, k, j },
                metadata: { hash: ((s + k) * 50 + j + 1).toString(16).padStart(64, '0') },
              })),
              'no_stream',
            ),
          ),
        );
      await log.close();
      // The tree it starts from is behind the log (its last nodes lost): a partial rebuild would show as any other size.
      const kept = 7_777;
      const raw = new Database(file);
      raw.prepare('DELETE FROM tree_nodes WHERE pos >= ?').run(storedNodeCount(kept));
      raw.close();

      await rebuildAndKill(file, killAt);

      const expected = recomputedTree(file);
      const reopened = openSqliteEventLog({ file });
      expect(reopened.tree.size()).toBe(kept);
      expect(Buffer.from(rootAt(reopened.tree, kept))).toEqual(Buffer.from(expected.root(kept)));
      // The next append catches the tree up from where it stood to the whole log.
      await reopened.append('case-after', [{ type: 'Step', data: {} }], 'no_stream');
      expect(reopened.tree.size()).toBe(12_001);
      expect(Buffer.from(rootAt(reopened.tree, 12_000))).toEqual(Buffer.from(expected.root(12_000)));
      await reopened.close();
    },
  );
});
