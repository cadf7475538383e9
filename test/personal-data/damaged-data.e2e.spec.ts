/**
 * Stored data that is damaged (found by the crash tester flipping bytes): an act changed on disk was served as recorded
 * (a clear field) or answered 500 "unhandled error" (its envelope, which no longer decrypts), and the case's
 * verification failed on it instead of saying which act is broken; a wrapped key that no longer unwraps answered 500
 * "unhandled error". Now: a specific problem naming what is damaged, nothing of it answered, and the verification says
 * the chain is broken where it is.
 */
import Database from 'better-sqlite3';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileSampleCase, startHarness, type ApiHarness } from '../support/api-harness';

const AUDITOR = { sub: 'auditor-1', roles: ['auditor'], unit: 'audit' };
const dataDir = mkdtempSync(join(tmpdir(), 'reglament-damaged-'));
let api: ApiHarness;
afterAll(async () => {
  await api?.close();
  rmSync(dataDir, { recursive: true, force: true });
});

/** A base64url character changed to another one (the text stays base64url). */
const another = (c: string | undefined) => (c === 'A' ? 'B' : 'A');

it('an act changed on disk (a byte of its envelope): history 500 stored-data-damaged naming the case and revision; verify 200, broken there', async () => {
  api = await startHarness({}, { dataDir });
  const filed = await fileSampleCase(api, 41);
  const db = new Database(join(dataDir, 'events.db'));
  try {
    const row = db
      .prepare<[string], { position: number; data: string }>(
        'SELECT position, data FROM events WHERE stream_id = ? AND revision = 0',
      )
      .get(`case-${filed.caseId}`)!;
    const data = JSON.parse(row.data) as { applicant: { ct: string } };
    data.applicant.ct = data.applicant.ct.slice(0, 4) + another(data.applicant.ct[4]) + data.applicant.ct.slice(5);
    db.prepare('UPDATE events SET data = ? WHERE position = ?').run(JSON.stringify(data), row.position);
  } finally {
    db.close();
  }
  const history = await api.call('GET', `/api/cases/${filed.caseId}/history`, { as: AUDITOR });
  expect(history.status).toBe(500);
  expect(history.body).toMatchObject({
    type: expect.stringMatching(/stored-data-damaged$/),
    detail: expect.stringContaining(
      `the stored acts of case ${filed.caseId} do not match their hashes from revision 0`,
    ),
  });
  const verified = await api.call('GET', `/api/cases/${filed.caseId}/verify`, { as: AUDITOR });
  expect(verified.status).toBe(200);
  expect(verified.body).toMatchObject({ valid: false, firstBrokenRevision: 0 });
});

it('a wrapped key that does not unwrap: history 500 stored-data-damaged naming keys.db and the subject', async () => {
  const filed = await fileSampleCase(api, 42);
  await api.close();
  const keys = new Database(join(dataDir, 'keys.db'));
  let subject: string;
  try {
    subject = keys
      .prepare<[string], { subject_id: string }>('SELECT subject_id FROM case_subjects WHERE case_id = ?')
      .get(filed.caseId)!.subject_id;
    const wrapped = keys
      .prepare<[string], { wrapped_key: Buffer }>('SELECT wrapped_key FROM subjects WHERE subject_id = ?')
      .get(subject)!.wrapped_key;
    wrapped[wrapped.length - 1] ^= 1;
    keys.prepare('UPDATE subjects SET wrapped_key = ? WHERE subject_id = ?').run(wrapped, subject);
  } finally {
    keys.close();
  }
  api = await startHarness({}, { dataDir });
  const history = await api.call('GET', `/api/cases/${filed.caseId}/history`, { as: AUDITOR });
  expect(history.status).toBe(500);
  expect(history.body).toMatchObject({
    type: expect.stringMatching(/stored-data-damaged$/),
    detail: expect.stringContaining(`keys.db: the key of data subject ${subject!} does not unwrap`),
  });
});
