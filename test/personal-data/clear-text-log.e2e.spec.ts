/**
 * A data directory from before personal data was encrypted: its acts stay readable; erasing their subject scrubs the
 * read models and every read of the acts, but cannot remove the acts from the append-only log, and the erasure says so
 * instead of hiding it.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig } from '../../src/shared/config/config';
import { loadReferenceData } from '../../src/app/reference-data';
import { newId } from '../../src/shared/ids/new-id';
import { openEventLog } from '../../src/modules/event-log/open-event-log';
import type { Principal } from '../../src/modules/identity/domain/principal';
import { makeIin, startHarness, type TestCaller } from '../support/api-harness';
import { recordAsBefore } from '../support/acts-as-before';

const ROOT = join(__dirname, '../..');
const AUDITOR: TestCaller = { sub: 'auditor-1', roles: ['auditor'], unit: 'hq' };
const NAME = 'Старозаписанный Ерлан Болатович';
const iin = makeIin('800101', 3, 55);
let dataDir: string;

beforeAll(() => {
  dataDir = mkdtempSync(join(tmpdir(), 'reglament-clear-'));
});
afterAll(() => rmSync(dataDir, { recursive: true, force: true }));

it('an act recorded in clear stays readable; its erasure scrubs the read models and reports, with a warning, what the log keeps', async () => {
  // Written as the service wrote before encryption: personal fields in clear, and the citizen who acted named as
  // their token named them (the e-government identity provider may put the IIN in the subject).
  const reference = loadReferenceData(loadConfig({}));
  const log = await openEventLog({ kind: 'sqlite', dataDir });
  const applicant: Principal = { id: `egov-${iin}`, name: NAME, roles: ['applicant'], iin };
  const deps = { log, catalog: reference.catalog, calendar: reference.calendar };
  const caseId = newId();
  await recordAsBefore(deps, applicant, caseId, {
    kind: 'submit',
    caseId,
    receiptNumber: 'RG-20150915-OLD',
    serviceId: 'civil-service-testing',
    channel: 'portal',
    unit: 'astana-hq',
    applicant: { iin, fullName: NAME },
    occurredAt: new Date('2015-09-15T04:00:00Z'),
  });
  await recordAsBefore(deps, applicant, caseId, {
    kind: 'cancel',
    occurredAt: new Date('2015-09-15T09:00:00Z'),
    reason: 'переезд',
  });
  await log.close();

  let api = await startHarness({}, { dataDir });
  try {
    const history = await api.call('GET', `/api/cases/${caseId}/history`, { as: AUDITOR });
    expect(history.body.events[0].data.applicant).toEqual({ iin, fullName: NAME });
    // Read in clear, and still a disclosure: recorded as an encrypted act's read is, naming the case and no person.
    const day = new Date().toISOString().slice(0, 10);
    const disclosures = await api.app.infra.eventLog.readStream(`personal-data-access-${day}`);
    expect(disclosures.map((e) => [e.type, e.data, (e.metadata.actor as { id: string }).id])).toEqual([
      ['PersonalDataDisclosed', { cases: [caseId], subjects: [], purpose: expect.any(String) }, AUDITOR.sub],
    ]);
    // The feed (and webhooks) send acts as stored without the vault: a field stored in clear is withheld there.
    const feed = await api.call('GET', '/api/feed', { as: AUDITOR });
    expect(feed.status).toBe(200);
    const filing = feed.body.items.find(
      (i: { caseId: string; type: string }) => i.caseId === caseId && i.type === 'ApplicationSubmitted',
    );
    expect(filing.data.applicant).toEqual({ iin: 'withheld', fullName: 'withheld' });
    expect(JSON.stringify(feed.body)).not.toContain(NAME);
    const clerkElsewhere: TestCaller = { sub: 'clerk-2', roles: ['registry-clerk'], unit: 'almaty-hq' };
    expect((await api.call('GET', `/api/cases/${caseId}/history`, { as: clerkElsewhere })).status).toBe(403);
    // The case model is built from the log at this first start (503 read-model-not-ready until then): waited for.
    await api.app.infra.projections.readModels.waitFor('cases', await api.app.infra.eventLog.headPosition(), 10_000);
    const list = await api.call('GET', `/api/cases?applicantIin=${iin}`, { as: AUDITOR });
    expect(list.body.cases.map((c: { caseId: string }) => c.caseId)).toEqual([caseId]);
  } finally {
    await api.close();
  }

  const erase = spawnSync(
    process.execPath,
    [
      '-r',
      join(ROOT, 'test/support/swc-register.js'),
      join(ROOT, 'src/cli/main.ts'),
      'erase',
      '--iin',
      iin,
      '--basis',
      'retention period ended',
      '--reference',
      'Law 94-V art. 12',
    ],
    {
      env: { PATH: process.env.PATH ?? '', DATA_DIR: dataDir, LOG_LEVEL: 'silent' },
      encoding: 'utf8',
      timeout: 120_000,
    },
  );
  expect(erase.stderr).toBe('');
  expect(erase.status).toBe(0);
  expect(erase.stdout).toContain('erased 0 subject key(s) for 1 case(s)');
  expect(erase.stdout).toMatch(
    /WARNING: 2 act\(s\) of these cases were recorded with personal data in clear .* no erasure can remove them \(cases [0-9a-f-]+\)/,
  );

  api = await startHarness({}, { dataDir });
  try {
    await api.app.infra.projections.readModels.waitFor('cases', await api.app.infra.eventLog.headPosition(), 10_000);
    const view = await api.call('GET', `/api/cases/${caseId}`, { as: AUDITOR });
    expect(view.body.applicant).toMatchObject({ fullName: 'erased' });
    // The citizen who acted themself, as their token named them, is scrubbed from the read model too.
    expect(view.body.acts.map((a: { actor: unknown }) => a.actor)).toEqual([
      { id: 'erased', name: 'erased', role: 'applicant' },
      { id: 'erased', name: 'erased', role: 'applicant' },
    ]);
    // The log is append-only: what it stored in clear it still holds (events.db, below), and the history shows it
    // "erased" in place, as the read models do.
    const history = await api.call('GET', `/api/cases/${caseId}/history`, { as: AUDITOR });
    expect(history.body.events[0].data.applicant).toEqual({ iin: 'erased', fullName: 'erased' });
  } finally {
    await api.close();
  }
  expect(readFileSync(join(dataDir, 'read.db')).includes(Buffer.from(NAME))).toBe(false);
  expect(readFileSync(join(dataDir, 'read.db')).includes(Buffer.from(iin))).toBe(false);
  expect(readFileSync(join(dataDir, 'events.db')).includes(Buffer.from(NAME))).toBe(true);
}, 180_000);
