/**
 * Erasure of a data subject and the retention report. Erasure is refused while a case of the subject is open or a
 * closed case is still inside its version's retention period (each named); the report lists what an erasure would be
 * done for now, found by the erasure's own checks (checkErasure), so the two cannot disagree. Otherwise it records a
 * `PersonalDataErased` event (subject id, case ids, legal basis: no personal data) and then destroys the subject's
 * key, so every encrypted field of every act reads "erased" from then on; projections scrub their documents when
 * they meet the event. Acts stored in clear (before encryption began, or naming the citizen who acted as their token
 * named them) cannot be removed from the append-only log: they are counted and reported, never hidden. Framework-free.
 */
import type { EventLog, RecordedEvent } from '../../event-log/event-log.port';
import { caseStreamId } from '../../cases/domain/case-event';
import { CaseRepository } from '../../cases/commands/case-repository';
import { caseVersion, type Catalog } from '../../regulations/domain/catalog';
import { openSteps } from '../../cases/domain/case-rules';
import { isEnvelope } from '../domain/envelope';
import {
  casesErasedBy,
  ERASED_IIN_INDEX,
  ERASURE_STREAM,
  PERSONAL_DATA_ERASED,
  subjectErasedBy,
  type ClearActHash,
  type PersonalDataErasedData,
} from '../domain/erasure';
import type { ErasureTextField } from '../domain/erasure-record';
import { inClear } from '../domain/citizen-ids';
import type { PersonalDataVault } from '../personal-data-vault';
import { ERASURE_HOLD_MS, type ErasureHold, type PersonalKeyStore } from '../keys/key-store.port';
import { appendSealed } from '../../transparency/sealed-append';
import { iinsIn } from '../../../shared/iins-in-text';
import { maskIin } from '../../../shared/logging/mask-iins';

/**
 * Used where a version file names no period: a service setting, not a figure from the law. Law No. 94-V bounds
 * storage by the purpose of collection; it is no ground for keeping data, so the basis says the period is a setting.
 */
export const DEFAULT_PERSONAL_DATA_RETENTION = {
  years: 5,
  basis:
    'service default (a setting, not a legal figure): the version file names no storage period; set personalDataRetention in it',
} as const;

export interface ErasureDeps {
  log: EventLog;
  vault: PersonalDataVault;
  catalog: Catalog;
  /** Cases the read model files under an IIN's blind index (also those filed before encryption began); null when it is not available. */
  casesByIinIndex?: (iinIndex: string) => Promise<string[] | null>;
  /**
   * The blind index the read model files each of these cases under, by case id (cases it does not hold are absent);
   * null when it is not available. How a subject named by id, or a case filed before encryption, leads to its person.
   */
  iinIndexesOfCases?: (caseIds: readonly string[]) => Promise<Map<string, string> | null>;
  clock?: () => Date;
  /**
   * How long a case linked to the subject without acts in the log is waited for: the log's appendSettlesMs unless a
   * spec sets it. Another API instance's filing may be appending its acts (under the subject's key) for that long; a
   * shorter wait (a fixed 6 s once, below EventStoreDB's 30 s append deadline) read such a filing as never appended and
   * destroyed the key its acts then landed under, answered 201.
   */
  filingSettlesMs?: number;
}

export interface CaseRetention {
  caseId: string;
  versionId: string;
  status: string;
  closedAt: string | null;
  /** When the personal data of the case is due for erasure; null while the case is open. */
  retainedUntil: string | null;
  basis: string;
  /**
   * An open case no step can follow (the regulation gives it no ending, e.g. a retraining listener who failed the final
   * test): it will never close, so its data stay until the case is closed some other way. Named so an operator knows.
   */
  noStepCanFollow?: true;
}

export type ErasureRefusal =
  | { kind: 'unknown-subject'; detail: string }
  /** The basis, the reference or who erased (`by`), recorded for good with the erasure, names an IIN. */
  | { kind: 'personal-data-in-record'; field: ErasureTextField; detail: string }
  /** `retained`: the subject's closed cases whose retention period also still runs, named with the open ones. */
  | { kind: 'open-cases'; cases: CaseRetention[]; retained: CaseRetention[]; detail: string }
  | { kind: 'retention'; cases: CaseRetention[]; detail: string };

export interface ErasureDone {
  subjects: string[];
  cases: CaseRetention[];
  positions: number[];
  /** Acts of these cases stored in clear before encryption began, which the log keeps readable. */
  clearTextActs: number;
  /** Cases found only through the read model (filed before encryption began). */
  clearTextCases: string[];
}

export type ErasureOutcome = { ok: true; done: ErasureDone } | { ok: false; refusal: ErasureRefusal };

/**
 * Whose data: by IIN; by a subject's id (the person it belongs to, found through the blind index the read model files
 * its cases under: their other subjects and their cases filed before encryption with it); or by a case, its applicant
 * (the case's subject, or, for a case filed before encryption, which has none, the person its blind index names).
 */
export interface ErasureRequest {
  iin?: string;
  subjectId?: string;
  caseId?: string;
  basis: string;
  reference: string;
  by: string;
}

function addYears(iso: string, years: number): string {
  const d = new Date(iso);
  d.setUTCFullYear(d.getUTCFullYear() + years);
  return d.toISOString();
}

async function retentionOf(deps: ErasureDeps, caseId: string): Promise<CaseRetention | null> {
  const loaded = await new CaseRepository(deps.log, deps.catalog, 1, deps.vault).load(caseId);
  // No stream: a case linked to its subject whose filing was never appended (refused, or a crash before the append)
  // holds no data to keep or erase.
  if (!loaded) return null;
  const { state } = loaded;
  const version = caseVersion(deps.catalog, state.versionId);
  const policy = version.personalDataRetention ?? DEFAULT_PERSONAL_DATA_RETENTION;
  const closedAt = state.status === 'open' ? null : state.closedAt;
  return {
    caseId,
    versionId: state.versionId,
    status: state.status,
    closedAt,
    retainedUntil: closedAt ? addYears(closedAt, policy.years) : null,
    basis: policy.basis,
    ...(closedAt === null && openSteps(state, version).length === 0 ? { noStepCanFollow: true as const } : {}),
  };
}

const openCase = (c: CaseRetention) =>
  `${c.caseId} (${c.versionId}, ${c.status}${c.noStepCanFollow ? `; ${NO_STEP_CAN_FOLLOW}` : ''})`;

export const NO_STEP_CAN_FOLLOW =
  'no step can follow: its regulation gives the case no ending from here, so it will not close by itself';

/** The case's acts kept with personal data in clear, each by its stored hash (see PersonalDataErasedData.clearActs). */
const clearActsOf = (caseId: string, events: readonly RecordedEvent[]): ClearActHash[] =>
  events.filter((e) => inClear(e)).map((e) => ({ caseId, revision: e.revision, hash: String(e.metadata.hash) }));

/**
 * Erasures run one after another in a process. Each reads which subjects are alive, records to one shared stream and
 * destroys keys: run side by side, sixteen of them exhausted the stream's retries (409 "the case changed since you read
 * it" for an erasure), and two of the same person could both find the subject alive and record it twice. Another
 * process erasing meanwhile (a command, with the API stopped) is what the retries are left for.
 */
let erasing: Promise<unknown> = Promise.resolve();

export function eraseSubject(deps: ErasureDeps, request: ErasureRequest): Promise<ErasureOutcome> {
  const run = erasing.then(() => eraseNow(deps, request));
  erasing = run.catch(() => undefined);
  return run;
}

/** How often an erasure checks again when another process filed a case of the subject while it was being checked. */
const CHECKS_WHILE_CASES_CHANGE = 3;

async function eraseNow(deps: ErasureDeps, request: ErasureRequest): Promise<ErasureOutcome> {
  const inRecord = personalDataInRecord(request);
  if (inRecord) return { ok: false, refusal: inRecord };
  // An erasure recorded whose key a failed destruction left (the command answered 500): completed first, so a retry
  // finds the subject erased instead of recording it a second time.
  await completeRecordedErasures(deps.log, deps.vault.keys);
  // Held until the erasure is done or refused, across its attempts, in the key store (so in every process that files):
  // released between two, a subject could be given to a new case right when filings are being made. A filing this
  // process made under a subject just before it was held has its case linked and its acts maybe not in the log yet:
  // waited for (an append gives up after the log's 5 s wait for its lock), so its case is then read as any other.
  const holds: ErasureHold[] = [];
  let attemptHolds: ErasureHold[] = [];
  const hold = async (subjectIds: readonly string[]) => {
    const taken = await deps.vault.keys.holdForErasure(subjectIds);
    holds.push(taken);
    attemptHolds.push(taken);
    return (await deps.vault.recordingsSettled(subjectIds, RECORDING_SETTLES_MS)).length === 0;
  };
  let recorded = false;
  const holding: Holding = {
    hold,
    // This attempt's holds made to stand until the keys are destroyed, if none lapsed since the checks began.
    pin: async () => (await Promise.all(attemptHolds.map((h) => h.pin()))).every(Boolean),
    recorded: () => (recorded = true),
  };
  try {
    for (let attempt = 1; ; attempt++) {
      attemptHolds = [];
      const outcome = await eraseOnce(deps, request, holding);
      if (!('changed' in outcome)) return outcome;
      // Checked again from the start: the new case is open, and is named in the refusal like any other.
      if (attempt < CHECKS_WHILE_CASES_CHANGE) continue;
      return refusedAsFiled(
        outcome.changed.length > 0
          ? `cases of the subject were filed while the erasure was being checked (${outcome.changed.join(', ')}), ${CHECKS_WHILE_CASES_CHANGE} times; nothing was erased: try again once the filings stop`
          : `the erasure's checks outlasted its hold on the subject (${ERASURE_HOLD_MS / 60_000} minutes), ${CHECKS_WHILE_CASES_CHANGE} times; nothing was erased: try again`,
      );
    }
  } finally {
    // A pinned hold stays until its key is destroyed (now, or by completeRecordedErasures after a failed destruction),
    // unless the erasure was never recorded (its record failed after the pin): nothing would complete it then.
    for (const taken of holds) await taken.release(!recorded);
  }
}

/**
 * An erasure's holds on its subjects (eraseNow): `hold` takes one and answers false when acts under them were still
 * being recorded after its wait; `pin` makes the attempt's holds stand until the keys are destroyed (false if one
 * lapsed); `recorded` says the erasure is in the log, so its pinned holds outlive a failed destruction.
 */
interface Holding {
  hold(subjectIds: readonly string[]): Promise<boolean>;
  pin(): Promise<boolean>;
  recorded(): void;
}

/** How long an erasure waits for this process's acts under its subjects to be recorded; then it is refused (409). */
const RECORDING_SETTLES_MS = 30_000;
const FILING_POLL_MS = 20;

/** An erasure refused because acts of its subject were being recorded while it checked (an open case, in effect). */
function refusedWhileFiled(detail: string): ErasureRefusal {
  return { kind: 'open-cases', cases: [], retained: [], detail };
}

const refusedAsFiled = (detail: string): ErasureOutcome => ({ ok: false, refusal: refusedWhileFiled(detail) });

const filingsBeingRecorded = (): ErasureRefusal =>
  refusedWhileFiled(
    `acts of the subject have been being recorded for ${RECORDING_SETTLES_MS / 1000} s; nothing was erased: try again`,
  );

/**
 * The basis, the reference and who erased are recorded for good, in clear, with the erasure: an IIN written there (the
 * subject's own, a representative's, an e-government token's subject `egov-<IIN>` as who erased) would outlive the
 * very erasure it records.
 */
function personalDataInRecord(request: ErasureRequest): ErasureRefusal | null {
  for (const field of ['basis', 'reference', 'by'] as const) {
    const found = iinsIn(request[field], 'prose');
    if (found.length > 0)
      return {
        kind: 'personal-data-in-record',
        field,
        detail: `${field === 'by' ? 'by (who erases)' : `the ${field}`} names an IIN (${found.map(maskIin).join(', ')}); it is recorded for good with the erasure: write it without personal data`,
      };
  }
  return null;
}

/**
 * The retention of each case, once the acts of every case just linked to the subject are in the log. A filing's link
 * is committed beside its append, so a case can be linked and have no stream yet: read then, it looked like a filing
 * never appended (refused, or a crash before the append), which holds no data and was passed over, and its key was
 * destroyed under the acts that followed. This process's own filings are waited for before (recordingsSettled); a
 * case still without a stream is another instance's filing, read again until its stream appears (then checked like the
 * others: open, so the erasure is refused), for at most the log's appendSettlesMs. One still without a stream then was never
 * appended.
 */
async function retentionsOnceFiled(
  deps: ErasureDeps,
  caseIds: readonly string[],
  filingSettlesMs: number,
): Promise<CaseRetention[]> {
  const found = new Map<string, CaseRetention>();
  let missing = [...caseIds];
  for (const deadline = Date.now() + filingSettlesMs; ;) {
    const read = await Promise.all(missing.map(async (c) => [c, await retentionOf(deps, c)] as const));
    for (const [c, retention] of read) if (retention) found.set(c, retention);
    missing = read.filter(([, retention]) => retention === null).map(([c]) => c);
    if (missing.length === 0 || Date.now() >= deadline) break;
    await new Promise((resolve) => setTimeout(resolve, FILING_POLL_MS));
  }
  return [...caseIds].filter((c) => found.has(c)).map((c) => found.get(c)!);
}

/** What the log records as erased: the subjects, and every case an erasure named (those filed in clear included). */
interface RecordedErasures {
  subjects: ReadonlySet<string>;
  cases: ReadonlySet<string>;
}

async function recordedErasures(log: EventLog): Promise<RecordedErasures> {
  const subjects = new Set<string>();
  const cases = new Set<string>();
  for (const event of await log.readStream(ERASURE_STREAM)) {
    const subjectId = subjectErasedBy(event);
    if (subjectId !== null) subjects.add(subjectId);
    for (const c of casesErasedBy(event)) cases.add(c);
  }
  return { subjects, cases };
}

type ErasureTarget = Pick<ErasureRequest, 'iin' | 'subjectId' | 'caseId'>;

/** Whose data an erasure takes: their live subjects, and the blind index the read model files their cases under. */
interface Whose {
  subjects: string[];
  iinIndex: string | null;
}

const NOBODY: Whose = { subjects: [], iinIndex: null };

/**
 * The live subjects the request names, and the blind index that finds the person's cases in the read model (those
 * filed before encryption, which no key links, too). A subject whose key is destroyed, or whose erasure the log records
 * (a destruction that failed, completed at the next erasure or start), is erased already. A subject named by id is
 * erased again only while its key lives (its destruction failed after the erasure was recorded); one already erased is
 * unknown here, as it is by IIN, and no second erasure is recorded. Named by id or by a case, the person is found
 * through the read model's blind index of the subject's cases, which the key store must file the subject under too: the
 * key store's own record of the subject's index has no lookup by subject on its port, and needs none.
 */
async function whoseData(deps: ErasureDeps, target: ErasureTarget, erased: RecordedErasures): Promise<Whose> {
  const keys = deps.vault.keys;
  const ofIndex = async (iinIndex: string): Promise<Whose> => ({
    iinIndex,
    subjects: (await keys.subjectsOf(iinIndex))
      .filter((s) => s.erasedAt === null && !erased.subjects.has(s.subjectId))
      .map((s) => s.subjectId),
  });
  if (target.iin !== undefined) return ofIndex(deps.vault.iinIndex(target.iin));
  let named = target.subjectId;
  if (target.caseId !== undefined) {
    const subject = await keys.subjectOfCase(target.caseId);
    if (subject === null) {
      // Filed before encryption began: no key names its applicant, the blind index the read model files it under does.
      // One an erasure names is erased already, whatever the read model (behind it) still files it under: the person's
      // later subject is no part of it.
      if (erased.cases.has(target.caseId)) return NOBODY;
      const iinIndex = (await deps.iinIndexesOfCases?.([target.caseId]))?.get(target.caseId);
      return iinIndex !== undefined && iinIndex !== ERASED_IIN_INDEX ? ofIndex(iinIndex) : NOBODY;
    }
    named = subject;
  }
  if (
    named === undefined ||
    erased.subjects.has(named) ||
    (await keys.unknownSubjects([named])).length > 0 ||
    !(await keys.keysOf([named])).get(named)
  )
    return NOBODY;
  const indexes = await deps.iinIndexesOfCases?.(await keys.casesOf(named));
  for (const iinIndex of new Set(indexes?.values() ?? []))
    if (iinIndex !== ERASED_IIN_INDEX && (await keys.subjectsOf(iinIndex)).some((s) => s.subjectId === named))
      return ofIndex(iinIndex);
  // The read model holds none of its cases (not built yet, or behind): the subject alone, as the key store links it.
  return { subjects: [named], iinIndex: null };
}

/** What an erasure takes once its checks pass: its subjects and every case, and which the read model alone found. */
interface ErasureScope {
  subjects: string[];
  caseIds: Set<string>;
  /** Cases linked to the subjects (by the key store, or by the key their filing names). */
  linked: Set<string>;
  fromReadModel: string[];
  cases: CaseRetention[];
}

type ErasureCheck =
  | { ok: true; scope: ErasureScope }
  /** `looked`: the cases of the person the checks read (the report looks at none of them again). */
  | { ok: false; refusal: ErasureRefusal; looked: readonly string[] };

/**
 * The erasure's checks, which the retention report runs too, so the report lists what the erasure it prints does: whose
 * data (whoseData), every case of theirs (the key store's links, and the read model's cases under their blind index,
 * those filed before encryption included, less those an erasure already took), each closed and past its retention.
 * `hold` holds the subjects found, and answers false when acts under them were still being recorded after its wait.
 */
async function checkErasure(
  deps: ErasureDeps,
  target: ErasureTarget,
  now: Date,
  erased: RecordedErasures,
  { hold, filingSettlesMs }: { hold: (subjectIds: readonly string[]) => Promise<boolean>; filingSettlesMs: number },
): Promise<ErasureCheck> {
  const keys = deps.vault.keys;
  const { subjects, iinIndex } = await whoseData(deps, target, erased);
  if (!(await hold(subjects))) return { ok: false, refusal: filingsBeingRecorded(), looked: [] };
  const caseIds = new Set<string>();
  for (const subject of subjects) for (const c of await keys.casesOf(subject)) caseIds.add(c);
  const linked = new Set(caseIds);
  const fromReadModel = iinIndex !== null && deps.casesByIinIndex ? ((await deps.casesByIinIndex(iinIndex)) ?? []) : [];
  for (const c of fromReadModel) caseIds.add(c);
  const passOver = (c: string) => {
    caseIds.delete(c);
    fromReadModel.splice(fromReadModel.indexOf(c), 1);
  };
  // A case whose link to its subject did not reach the key store (a crash right after filing) still names its key.
  for (const c of fromReadModel.filter((id) => !linked.has(id))) {
    const [first] = await deps.log.readStream(caseStreamId(c), { maxCount: 1 });
    const applicant = (first?.data as Record<string, unknown> | undefined)?.applicant;
    if (!isEnvelope(applicant)) {
      // Filed in clear, and named by an erasure the read model has not met yet: erased already, recorded once.
      if (erased.cases.has(c)) passOver(c);
      continue;
    }
    const kid = applicant.kid;
    if (subjects.includes(kid) || (!erased.subjects.has(kid) && (await keys.keysOf([kid])).get(kid))) {
      if (!subjects.includes(kid)) {
        subjects.push(kid);
        if (!(await hold([kid]))) return { ok: false, refusal: filingsBeingRecorded(), looked: [...caseIds] };
      }
      linked.add(c);
    } else {
      // Its subject's key is destroyed: erased already, and the read model has not met the erasure yet. Erasing again
      // would record a second erasure of it (as a case in clear).
      passOver(c);
    }
  }
  if (caseIds.size === 0)
    return {
      ok: false,
      refusal: {
        kind: 'unknown-subject',
        detail: 'no case and no live key of this data subject is known (already erased, or never filed)',
      },
      looked: [],
    };
  const cases = await retentionsOnceFiled(deps, [...caseIds].sort(), filingSettlesMs);
  const open = cases.filter((c) => c.closedAt === null);
  const retained = cases.filter((c) => c.retainedUntil !== null && Date.parse(c.retainedUntil) > now.getTime());
  const retention = `the retention period still runs for ${retained.map((c) => `${c.caseId} (${c.versionId}, closed ${c.closedAt}, kept until ${c.retainedUntil}: ${c.basis})`).join('; ')}`;
  if (open.length > 0) {
    // Everything that stands in the way is named at once, not the open cases first and the retention at the next try.
    return {
      ok: false,
      refusal: {
        kind: 'open-cases',
        cases: open,
        retained,
        detail: `the subject has ${open.length} open case(s), which need the data: ${open.map(openCase).join(', ')}${retained.length > 0 ? `; and ${retention}` : ''}`,
      },
      looked: [...caseIds],
    };
  }
  if (retained.length > 0)
    return { ok: false, refusal: { kind: 'retention', cases: retained, detail: retention }, looked: [...caseIds] };
  return { ok: true, scope: { subjects, caseIds, linked, fromReadModel, cases } };
}

/**
 * One erasure from its checks to its destructions. The subjects are held (`hold`) from the moment they are found, so a
 * filing of the same person in this process meanwhile gets a new subject of its own and is no part of this erasure;
 * `hold` answers false when acts under them were still being recorded after its wait.
 * Just before anything is recorded, the subjects' cases are read again: a case another process filed meanwhile
 * (`changed`) sends the erasure back to its checks, which find it open.
 */
async function eraseOnce(
  deps: ErasureDeps,
  request: ErasureRequest,
  { hold, pin, recorded }: Holding,
): Promise<ErasureOutcome | { changed: string[] }> {
  const now = (deps.clock ?? (() => new Date()))();
  const keys = deps.vault.keys;
  const checked = await checkErasure(deps, request, now, await recordedErasures(deps.log), {
    hold,
    filingSettlesMs: deps.filingSettlesMs ?? deps.log.appendSettlesMs,
  });
  if (!checked.ok) return { ok: false, refusal: checked.refusal };
  const { subjects, caseIds, linked, fromReadModel, cases } = checked.scope;
  const clearActs: ClearActHash[] = [];
  for (const c of cases) clearActs.push(...clearActsOf(c.caseId, await deps.log.readStream(caseStreamId(c.caseId))));
  const clearTextActs = clearActs.length;
  const clearActsIn = (named: readonly string[]) => {
    const acts = clearActs.filter((a) => named.includes(a.caseId));
    return acts.length > 0 ? { clearActs: acts } : {};
  };
  // Every subject's erasure in one append, recorded before any key is destroyed: a stop between the two leaves only
  // destructions that the next start completes from the log (completeRecordedErasures), never a subject erased but
  // unrecorded, nor one recorded and forgotten.
  const casesNow = new Map(await Promise.all(subjects.map(async (s) => [s, await keys.casesOf(s)] as const)));
  const changed = [...casesNow.values()].flat().filter((c) => !caseIds.has(c));
  if (changed.length > 0) return { changed: [...new Set(changed)].sort() };
  // A hold that lapsed during the checks (a process paused for minutes) may have let a case be linked after the look
  // above: checked again from the start under a new hold.
  if (!(await pin())) return { changed: [] };
  // A case linked and never appended (its append refused, or a crash before it) holds no data: named in neither the
  // answer nor the record, as the answer's cases are those with acts in the log.
  const withActs = new Set(cases.map((c) => c.caseId));
  const records = await Promise.all(
    subjects.map(async (subjectId) => {
      const subjectCases = casesNow.get(subjectId)!.filter((c) => withActs.has(c));
      const named = [...new Set([...subjectCases, ...fromReadModel])].sort();
      const data: PersonalDataErasedData = {
        subjectId,
        cases: named,
        basis: request.basis,
        reference: request.reference,
        by: request.by,
        clearTextActs,
        ...clearActsIn(named),
      };
      return { type: PERSONAL_DATA_ERASED, data, metadata: { recordedAt: now.toISOString() } };
    }),
  );
  const positions: number[] = [];
  if (records.length > 0) {
    const result = await appendSealed(deps.log, ERASURE_STREAM, records);
    recorded();
    const appended = await deps.log.readStream(ERASURE_STREAM, {
      fromRevision: result.nextRevision - records.length + 1,
      maxCount: records.length,
    });
    positions.push(...appended.map((e) => e.position));
    for (const subjectId of subjects)
      await keys.destroy(subjectId, {
        at: now.toISOString(),
        basis: request.basis,
        reference: request.reference,
        by: request.by,
      });
  }
  if (subjects.length === 0) {
    // Only clear-text cases: nothing to destroy; the read models are still scrubbed, and the report says what stays.
    const named = [...caseIds].sort();
    const data: PersonalDataErasedData = {
      subjectId: 'none',
      cases: named,
      basis: request.basis,
      reference: request.reference,
      by: request.by,
      clearTextActs,
      ...clearActsIn(named),
    };
    positions.push(
      (
        await appendSealed(deps.log, ERASURE_STREAM, [
          { type: PERSONAL_DATA_ERASED, data, metadata: { recordedAt: now.toISOString() } },
        ])
      ).position,
    );
  }
  deps.vault.erased([...caseIds]);
  return {
    ok: true,
    done: { subjects, cases, positions, clearTextActs, clearTextCases: fromReadModel.filter((c) => !linked.has(c)) },
  };
}

/** A person due for erasure: the cases an erasure of theirs takes now, and what names them to it. */
export interface RetentionDueEntry {
  /** The subject of the case they were found by; null for a case filed before encryption (its applicant has no key). */
  subjectId: string | null;
  cases: CaseRetention[];
  /** What names the person to the erasure (POST /api/personal-data/erasures, `erase --subject` / `--case`). */
  eraseWith: { subjectId: string } | { caseId: string };
}

/** How many cases the report asks the key store about at once. */
const SUBJECTS_LOOKED_UP_AT_ONCE = 1_000;

/** The report holds no subject and waits for no filing: it says what the erasure would find now. */
const AS_THE_REPORT_LOOKS = { hold: async () => true, filingSettlesMs: 0 };

/**
 * What is due for erasure now (erased only on command), by person. Each closed case of the read model is looked at as
 * the erasure of its applicant looks at it (checkErasure): listed, with every case of that person, only where that
 * erasure would be done now (no case of theirs open or inside its retention period, their subject not erased already,
 * the read model not yet having met an erasure included). Cases with a subject are looked at first, so a person with a
 * key is named by their subject, not by a case of theirs filed in clear; each person is looked at once.
 */
export async function retentionDue(deps: ErasureDeps, closedCases: readonly string[]): Promise<RetentionDueEntry[]> {
  const now = (deps.clock ?? (() => new Date()))();
  const erased = await recordedErasures(deps.log);
  const subjectOf = new Map<string, string>();
  for (let i = 0; i < closedCases.length; i += SUBJECTS_LOOKED_UP_AT_ONCE)
    for (const [c, s] of await deps.vault.keys.subjectsOfCases(closedCases.slice(i, i + SUBJECTS_LOOKED_UP_AT_ONCE)))
      subjectOf.set(c, s);
  const looked = new Set<string>();
  const due: RetentionDueEntry[] = [];
  for (const caseId of [...closedCases].sort((a, b) => Number(subjectOf.has(b)) - Number(subjectOf.has(a)))) {
    if (looked.has(caseId)) continue;
    looked.add(caseId);
    const subjectId = subjectOf.get(caseId) ?? null;
    const eraseWith = subjectId !== null ? { subjectId } : { caseId };
    const checked = await checkErasure(deps, eraseWith, now, erased, AS_THE_REPORT_LOOKS);
    for (const c of checked.ok ? checked.scope.caseIds : checked.looked) looked.add(c);
    if (checked.ok) due.push({ subjectId, cases: checked.scope.cases, eraseWith });
  }
  return due;
}

/**
 * Completes the erasures the log records whose subject's key is still in the key store: an erasure is recorded first
 * and its key destroyed after, so a process killed between the two left the key (and the subject found by IIN, and
 * its history readable in clear) behind a log that says it was erased. Run at start, before anything is read; the
 * destruction takes the recorded basis. Returns the subjects it completed.
 */
export async function completeRecordedErasures(log: EventLog, keys: PersonalKeyStore): Promise<string[]> {
  const subjects = new Map<string, RecordedEvent>();
  for (const event of await log.readStream(ERASURE_STREAM)) {
    const subjectId = subjectErasedBy(event);
    if (subjectId !== null) subjects.set(subjectId, event);
  }
  if (subjects.size === 0) return [];
  const alive = await keys.keysOf([...subjects.keys()]);
  const completed: string[] = [];
  for (const [subjectId, event] of subjects) {
    if (!alive.get(subjectId)) continue;
    const data = event.data as PersonalDataErasedData;
    const at = String((event.metadata as { recordedAt?: unknown }).recordedAt ?? event.recordedAt.toISOString());
    await keys.destroy(subjectId, { at, basis: data.basis, reference: data.reference, by: data.by });
    completed.push(subjectId);
  }
  return completed;
}
