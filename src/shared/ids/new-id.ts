import { v7 } from 'uuid';

/**
 * A new id for an event or a stream: a UUID version 7 (RFC 9562), its first 48 bits the time in milliseconds
 * and the rest random. Ids made later sort later, so the event log's unique index on ids (and on stream ids, for
 * new cases) grows at its right edge: a commit writes the same few index pages instead of one random page per
 * event, which on SQLite made a five-append commit about a third cheaper than random (version 4) ids.
 * The leading characters are therefore the time: take the trailing ones where a short random tag is needed.
 */
export function newId(): string {
  return v7();
}
