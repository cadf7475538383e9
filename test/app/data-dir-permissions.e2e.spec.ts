/**
 * DATA_DIR holds personal data in clear (read.db until erasure), the log and the keys: no other user of the machine
 * reads it. Under an umask of 0022, as a shell's usual one, the real processes (the API with its projection process,
 * the worker, a command) create it 0700 and their files 0600; an existing directory others may enter is named in a
 * warning at start. The real processes on the real filesystem.
 */
import { chmodSync, mkdirSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { cli, fileCases, processFixtures, startProcess } from '../support/server-process';
import { fileSampleCase, startHarness } from '../support/api-harness';

const fixtures = processFixtures();
let umask: number;

beforeAll(() => {
  umask = process.umask(0o022);
});
afterAll(() => process.umask(umask));

/** Every entry under `dir` (itself included) whose mode lets its group or others in, with that mode. */
function openToOthers(dir: string): string[] {
  const found: string[] = [];
  const visit = (path: string, name: string) => {
    const mode = statSync(path).mode & 0o777;
    if (mode & 0o077) found.push(`${name} ${mode.toString(8)}`);
    if (statSync(path).isDirectory())
      for (const entry of readdirSync(path)) visit(join(path, entry), name === '.' ? entry : `${name}/${entry}`);
  };
  visit(dir, '.');
  return found;
}

it('the API and its projection process create DATA_DIR 0700 and every file in it 0600', async () => {
  const dataDir = join(fixtures.tempDir('perm-api'), 'data');
  const server = await startProcess('main', { DATA_DIR: dataDir });
  fixtures.started.push(server);
  await fileCases(server, 2);
  // The files as they are while it runs (WAL and shared-memory files included), then after a clean stop.
  expect(readdirSync(dataDir)).toEqual(expect.arrayContaining(['events.db', 'read.db', 'keys.db', 'events.db-wal']));
  expect(openToOthers(dataDir)).toEqual([]);
  expect(await server.stop()).toBe(0);
  expect(openToOthers(dataDir)).toEqual([]);
  expect(server.logs.filter((line) => /DATA_DIR .*(group|others)/.test(line.msg))).toEqual([]);
}, 120_000);

it('the worker and a command create theirs so too', async () => {
  const root = fixtures.tempDir('perm-worker');
  const workerDir = join(root, 'worker');
  const worker = await startProcess('worker', { DATA_DIR: workerDir, PROJECTIONS: 'off' });
  fixtures.started.push(worker);
  expect(await worker.stop()).toBe(0);
  expect(readdirSync(workerDir)).toEqual(expect.arrayContaining(['read.db']));
  expect(openToOthers(workerDir)).toEqual([]);

  const commandDir = join(root, 'command');
  const demo = cli(['demo', '--cases', '3'], commandDir);
  expect(demo.code).toBe(0);
  expect(readdirSync(commandDir)).toEqual(expect.arrayContaining(['events.db', 'read.db', 'keys.db']));
  expect(openToOthers(commandDir)).toEqual([]);
}, 180_000);

it('an existing DATA_DIR its group or others may enter is named in a warning at start', async () => {
  const dataDir = join(fixtures.tempDir('perm-open'), 'data');
  mkdirSync(dataDir);
  chmodSync(dataDir, 0o755);
  const server = await startProcess('main', { DATA_DIR: dataDir });
  fixtures.started.push(server);
  expect(await server.stop()).toBe(0);
  const warnings = server.logs.filter((line) => line.level === ('warn' as unknown) && line.dataDir === dataDir);
  expect(warnings).toEqual([
    expect.objectContaining({ mode: '755', msg: expect.stringMatching(/DATA_DIR .*group or others.*chmod 700/) }),
  ]);
  // The directory is the operator's and left as it is; the files the service creates in it are its own.
  expect(statSync(dataDir).mode & 0o777).toBe(0o755);
  expect(openToOthers(dataDir)).toEqual(['. 755']);
}, 120_000);

it('the stores keep their files so in a process that left its umask as it was (the API started in-process)', async () => {
  const dataDir = join(fixtures.tempDir('perm-lib'), 'data');
  const api = await startHarness({}, { dataDir });
  try {
    await fileSampleCase(api);
    expect(openToOthers(dataDir)).toEqual([]);
  } finally {
    await api.close();
  }
  expect(openToOthers(dataDir)).toEqual([]);
}, 120_000);
