/**
 * The command side and the key store together: what a filing's answer promises about keys.db, with the real embedded
 * log, the real key store file and the real command service.
 */
import Database from 'better-sqlite3';
import type { Logger } from 'pino';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadCalendars } from '../calendar/domain/load-calendar';
import { CaseCommandService, idempotentId, type CommandOutcome } from '../cases/commands/case-command-service';
import type { Principal } from '../identity/domain/principal';
import { recordAsBefore } from '../../../test/support/acts-as-before';
import { caseStreamId } from '../cases/domain/case-event';
import { openSqliteEventLog, type SqliteEventLog } from '../event-log/sqlite/sqlite-event-log';
import { loadCatalog } from '../regulations/domain/catalog';
import { makeIin, principal } from '../../../test/support/case-specification';
import { isEnvelope } from './domain/envelope';
import { ERASURE_STREAM, PERSONAL_DATA_ERASED } from './domain/erasure';
import { appendSealed } from '../transparency/sealed-append';
import { newDataKey } from './domain/key-wrapping';
import { KEY_STORE_FILE, SqliteKeyStore } from './keys/sqlite-key-store';
import { MasterKeyRotatedError } from './keys/key-store.port';
import { CASES_PER_RECORD, PersonalDataRefused, PersonalDataVault } from './personal-data-vault';

const DATA = join(__dirname, '../../../data');
const catalog = loadCatalog(join(DATA, 'regulations'));
const calendar = loadCalendars(join(DATA, 'calendars')).get('KZ')!;
const UNIT = 'astana-department';

let dir: string;
let log: SqliteEventLog;
let keys: SqliteKeyStore;
let service: CaseCommandService;
const master = newDataKey();

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'reglament-vault-'));
  log = openSqliteEventLog({ file: join(dir, 'events.db') });
  keys = SqliteKeyStore.open(dir, master);
  service = new CaseCommandService(log, catalog, calendar, {
    backDatedAfterMs: 86_400_000,
    clock: () => new Date('2015-09-20T12:00:00+06:00'),
    personalData: new PersonalDataVault(keys),
  });
});
afterEach(async () => {
  await log.close();
  await keys.close();
  rmSync(dir, { recursive: true, force: true });
});

function file(n: number): Promise<CommandOutcome> {
  const iin = makeIin('880101', 3, n);
  return service.submit(principal('applicant', 'public', { iin }), {
    serviceId: 'personnel-reserve',
    trackId: 'competition-recommended',
    channel: 'portal',
    unit: UNIT,
    applicant: { iin, fullName: `Әлия Сәрсенова ${n}` },
    occurredAt: new Date('2015-09-15T09:00:00+06:00'),
  });
}

describe('a filing with personal data', () => {
  it("is answered only once its subject's claim and its case's link are committed to keys.db: another connection sees them", async () => {
    const outcomes = await Promise.all([file(1), file(2), file(1)]);
    const other = SqliteKeyStore.open(dir, master);
    try {
      for (const outcome of outcomes) {
        if (!outcome.ok) throw new Error(JSON.stringify(outcome.refusal));
        const [opening] = await log.readStream(caseStreamId(outcome.accepted.caseId));
        const applicant = (opening!.data as { applicant: unknown }).applicant;
        if (!isEnvelope(applicant)) throw new Error('the applicant is not encrypted');
        expect(await other.subjectOfCase(outcome.accepted.caseId)).toBe(applicant.kid);
      }
    } finally {
      await other.close();
    }
  });

  it('is not answered as accepted when keys.db refuses the claim and the link: the commit failure is the answer', async () => {
    const first = await file(1);
    expect(first.ok).toBe(true);
    // Another connection makes every later case link fail to commit, as a damaged or full key store would.
    const db = new Database(join(dir, KEY_STORE_FILE));
    db.exec(
      "CREATE TRIGGER refuse_links BEFORE INSERT ON case_subjects BEGIN SELECT RAISE(ABORT, 'links refused'); END",
    );
    // SQLite's own error: better-sqlite3 keeps the error class of the first test file that loaded it in this jest
    // worker (another realm), so it is checked by its message, not with toThrow.
    const failure = (filing: Promise<CommandOutcome>) =>
      filing.then(
        () => 'answered',
        (error: unknown) => String((error as { message?: unknown }).message),
      );
    expect(await failure(file(1))).toMatch(/links refused/);
    expect(await failure(file(2))).toMatch(/links refused/);
    db.exec('DROP TRIGGER refuse_links');
    db.close();
    const after = await file(2);
    if (!after.ok) throw new Error(JSON.stringify(after.refusal));
    expect(await keys.subjectOfCase(after.accepted.caseId)).not.toBeNull();
  });
});

describe('a process that holds the master key another process rotated', () => {
  it('refuses a filing, and a projection of a case filed before, naming the rotation: nothing recorded, nothing read as damaged data', async () => {
    const first = await file(1);
    if (!first.ok) throw new Error(JSON.stringify(first.refusal));
    // The projection worker, started with the same key; it has not read the case yet.
    const workerKeys = SqliteKeyStore.open(dir, master);
    try {
      const rotating = SqliteKeyStore.open(dir, master);
      await rotating.rotate(newDataKey());
      await rotating.close();
      await expect(file(2)).rejects.toThrow(MasterKeyRotatedError);
      expect((await log.readAll({ maxCount: 100 })).length).toBe(1);
      const acts = await log.readStream(caseStreamId(first.accepted.caseId));
      const projecting = new PersonalDataVault(workerKeys).open(acts, { kind: 'system', purpose: 'projection' });
      await expect(projecting).rejects.toThrow(MasterKeyRotatedError);
      await expect(projecting).rejects.toThrow(/master key was rotated after this process started: restart it/);
    } finally {
      await workerKeys.close();
    }
  });
});

describe('a citizen acting on their own case', () => {
  const iin = makeIin('880101', 3, 77);
  const NAME = 'Сәрсенова Әлия Маратқызы';
  /** As the e-government identity provider may name a citizen: the subject carries the IIN, the name is the real one. */
  const citizen: Principal = { id: `egov-${iin}`, name: NAME, roles: ['applicant'], iin };
  const filing = {
    serviceId: 'personnel-reserve',
    trackId: 'competition-recommended',
    channel: 'portal' as const,
    unit: UNIT,
    applicant: { iin, fullName: NAME },
    occurredAt: new Date('2015-09-15T09:00:00+06:00'),
  };
  const key = (k: string) => ({ idempotency: { key: k, fingerprint: `fingerprint of ${k}` } });
  const ok = (outcome: CommandOutcome) => {
    if (!outcome.ok) throw new Error(JSON.stringify(outcome.refusal));
    return outcome.accepted;
  };
  /** Which of the texts events.db and its WAL hold, as UTF-8 bytes. */
  const logHolds = (texts: string[]) => {
    const bytes = Buffer.concat(
      ['events.db', 'events.db-wal'].filter((f) => existsSync(join(dir, f))).map((f) => readFileSync(join(dir, f))),
    );
    return texts.filter((t) => bytes.includes(Buffer.from(t, 'utf8')));
  };

  it("is recorded as the case's applicant: the log holds neither their token's subject, their IIN nor their name; the ids their Idempotency-Key gives are keyed; their retry is still the same request; staff are recorded as named", async () => {
    const at = new Date('2015-09-15T10:00:00+06:00');
    const filed = ok(await service.submit(citizen, filing, key('file-1')));
    const cancelled = ok(await service.cancel(citizen, filed.caseId, { occurredAt: at }, undefined, key('cancel-1')));
    expect(ok(await service.submit(citizen, filing, key('file-1')))).toEqual({ ...filed, replayed: true });
    expect(ok(await service.cancel(citizen, filed.caseId, { occurredAt: at }, undefined, key('cancel-1')))).toEqual({
      ...cancelled,
      replayed: true,
    });
    const acts = await log.readStream(caseStreamId(filed.caseId));
    expect(acts.map((e) => e.metadata.actor)).toEqual([
      { id: 'applicant', name: 'Applicant', role: 'applicant' },
      { id: 'applicant', name: 'Applicant', role: 'applicant' },
    ]);
    // The case id an Idempotency-Key gives is not the one a plain hash of the subject gives.
    expect(filed.caseId).not.toBe(idempotentId('case', citizen.id, 'file-1'));
    expect(logHolds([citizen.id, iin, NAME])).toEqual([]);
    // Another citizen using the same key files a case of their own.
    const other = makeIin('900101', 4, 78);
    const second = ok(
      await service.submit(
        { id: `egov-${other}`, name: 'Другой Гражданин', roles: ['applicant'], iin: other },
        { ...filing, applicant: { iin: other, fullName: 'Другой Гражданин' } },
        key('file-1'),
      ),
    );
    expect(second.caseId).not.toBe(filed.caseId);
    expect(second.replayed).toBe(false);
    // Staff whose token carries the same IIN but not the applicant role are not the case's applicant: no replay of its act.
    const head = { ...principal('head', UNIT), iin };
    const notTheirs = await service.cancel(head, filed.caseId, { occurredAt: at }, undefined, key('cancel-1'));
    expect(notTheirs).toMatchObject({ ok: false, refusal: { kind: 'forbidden' } });
    // Staff filing for a person are recorded as their tokens name them.
    const staff = principal('responsible-person', UNIT);
    const byStaff = ok(await service.submit(staff, { ...filing, channel: 'office' as const }));
    const [staffOpening] = await log.readStream(caseStreamId(byStaff.caseId));
    expect(staffOpening!.metadata.actor).toMatchObject({ id: staff.id, name: staff.name });
  });

  it("a retry of a request first made before the applicant was recorded as the case's applicant lands on what that request recorded; another request under its key is refused", async () => {
    const deps = { log, catalog, calendar };
    const caseId = idempotentId('case', citizen.id, 'file-old');
    await recordAsBefore(
      deps,
      citizen,
      caseId,
      { kind: 'submit', caseId, receiptNumber: 'RG-OLD', ...filing },
      'file-old',
    );
    const at = new Date('2015-09-15T10:00:00+06:00');
    await recordAsBefore(deps, citizen, caseId, { kind: 'cancel', occurredAt: at }, 'cancel-old');
    const [opening, cancelling] = await log.readStream(caseStreamId(caseId));
    expect(opening!.metadata.actor).toEqual({ id: citizen.id, name: NAME, role: 'applicant' });

    const filed = ok(await service.submit(citizen, filing, key('file-old')));
    expect(filed).toMatchObject({ caseId, revision: 0, replayed: true });
    const cancelled = ok(await service.cancel(citizen, caseId, { occurredAt: at }, undefined, key('cancel-old')));
    expect(cancelled).toMatchObject({ caseId, revision: 1, position: cancelling!.position, replayed: true });
    const other = await service.submit(
      citizen,
      { ...filing, unit: 'another-unit' },
      {
        idempotency: { key: 'file-old', fingerprint: 'another request' },
      },
    );
    expect(other).toMatchObject({ ok: false, refusal: { kind: 'idempotency-key-reused' } });
    expect((await log.readStream(caseStreamId(caseId))).length).toBe(2);
    // A new request under another key is a new filing, recorded as the case's applicant.
    const fresh = ok(await service.submit(citizen, filing, key('file-new')));
    expect(fresh.caseId).not.toBe(caseId);
  });

  it('on a log that needs reservations (EventStoreDB), a key a citizen reserved before its ids were keyed still binds it', async () => {
    const reserving = new CaseCommandService(log, catalog, calendar, {
      backDatedAfterMs: 86_400_000,
      clock: () => new Date('2015-09-20T12:00:00+06:00'),
      personalData: new PersonalDataVault(keys),
      reserveIdempotencyKeys: true,
    });
    const before = new CaseCommandService(log, catalog, calendar, {
      backDatedAfterMs: 86_400_000,
      clock: () => new Date('2015-09-20T12:00:00+06:00'),
      reserveIdempotencyKeys: true,
    });
    // Refused (no such service), yet its reservation binds the key.
    const refused = await before.submit(citizen, { ...filing, serviceId: 'no-such-service' }, key('k-old'));
    expect(refused.ok).toBe(false);
    const another = await reserving.submit(citizen, filing, {
      idempotency: { key: 'k-old', fingerprint: 'another request' },
    });
    expect(another).toMatchObject({ ok: false, refusal: { kind: 'idempotency-key-reused' } });
  });
});

describe("a reader's reads of personal data a read model keeps in clear", () => {
  const logger = { info: () => undefined } as unknown as Logger;
  const clerk = principal('registry-clerk', UNIT);
  const stream = 'personal-data-access-2015-09-20';
  const at = () => new Date('2015-09-20T12:00:00Z');
  const recordsOf = async () =>
    (await log.readStream(stream)).map((e) => e.data as { cases: string[]; subjects: string[]; purpose: string });

  it('made at one moment are recorded together: each answered once its cases are in a stored record, every case and its subject named once, in far fewer events than reads', async () => {
    const vault = new PersonalDataVault(keys, { log, logger, clock: at });
    const cases: string[] = [];
    for (let n = 1; n <= 12; n++) {
      const filed = await file(n);
      if (!filed.ok) throw new Error(JSON.stringify(filed.refusal));
      cases.push(filed.accepted.caseId);
    }
    const subjects = await keys.subjectsOfCases(cases);
    expect(subjects.size).toBe(12);
    const named = async () => (await recordsOf()).flatMap((r) => r.cases);
    // Twelve first reads at once, a case read twice among them; each, when answered, finds its case recorded.
    const answered = await Promise.all(
      [...cases, cases[0]!].map(async (caseId) => {
        await vault.recordRead(clerk, [caseId], 'case-view');
        return (await named()).includes(caseId);
      }),
    );
    expect(answered.every(Boolean)).toBe(true);
    const records = await recordsOf();
    expect(records.length).toBeLessThanOrEqual(3);
    expect(records.flatMap((r) => r.cases).sort()).toEqual([...cases].sort());
    expect(new Set(records.flatMap((r) => r.subjects))).toEqual(new Set(subjects.values()));
    expect(records.every((r) => r.purpose === 'case-view')).toBe(true);
    // Read again the same day: nothing more is recorded.
    await Promise.all(cases.map((caseId) => vault.recordRead(clerk, [caseId], 'case-view')));
    expect((await recordsOf()).length).toBe(records.length);
  });

  it('whose record the log refuses are all refused and none counted as recorded; those of the next record are not held back by it', async () => {
    let refuse = true;
    const refusing = new Proxy(log, {
      get(target, property) {
        if (property === 'append' && refuse) {
          refuse = false;
          return () => Promise.reject(new Error('disk full'));
        }
        const value = Reflect.get(target, property) as unknown;
        return typeof value === 'function' ? value.bind(target) : value;
      },
    });
    const vault = new PersonalDataVault(keys, { log: refusing, logger, clock: at });
    const [a, b, c, d] = ['a', 'b', 'c', 'd'].map((x) => `00000000-0000-4000-8000-00000000000${x}`) as [
      string,
      string,
      string,
      string,
    ];
    // A list of two cases starts the first record (refused); the two reads that come meanwhile share the next.
    const first = await Promise.allSettled([
      vault.recordRead(clerk, [a, b], 'case-list'),
      vault.recordRead(clerk, [c], 'case-list'),
      vault.recordRead(clerk, [d], 'case-list'),
    ]);
    expect(first.map((r) => r.status)).toEqual(['rejected', 'fulfilled', 'fulfilled']);
    expect((await recordsOf()).flatMap((r) => r.cases)).toEqual([c, d]);
    // Neither refused case counts as recorded: read again, each is.
    await vault.recordRead(clerk, [a, b, c], 'case-list');
    expect((await recordsOf()).flatMap((r) => r.cases)).toEqual([c, d, a, b]);
  });

  it('of more cases than one record names are recorded in several, each within the limit', async () => {
    const vault = new PersonalDataVault(keys, { log, logger, clock: at });
    const cases = Array.from({ length: 2 * CASES_PER_RECORD + 5 }, (_, i) => `case-${String(i).padStart(6, '0')}`);
    await vault.recordRead(clerk, cases, 'case-list');
    const records = await recordsOf();
    expect(records.map((r) => r.cases.length)).toEqual([CASES_PER_RECORD, CASES_PER_RECORD, 5]);
    expect(records.flatMap((r) => r.cases)).toEqual(cases);
  });
});

describe("a person's decryption of stored acts (history, evidence pack, replay, explanation)", () => {
  const stream = 'personal-data-access-2015-09-20';
  const at = () => new Date('2015-09-20T12:00:00Z');
  const iin = makeIin('880101', 3, 1);
  const name = 'Әлия Сәрсенова 1';
  let lines: Array<{ fields: Record<string, unknown>; message: string }>;
  let vault: PersonalDataVault;
  let caseId: string;

  beforeEach(async () => {
    lines = [];
    const logger = {
      info: (fields: Record<string, unknown>, message: string) => void lines.push({ fields, message }),
    } as unknown as Logger;
    vault = new PersonalDataVault(keys, { log, logger, clock: at });
    const filed = await file(1);
    if (!filed.ok) throw new Error(JSON.stringify(filed.refusal));
    caseId = filed.accepted.caseId;
  });
  const stored = () => log.readStream(caseStreamId(caseId));
  const records = async () =>
    (await log.readStream(stream)).map((e) => ({
      ...(e.data as { cases: string[]; subjects: string[]; purpose: string }),
      reader: (e.metadata.actor as { id: string }).id,
    }));

  it('is refused to a clerk of another unit, whatever the purpose: nothing is opened, nothing recorded', async () => {
    const stranger = principal('registry-clerk', 'almaty-department');
    for (const purpose of ['history', 'evidence', 'replay', 'explanation'] as const)
      await expect(vault.open(await stored(), { kind: 'person', principal: stranger, purpose })).rejects.toThrow(
        PersonalDataRefused,
      );
    // An applicant's role is no staff role: the vault does not take the controllers' own check on trust.
    await expect(
      vault.open(await stored(), {
        kind: 'person',
        principal: principal('applicant', UNIT, { iin: makeIin('770707', 3, 9) }),
        purpose: 'history',
      }),
    ).rejects.toThrow(PersonalDataRefused);
    expect(await records()).toEqual([]);
    expect(lines).toEqual([]);
  });

  it("opens for the case's unit and for auditors, each read recorded with its purpose, the case and its subject, in the log's stream and a log line without the person", async () => {
    const clerk = principal('registry-clerk', UNIT);
    const auditor = principal('auditor', 'hq');
    const subject = (await keys.subjectsOfCases([caseId])).get(caseId)!;
    const reads = [
      [clerk, 'history'],
      [clerk, 'evidence'],
      [auditor, 'replay'],
      [auditor, 'explanation'],
    ] as const;
    for (const [reader, purpose] of reads) {
      const opened = await vault.open(await stored(), { kind: 'person', principal: reader, purpose });
      expect((opened[0]!.data as { applicant: unknown }).applicant).toEqual({ iin, fullName: name });
    }
    expect(await records()).toEqual(
      reads.map(([reader, purpose]) => ({ cases: [caseId], subjects: [subject], purpose, reader: reader.id })),
    );
    expect(lines.map((l) => [l.message, l.fields.reader, l.fields.purpose])).toEqual(
      reads.map(([reader, purpose]) => ['personal data disclosed', reader.id, purpose]),
    );
    expect(JSON.stringify([await log.readStream(stream), lines])).not.toMatch(new RegExp(`${iin}|${name}`));
    // The system's reads (projections, the command side) are not a person's: opened, not recorded.
    await vault.open(await stored(), { kind: 'system', purpose: 'projection' });
    expect((await records()).length).toBe(reads.length);
  });
});

describe('acts kept in clear (recorded before encryption began) of a case whose applicant is erased', () => {
  const iin = makeIin('800101', 3, 55);
  const NAME = 'Старозаписанный Ерлан Болатович';
  const citizen: Principal = { id: `egov-${iin}`, name: NAME, roles: ['applicant'], iin };
  const logger = { info: () => undefined } as unknown as Logger;
  const commands = { kind: 'system', purpose: 'commands' } as const;
  const projection = { kind: 'system', purpose: 'projection' } as const;

  it('open "erased" once the log records the erasure, by whatever process; only the erasure stream\'s new events are read, and only for acts that hold something in clear', async () => {
    const caseId = 'c0ffee00-0000-7000-8000-000000000001';
    await recordAsBefore({ log, catalog, calendar }, citizen, caseId, {
      kind: 'submit',
      caseId,
      receiptNumber: 'RG-20150915-OLD',
      serviceId: 'civil-service-testing',
      channel: 'portal',
      unit: UNIT,
      applicant: { iin, fullName: NAME },
      occurredAt: new Date('2015-09-15T04:00:00Z'),
    });
    const encrypted = await file(2);
    if (!encrypted.ok) throw new Error(JSON.stringify(encrypted.refusal));
    const vault = new PersonalDataVault(keys, { log, logger });
    const erasureReads: unknown[] = [];
    const readStream = log.readStream.bind(log);
    jest.spyOn(log, 'readStream').mockImplementation((streamId, options) => {
      // The vault's reads (the erasure's own append reads the stream's head backwards).
      if (streamId === ERASURE_STREAM && options?.direction !== 'backwards') erasureReads.push(options);
      return readStream(streamId, options);
    });
    const opened = async () => (await vault.open(await readStream(caseStreamId(caseId)), commands))[0]!;

    expect((await opened()).data).toMatchObject({ applicant: { iin, fullName: NAME } });
    // An erasure another process recorded: nothing told this vault but the log.
    await appendSealed(log, ERASURE_STREAM, [
      {
        type: PERSONAL_DATA_ERASED,
        data: { subjectId: 'none', cases: [caseId], basis: 'b', reference: 'r', by: 'cli', clearTextActs: 1 },
      },
    ]);
    const after = await opened();
    expect(after.data).toMatchObject({ applicant: { iin: 'erased', fullName: 'erased' } });
    expect(after.metadata.actor).toEqual({ id: 'erased', name: 'erased', role: 'applicant' });
    expect(JSON.stringify(after)).not.toMatch(new RegExp(`${iin}|${NAME}`));
    await opened();
    // An encrypted case's acts are erased by their key: the erasure stream is not read for them.
    await vault.open(await readStream(caseStreamId(encrypted.accepted.caseId)), commands);
    // A projection meets the erasure in the log and scrubs its documents then: it reads the act as stored, and the
    // erasure stream is not read for it (a worker's catch-up over a log kept in clear read it once per such act).
    const projected = (await vault.open(await readStream(caseStreamId(caseId)), projection))[0]!;
    expect(projected.data).toMatchObject({ applicant: { iin, fullName: NAME } });
    expect(erasureReads).toEqual([{ fromRevision: 0 }, { fromRevision: 0 }, { fromRevision: 1 }]);
    // The log keeps the act as stored.
    expect((await readStream(caseStreamId(caseId)))[0]!.data).toMatchObject({ applicant: { iin, fullName: NAME } });
  });
});
