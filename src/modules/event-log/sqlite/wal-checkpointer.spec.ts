import Database from 'better-sqlite3';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { WalCheckpointer } from './wal-checkpointer';

describe('WalCheckpointer', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'reglament-checkpointer-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  // Found when the key store and its owner both closed it: the second stop waited for an exit that had already happened,
  // and the server's shutdown hung.
  it('stops once however many owners stop it, and a stop after the thread ended returns at once', async () => {
    const file = join(dir, 'keys.db');
    const db = new Database(file);
    db.pragma('journal_mode = WAL');
    const checkpointer = new WalCheckpointer(file, { intervalMs: 10, thresholdBytes: 1, hardLimitBytes: 1 << 30 });
    await Promise.all([checkpointer.stop(), checkpointer.stop()]);
    await expect(checkpointer.stop()).resolves.toBeUndefined();
    db.close();
  });
});
