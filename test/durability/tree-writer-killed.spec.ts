/**
 * Issue 17: two writers on one event log (the API, and its projection process appending deadline warnings), each
 * storing the tree right behind its own commits. One is killed between its events' commit and its tree's while the
 * other keeps appending: the other never refuses an append, and its next tree transaction completes the tree from the
 * stored events, so checkpoints go on consistent with the ones signed before and `verify` finds nothing.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { EVENT_LOG_FILE } from '../../src/modules/event-log/open-event-log';
import type { SqliteEventLog } from '../../src/modules/event-log/sqlite/sqlite-event-log';
import { verifyConsistency } from '../../src/modules/transparency/domain/merkle';
import { appendSealed } from '../../src/modules/transparency/sealed-append';
import { startHarness } from '../support/api-harness';
import { cli } from '../transparency/support';
import { recomputedTree } from '../support/recomputed-tree';

const ROUNDS = 6;

interface Seen {
  acknowledged: number;
  head: number;
  treeLeaves: number;
}

describe('a second writer killed between its events’ commit and its tree’s while the API keeps appending', () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'reglament-tree-writers-'));
  afterAll(() => rmSync(dataDir, { recursive: true, force: true }));

  it('every append is acknowledged, the API completes the tree from the stored events, checkpoints stay consistent and verify is clean', async () => {
    const api = await startHarness({}, { dataDir });
    const log = api.app.infra.eventLog as SqliteEventLog;
    const transparency = api.app.infra.transparency!;
    const refused: unknown[] = [];
    let appended = 0;
    const apiRound = () =>
      Promise.allSettled(
        Array.from({ length: 4 }, () => appendSealed(log, `api-${appended++}`, [{ type: 'Step', data: {} }])),
      ).then((outcomes) => {
        for (const o of outcomes) if (o.status === 'rejected') refused.push(o.reason);
      });
    try {
      await apiRound();
      const before = transparency.issue(true);

      const child = spawn(
        process.execPath,
        [
          '-r',
          join(__dirname, '../support/swc-register.js'),
          join(__dirname, 'tree-writer-killed.child.ts'),
          dataDir,
          String(ROUNDS),
        ],
        { stdio: ['pipe', 'pipe', 'pipe'] },
      );
      let stdout = '';
      let stderr = '';
      let last = false;
      child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
      const killed = new Promise<Seen>((resolve, reject) => {
        child.on('error', reject);
        child.on('exit', (_code, signal) =>
          signal === 'SIGKILL'
            ? resolve(JSON.parse(stdout.slice(stdout.indexOf('last\n') + 5)) as Seen)
            : reject(new Error(`not killed: ${stdout}${stderr}`)),
        );
      });
      const lastRound = new Promise<void>((resolve) =>
        child.stdout.on('data', (chunk: Buffer) => {
          stdout += chunk.toString();
          if (!last && stdout.includes('last\n')) {
            last = true;
            resolve();
          }
        }),
      );
      // The API appends while the other writer does, until it is about to append its last round.
      while (!last) await apiRound();
      await lastRound;
      // The API's writer stores the tree of its own last commit, then is quiet: nobody stores the tree of that round.
      log.tree.size();
      child.stdin.end('go\n');
      const seen = await killed;
      expect(seen.acknowledged).toBe(ROUNDS * 4);
      expect(seen.treeLeaves).toBeLessThan(seen.head);

      // The API goes on: its appends are acknowledged and its tree transaction completes the other writer's leaves.
      for (let r = 0; r < 3; r++) await apiRound();
      expect(refused).toEqual([]);
      const file = join(dataDir, EVENT_LOG_FILE);
      const head = await log.headPosition();
      const after = transparency.issue(true);
      expect(after.size).toBe(head);
      const expected = recomputedTree(file);
      expect(Buffer.from(after.root)).toEqual(Buffer.from(expected.root()));
      const raw = new Database(file, { readonly: true });
      expect(raw.prepare("SELECT count(*) FROM events WHERE stream_id LIKE 'deadline-%'").pluck().get()).toBe(
        ROUNDS * 4 * 2,
      );
      raw.close();
      const proof = await api.call('GET', `/api/transparency/proofs/consistency?from=${before.size}&to=${after.size}`);
      expect(proof.status).toBe(200);
      expect(
        verifyConsistency(
          before.size,
          after.size,
          (proof.body.proof as string[]).map((p) => Buffer.from(p, 'base64')),
          before.root,
          after.root,
        ),
      ).toEqual({ ok: true });
    } finally {
      await api.app.close();
    }
    const verified = cli(['verify', '--json'], { DATA_DIR: dataDir });
    expect(verified.code).toBe(0);
    expect(JSON.parse(verified.stdout)).toMatchObject({
      valid: true,
      tree: { contradicted: [], badSignatures: [], storedTree: null },
    });
  }, 120_000);
});
