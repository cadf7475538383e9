/**
 * At start: the key store must know the keys the log's newest encrypted acts were sealed under. A keys.db lost and
 * made anew (opening creates the file), or another installation's with its master key, opened without a word, and
 * every applicant read "erased" (an unknown key reads as a destroyed one).
 */
import type { EventLog } from '../../event-log/event-log.port';
import { CASE_STREAM_PREFIX } from '../../cases/domain/case-event';
import { isEnvelope } from '../domain/envelope';
import { personalFieldsOf } from '../domain/personal-fields';
import { KeyStoreMismatchError, type PersonalKeyStore } from './key-store.port';

/** Case events looked at, from the head back; and the newest distinct subjects among them asked for. */
const EVENTS_LOOKED_AT = 5_000;
const SUBJECTS_ASKED = 50;

export async function checkKeyStoreKnowsLog(
  log: EventLog,
  keys: Pick<PersonalKeyStore, 'location' | 'unknownSubjects'>,
): Promise<void> {
  const head = await log.headPosition();
  const events = await log.readAll({
    after: Math.max(0, head - EVENTS_LOOKED_AT),
    maxCount: EVENTS_LOOKED_AT,
    filter: { streamPrefixes: [CASE_STREAM_PREFIX] },
  });
  // The newest act sealed under each subject's key, newest last.
  const newest = new Map<string, { kid: string; streamId: string; revision: number }>();
  for (const event of events)
    for (const field of Object.keys(personalFieldsOf(event.type))) {
      const value = (event.data as Record<string, unknown> | null)?.[field];
      if (!isEnvelope(value)) continue;
      newest.delete(value.kid);
      newest.set(value.kid, { kid: value.kid, streamId: event.streamId, revision: event.revision });
    }
  const asked = [...newest.values()].slice(-SUBJECTS_ASKED);
  if (asked.length === 0) return;
  const unknown = new Set(await keys.unknownSubjects(asked.map((s) => s.kid)));
  if (unknown.size === 0) return;
  const example = asked.filter((s) => unknown.has(s.kid)).at(-1)!;
  throw new KeyStoreMismatchError(keys.location, unknown.size, asked.length, example);
}
