import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import pino from 'pino';
import { openSqliteEventLog } from '../event-log/sqlite/sqlite-event-log';
import { StorageOpenError } from '../event-log/event-log.errors';
import { storedNodeCount } from './domain/merkle';
import { openTransparencyLog } from './open-transparency';
import { loadKeyRing } from './signing-keys';

/**
 * A log of 10 events whose tree holds only the first `kept` leaves (a writer stopped between the events' commit and
 * the tree's), with no checkpoint signed yet; `change` edits the stored events before the start.
 */
async function shortTree(dir: string, kept: number, change?: (raw: Database.Database) => void): Promise<string> {
  const file = join(dir, 'events.db');
  const log = openSqliteEventLog({ file });
  for (let i = 0; i < 10; i++) await log.append(`case-${i}`, [{ type: 'Step', data: { i } }], 'no_stream');
  await log.close();
  const raw = new Database(file);
  raw.prepare('DELETE FROM tree_nodes WHERE pos >= ?').run(storedNodeCount(kept));
  change?.(raw);
  raw.close();
  return file;
}

describe('start-up of the verifiable log over a tree behind its log', () => {
  let dir: string;
  beforeEach(() => (dir = mkdtempSync(join(tmpdir(), 'reglament-open-transparency-'))));
  afterEach(() => rmSync(dir, { recursive: true, force: true }));
  const logger = pino({ level: 'silent' });
  const keys = () => loadKeyRing({ origin: 'reglament.test/log', dataDir: dir, mayGenerateKey: true, shape: 'test' });

  it('completes the tree to the log when its last leaf matches its event', async () => {
    const file = await shortTree(dir, 6);
    const log = openSqliteEventLog({ file });
    const opened = openTransparencyLog(log, dir, keys(), logger);
    expect(log.tree.size()).toBe(10);
    await opened.close();
    await log.close();
  });

  it('refuses to start when the event of its last leaf was replaced, before the tree grows past it', async () => {
    const file = await shortTree(dir, 6, (raw) =>
      raw.prepare('UPDATE events SET data = ? WHERE position = 6').run(JSON.stringify({ i: 99 })),
    );
    const log = openSqliteEventLog({ file });
    expect(() => openTransparencyLog(log, dir, keys(), logger)).toThrow(StorageOpenError);
    expect(() => openTransparencyLog(log, dir, keys(), logger)).toThrow(
      /last leaf \(5\) does not match the event at position 6/,
    );
    expect(log.tree.size()).toBe(6);
    await log.close();
  });
});
