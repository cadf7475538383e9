/**
 * Tamper evidence: each event's hash is SHA-256 over the RFC 8785 canonical JSON of the event (stream,
 * revision, type, data and metadata without the hash itself), and the metadata holds the previous event's
 * hash, so changing, removing or reordering any event breaks every hash after it. Pure.
 */
import canonicalize from 'canonicalize';
import { createHash } from 'node:crypto';

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
