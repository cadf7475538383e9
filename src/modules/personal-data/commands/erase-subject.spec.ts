/**
 * An erasure and filings of the same person at the same time, on the real embedded log, the real key store file and the
 * real command service. The erasure is held in its checks (the log's reads of the cases wait for a gate) while the
 * person files a new case: the filing is no part of the erasure, and stays readable and open to its next act.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadCalendars } from '../../calendar/domain/load-calendar';
import { CaseCommandService, type CommandOutcome } from '../../cases/commands/case-command-service';
import { CASE_STREAM_PREFIX } from '../../cases/domain/case-event';
import type { EventLog } from '../../event-log/event-log.port';
import { openSqliteEventLog, type SqliteEventLog } from '../../event-log/sqlite/sqlite-event-log';
import { loadCatalog } from '../../regulations/domain/catalog';
import { makeIin, principal, validData } from '../../../../test/support/case-specification';
import { ERASURE_STREAM } from '../domain/erasure';
import { newDataKey } from '../domain/key-wrapping';
import { ERASURE_HOLD_MS, SubjectBeingErasedError } from '../keys/key-store.port';
import { SqliteKeyStore } from '../keys/sqlite-key-store';
import { PersonalDataVault } from '../personal-data-vault';
import { completeRecordedErasures, eraseSubject, type ErasureOutcome } from './erase-subject';

const DATA = join(__dirname, '../../../../data');
const catalog = loadCatalog(join(DATA, 'regulations'));
const calendar = loadCalendars(join(DATA, 'calendars')).get('KZ')!;
const UNIT = 'astana-department';
const IIN = makeIin('880101', 3, 5);
const NAME = 'Әлия Сәрсенова';
const applicant = principal('applicant', 'public', { iin: IIN });
const request = { iin: IIN, basis: 'request of the data subject', reference: 'Law 94-V art. 17', by: 'admin-1' };

let dir: string;
let log: SqliteEventLog;
let keys: SqliteKeyStore;
let vault: PersonalDataVault;
let service: CaseCommandService;
const master = newDataKey();

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'reglament-erase-'));
  log = openSqliteEventLog({ file: join(dir, 'events.db') });
  keys = SqliteKeyStore.open(dir, master);
  vault = new PersonalDataVault(keys);
  service = serviceOver(vault);
});
afterEach(async () => {
  await log.close();
  await keys.close();
  rmSync(dir, { recursive: true, force: true });
});

function serviceOver(personalData: PersonalDataVault, over: EventLog = log): CaseCommandService {
  return new CaseCommandService(over, catalog, calendar, {
    backDatedAfterMs: 86_400_000,
    clock: () => new Date('2015-09-20T12:00:00+06:00'),
    personalData,
  });
}

const accepted = (outcome: CommandOutcome) => {
  if (!outcome.ok) throw new Error(JSON.stringify(outcome.refusal));
  return outcome.accepted;
};

function file(through: CaseCommandService, idempotencyKey?: string): Promise<CommandOutcome> {
  return through.submit(
    applicant,
    {
      serviceId: 'personnel-reserve',
      trackId: 'competition-recommended',
      channel: 'portal',
      unit: UNIT,
      applicant: { iin: IIN, fullName: NAME },
      occurredAt: new Date('2015-09-15T09:00:00+06:00'),
    },
    idempotencyKey ? { idempotency: { key: idempotencyKey, fingerprint: 'the same request' } } : {},
  );
}

/**
 * An erasure run beside a filing of this process whose append waits at `appends` (opened 200 ms later), without waiting
 * for other instances' filings: it must wait for this one, find its case open and be refused. Answers the filing.
 */
async function erasureRefusedBeside(filing: Promise<CommandOutcome>, appends: ReturnType<typeof gate>) {
  const erasure = eraseSubject(
    { log, vault, catalog, clock: () => new Date('2026-12-06T10:00:00Z'), filingSettlesMs: 0 },
    request,
  );
  setTimeout(appends.open, 200);
  const [outcome, filed] = await Promise.all([erasure, filing]);
  const fresh = accepted(filed);
  expect(!outcome.ok && outcome.refusal.kind).toBe('open-cases');
  expect(!outcome.ok && outcome.refusal.detail).toContain(fresh.caseId);
  expect(await log.readStream(ERASURE_STREAM)).toEqual([]);
  return fresh;
}

/** A case of the person filed and cancelled (closed) in this process, and its subject. */
async function closedCaseOfThePerson() {
  const old = accepted(await file(service));
  accepted(await cancel(service, old.caseId));
  return { old, oldSubject: (await keys.subjectOfCase(old.caseId))! };
}

type OtherProcess = { keys: SqliteKeyStore; vault: PersonalDataVault; service: CaseCommandService };

/** Another process's key store (a second connection to keys.db), its vault and its command service, for `run`. */
async function inAnotherProcess(run: (other: OtherProcess) => Promise<void>): Promise<void> {
  const otherKeys = SqliteKeyStore.open(dir, master);
  try {
    const otherVault = new PersonalDataVault(otherKeys);
    await run({ keys: otherKeys, vault: otherVault, service: serviceOver(otherVault) });
  } finally {
    await otherKeys.close();
  }
}

/** The other process has met the person's subject before (a case of theirs it linked, never appended): it remembers it. */
async function otherProcessKnows(other: OtherProcess, subject: string): Promise<void> {
  expect((await other.keys.subjectForCase(vault.iinIndex(IIN), 'seen-before', new Date())).kid).toBe(subject);
}

/** A case filed during the erasure has a subject of its own, alive: it reads in clear and takes its next act. */
async function expectFiledApart(other: OtherProcess, caseId: string, erasedSubject: string): Promise<void> {
  const subject = (await other.keys.subjectOfCase(caseId))!;
  expect(subject).not.toBe(erasedSubject);
  expect(Boolean((await other.keys.keysOf([subject])).get(subject))).toBe(true);
  expect(await applicantOf(other.vault, caseId)).toEqual({ iin: IIN, fullName: NAME });
  expect(accepted(await cancel(other.service, caseId)).eventType).toBe('ApplicationCancelled');
}

/** The case's filing as the vault opens it: its applicant in clear, or "erased". */
async function applicantOf(through: PersonalDataVault, caseId: string): Promise<unknown> {
  const [filing] = await through.open(await log.readStream(`${CASE_STREAM_PREFIX}${caseId}`), {
    kind: 'system',
    purpose: 'projection',
  });
  return (filing!.data as { applicant: unknown }).applicant;
}

const cancel = (through: CaseCommandService, caseId: string) =>
  through.cancel(applicant, caseId, { occurredAt: new Date('2015-09-16T09:00:00+06:00'), reason: 'передумала' });

/** A gate: `pass()` waits at it until `open()`; `reached` settles when something first waits there. */
function gate(): { pass(): Promise<void>; reached: Promise<void>; open(): void } {
  let open!: () => void;
  const opened = new Promise<void>((resolve) => (open = resolve));
  let reach!: () => void;
  const reached = new Promise<void>((resolve) => (reach = resolve));
  return {
    pass: () => {
      reach();
      return opened;
    },
    reached,
    open,
  };
}

/** The log, its appends held at the gate until it opens. */
function appendingAt(appends: ReturnType<typeof gate>): EventLog {
  return Object.create(log, {
    append: {
      value: async (...args: Parameters<EventLog['append']>) => {
        await appends.pass();
        return log.append(...args);
      },
    },
  });
}

/** The erasure, started with its reads of the cases held at a gate; `reached` settles when it waits there. */
function erasureHeldInItsChecks(filingSettlesMs?: number): {
  outcome: Promise<ErasureOutcome>;
  reached: Promise<void>;
  open(): void;
} {
  const reads = gate();
  const gated: EventLog = Object.create(log, {
    readStream: {
      value: async (streamId: string, options?: Parameters<EventLog['readStream']>[1]) => {
        if (streamId.startsWith(CASE_STREAM_PREFIX)) await reads.pass();
        return log.readStream(streamId, options);
      },
    },
  });
  // Ten years after the filings: the default retention of five years has run out for the closed case.
  const outcome = eraseSubject(
    { log: gated, vault, catalog, clock: () => new Date('2026-12-06T10:00:00Z'), filingSettlesMs },
    request,
  );
  return { outcome, reached: reads.reached, open: reads.open };
}

/**
 * The erasure, stopped once it has looked at the subject's cases for the last time, as it records the erasure (before
 * it destroys the key); `recording.reached` settles when it waits there.
 */
function erasureStoppedAtItsRecord(): { outcome: Promise<ErasureOutcome>; recording: ReturnType<typeof gate> } {
  const recording = gate();
  const gated: EventLog = Object.create(log, {
    append: {
      value: async (...args: Parameters<EventLog['append']>) => {
        if (args[0] === ERASURE_STREAM) await recording.pass();
        return log.append(...args);
      },
    },
  });
  const outcome = eraseSubject(
    { log: gated, vault, catalog, clock: () => new Date('2026-12-06T10:00:00Z'), filingSettlesMs: 0 },
    request,
  );
  return { outcome, recording };
}

describe('a filing of a person whose erasure is being checked', () => {
  it('in the same process gets a subject of its own: the erasure goes on without it, and the new case stays readable and takes its next act', async () => {
    const { old, oldSubject } = await closedCaseOfThePerson();

    const erasure = erasureHeldInItsChecks();
    await erasure.reached;
    const fresh = accepted(await file(service));
    erasure.open();
    const outcome = await erasure.outcome;

    expect(outcome.ok && outcome.done.subjects).toEqual([oldSubject]);
    expect(outcome.ok && outcome.done.cases.map((c) => c.caseId)).toEqual([old.caseId]);
    const recorded = await log.readStream(ERASURE_STREAM);
    expect(recorded.map((e) => (e.data as { cases: string[] }).cases)).toEqual([[old.caseId]]);
    const freshSubject = (await keys.subjectOfCase(fresh.caseId))!;
    expect(freshSubject).not.toBe(oldSubject);
    const alive = await keys.keysOf([oldSubject, freshSubject]);
    expect([alive.get(oldSubject), Boolean(alive.get(freshSubject))]).toEqual([null, true]);
    const [filing] = await vault.open(await log.readStream(`${CASE_STREAM_PREFIX}${fresh.caseId}`), {
      kind: 'system',
      purpose: 'projection',
    });
    expect((filing!.data as { applicant: unknown }).applicant).toEqual({ iin: IIN, fullName: NAME });
    expect(accepted(await cancel(service, fresh.caseId)).eventType).toBe('ApplicationCancelled');
  });

  it('made just before it, its acts not yet in the log when the erasure reads its cases, is waited for: the erasure finds the case open and is refused, and the filing is answered with its key alive', async () => {
    const old = accepted(await file(service));
    accepted(await cancel(service, old.caseId));
    const appends = gate();
    const slowLog = appendingAt(appends);
    const filing = file(serviceOver(vault, slowLog));
    await appends.reached;
    // The filing's claim and link are committed a turn or two after its claim, while its append waits.
    await new Promise((resolve) => setTimeout(resolve, 20));
    const fresh = await erasureRefusedBeside(filing, appends);
    const subject = (await keys.subjectOfCase(fresh.caseId))!;
    expect((await keys.keysOf([subject])).get(subject)).toBeTruthy();
    expect(accepted(await cancel(service, fresh.caseId)).eventType).toBe('ApplicationCancelled');
  });

  it('made by another instance just before it, its acts not yet in the log, is read again until they are: the erasure finds the case open and is refused', async () => {
    const old = accepted(await file(service));
    accepted(await cancel(service, old.caseId));
    const otherKeys = SqliteKeyStore.open(dir, master);
    try {
      const appends = gate();
      const slowLog = appendingAt(appends);
      const filing = file(serviceOver(new PersonalDataVault(otherKeys), slowLog));
      await appends.reached;
      await new Promise((resolve) => setTimeout(resolve, 20));
      const erasure = eraseSubject({ log, vault, catalog, clock: () => new Date('2026-12-06T10:00:00Z') }, request);
      setTimeout(appends.open, 200);
      const [outcome, filed] = await Promise.all([erasure, filing]);
      const fresh = accepted(filed);
      expect(!outcome.ok && outcome.refusal.detail).toContain(fresh.caseId);
      expect(await log.readStream(ERASURE_STREAM)).toEqual([]);
    } finally {
      await otherKeys.close();
    }
  });

  it("made by another instance whose append takes longer than the embedded log's 6 s (an EventStoreDB append may take 30 s) is waited for as long as the log's appends may take: the erasure is refused, not the filing's key destroyed under it", async () => {
    const old = accepted(await file(service));
    accepted(await cancel(service, old.caseId));
    const otherKeys = SqliteKeyStore.open(dir, master);
    try {
      const appends = gate();
      const filing = file(serviceOver(new PersonalDataVault(otherKeys), appendingAt(appends)));
      await appends.reached;
      await new Promise((resolve) => setTimeout(resolve, 20));
      // The erasure's log says its appends settle within 8 s, as EventStoreDB's say 32 s.
      const slowToSettle: EventLog = Object.create(log, { appendSettlesMs: { value: 8_000 } });
      const erasure = eraseSubject(
        { log: slowToSettle, vault, catalog, clock: () => new Date('2026-12-06T10:00:00Z') },
        request,
      );
      setTimeout(appends.open, 6_500);
      const [outcome, filed] = await Promise.all([erasure, filing]);
      const fresh = accepted(filed);
      expect(!outcome.ok && outcome.refusal.detail).toContain(fresh.caseId);
      expect(await log.readStream(ERASURE_STREAM)).toEqual([]);
      const subject = (await otherKeys.subjectOfCase(fresh.caseId))!;
      expect((await otherKeys.keysOf([subject])).get(subject)).toBeTruthy();
    } finally {
      await otherKeys.close();
    }
  }, 15_000);

  it('in another process (another connection to keys.db) gets a subject of its own too: the erasure holds the subject in keys.db, goes on without the new case, and the new case stays readable and takes its next act', async () => {
    const { old, oldSubject } = await closedCaseOfThePerson();
    await inAnotherProcess(async (other) => {
      const erasure = erasureHeldInItsChecks();
      await erasure.reached;
      const fresh = accepted(await file(other.service));
      erasure.open();
      const outcome = await erasure.outcome;

      expect(outcome.ok && outcome.done.subjects).toEqual([oldSubject]);
      expect(outcome.ok && outcome.done.cases.map((c) => c.caseId)).toEqual([old.caseId]);
      await expectFiledApart(other, fresh.caseId, oldSubject);
    });
  });

  it("in another process that knew the person, between the erasure's last look at their cases and the destruction of their key, gets a subject of its own: its case is not erased with the key", async () => {
    const { old, oldSubject } = await closedCaseOfThePerson();
    await inAnotherProcess(async (other) => {
      // The other process has read the person's subject before (a filing of theirs it saw): it remembers it.
      await otherProcessKnows(other, oldSubject);
      const { outcome, recording } = erasureStoppedAtItsRecord();
      await recording.reached;
      const fresh = accepted(await file(other.service));
      recording.open();
      const done = await outcome;

      expect(done.ok && done.done.subjects).toEqual([oldSubject]);
      await expectFiledApart(other, fresh.caseId, oldSubject);
    });
  });

  it("retried by another process after its first append failed, between the erasure's last look at the cases and the destruction of the key, is refused as being erased: no act lands under the key destroyed", async () => {
    const { oldSubject } = await closedCaseOfThePerson();
    await inAnotherProcess(async (other) => {
      // The first filing links its case to the person's subject; its append fails (a full disk, a lost connection).
      const failing: EventLog = Object.create(log, {
        append: {
          value: async () => {
            throw new Error('the append failed');
          },
        },
      });
      await expect(file(serviceOver(other.vault, failing), 'k-retried')).rejects.toThrow('the append failed');
      // The erasure, finding that case without acts, takes it for a filing never made; it stops as it records.
      const { outcome, recording } = erasureStoppedAtItsRecord();
      await recording.reached;
      const refusal = await file(other.service, 'k-retried').then(
        (filed) => filed,
        (error: unknown) => error,
      );
      recording.open();
      const done = await outcome;

      expect(refusal).toBeInstanceOf(SubjectBeingErasedError);
      const caseId = (refusal as SubjectBeingErasedError).caseId;
      expect(await other.keys.subjectOfCase(caseId)).toBe(oldSubject);
      expect(done.ok && done.done.subjects).toEqual([oldSubject]);
      expect(await log.readStream(`${CASE_STREAM_PREFIX}${caseId}`)).toEqual([]);
    });
  });

  it('sent twice at once with one Idempotency-Key by another process that knew the person, while the erasure checks: both answers name one case, under a subject of its own, not erased with the key', async () => {
    const { old, oldSubject } = await closedCaseOfThePerson();
    await inAnotherProcess(async (other) => {
      await otherProcessKnows(other, oldSubject);
      // Not waiting for 'seen-before', linked and never appended.
      const erasure = erasureHeldInItsChecks(0);
      await erasure.reached;
      const [first, retry] = await Promise.all([file(other.service, 'k-1'), file(other.service, 'k-1')]);
      const fresh = accepted(first);
      expect(accepted(retry).caseId).toBe(fresh.caseId);
      erasure.open();
      const outcome = await erasure.outcome;

      expect(outcome.ok && outcome.done.subjects).toEqual([oldSubject]);
      await expectFiledApart(other, fresh.caseId, oldSubject);
    });
  });

  it('made in this process just before it holds the subject, its link committed as the erasure starts, is waited for: the erasure finds the case open without waiting for other instances', async () => {
    const { old, oldSubject } = await closedCaseOfThePerson();
    const appends = gate();
    // The filing of a person with a subject waits for its case's link, which the erasure's first read commits.
    const claim = keys.claimForCase.bind(keys);
    let claimed!: () => void;
    const claiming = new Promise<void>((resolve) => (claimed = resolve));
    keys.claimForCase = (...args) => {
      const subject = claim(...args);
      claimed();
      return subject;
    };
    const filing = file(serviceOver(vault, appendingAt(appends)));
    await claiming;
    const fresh = await erasureRefusedBeside(filing, appends);
    expect(await keys.subjectOfCase(fresh.caseId)).toBe(oldSubject);
    expect(await applicantOf(vault, fresh.caseId)).toEqual({ iin: IIN, fullName: NAME });
  });

  it('made after a destruction that failed once the erasure was recorded gets a subject of its own: the destruction completed later leaves it readable', async () => {
    const { old, oldSubject } = await closedCaseOfThePerson();
    await inAnotherProcess(async (other) => {
      const destroy = keys.destroy.bind(keys);
      keys.destroy = async () => {
        keys.destroy = destroy;
        throw Object.assign(new Error('database is locked'), { code: 'SQLITE_BUSY' });
      };
      await expect(
        eraseSubject(
          { log, vault, catalog, clock: () => new Date('2026-12-06T10:00:00Z'), filingSettlesMs: 0 },
          request,
        ),
      ).rejects.toThrow('database is locked');
      expect(await log.readStream(ERASURE_STREAM)).toHaveLength(1);

      const fresh = accepted(await file(other.service));
      expect(await completeRecordedErasures(log, keys)).toEqual([oldSubject]);
      await expectFiledApart(other, fresh.caseId, oldSubject);
    });
  });

  it("in another process after the erasure's hold lapsed (the erasure paused past it after its last look at the cases) is no part of it: the erasure checks again, and the new case's key lives", async () => {
    const { oldSubject } = await closedCaseOfThePerson();
    await inAnotherProcess(async (other) => {
      const casesOf = keys.casesOf.bind(keys);
      const realNow = Date.now;
      let looks = 0;
      let fresh = '';
      keys.casesOf = async (subjectId) => {
        const cases = await casesOf(subjectId);
        // The last look (the second): then the process stops for longer than its hold, and the person files meanwhile.
        if (++looks === 2) {
          Date.now = () => realNow() + ERASURE_HOLD_MS + 60_000;
          fresh = accepted(await file(other.service)).caseId;
        }
        return cases;
      };
      try {
        const outcome = await eraseSubject(
          { log, vault, catalog, clock: () => new Date('2026-12-06T10:00:00Z'), filingSettlesMs: 0 },
          request,
        );
        expect(!outcome.ok && outcome.refusal.kind).toBe('open-cases');
        expect(!outcome.ok && outcome.refusal.detail).toContain(fresh);
        expect(await log.readStream(ERASURE_STREAM)).toEqual([]);
        expect(await other.keys.subjectOfCase(fresh)).toBe(oldSubject);
        expect(await applicantOf(other.vault, fresh)).toEqual({ iin: IIN, fullName: NAME });
      } finally {
        Date.now = realNow;
        keys.casesOf = casesOf;
      }
    });
  });

  it('whose record failed to be appended holds the subject no longer: the next filing of the person takes it as before', async () => {
    const { oldSubject } = await closedCaseOfThePerson();
    const failing: EventLog = Object.create(log, {
      append: {
        value: async (...args: Parameters<EventLog['append']>) => {
          if (args[0] === ERASURE_STREAM) throw Object.assign(new Error('database is locked'), { code: 'SQLITE_BUSY' });
          return log.append(...args);
        },
      },
    });
    await expect(
      eraseSubject(
        { log: failing, vault, catalog, clock: () => new Date('2026-12-06T10:00:00Z'), filingSettlesMs: 0 },
        request,
      ),
    ).rejects.toThrow('database is locked');
    expect(await log.readStream(ERASURE_STREAM)).toEqual([]);
    await inAnotherProcess(async (other) => {
      const fresh = accepted(await file(other.service));
      expect(await other.keys.subjectOfCase(fresh.caseId)).toBe(oldSubject);
    });
  });

  it('names in its record only the cases with acts in the log, not a case linked to the subject whose append never came', async () => {
    const old = accepted(await file(service));
    accepted(await cancel(service, old.caseId));
    // A filing whose link was committed and whose append was then refused (or never made: a crash between the two).
    const oldSubject = (await keys.subjectOfCase(old.caseId))!;
    expect((await keys.subjectForCase(vault.iinIndex(IIN), 'never-appended', new Date())).kid).toBe(oldSubject);

    const outcome = await eraseSubject(
      { log, vault, catalog, clock: () => new Date('2026-12-06T10:00:00Z'), filingSettlesMs: 0 },
      request,
    );

    expect(outcome.ok && outcome.done.cases.map((c) => c.caseId)).toEqual([old.caseId]);
    const recorded = await log.readStream(ERASURE_STREAM);
    expect(recorded.map((e) => (e.data as { cases: string[] }).cases)).toEqual([[old.caseId]]);
  });
});

describe('an act on a case whose applicant was erased', () => {
  it('is refused as such (personal-data-erased), not failed: nothing is appended', async () => {
    const filed = accepted(await file(service));
    const subject = (await keys.subjectOfCase(filed.caseId))!;
    // What only a race with another process could leave: the key of an open case destroyed.
    await keys.destroy(subject, { at: '2026-12-06T10:00:00Z', basis: 'spec', reference: 'spec', by: 'spec' });
    const before = await log.headPosition();
    const outcome = await cancel(service, filed.caseId);
    expect(outcome).toEqual({
      ok: false,
      refusal: { kind: 'personal-data-erased', caseId: filed.caseId, detail: expect.stringContaining('was erased') },
    });
    expect(await log.headPosition()).toBe(before);
  });

  it('is refused as such when the case is read from the log too, for staff whose act carries no personal data', async () => {
    const filed = accepted(await file(service));
    const subject = (await keys.subjectOfCase(filed.caseId))!;
    await keys.destroy(subject, { at: '2026-12-06T10:00:00Z', basis: 'spec', reference: 'spec', by: 'spec' });
    // Another command service: nothing of the case in memory, its acts read from the log ("erased").
    const fromLog = serviceOver(new PersonalDataVault(keys));
    const before = await log.headPosition();
    const outcome = await fromLog.takeStep(principal('registry-clerk', UNIT), filed.caseId, {
      stepId: 'documents-registered',
      occurredAt: new Date('2015-09-16T09:00:00+06:00'),
      data: validData('DocumentRegistered'),
    });
    expect(!outcome.ok && outcome.refusal.kind).toBe('personal-data-erased');
    expect(await log.headPosition()).toBe(before);
  });
});
