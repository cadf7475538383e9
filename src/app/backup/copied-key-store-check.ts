/**
 * A copied data directory's key store must know the keys its log's newest encrypted acts were sealed under: the check
 * the service makes at start (checkKeyStoreKnowsLog), made by `backup` on its copy and by `restore` on what it restored,
 * so a copy the service would refuse to start on is told the day it is made, not the day it is needed.
 *
 * The key store is read through a read-only connection, with no master key: whether a subject has a record is all the
 * check asks, and the master key is the service's own check at start (exit 78). A read-only connection also leaves a
 * backup's keys.db as its manifest says.
 */
import Database from 'better-sqlite3';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { EVENT_LOG_FILE } from '../../modules/event-log/open-event-log';
import { SqliteEventLog } from '../../modules/event-log/sqlite/sqlite-event-log';
import type { PersonalKeyStore } from '../../modules/personal-data/keys/key-store.port';
import { checkKeyStoreKnowsLog } from '../../modules/personal-data/keys/log-key-check';
import { KEY_STORE_FILE, SUBJECT_KNOWN, subjectsNotIn } from '../../modules/personal-data/keys/sqlite-key-store';

/** Throws KeyStoreMismatchError (exit 65) when `dir`'s keys.db lacks a key its events.db's newest acts need. */
export async function checkCopiedKeyStore(dir: string): Promise<void> {
  const keysFile = join(dir, KEY_STORE_FILE);
  // No keys.db at all knows no subject: a log with encrypted acts and no key store is as unstartable as a stale one.
  const keys = existsSync(keysFile) ? new Database(keysFile, { readonly: true, fileMustExist: true }) : null;
  const log = new SqliteEventLog(join(dir, EVENT_LOG_FILE), { checkpointer: false });
  try {
    const known = keys?.prepare(SUBJECT_KNOWN);
    // The two members checkKeyStoreKnowsLog reads, answered as SqliteKeyStore answers them.
    const view: Pick<PersonalKeyStore, 'location' | 'unknownSubjects'> = {
      location: keysFile,
      unknownSubjects: async (kids) => (known ? subjectsNotIn(known, kids) : [...new Set(kids)]),
    };
    await checkKeyStoreKnowsLog(log, view);
  } finally {
    keys?.close();
    await log.close();
  }
}
