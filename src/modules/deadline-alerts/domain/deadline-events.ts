/**
 * `DeadlineApproaching` and `DeadlineBreached`: what the system knew about a case's limits and when, recorded in a
 * stream of their own per case (`deadlines-<caseId>`), beside the regulatory acts, which stay what people did. Sealed
 * and chained as case events are (SHA-256 over the RFC 8785 form, each event holding the previous one's hash), so
 * `verify` checks them with the rest of the log. Pure.
 */
import { parse, v5 } from 'uuid';
import type { ClauseRef } from '../../deadlines/domain/limit';
import { sealRecord } from '../../cases/domain/hash-chain';
import type { SystemEventType } from '../../../events/system-event-types';
import type { CaseInstant } from './case-instants';

export const DEADLINES_STREAM_PREFIX = 'deadlines-';
export const deadlinesStreamId = (caseId: string): string => `${DEADLINES_STREAM_PREFIX}${caseId}`;
export const DEADLINE_EVENT_TYPES: readonly SystemEventType[] = ['DeadlineApproaching', 'DeadlineBreached'];

/** An instant recorded more than this long after it passed says so (`late: true`): the scheduler was down or behind. */
export const LATE_AFTER_MS = 60_000;

export const SCHEDULER_ACTOR = { id: 'system:deadline-scheduler', name: 'Deadline scheduler', role: 'system' } as const;

/** The instant as computed (its limit, clause, deadline, threshold, key), and what recording it found. */
export interface DeadlineEventData extends Pick<
  CaseInstant,
  'stepId' | 'limitId' | 'clause' | 'kind' | 'startedAt' | 'deadline' | 'threshold' | 'key'
> {
  caseId: string;
  /** The instant the threshold was reached. */
  dueAt: string;
  /** When the system recorded it. */
  recordedAt: string;
  late: boolean;
  /** How long after `dueAt` it was recorded, in ms. */
  lateByMs: number;
}

export interface DeadlineEventMetadata {
  schemaVersion: 1;
  caseId: string;
  unit: string;
  serviceId: string;
  actor: typeof SCHEDULER_ACTOR;
  recordedAt: string;
  regulation: { versionId: string; clause: ClauseRef };
  previousHash: string | null;
  hash: string;
}

export interface SealedDeadlineEvent {
  id: string;
  type: SystemEventType;
  data: DeadlineEventData;
  metadata: DeadlineEventMetadata;
}

/** A fixed namespace: the same instant of the same case always gets the same event id, whoever records it. */
const NAMESPACE = '6f1f3c2e-8a77-4d47-9a55-2f0d7b1c9e41';
/** Parsed once: given as text, v5 parses it again for every id. */
const NAMESPACE_BYTES = parse(NAMESPACE);

export function deadlineEventId(caseId: string, key: string): string {
  return v5(`${caseId}|${key}`, NAMESPACE_BYTES);
}

export interface CaseFacts {
  caseId: string;
  unit: string;
  serviceId: string;
  versionId: string;
}

/** The events recording these due instants, chained after the stream's last event (null for a new stream). */
export function sealDeadlineEvents(
  facts: CaseFacts,
  due: readonly CaseInstant[],
  previous: { revision: number; hash: string | null } | null,
  now: Date,
): SealedDeadlineEvent[] {
  const streamId = deadlinesStreamId(facts.caseId);
  let revision = previous?.revision ?? -1;
  let previousHash = previous?.hash ?? null;
  return due.map((instant) => {
    revision++;
    const type: SystemEventType = instant.threshold === 100 ? 'DeadlineBreached' : 'DeadlineApproaching';
    const lateByMs = Math.max(0, now.getTime() - Date.parse(instant.at));
    const data: DeadlineEventData = {
      caseId: facts.caseId,
      stepId: instant.stepId,
      limitId: instant.limitId,
      clause: instant.clause,
      kind: instant.kind,
      startedAt: instant.startedAt,
      deadline: instant.deadline,
      threshold: instant.threshold,
      dueAt: instant.at,
      recordedAt: now.toISOString(),
      late: lateByMs > LATE_AFTER_MS,
      lateByMs,
      key: instant.key,
    };
    const unsealed = {
      schemaVersion: 1 as const,
      caseId: facts.caseId,
      unit: facts.unit,
      serviceId: facts.serviceId,
      actor: SCHEDULER_ACTOR,
      recordedAt: now.toISOString(),
      regulation: { versionId: facts.versionId, clause: instant.clause },
    };
    const sealed = sealRecord({ streamId, revision, type, data, metadata: unsealed }, previousHash);
    previousHash = sealed.hash;
    return {
      id: deadlineEventId(facts.caseId, instant.key),
      type,
      data: sealed.data as DeadlineEventData,
      metadata: sealed.metadata as unknown as DeadlineEventMetadata,
    };
  });
}
