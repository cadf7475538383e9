import Database from 'better-sqlite3';
import { closeSync, existsSync, mkdtempSync, openSync, readFileSync, rmSync, statSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { headRecordFile, readHeadRecord } from './head-record';
import { openSqliteEventLog } from './sqlite-event-log';

describe('the embedded log checks itself', () => {
  let dir: string;
  let file: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'reglament-integrity-'));
    file = join(dir, 'events.db');
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  async function logOf(events: number): Promise<string[]> {
    const log = openSqliteEventLog({ file, checkpointer: false });
    const ids: string[] = [];
    for (let i = 0; i < events; i++) {
      const id = `0190a000-0000-7000-8000-${String(i).padStart(12, '0')}`;
      ids.push(id);
      await log.append(`case-${i % 7}`, [{ id, type: 'Step', data: { i, text: 'x'.repeat(300) } }], 'any');
    }
    await log.close();
    return ids;
  }

  it('an intact log passes the quick and the full check, and reports its head with the last event id', async () => {
    const ids = await logOf(40);
    const log = openSqliteEventLog({ file, checkpointer: false });
    for (const mode of ['quick', 'full'] as const) {
      expect(log.checkIntegrity({ mode })).toMatchObject({
        check: mode,
        problems: [],
        head: { position: 40, eventId: ids[39] },
      });
    }
    await log.close();
  });

  it('a log larger than the start-up bound is not page-checked (and says so), but its head still is', async () => {
    await logOf(5);
    const log = openSqliteEventLog({ file, checkpointer: false });
    expect(log.checkIntegrity({ mode: 'quick', maxQuickBytes: 1 })).toMatchObject({
      check: 'skipped',
      problems: [],
      head: { position: 5 },
    });
    await log.close();
  });

  it('a head no file of its size could hold (5374248273442940000) is reported, not served', async () => {
    await logOf(3);
    const raw = new Database(file);
    raw
      .prepare(
        "INSERT INTO events (position, id, stream_id, revision, type, data, metadata, recorded_at) VALUES (5374248273442940000, 'x', 'case-x', 0, 'Step', '{}', '{}', 0)",
      )
      .run();
    raw.close();
    const log = openSqliteEventLog({ file, checkpointer: false });
    const report = log.checkIntegrity({ mode: 'quick' });
    expect(report.problems).toEqual([
      expect.stringContaining('the head position read is 5374248273442940000, impossible for a file of'),
    ]);
    expect(report.head.position).toBe(0);
    await log.close();
  });

  it('a damaged page is found by the quick check', async () => {
    await logOf(200);
    const pages = statSync(file).size / 4096;
    const fd = openSync(file, 'r+');
    writeSync(fd, Buffer.alloc(48, 0xa5), 0, 48, Math.floor(pages / 2) * 4096);
    closeSync(fd);
    const log = openSqliteEventLog({ file, checkpointer: false });
    expect(log.checkIntegrity({ mode: 'quick' }).problems.length).toBeGreaterThan(0);
    await log.close();
  });

  it('the head record beside the log follows the commits and holds the last acknowledged position and event id', async () => {
    const ids = await logOf(12);
    expect(readHeadRecord(headRecordFile(file))).toMatchObject({ position: 12, eventId: ids[11] });
    expect(headRecordFile(file)).toBe(join(dir, 'events.head.json'));
    expect(existsSync(`${headRecordFile(file)}.tmp`)).toBe(false);
    expect(JSON.parse(readFileSync(headRecordFile(file), 'utf8'))).toHaveProperty('writtenAt');
  });
});
