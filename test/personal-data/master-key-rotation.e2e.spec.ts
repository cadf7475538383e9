/**
 * An API left running beside a rotation of the master key (the rotate-master-key command, where no role lock of the
 * API's reaches it: the log in EventStoreDB, the keys in MongoDB) made new subject keys under the retired key, which
 * did not unwrap after its restart with the new one: those people's personal data was lost, read as damage. It now
 * refuses, 503 naming the rotation, and after the restart every case reads.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SqliteKeyStore } from '../../src/modules/personal-data/keys/sqlite-key-store';
import { problemType } from '../../src/shared/problem/problem';
import { fileSampleCase, makeIin, sampleFiling, startHarness, type ApiHarness } from '../support/api-harness';

const AUDITOR = { sub: 'auditor-1', roles: ['auditor'], unit: 'audit' };
const OLD_KEY = 'ab'.repeat(32);
const NEW_KEY = 'cd'.repeat(32);
const dataDir = mkdtempSync(join(tmpdir(), 'reglament-rotation-'));
let api: ApiHarness | null = null;
afterAll(async () => {
  await api?.close();
  rmSync(dataDir, { recursive: true, force: true });
});

it('an API that holds the retired master key refuses filings and reads of personal data (503 master-key-rotated, logged once); restarted with the new key, every case reads and the refused person files', async () => {
  const logLines: string[] = [];
  api = await startHarness(
    { PERSONAL_DATA_MASTER_KEY: OLD_KEY, LOG_LEVEL: 'info' },
    { dataDir, log: { write: (line: string) => void logLines.push(line) } },
  );
  const filed = await fileSampleCase(api, 41);
  // Another process rotates the key store under the running API.
  const rotating = SqliteKeyStore.open(dataDir, Buffer.from(OLD_KEY, 'hex'));
  await rotating.rotate(Buffer.from(NEW_KEY, 'hex'));
  await rotating.close();

  const iin = makeIin('870707', 4, 42);
  const applicant = { sub: `applicant-${iin}`, roles: ['applicant'], iin };
  const refused = await api.call('POST', '/api/cases', { as: applicant, body: sampleFiling(iin) });
  expect(refused.status).toBe(503);
  expect(refused.headers.get('content-type')).toMatch(/^application\/problem\+json/);
  expect(refused.body).toMatchObject({ type: problemType('master-key-rotated'), status: 503 });
  expect(refused.body.detail).toMatch(
    /keys\.db: the personal-data master key was rotated .*restart it with the new key/,
  );
  // A read of a case filed before: the same reason, not "damaged" data.
  const history = await api.call('GET', `/api/cases/${filed.caseId}/history`, { as: AUDITOR });
  expect(history.status).toBe(503);
  expect(history.body.type).toBe(problemType('master-key-rotated'));
  expect(logLines.filter((line) => /"level":"error".*master key was rotated/.test(line))).toHaveLength(1);
  await api.close();
  api = null;

  api = await startHarness({ PERSONAL_DATA_MASTER_KEY: NEW_KEY }, { dataDir });
  const read = await api.call('GET', `/api/cases/${filed.caseId}/history`, { as: AUDITOR });
  expect(read.status).toBe(200);
  expect(read.body.events[0].data.applicant.fullName).toBe('Ф');
  const again = await api.call('POST', '/api/cases', { as: applicant, body: sampleFiling(iin) });
  expect(again.status).toBe(201);
  const readAgain = await api.call('GET', `/api/cases/${again.body.caseId}/history`, { as: AUDITOR });
  expect(readAgain.body.events[0].data.applicant.fullName).toBe('Ф');
}, 120_000);
