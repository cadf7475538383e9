/**
 * The command side of cases: load the stream, decide, seal the events into the stream's hash chain, and
 * append with the expected revision. An accepted command is durable before it is answered (the log
 * acknowledges after its commit is on disk). Framework-free: the HTTP handlers, the demo and the
 * benchmarks all come through here.
 */
import { createHash } from 'node:crypto';
import { newId } from '../../../shared/ids/new-id';
import { InvalidEventError, WrongExpectedRevisionError } from '../../event-log/event-log.errors';
import type { EventLog, RecordedEvent } from '../../event-log/event-log.port';
import type { WorkingCalendar } from '../../calendar/domain/working-calendar';
import { isCitizen, type Principal } from '../../identity/domain/principal';
import type { Catalog } from '../../regulations/domain/catalog';
import { CASE_APPLICANT_ACTOR, caseStreamId, type DecidedEvent } from '../domain/case-event';
import {
  decide,
  type CancelApplication,
  type CaseRejection,
  type SubmitApplication,
  type TakeStep,
} from '../domain/decide';
import { isCaseApplicant } from '../domain/case-rules';
import { sealEvents, sealRecord } from '../domain/hash-chain';
import { CaseRepository, idempotencyIndexKey, type LoadedCase } from './case-repository';
import { ERASED } from '../../personal-data/domain/personal-fields';
import { SubjectErasedError, subjectErasedDetail } from '../../personal-data/keys/key-store.port';
import type { CallerRateLimiter } from '../../../shared/http/caller-rate-limiter';

export interface CommandMeta {
  correlationId?: string;
  /** The message that caused this command (e.g. an event id); defaults to the command's own id. */
  causationId?: string;
  idempotency?: Idempotency;
}

export interface Idempotency {
  key: string;
  fingerprint: string;
  /**
   * The same request's fingerprint as computed before fingerprints were keyed (a plain SHA-256): compared, never
   * stored, so a retry of a request first made before the change is still recognised as the same.
   */
  formerly?: string;
}

/** Whether a stored fingerprint is this request's. */
const sameRequest = (stored: string | undefined, idempotency: Idempotency): boolean =>
  stored !== undefined && (stored === idempotency.fingerprint || stored === idempotency.formerly);

export interface CommandAccepted {
  caseId: string;
  regulationVersionId: string;
  receiptNumber: string;
  stepId: string;
  eventType: string;
  revision: number;
  position: number;
  /** True when an Idempotency-Key repeat was answered from the first command, writing nothing. */
  replayed: boolean;
}

export type CommandRefusal =
  | CaseRejection
  | { kind: 'unknown-case'; caseId: string }
  | { kind: 'stale-revision'; caseId: string; expected: number; actual: number }
  | { kind: 'idempotency-key-reused'; key: string; detail: string }
  /** The case's applicant was erased: their key is destroyed, and no act can be recorded under it. */
  | { kind: 'personal-data-erased'; caseId: string; detail: string };

export type CommandOutcome = { ok: true; accepted: CommandAccepted } | { ok: false; refusal: CommandRefusal };

export interface CaseCommandOptions {
  /** An act recorded more than this long after it occurred is flagged as back-dated. */
  backDatedAfterMs: number;
  clock?: () => Date;
  /** Retries of a command without an expected revision that lost a race to another writer. */
  maxConflictRetries?: number;
  /** How far ahead of the recording clock an act's occurredAt may lie. */
  occurredAtToleranceMs?: number;
  /** Filings an applicant may make per (local) day; counted per caller when accepted. */
  filings?: CallerRateLimiter;
  /**
   * Encrypts each act's personal fields under its applicant's subject key before the act is sealed, so the hash
   * chain covers the ciphertext, and keys a citizen's part in the ids an Idempotency-Key gives; without it acts are
   * stored in clear and ids derived from the token's subject (tests of other capabilities).
   */
  personalData?: PersonalDataProtection;
  /** Told of each filing's version; the answer waits for it, so a version's first use is pinned before it is acknowledged. */
  onVersionUsed?: (versionId: string) => Promise<void> | void;
  /**
   * Reserve each Idempotency-Key in a stream of its own before its command is appended. Needed where the log refuses
   * a repeated event id only within one stream (EventStoreDB): a key reused on another case would otherwise be taken
   * as a new request. The embedded log refuses a repeated id in any stream, so it does without the extra append.
   * @defaultValue true unless the log is the embedded one
   */
  reserveIdempotencyKeys?: boolean;
}

/** The part of the personal-data vault the command side uses. */
export interface PersonalDataProtection {
  /** `stored` settles once what the encryption recorded beside the acts is committed: awaited after the append. */
  protect<E extends { type: string; data: Record<string, unknown> }>(
    caseId: string,
    applicantIin: string,
    events: readonly E[],
    now: Date,
    /** The case's first acts (a filing, or its retry): a subject an erasure holds is refused to it. */
    filing?: boolean,
  ): Promise<{ events: E[]; stored: Promise<void>; settled?: () => void }>;
  open(recorded: readonly RecordedEvent[], access: { kind: 'system'; purpose: 'commands' }): Promise<RecordedEvent[]>;
  /**
   * The caller as the ids an Idempotency-Key gives (the case's, the acts', the key's reservation stream) are derived
   * from: a citizen's token subject keyed (citizen-ids.ts), since it may carry their IIN; staff's as it is.
   */
  idBasis(principal: Principal): string;
  /**
   * Told of the cases whose applicant this process has just erased: the command side drops its folds of them, which
   * hold the applicant's IIN and name in clear, so nothing after the erasure is decided on (or answers from) them.
   */
  onErased?(listener: (cases: readonly string[]) => void): void;
  /**
   * Whether the case's applicant is erased, asked of the key store: another process (the CLI, another API instance on
   * EventStoreDB) may have erased them since this process folded the case.
   */
  applicantErased?(caseId: string): Promise<boolean>;
}

export type SubmitInput = Omit<SubmitApplication, 'kind' | 'caseId' | 'receiptNumber'>;

/** Stable ids from the caller and their Idempotency-Key: a retry lands on the same case and event ids. */
export function idempotentId(purpose: 'case' | 'event', actorId: string, key: string): string {
  const hex = createHash('sha256').update(`${purpose}\n${actorId}\n${key}`).digest('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-8${hex.slice(13, 16)}-${((parseInt(hex[16]!, 16) & 0x3) | 0x8).toString(16)}${hex.slice(17, 20)}-${hex.slice(20, 32)}`;
}

/** The receipt number given to the applicant: the local filing date and the case id's last eight digits (random; a new case id begins with the time). */
export function receiptNumberOf(caseId: string, localDate: string): string {
  return `RG-${localDate.replace(/-/g, '')}-${caseId.slice(-8).toUpperCase()}`;
}

export class CaseCommandService {
  private readonly clock: () => Date;
  private readonly maxRetries: number;

  constructor(
    private readonly log: EventLog,
    private readonly catalog: Catalog,
    private readonly calendar: WorkingCalendar,
    private readonly options: CaseCommandOptions,
    readonly repository = new CaseRepository(log, catalog, undefined, options.personalData),
  ) {
    this.clock = options.clock ?? (() => new Date());
    this.maxRetries = options.maxConflictRetries ?? 5;
    options.personalData?.onErased?.((cases) => cases.forEach((caseId) => this.repository.forget(caseId)));
  }

  async submit(principal: Principal, input: SubmitInput, meta: CommandMeta = {}): Promise<CommandOutcome> {
    // The quota is the applicant's: staff file for many people. A replayed Idempotency-Key repeat is not a new filing.
    const quota = isCitizen(principal) ? this.options.filings : undefined;
    quota?.check(principal.id, 'filings by one applicant');
    const outcome = await this.submitCase(principal, input, meta);
    if (outcome.ok && !outcome.accepted.replayed) {
      quota?.record(principal.id);
      await this.options.onVersionUsed?.(outcome.accepted.regulationVersionId);
    }
    return outcome;
  }

  private async submitCase(principal: Principal, input: SubmitInput, meta: CommandMeta): Promise<CommandOutcome> {
    let ids = this.idBasisOf(principal, meta);
    let caseId = meta.idempotency ? idempotentId('case', ids.basis, meta.idempotency.key) : newId();
    if (meta.idempotency && ids.former !== undefined) {
      // A retry of a filing a citizen made before their part in ids was keyed: its case has the id their token's
      // subject gave it, and the retry is answered as that case's filing.
      const formerCaseId = idempotentId('case', ids.former, meta.idempotency.key);
      if (await this.repository.load(formerCaseId)) [ids, caseId] = [{ basis: ids.former }, formerCaseId];
    }
    const receiptNumber = receiptNumberOf(
      caseId,
      this.calendar.timeZone.toLocal(input.occurredAt ?? this.clock()).date,
    );
    return this.execute('create', principal, ids, caseId, undefined, meta, (loaded, now) =>
      decide(loaded?.state ?? null, { kind: 'submit', caseId, receiptNumber, ...input }, this.context(now, principal)),
    );
  }

  /**
   * What the caller's ids are derived from, and what they were derived from before it was keyed, when that differs.
   * Only a command with an Idempotency-Key derives any.
   */
  private idBasisOf(principal: Principal, meta: CommandMeta): IdBasis {
    if (!meta.idempotency) return { basis: principal.id };
    const basis = this.options.personalData?.idBasis(principal) ?? principal.id;
    return basis === principal.id ? { basis } : { basis, former: principal.id };
  }

  async takeStep(
    principal: Principal,
    caseId: string,
    command: Omit<TakeStep, 'kind'>,
    expectedRevision?: number,
    meta: CommandMeta = {},
  ): Promise<CommandOutcome> {
    return this.onCase(principal, caseId, { kind: 'take-step', ...command }, expectedRevision, meta);
  }

  async cancel(
    principal: Principal,
    caseId: string,
    command: Omit<CancelApplication, 'kind'>,
    expectedRevision?: number,
    meta: CommandMeta = {},
  ): Promise<CommandOutcome> {
    return this.onCase(principal, caseId, { kind: 'cancel', ...command }, expectedRevision, meta);
  }

  /** A command on an existing case. */
  private onCase(
    principal: Principal,
    caseId: string,
    command: TakeStep | CancelApplication,
    expectedRevision: number | undefined,
    meta: CommandMeta,
  ): Promise<CommandOutcome> {
    return this.execute(
      'existing',
      principal,
      this.idBasisOf(principal, meta),
      caseId,
      expectedRevision,
      meta,
      (loaded, now) => decide(loaded!.state, command, this.context(now, principal)),
    );
  }

  private async execute(
    mode: 'create' | 'existing',
    principal: Principal,
    ids: IdBasis,
    caseId: string,
    expectedRevision: number | undefined,
    meta: CommandMeta,
    decideOn: (loaded: LoadedCase | null, now: Date) => ReturnType<typeof decide>,
  ): Promise<CommandOutcome> {
    const reserving =
      meta.idempotency !== undefined && (this.options.reserveIdempotencyKeys ?? this.log.kind !== 'sqlite');
    if (meta.idempotency && reserving) {
      const reservation = await this.reserveKey(ids, meta.idempotency, caseId);
      if (!reservation.ok) return reused(meta.idempotency.key, reservation.caseId);
    }
    for (let attempt = 0; ; attempt++) {
      // A filing without an Idempotency-Key has a fresh random id: there is no stream to read (the append's
      // 'no_stream' still guards it, and a retry after a conflict reads). A case folded here before is decided
      // on as cached, unread: if another process wrote to it meanwhile, the append's expected revision fails
      // and the command is decided again on the stream as stored. A command with an Idempotency-Key always
      // reads: whether it repeats one another process recorded only the stream can tell.
      const fresh = mode === 'create' && !meta.idempotency && attempt === 0;
      const cached = fresh || attempt > 0 || meta.idempotency ? null : this.repository.cached(caseId);
      const loaded = fresh ? null : (cached ?? (await this.repository.load(caseId)));
      const previous =
        meta.idempotency && loaded
          ? previousUnderKey(loaded, principal, meta.idempotency.key, mode === 'create')
          : undefined;
      if (previous && meta.idempotency) {
        // Once the case's applicant is erased, a repeat is answered as another request under the key is, whatever its
        // body: answering it as the same request told the caller that the IIN and name they sent were the erased ones.
        if (
          loaded!.state.applicant.iin === ERASED ||
          (await this.options.personalData?.applicantErased?.(caseId)) === true
        )
          return reused(meta.idempotency.key, reserving ? caseId : undefined);
        if (!sameRequest(previous.fingerprint, meta.idempotency)) return reused(meta.idempotency.key);
        return {
          ok: true,
          accepted: {
            ...this.answer(loaded!, previous.stepId, previous.eventType, previous.revision, previous.position),
            replayed: true,
          },
        };
      }
      if (!loaded && mode === 'existing') return { ok: false, refusal: { kind: 'unknown-case', caseId } };
      if (loaded && expectedRevision !== undefined && loaded.state.revision !== expectedRevision) {
        // The cache may be the one behind: only the stream as stored can say the caller's revision is stale.
        if (cached) continue;
        // Who may act comes before the revision: a caller who may not act on this case learns nothing of it.
        const authority = decideOn(loaded, this.clock());
        if (!authority.ok && authority.rejection.kind === 'forbidden')
          return { ok: false, refusal: authority.rejection };
        return {
          ok: false,
          refusal: { kind: 'stale-revision', caseId, expected: expectedRevision, actual: loaded.state.revision },
        };
      }
      const now = this.clock();
      const decision = decideOn(loaded, now);
      if (!decision.ok) {
        // A refusal must rest on the stream as stored, not on a cached fold that may be behind it.
        if (cached) continue;
        return { ok: false, refusal: decision.rejection };
      }
      // The case's applicant was erased (their fields read "erased"): no act is recorded for it, whether or not it
      // carries personal data of its own. The caller may act on the case (decided above), so may learn this.
      if (loaded && loaded.state.applicant.iin === ERASED) return personalDataErased(caseId);
      const streamId = caseStreamId(caseId);
      const applicantIin = loaded
        ? loaded.state.applicant.iin
        : String((decision.events[0]!.data.applicant as { iin: string }).iin);
      let protectedActs: { events: DecidedEvent[]; stored: Promise<void>; settled?: () => void } | null = null;
      try {
        protectedActs = this.options.personalData
          ? await this.options.personalData.protect(caseId, applicantIin, decision.events, now, !loaded)
          : null;
      } catch (error) {
        if (error instanceof SubjectErasedError) return personalDataErased(caseId);
        throw error;
      }
      const stored = protectedActs?.events ?? decision.events;
      // Settled once the append is done or refused, however: an erasure of the applicant waits for it (vault.protect).
      try {
        const sealed = this.seal(caseId, loaded, decision.version.versionId, stored, now, ids, meta);
        const result = await this.log.append(streamId, sealed, loaded ? loaded.state.revision : 'no_stream');
        // The key store commits the subject's claim and the case's link while the log commits the acts.
        await protectedActs?.stored;
        // The cache folds the acts as decided (in clear): the fold never reads the ciphertext it has just written.
        const recorded: RecordedEvent[] = sealed.map((e, i) => ({
          ...e,
          data: decision.events[i]!.data,
          streamId,
          revision: result.nextRevision - sealed.length + 1 + i,
          position: result.position,
          recordedAt: now,
        }));
        // A keyed append may have lost a race with the same request from another process or request: the log then
        // answers with the winner's events (same ids, its own recording time and hashes), not ours. Ours must not be
        // folded, or the next command would seal on a previous hash the log does not have: the case is read again.
        if (meta.idempotency) this.repository.forget(caseId);
        else this.repository.applyAppended(caseId, recorded);
        const last = decision.events[decision.events.length - 1]!;
        const state = loaded?.state;
        return {
          ok: true,
          accepted: {
            caseId,
            regulationVersionId: decision.version.versionId,
            receiptNumber: state?.receiptNumber ?? String(last.data.receiptNumber),
            stepId: last.stepId,
            eventType: last.type,
            revision: result.nextRevision,
            position: result.position,
            replayed: false,
          },
        };
      } catch (error) {
        if (error instanceof WrongExpectedRevisionError) {
          this.repository.forget(caseId);
          const actual = typeof error.actual === 'number' ? error.actual : -1;
          // Decided on a cached fold that another process had overtaken: decide again on the stream as stored.
          if (cached) continue;
          if (expectedRevision !== undefined)
            return { ok: false, refusal: { kind: 'stale-revision', caseId, expected: expectedRevision, actual } };
          if (attempt < this.maxRetries) continue;
          return {
            ok: false,
            refusal: { kind: 'stale-revision', caseId, expected: loaded ? loaded.state.revision : -1, actual },
          };
        }
        if (error instanceof InvalidEventError && meta.idempotency && /already recorded/.test(error.problem))
          return reused(meta.idempotency.key);
        throw error;
      } finally {
        protectedActs?.settled?.();
      }
    }
  }

  /**
   * The first request under a caller's key claims the key's own stream (expected: no stream); a later one is the same
   * request only when it carries the same fingerprint for the same case. A claim left by a request that was then
   * refused still binds the key: a retry of that request is let through, another request is not. A key a citizen
   * claimed before their part in ids was keyed is held by that claim, under their token's subject.
   */
  private async reserveKey(
    ids: IdBasis,
    idempotency: Idempotency,
    caseId: string,
  ): Promise<{ ok: true } | { ok: false; caseId: string }> {
    if (ids.former !== undefined) {
      const [former] = await this.log.readStream(idempotencyStreamId(ids.former, idempotency.key), { maxCount: 1 });
      if (former) return heldFor(former, idempotency, caseId);
    }
    const streamId = idempotencyStreamId(ids.basis, idempotency.key);
    const claim = { fingerprint: idempotency.fingerprint, caseId };
    const sealed = sealRecord(
      {
        streamId,
        revision: 0,
        type: IDEMPOTENCY_KEY_RESERVED,
        data: claim,
        metadata: { recordedAt: this.clock().toISOString() },
      },
      null,
    );
    try {
      // The claim's id is the request's own: a retry of it is recognised by the log as the same append, while another
      // request under the key meets the stream that exists.
      await this.log.append(
        streamId,
        [
          {
            id: idempotentId('event', ids.basis, `${idempotency.key}\nreservation\n${claim.fingerprint}\n${caseId}`),
            type: IDEMPOTENCY_KEY_RESERVED,
            data: sealed.data,
            metadata: sealed.metadata,
          },
        ],
        'no_stream',
      );
      return { ok: true };
    } catch (error) {
      if (
        !(error instanceof WrongExpectedRevisionError) &&
        !(error instanceof InvalidEventError && /already recorded/.test(error.problem))
      )
        throw error;
      const [first] = await this.log.readStream(streamId, { maxCount: 1 });
      return heldFor(first, idempotency, caseId);
    }
  }

  private context(now: Date, principal: Principal) {
    return {
      catalog: this.catalog,
      zone: this.calendar.timeZone,
      covers: (date: string) => this.calendar.covers(date),
      calendar: this.calendar,
      now,
      toleranceMs: this.options.occurredAtToleranceMs ?? 0,
      principal,
    };
  }

  private answer(
    loaded: LoadedCase,
    stepId: string,
    eventType: string,
    revision: number,
    position: number,
  ): Omit<CommandAccepted, 'replayed'> {
    return {
      caseId: loaded.state.caseId,
      regulationVersionId: loaded.state.versionId,
      receiptNumber: loaded.state.receiptNumber,
      stepId,
      eventType,
      revision,
      position,
    };
  }

  private seal(
    caseId: string,
    loaded: LoadedCase | null,
    versionId: string,
    events: DecidedEvent[],
    now: Date,
    ids: IdBasis,
    meta: CommandMeta,
  ) {
    const commandId = newId();
    const sealed = sealEvents(events, {
      caseId,
      versionId,
      previous: loaded ? { revision: loaded.state.revision, hash: loaded.state.lastHash } : null,
      now,
      backDatedAfterMs: this.options.backDatedAfterMs,
      correlationId: meta.correlationId ?? commandId,
      causationId: meta.causationId ?? commandId,
      ...(meta.idempotency
        ? { idempotency: { key: meta.idempotency.key, fingerprint: meta.idempotency.fingerprint } }
        : {}),
    });
    return sealed.map((event, i) => ({
      id: meta.idempotency ? idempotentId('event', ids.basis, `${meta.idempotency.key}\n${i}`) : newId(),
      type: event.type,
      data: event.data,
      metadata: event.metadata,
    }));
  }
}

/** Whether the claim that holds a key lets this request through: the same request (fingerprint) for the same case. */
function heldFor(
  claim: RecordedEvent | undefined,
  idempotency: Idempotency,
  caseId: string,
): { ok: true } | { ok: false; caseId: string } {
  const held = claim?.data as { fingerprint?: string; caseId?: string } | undefined;
  return sameRequest(held?.fingerprint, idempotency) && held?.caseId === caseId
    ? { ok: true }
    : { ok: false, caseId: String(held?.caseId ?? '') };
}

/**
 * What the ids an Idempotency-Key gives are derived from: the caller (a citizen's token subject keyed), and what they
 * were derived from before that was keyed, when it differs (a retry of a request made then is still recognised).
 */
interface IdBasis {
  basis: string;
  former?: string;
}

/**
 * The act this caller recorded on the case under the key: as their token names them (staff; a citizen's act recorded
 * before the case's applicant was recorded as such), or as the case's applicant, when they are it.
 */
function previousUnderKey(loaded: LoadedCase, principal: Principal, key: string, filing: boolean) {
  const asNamed =
    principal.id === CASE_APPLICANT_ACTOR.id
      ? undefined
      : loaded.idempotency.get(idempotencyIndexKey(principal.id, key));
  if (asNamed) return asNamed;
  // Once the case's applicant is erased no token's IIN is theirs. A filing's case id is derived from the citizen's token
  // and their key, so a citizen's filing that led here repeats their own, and is answered as any repeat after erasure
  // is; a step or a cancellation names the case in its path, so another citizen's would only probe its keys.
  const erased = filing && loaded.state.applicant.iin === ERASED && isCitizen(principal);
  return isCaseApplicant(principal, loaded.state) || erased
    ? loaded.idempotency.get(idempotencyIndexKey(CASE_APPLICANT_ACTOR.id, key))
    : undefined;
}

/** The stream that holds a caller's claim on an Idempotency-Key: named by a hash, so it carries no key or caller in clear. */
export function idempotencyStreamId(actorId: string, key: string): string {
  return `idempotency-${createHash('sha256').update(`${actorId}\n${key}`).digest('hex').slice(0, 32)}`;
}

export const IDEMPOTENCY_KEY_RESERVED = 'IdempotencyKeyReserved';

/** The refusal of an act on a case whose applicant was erased. */
function personalDataErased(caseId: string): CommandOutcome {
  return { ok: false, refusal: { kind: 'personal-data-erased', caseId, detail: subjectErasedDetail(caseId) } };
}

function reused(key: string, otherCaseId?: string): CommandOutcome {
  const where = otherCaseId ? ` (on case ${otherCaseId})` : '';
  return {
    ok: false,
    refusal: {
      kind: 'idempotency-key-reused',
      key,
      detail: `Idempotency-Key "${key}" was already used by this caller for a different request${where}; use a new key for a new request`,
    },
  };
}
