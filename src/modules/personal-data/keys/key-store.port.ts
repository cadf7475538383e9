/**
 * The personal-data key store, kept apart from the event log (DATA_DIR/keys.db embedded, a MongoDB collection in
 * production): each data subject's key, wrapped by the master key; which subject each case's personal data belongs
 * to; the blind-index key; what was erased, when and on what basis. Destroying a subject's key is the erasure: the
 * log keeps its ciphertext, which nobody can read any more.
 */
import { StoredDataDamaged } from '../domain/personal-fields';
import { ProblemError } from '../../../shared/problem/problem';

export interface SubjectRecord {
  subjectId: string;
  /** The blind index of the subject's IIN (never the IIN itself). */
  iinIndex: string;
  createdAt: string;
  erasedAt: string | null;
}

export interface StoreSubject {
  kid: string;
  key: Buffer;
  stored: Promise<void>;
}

export interface ErasureRecord {
  at: string;
  basis: string;
  reference: string;
  by: string;
}

export interface PersonalKeyStore {
  /** `DATA_DIR/keys.db` or `<database>.personalDataKeys`, for messages. */
  readonly location: string;
  /** The key of the IIN blind index, unwrapped at open. */
  readonly blindIndexKey: Buffer;
  /**
   * The subject a new case's personal data is encrypted for: the IIN's subject not erased, else a new one with a new key;
   * answered once the key, the subject's claim and the case's link are stored.
   */
  subjectForCase(iinIndex: string, caseId: string, now: Date, filing?: boolean): Promise<{ kid: string; key: Buffer }>;
  /**
   * The same subject, answered as soon as its key is on disk: `stored` settles once the subject's claim and the case's
   * link are committed too (at once where they already were), and rejects if that commit fails. The command side
   * appends the acts meanwhile and waits for `stored` before it answers. A new case of a person who has a subject
   * already is answered once its link is committed: an erasure may hold that subject (holdForErasure). `filing`: the
   * case's first acts (it has none in the log yet). A filing of a case linked already (a retry of one whose append
   * failed) to a subject an erasure holds is refused, SubjectBeingErasedError: the erasure reads such a case, still
   * without acts after its wait, as a filing never made, and destroys the key. Other acts on the case keep its subject:
   * the erasure finds their case open, or the case is closed and takes no act.
   */
  claimForCase(iinIndex: string, caseId: string, now: Date, filing?: boolean): Promise<StoreSubject>;
  /** The subject the case's personal data belongs to; null for a case filed before encryption began. */
  subjectOfCase(caseId: string): Promise<string | null>;
  /** The subjects of these cases, by case id, in one lookup; cases filed before encryption began are absent. */
  subjectsOfCases(caseIds: readonly string[]): Promise<Map<string, string>>;
  /**
   * The subjects' keys, unwrapped; an erased subject maps to null. A subject the store has no record of throws
   * StoredDataDamaged (an erased one keeps its record): read as erased, lost rows passed for erasures.
   */
  keysOf(kids: readonly string[]): Promise<Map<string, Buffer | null>>;
  /** Which of these subjects the store has no record of, live or erased: a key store that is not the log's says so. */
  unknownSubjects(kids: readonly string[]): Promise<string[]>;
  subjectsOf(iinIndex: string): Promise<SubjectRecord[]>;
  casesOf(subjectId: string): Promise<string[]>;
  /**
   * Keeps these subjects from being given to new cases, in every process and instance that uses the store, until the
   * returned function is called (or, if it never is, its process having died, for ERASURE_HOLD_MS). An erasure holds
   * the subjects it checks: a filing of the same person meanwhile gets a new subject of its own, not one whose key the
   * erasure is about to destroy (the filing would be acknowledged and then read "erased", its case stuck open). Cases
   * already linked to a held subject keep it. The hold is stored before this answers, and a new case is linked to an
   * existing subject only where it finds no hold, before anything is encrypted under it: every case linked to a held
   * subject after this answers was linked before, so the erasure's reading of the subject's cases finds it.
   */
  holdForErasure(subjectIds: readonly string[]): Promise<ErasureHold>;
  /**
   * Destroys the subject's key for good (overwritten on disk, not just unlinked) and records the erasure; the holds on
   * the subject end with it.
   */
  destroy(subjectId: string, erasure: ErasureRecord): Promise<void>;
  /** Re-wraps every live key under the new master key and records its check value; answers how many keys. */
  rotate(newMaster: Buffer): Promise<number>;
  close(): Promise<void>;
}

/** An erasure's hold on its subjects (PersonalKeyStore.holdForErasure). */
export interface ErasureHold {
  /**
   * Makes the hold stand until the subjects' keys are destroyed, if it stands now; false when it lapsed (a filing may
   * then have linked a case after the erasure's checks). Called just before the erasure is recorded: a destruction that
   * fails after the record (completed later from the log) leaves its subjects held, never given to a new case.
   */
  pin(): Promise<boolean>;
  /**
   * Ends the hold, unless it was pinned (the destruction ends that one); `pinnedToo` ends a pinned one as well, for an
   * erasure whose record failed after the pin (nothing recorded, nothing to complete: it would stand for good).
   */
  release(pinnedToo?: boolean): Promise<void>;
}

/**
 * How long an erasure's hold on its subjects stands if the erasure never releases it (its process died): far above the
 * longest erasure (its waits for acts being recorded, 30 s, and for another instance's filing, the log's appendSettlesMs:
 * 6 s embedded, 32 s beside EventStoreDB by default; three checks).
 */
export const ERASURE_HOLD_MS = 10 * 60_000;

export const subjectErasedDetail = (caseId: string): string =>
  `the personal data of case ${caseId} was erased; nothing more can be recorded for it`;

/** An act on a case whose applicant was erased: nothing more can be recorded for it (a refusal, not a failure). */
export class SubjectErasedError extends Error {
  override readonly name = 'SubjectErasedError';
  constructor(readonly caseId: string) {
    super(subjectErasedDetail(caseId));
  }
}

/**
 * An act on a case linked to a subject an erasure holds now: refused, so that nothing lands under a key the erasure may
 * destroy once it has looked at the subject's cases for the last time. A retry of a filing whose first append failed
 * was handed the held subject's key: arriving after the erasure's wait for that case's acts, its acts landed under the
 * destroyed key and it was answered 201. The caller may act on the case (decided before), so may learn this.
 */
export class SubjectBeingErasedError extends ProblemError {
  constructor(readonly caseId: string) {
    super(
      409,
      'personal-data-being-erased',
      "The applicant's personal data is being erased",
      `an erasure of the personal data of the applicant of case ${caseId} is under way; nothing was recorded: if it is refused (an open case of theirs refuses it), send the act again`,
    );
  }
}

/** Whether one of a subject's stored erasure holds stands now (not released, not lapsed). */
export const holdStands = (holds: ReadonlyArray<{ until: Date | number }> | undefined, now = Date.now()): boolean =>
  (holds ?? []).some((hold) => Number(hold.until) > now);

/** An erasure's hold as one store keeps it under its own token: stored, pinned, and released (pinned ones too or not). */
export interface StoredHold {
  take(): Promise<void>;
  pin(): Promise<boolean>;
  release(pinnedToo: boolean): Promise<void>;
}

/**
 * An erasure's hold as every store gives it (holdForErasure): kept in this process too (`held`, which filings here read
 * without a round trip to the store), and in the store (`stored`, given the subjects once), released once.
 */
export async function erasureHold(
  held: SubjectCounts,
  subjectIds: readonly string[],
  stored: (ids: string[]) => StoredHold,
): Promise<ErasureHold> {
  const ids = [...new Set(subjectIds)];
  const releaseHere = held.hold(ids);
  const store = stored(ids);
  try {
    await store.take();
  } catch (error) {
    releaseHere();
    throw error;
  }
  let released = false;
  return {
    pin: () => store.pin(),
    release: async (pinnedToo = false) => {
      if (released) return;
      released = true;
      releaseHere();
      await store.release(pinnedToo);
    },
  };
}

/**
 * Subjects each counted as often as it is taken and not yet released: those erasures in progress hold (the key stores)
 * and those whose acts are being recorded (the vault). `released` is called after every release.
 */
export class SubjectCounts {
  private readonly counts = new Map<string, number>();

  constructor(private readonly released: () => void = () => undefined) {}

  has(subjectId: string): boolean {
    return this.counts.has(subjectId);
  }

  get ids(): string[] {
    return [...this.counts.keys()];
  }

  hold(subjectIds: readonly string[]): () => void {
    const ids = [...new Set(subjectIds)];
    for (const id of ids) this.counts.set(id, (this.counts.get(id) ?? 0) + 1);
    let released = false;
    return () => {
      if (released) return;
      released = true;
      for (const id of ids) {
        const left = (this.counts.get(id) ?? 1) - 1;
        if (left === 0) this.counts.delete(id);
        else this.counts.set(id, left);
      }
      this.released();
    };
  }
}

export class MasterKeyMismatchError extends Error {
  override readonly name = 'MasterKeyMismatchError';
  readonly exitCode = 78;
  constructor(readonly location: string) {
    super(
      `${location}: the configured personal-data master key is not the one its keys are wrapped with (the key check value differs); ` +
        'set PERSONAL_DATA_MASTER_KEY or PERSONAL_DATA_MASTER_KEY_FILE to the key in use (after a rotation, the new one)',
    );
  }
}

/**
 * The key store's master key was rotated (another process re-wrapped every key under a new one) since this process
 * opened it with the old one: refused as what it is, a 503 telling the operator to restart, and exit 78 from a command.
 * The process makes no key any more (one wrapped under the retired key would not unwrap after the restart: its person's
 * data lost) and opens none (the keys in the store are wrapped under the new one: not damage).
 */
export class MasterKeyRotatedError extends ProblemError {
  readonly exitCode = 78;
  constructor(readonly location: string) {
    super(
      503,
      'master-key-rotated',
      'The personal-data master key was rotated',
      `${location}: the personal-data master key was rotated after this process started: restart it with the new key ` +
        '(PERSONAL_DATA_MASTER_KEY or PERSONAL_DATA_MASTER_KEY_FILE); until then it refuses whatever makes or opens a ' +
        'personal-data key',
    );
  }
}

/**
 * A key could not be stored while a rotation of the master key held the store (MongoDB: the rotation writes every guard
 * a new key's transaction writes one of, for as long as it re-wraps the keys). Answered 503 with Retry-After after a
 * few seconds of retries, instead of the driver's two minutes and then a raw write conflict (a 500).
 */
export class MasterKeyRotatingError extends ProblemError {
  constructor(readonly location: string) {
    super(
      503,
      'master-key-rotating',
      'The personal-data master key is being rotated',
      `${location}: the personal-data master key is being rotated; no new key can be stored until it is done: try again`,
      undefined,
      {},
      { 'retry-after': '5' },
    );
  }
}

/**
 * The key store does not know the keys the log's newest encrypted acts were sealed under: it is not this log's (lost and
 * made anew, or another installation's). Served, every applicant would read "erased" and new acts on their cases would
 * be sealed under new keys, and a rebuild would write "erased" into the read models for good.
 */
export class KeyStoreMismatchError extends Error {
  override readonly name = 'KeyStoreMismatchError';
  readonly exitCode = 65;
  constructor(
    readonly location: string,
    unknown: number,
    looked: number,
    example: { kid: string; streamId: string; revision: number },
  ) {
    super(
      `${location}: holds no key for ${unknown} of the ${looked} data subjects whose personal data the log's newest acts are encrypted for ` +
        `(subject ${example.kid}, in ${example.streamId} revision ${example.revision}): it is not this log's key store (lost and made anew, ` +
        `another installation's, or a copy older than the log). Restore the one taken with the log, with the master key that wraps it; ` +
        'started as it is, every applicant whose key it lacks would read "erased"',
    );
  }
}

/**
 * A subject the store has no record of: no erasure (an erased subject keeps its record) but lost records, or a store
 * that is not the log's. `records`: what the store keeps a subject in.
 */
export function subjectNotInStore(location: string, kid: string, records: string): StoredDataDamaged {
  return new StoredDataDamaged(
    `${location}: holds no key for data subject ${kid}, whose personal data the log's acts are encrypted for: the key store has lost ${records}, or is not this log's`,
  );
}

/** A stored key that does not unwrap under the master key that opened the store. */
export function subjectKeyDamaged(location: string, kid: string): StoredDataDamaged {
  return new StoredDataDamaged(
    `${location}: the key of data subject ${kid} does not unwrap under the master key that opens the store: the key store is damaged`,
  );
}

export const BLIND_INDEX_KEY_ID = 'blind-index/iin';
