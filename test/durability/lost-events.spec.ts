/**
 * Issues 14.4 and 14.2: a log shorter than what was acknowledged. A damaged WAL after a power-loss-style kill (SQLite
 * drops the frames after the damage without a word), or an older copy of events.db restored while read.db was kept:
 * the server refuses to start naming what is missing (positions, count) and which witness saw it (the head record
 * beside the log, the read store's checkpoints). `accept-log-loss` records the loss in the log; the server then
 * starts, and read models ahead of the log are dropped and rebuilt (one warning each) so they match the log.
 */
import { closeSync, copyFileSync, openSync, readFileSync, statSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import {
  processFixtures,
  AUDITOR,
  cli,
  fileCases,
  ProcessStartFailed,
  startProcess,
  token,
  type ServerProcess,
} from '../support/server-process';

const { started: running, tempDir } = processFixtures();
const dataDir = () => tempDir('lost');

async function start(dir: string, env: Record<string, string> = {}): Promise<ServerProcess> {
  const server = await startProcess('main', { DATA_DIR: dir, ...env });
  running.push(server);
  return server;
}

async function refusedStart(dir: string): Promise<ProcessStartFailed> {
  const outcome = await startProcess('main', { DATA_DIR: dir }).then(
    (server) => {
      running.push(server);
      return null;
    },
    (error: unknown) => error,
  );
  expect(outcome).toBeInstanceOf(ProcessStartFailed);
  return outcome as ProcessStartFailed;
}

/** The head record follows the commits shortly after they are acknowledged: wait until it has reached `position`. */
async function headRecordReaches(dir: string, position: number): Promise<void> {
  for (;;) {
    try {
      if (
        (JSON.parse(readFileSync(join(dir, 'events.head.json'), 'utf8')) as { position: number }).position >= position
      )
        return;
    } catch {
      /* not written yet */
    }
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/** What the log itself holds: case streams, and the head. */
function logContents(dir: string): {
  caseIds: string[];
  head: number;
  lossRecords: Array<{ missingEvents: number; reason: string }>;
} {
  const db = new Database(join(dir, 'events.db'), { readonly: true });
  try {
    const caseIds = (
      db
        .prepare("SELECT DISTINCT stream_id FROM events WHERE stream_id LIKE 'case-%' ORDER BY stream_id")
        .pluck()
        .all() as string[]
    ).map((s) => s.slice('case-'.length));
    const head = db.prepare('SELECT max(position) FROM events').pluck().get() as number;
    const lossRecords = (
      db.prepare("SELECT data FROM events WHERE stream_id = 'log-integrity'").pluck().all() as string[]
    ).map((d) => JSON.parse(d));
    return { caseIds, head, lossRecords };
  } finally {
    db.close();
  }
}

/** Every case the read model lists, paging through it as a client would, once it reflects `position`. */
async function listedCases(server: ServerProcess, position: number): Promise<string[]> {
  const auditor = await token(AUDITOR);
  const ids: string[] = [];
  let cursor: string | null = null;
  do {
    const page: { status: number; body: any } = await server.call(
      'GET',
      `/api/cases?after=${position}&limit=100${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`,
      { token: auditor },
    );
    expect(page.status).toBe(200);
    ids.push(...page.body.cases.map((c: { caseId: string }) => c.caseId));
    cursor = page.body.nextCursor ?? null;
  } while (cursor);
  return ids.sort();
}

describe('a log shorter than what was acknowledged', () => {
  it('a damaged WAL after a power-loss-style kill: the start is refused naming the missing events; accept-log-loss lets it start, recorded in the log, with read models rebuilt to match', async () => {
    const dir = dataDir();
    const first = await start(dir);
    const { position } = await fileCases(first, 150);
    await headRecordReaches(dir, position);
    await first.killAll();
    const wal = `${dir}/events.db-wal`;
    const walBytes = statSync(wal).size;
    expect(walBytes).toBeGreaterThan(100_000);
    // Eight bytes of a frame in the middle of the WAL: its checksum fails, and SQLite replays only the frames before it.
    const fd = openSync(wal, 'r+');
    writeSync(fd, Buffer.from('DAMAGED!'), 0, 8, Math.floor(walBytes / 2));
    closeSync(fd);

    const refused = await refusedStart(dir);
    const { head } = logContents(dir);
    expect(head).toBeLessThan(position);
    expect(refused.code).toBe(65);
    expect(refused.stderrText).toContain(`${join(dir, 'events.db')}`);
    expect(refused.stderrText).toContain(`Acknowledged up to position ${position}`);
    expect(refused.stderrText).toContain(`the head record ${join(dir, 'events.head.json')}`);
    expect(refused.stderrText).toContain(`the log's head is ${head}`);
    expect(refused.stderrText).toContain(`${position - head} acknowledged event(s) are missing`);
    expect(refused.stderrText).toContain('accept-log-loss');

    const accepted = cli(
      [
        'accept-log-loss',
        '--reason',
        'WAL damaged by a power loss; no copy holds the missing cases',
        '--by',
        'operator-1',
      ],
      dir,
    );
    expect({ code: accepted.code, stderr: accepted.stderr }).toEqual({ code: 0, stderr: '' });
    expect(accepted.stdout).toContain(
      `${position - head} acknowledged event(s) up to position ${position} are accepted as lost`,
    );
    expect(logContents(dir).lossRecords).toEqual([
      expect.objectContaining({
        missingEvents: position - head,
        acknowledgedPosition: position,
        headPosition: head,
        acceptedBy: 'operator-1',
      }),
    ]);

    const second = await start(dir);
    const after = await fileCases(second, 2, 500);
    const log = logContents(dir);
    expect(await listedCases(second, after.position)).toEqual(log.caseIds);
    expect((await second.call('GET', '/health')).status).toBe(200);
  }, 180_000);

  it('an older copy of events.db put back while read.db was kept: refused, then after accept-log-loss the read models are rebuilt from the log (a warning naming projection, checkpoint and head) and list exactly its cases', async () => {
    const dir = dataDir();
    const first = await start(dir);
    const old = await fileCases(first, 4);
    expect(await first.stop()).toBe(0);
    copyFileSync(join(dir, 'events.db'), join(dir, 'events.db.backup'));
    copyFileSync(join(dir, 'events.head.json'), join(dir, 'events.head.json.backup'));

    const second = await start(dir);
    const newer = await fileCases(second, 5, 100);
    expect(await listedCases(second, newer.position)).toHaveLength(9);
    expect(await second.stop()).toBe(0);
    // The auditor's reads are recorded in the log too: the acknowledged head is the log's, after them.
    const acknowledged = logContents(dir).head;
    // The restore an operator would do of a consistent backup: the log with its head record; read.db is kept.
    copyFileSync(join(dir, 'events.db.backup'), join(dir, 'events.db'));
    copyFileSync(join(dir, 'events.head.json.backup'), join(dir, 'events.head.json'));

    const refused = await refusedStart(dir);
    expect(refused.code).toBe(65);
    // The head record was restored with the log, so the read store's checkpoints are the witnesses: as far as projected.
    const witnessed = Number(/Acknowledged up to position (\d+)/.exec(refused.stderrText)?.[1]);
    expect(witnessed).toBeGreaterThanOrEqual(newer.position);
    expect(witnessed).toBeLessThanOrEqual(acknowledged);
    expect(refused.stderrText).toContain("the read store's checkpoint of cases");
    expect(refused.stderrText).toContain(`the log's head is ${old.position}`);
    expect(refused.stderrText).toContain(`${witnessed - old.position} acknowledged event(s) are missing`);

    expect(cli(['accept-log-loss', '--reason', 'restored the backup of the morning'], dir).code).toBe(0);
    const third = await start(dir);
    const latest = await fileCases(third, 1, 200);
    const log = logContents(dir);
    const listed = await listedCases(third, latest.position);
    expect(listed).toEqual(log.caseIds);
    expect(listed).toHaveLength(5);
    for (const gone of newer.caseIds) expect(listed).not.toContain(gone);
    const auditor = await token(AUDITOR);
    expect(
      (await third.call('GET', `/api/cases/${latest.caseIds[0]}?after=${latest.position}`, { token: auditor })).status,
    ).toBe(200);
    const warnings = third.logs.filter(
      (l) => l.msg === 'a read model is ahead of its event log: it is dropped and rebuilt from the log',
    );
    expect(warnings).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ projection: 'cases', checkpoint: expect.any(Number), head: old.position + 1 }),
      ]),
    );
    for (const warning of warnings) expect(warning.checkpoint as number).toBeGreaterThan(old.position + 1);
  }, 180_000);

  it('with PROJECTIONS=off, a worker started on an older events.db refuses too (it would otherwise rebuild the read models and erase their witness)', async () => {
    const dir = dataDir();
    const api = await start(dir, { PROJECTIONS: 'off' });
    const worker = await startProcess('worker', { DATA_DIR: dir });
    running.push(worker);
    await fileCases(api, 2);
    expect(await api.stop()).toBe(0);
    expect(await worker.stop()).toBe(0);
    copyFileSync(join(dir, 'events.db'), join(dir, 'events.db.backup'));
    const again = await start(dir, { PROJECTIONS: 'off' });
    const later = await fileCases(again, 3, 100);
    expect(await again.stop()).toBe(0);
    copyFileSync(join(dir, 'events.db.backup'), join(dir, 'events.db'));

    const refused = await startProcess('worker', { DATA_DIR: dir }).then(
      (server) => {
        running.push(server);
        return null;
      },
      (error: unknown) => error as ProcessStartFailed,
    );
    expect(refused).toBeInstanceOf(ProcessStartFailed);
    expect(refused!.code).toBe(65);
    expect(refused!.stderrText).toContain(`Acknowledged up to position ${later.position}`);
    expect(refused!.stderrText).toContain(`the head record ${join(dir, 'events.head.json')}`);
  }, 180_000);

  it("with PROJECTIONS=off, an API started after accept-log-loss before its worker serves no read model ahead of the log: 503 'being built' and /health not up, until the worker has rebuilt them", async () => {
    const dir = dataDir();
    let api = await start(dir, { PROJECTIONS: 'off' });
    let worker = await startProcess('worker', { DATA_DIR: dir });
    running.push(worker);
    const kept = await fileCases(api, 2);
    expect(await api.stop()).toBe(0);
    expect(await worker.stop()).toBe(0);
    copyFileSync(join(dir, 'events.db'), join(dir, 'events.db.backup'));
    copyFileSync(join(dir, 'events.head.json'), join(dir, 'events.head.json.backup'));
    api = await start(dir, { PROJECTIONS: 'off' });
    worker = await startProcess('worker', { DATA_DIR: dir });
    running.push(worker);
    const lost = await fileCases(api, 3, 100);
    const auditor = await token(AUDITOR);
    expect(
      (await api.call('GET', `/api/cases/${lost.caseIds[0]}?after=${lost.position}`, { token: auditor })).status,
    ).toBe(200);
    expect(await api.stop()).toBe(0);
    expect(await worker.stop()).toBe(0);
    copyFileSync(join(dir, 'events.db.backup'), join(dir, 'events.db'));
    copyFileSync(join(dir, 'events.head.json.backup'), join(dir, 'events.head.json'));
    expect(cli(['accept-log-loss', '--reason', 'restored the backup of the morning'], dir).code).toBe(0);

    // The worker, which drops the builds ahead of the log, is not started yet: the API must not serve them meanwhile.
    api = await start(dir, { PROJECTIONS: 'off' });
    const gone = await api.call('GET', `/api/cases/${lost.caseIds[0]}`, { token: auditor });
    expect({ status: gone.status, type: gone.body.type }).toEqual({
      status: 503,
      type: expect.stringContaining('read-model-not-ready'),
    });
    expect((await api.call('GET', `/api/cases/${kept.caseIds[0]}`, { token: auditor })).status).toBe(503);
    expect((await api.call('GET', '/api/cases?limit=10', { token: auditor })).status).toBe(503);
    const health = await api.call('GET', '/health');
    expect(health.status).toBe(503);
    expect(health.body.status).not.toBe('up');
    const cases = health.body.projections.find((p: { name: string }) => p.name === 'cases');
    expect(cases).toMatchObject({ state: 'ahead-of-log', checkpoint: 0 });
    expect(cases.error).toMatchObject({ checkpoint: expect.any(Number), problem: expect.any(String) });
    expect(cases.error.checkpoint).toBeGreaterThan(kept.position);
    expect((await api.call('GET', '/health/ready')).status).toBe(503);

    worker = await startProcess('worker', { DATA_DIR: dir });
    running.push(worker);
    const after = (await fileCases(api, 1, 200)).position;
    const read = await api.call('GET', `/api/cases/${kept.caseIds[0]}?after=${after}`, { token: auditor });
    expect(read.status).toBe(200);
    expect((await api.call('GET', `/api/cases/${lost.caseIds[0]}?after=${after}`, { token: auditor })).status).toBe(
      404,
    );
    expect(await listedCases(api, after)).toEqual(logContents(dir).caseIds);
  }, 180_000);

  it('nothing missing: accept-log-loss records nothing and says so', async () => {
    const dir = dataDir();
    const server = await start(dir);
    await fileCases(server, 2);
    await server.stop();
    const result = cli(['accept-log-loss', '--reason', 'just checking'], dir);
    expect(result).toEqual({ code: 0, stdout: expect.stringContaining('nothing to accept'), stderr: '' });
    expect(logContents(dir).lossRecords).toEqual([]);
  }, 120_000);

  it('accept-log-loss refuses while the API runs, naming it', async () => {
    const dir = dataDir();
    const server = await start(dir);
    const result = cli(['accept-log-loss', '--reason', 'too early'], dir);
    expect(result.code).toBe(75);
    expect(result.stderr).toContain(`pid ${server.pid}`);
    expect(result.stderr).not.toMatch(/\n\s+at /);
  }, 120_000);
});
