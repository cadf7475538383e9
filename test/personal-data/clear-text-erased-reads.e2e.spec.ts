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
import { AuditService } from '../../src/modules/audit/audit.service';
import { RemoteEvidenceProofs } from '../../src/modules/transparency/evidence-proofs';
import { ERASURE_STREAM } from '../../src/modules/personal-data/domain/erasure';
import { makeIin, startHarness, type ApiHarness, type TestCaller } from '../support/api-harness';
import { recordAsBefore } from '../support/acts-as-before';
import { cli, fileIn } from '../transparency/support';

const AUDITOR: TestCaller = { sub: 'auditor-1', roles: ['auditor'], unit: 'hq' };
const ADMIN: TestCaller = { sub: 'admin-1', roles: ['admin'], unit: 'hq' };
const BASIS = { basis: 'retention period ended', reference: 'Law 94-V art. 12' };
/** Erased by this process (HTTP), and by another vault over the same files, as the CLI or another instance erases. */
const here = { iin: makeIin('800101', 3, 55), name: 'Старозаписанный Ерлан Болатович', reason: 'переезд в Шымкент' };
const elsewhere = { iin: makeIin('810202', 4, 66), name: 'Давнишняя Айгуль Серикқызы', reason: 'поступила в вуз' };
const caseOf = new Map<typeof here, string>();
let dataDir: string;
let api: ApiHarness;

/** The person's case, filed and cancelled in 2015 as the service wrote before encryption (in clear); its id. */
async function filedInClear(deps: Parameters<typeof recordAsBefore>[0], person: typeof here): Promise<string> {
  const applicant: Principal = { id: `egov-${person.iin}`, name: person.name, roles: ['applicant'], iin: person.iin };
  const caseId = newId();
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
  return caseId;
}

beforeAll(async () => {
  dataDir = mkdtempSync(join(tmpdir(), 'reglament-clear-erased-'));
  // Written as the service wrote before encryption: personal fields in clear, and the citizen who acted named as
  // their token named them. Closed in 2015: past the retention period, so they may be erased.
  const reference = loadReferenceData(loadConfig({}));
  const log = await openEventLog({ kind: 'sqlite', dataDir });
  const deps = { log, catalog: reference.catalog, calendar: reference.calendar };
  for (const person of [here, elsewhere]) caseOf.set(person, await filedInClear(deps, person));
  await log.close();
  api = await startHarness({}, { dataDir });
  await api.app.infra.projections.readModels.waitFor('cases', await api.app.infra.eventLog.headPosition(), 10_000);
}, 60_000);

afterAll(async () => {
  await api?.close();
  rmSync(dataDir, { recursive: true, force: true });
});

/** The auditors' service as an API instance beside a worker that keeps the log's tree builds it: proofs asked over HTTP. */
const auditAskingTheWorker = () => {
  const { infra } = api.app;
  return new AuditService(
    infra.eventLog,
    infra.reference.catalog,
    infra.reference.calendar,
    infra.keys.active.privateKey,
    () => new Date(),
    new RemoteEvidenceProofs(
      api.url,
      infra.keys.keys.map((k) => k.note),
      { warn: () => undefined },
    ),
    infra.personalData,
  );
};

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

// After the erasures above.
describe("the mark is bound to the case's erasure, which the pack carries with its proof in the log", () => {
  const trust = async () => ({
    fingerprints: [(await api.call('GET', '/api/evidence/public-key', { as: AUDITOR })).body.keyFingerprint as string],
    noteKeys: [],
  });
  const packOf = async (person: typeof here) => {
    const evidence = await api.call('GET', `/api/cases/${caseOf.get(person)}/evidence`, { as: AUDITOR });
    expect(evidence.status).toBe(200);
    return String(evidence.body);
  };
  const unsignedOf = (html: string) => {
    const { signature: _signature, ...unsigned } = JSON.parse(
      /<script type="application\/json" id="reglament-evidence">([\s\S]*?)<\/script>/.exec(html)![1]!,
    ) as SignedEvidencePack;
    return unsigned;
  };
  const reissued = async (pack: ReturnType<typeof unsignedOf>) =>
    verifyEvidenceFile(renderEvidenceFile(signPack(pack, api.app.infra.keys.active.privateKey)), await trust());

  it('a genuine pack carries the erasure record that names its case, and the real CLI finds it VALID with the warning', async () => {
    const html = await packOf(here);
    const pack = unsignedOf(html);
    const [record] = (await api.app.infra.eventLog.readStream(ERASURE_STREAM)).filter((e) =>
      (e.data as { cases: string[] }).cases.includes(caseOf.get(here)!),
    );
    expect(pack.erasures).toEqual([expect.objectContaining({ id: record!.id, data: record!.data })]);
    expect(pack.transparency!.erasures).toHaveLength(1);
    // The page names the erasure, and says under each act shown erased what of it is the service's word.
    expect(html).toContain('Удаление персональных данных');
    expect(html.match(/тип, шаг, исполнитель, время и прочие данные — со слов службы/g)).toHaveLength(2);
    const run = cli([
      'verify-evidence',
      fileIn(dataDir, 'erased-pack.html', html),
      '--fingerprint',
      (await trust()).fingerprints[0]!,
    ]);
    expect(run.stdout).toMatch(/^VALID/);
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(/! hash chain: .*\(revisions 0, 1\).*is the service's word/);
    expect(run.stdout).toMatch(/✓ erasure record: .*names this case/);
  });

  it('a pack built where the tree is kept by a worker asked over HTTP carries the erasure record and its proof too', async () => {
    const { infra } = api.app;
    const audit = auditAskingTheWorker();
    const history = await audit.load(caseOf.get(elsewhere)!);
    const html = await audit.evidence(
      history!,
      { id: AUDITOR.sub, name: 'Auditor', roles: ['auditor'], unit: 'hq' } as never,
      { authorization: `Bearer ${await api.token(AUDITOR)}` },
    );
    expect(unsignedOf(html).erasures).toHaveLength(1);
    const verified = verifyEvidenceFile(html, await trust());
    expect(verified.checks.filter((c) => !c.ok)).toEqual([]);
    expect(verified.valid).toBe(true);
    // The worker proves an erasure record only for the case it names.
    const [hereRecord] = (await infra.eventLog.readStream(ERASURE_STREAM)).filter((e) =>
      (e.data as { cases: string[] }).cases.includes(caseOf.get(here)!),
    );
    const events = (await infra.eventLog.readStream(caseStreamId(caseOf.get(elsewhere)!))).map((e) => e.id);
    const foreign = await api.call('POST', '/api/transparency/evidence-proofs', {
      as: AUDITOR,
      body: { caseId: caseOf.get(elsewhere), eventIds: [...events, hereRecord!.id] },
    });
    expect(foreign.status).toBe(404);
    expect(foreign.body.errors).toEqual([expect.objectContaining({ field: `eventIds[${events.length}]` })]);
  });

  it('without the erasure record, with its proof broken, or with the record of another case, a marked act is NOT VALID', async () => {
    const pack = unsignedOf(await packOf(here));
    expect((await reissued(pack)).valid).toBe(true);

    const { erasures: _erasures, ...withoutRecord } = pack;
    const { erasures: _proofs, ...events } = pack.transparency!;
    const lacking = await reissued({ ...withoutRecord, transparency: events });
    expect(lacking.valid).toBe(false);
    expect(lacking.checks.find((c) => c.name === 'erasure record')).toMatchObject({
      ok: false,
      detail: expect.stringContaining(
        'revisions 0, 1 are marked personalDataErased, but the pack carries no erasure record of this case',
      ),
    });

    const broken = structuredClone(pack);
    const proof = broken.transparency!.erasures![0]!.proof;
    proof[0] = Buffer.alloc(32, 7).toString('base64');
    const unproved = await reissued(broken);
    expect(unproved.valid).toBe(false);
    expect(unproved.checks.find((c) => c.name === 'erasure record')).toMatchObject({
      ok: false,
      detail: expect.stringContaining('its inclusion proof'),
    });

    // The other person's erasure record, with a genuine proof to this pack's checkpoint: all holds but what it names.
    const [otherRecord] = (await api.app.infra.eventLog.readStream(ERASURE_STREAM)).filter((e) =>
      (e.data as { cases: string[] }).cases.includes(caseOf.get(elsewhere)!),
    );
    const size = Number(pack.transparency!.checkpoint.split('\n')[1]);
    const otherProof = api.app.infra.transparency!.inclusion({ eventId: otherRecord!.id }, size);
    if (!otherProof.ok) throw new Error(otherProof.problem);
    const another = structuredClone(pack);
    another.erasures = [
      {
        id: otherRecord!.id,
        type: otherRecord!.type,
        revision: otherRecord!.revision,
        position: otherProof.leafIndex + 1,
        data: otherRecord!.data,
        metadata: otherRecord!.metadata,
      },
    ];
    another.transparency!.erasures = [
      { revision: otherRecord!.revision, leafIndex: otherProof.leafIndex, proof: otherProof.proof },
    ];
    const misnamed = await reissued(another);
    expect(misnamed.valid).toBe(false);
    expect(misnamed.checks.find((c) => c.name === 'erasure record')).toMatchObject({
      ok: false,
      detail: expect.stringContaining(`does not name case ${caseOf.get(here)}`),
    });
    expect(misnamed.checks.find((c) => c.name === 'inclusion')!.ok).toBe(true);
  });

  it("a marked act is the very act its case's erasure names by hash: another case's act, proved as it stands in the log, shown in its place is NOT VALID (a review's forgery: VALID before)", async () => {
    const pack = unsignedOf(await packOf(here));
    const genuine = await reissued(pack);
    expect(genuine.checks.find((c) => c.name === 'erasure record')!.detail).toContain('each named by it with its hash');
    const size = Number(pack.transparency!.checkpoint.split('\n')[1]);
    const [, foreign] = await api.app.infra.eventLog.readStream(caseStreamId(caseOf.get(elsewhere)!));
    const foreignProof = api.app.infra.transparency!.inclusion({ eventId: foreign!.id }, size);
    if (!foreignProof.ok) throw new Error(foreignProof.problem);
    const forged = structuredClone(pack);
    const last = forged.events[1]!;
    last.type = 'ExtractIssued';
    last.data = { documentNumber: 'erased' };
    last.metadata = { ...last.metadata, hash: foreign!.metadata.hash };
    last.position = foreignProof.leafIndex + 1;
    forged.transparency!.events[1] = { revision: 1, leafIndex: foreignProof.leafIndex, proof: foreignProof.proof };
    if (forged.chain) (forged.chain as { headHash?: unknown }).headHash = foreign!.metadata.hash;
    const verified = await reissued(forged);
    expect(verified.valid).toBe(false);
    expect(verified.checks.find((c) => c.name === 'erasure record')).toMatchObject({
      ok: false,
      detail: expect.stringContaining(
        'revision 1 is marked personalDataErased, but no proven erasure record names its hash',
      ),
    });
  });

  it("an erased case's marked act whose personal data the pack shows in clear, or rewritten to other words, is NOT VALID", async () => {
    const pack = unsignedOf(await packOf(here));
    const cancelled = structuredClone(pack);
    cancelled.events[1]!.data = { ...(cancelled.events[1]!.data as object), reason: 'иная причина' };
    const rewritten = await reissued(cancelled);
    expect(rewritten.valid).toBe(false);
    expect(rewritten.checks.find((c) => c.name === 'hash chain')).toMatchObject({
      ok: false,
      detail: expect.stringMatching(/^broken at revision 1: .*reason/),
    });
    const named = structuredClone(pack);
    named.events[0]!.metadata = {
      ...named.events[0]!.metadata,
      actor: { id: 'egov-x', name: 'Кто-то', role: 'applicant' },
    };
    expect((await reissued(named)).checks.find((c) => c.name === 'hash chain')).toMatchObject({
      ok: false,
      detail: expect.stringMatching(/^broken at revision 0: .*actor/),
    });
  });
});

it("a pack whose case is erased between the reading of its history and its making shows the applicant erased, and verifies (a review's finding: the applicant stayed in clear beside acts shown erased)", async () => {
  const late = { iin: makeIin('820303', 3, 77), name: 'Поздняя Дана Маратовна', reason: 'сменила работу' };
  const { infra } = api.app;
  const caseId = await filedInClear(
    { log: infra.eventLog, catalog: infra.reference.catalog, calendar: infra.reference.calendar },
    late,
  );
  await infra.projections.readModels.waitFor('cases', await infra.eventLog.headPosition(), 10_000);
  const audit = auditAskingTheWorker();
  const history = await audit.load(caseId);
  expect(history!.state.applicant).toEqual({ iin: late.iin, fullName: late.name });
  const erased = await eraseSubject(
    { ...erasureDeps(infra), vault: new PersonalDataVault(infra.personalData.keys) },
    { iin: late.iin, ...BASIS, by: 'admin-2' },
  );
  expect(erased.ok).toBe(true);

  const html = await audit.evidence(
    history!,
    { id: AUDITOR.sub, name: 'Auditor', roles: ['auditor'], unit: 'hq' } as never,
    { authorization: `Bearer ${await api.token(AUDITOR)}` },
  );
  expect(html).not.toMatch(new RegExp(personal(late).join('|')));
  const fingerprint = (await api.call('GET', '/api/evidence/public-key', { as: AUDITOR })).body.keyFingerprint;
  const verified = verifyEvidenceFile(html, { fingerprints: [fingerprint], noteKeys: [] });
  expect(verified.checks.filter((c) => !c.ok)).toEqual([]);
  expect(verified.valid).toBe(true);
});
