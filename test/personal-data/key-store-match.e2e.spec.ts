/**
 * The key store that starts with the log must be the log's (found by the crash tester): a lost keys.db, made anew when
 * the service opened it, or another installation's with its master key, started without a word, and every applicant
 * of every case read "erased"; new acts on their cases were sealed under new keys.
 */
import { copyFileSync, mkdtempSync, readdirSync, renameSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileSampleCase, startHarness } from '../support/api-harness';

const AUDITOR = { sub: 'auditor-1', roles: ['auditor'], unit: 'audit' };
const KEY_FILES = /^(keys\.db.*|personal-data-master-key)$/;
const dirs: string[] = [];
const newDir = () => {
  const dir = mkdtempSync(join(tmpdir(), 'reglament-keys-match-'));
  dirs.push(dir);
  return dir;
};
afterAll(() => dirs.forEach((dir) => rmSync(dir, { recursive: true, force: true })));

/** Moves the key store's files (and the master key that wraps it) from one directory to another. */
function moveKeys(from: string, to: string, copy = false) {
  for (const file of readdirSync(from).filter((f) => KEY_FILES.test(f)))
    (copy ? copyFileSync : renameSync)(join(from, file), join(to, file));
}

it('a log started with a lost, or another installation’s, key store is refused naming keys.db; with its own it starts and reads', async () => {
  const dataDir = newDir();
  let api = await startHarness({}, { dataDir });
  const filed = await fileSampleCase(api, 31);
  await fileSampleCase(api, 32);
  await api.close();

  const aside = newDir();
  moveKeys(dataDir, aside);
  await expect(startHarness({}, { dataDir })).rejects.toThrow(
    /keys\.db: holds no key for 2 of the 2 data subjects .* it is not this log's key store/,
  );

  const other = newDir();
  const elsewhere = await startHarness({}, { dataDir: other });
  await fileSampleCase(elsewhere, 33);
  await elsewhere.close();
  for (const file of readdirSync(dataDir).filter((f) => KEY_FILES.test(f))) rmSync(join(dataDir, file));
  moveKeys(other, dataDir, true);
  await expect(startHarness({}, { dataDir })).rejects.toThrow(/it is not this log's key store/);

  for (const file of readdirSync(dataDir).filter((f) => KEY_FILES.test(f))) rmSync(join(dataDir, file));
  moveKeys(aside, dataDir);
  api = await startHarness({}, { dataDir });
  try {
    const history = await api.call('GET', `/api/cases/${filed.caseId}/history`, { as: AUDITOR });
    expect(history.status).toBe(200);
    expect(history.body.events[0].data.applicant.fullName).not.toBe('erased');
  } finally {
    await api.close();
  }
}, 120_000);
