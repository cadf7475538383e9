import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setImmediate as turn } from 'node:timers/promises';
import { openSqliteEventLog, type SqliteEventLog } from '../modules/event-log/sqlite/sqlite-event-log';
import type { RecordedEvent } from '../modules/event-log/event-log.port';
import { SharedLogRead } from './shared-log-read';

describe('one read of the log for several projections', () => {
  let dir: string;
  let log: SqliteEventLog;

  beforeEach(async () => {
    dir = mkdtempSync(join(tmpdir(), 'reglament-shared-'));
    log = openSqliteEventLog({ file: join(dir, 'events.db'), pollIntervalMs: 5 });
    for (let i = 0; i < 50; i++) await log.append(`case-${i % 5}`, [{ type: 'Step', data: { i } }], 'any');
  });
  afterEach(async () => {
    await log.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('a view ahead of a slower one waits while two batches are held, and each batch is read once for both', async () => {
    const shared = new SharedLogRead(log);
    const fast = shared.view().log.subscribeToAll({ after: 0, maxBatchSize: 10 })[Symbol.asyncIterator]();
    const slow = shared.view().log.subscribeToAll({ after: 0, maxBatchSize: 10 })[Symbol.asyncIterator]();
    expect(((await fast.next()).value as RecordedEvent[]).map((e) => e.position)).toEqual([
      1, 2, 3, 4, 5, 6, 7, 8, 9, 10,
    ]);
    expect(((await fast.next()).value as RecordedEvent[])[0]!.position).toBe(11);
    let third: RecordedEvent[] | null = null;
    const pending = fast.next().then((r) => (third = r.value as RecordedEvent[]));
    await turn();
    // The slow view has taken nothing: a third batch would be a third held in memory.
    expect(third).toBeNull();
    expect(shared.reads).toBe(2);
    expect(((await slow.next()).value as RecordedEvent[])[0]!.position).toBe(1);
    await pending;
    expect(third![0]!.position).toBe(21);
    expect(((await slow.next()).value as RecordedEvent[])[0]!.position).toBe(11);
    expect(((await slow.next()).value as RecordedEvent[])[0]!.position).toBe(21);
    expect(shared.reads).toBe(3);
    await fast.return!();
    await slow.return!();
  });

  it('a view stopped while it waits ends at once, and holds the others back no longer', async () => {
    const shared = new SharedLogRead(log);
    const fastSubscription = shared.view().log.subscribeToAll({ after: 0, maxBatchSize: 10 });
    const fast = fastSubscription[Symbol.asyncIterator]();
    const idle = shared.view();
    await fast.next();
    await fast.next();
    const pending = fast.next();
    await turn();
    await fastSubscription.stop();
    expect((await pending).done).toBe(true);
    // The idle view never subscribed: once it leaves, a third view reads the whole log unhindered.
    idle.leave();
    const positions: number[] = [];
    const last = shared.view().log.subscribeToAll({ after: 0, maxBatchSize: 10 });
    for await (const batch of last) {
      positions.push(...batch.map((e) => e.position));
      if (positions.length >= 50) break;
    }
    expect(positions).toEqual(Array.from({ length: 50 }, (_, i) => i + 1));
  });
});
