/**
 * The retention report and the erasure it prints, on the real embedded log, the real key store file and the real
 * command service, with the cases read model as a map (case id → the blind index it files the case under; a case
 * stays there as it was until the projection meets an erasure, as after a CLI erasure with the service stopped).
 * What the report lists, the erasure it names does; what it leaves out is not erasable now.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadCalendars } from '../../calendar/domain/load-calendar';
import { CaseCommandService, type CommandOutcome } from '../../cases/commands/case-command-service';
import type { Principal } from '../../identity/domain/principal';
import { openSqliteEventLog, type SqliteEventLog } from '../../event-log/sqlite/sqlite-event-log';
import { loadCatalog } from '../../regulations/domain/catalog';
import { newId } from '../../../shared/ids/new-id';
import { makeIin, principal } from '../../../../test/support/case-specification';
import { recordAsBefore } from '../../../../test/support/acts-as-before';
import { ERASURE_STREAM } from '../domain/erasure';
import { newDataKey } from '../domain/key-wrapping';
import { SqliteKeyStore } from '../keys/sqlite-key-store';
import { PersonalDataVault } from '../personal-data-vault';
import { eraseSubject, retentionDue, type ErasureDeps, type ErasureRequest } from './erase-subject';

const DATA = join(__dirname, '../../../../data');
const catalog = loadCatalog(join(DATA, 'regulations'));
const calendar = loadCalendars(join(DATA, 'calendars')).get('KZ')!;
const UNIT = 'astana-department';
const BASIS = { basis: 'retention period ended', reference: 'Law 94-V art. 12', by: 'admin-1' };

let dir: string;
let log: SqliteEventLog;
let keys: SqliteKeyStore;
let vault: PersonalDataVault;
let service: CaseCommandService;
/** The cases read model: case id → the blind index its applicant's IIN is filed under. */
let readModel: Map<string, string>;

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'reglament-retention-'));
  log = openSqliteEventLog({ file: join(dir, 'events.db') });
  keys = SqliteKeyStore.open(dir, newDataKey());
  vault = new PersonalDataVault(keys);
  service = new CaseCommandService(log, catalog, calendar, {
    backDatedAfterMs: 86_400_000,
    clock: () => new Date('2015-09-20T12:00:00+06:00'),
    personalData: vault,
  });
  readModel = new Map();
});
afterEach(async () => {
  await log.close();
  await keys.close();
  rmSync(dir, { recursive: true, force: true });
});

/** Ten years after the filings: the default retention of five years has run out for a case closed then. */
const deps = (): ErasureDeps => ({
  log,
  vault,
  catalog,
  clock: () => new Date('2026-12-06T10:00:00Z'),
  filingSettlesMs: 0,
  casesByIinIndex: async (index) => [...readModel].filter(([, i]) => i === index).map(([caseId]) => caseId),
  iinIndexesOfCases: async (caseIds) =>
    new Map(caseIds.filter((c) => readModel.has(c)).map((c) => [c, readModel.get(c)!] as const)),
});

const citizen = (iin: string): Principal => principal('applicant', 'public', { iin });

const accepted = (outcome: CommandOutcome) => {
  if (!outcome.ok) throw new Error(JSON.stringify(outcome.refusal));
  return outcome.accepted;
};

/** A case of the person filed in September 2015 (encrypted), closed the next day unless `open`; in the read model. */
async function filed(iin: string, open = false): Promise<string> {
  const { caseId } = accepted(
    await service.submit(citizen(iin), {
      serviceId: 'personnel-reserve',
      trackId: 'competition-recommended',
      channel: 'portal',
      unit: UNIT,
      applicant: { iin, fullName: 'Ескі Іс Тестович' },
      occurredAt: new Date('2015-09-15T09:00:00+06:00'),
    }),
  );
  if (!open)
    accepted(
      await service.cancel(citizen(iin), caseId, {
        occurredAt: new Date('2015-09-16T09:00:00+06:00'),
        reason: 'передумал',
      }),
    );
  readModel.set(caseId, vault.iinIndex(iin));
  return caseId;
}

/** A case of the person filed and cancelled in 2015 as the service stored it before encryption: in clear, no key. */
async function filedInClear(iin: string): Promise<string> {
  const caseId = newId();
  const who: Principal = { id: `egov-${iin}`, name: 'Ашық Іс Тестович', roles: ['applicant'], iin };
  await recordAsBefore({ log, catalog, calendar }, who, caseId, {
    kind: 'submit',
    caseId,
    receiptNumber: 'RG-20150915-OLD',
    serviceId: 'civil-service-testing',
    channel: 'portal',
    unit: 'astana-hq',
    applicant: { iin, fullName: 'Ашық Іс Тестович' },
    occurredAt: new Date('2015-09-15T04:00:00Z'),
  });
  await recordAsBefore({ log, catalog, calendar }, who, caseId, {
    kind: 'cancel',
    occurredAt: new Date('2015-09-15T09:00:00Z'),
    reason: 'переезд',
  });
  readModel.set(caseId, vault.iinIndex(iin));
  return caseId;
}

const erase = (target: Omit<ErasureRequest, keyof typeof BASIS>) => eraseSubject(deps(), { ...target, ...BASIS });
const recorded = async () => (await log.readStream(ERASURE_STREAM)).map((e) => e.data as { cases: string[] });

describe('the retention report', () => {
  it('leaves out a person whose other case is open, though one of theirs closed years ago; the erasure of their subject is refused naming it', async () => {
    const iin = makeIin('880101', 3, 11);
    const closed = await filed(iin);
    const open = await filed(iin, true);

    expect(await retentionDue(deps(), [closed])).toEqual([]);
    const subjectId = (await keys.subjectOfCase(closed))!;
    const outcome = await erase({ subjectId });
    expect(!outcome.ok && outcome.refusal.kind).toBe('open-cases');
    expect(!outcome.ok && outcome.refusal.detail).toContain(open);
  });

  it('leaves out a subject already erased whose case the read model still shows (an erasure the projection has not met)', async () => {
    const iin = makeIin('880202', 4, 22);
    const caseId = await filed(iin);
    const subjectId = (await keys.subjectOfCase(caseId))!;
    expect(await retentionDue(deps(), [caseId])).toEqual([expect.objectContaining({ subjectId })]);
    expect((await erase({ iin })).ok).toBe(true);

    expect(await retentionDue(deps(), [caseId])).toEqual([]);
    const again = await erase({ subjectId });
    expect(!again.ok && again.refusal.kind).toBe('unknown-subject');
  });

  it("lists a person once with their case filed before encryption beside their subject's: the erasure by the subject's id takes the clear-text case too", async () => {
    const iin = makeIin('880303', 3, 33);
    const inClear = await filedInClear(iin);
    const encrypted = await filed(iin);
    const subjectId = (await keys.subjectOfCase(encrypted))!;

    const due = await retentionDue(deps(), [inClear, encrypted]);
    expect(due).toEqual([
      {
        subjectId,
        cases: [inClear, encrypted].sort().map((caseId) => expect.objectContaining({ caseId })),
        eraseWith: { subjectId },
      },
    ]);

    const outcome = await erase({ subjectId });
    expect(outcome.ok && outcome.done.cases.map((c) => c.caseId)).toEqual([inClear, encrypted].sort());
    expect(outcome.ok && outcome.done.clearTextCases).toEqual([inClear]);
    expect(await recorded()).toEqual([expect.objectContaining({ cases: [inClear, encrypted].sort() })]);
  });

  it('says to erase a person filed only before encryption by one of their cases, which erases them once: not reported or erased again while the read model has not met it', async () => {
    const iin = makeIin('880404', 4, 44);
    const inClear = await filedInClear(iin);

    expect(await retentionDue(deps(), [inClear])).toEqual([
      { subjectId: null, cases: [expect.objectContaining({ caseId: inClear })], eraseWith: { caseId: inClear } },
    ]);
    const outcome = await erase({ caseId: inClear });
    expect(outcome.ok && outcome.done).toMatchObject({ subjects: [], clearTextCases: [inClear] });
    expect(await recorded()).toEqual([expect.objectContaining({ subjectId: 'none', cases: [inClear] })]);

    expect(await retentionDue(deps(), [inClear])).toEqual([]);
    for (const target of [{ caseId: inClear }, { iin }]) {
      const again = await erase(target);
      expect(!again.ok && again.refusal.kind).toBe('unknown-subject');
    }
    expect(await recorded()).toHaveLength(1);
  });

  it('a case filed before encryption and erased already is unknown to an erasure by that case, though the read model still files it under the person: their later subject is no part of it', async () => {
    const iin = makeIin('880606', 4, 66);
    const inClear = await filedInClear(iin);
    expect((await erase({ caseId: inClear })).ok).toBe(true);
    // Filed again since, under a subject of their own, and closed years ago: erasable by itself, but not by that case.
    const later = await filed(iin);
    const again = await erase({ caseId: inClear });
    expect(!again.ok && again.refusal.kind).toBe('unknown-subject');
    expect(await recorded()).toHaveLength(1);
    const subjectId = (await keys.subjectOfCase(later))!;
    expect((await keys.keysOf([subjectId])).get(subjectId)).toBeTruthy();
  });
});

describe('who erased (`by`), recorded for good with the erasure', () => {
  it('is refused when it names an IIN, naming the field, the IIN masked; nothing is recorded and the key lives', async () => {
    const iin = makeIin('880505', 3, 55);
    const caseId = await filed(iin);
    const subjectId = (await keys.subjectOfCase(caseId))!;
    const outcome = await eraseSubject(deps(), { iin, ...BASIS, by: `egov-${iin}` });
    expect(!outcome.ok && outcome.refusal).toEqual({
      kind: 'personal-data-in-record',
      field: 'by',
      detail: expect.stringContaining(`${iin.slice(0, 4)}******${iin.slice(10)}`),
    });
    expect(JSON.stringify(outcome)).not.toContain(iin);
    expect(await recorded()).toEqual([]);
    expect((await keys.keysOf([subjectId])).get(subjectId)).toBeTruthy();
  });
});
