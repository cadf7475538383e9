/**
 * The envelope every case event carries (ARCHITECTURE §5): type and schema version, the case, the
 * actor, business and server time, the regulation version and clause that authorise the act,
 * correlation and causation, and the hash chaining it to the previous event of its stream. Pure.
 */
import type { EventType } from '../../../events/event-types';
import type { ClauseRef } from '../../deadlines/domain/limit';
import type { StepData } from './case-event-data';
import { APPLICANT_ACTOR_ID } from '../../identity/domain/principal';

export interface CaseActor {
  id: string;
  name: string;
  /** The regulation role the act was done in. */
  role: string;
  /** The provider's unit the actor acted for; absent for a citizen, who belongs to none. */
  unit?: string;
  /** Set when a PSC operator or provider staff acted for the applicant. */
  onBehalfOf?: 'applicant';
}

/**
 * How an act the applicant does on their own case records them: as the case's applicant, whose IIN and name the
 * filing holds (encrypted), not as their token names them. A citizen's token subject may carry their IIN and its name
 * is theirs; in the actor both would stay in the append-only log in clear after the person is erased.
 */
export const CASE_APPLICANT_ACTOR = { id: APPLICANT_ACTOR_ID, name: 'Applicant' } as const;

/** Whether an act's actor is the case's applicant acting on their own case (CASE_APPLICANT_ACTOR): no name of theirs. */
export const isCaseApplicantActor = (actor: { id?: unknown; role?: unknown } | undefined): boolean =>
  actor?.id === CASE_APPLICANT_ACTOR.id && actor?.role === 'applicant';

export interface CaseEventMetadata {
  [key: string]: unknown;
  schemaVersion: number;
  caseId: string;
  stepId: string;
  actor: CaseActor;
  /** Business time: when the act happened (e.g. the date on the registration stamp). */
  occurredAt: string;
  /** When the act began, for limits on a step's own duration; defaults to occurredAt. */
  startedAt: string;
  /** Server time when the command was accepted. */
  recordedAt: string;
  /** Recorded later than the configured period after it occurred. */
  backDated: boolean;
  regulation: { versionId: string; clause: ClauseRef };
  correlationId: string;
  causationId: string;
  idempotency?: { key: string; fingerprint: string };
  /**
   * Set when the case's previous act lies after this act by the recording clock (it was recorded while the clock
   * ran ahead, or with a client clock ahead): this act was accepted anyway, and says so.
   */
  previousActAhead?: { occurredAt: string; recordedAt: string };
  /** Hash of the previous event of this stream; null for its first event. */
  previousHash: string | null;
  /** SHA-256 over the canonical serialisation of this event (see hash-chain.ts). */
  hash: string;
}

/** A case event of one type as the domain reads it: the log's record with typed metadata, the data its schema gives. */
export interface CaseEventOf<T extends EventType> {
  type: T;
  data: StepData<T>;
  metadata: CaseEventMetadata;
  revision: number;
  position?: number;
}

/** Any case event: narrowing on `type` narrows `data` to that type's schema (STEP_DATA_SCHEMAS). */
export type CaseEvent = { [T in EventType]: CaseEventOf<T> }[EventType];

/** What `decide` produces: an act to record, before it is sealed into the stream. */
export interface DecidedEvent {
  type: EventType;
  data: Record<string, unknown>;
  stepId: string;
  actor: CaseActor;
  occurredAt: Date;
  startedAt: Date;
  clause: ClauseRef;
  /** The previous act's business time, when it lies ahead of this act's recording clock (see CaseEventMetadata). */
  previousActAhead?: string;
}

export const caseStreamId = (caseId: string): string => `case-${caseId}`;
export const CASE_STREAM_PREFIX = 'case-';

/**
 * The clause an act cites in its metadata: the reference (act, appendix, paragraph, sub-paragraph, track)
 * without the quoted words, which the versioned regulation file keeps once instead of every event.
 */
export function clauseReference(clause: ClauseRef): ClauseRef {
  const { quote: _quote, ...reference } = clause;
  return reference;
}
