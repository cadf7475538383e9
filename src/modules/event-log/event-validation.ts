import { newId } from '../../shared/ids/new-id';
import type { EventToAppend, ExpectedRevision } from './event-log.port';
import { InvalidEventError } from './event-log.errors';
import { sealedHashOf, unsealedLeaf } from '../transparency/domain/log-leaf';

/** Largest serialised event (data + metadata, UTF-8) the log accepts. Documents are case acts, not files. */
export const MAX_EVENT_BYTES = 1024 * 1024;
/** Largest number of events in one append; a bigger batch is a sign of misuse, and one transaction must stay short. */
export const MAX_EVENTS_PER_APPEND = 10_000;
export const MAX_STREAM_ID_LENGTH = 200;
export const MAX_EVENT_TYPE_LENGTH = 200;

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u001f\u007f]/;

/** An event ready to be stored: id assigned, data and metadata serialised once. */
export interface PreparedEvent {
  id: string;
  type: string;
  data: string;
  metadata: string;
  /**
   * The event's leaf in the log's Merkle tree (its leaf data: the sealed hash, or for an unsealed event the hash of its
   * stored fields), 64 hex digits, found here where the metadata is still an object; the SQLite writer thread hashes
   * it (RFC 9162: SHA-256 of 0x00 and the leaf) with the nodes it completes, behind the commit. Null where the writer
   * keeps no tree (EventStoreDB, whose tree the worker builds from the log). A string: a group crosses to the writer
   * thread as a structured clone, where a string is copied as bytes and a Buffer costs a backing store on each side.
   */
  leaf: string | null;
}

/**
 * Checks a whole append before anything is written, and serialises it once. JSON.stringify alone is not
 * enough: it silently drops `undefined` and functions and turns NaN into null, which would store
 * something other than what the caller sent.
 */
export function prepareAppend(
  streamId: unknown,
  events: readonly EventToAppend[],
  expected: unknown,
  options: { leaves: boolean },
): PreparedEvent[] {
  checkStreamId(streamId);
  checkExpected(expected);
  if (!Array.isArray(events) || events.length === 0)
    throw new InvalidEventError('events', 'must be a non-empty array of events');
  if (events.length > MAX_EVENTS_PER_APPEND)
    throw new InvalidEventError('events', `holds ${events.length} events; at most ${MAX_EVENTS_PER_APPEND} per append`);
  const seen = new Set<string>();
  return events.map((event, index) => {
    const at = `events[${index}]`;
    if (event === null || typeof event !== 'object')
      throw new InvalidEventError(at, 'must be an object { type, data, metadata? }');
    if (typeof event.type !== 'string' || event.type.trim() === '')
      throw new InvalidEventError(`${at}.type`, 'must be a non-empty string');
    if (event.type.length > MAX_EVENT_TYPE_LENGTH || CONTROL.test(event.type)) {
      throw new InvalidEventError(`${at}.type`, `must be at most ${MAX_EVENT_TYPE_LENGTH} printable characters`);
    }
    if (event.type.startsWith('$'))
      throw new InvalidEventError(`${at}.type`, 'types starting with "$" are reserved for the store');
    let id = event.id;
    if (id === undefined) id = newId();
    else if (typeof id !== 'string' || !UUID.test(id))
      throw new InvalidEventError(`${at}.id`, 'must be a UUID when given');
    if (seen.has(id))
      throw new InvalidEventError(`${at}.id`, `repeats the id ${id} of an earlier event in this append`);
    seen.add(id);
    if (event.data === undefined)
      throw new InvalidEventError(`${at}.data`, 'is required (use {} for an event without data)');
    checkJson(event.data, `${at}.data`, new Set());
    const metadata = event.metadata ?? {};
    if (metadata === null || typeof metadata !== 'object' || Array.isArray(metadata))
      throw new InvalidEventError(`${at}.metadata`, 'must be an object');
    checkJson(metadata, `${at}.metadata`, new Set());
    const data = JSON.stringify(event.data);
    const meta = JSON.stringify(metadata);
    // A UTF-16 code unit is at most three bytes of UTF-8: only text that long needs counting.
    const bytes =
      (data.length + meta.length) * 3 <= MAX_EVENT_BYTES ? 0 : Buffer.byteLength(data) + Buffer.byteLength(meta);
    if (bytes > MAX_EVENT_BYTES)
      throw new InvalidEventError(
        at,
        `is ${bytes} bytes serialised; the limit is ${MAX_EVENT_BYTES} bytes (data + metadata)`,
      );
    const storedId = id.toLowerCase();
    let leaf: string | null = null;
    if (options.leaves)
      leaf =
        sealedHashOf(metadata) ??
        unsealedLeaf({ id: storedId, streamId, type: event.type, data, metadata: meta }).toString('hex');
    return { id: storedId, type: event.type, data, metadata: meta, leaf };
  });
}

export function checkStreamId(streamId: unknown): asserts streamId is string {
  if (typeof streamId !== 'string' || streamId.trim() === '')
    throw new InvalidEventError('streamId', 'must be a non-empty string');
  if (streamId.length > MAX_STREAM_ID_LENGTH || CONTROL.test(streamId)) {
    throw new InvalidEventError('streamId', `must be at most ${MAX_STREAM_ID_LENGTH} printable characters`);
  }
  if (streamId.startsWith('$'))
    throw new InvalidEventError('streamId', 'streams starting with "$" are reserved for the store');
}

function checkExpected(expected: unknown): asserts expected is ExpectedRevision {
  if (expected === 'no_stream' || expected === 'any') return;
  if (typeof expected === 'number' && Number.isSafeInteger(expected) && expected >= 0) return;
  throw new InvalidEventError(
    'expectedRevision',
    `must be "no_stream", "any" or a revision ≥ 0; got ${String(expected)}`,
  );
}

/** The path of a value inside `root`, built only when something is wrong with it. */
function pathOf(root: string, trail: readonly (string | number)[]): string {
  return root + trail.map((key) => (typeof key === 'number' ? `[${key}]` : `.${key}`)).join('');
}

function checkJson(value: unknown, root: string, ancestors: Set<object>, trail: (string | number)[] = []): void {
  switch (typeof value) {
    case 'string':
    case 'boolean':
      return;
    case 'number':
      if (!Number.isFinite(value))
        throw new InvalidEventError(pathOf(root, trail), `${value} is not representable in JSON`);
      return;
    case 'object':
      break;
    default:
      throw new InvalidEventError(pathOf(root, trail), `a ${typeof value} is not representable in JSON`);
  }
  if (value === null) return;
  if (ancestors.has(value))
    throw new InvalidEventError(pathOf(root, trail), 'refers back to itself (a cycle is not representable in JSON)');
  if (Array.isArray(value)) {
    ancestors.add(value);
    for (let i = 0; i < value.length; i++) {
      trail.push(i);
      checkJson(value[i], root, ancestors, trail);
      trail.pop();
    }
    ancestors.delete(value);
    return;
  }
  const proto = Object.getPrototypeOf(value);
  if (proto !== Object.prototype && proto !== null) {
    const kind = (value as object).constructor?.name ?? 'object';
    throw new InvalidEventError(
      pathOf(root, trail),
      `a ${kind} is not plain JSON${kind === 'Date' ? '; send an ISO-8601 string' : ''}`,
    );
  }
  ancestors.add(value);
  for (const key of Object.keys(value)) {
    trail.push(key);
    checkJson((value as Record<string, unknown>)[key], root, ancestors, trail);
    trail.pop();
  }
  ancestors.delete(value);
}
