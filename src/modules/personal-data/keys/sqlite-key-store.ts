/**
 * The embedded key store: `DATA_DIR/keys.db`, its own SQLite file, so the log and its copies hold no key. Deleted
 * keys are overwritten (secure_delete) and the WAL is truncated after an erasure, so a destroyed key is not left in
 * free pages or old WAL frames.
 */
import { open, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import { StorageFullError } from '../../event-log/event-log.errors';
import { WalCheckpointer } from '../../event-log/sqlite/wal-checkpointer';
import type { Statement } from 'better-sqlite3';
import { LRUCache } from 'lru-cache';
import { openSqliteFile, type SqliteDatabase } from '../../../shared/sqlite/open-sqlite-file';
import { purgeOldPageImages } from '../../../shared/sqlite/purge-wal';
import { newId } from '../../../shared/ids/new-id';
import { randomBytes } from 'node:crypto';
import {
  KEY_BYTES,
  WRAP_IV_BYTES,
  keyCheckValue,
  masterKeyMatches,
  newDataKey,
  unwrapKey,
  wrapKey,
} from '../domain/key-wrapping';
import {
  BLIND_INDEX_KEY_ID,
  ERASURE_HOLD_MS,
  erasureHold,
  SubjectCounts,
  type ErasureHold,
  MasterKeyMismatchError,
  MasterKeyRotatedError,
  SubjectBeingErasedError,
  SubjectErasedError,
  subjectKeyDamaged,
  subjectNotInStore,
  type ErasureRecord,
  type PersonalKeyStore,
  type StoreSubject,
  type SubjectRecord,
} from './key-store.port';

export const KEY_STORE_FILE = 'keys.db';
const POOL_SIZE = 64;
/** Left in the pool when the next group is made: a turn of ten filings takes about eight, and the group is made a turn later. */
const POOL_LOW = 32;
/** Subjects, keys and case links kept in memory (each map), most recently used first, unless told otherwise at open. */
const CACHE_ENTRIES = 100_000;
/** meta row counting erasures: every process that caches keys compares it when another connection wrote the file. */
const ERASURES = 'erasures';
/** The key store's WAL is small: checkpointed from 1 MiB, looked at five times a second. */
const KEYS_CHECKPOINTER = { intervalMs: 200, thresholdBytes: 1024 * 1024, hardLimitBytes: 64 * 1024 * 1024 };
/** What a claim or link already committed waits for. */
const STORED: Promise<void> = Promise.resolve();
/** How long this connection's erasures, rotations and readers' flushes wait for the write lock (as openSqliteFile sets). */
const BUSY_TIMEOUT_MS = 5000;
/**
 * The journal of claims is merged into the subjects' IIN index once no claim came for this long (an idle moment), or
 * at once past MERGE_AT unmerged claims (a long burst), so one commit writes many claims' index pages: about 9 µs of
 * CPU per claim merged in a batch against 15 written ten a commit (better-sqlite3 alone, 100,000 subjects). A merge
 * of MERGE_AT claims holds the thread about 10 ms, so a burst's commands wait at most that long once per 1,024 people.
 */
const MERGE_IDLE_MS = 200;
const MERGE_AT = 1024;
/** A pinned hold's `until`: it stands until the subject's key is destroyed (ErasureHold.pin). */
const PINNED = Number.MAX_SAFE_INTEGER;
/** How often an owed purge of old page images is tried again. */
const PURGE_RETRY_MS = 1000;
/** 'RGLK': marks a file as a reglament key store. */
export const KEY_STORE_APPLICATION_ID = 0x52474c4b;

const MIGRATIONS = [
  {
    version: 1,
    sql: `
      CREATE TABLE service_keys (id TEXT PRIMARY KEY, wrapped BLOB NOT NULL) WITHOUT ROWID;
      CREATE TABLE subjects (
        subject_id TEXT PRIMARY KEY, iin_index TEXT NOT NULL, wrapped_key BLOB, created_at TEXT NOT NULL,
        erased_at TEXT, erasure TEXT
      ) WITHOUT ROWID;
      CREATE INDEX subjects_by_iin ON subjects (iin_index);
      CREATE TABLE case_subjects (case_id TEXT PRIMARY KEY, subject_id TEXT NOT NULL) WITHOUT ROWID;
      CREATE INDEX case_subjects_by_subject ON case_subjects (subject_id);
    `,
  },
  {
    // The journal of claims (mergeClaims): a filing's claim of a pool key for an IIN is appended here, at the end of
    // an append-ordered key, instead of written into subjects_by_iin, where each new person's blind index lands on a
    // random page of the index, written whole to the WAL each commit. AUTOINCREMENT: a seq is never reused once merged
    // rows are deleted, so another process reads what is new by seq alone.
    version: 2,
    sql: `
      CREATE TABLE subject_claims (
        seq INTEGER PRIMARY KEY AUTOINCREMENT, subject_id TEXT NOT NULL, iin_index TEXT NOT NULL, created_at TEXT NOT NULL
      );
    `,
  },
  {
    // The subjects erasures hold (holdForErasure), for every process that files: an erasure run by the CLI holds them
    // from the API's new cases too. `until` (epoch ms) lets the hold of an erasure whose process died lapse.
    version: 3,
    sql: `
      CREATE TABLE erasure_holds (
        subject_id TEXT NOT NULL, token TEXT NOT NULL, until INTEGER NOT NULL, PRIMARY KEY (subject_id, token)
      ) WITHOUT ROWID;
    `,
  },
];

export class SqliteKeyStore implements PersonalKeyStore {
  readonly location: string;
  readonly blindIndexKey: Buffer;

  private readonly checkpointer: WalCheckpointer;
  /** The check value of `master`, which the store's (meta master_kcv) must still be for this process to wrap or unwrap. */
  private masterKcv: string;
  /**
   * Set once this process finds the store's check value is no longer its master key's: another process rotated it.
   * From then on it refuses every claim and every read of a key (MasterKeyRotatedError) until it is restarted.
   */
  private rotated = false;

  private constructor(
    private readonly db: SqliteDatabase,
    private master: Buffer,
    file: string,
    cacheEntries: number,
    private readonly mergeIdleMs: number,
  ) {
    this.location = file;
    this.masterKcv = keyCheckValue(master);
    this.unwrapped = new LRUCache<string, Buffer | false>({ max: cacheEntries });
    this.caseSubjects = new LRUCache<string, string>({ max: cacheEntries });
    this.liveSubjects = new LRUCache<string, string>({ max: cacheEntries });
    this.blindIndexKey = this.serviceKey(BLIND_INDEX_KEY_ID);
    this.checkpointer = new WalCheckpointer(file, KEYS_CHECKPOINTER);
    // Claims journaled by a process that ended before merging them (a crash too) are read back, so the IIN still finds
    // its subject; they are merged at the next idle moment.
    this.readJournal();
    if (this.journaled.size > 0) this.scheduleMerge();
    // A purge a process left owed when it stopped (a reader held the old images to the end) is done now if it can be.
    this.purgeOldImages();
  }

  private readonly statements = new Map<string, Statement>();

  /** The statement for this text, prepared once: preparing costs more than running these lookups. */
  private sql(text: string): Statement {
    let statement = this.statements.get(text);
    if (!statement) this.statements.set(text, (statement = this.db.prepare(text)));
    return statement;
  }

  /**
   * `cacheEntries`: how many subjects, keys and case links each in-memory map holds (a bench sizes it). `mergeIdleMs`:
   * how long without claims counts as idle for merging the journal of claims (a spec delays it past its crash).
   */
  static open(
    dataDir: string,
    master: Buffer,
    { cacheEntries = CACHE_ENTRIES, mergeIdleMs = MERGE_IDLE_MS } = {},
  ): SqliteKeyStore {
    const file = join(dataDir, KEY_STORE_FILE);
    const db = openSqliteFile({
      file,
      applicationId: KEY_STORE_APPLICATION_ID,
      kind: 'key store',
      migrations: MIGRATIONS,
    });
    try {
      db.pragma('secure_delete = ON');
      // Durability comes from syncWal after each group of new keys, off the request thread (see there).
      db.pragma('synchronous = NORMAL');
      // Checkpoints run on a thread of their own (KEYS_CHECKPOINTER): one on commit would copy and fsync the file on the
      // request thread, in the middle of a filing.
      db.pragma('wal_autocheckpoint = 0');
      // The API and its projection process may open a new store at once: the first check value written stands.
      db.prepare("INSERT OR IGNORE INTO meta (key, value) VALUES ('master_kcv', ?)").run(keyCheckValue(master));
      const kcv = db.prepare("SELECT value FROM meta WHERE key = 'master_kcv'").pluck().get() as string;
      if (!masterKeyMatches(master, kcv)) throw new MasterKeyMismatchError(file);
      return new SqliteKeyStore(db, master, file, cacheEntries, mergeIdleMs);
    } catch (error) {
      db.close();
      throw error;
    }
  }

  /**
   * A service key (the blind index's), made on first open. Stored only while the store's check value is still this
   * master key's, in the same statement: a rotation committed since open checked it leaves nothing wrapped under the
   * retired key, and this start is refused as one with the wrong key is.
   */
  private serviceKey(id: string): Buffer {
    this.sql(`INSERT OR IGNORE INTO service_keys (id, wrapped) SELECT ?, ? WHERE ${STORED_KCV} = ?`).run(
      id,
      wrapKey(this.master, id, newDataKey()),
      this.masterKcv,
    );
    const wrapped = this.sql('SELECT wrapped FROM service_keys WHERE id = ?').pluck().get(id) as Buffer | undefined;
    if (wrapped === undefined) throw new MasterKeyMismatchError(this.location);
    try {
      return unwrapKey(this.master, id, wrapped);
    } catch (error) {
      if (!this.masterKeyCurrent()) throw new MasterKeyMismatchError(this.location);
      throw error;
    }
  }

  /** Whether the store's check value is still the one of the master key this process holds. */
  private masterKeyCurrent(): boolean {
    return (this.sql(`SELECT ${STORED_KCV}`).pluck().get() as string | null) === this.masterKcv;
  }

  /** Marks this process as holding a retired master key (see `rotated`): the error to throw. */
  private rotatedAway(): MasterKeyRotatedError {
    this.rotated = true;
    return new MasterKeyRotatedError(this.location);
  }

  private refuseIfRotated(): void {
    if (this.rotated) throw new MasterKeyRotatedError(this.location);
  }

  async subjectForCase(
    iinIndex: string,
    caseId: string,
    now: Date,
    filing = false,
  ): Promise<{ kid: string; key: Buffer }> {
    const { kid, key, stored } = await this.claimForCase(iinIndex, caseId, now, filing);
    await stored;
    return { kid, key };
  }

  async claimForCase(iinIndex: string, caseId: string, now: Date, filing = false): Promise<StoreSubject> {
    try {
      // Even a key this process holds in memory, valid as it is, is not handed out: every filing of a process left on a
      // retired master key is refused alike, so the operator sees one reason and restarts it.
      this.refuseIfRotated();
      // A case this process holds no link of, of a person whose live subject it knows, is linked in its batch by a
      // conditional insert that refuses a subject erased or held meanwhile, and a case linked already is checked there
      // to be linked to that subject with its key stored (else the filing looks again, noticing first): asking the file
      // whether another process wrote it (PRAGMA data_version, 8 µs a filing in the API beside the projection process)
      // guards nothing on that path. Every other filing asks, since it is answered from memory or claims through the
      // journal.
      if (!this.linksFromMemory(iinIndex, caseId)) this.noticeErasures();
      // Awaited only for a new link to an existing subject: an await on every filing lets a second filing of the same
      // person in this turn look before the first's claim is remembered, and claim a second subject.
      let known = this.knownSubject(iinIndex, caseId, filing);
      if (known?.linking) known = await this.linkSettled(iinIndex, caseId, known, filing);
      if (known) return known;
      const waited = this.pool.length === 0;
      const fresh = await this.takeFromPool();
      // Another filing of the same person may have claimed a key while this one waited for the pool (and another
      // process may have erased a subject while it waited for the disk).
      if (waited) this.noticeErasures();
      let claimed = this.knownSubject(iinIndex, caseId, filing);
      if (claimed?.linking)
        claimed = await this.linkSettled(iinIndex, caseId, claimed, filing).catch((error: unknown) => {
          this.pool.unshift(fresh);
          throw error;
        });
      if (claimed) {
        this.pool.unshift(fresh);
        return claimed;
      }
      this.remember(caseId, iinIndex, fresh.kid, fresh.key);
      const claim = { kid: fresh.kid, seq: Infinity };
      this.journaled.set(iinIndex, claim);
      const stored = this.write(
        caseId,
        fresh.kid,
        undefined,
        () => {
          // Appended to the journal, merged into the subject's row and the IIN index later (mergeClaims).
          claim.seq = Number(
            this.sql('INSERT INTO subject_claims (subject_id, iin_index, created_at) VALUES (?, ?, ?)').run(
              fresh.kid,
              iinIndex,
              now.toISOString(),
            ).lastInsertRowid,
          );
          this.sql('INSERT INTO case_subjects (case_id, subject_id) VALUES (?, ?)').run(caseId, fresh.kid);
        },
        iinIndex,
      );
      return { ...fresh, stored };
    } catch (error) {
      throw this.storageError(error);
    }
  }

  /**
   * The known subject once a case's link to it is committed (knownSubject's `linking`). A refused link is looked for
   * again, after noticing other processes' erasures: one an erasure's hold or destroyed key refused (another process is
   * erasing the person) without that subject, null when there is no other, and the filing takes a new subject; one whose
   * case is linked already to another subject answers that subject, or SubjectErasedError when its key is destroyed.
   * Nothing is encrypted under an existing subject before its link stands, so no act lands under a key an erasure
   * destroys after its checks.
   */
  private async linkSettled(
    iinIndex: string,
    caseId: string,
    known: KnownSubject,
    filing: boolean,
  ): Promise<StoreSubject | null> {
    for (let found: KnownSubject | null = known; ;) {
      if (!found?.linking) return found;
      await found.stored;
      if (found.linking.beingErased) throw new SubjectBeingErasedError(caseId);
      if (!found.linking.refused && found.key !== NO_KEY) return { kid: found.kid, key: found.key, stored: STORED };
      // Refused: another process may have erased the subject (or linked the case), so what is kept in memory is checked.
      this.noticeErasures();
      found = this.knownSubject(iinIndex, caseId, filing);
    }
  }

  /** A full disk is answered as the log's own (503 storage-full), not as a failure of the service. */
  private storageError(error: unknown): unknown {
    const code = (error as { code?: string }).code;
    return code === 'SQLITE_FULL' || code === 'ENOSPC'
      ? new StorageFullError(this.location, (error as Error).message)
      : error;
  }

  /**
   * The subject of the case, or the live subject of the IIN (then linked to the case). The link is written without
   * waiting for the disk: were it lost, the case's acts still name their key (the envelope's kid), and erasure finds
   * such a case through the read model's blind index and its first act. Answered from memory when this process has
   * seen the case or the IIN since the last erasure (noticeErasures), so a filing reads no row.
   */
  private knownSubject(iinIndex: string, caseId: string, filing = false): KnownSubject | null {
    const cachedKid = this.caseSubjects.get(caseId);
    if (cachedKid !== undefined) {
      // A link still waiting for its batch is settled there (a hold refuses it, and the filing looks again).
      if (filing && !this.unstoredLinks.has(caseId) && this.beingErased(cachedKid))
        throw new SubjectBeingErasedError(caseId);
      const key = this.unwrapped.get(cachedKid);
      // Only a link still waiting for its commit is waited for: an act on a case whose link is committed does not
      // wait for (nor fail with) other filings' batch, which may wait for a write lock another process holds. A second
      // filing of the case (a retry under the same Idempotency-Key) waits as the first does for a link to an existing
      // subject, which a hold may refuse: it encrypts nothing under that subject before.
      const waiting = this.unstoredLinks.get(caseId);
      if (key)
        return waiting === undefined
          ? { kid: cachedKid, key, stored: STORED }
          : { kid: cachedKid, key, stored: this.pendingWrite(), linking: waiting.linking };
    }
    // A link still waiting for its commit (its turn's batch, or the write lock another process holds) outlives the
    // caches an erasure by another process drops: without it a second act of the case would claim a second key, and the
    // commit of both links would fail on the case's primary key. Its subject is read from the file like a committed
    // link's: an erased one is refused, unless the link waits to be made (its batch refuses it; the filing looks again).
    const unstored = this.unstoredLinks.get(caseId);
    // A claim still in the journal is not in subjects_by_iin yet: its subject is read by id.
    const journaledKid = this.journaled.get(iinIndex)?.kid ?? '';
    const liveInMemory = this.liveInMemory(iinIndex);
    type Row = { id: string; wrapped: Buffer | null | undefined };
    let linked: Row | undefined;
    let liveRow: Row | undefined;
    if (unstored !== undefined)
      linked = {
        id: unstored.kid,
        wrapped: this.sql('SELECT wrapped_key FROM subjects WHERE subject_id = ?').pluck().get(unstored.kid) as
          Buffer | null | undefined,
      };
    // With the IIN's live subject known, the case is linked to it without reading whether it has a link: the link's
    // insert leaves an existing one as it is, and one to another subject, or to a subject erased since, refuses the link
    // (the filing then looks again, and finds it). An act on a case linked already whose link is not in memory (another
    // process filed it, or the cache let it go) therefore waits a batch, and one linked to another subject of the
    // person makes this process forget the person's live subject, so the person's next case reads the file again (and
    // may take yet another subject if the one it finds there is held: every subject of the IIN is still found and erased
    // with it). Such acts are rare.
    else if (!liveInMemory)
      // A case and a person this process has not seen (most filings): the case's link and the IIN's live subject in one
      // statement, one read of the file instead of two (each read takes and releases SQLite's locks). A subject another
      // process's erasure holds is no live subject.
      for (const row of this.sql(
        `SELECT 1 AS linked, s.subject_id AS id, s.wrapped_key AS wrapped FROM case_subjects c JOIN subjects s USING (subject_id) WHERE c.case_id = ?
         UNION ALL SELECT 0, subject_id, wrapped_key FROM subjects WHERE subject_id = ? AND wrapped_key IS NOT NULL
         UNION ALL SELECT 0, subject_id, wrapped_key FROM subjects WHERE iin_index = ? AND wrapped_key IS NOT NULL`,
      ).all(caseId, journaledKid, iinIndex) as Array<Row & { linked: number }>)
        if (row.linked) linked = row;
        else if (!this.held.has(row.id) && !this.heldElsewhere(row.id)) liveRow ??= row;
    if (linked) {
      if (!linked.wrapped) {
        // A link still waiting for its batch, to a subject another process erased meanwhile, is refused by that batch
        // (its insert wants the subject live): the filing then looks again, as the first filing of the case does, and
        // takes a new subject. No key: linkSettled answers none it has not looked for again.
        if (unstored?.linking)
          return { kid: linked.id, key: NO_KEY, stored: this.pendingWrite(), linking: unstored.linking };
        throw new SubjectErasedError(caseId);
      }
      if (filing && unstored === undefined && (this.held.has(linked.id) || this.heldElsewhere(linked.id)))
        throw new SubjectBeingErasedError(caseId);
      const key = this.unwrap(linked.id, linked.wrapped);
      this.caseSubjects.set(caseId, linked.id);
      return unstored === undefined
        ? { kid: linked.id, key, stored: STORED }
        : { kid: linked.id, key, stored: this.pendingWrite(), linking: unstored.linking };
    }
    const live = liveInMemory ?? (liveRow ? { id: liveRow.id, key: this.unwrap(liveRow.id, liveRow.wrapped!) } : null);
    if (!live) return null;
    this.remember(caseId, iinIndex, live.id, live.key);
    const linking: Linking = { refused: false };
    // Linked only while the subject lives and no erasure holds it, in the transaction that links it: an erasure by
    // another process that held it after this process found it then finds no new case of it (its holds are committed
    // before it reads the subject's cases), and this filing takes a new subject instead.
    const link = () => {
      const inserted = this.sql(
        `INSERT OR IGNORE INTO case_subjects (case_id, subject_id)
         SELECT ?, subject_id FROM subjects WHERE subject_id = ? AND wrapped_key IS NOT NULL
           AND NOT EXISTS (SELECT 1 FROM erasure_holds WHERE subject_id = ? AND until > ?)`,
      ).run(caseId, live.id, live.id, Date.now()).changes;
      // A case linked already (by another process, or by this one before its link left memory) is answered only by
      // that same subject, and only while its key is stored: one linked elsewhere, or to a subject erased since, is
      // refused, and the filing looks again (finding the other subject, or the erasure).
      linking.refused =
        inserted === 0 &&
        !this.sql(
          'SELECT 1 FROM case_subjects c JOIN subjects s USING (subject_id) WHERE c.case_id = ? AND c.subject_id = ? AND s.wrapped_key IS NOT NULL',
        ).get(caseId, live.id);
      // A filing of a case linked to this subject already (a retry whose first append failed, this process having
      // forgotten the link: a restart, the cache's limit) is refused while an erasure holds the subject, as from memory.
      if (!linking.refused && inserted === 0 && filing && this.heldElsewhere(live.id)) linking.beingErased = true;
      if (!linking.refused) return;
      // Not linked: what was remembered above is forgotten before any filing of the case or the person looks again.
      if (this.caseSubjects.get(caseId) === live.id) this.caseSubjects.delete(caseId);
      if (this.liveSubjects.get(iinIndex) === live.id) this.liveSubjects.delete(iinIndex);
    };
    // Committed in the turn's batch, with the other filings' claims and links, and waited for before anything is
    // encrypted under the subject (linkSettled). A transaction of its own per filing, taken at once, held the API's
    // request thread 63 µs per returning applicant's filing, and its filings over HTTP ran at 0.56–0.64× the rate of the
    // same API without a vault, against 0.80–0.84× with the batch (BENCHMARKS.md, twenty-first session).
    const stored = this.write(caseId, live.id, linking, link);
    return { kid: live.id, key: live.key, stored, linking };
  }

  /**
   * The IIN's live subject with its key, as this process holds them. A subject an erasure holds is given to no new case:
   * the IIN is then read from the file for another live subject.
   */
  private liveInMemory(iinIndex: string): { id: string; key: Buffer } | null {
    const id = this.liveSubjects.get(iinIndex);
    if (id === undefined || this.held.has(id)) return null;
    const key = this.unwrapped.get(id);
    return key ? { id, key } : null;
  }

  /** A case this process has not linked, of a person whose live subject it holds: knownSubject's link path. */
  private linksFromMemory(iinIndex: string, caseId: string): boolean {
    return !this.caseSubjects.has(caseId) && !this.unstoredLinks.has(caseId) && this.liveInMemory(iinIndex) !== null;
  }

  /** Erasures in this process hold their subjects here too: read without a round trip to the file. */
  private readonly held = new SubjectCounts();

  /**
   * Whether an erasure holds the subject now, as this process knows without reading the file: its own erasures' holds,
   * and other processes' as read when the file last changed (noticeErasures, which every act on a linked case runs).
   */
  private beingErased(subjectId: string): boolean {
    if (this.held.has(subjectId)) return true;
    const until = this.holdsElsewhere.get(subjectId);
    return until !== undefined && until > Date.now();
  }

  /** Other processes' erasure holds by subject (until when), read whenever another connection wrote (noticeErasures). */
  private readonly holdsElsewhere = new Map<string, number>();
  /** The tokens of this process's own holds: kept apart, since this process releasing one does not change the file's version for it. */
  private readonly ownHoldTokens = new Set<string>();

  private readHoldsElsewhere(): void {
    this.holdsElsewhere.clear();
    for (const row of this.sql('SELECT subject_id, token, until FROM erasure_holds WHERE until > ?').all(
      Date.now(),
    ) as Array<{ subject_id: string; token: string; until: number }>)
      if (!this.ownHoldTokens.has(row.token))
        this.holdsElsewhere.set(row.subject_id, Math.max(row.until, this.holdsElsewhere.get(row.subject_id) ?? 0));
  }

  /** Whether another process's erasure holds the subject now (erasure_holds, not lapsed). */
  private heldElsewhere(subjectId: string): boolean {
    return (
      this.sql('SELECT 1 FROM erasure_holds WHERE subject_id = ? AND until > ?').pluck().get(subjectId, Date.now()) !==
      undefined
    );
  }

  holdForErasure(subjectIds: readonly string[]): Promise<ErasureHold> {
    const token = newId();
    this.ownHoldTokens.add(token);
    return erasureHold(this.held, subjectIds, (ids) => ({
      take: async () => {
        try {
          // Filings link a new case to an existing subject only where no hold stands (knownSubject's link), in any
          // process.
          this.flushWrites();
          const hold = this.sql('INSERT INTO erasure_holds (subject_id, token, until) VALUES (?, ?, ?)');
          const until = Date.now() + ERASURE_HOLD_MS;
          this.db.transaction(() => ids.forEach((id) => hold.run(id, token, until))).immediate();
        } catch (error) {
          throw this.storageError(error);
        }
        // A filing of this process whose link the flush above committed resumes before the next turn, and the vault
        // then counts its act as being recorded (recordingsSettled), which the erasure waits for.
        await new Promise((resolve) => setImmediate(resolve));
      },
      pin: async () =>
        this.sql('UPDATE erasure_holds SET until = ? WHERE token = ? AND until > ?').run(PINNED, token, Date.now())
          .changes === ids.length,
      release: async (pinnedToo) => {
        // A pinned hold kept in the file stays this process's until its key is destroyed; any other is gone now.
        if (pinnedToo) this.ownHoldTokens.delete(token);
        try {
          this.sql('DELETE FROM erasure_holds WHERE token = ? AND until < ?').run(
            token,
            pinnedToo ? PINNED + 1 : PINNED,
          );
        } catch {
          // Left to lapse (ERASURE_HOLD_MS): until then the person's next filing gets a new subject, which is harmless.
        }
      },
    }));
  }

  private remember(caseId: string, iinIndex: string, kid: string, key: Buffer): void {
    this.unwrapped.set(kid, key);
    this.caseSubjects.set(caseId, kid);
    this.liveSubjects.set(iinIndex, kid);
  }

  /**
   * The filings of one turn of the event loop write their claims and links in one transaction (one commit instead of
   * one per filing), at the end of the turn. A filing of a new subject does not wait for it before its acts are sealed
   * and appended: its key is on disk already (see refill), and the commit runs while the log's writer commits the acts
   * (a new case of an existing subject waits for the batch before its acts are sealed: see knownSubject). The command
   * waits for it (`stored`) before it answers, so an acknowledged act's claim and link are committed, and a failed
   * commit (a full disk) fails the command as a failed append does. Were the claim or the link ever missing beside an
   * act (a crash between the two, a failed commit), the act still names its key (the envelope's kid), and erasure
   * finds such a case through the read model's blind index and its first act.
   */
  private pendingWrites: Array<{ caseId: string; kid: string; step: () => void; claimed?: string }> = [];
  /**
   * Case links queued in pendingWrites and not committed yet (forgotten once their batch commits), by case id: the
   * subject, and for a link to an existing subject what its commit makes of it (a hold may refuse it).
   */
  private readonly unstoredLinks = new Map<string, { kid: string; linking?: Linking }>();
  private written: Promise<void> = STORED;
  private flushScheduled: { resolve(): void; reject(error: unknown): void } | null = null;

  /** `claimed`: the IIN index whose new subject the step journals (forgotten if its batch fails). */
  private write(
    caseId: string,
    kid: string,
    linking: Linking | undefined,
    step: () => void,
    claimed?: string,
  ): Promise<void> {
    this.pendingWrites.push({ caseId, kid, step, claimed });
    this.unstoredLinks.set(caseId, { kid, linking });
    if (!this.flushScheduled) {
      this.written = new Promise<void>((resolve, reject) => {
        this.flushScheduled = { resolve, reject };
        // One turn later than the filings: the log hands its group of their acts to its writer thread at the end of
        // this turn (its own setImmediate, queued after this one), and immediates run in the order queued, so a
        // commit run then kept the acts' append waiting for it (about 160 µs for ten filings, every group).
        setImmediate(() => setImmediate(() => this.flushWrites(false)));
      });
      // Awaited by each command that queued a step; one whose append failed first never looks at it again.
      this.written.catch(() => undefined);
    }
    return this.written;
  }

  /** The batch this turn's filings wait for, if any: a failed earlier batch is not waited on again. */
  private pendingWrite(): Promise<void> {
    return this.flushScheduled ? this.written : STORED;
  }

  /**
   * Writes what is pending now; readers of the links and erasure call it first, so they see every filing made, waiting
   * for the write lock if another connection holds it (another process's erasure). The turn's own flush does not wait
   * (`wait` false): the thread that answers commands would sleep in SQLite's busy handler, every other request with
   * it, for as long as the lock is held; it tries again a millisecond later instead, for as long as a reader would
   * wait, then fails the batch as a reader's flush would.
   */
  private flushWrites(wait = true, since = Date.now()): void {
    const steps = this.pendingWrites;
    const done = this.flushScheduled;
    this.pendingWrites = [];
    this.flushScheduled = null;
    if (steps.length === 0) return done?.resolve();
    try {
      // IMMEDIATE takes the write lock first, as the log's writer does: a deferred one failed at once with SQLITE_BUSY
      // beside the WAL checkpointer's thread when the process was interrupted often (a profiler).
      this.waitingForLock(wait, () => this.db.transaction(() => steps.forEach((s) => s.step())).immediate());
      for (const { caseId, kid } of steps)
        if (this.unstoredLinks.get(caseId)?.kid === kid) this.unstoredLinks.delete(caseId);
      if (steps.some((s) => s.claimed !== undefined)) this.scheduleMerge();
      done?.resolve();
    } catch (error) {
      // Extended codes too (SQLITE_BUSY_SNAPSHOT, _RECOVERY): with busy_timeout 0 SQLite reports them at once.
      const busy = isBusy(error);
      if (!wait && busy && Date.now() - since < BUSY_TIMEOUT_MS) {
        this.pendingWrites = [...steps, ...this.pendingWrites];
        this.flushScheduled ??= done;
        // A reader's flush may take this batch before the timer fires: a later batch then gets a budget of its own.
        setTimeout(() => this.flushWrites(false, this.flushScheduled === done ? since : Date.now()), 1);
        return;
      }
      // Nothing of the batch is stored: forget what it claimed, so the next filing reads the store as it is.
      for (const { claimed, kid } of steps)
        if (claimed !== undefined && this.journaled.get(claimed)?.kid === kid) this.journaled.delete(claimed);
      this.unstoredLinks.clear();
      this.caseSubjects.clear();
      this.liveSubjects.clear();
      if (done) done.reject(this.storageError(error));
      else throw error;
    }
  }

  /**
   * Runs `work` with SQLite's busy handler off unless `wait`: a write lock another process holds then fails it at once
   * (SQLITE_BUSY) instead of sleeping on the thread that answers requests.
   */
  private waitingForLock<T>(wait: boolean, work: () => T): T {
    if (wait) return work();
    this.sql('PRAGMA busy_timeout = 0').get();
    try {
      return work();
    } finally {
      this.sql(`PRAGMA busy_timeout = ${BUSY_TIMEOUT_MS}`).get();
    }
  }

  /**
   * An erasure made by another process (the CLI, the API while this is the projection worker) bumps the erasures
   * counter; data_version tells, without reading a page, that another connection wrote the file since the last look.
   * Then every cached subject, link and key is dropped, so no destroyed key is used or handed out again from memory.
   */
  private dataVersion = -1;
  private erasures = '0';

  private noticeErasures(): void {
    this.refuseIfRotated();
    const version = this.sql('PRAGMA data_version').pluck().get() as number;
    if (version === this.dataVersion) return;
    this.dataVersion = version;
    // Another connection wrote: it may have journaled claims (another process filing) or merged them,
    this.readJournal();
    // or held subjects for an erasure, or released them.
    this.readHoldsElsewhere();
    // Or rotated the master key (the rotate-master-key command), read in the same statement as the erasures.
    let erasures = '0';
    let current = false;
    for (const row of this.sql("SELECT key, value FROM meta WHERE key IN (?, 'master_kcv')").all(ERASURES) as Array<{
      key: string;
      value: string;
    }>)
      if (row.key === ERASURES) erasures = row.value;
      else current = row.value === this.masterKcv;
    if (!current) throw this.rotatedAway();
    if (erasures === this.erasures) return;
    this.erasures = erasures;
    this.forgetAll();
  }

  /**
   * Claims in the journal (subject_claims) not merged yet, by IIN index: this process's own (seq Infinity until their
   * batch commits) and those read from the file, at start and whenever another connection wrote (noticeErasures).
   * knownSubject reads such a subject by id, since subjects_by_iin does not have it yet. Kept in memory only while
   * unmerged, so at most about MERGE_AT entries under load.
   */
  private readonly journaled = new Map<string, { kid: string; seq: number }>();
  private journalSeen = 0;
  private mergeTimer: NodeJS.Timeout | null = null;

  private readJournal(): void {
    for (const row of this.sql('SELECT seq, subject_id, iin_index FROM subject_claims WHERE seq > ? ORDER BY seq').all(
      this.journalSeen,
    ) as Array<{ seq: number; subject_id: string; iin_index: string }>) {
      this.journaled.set(row.iin_index, { kid: row.subject_id, seq: row.seq });
      this.journalSeen = row.seq;
    }
    // Claims another process merged are in the index now.
    const first = (this.sql('SELECT min(seq) FROM subject_claims').pluck().get() as number | null) ?? Infinity;
    for (const [iinIndex, claim] of this.journaled)
      if (claim.seq < first && claim.seq <= this.journalSeen) this.journaled.delete(iinIndex);
  }

  private scheduleMerge(): void {
    if (this.journaled.size >= MERGE_AT) {
      if (this.mergeTimer) clearTimeout(this.mergeTimer);
      this.mergeTimer = setTimeout(() => this.mergeClaims(false), 0).unref();
    } else if (this.mergeTimer) this.mergeTimer.refresh();
    else this.mergeTimer = setTimeout(() => this.mergeClaims(false), this.mergeIdleMs).unref();
  }

  /**
   * Merges the journal of claims into the subjects' rows and the IIN index in one transaction, many claims' index pages
   * written once, outside any command's turn (at an idle moment, or past MERGE_AT claims). Until then a claim is found
   * through the journal (knownSubject, subjectsOf), in this process and in any other, and after a crash: the journal is
   * committed with the claim, so nothing is lost between the two. The timer's merge does not wait for a write lock
   * another process holds (the request thread would sleep); it tries again at the next idle moment. Answers how many.
   */
  mergeClaims(wait = true): number {
    if (this.mergeTimer) clearTimeout(this.mergeTimer);
    this.mergeTimer = null;
    try {
      return this.waitingForLock(wait, () => {
        const upTo = this.sql('SELECT max(seq) FROM subject_claims').pluck().get() as number | null;
        if (upTo === null) return 0;
        const merged = this.db
          .transaction(() => {
            const count = this.sql(
              `UPDATE subjects SET iin_index = c.iin_index, created_at = c.created_at FROM subject_claims c
               WHERE c.subject_id = subjects.subject_id AND c.seq <= ?`,
            ).run(upTo).changes;
            this.sql('DELETE FROM subject_claims WHERE seq <= ?').run(upTo);
            return count;
          })
          .immediate();
        for (const [iinIndex, claim] of this.journaled) if (claim.seq <= upTo) this.journaled.delete(iinIndex);
        return merged;
      });
    } catch (error) {
      if (wait) throw this.storageError(error);
      // Nothing is lost: the claims stay in the journal, found through it, and are merged at the next idle moment (not
      // at once even past MERGE_AT: another process may hold the write lock for a while).
      this.mergeTimer = setTimeout(() => this.mergeClaims(false), this.mergeIdleMs).unref();
      return 0;
    }
  }

  private forgetAll(): void {
    this.unwrapped.clear();
    this.caseSubjects.clear();
    this.liveSubjects.clear();
  }

  private unwrap(kid: string, wrapped: Buffer): Buffer {
    let key = this.unwrapped.get(kid);
    if (!key) {
      key = this.unwrapStored(kid, wrapped);
      this.unwrapped.set(kid, key);
    }
    return key;
  }

  /**
   * Keys for new subjects are made ahead, in groups, and on disk (fsynced) before any is handed out: a filing then
   * waits for no disk, and no act is ever stored before the key that opens it. Only this process hands out the keys
   * it made; a key left unclaimed by a process that ended is never handed out again (it may have been claimed by an
   * act whose claim did not reach the disk, so it is never given to a second person). Subject ids are UUID v7 (the
   * time, then random bits; newId): a group's rows, each filing's claim of one and its case link then land on the
   * last pages of the subjects table and of the links' index by subject, where random ids dirtied a page of each per
   * filing (the claims' commit of ten filings: about 160 µs of CPU instead of 230, measured on better-sqlite3 alone).
   */
  private readonly pool: Array<{ kid: string; key: Buffer }> = [];
  private refilling: Promise<void> | null = null;

  private async takeFromPool(): Promise<{ kid: string; key: Buffer }> {
    while (this.pool.length === 0) await this.refill();
    const taken = this.pool.shift()!;
    if (this.pool.length < POOL_LOW) this.refillSoon();
    return taken;
  }

  private refillQueued = false;

  /**
   * The next group is made after this turn's appends are handed to the log's writer (two immediates later, as the
   * claims' commit), while the writer commits them: made in the turn that took the key, its 64 keys' wrapping and
   * insert (about half a millisecond) held up every command of that turn before its append.
   */
  private refillSoon(): void {
    if (this.refillQueued || this.refilling) return;
    this.refillQueued = true;
    setImmediate(() =>
      setImmediate(() => {
        this.refillQueued = false;
        // A filing that found the pool empty meanwhile has made the group already.
        if (this.pool.length < POOL_LOW) void this.refill().catch(() => undefined);
      }),
    );
  }

  private refill(): Promise<void> {
    this.refilling ??= (async () => {
      try {
        // The group's keys and wrapping IVs from one CSPRNG draw: two calls per key cost more than the keys' wrapping.
        // Each key and each IV are fresh random bytes, used once, as before.
        const material = randomBytes(POOL_SIZE * (KEY_BYTES + WRAP_IV_BYTES));
        const made = Array.from({ length: POOL_SIZE }, (_, i) => {
          const at = i * (KEY_BYTES + WRAP_IV_BYTES);
          // A copy: the pool's key outlives the draw, whose other bytes are other keys.
          const key = Buffer.from(material.subarray(at, at + KEY_BYTES));
          return { kid: newId(), key, iv: material.subarray(at + KEY_BYTES, at + KEY_BYTES + WRAP_IV_BYTES) };
        });
        const insert = this.sql(
          "INSERT INTO subjects (subject_id, iin_index, wrapped_key, created_at) VALUES (?, '', ?, ?)",
        );
        const at = new Date().toISOString();
        this.db
          .transaction(() => {
            // Stored only while the store's check value is still this master key's, read under the write lock this
            // transaction takes first (IMMEDIATE), as a rotation does: the rotation commits before (this group is
            // refused, and this process with it) or after (it re-wraps the group with every other key). A group made
            // under a retired key, by an API left running beside a rotation, did not unwrap after its restart with the
            // new key: the people it went to lost their personal data.
            if (!this.masterKeyCurrent()) throw this.rotatedAway();
            made.forEach((k) => insert.run(k.kid, wrapKey(this.master, k.kid, k.key, k.iv), at));
          })
          .immediate();
        material.fill(0);
        await this.syncWal();
        this.pool.push(...made.map(({ kid, key }) => ({ kid, key })));
      } finally {
        this.refilling = null;
      }
    })();
    return this.refilling;
  }

  private walHandle: FileHandle | null = null;

  /**
   * Commits run with synchronous=NORMAL: SQLite writes the WAL frames without waiting for the disk, and this fsyncs the
   * WAL file on libuv's thread pool, so the request thread never blocks on the disk. New keys are handed out only after
   * it (see refill), so no act is ever on disk before the key that opens it.
   */
  private async syncWal(): Promise<void> {
    try {
      this.walHandle ??= await open(`${this.location}-wal`, 'r');
      await this.walHandle.datasync();
    } catch (error) {
      // No WAL file: SQLite wrote the commit to the database file itself (and synced it, as a checkpoint does).
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
    }
  }

  async subjectsOfCases(caseIds: readonly string[]): Promise<Map<string, string>> {
    this.flushWrites();
    const byCase = this.sql('SELECT subject_id FROM case_subjects WHERE case_id = ?').pluck();
    const subjects = new Map<string, string>();
    for (const caseId of new Set(caseIds)) {
      const subject = byCase.get(caseId) as string | undefined;
      if (subject !== undefined) subjects.set(caseId, subject);
    }
    return subjects;
  }

  async subjectOfCase(caseId: string): Promise<string | null> {
    this.flushWrites();
    return (
      (this.sql('SELECT subject_id FROM case_subjects WHERE case_id = ?').pluck().get(caseId) as string | undefined) ??
      null
    );
  }

  /**
   * Unwrapped keys already looked up (null: erased), so a rebuild does not read and unwrap the same key for every act,
   * and the subjects of cases and IINs a filing needs. An erasure in this process drops them all; one made by another
   * process is noticed on the next lookup (noticeErasures).
   */
  private readonly unwrapped: LRUCache<string, Buffer | false>;
  private readonly caseSubjects: LRUCache<string, string>;
  private readonly liveSubjects: LRUCache<string, string>;

  async keysOf(kids: readonly string[]): Promise<Map<string, Buffer | null>> {
    this.noticeErasures();
    const get = this.sql('SELECT wrapped_key FROM subjects WHERE subject_id = ?').pluck();
    const keys = new Map<string, Buffer | null>();
    for (const kid of kids) {
      if (keys.has(kid)) continue;
      let key = this.unwrapped.get(kid);
      if (key === undefined) {
        const wrapped = get.get(kid) as Buffer | null | undefined;
        // No row at all is no erasure (an erased subject keeps its row): a key store missing rows read every applicant
        // of them as "erased", quietly.
        if (wrapped === undefined) throw subjectNotInStore(this.location, kid, 'rows');
        key = wrapped ? this.unwrapStored(kid, wrapped) : false;
        this.unwrapped.set(kid, key);
      }
      keys.set(kid, key || null);
    }
    return keys;
  }

  /**
   * A stored key unwrapped. One that does not unwrap under the master key that opened the store is damage, unless the
   * store was rotated since: then this process holds the retired key (MasterKeyRotatedError), and the key is whole.
   */
  private unwrapStored(kid: string, wrapped: Buffer): Buffer {
    try {
      return unwrapKey(this.master, kid, wrapped);
    } catch {
      if (!this.masterKeyCurrent()) throw this.rotatedAway();
      throw subjectKeyDamaged(this.location, kid);
    }
  }

  async unknownSubjects(kids: readonly string[]): Promise<string[]> {
    return subjectsNotIn(this.sql(SUBJECT_KNOWN), kids);
  }

  async subjectsOf(iinIndex: string): Promise<SubjectRecord[]> {
    this.flushWrites();
    // A claim still in the journal (this process's, another's, or one left by a crash) counts as merged.
    const rows = this.sql(
      `SELECT s.subject_id, COALESCE(c.iin_index, s.iin_index) AS iin_index,
              COALESCE(c.created_at, s.created_at) AS created_at, s.erased_at
       FROM subjects s LEFT JOIN subject_claims c USING (subject_id)
       WHERE s.subject_id IN (SELECT subject_id FROM subjects WHERE iin_index = ?
                              UNION SELECT subject_id FROM subject_claims WHERE iin_index = ?)
       ORDER BY created_at`,
    ).all(iinIndex, iinIndex) as Array<{
      subject_id: string;
      iin_index: string;
      created_at: string;
      erased_at: string | null;
    }>;
    return rows.map((r) => ({
      subjectId: r.subject_id,
      iinIndex: r.iin_index,
      createdAt: r.created_at,
      erasedAt: r.erased_at,
    }));
  }

  async casesOf(subjectId: string): Promise<string[]> {
    this.flushWrites();
    return this.sql('SELECT case_id FROM case_subjects WHERE subject_id = ? ORDER BY case_id')
      .pluck()
      .all(subjectId) as string[];
  }

  async destroy(subjectId: string, erasure: ErasureRecord): Promise<void> {
    this.flushWrites();
    // The subject's claim leaves the journal for its row first, so the row below is the only place its IIN index is.
    this.mergeClaims();
    this.forgetAll();
    this.db.transaction(() => {
      // The IIN's blind index goes with the key: kept, it would tell whose cases these were (the links below, the
      // erasure's event) to anyone who can compute the index, and the IIN space is small. The links stay, pointing at a
      // subject no IIN leads to: a later act on such a case is refused as erased.
      this.sql(
        "UPDATE subjects SET wrapped_key = NULL, iin_index = '', erased_at = ?, erasure = ? WHERE subject_id = ?",
      ).run(erasure.at, JSON.stringify(erasure), subjectId);
      this.sql('DELETE FROM subject_claims WHERE subject_id = ?').run(subjectId);
      this.sql('DELETE FROM erasure_holds WHERE subject_id = ?').run(subjectId);
      // Tells every other process that caches keys to drop them (noticeErasures).
      this.sql(
        "INSERT INTO meta (key, value) VALUES (?, '1') ON CONFLICT(key) DO UPDATE SET value = CAST(value AS INTEGER) + 1",
      ).run(ERASURES);
    })();
    this.erasures =
      (this.sql('SELECT value FROM meta WHERE key = ?').pluck().get(ERASURES) as string | undefined) ?? '0';
    for (const [iinIndex, claim] of this.journaled) if (claim.kid === subjectId) this.journaled.delete(iinIndex);
    // The old page images with the wrapped key, the index and the links still stand in keys.db and its WAL.
    this.purgeOldImages();
  }

  /** Set while a purge is owed: its next try. */
  private purgeTimer: NodeJS.Timeout | null = null;

  /**
   * Copies every WAL frame back into keys.db and truncates the WAL: the page images that held a destroyed key (or keys
   * wrapped under a retired master key) are overwritten by the new ones, whose freed cells secure_delete zeroed, and no
   * old frame is left. A reader on an older snapshot (another process, a backup, an operator's shell) keeps the old
   * images in use: the purge then waits 5 ms for it, not the connection's 5 s on the thread that answers requests, is
   * owed and tried every second until done, once more at close, and at the next open. True when done.
   */
  purgeOldImages(): boolean {
    if (this.purgeTimer) clearTimeout(this.purgeTimer);
    this.purgeTimer = null;
    let done = false;
    try {
      done = purgeOldPageImages(this.db);
    } catch (error) {
      // Another connection's lock outlasted the wait: owed, as when the checkpoint reports itself blocked.
      if (!isBusy(error)) throw error;
    }
    if (!done) this.purgeTimer = setTimeout(() => this.purgeLater(), PURGE_RETRY_MS).unref();
    return done;
  }

  /** The timer's try: any failure (a full disk) leaves the purge owed and tried again, never thrown out of a timer. */
  private purgeLater(): void {
    this.purgeTimer = null;
    try {
      this.purgeOldImages();
    } catch {
      if (this.db.open) this.purgeTimer = setTimeout(() => this.purgeLater(), PURGE_RETRY_MS).unref();
    }
  }

  async rotate(newMaster: Buffer): Promise<number> {
    this.refuseIfRotated();
    this.flushWrites();
    let count = 0;
    this.db
      .transaction(() => {
        // Another rotation came first: what this process holds is not the key the store's keys are wrapped with.
        if (!this.masterKeyCurrent()) throw this.rotatedAway();
        const rewrap = (id: string, wrapped: Buffer) => wrapKey(newMaster, id, unwrapKey(this.master, id, wrapped));
        for (const row of this.sql('SELECT id, wrapped FROM service_keys').all() as Array<{
          id: string;
          wrapped: Buffer;
        }>) {
          this.sql('UPDATE service_keys SET wrapped = ? WHERE id = ?').run(rewrap(row.id, row.wrapped), row.id);
          count++;
        }
        for (const row of this.sql(
          'SELECT subject_id AS id, wrapped_key AS wrapped FROM subjects WHERE wrapped_key IS NOT NULL',
        ).all() as Array<{ id: string; wrapped: Buffer }>) {
          this.sql('UPDATE subjects SET wrapped_key = ? WHERE subject_id = ?').run(rewrap(row.id, row.wrapped), row.id);
          count++;
        }
        this.sql("UPDATE meta SET value = ? WHERE key = 'master_kcv'").run(keyCheckValue(newMaster));
      })
      .immediate();
    this.master = newMaster;
    this.masterKcv = keyCheckValue(newMaster);
    // The keys as the retired master key wrapped them stand in the old page images until these are purged.
    this.purgeOldImages();
    return count;
  }

  async close(): Promise<void> {
    this.flushWrites();
    // A clean stop leaves no journal to read back; a merge refused now (a full disk) is left for the next start.
    try {
      this.mergeClaims();
    } catch {
      // The claims stay in the journal, read back at the next start.
    }
    await this.checkpointer.stop();
    try {
      // An owed purge tried once more; refused now, it is tried again at the next open.
      if (this.purgeTimer) this.purgeOldImages();
    } catch {
      // Left owed for the next open.
    } finally {
      if (this.purgeTimer) clearTimeout(this.purgeTimer);
    }
    await this.walHandle?.close().catch(() => undefined);
    this.walHandle = null;
    this.db.close();
  }
}

/** What the commit of a new case's link to an existing subject made of it: refused where a hold or an erasure stood. */
interface Linking {
  refused: boolean;
  /** A filing's case linked already to this subject, which an erasure holds (see claimForCase's `filing`). */
  beingErased?: boolean;
}

/** A subject knownSubject found; `linking` when it links a new case to an existing subject (settled with `stored`). */
type KnownSubject = StoreSubject & { linking?: Linking };
/** A waiting link's subject erased meanwhile: no key to encrypt under (see knownSubject). */
const NO_KEY = Buffer.alloc(0);

/** SQLITE_BUSY and its extended codes (SQLITE_BUSY_SNAPSHOT, _RECOVERY): another connection held the lock too long. */
function isBusy(error: unknown): boolean {
  return String((error as { code?: string }).code ?? '').startsWith('SQLITE_BUSY');
}

/** The store's master key check value, as a subquery. */
const STORED_KCV = "(SELECT value FROM meta WHERE key = 'master_kcv')";

/** Whether keys.db has a record of a subject (its key, or its erasure): what unknownSubjects asks of each. */
export const SUBJECT_KNOWN = 'SELECT 1 FROM subjects WHERE subject_id = ?';

/** The subjects among `kids` the statement (SUBJECT_KNOWN, on any connection to a keys.db) finds no record of. */
export function subjectsNotIn(known: Statement, kids: readonly string[]): string[] {
  const found = known.pluck();
  return [...new Set(kids)].filter((kid) => found.get(kid) === undefined);
}
