/**
 * The one place personal data is encrypted and decrypted. Commands protect a new act's personal fields under the
 * applicant's subject key before the act is sealed (so its hash covers the ciphertext); every reader opens stored
 * events here. A reader who is a person (an auditor's history, an evidence pack, an as-of replay) is checked against
 * the case and recorded: a `PersonalDataDisclosed` event in the day's `personal-data-access-YYYY-MM-DD` stream, as
 * the auditors' reads are, and a log line. Projections and the command side open events as the system, unrecorded.
 * The personal data a read model keeps in clear until erasure (the case view, the case list) is recorded here too, by
 * `recordRead`: once per reader, case and day.
 * An erased subject's fields open as their "erased" placeholders; nothing fails. So do the fields of an act the log
 * keeps in clear (recorded before encryption began, or naming the citizen who acted as their token named them) once its
 * case is erased: no key can be destroyed for them, so the erasures the log records say which cases they are.
 */
import { LRUCache } from 'lru-cache';
import type { Logger } from 'pino';
import type { EventLog, RecordedEvent } from '../event-log/event-log.port';
import { readerOf, type Principal } from '../identity/domain/principal';
import { CASE_STREAM_PREFIX } from '../cases/domain/case-event';
import { readsEverything, staffRoles } from '../cases/domain/read-scope';
import { blindIndex, derivedKey } from './domain/blind-index';
import { carriesIin, idBasis, inClear, scrubClearCitizen } from './domain/citizen-ids';
import { isEnvelope } from './domain/envelope';
import { casesErasedBy, ERASURE_STREAM } from './domain/erasure';
import { openData, personalFieldsOf, protectData, scrubData, StoredDataDamaged } from './domain/personal-fields';
import { MasterKeyRotatedError, SubjectCounts, type PersonalKeyStore } from './keys/key-store.port';
import { SealedStreamWriter } from '../transparency/sealed-stream-writer';
import { WrongExpectedRevisionError } from '../event-log/event-log.errors';
import { ProblemError } from '../../shared/problem/problem';
import { storedDataDamaged } from '../event-log/event-log.problems';

/** IINs whose blind index the vault keeps computed (about 150 bytes each). */
const IIN_INDEXES_KEPT = 100_000;
/** Reads already recorded today, by day, reader and case (about 200 bytes each): a screen re-read all day is one record. */
const READS_RECORDED_KEPT = 100_000;
const NOTHING_TO_STORE: Promise<void> = Promise.resolve();
const NOTHING_TO_SETTLE = (): void => undefined;
/**
 * The most cases one record of reads names (about 80 bytes each, with its subject): a reader's many first reads of one
 * moment stay far below the log's limit on an event's size, where one refused record would fail them all.
 */
export const CASES_PER_RECORD = 1_000;

export const DISCLOSURE_LOG_PREFIX = 'personal-data-access-';
export const PERSONAL_DATA_DISCLOSED = 'PersonalDataDisclosed';

export type PersonalDataAccess =
  | { kind: 'system'; purpose: 'commands' | 'projection' | 'verification' | 'erasure' }
  | {
      kind: 'person';
      principal: Principal;
      purpose: 'history' | 'evidence' | 'replay' | 'explanation';
      correlationId?: string;
    };

/** Reads of personal data a read model keeps in clear until erasure. */
export type ClearReadPurpose = 'case-view' | 'case-list';

export class PersonalDataRefused extends Error {
  override readonly name = 'PersonalDataRefused';
}

export class PersonalDataVault {
  /**
   * `disclosures`: where a person's reads are recorded; its log is also where the vault reads the erasures (without
   * it, as in a projection's process, only the erasures this process makes are known: projections scrub on meeting
   * them in the log).
   */
  constructor(
    readonly keys: PersonalKeyStore,
    private readonly disclosures: { log: EventLog; logger: Logger; clock?: () => Date } | null = null,
  ) {}

  /**
   * Blind indexes already computed, by IIN: every act of a case and every case document a projection writes asks for
   * its applicant's, and the HMAC is most of the price of asking. The store's blind-index key never changes (a
   * rotation re-wraps it), so an entry stays right for the vault's life. Held in memory only, as the case being
   * decided holds the IIN itself.
   */
  private readonly iinIndexes = new LRUCache<string, string>({ max: IIN_INDEXES_KEPT });
  private readonly readsRecorded = new LRUCache<string, true>({ max: READS_RECORDED_KEPT });
  /** Reads being recorded now, by the same key: a read of the same case at the same moment waits for that record. */
  private readonly readsRecording = new Map<string, Promise<void>>();

  /** Citizens' id bases already computed, by their token's subject (a digest, as the blind indexes are). */
  private readonly citizenIdBases = new LRUCache<string, string>({ max: IIN_INDEXES_KEPT });
  private idBasisKey: Buffer | null = null;

  private readonly erasedListeners = new Set<(cases: readonly string[]) => void>();

  /** Called with the cases of each subject this process erases, once its key is destroyed (the command side's folds). */
  onErased(listener: (cases: readonly string[]) => void): void {
    this.erasedListeners.add(listener);
  }

  /** The erasure of these cases' applicant is done: whatever this process keeps of them in clear is dropped. */
  erased(cases: readonly string[]): void {
    for (const caseId of cases) this.erasedCases.add(caseId);
    for (const listener of this.erasedListeners) listener(cases);
  }

  /**
   * Cases whose applicant is erased, as the log's `personal-data-erasures` stream names them (cases filed before
   * encryption began included), up to the revision read last. A case id is a few dozen bytes and erasures are few: all
   * are kept. The stream is the record because another process may erase (the CLI, another API instance).
   */
  private readonly erasedCases = new Set<string>();
  /** The erasure stream's next revision to read. */
  private erasuresFrom = 0;
  /** The read of the erasure stream under way, and the one that follows it, shared by the callers that came meanwhile. */
  private erasuresReading: Promise<void> | null = null;
  private erasuresNext: Promise<void> | null = null;

  /**
   * The cases whose applicant is erased, with every erasure the log recorded before this was called: only the stream's
   * events past the revision read last are read (none, mostly). A vault without the log (a projection's, which meets
   * the erasures in the log itself) knows only the erasures this process made.
   */
  async erasedCasesNow(): Promise<ReadonlySet<string>> {
    if (this.disclosures) await this.erasuresRead();
    return this.erasedCases;
  }

  /**
   * A read of the new erasures that starts after this call: one under way may have started before an erasure the
   * caller already saw answered, so callers that come meanwhile share the next one.
   */
  private erasuresRead(): Promise<void> {
    if (!this.erasuresReading) {
      const reading = this.readNewErasures().finally(() => {
        if (this.erasuresReading === reading) this.erasuresReading = null;
      });
      return (this.erasuresReading = reading);
    }
    this.erasuresNext ??= this.erasuresReading
      .catch(() => undefined)
      .then(() => {
        this.erasuresNext = null;
        return this.erasuresRead();
      });
    return this.erasuresNext;
  }

  private async readNewErasures(): Promise<void> {
    const events = await this.disclosures!.log.readStream(ERASURE_STREAM, { fromRevision: this.erasuresFrom });
    for (const event of events) {
      for (const caseId of casesErasedBy(event)) this.erasedCases.add(caseId);
      this.erasuresFrom = Math.max(this.erasuresFrom, event.revision + 1);
    }
  }

  /** Whether the case's applicant is erased: its subject's key destroyed (a case filed before encryption has none). */
  async applicantErased(caseId: string): Promise<boolean> {
    const subject = await this.keys.subjectOfCase(caseId);
    return subject !== null && !(await this.keys.keysOf([subject]).catch(this.refused)).get(subject);
  }

  private rotationLogged = false;

  /**
   * A refusal of the key store, rethrown; the first for a master key rotated under this process is logged (an error,
   * once: each filing and read after it is refused for the same reason, answered 503) for the operator to restart it.
   */
  private readonly refused = (error: unknown): never => {
    if (error instanceof MasterKeyRotatedError && !this.rotationLogged && this.disclosures) {
      this.rotationLogged = true;
      this.disclosures.logger.error({ keyStore: error.location }, error.detail!);
    }
    throw error;
  };

  /** What the ids an Idempotency-Key gives are derived from: a citizen's token subject keyed (citizen-ids.ts). */
  idBasis(principal: Principal): string {
    if (!carriesIin(principal)) return principal.id;
    let basis = this.citizenIdBases.get(principal.id);
    if (basis === undefined) {
      this.idBasisKey ??= this.derivedKey('citizen ids');
      basis = idBasis(this.idBasisKey, principal);
      this.citizenIdBases.set(principal.id, basis);
    }
    return basis;
  }

  /** A key for a keyed digest of personal data other than the blind index (blind-index.ts `derivedKey`). */
  derivedKey(purpose: string): Buffer {
    return derivedKey(this.keys.blindIndexKey, purpose);
  }

  /** The keyed blind index of an IIN: what read models store and are queried by. */
  iinIndex(iin: string): string {
    let index = this.iinIndexes.get(iin);
    if (index === undefined) {
      index = blindIndex(this.keys.blindIndexKey, iin);
      this.iinIndexes.set(iin, index);
    }
    return index;
  }

  /**
   * The acts' data as it is to be stored: personal fields encrypted under the subject key of the case's applicant.
   * `stored` settles once the key store has committed the subject's claim and the case's link (see claimForCase);
   * the command side appends the acts meanwhile and waits for it before answering.
   */
  async protect<E extends { type: string; data: Record<string, unknown> }>(
    caseId: string,
    applicantIin: string,
    events: readonly E[],
    now: Date,
    /** The case's first acts: see the key store's claimForCase. */
    filing = false,
  ): Promise<{ events: E[]; stored: Promise<void>; settled: () => void }> {
    if (!events.some((e) => Object.keys(personalFieldsOf(e.type)).some((f) => e.data[f] !== undefined)))
      return { events: [...events], stored: NOTHING_TO_STORE, settled: NOTHING_TO_SETTLE };
    const subject = await this.keys.claimForCase(this.iinIndex(applicantIin), caseId, now, filing).catch(this.refused);
    const settled = this.beingRecorded.hold([subject.kid]);
    try {
      return {
        events: events.map((e) => ({ ...e, data: protectData(caseId, e.type, e.data, subject) })),
        stored: subject.stored,
        settled,
      };
    } catch (error) {
      settled();
      throw error;
    }
  }

  /** Acts being recorded now under each subject's key, by subject: handed out by protect, settled by the command. */
  private readonly recordingEnded = new Set<() => void>();
  private readonly beingRecorded = new SubjectCounts(() => {
    for (const wake of this.recordingEnded) wake();
  });

  /**
   * Waits until no act this process encrypted under these subjects' keys is still being recorded (its append done or
   * refused, `settled` called), for at most `timeoutMs`; answers the subjects still being recorded then. An erasure
   * waits so: a filing that took the subject just before the erasure held it has its case linked, and its acts may not
   * be in the log yet, where the erasure would read the case as a filing never made and destroy its key.
   */
  async recordingsSettled(subjects: readonly string[], timeoutMs: number): Promise<string[]> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const busy = subjects.filter((kid) => this.beingRecorded.has(kid));
      const left = deadline - Date.now();
      if (busy.length === 0 || left <= 0) return busy;
      await new Promise<void>((resolve) => {
        const wake = () => {
          clearTimeout(timer);
          this.recordingEnded.delete(wake);
          resolve();
        };
        const timer = setTimeout(wake, left);
        this.recordingEnded.add(wake);
      });
    }
  }

  /**
   * The events with their personal fields in clear (or "erased"). A person is refused unless they may read every case
   * the events belong to, and each disclosure is recorded before it is returned. An act the log keeps in clear whose
   * case is erased reads as the projections show it after the erasure: its personal fields and a citizen named in clear
   * as its actor "erased" (the log keeps the act as stored, and its hash covers that).
   */
  async open(recorded: readonly RecordedEvent[], access: PersonalDataAccess): Promise<RecordedEvent[]> {
    const kids = new Set<string>();
    let personal = false;
    let clear = false;
    // A projection meets each erasure in the log and scrubs its documents then (a rebuild too): it is not asked whether
    // its acts hold something in clear, nor the erasure stream for them (a worker's catch-up over a log kept in clear
    // read that stream once per such act).
    const projection = access.kind === 'system' && access.purpose === 'projection';
    for (const event of recorded) {
      const data = event.data as Record<string, unknown>;
      for (const field of Object.keys(personalFieldsOf(event.type))) {
        const value = data?.[field];
        if (value === undefined) continue;
        personal = true;
        if (isEnvelope(value)) kids.add(value.kid);
      }
      if (!clear && !projection && inClear(event)) clear = true;
    }
    if (!personal && !clear) return [...recorded];
    // Acts recorded in clear before encryption began are personal data too: the same right, the same record.
    if (personal && access.kind === 'person') await this.disclose(recorded, access, [...kids]);
    const opened = kids.size === 0 ? [...recorded] : await this.decrypt(recorded, kids);
    return clear ? this.scrubErased(opened) : opened;
  }

  private async decrypt(recorded: readonly RecordedEvent[], kids: ReadonlySet<string>): Promise<RecordedEvent[]> {
    try {
      const keys = await this.keys.keysOf([...kids]);
      return recorded.map((event) => {
        if (!event.streamId.startsWith(CASE_STREAM_PREFIX)) return event;
        const caseId = event.streamId.slice(CASE_STREAM_PREFIX.length);
        const opened = openData(
          caseId,
          event.type,
          event.data as Record<string, unknown>,
          (kid) => keys.get(kid) ?? null,
        );
        return opened.encrypted === 0 ? event : { ...event, data: opened.data };
      });
    } catch (error) {
      if (error instanceof StoredDataDamaged) throw storedDataDamaged(error.message);
      return this.refused(error);
    }
  }

  /**
   * The events of erased cases with their personal fields and a citizen named in clear as the actor "erased", as the
   * projections scrub them; the erasures are read first (the stream's new events), so one that another process recorded
   * a moment ago counts. Asked only where an act holds something in clear: an encrypted act of an erased case opens
   * "erased" by its destroyed key. An event left as it was is the same object.
   */
  private async scrubErased(events: RecordedEvent[]): Promise<RecordedEvent[]> {
    const erased = await this.erasedCasesNow();
    if (erased.size === 0) return events;
    return events.map((event) => {
      if (!event.streamId.startsWith(CASE_STREAM_PREFIX)) return event;
      if (!erased.has(event.streamId.slice(CASE_STREAM_PREFIX.length))) return event;
      const data = scrubData(event.type, event.data as Record<string, unknown>);
      const metadata = scrubClearCitizen(event.metadata);
      return data === event.data && metadata === event.metadata ? event : { ...event, data, metadata };
    });
  }

  /**
   * A person's read of the personal data a read model keeps in clear (the case view, the case list), which the read's
   * own rule admitted: recorded as a decryption is (a `PersonalDataDisclosed` event naming the cases and their subjects,
   * and a log line) before it is answered, the first time that day the reader reads each case. Not recorded: an applicant's
   * read of their own cases (the caller leaves them out: the subject's own data is no disclosure, and the record would carry their name),
   * and cases whose applicant is erased. The reads one reader (the same id, name, roles and unit) makes for one purpose
   * while a record of theirs is being stored are recorded together, in the next event (as the log commits waiting
   * appends together): a back office opening many cases at once appends an event per moment, not one per case. That
   * event carries the last of its reads' moments (each read happened then or before), and names at most
   * CASES_PER_RECORD cases (more are recorded in several events, each well below the log's limit on an event's size).
   */
  async recordRead(principal: Principal, cases: readonly string[], purpose: ClearReadPurpose): Promise<void> {
    if (!this.disclosures || cases.length === 0) return;
    const at = this.now();
    const day = at.toISOString().slice(0, 10);
    const unrecorded: string[] = [];
    const unrecordedKeys: string[] = [];
    const inFlight = new Set<Promise<void>>();
    for (const caseId of new Set(cases)) {
      const key = readKey(day, principal.id, caseId);
      if (this.readsRecorded.has(key)) continue;
      const recording = this.readsRecording.get(key);
      if (recording) inFlight.add(recording);
      else {
        unrecorded.push(caseId);
        unrecordedKeys.push(key);
      }
    }
    if (unrecorded.length > 0) {
      const groupKey = `${day}\n${purpose}\n${JSON.stringify(readerOf(principal))}`;
      let group = this.readGroups.get(groupKey);
      if (!group) this.readGroups.set(groupKey, (group = newReadGroup(principal, purpose, at)));
      group.at = at;
      group.cases.push(...unrecorded);
      group.keys.push(...unrecordedKeys);
      for (const key of unrecordedKeys) this.readsRecording.set(key, group.recorded);
      inFlight.add(group.recorded);
      if (!this.groupsRecording.has(groupKey)) this.recordGroup(groupKey);
    }
    await Promise.all(inFlight);
  }

  /** Reads waiting for their record, by day, reader and purpose (see recordRead). */
  private readonly readGroups = new Map<string, ReadGroup>();
  /** The groups whose record is being stored now, by the same key. */
  private readonly groupsRecording = new Set<string>();

  /**
   * Records the reads waiting under the key (one event, or one per CASES_PER_RECORD cases); then the reads that came
   * meanwhile, and so on. A failed record fails every read of the group, and marks none recorded.
   */
  private recordGroup(groupKey: string): void {
    const group = this.readGroups.get(groupKey);
    if (!group) return;
    this.readGroups.delete(groupKey);
    this.groupsRecording.add(groupKey);
    const { keys } = group;
    void (async () => {
      for (let from = 0; from < group.cases.length; from += CASES_PER_RECORD) {
        const cases = group.cases.slice(from, from + CASES_PER_RECORD);
        const subjects = await this.keys.subjectsOfCases(cases);
        await this.record(
          group.principal,
          { cases, subjects: [...new Set(subjects.values())], purpose: group.purpose },
          group.at,
          undefined,
        );
      }
      for (const key of keys) this.readsRecorded.set(key, true);
    })()
      .then(group.settle.resolve, group.settle.reject)
      .finally(() => {
        for (const key of keys) if (this.readsRecording.get(key) === group.recorded) this.readsRecording.delete(key);
        this.groupsRecording.delete(groupKey);
        this.recordGroup(groupKey);
      });
  }

  private now(): Date {
    return (this.disclosures?.clock ?? (() => new Date()))();
  }

  private async disclose(
    recorded: readonly RecordedEvent[],
    access: Extract<PersonalDataAccess, { kind: 'person' }>,
    subjects: string[],
  ): Promise<void> {
    const principal = access.principal;
    const cases = [...new Set(recorded.map((e) => e.streamId.slice(CASE_STREAM_PREFIX.length)))];
    const unitOf = new Map(
      recorded
        .filter((e) => e.revision === 0)
        .map((e) => [e.streamId.slice(CASE_STREAM_PREFIX.length), String((e.data as { unit?: unknown }).unit)]),
    );
    const allowed =
      readsEverything(principal) ||
      (staffRoles(principal).length > 0 &&
        principal.unit !== undefined &&
        cases.every((c) => unitOf.get(c) === principal.unit));
    if (!allowed)
      throw new PersonalDataRefused(`${principal.id} may not read the personal data of case(s) ${cases.join(', ')}`);
    if (!this.disclosures) return;
    await this.record(principal, { cases, subjects, purpose: access.purpose }, this.now(), access.correlationId);
  }

  /** The day's stream of disclosures, appended in batches by one writer: concurrent reads would race for it. */
  private writer: SealedStreamWriter | null = null;

  private async record(
    principal: Principal,
    entry: { cases: string[]; subjects: string[]; purpose: string },
    at: Date,
    correlationId: string | undefined,
  ): Promise<void> {
    const disclosures = this.disclosures!;
    this.writer ??= new SealedStreamWriter(disclosures.log);
    try {
      await this.writer.append(`${DISCLOSURE_LOG_PREFIX}${at.toISOString().slice(0, 10)}`, {
        type: PERSONAL_DATA_DISCLOSED,
        data: entry,
        metadata: {
          actor: readerOf(principal),
          recordedAt: at.toISOString(),
          ...(correlationId ? { correlationId } : {}),
        },
      });
    } catch (error) {
      // Other writers of the day's stream (other API processes) won every retry: nothing is answered unrecorded.
      if (!(error instanceof WrongExpectedRevisionError)) throw error;
      throw disclosureNotRecorded(
        'other readers were being recorded at the same moment; the personal data are not answered unrecorded: try again',
      );
    }
    disclosures.logger.info({ reader: principal.id, ...entry, correlationId }, 'personal data disclosed');
  }
}

/** A read of personal data refused because its disclosure could not be recorded (503, try again in a second). */
export function disclosureNotRecorded(detail: string): ProblemError {
  return new ProblemError(
    503,
    'disclosure-not-recorded',
    'The read could not be recorded',
    detail,
    undefined,
    {},
    { 'retry-after': '1' },
  );
}

/** What projections use: opening stored acts as the system, and the IIN's blind index. */
export type PersonalDataReading = Pick<PersonalDataVault, 'iinIndex'> & {
  open(recorded: readonly RecordedEvent[], access: { kind: 'system'; purpose: 'projection' }): Promise<RecordedEvent[]>;
};

/** Reads of one reader for one purpose that one event will record, and the promise each of them waits for. */
interface ReadGroup {
  principal: Principal;
  purpose: ClearReadPurpose;
  /** The latest read's moment (all of one day): the record's time. */
  at: Date;
  cases: string[];
  /** The cases' keys in the memory of recorded reads (readKey), in the same order. */
  keys: string[];
  recorded: Promise<void>;
  settle: { resolve(): void; reject(error: unknown): void };
}

function newReadGroup(principal: Principal, purpose: ClearReadPurpose, at: Date): ReadGroup {
  let settle!: ReadGroup['settle'];
  const recorded = new Promise<void>((resolve, reject) => (settle = { resolve, reject }));
  return { principal, purpose, at, cases: [], keys: [], recorded, settle };
}

/** What the memory of recorded reads is keyed by: one read of a case per reader and UTC day. */
function readKey(day: string, readerId: string, caseId: string): string {
  return `${day}\n${readerId}\n${caseId}`;
}
