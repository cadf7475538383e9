/**
 * `backup` while a real server writes, `restore` into a new directory, a server started on it: the cases filed before
 * the backup are there, the hash chains verify, and the evidence key came along (an evidence pack signed before the
 * backup is signed with the same key after the restore).
 */
import { existsSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  processFixtures,
  AUDITOR,
  cli,
  cliAsync,
  fileCases,
  startProcess,
  token,
  type ServerProcess,
} from '../support/server-process';

const { started, tempDir } = processFixtures();

it('a backup taken while the server files cases restores into a new directory that starts, verifies and serves the cases', async () => {
  const dataDir = tempDir('live');
  const server = await startProcess('main', { DATA_DIR: dataDir });
  started.push(server);
  const before = await fileCases(server, 5);
  const auditor = await token(AUDITOR);
  const evidenceKey = (
    await server.call('GET', `/api/cases/${before.caseIds[0]}/evidence`, { token: auditor })
  ).headers.get('x-evidence-key-fingerprint');
  expect(evidenceKey).toBeTruthy();

  // The server keeps filing while the backup runs.
  let writing = true;
  let filed = 0;
  const writer = (async () => {
    while (writing) filed += (await fileCases(server, 1, 100 + filed)).caseIds.length;
  })();
  const backupDir = join(tempDir('backup'), 'copy');
  const backup = await cliAsync(['backup', '--to', backupDir], dataDir);
  writing = false;
  await writer;
  // Its stderr is in the comparison so a failure shows why.
  expect({ code: backup.code, stderr: backup.code === 0 ? '' : backup.stderr }).toEqual({ code: 0, stderr: '' });
  expect(filed).toBeGreaterThan(0);
  const manifest = JSON.parse(readFileSync(join(backupDir, 'manifest.json'), 'utf8')) as {
    files: Array<{ name: string; bytes: number; sha256: string }>;
  };
  const names = manifest.files.map((f) => f.name);
  expect(names).toEqual(
    expect.arrayContaining(['events.db', 'read.db', 'events.head.json', 'evidence-signing-key.pem']),
  );
  // The log is copied last: nothing in the copy (checkpoints, head record) can stand past it.
  expect(names[names.length - 1]).toBe('events.db');
  expect(statSync(join(backupDir, 'evidence-signing-key.pem')).mode & 0o077).toBe(0);
  await server.stop();
  started.splice(0);

  const restoredDir = join(tempDir('restored'), 'data');
  const restore = cli(['restore', '--from', backupDir, '--data-dir', restoredDir], restoredDir);
  expect(restore.code).toBe(0);
  expect(restore.stdout).toMatch(/acknowledged events: all in the log/);
  expect(restore.stdout).toMatch(/hash chains: valid/);
  expect(cli(['verify'], restoredDir).code).toBe(0);

  const restored = await startProcess('main', { DATA_DIR: restoredDir });
  started.push(restored);
  // The restored read models catch up from their checkpoints first (a busy machine may take longer than one read's wait).
  for (
    let attempt = 0;
    (await restored.call('GET', `/api/cases/${before.caseIds[4]}?after=${before.position}`, { token: auditor }))
      .status !== 200;
    attempt++
  ) {
    if (attempt >= 20) throw new Error('the restored read models did not reach the cases filed before the backup');
  }
  for (const caseId of before.caseIds) {
    expect(
      (await restored.call('GET', `/api/cases/${caseId}?after=${before.position}`, { token: auditor })).status,
    ).toBe(200);
    expect((await restored.call('GET', `/api/cases/${caseId}/verify`, { token: auditor })).body).toMatchObject({
      valid: true,
    });
  }
  expect(
    (await restored.call('GET', `/api/cases/${before.caseIds[0]}/evidence`, { token: auditor })).headers.get(
      'x-evidence-key-fingerprint',
    ),
  ).toBe(evidenceKey);
  // And it takes new commands on the restored chain.
  await fileCases(restored, 1, 900);
}, 120_000);

it('a backup whose file differs from its manifest is refused by restore (exit 65), and nothing is left in the target', async () => {
  const dataDir = tempDir('src');
  const server = await startProcess('main', { DATA_DIR: dataDir });
  started.push(server);
  await fileCases(server, 2);
  const backupDir = join(tempDir('backup'), 'copy');
  expect((await cliAsync(['backup', '--to', backupDir], dataDir)).code).toBe(0);
  // A non-empty target is refused: a backup never overwrites.
  expect((await cliAsync(['backup', '--to', backupDir], dataDir)).code).toBe(73);
  const file = join(backupDir, 'read.db');
  const bytes = readFileSync(file);
  bytes[bytes.length - 10] ^= 0xff;
  writeFileSync(file, bytes);
  const target = join(tempDir('restored'), 'data');
  const restore = cli(['restore', '--from', backupDir, '--data-dir', target], target);
  expect(restore.code).toBe(65);
  expect(restore.stderr).toMatch(/read\.db: SHA-256 differs/);
  expect(existsSync(target) ? readdirSync(target) : []).toEqual([]);
}, 60_000);
