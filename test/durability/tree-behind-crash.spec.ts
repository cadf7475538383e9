import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { EVENT_LOG_FILE } from '../../src/modules/event-log/open-event-log';
import { verifyConsistency } from '../../src/modules/transparency/domain/merkle';
import { parseCheckpoint, parseVkey, verifyNote } from '../../src/modules/transparency/domain/signed-note';
import { startHarness } from '../support/api-harness';
import { recomputedTree } from '../support/recomputed-tree';

interface Seen {
  acknowledged: number;
  signedAfter: number;
  evidence: unknown;
  checkpoint: { size: number; root: string };
}

/** Runs the child on the data directory until it kills itself; what it printed before. */
function runUntilKilled(dataDir: string): Promise<Seen> {
  return new Promise((resolve, reject) => {
    const child = spawn(
      process.execPath,
      ['-r', join(__dirname, '../support/swc-register.js'), join(__dirname, 'tree-behind.child.ts'), dataDir],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.on('error', reject);
    child.on('exit', (_code, signal) =>
      signal === 'SIGKILL' ? resolve(JSON.parse(stdout) as Seen) : reject(new Error(`not killed: ${stdout}${stderr}`)),
    );
  });
}

describe('the writer killed between the events’ commit and the tree’s', () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'reglament-tree-behind-'));
  afterAll(() => rmSync(dataDir, { recursive: true, force: true }));

  it('serves nothing beyond the tree it holds meanwhile; the next start completes the tree and signs a checkpoint consistent with the last one', async () => {
    const seen = await runUntilKilled(dataDir);
    // 140 events acknowledged (100 with their tree, 40 whose tree was never stored): checkpoints stay at 100 leaves and an
    // evidence pack of the 140th event is a 503 problem, not a proof against a tree that does not hold it.
    expect(seen.checkpoint.size).toBe(100);
    expect(seen.acknowledged).toBeGreaterThanOrEqual(140);
    expect(seen.signedAfter).toBe(100);
    expect(seen.evidence).toEqual({ status: 503, code: 'tree-behind' });

    const file = join(dataDir, EVENT_LOG_FILE);
    const raw = new Database(file);
    raw.exec('DROP TRIGGER tree_write_fails');
    expect(raw.prepare('SELECT count(*) FROM events').pluck().get()).toBe(seen.acknowledged);
    raw.close();
    const expected = recomputedTree(file);

    const api = await startHarness({}, { dataDir });
    try {
      const keys = await api.call('GET', '/api/transparency/keys');
      const trusted = keys.body.keys.flatMap((k: { vkey: string }) => {
        const parsed = parseVkey(k.vkey);
        return parsed.ok ? [parsed.value] : [];
      });
      const note = await (await fetch(`${api.url}/api/transparency/checkpoint`)).text();
      const verified = verifyNote(note, trusted);
      const latest = verified.ok ? parseCheckpoint(verified.body) : null;
      if (!latest?.ok) throw new Error('the latest checkpoint does not verify');
      expect(latest.value.size).toBe(seen.acknowledged);
      expect(latest.value.root).toEqual(Buffer.from(expected.root()));
      const proof = await api.call(
        'GET',
        `/api/transparency/proofs/consistency?from=${seen.checkpoint.size}&to=${latest.value.size}`,
      );
      expect(proof.status).toBe(200);
      expect(
        verifyConsistency(
          seen.checkpoint.size,
          latest.value.size,
          (proof.body.proof as string[]).map((p) => Buffer.from(p, 'base64')),
          Buffer.from(seen.checkpoint.root, 'base64'),
          latest.value.root,
        ),
      ).toEqual({ ok: true });
    } finally {
      await api.close();
    }
  });
});
