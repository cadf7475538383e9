/**
 * The retention report and the erasures it prints, as a review found them, on the real HTTP server, the real SQLite
 * files and the real CLI: a person with a case closed years ago and another open was reported due (and its erasure
 * refused); a subject erased with the CLI, the service stopped, was reported again until the read model met the
 * erasure; an erasure by subject id left the person's cases filed before encryption in clear in read.db, and the
 * report gave those no command at all; the CLI took a legal basis with no text; and who erased (`by`: the CLI's
 * `--by`, the admin's token subject over HTTP) could carry an IIN into the log for good.
 */
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig } from '../../src/shared/config/config';
import { loadReferenceData } from '../../src/app/reference-data';
import { newId } from '../../src/shared/ids/new-id';
import { openEventLog } from '../../src/modules/event-log/open-event-log';
import type { Principal } from '../../src/modules/identity/domain/principal';
import { ERASURE_STREAM } from '../../src/modules/personal-data/domain/erasure';
import { makeIin, startHarness, type ApiHarness, type TestCaller } from '../support/api-harness';
import { recordAsBefore } from '../support/acts-as-before';
import { filingBody, filingDay } from '../support/case-walk';
import { cli } from '../support/server-process';

const UNIT = 'astana-hq';
const ADMIN: TestCaller = { sub: 'admin-1', roles: ['admin'], unit: 'hq' };
const AUDITOR: TestCaller = { sub: 'auditor-1', roles: ['auditor'], unit: 'hq' };
const VERSION = 'civil-service-testing/order-184-2015';
const reference = loadReferenceData(loadConfig({}));
const version = reference.catalog.byId.get(VERSION)!;
const BASIS = ['--basis', 'retention period ended', '--reference', 'Law 94-V art. 12'];

/** P: a case filed before encryption and one after, both closed in 2015. */
const iinP = makeIin('810101', 3, 12);
const NAME_P = 'Дважды Подавший Тестович';
/** C: only a case filed before encryption, closed in 2015. */
const iinC = makeIin('820202', 4, 23);
const NAME_C = 'Только Открытым Текстом';
/** Q: a case closed in 2015 and one open. */
const iinQ = makeIin('830303', 3, 34);
/** R: a case closed in 2015. */
const iinR = makeIin('840404', 4, 45);
const IINS = [iinP, iinC, iinQ, iinR];

let dataDir: string;
let api: ApiHarness;
const cases: Record<string, string> = {};
const subjects: Record<string, string> = {};

/** A case filed and cancelled as the service stored it before encryption: in clear, the citizen named by their token. */
async function filedInClear(log: Awaited<ReturnType<typeof openEventLog>>, iin: string, fullName: string) {
  const caseId = newId();
  const who: Principal = { id: `egov-${iin}`, name: fullName, roles: ['applicant'], iin };
  const deps = { log, catalog: reference.catalog, calendar: reference.calendar };
  await recordAsBefore(deps, who, caseId, {
    kind: 'submit',
    caseId,
    receiptNumber: `RG-20150915-${iin.slice(-4)}`,
    serviceId: 'civil-service-testing',
    channel: 'portal',
    unit: UNIT,
    applicant: { iin, fullName },
    occurredAt: new Date('2015-09-15T04:00:00Z'),
  });
  await recordAsBefore(deps, who, caseId, {
    kind: 'cancel',
    occurredAt: new Date('2015-09-15T09:00:00Z'),
    reason: 'переезд',
  });
  return caseId;
}

/** A case filed over the API (encrypted) on the version's filing day, cancelled that day unless `open`. */
async function filed(iin: string, fullName: string, open = false): Promise<string> {
  const who: TestCaller = { sub: `egov-${iin}`, name: fullName, roles: ['applicant'], iin };
  const created = await api.call('POST', '/api/cases', {
    as: who,
    body: filingBody(version, UNIT, { iin, fullName }, `${filingDay(version)}T10:00:00+06:00`),
  });
  expect([created.status, created.status === 201 ? '' : created.body]).toEqual([201, '']);
  if (!open) {
    const cancelled = await api.call('POST', `/api/cases/${created.body.caseId}/cancel`, {
      as: who,
      body: { reason: 'передумал', occurredAt: `${filingDay(version)}T15:00:00+06:00` },
    });
    expect(cancelled.status).toBe(201);
  }
  return created.body.caseId as string;
}

const sha256Of = (file: string) => createHash('sha256').update(readFileSync(file)).digest('hex');
const erasuresRecorded = async () => (await api.app.infra.eventLog.readStream(ERASURE_STREAM)).length;

beforeAll(async () => {
  dataDir = mkdtempSync(join(tmpdir(), 'reglament-erasure-report-'));
  const log = await openEventLog({ kind: 'sqlite', dataDir });
  cases.pInClear = await filedInClear(log, iinP, NAME_P);
  cases.cInClear = await filedInClear(log, iinC, NAME_C);
  await log.close();
  api = await startHarness({}, { dataDir });
  cases.p = await filed(iinP, NAME_P);
  cases.qClosed = await filed(iinQ, 'Открытое Дело Тестович');
  cases.qOpen = await filed(iinQ, 'Открытое Дело Тестович', true);
  cases.r = await filed(iinR, 'Стираемый Командой Тестович');
  await api.app.infra.projections.readModels.waitFor('cases', await api.app.infra.eventLog.headPosition(), 10_000);
  for (const [person, caseId] of [
    ['p', cases.p],
    ['q', cases.qClosed],
    ['r', cases.r],
  ] as const)
    subjects[person] = (await api.app.infra.personalData.keys.subjectOfCase(caseId!))!;
}, 120_000);

afterAll(async () => {
  await api?.close();
  rmSync(dataDir, { recursive: true, force: true });
});

describe('GET /api/personal-data/retention-due', () => {
  it('leaves out a person with an open case, lists a person once with their case filed before encryption, and says how to erase one who has no key; no IIN', async () => {
    const due = await api.call('GET', '/api/personal-data/retention-due', { as: ADMIN });
    expect(due.status).toBe(200);
    const entries = due.body.due as Array<{ subjectId: string | null; cases: { caseId: string }[]; eraseWith: object }>;
    const listed = entries.flatMap((e) => e.cases.map((c) => c.caseId));
    expect(listed).not.toContain(cases.qClosed);
    expect(entries.map((e) => ({ ...e, cases: e.cases.map((c) => c.caseId) }))).toEqual(
      expect.arrayContaining([
        { subjectId: subjects.p, cases: [cases.pInClear, cases.p].sort(), eraseWith: { subjectId: subjects.p } },
        { subjectId: null, cases: [cases.cInClear], eraseWith: { caseId: cases.cInClear } },
      ]),
    );
    expect(IINS.filter((iin) => JSON.stringify(due.body).includes(iin))).toEqual([]);

    // What the report left out is not erasable: the open case is named.
    const refused = await api.call('POST', '/api/personal-data/erasures', {
      as: ADMIN,
      body: { subjectId: subjects.q, basis: 'retention period ended', reference: 'Law 94-V art. 12' },
    });
    expect(refused.status).toBe(409);
    expect(refused.body.errors).toEqual(
      expect.arrayContaining([expect.objectContaining({ field: `cases.${cases.qOpen}` })]),
    );
  });
});

describe('POST /api/personal-data/erasures', () => {
  it('by an admin whose token subject holds an IIN is 403 naming the principal, the IIN not shown; nothing is recorded', async () => {
    const iin = makeIin('790909', 3, 56);
    const before = await erasuresRecorded();
    const r = await api.call('POST', '/api/personal-data/erasures', {
      as: { sub: `egov-${iin}`, roles: ['admin'], unit: 'hq', iin },
      body: { subjectId: subjects.r, basis: 'retention period ended', reference: 'Law 94-V art. 12' },
    });
    expect(r.status).toBe(403);
    expect(r.body).toMatchObject({
      type: expect.stringContaining('erasure-refused-principal-names-iin'),
      errors: [{ field: 'principal', problem: expect.stringContaining('IIN'), allowed: expect.any(String) }],
    });
    expect(JSON.stringify(r.body)).not.toContain(iin);
    expect(await erasuresRecorded()).toBe(before);
    expect(await api.app.infra.personalData.applicantErased(cases.r!)).toBe(false);
  });

  it('names the applicant by caseId: 400 naming it when it is no case id, or beside another way of naming; 404 for a case it does not know', async () => {
    const body = { basis: 'retention period ended', reference: 'Law 94-V art. 12' };
    const bad = await api.call('POST', '/api/personal-data/erasures', {
      as: ADMIN,
      body: { ...body, caseId: 'RG-20150915-OLD' },
    });
    expect(bad.status).toBe(400);
    expect(bad.body.errors).toEqual([
      { field: 'caseId', problem: expect.stringContaining('is not a case id'), allowed: expect.any(String) },
    ]);
    const two = await api.call('POST', '/api/personal-data/erasures', {
      as: ADMIN,
      body: { ...body, caseId: cases.cInClear, subjectId: subjects.r },
    });
    expect(two.status).toBe(400);
    expect(two.body.errors).toEqual([
      expect.objectContaining({ field: 'body', allowed: 'exactly one of iin, subjectId, caseId' }),
    ]);
    const unknown = await api.call('POST', '/api/personal-data/erasures', {
      as: ADMIN,
      body: { ...body, caseId: newId() },
    });
    expect(unknown.status).toBe(404);
    expect(await erasuresRecorded()).toBe(0);
  });
});

describe('npm run cli -- erase', () => {
  beforeAll(async () => {
    await api.close();
  });

  it('refuses a basis, a reference or a --by with no letters or digits (dots, zero-width spaces), naming each, exit 2; nothing changes', () => {
    const events = sha256Of(join(dataDir, 'events.db'));
    for (const [option, args] of [
      ['--basis', ['--basis', '...', '--reference', 'Law 94-V art. 12']],
      ['--reference', ['--basis', 'retention period ended', '--reference', '\u200b\u200b\u200b']],
      ['--by', [...BASIS, '--by', '\u200b \u200b']],
    ] as const) {
      const r = cli(['erase', '--subject', subjects.r!, ...args], dataDir);
      expect([option, r.code]).toEqual([option, 2]);
      expect(r.stderr.split('\n')[0]).toMatch(
        new RegExp(`^erase: ${option} must hold at least \\d letters? or digits?`),
      );
    }
    expect(sha256Of(join(dataDir, 'events.db'))).toBe(events);
  }, 60_000);

  it('refuses a --by that names an IIN, naming --by, the IIN masked: exit 1, nothing erased', () => {
    const iin = makeIin('790909', 3, 56);
    const r = cli(['erase', '--subject', subjects.r!, ...BASIS, '--by', `Админ ${iin}`], dataDir);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('refused (personal-data-in-record)');
    expect(r.stderr).toContain('--by');
    expect(r.stderr).not.toContain(iin);
  }, 60_000);

  it('of a subject, with the service stopped: the report run next no longer lists it, though the read model still shows its case', () => {
    const erased = cli(['erase', '--subject', subjects.r!, ...BASIS, '--by', 'admin-cli'], dataDir);
    expect([erased.code, erased.stderr]).toEqual([0, '']);
    const report = cli(['retention-report'], dataDir);
    expect([report.code, report.stderr]).toEqual([0, '']);
    expect(report.stdout).not.toContain(cases.r);
    expect(report.stdout).not.toContain(cases.qClosed);
    expect(report.stdout).toContain(`erase --subject ${subjects.p} `);
    expect(report.stdout).toContain(`erase --case ${cases.cInClear} `);
    expect(IINS.filter((iin) => report.stdout.includes(iin))).toEqual([]);
  }, 60_000);

  it("by subject id takes the person's case filed before encryption too, and by case id the applicant who has no key: read.db keeps neither's IIN or name", async () => {
    const bySubject = cli(['erase', '--subject', subjects.p!, ...BASIS], dataDir);
    expect([bySubject.code, bySubject.stderr]).toEqual([0, '']);
    expect(bySubject.stdout).toContain('for 2 case(s)');
    expect(bySubject.stdout).toContain(`(cases ${cases.pInClear})`);
    const byCase = cli(['erase', '--case', cases.cInClear!, ...BASIS], dataDir);
    expect([byCase.code, byCase.stderr]).toEqual([0, '']);
    expect(byCase.stdout).toContain('erased 0 subject key(s) for 1 case(s)');

    api = await startHarness({}, { dataDir });
    await api.app.infra.projections.readModels.waitFor('cases', await api.app.infra.eventLog.headPosition(), 10_000);
    for (const caseId of [cases.pInClear, cases.p, cases.cInClear]) {
      const view = await api.call('GET', `/api/cases/${caseId}`, { as: AUDITOR });
      expect([caseId, view.body.applicant]).toEqual([
        caseId,
        expect.objectContaining({ iin: 'erased', fullName: 'erased' }),
      ]);
    }
    const recorded = (await api.app.infra.eventLog.readStream(ERASURE_STREAM)).map((e) => e.data as { by: string });
    expect(recorded.map((d) => d.by)).toEqual(['admin-cli', expect.any(String), expect.any(String)]);
    expect(IINS.filter((iin) => JSON.stringify(recorded).includes(iin))).toEqual([]);
    await api.close();
    const readDb = readFileSync(join(dataDir, 'read.db'));
    expect([iinP, NAME_P, iinC, NAME_C].filter((t) => readDb.includes(Buffer.from(t)))).toEqual([]);
  }, 120_000);
});
