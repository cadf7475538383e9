import pino from 'pino';
import type { EventLog } from '../modules/event-log/event-log.port';
import { StorageDamagedError, StorageFullError } from '../modules/event-log/event-log.errors';
import { StorageFaults, watchStorageFaults } from './storage-faults';

/** A log whose appends fail with what `next` says: the adapter's typed errors, as the SQLite log raises them. */
function logFailingWith(next: { error: Error | null; calls: number }): EventLog {
  return {
    kind: 'sqlite',
    append: async () => {
      next.calls++;
      if (next.error) throw next.error;
      return { nextRevision: 0, position: 1 };
    },
  } as unknown as EventLog;
}

function recordingLogger() {
  const lines: Array<{ level: string; msg: string }> = [];
  const logger = pino(
    { level: 'info', formatters: { level: (label) => ({ level: label }) } },
    { write: (line: string) => void lines.push(JSON.parse(line)) },
  );
  return { lines, logger };
}

describe('storage faults of the event log', () => {
  it('a full disk is logged once however many writes it refuses, and once when a write goes through again', async () => {
    const { lines, logger } = recordingLogger();
    const faults = new StorageFaults(logger);
    const next = {
      error: new StorageFullError('/data/events.db', 'database or disk is full') as Error | null,
      calls: 0,
    };
    const log = watchStorageFaults(logFailingWith(next), faults);
    for (let i = 0; i < 5; i++) await expect(log.append('s', [], 'any')).rejects.toBeInstanceOf(StorageFullError);
    expect(faults.current).toMatchObject({ kind: 'full', file: '/data/events.db', refused: 5 });
    next.error = null;
    await log.append('s', [], 'any');
    expect(faults.current).toBeNull();
    expect(lines.map((l) => l.level)).toEqual(['error', 'info']);
  });

  it('a damaged log refuses every later write without trying it, and stays refused', async () => {
    const { lines, logger } = recordingLogger();
    const faults = new StorageFaults(logger);
    const next = {
      error: new StorageDamagedError('/data/events.db', ['database disk image is malformed']) as Error | null,
      calls: 0,
    };
    const log = watchStorageFaults(logFailingWith(next), faults);
    await expect(log.append('s', [], 'any')).rejects.toBeInstanceOf(StorageDamagedError);
    next.error = null;
    await expect(log.append('s', [], 'any')).rejects.toBeInstanceOf(StorageDamagedError);
    expect(next.calls).toBe(1);
    expect(faults.current).toMatchObject({ kind: 'damaged', refused: 2 });
    expect(lines).toHaveLength(1);
  });
});
