/**
 * Tamper evidence: each event's hash is SHA-256 over the RFC 8785 canonical JSON of the event (stream,
 * revision, type, data and metadata without the hash itself), and the metadata holds the previous event's
 * hash, so changing, removing or reordering any event breaks every hash after it.
 *
 * Events are sealed with their data and metadata in canonical key order, so for a stored event plain
 * JSON.stringify gives the canonical bytes: verification hashes that first and canonicalises in full only
 * when it does not match (a store that reordered keys), which keeps checking the whole log cheap. Pure.
 */
import canonicalize from 'canonicalize';
import { hash as oneShotHash } from 'node:crypto';
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
  const text = canonicalize({
    streamId: event.streamId,
    revision: event.revision,
    type: event.type,
    data: event.data,
    metadata,
  });
  if (text === undefined) throw new TypeError('the event cannot be serialised canonically');
  return text;
}

const sha256 = (text: string): string => oneShotHash('sha256', text, 'hex');

export function eventHash(event: HashableEvent): string {
  return sha256(canonicalForm(event));
}

/** The hash an event's stored content has: the fast path for events kept in canonical key order, else the full one. */
export function storedContentHash(event: HashableEvent): string {
  const { hash: stored, ...metadata } = event.metadata;
  // Nested objects as stored: in canonical order when they were sealed so.
  const fast = sha256(orderedText({ ...event, metadata }));
  return fast === stored ? fast : eventHash(event);
}

/**
 * A copy with every object's keys in canonical order (UTF-16 code units, as RFC 8785 sorts them). For plain JSON
 * values JSON.stringify of the copy is then the RFC 8785 form (JCS serialises primitives as ECMAScript's
 * JSON.stringify does), except where an object has array-index keys ("0", "17"), which JavaScript always
 * enumerates first; the tests hold both facts.
 */
export function inCanonicalOrder<T>(value: T): T {
  return ordered(value, { indexKeys: false });
}

/** An array index as JavaScript enumerates it first: a canonical decimal integer below 2^32 - 1. */
const ARRAY_INDEX = /^(?:0|[1-9]\d{0,9})$/;

function ordered<T>(value: T, found: { indexKeys: boolean }): T {
  if (value === null || typeof value !== 'object') return value;
  if (Array.isArray(value)) return value.map((item) => ordered(item, found)) as T;
  const sorted: Record<string, unknown> = {};
  for (const key of Object.keys(value).sort()) {
    const item = (value as Record<string, unknown>)[key];
    if (item === undefined) continue;
    if (!found.indexKeys && ARRAY_INDEX.test(key) && Number(key) < 4_294_967_295) found.indexKeys = true;
    setMember(sorted, key, ordered(item, found));
  }
  return sorted as T;
}

export interface ChainVerification {
  valid: boolean;
  events: number;
  /** The first revision whose hash or link does not hold. */
  firstBrokenRevision?: number;
  problem?: string;
}

/** Why an event does not continue its chain (expected revision and previous hash), or null when it does. */
export function linkProblem(
  event: HashableEvent,
  expectedRevision: number,
  previousHash: string | null,
): string | null {
  const place = placeProblem(event, expectedRevision, previousHash);
  if (place) return place;
  const recomputed = storedContentHash(event);
  if (event.metadata.hash !== recomputed)
    return `stored hash ${String(event.metadata.hash)} does not match the content (recomputed ${recomputed})`;
  return null;
}

/**
 * Why an event does not stand at its place in the chain (its revision, and its previousHash the previous event's
 * hash), its own hash not recomputed: for an event whose content is not all at hand (an evidence pack's act shown
 * with its personal data erased).
 */
export function placeProblem(
  event: HashableEvent,
  expectedRevision: number,
  previousHash: string | null,
): string | null {
  if (event.revision !== expectedRevision)
    return `expected revision ${expectedRevision}, found ${event.revision}: an event is missing or out of order`;
  if ((event.metadata.previousHash ?? null) !== previousHash)
    return `previousHash is ${String(event.metadata.previousHash)}, the previous event's hash is ${String(previousHash)}`;
  return null;
}

/** A stored event as text: what the log keeps, byte for byte. */
export interface StoredEventText {
  streamId: string;
  revision: number;
  type: string;
  data: string;
  metadata: string;
}

// Metadata keys are stored in canonical order: "hash" stands between "correlationId" and "idempotency"/"occurredAt",
// and "previousHash" between "occurredAt" and "recordedAt". Checking both neighbours finds top-level keys only.
const HASH_KEY = ',"hash":"';
const PREVIOUS_KEY = '","previousHash":';
const HEX64 = /^[0-9a-f]{64}$/;

/** The stored hash and previous hash, read from canonical metadata text; null when the text is not in that form. */
export function storedLinks(metadata: string): { hash: string; hashAt: number; previous: string | null } | null {
  const hashAt = metadata.indexOf(HASH_KEY);
  if (hashAt < 0) return null;
  const hash = metadata.slice(hashAt + HASH_KEY.length, hashAt + HASH_KEY.length + 64);
  const after = metadata.slice(hashAt + HASH_KEY.length + 64, hashAt + HASH_KEY.length + 64 + 15);
  if (!HEX64.test(hash) || !(after.startsWith('","idempotency"') || after.startsWith('","occurredAt":'))) return null;
  const previousAt = metadata.indexOf(PREVIOUS_KEY, hashAt);
  if (previousAt < 0) return null;
  const rest = metadata.slice(previousAt + PREVIOUS_KEY.length, previousAt + PREVIOUS_KEY.length + 80);
  let previous: string | null;
  if (rest.startsWith('null,"recordedAt":')) previous = null;
  else if (rest[0] === '"' && rest.slice(65, 80) === '","recordedAt":') previous = rest.slice(1, 65);
  else return null;
  if (previous !== null && !HEX64.test(previous)) return null;
  return { hash, hashAt, previous };
}

/**
 * The link check on stored text: the canonical form is assembled from the stored JSON without parsing it.
 * Falls back to parsing and full canonicalisation when the text is not in canonical form.
 */
export function storedLinkProblem(
  event: StoredEventText,
  expectedRevision: number,
  previousHash: string | null,
): { problem: string | null; hash: string | null } {
  const links = storedLinks(event.metadata);
  if (links) {
    // The metadata without its hash member: the text before ',"hash":"…"' and after it.
    const metadata = event.metadata.slice(0, links.hashAt) + event.metadata.slice(links.hashAt + HASH_KEY.length + 65);
    const text = `{"data":${event.data},"metadata":${metadata},"revision":${event.revision},"streamId":${JSON.stringify(event.streamId)},"type":${JSON.stringify(event.type)}}`;
    if (sha256(text) === links.hash) {
      if (event.revision !== expectedRevision)
        return {
          problem: `expected revision ${expectedRevision}, found ${event.revision}: an event is missing or out of order`,
          hash: links.hash,
        };
      if (links.previous !== previousHash)
        return {
          problem: `previousHash is ${String(links.previous)}, the previous event's hash is ${String(previousHash)}`,
          hash: links.hash,
        };
      return { problem: null, hash: links.hash };
    }
  }
  const parsed: HashableEvent = {
    streamId: event.streamId,
    revision: event.revision,
    type: event.type,
    data: JSON.parse(event.data),
    metadata: JSON.parse(event.metadata) as Record<string, unknown>,
  };
  return {
    problem: linkProblem(parsed, expectedRevision, previousHash),
    hash: typeof parsed.metadata.hash === 'string' ? parsed.metadata.hash : null,
  };
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

/**
 * The hash of an event whose data and metadata `ordered` put in canonical key order (without a hash member): in that
 * order JSON.stringify gives the RFC 8785 bytes, unless an object has array-index keys (JavaScript enumerates those
 * first), which `found` says; then the definition is applied in full.
 */
function orderedEventHash(event: HashableEvent, found: { indexKeys: boolean }): string {
  return sha256(found.indexKeys ? canonicalForm(event) : orderedText(event));
}

/** The event's members in canonical order (data, metadata, revision, streamId, type), each as JSON.stringify gives it. */
function orderedText(event: HashableEvent): string {
  return `{"data":${JSON.stringify(event.data)},"metadata":${JSON.stringify(event.metadata)},"revision":${event.revision},"streamId":${JSON.stringify(event.streamId)},"type":${JSON.stringify(event.type)}}`;
}

/** Plain assignment keeps an object fast; a "__proto__" key would set the prototype instead of a member. */
function setMember(object: Record<string, unknown>, key: string, value: unknown): void {
  if (key === '__proto__')
    Object.defineProperty(object, key, { value, enumerable: true, writable: true, configurable: true });
  else object[key] = value;
}

/** A copy of an object in canonical key order with one more member, placed where canonical order puts it. */
function withMember(object: Record<string, unknown>, name: string, value: unknown): Record<string, unknown> {
  const copy: Record<string, unknown> = {};
  let placed = false;
  for (const key of Object.keys(object)) {
    if (!placed && key > name) {
      copy[name] = value;
      placed = true;
    }
    setMember(copy, key, object[key]);
  }
  if (!placed) copy[name] = value;
  return copy;
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
      ...(event.previousActAhead
        ? { previousActAhead: { occurredAt: event.previousActAhead, recordedAt: options.now.toISOString() } }
        : {}),
      previousHash,
    } satisfies Omit<CaseEventMetadata, 'hash'>;
    const found = { indexKeys: false };
    const data = ordered(event.data, found);
    const canonicalMetadata = ordered(metadata, found);
    const hash = orderedEventHash({ streamId, revision, type: event.type, data, metadata: canonicalMetadata }, found);
    previousHash = hash;
    const sealed = withMember(canonicalMetadata, 'hash', hash) as unknown as CaseEventMetadata;
    // decide parsed the data with its type's schema (parseStepData): the sealed event is of that type.
    return { type: event.type, data, metadata: sealed, revision } as CaseEvent;
  });
}

/**
 * Seals one event of any stream (the auditors' access log, say) the way case events are sealed: data and
 * metadata in canonical key order, `previousHash` linking it to the stream's previous event and `hash` over the
 * canonical form, so the same verification covers it.
 */
export function sealRecord(
  event: { streamId: string; revision: number; type: string; data: unknown; metadata: Record<string, unknown> },
  previousHash: string | null,
): { data: unknown; metadata: Record<string, unknown>; hash: string } {
  const found = { indexKeys: false };
  const data = ordered(event.data, found);
  // A "hash" the caller passed is not hashed: the one computed here takes its place (canonicalForm leaves it out too).
  const { hash: _replaced, ...given } = event.metadata;
  const metadata = ordered({ ...given, previousHash }, found);
  const hash = orderedEventHash({ ...event, data, metadata }, found);
  return { data, metadata: withMember(metadata, 'hash', hash), hash };
}
