/**
 * Tamper evidence: each event's hash is SHA-256 over the RFC 8785 canonical JSON of the event (stream,
 * revision, type, data and metadata without the hash itself), and the metadata holds the previous event's
 * hash, so changing, removing or reordering any event breaks every hash after it. Pure.
 */
import canonicalize from 'canonicalize';
import { createHash } from 'node:crypto';
import { caseStreamId, type CaseEvent, type CaseEventMetadata, type DecidedEvent } from './case-event';
import { CURRENT_SCHEMA_VERSION } from './case-event-data';

export interface HashableEvent {
  streamId: string;
  revision: number;
  type: string;
  data: unknown;
  metadata: Record<string, unknown>;
}

/** The exact bytes that are hashed: an auditor can recompute them with any RFC 8785 implementation. */
export function canonicalForm(event: HashableEvent): string {
  const { hash: _hash, ...metadata } = event.metadata;
  const text = canonicalize({ streamId: event.streamId, revision: event.revision, type: event.type, data: event.data, metadata });
  if (text === undefined) throw new TypeError('the event cannot be serialised canonically');
  return text;
}

export function eventHash(event: HashableEvent): string {
  return createHash('sha256').update(canonicalForm(event), 'utf8').digest('hex');
}

export interface ChainVerification {
  valid: boolean;
  events: number;
  /** The first revision whose hash or link does not hold. */
  firstBrokenRevision?: number;
  problem?: string;
}

/** Why an event does not continue its chain (expected revision and previous hash), or null when it does. */
export function linkProblem(event: HashableEvent, expectedRevision: number, previousHash: string | null): string | null {
  if (event.revision !== expectedRevision) return `expected revision ${expectedRevision}, found ${event.revision}: an event is missing or out of order`;
  if ((event.metadata.previousHash ?? null) !== previousHash) return `previousHash is ${String(event.metadata.previousHash)}, the previous event's hash is ${String(previousHash)}`;
  const recomputed = eventHash(event);
  if (event.metadata.hash !== recomputed) return `stored hash ${String(event.metadata.hash)} does not match the content (recomputed ${recomputed})`;
  return null;
}

/** Checks a stream's events in order: revisions gapless from 0, each link to the previous hash, each hash recomputed. */
export function verifyChain(events: readonly HashableEvent[]): ChainVerification {
  let previous: string | null = null;
  for (let i = 0; i < events.length; i++) {
    const event = events[i]!;
    const problem = linkProblem(event, i, previous);
    // The revision that should stand here: for a dropped, duplicated or moved event, the one missing, not the one found.
    if (problem) return { valid: false, events: events.length, firstBrokenRevision: i, problem };
    previous = event.metadata.hash as string;
  }
  return { valid: true, events: events.length };
}

export interface SealOptions {
  caseId: string;
  versionId: string;
  /** The stream's last revision and hash; null for a new case. */
  previous: { revision: number; hash: string | null } | null;
  /** Server time of the command. */
  now: Date;
  backDatedAfterMs: number;
  correlationId: string;
  causationId: string;
  idempotency?: { key: string; fingerprint: string };
}

/** Decided acts become events of the stream: the envelope filled in one place, each hash chained to the one before. */
export function sealEvents(decided: readonly DecidedEvent[], options: SealOptions): CaseEvent[] {
  const streamId = caseStreamId(options.caseId);
  let previousHash = options.previous?.hash ?? null;
  let revision = options.previous?.revision ?? -1;
  return decided.map((event) => {
    revision++;
    const metadata = {
      schemaVersion: CURRENT_SCHEMA_VERSION[event.type],
      caseId: options.caseId,
      stepId: event.stepId,
      actor: event.actor,
      occurredAt: event.occurredAt.toISOString(),
      startedAt: event.startedAt.toISOString(),
      recordedAt: options.now.toISOString(),
      backDated: options.now.getTime() - event.occurredAt.getTime() > options.backDatedAfterMs,
      regulation: { versionId: options.versionId, clause: event.clause },
      correlationId: options.correlationId,
      causationId: options.causationId,
      ...(options.idempotency ? { idempotency: options.idempotency } : {}),
      previousHash,
    } satisfies Omit<CaseEventMetadata, 'hash'>;
    const hash = eventHash({ streamId, revision, type: event.type, data: event.data, metadata });
    previousHash = hash;
    const sealed: CaseEventMetadata = { ...metadata, hash };
    return { type: event.type, data: event.data, metadata: sealed, revision };
  });
}
