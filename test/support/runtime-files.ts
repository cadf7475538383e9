import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openSqliteEventLog, type SqliteEventLog } from '../../src/modules/event-log/sqlite/sqlite-event-log';
import { openSqliteReadStore, type SqliteReadStore } from '../../src/modules/read-store/sqlite/sqlite-read-store';
import type { ProjectionRuntime } from '../../src/projections/projection-runtime';

/** A projection runtime's files for one test: a fresh events.db and read.db in a directory of their own. */
export interface RuntimeFiles {
  dir: string;
  log: SqliteEventLog;
  store: SqliteReadStore;
}

export function openRuntimeFiles(prefix: string): RuntimeFiles {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  return {
    dir,
    log: openSqliteEventLog({ file: join(dir, 'events.db'), pollIntervalMs: 5 }),
    store: openSqliteReadStore({ file: join(dir, 'read.db') }),
  };
}

/** Stops every runtime the test started before closing the files they use, then removes the directory. */
export async function closeRuntimeFiles(files: RuntimeFiles, runtimes: ProjectionRuntime[]): Promise<void> {
  for (const runtime of runtimes.splice(0)) await runtime.stop();
  await files.log.close();
  await files.store.close();
  rmSync(files.dir, { recursive: true, force: true });
}
