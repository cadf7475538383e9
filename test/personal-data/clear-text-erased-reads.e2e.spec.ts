/**
 * Acts recorded in clear (before encryption began) whose applicant is then erased, read through every auditors' read
 * on the real HTTP server and SQLite files: the history (JSON, CSV, XLSX), the replayed state and the evidence pack show
 * "erased" in place, whether this process erased the applicant or another did (the CLI, another instance), which only
 * the erasure's record in the log tells this process. The log keeps the acts as stored, and the pack still verifies
 * (a review's finding: they were all served as stored).
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig } from '../../src/shared/config/config';
import { loadReferenceData } from '../../src/app/reference-data';
import { newId } from '../../src/shared/ids/new-id';
import { openEventLog } from '../../src/modules/event-log/open-event-log';
import type { Principal } from '../../src/modules/identity/domain/principal';
import { caseStreamId } from '../../src/modules/cases/domain/case-event';
import { eraseSubject } from '../../src/modules/personal-data/commands/erase-subject';
import { erasureDeps } from '../../src/modules/personal-data/personal-data.module';
import { PersonalDataVault } from '../../src/modules/personal-data/personal-data-vault';
import {
  renderEvidenceFile,
  signPack,
  verifyEvidenceFile,
  type SignedEvidencePack,
} from '../../src/modules/audit/domain/evidence-pack';
import { makeIin, startHarness, type ApiHarness, type TestCaller } from '../support/api-harness';
import { recordAsBefore } from '../support/acts-as-before';

const AUDITOR: TestCaller = { sub: 'auditor-1', roles: ['auditor'], unit: 'hq' };
const ADMIN: TestCaller = { sub: 'admin-1', roles: ['admin'], unit: 'hq' };
const BASIS = { basis: 'retention period ended', reference: 'Law 94-V art. 12' };
/** Erased by this process (HTTP), and by another vault over the same files, as the CLI or another instance erases. */
const here = { iin: makeIin('800101', 3, 55), name: 'Старозаписанный Ерлан Болатович', reason: 'переезд в Шымкент' };
const elsewhere = { iin: makeIin('810202', 4, 66), name: 'Давнишняя Айгуль Серикқызы', reason: 'поступила в вуз' };
const caseOf = new Map<typeof here, string>();
let dataDir: string;
let api: ApiHarness;

beforeAll(async () => {
  dataDir = mkdtempSync(join(tmpdir(), 'reglament-clear-erased-'));
  // Written as the service wrote before encryption: personal fields in clear, and the citizen who acted named as
  // their token named them. Closed in 2015: past the retention period, so they may be erased.
  const reference = loadReferenceData(loadConfig({}));
  const log = await openEventLog({ kind: 'sqlite', dataDir });
  const deps = { log, catalog: reference.catalog, calendar: reference.calendar };
  for (const person of [here, elsewhere]) {
    const applicant: Principal = { id: `egov-${person.iin}`, name: person.name, roles: ['applicant'], iin: person.iin };
    const caseId = newId();
    caseOf.set(person, caseId);
    await recordAsBefore(deps, applicant, caseId, {
      kind: 'submit',
      caseId,
      receiptNumber: `RG-20150915-${person.iin.slice(-3)}`,
      serviceId: 'civil-service-testing',
      channel: 'portal',
      unit: 'astana-hq',
      applicant: { iin: person.iin, fullName: person.name },
      occurredAt: new Date('2015-09-15T04:00:00Z'),
    });
    await recordAsBefore(deps, applicant, caseId, {
      kind: 'cancel',
      occurredAt: new Date('2015-09-15T09:00:00Z'),
      reason: person.reason,
    });
  }
  await log.close();
  api = await startHarness({}, { dataDir });
  await api.app.infra.projections.readModels.waitFor('cases', await api.app.infra.eventLog.headPosition(), 10_000);
}, 60_000);

afterAll(async () => {
  await api?.close();
  rmSync(dataDir, { recursive: true, force: true });
});

const personal = (person: typeof here) => [person.iin, person.name, person.reason];
const citizen = (person: typeof here): TestCaller => ({
  sub: `egov-${person.iin}`,
  roles: ['applicant'],
  iin: person.iin,
});
/** The cases of the person's own feed, found by their IIN's blind index (a filing in clear has it computed). */
const feedCases = async (person: typeof here) =>
  new Set(
    (await api.call('GET', '/api/feed?limit=1000', { as: citizen(person) })).body.items.map(
      (i: { caseId: string }) => i.caseId,
    ),
  );

it('the history, the state and the evidence pack show the erased applicant\'s clear acts as "erased"; the log keeps them and the pack verifies', async () => {
  // Read before the erasures: this process has seen the erasure stream as it was (empty), and shows the acts as stored.
  const before = await api.call('GET', `/api/cases/${caseOf.get(elsewhere)}/history`, { as: AUDITOR });
  expect(before.body.events[0].data.applicant).toEqual({ iin: elsewhere.iin, fullName: elsewhere.name });
  for (const person of [here, elsewhere]) expect(await feedCases(person)).toEqual(new Set([caseOf.get(person)]));

  const erased = await api.call('POST', '/api/personal-data/erasures', {
    as: ADMIN,
    body: { iin: here.iin, ...BASIS },
  });
  expect([erased.status, erased.body.cases.map((c: { caseId: string }) => c.caseId)]).toEqual([
    201,
    [caseOf.get(here)],
  ]);
  const infra = api.app.infra;
  const other = await eraseSubject(
    { ...erasureDeps(infra), vault: new PersonalDataVault(infra.personalData.keys) },
    { iin: elsewhere.iin, ...BASIS, by: 'admin-2' },
  );
  expect(other.ok).toBe(true);

  const key = await api.call('GET', '/api/evidence/public-key', { as: AUDITOR });
  for (const person of [here, elsewhere]) {
    const caseId = caseOf.get(person)!;
    // No IIN leads to the erased case: not the person's own feed either.
    expect(await feedCases(person)).toEqual(new Set());
    const history = await api.call('GET', `/api/cases/${caseId}/history`, { as: AUDITOR });
    expect(history.status).toBe(200);
    const acts = history.body.events.filter((e: { streamId: string }) => e.streamId === caseStreamId(caseId));
    expect(
      acts.map((e: { type: string; data: Record<string, unknown> }) => [e.type, e.data.applicant ?? e.data.reason]),
    ).toEqual([
      ['ApplicationSubmitted', { iin: 'erased', fullName: 'erased' }],
      ['ApplicationCancelled', 'erased'],
    ]);
    expect(acts.map((e: { metadata: { actor: unknown } }) => e.metadata.actor)).toEqual([
      { id: 'erased', name: 'erased', role: 'applicant' },
      { id: 'erased', name: 'erased', role: 'applicant' },
    ]);
    const csv = await api.call('GET', `/api/cases/${caseId}/history?format=csv&lang=ru`, { as: AUDITOR });
    expect(csv.status).toBe(200);
    const xlsx = await fetch(`${api.url}/api/cases/${caseId}/history?format=xlsx&lang=ru`, {
      headers: { authorization: `Bearer ${await api.token(AUDITOR)}` },
    });
    const ExcelJS = (await import('exceljs')).default;
    const book = new ExcelJS.Workbook();
    await book.xlsx.load(Buffer.from(await xlsx.arrayBuffer()) as never);
    const cells: unknown[] = [];
    book.worksheets[0]!.eachRow((row) => cells.push(row.values));
    const state = await api.call('GET', `/api/cases/${caseId}/state`, { as: AUDITOR });
    expect(state.body.state.applicant).toEqual({ iin: 'erased', fullName: 'erased' });
    const evidence = await api.call('GET', `/api/cases/${caseId}/evidence`, { as: AUDITOR });
    expect(evidence.status).toBe(200);
    for (const [what, answer] of [
      ['history', JSON.stringify(history.body)],
      ['csv', String(csv.body)],
      ['xlsx', JSON.stringify(cells)],
      ['state', JSON.stringify(state.body)],
      ['evidence', String(evidence.body)],
    ])
      for (const text of personal(person)) expect([what, answer.includes(text)]).toEqual([what, false]);

    // The pack still verifies: the acts shown erased are marked so, each linked by its hash and proved in the log.
    const verified = verifyEvidenceFile(String(evidence.body), {
      fingerprints: [key.body.keyFingerprint],
      noteKeys: [],
    });
    expect(verified.checks.filter((c) => !c.ok)).toEqual([]);
    expect(verified.valid).toBe(true);
    expect(verified.checks.find((c) => c.name === 'hash chain')).toMatchObject({
      ok: true,
      warning: true,
      detail: expect.stringContaining('2 act(s) recorded in clear whose applicant was erased'),
    });

    // The mark is honoured in its own format only, and for an act at its place: re-issued with the service's key as
    // format 4, or with a marked act's link changed, the pack is NOT VALID.
    const { signature: _signature, ...unsigned } = JSON.parse(
      /<script type="application\/json" id="reglament-evidence">([\s\S]*?)<\/script>/.exec(String(evidence.body))![1]!,
    ) as SignedEvidencePack;
    const reissued = (pack: typeof unsigned) =>
      verifyEvidenceFile(renderEvidenceFile(signPack(pack, infra.keys.active.privateKey)), {
        fingerprints: [key.body.keyFingerprint],
        noteKeys: [],
      });
    expect(reissued(unsigned).valid).toBe(true);
    const asFormat4 = reissued({ ...unsigned, format: 'reglament-evidence/4' });
    expect(asFormat4.checks.find((c) => c.name === 'hash chain')).toMatchObject({ ok: false });
    const [filing, ...rest] = unsigned.events;
    const unlinked = reissued({
      ...unsigned,
      events: [{ ...filing!, revision: 1 }, ...rest],
    });
    expect(unlinked.checks.find((c) => c.name === 'hash chain')).toMatchObject({ ok: false });

    // The log keeps what it stored, and its chain still verifies.
    const [stored] = await infra.eventLog.readStream(caseStreamId(caseId), { maxCount: 1 });
    expect(stored!.data).toMatchObject({ applicant: { iin: person.iin, fullName: person.name } });
    const verify = await api.call('GET', `/api/cases/${caseId}/verify`, { as: AUDITOR });
    expect(verify.body).toMatchObject({ valid: true, events: 2 });
  }
  expect(readFileSync(join(dataDir, 'events.db')).includes(Buffer.from(here.name))).toBe(true);
}, 60_000);
