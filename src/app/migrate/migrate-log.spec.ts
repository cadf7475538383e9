import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openSqliteEventLog, type SqliteEventLog } from '../../modules/event-log/sqlite/sqlite-event-log';
import type { EventLog } from '../../modules/event-log/event-log.port';
import { compareLogs, migrateLog, MIGRATE_APPEND_BYTES, MigrationTargetMismatchError } from './migrate-log';

describe('migrating a log through the EventLog port', () => {
  let dir: string;
  let source: SqliteEventLog;
  let target: SqliteEventLog;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'reglament-migrate-'));
    source = openSqliteEventLog({ file: join(dir, 'source.db') });
    target = openSqliteEventLog({ file: join(dir, 'target.db') });
  });
  afterEach(async () => {
    await source.close();
    await target.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it("splits one stream's run of events into appends under KurrentDB's 1 MiB per append, and keeps the global order across streams", async () => {
    const big = 'x'.repeat(400 * 1024);
    await source.append(
      'case-a',
      [0, 1, 2].map((i) => ({ type: 'Big', data: { i, big } })),
      'no_stream',
    );
    await source.append('case-b', [{ type: 'Small', data: {} }], 'no_stream');
    await source.append('case-a', [{ type: 'Small', data: {} }], 2);
    const appends: Array<{ streamId: string; events: number; bytes: number }> = [];
    const counting: EventLog = Object.assign(Object.create(target) as EventLog, {
      append: (
        streamId: string,
        events: Parameters<EventLog['append']>[1],
        expected: Parameters<EventLog['append']>[2],
      ) => {
        appends.push({
          streamId,
          events: events.length,
          bytes: events.reduce((n, e) => n + JSON.stringify(e.data).length + JSON.stringify(e.metadata).length, 0),
        });
        return target.append(streamId, events, expected);
      },
    });
    const outcome = await migrateLog(source, counting);
    expect(outcome).toMatchObject({ copied: 5, complete: true });
    expect(appends.map((a) => [a.streamId, a.events])).toEqual([
      ['case-a', 2],
      ['case-a', 1],
      ['case-b', 1],
      ['case-a', 1],
    ]);
    for (const a of appends) expect(a.bytes).toBeLessThanOrEqual(MIGRATE_APPEND_BYTES);
    expect(await compareLogs(source, target)).toBe(5);
  });

  it("continues after the target's last event, and refuses a target whose last event is not the source's", async () => {
    for (let i = 0; i < 6; i++) await source.append(`case-${i % 2}`, [{ type: 'Step', data: { i } }], 'any');
    expect(await migrateLog(source, target, { stopAfterAppends: 4 })).toMatchObject({ copied: 4, complete: false });
    expect(await migrateLog(source, target)).toMatchObject({ copied: 2, resumedAfter: 4, complete: true });
    expect(await compareLogs(source, target)).toBe(6);
    await target.append('case-0', [{ type: 'Other', data: {} }], 'any');
    await expect(migrateLog(source, target)).rejects.toThrow(MigrationTargetMismatchError);
  });
});
