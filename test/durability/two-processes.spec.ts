/**
 * Issue 14.5: two processes on one DATA_DIR. Each role (writing the log, running the projections) is held by one
 * process at a time; a second one that would do the same refuses to start naming the holder, the documented pair
 * (an API with PROJECTIONS=off and one worker) works, and a holder killed outright leaves no stale lock.
 */
import {
  processFixtures,
  AUDITOR,
  fileCases,
  ProcessStartFailed,
  startProcess,
  token,
  type ServerProcess,
} from '../support/server-process';

const { started, tempDir } = processFixtures();
const dataDir = () => tempDir('roles');

async function start(entry: 'main' | 'worker', env: Record<string, string>): Promise<ServerProcess> {
  const server = await startProcess(entry, env);
  started.push(server);
  return server;
}

async function refused(entry: 'main' | 'worker', env: Record<string, string>): Promise<ProcessStartFailed> {
  const outcome = await startProcess(entry, env).then(
    (server) => {
      started.push(server);
      return null;
    },
    (error: unknown) => error,
  );
  expect(outcome).toBeInstanceOf(ProcessStartFailed);
  return outcome as ProcessStartFailed;
}

describe('one process per role on a data directory', () => {
  it("a second API on the same DATA_DIR refuses to start (exit 75) naming the first one's pid; the first goes on answering", async () => {
    const dir = dataDir();
    const first = await start('main', { DATA_DIR: dir });
    const second = await refused('main', { DATA_DIR: dir });
    expect(second.code).toBe(75);
    expect(second.stderrText).toContain(`another process already writes its event log`);
    expect(second.stderrText).toContain(`pid ${first.pid}`);
    const { position } = await fileCases(first, 1);
    expect(
      (await first.call('GET', `/api/cases?after=${position}&limit=5`, { token: await token(AUDITOR) })).status,
    ).toBe(200);
  }, 120_000);

  it('the documented pair works (API with PROJECTIONS=off and one worker); a second worker refuses naming the first', async () => {
    const dir = dataDir();
    const api = await start('main', { DATA_DIR: dir, PROJECTIONS: 'off' });
    const worker = await start('worker', { DATA_DIR: dir });
    const second = await refused('worker', { DATA_DIR: dir });
    expect(second.code).toBe(75);
    expect(second.stderrText).toContain('another process already runs its projections');
    expect(second.stderrText).toContain(`pid ${worker.pid}`);
    const { caseIds, position } = await fileCases(api, 3);
    const read = await api.call('GET', `/api/cases/${caseIds[2]}?after=${position}`, { token: await token(AUDITOR) });
    expect(read.status).toBe(200);
  }, 120_000);

  it("an inline API's projection process holds the projection role: a worker beside it refuses, naming that process, not the API", async () => {
    const dir = dataDir();
    const api = await start('main', { DATA_DIR: dir });
    const worker = await refused('worker', { DATA_DIR: dir });
    expect(worker.code).toBe(75);
    expect(worker.stderrText).toContain('another process already runs its projections');
    expect(worker.stderrText).toContain('projection process of an API with PROJECTIONS=inline');
    expect(worker.stderrText).not.toContain(`pid ${api.pid} `);
    const { caseIds, position } = await fileCases(api, 2);
    expect(
      (await api.call('GET', `/api/cases/${caseIds[1]}?after=${position}`, { token: await token(AUDITOR) })).status,
    ).toBe(200);
  }, 120_000);

  it('after a SIGKILL of the API (its projection process left to notice), a new API starts at once, projects and serves every case', async () => {
    const dir = dataDir();
    const first = await start('main', { DATA_DIR: dir });
    const before = await fileCases(first, 3);
    first.child.kill('SIGKILL');
    await first.exited;
    const second = await start('main', { DATA_DIR: dir });
    const after = await fileCases(second, 2, 100);
    const auditor = await token(AUDITOR);
    for (const caseId of [...before.caseIds, ...after.caseIds]) {
      expect(
        (await second.call('GET', `/api/cases/${caseId}?after=${after.position}`, { token: auditor })).status,
      ).toBe(200);
    }
  }, 120_000);

  it('after a SIGKILL of a worker, a new worker starts and takes over the projections', async () => {
    const dir = dataDir();
    const api = await start('main', { DATA_DIR: dir, PROJECTIONS: 'off' });
    const first = await start('worker', { DATA_DIR: dir });
    first.child.kill('SIGKILL');
    await first.exited;
    await start('worker', { DATA_DIR: dir });
    const { caseIds, position } = await fileCases(api, 2);
    expect(
      (await api.call('GET', `/api/cases/${caseIds[1]}?after=${position}`, { token: await token(AUDITOR) })).status,
    ).toBe(200);
  }, 120_000);
});
