/**
 * The production key store: collections `personalDataKeys` (the check value and service keys) and
 * `personalDataSubjects` / `personalDataCases` in the read store's database, written with majority acknowledgement.
 * Kept in MongoDB, never in the event log. An erased subject's key is removed with $unset; MongoDB's own copies
 * (oplog, backups) age out on their schedules, which the operator sets (see README).
 */
import { randomInt, randomUUID } from 'node:crypto';
import {
  Binary,
  MongoClient,
  MongoServerError,
  type AnyBulkWriteOperation,
  type ClientSession,
  type Collection,
  type Filter,
  type MatchKeysAndValues,
} from 'mongodb';
import { mongoClientOptions } from '../../read-store/mongodb/mongodb-read-store';
import { StoreUnavailableError, WRITE_CONFLICT } from '../../../shared/problem/store-unavailable';
import { keyCheckValue, masterKeyMatches, newDataKey, unwrapKey, wrapKey } from '../domain/key-wrapping';
import {
  BLIND_INDEX_KEY_ID,
  ERASURE_HOLD_MS,
  erasureHold,
  SubjectCounts,
  type ErasureHold,
  MasterKeyMismatchError,
  MasterKeyRotatedError,
  MasterKeyRotatingError,
  SubjectBeingErasedError,
  SubjectErasedError,
  holdStands,
  subjectKeyDamaged,
  subjectNotInStore,
  type ErasureRecord,
  type PersonalKeyStore,
  type StoreSubject,
  type SubjectRecord,
} from './key-store.port';

interface KeyDoc {
  _id: string;
  value?: string;
  wrapped?: Binary;
  /** A guard of the check value's count of writes (guarded): what makes two transactions writing it conflict. */
  writes?: number;
}
interface SubjectDoc {
  _id: string;
  iinIndex: string;
  wrapped?: Binary;
  createdAt: string;
  erasedAt?: string;
  erasure?: ErasureRecord;
  /** The holds of erasures in progress (holdForErasure), each until it is released or lapses. */
  erasureHolds?: Array<{ token: string; until: Date }>;
}
interface CaseDoc {
  _id: string;
  subjectId: string;
  /** Set while the filing that wrote the link has not confirmed it (confirmLink): it may still take it back. */
  pendingSince?: Date;
}

const bytes = (b: Binary): Buffer => Buffer.from(b.buffer);
const isDuplicate = (error: unknown) => error instanceof MongoServerError && error.code === 11000;
/** A subject no erasure holds now (a lapsed hold holds nothing). */
const notHeld = () => ({ erasureHolds: { $not: { $elemMatch: { until: { $gt: new Date(Date.now()) } } } } });
/** A pinned hold's `until` (ErasureHold.pin): it stands until the subject's key is destroyed. */
const PINNED = new Date(8.64e15);
/** A link left unconfirmed this long: its filing stopped, and the next filing of the case settles it. */
const PENDING_LINK_STALE_MS = 10_000;
const PENDING_LINK_POLL_MS = 20;
/** The master key's check value, in personalDataKeys. */
const KCV_ID = 'master-kcv';
/**
 * Documents beside the check value that every new wrapped key's transaction writes one of, and every rotation all of
 * (guarded): many, so that the new keys of filings at the same moment seldom write the same one and retry.
 */
const KCV_GUARDS = 32;
/** How long a new key's transaction is run again after write conflicts before it is refused (MasterKeyRotatingError). */
const GUARD_WAIT_MS = 3_000;
/** Keys a rotation re-wraps in one bulk write (rewrapped). */
const REWRAP_PAGE = 1_000;
const kcvGuard = (n: number): string => `master-kcv-guard/${n}`;
const guardWrite = (n: number) => ({
  updateOne: { filter: { _id: kcvGuard(n) }, update: { $inc: { writes: 1 } }, upsert: true },
});

export class MongoKeyStore implements PersonalKeyStore {
  readonly location: string;
  blindIndexKey!: Buffer;
  /** The check value of `master`: what the stored one must still be for this process to store a key wrapped under it. */
  private masterKcv: string;

  private constructor(
    private readonly client: MongoClient,
    private readonly keys: Collection<KeyDoc>,
    private readonly subjects: Collection<SubjectDoc>,
    private readonly cases: Collection<CaseDoc>,
    private master: Buffer,
    database: string,
  ) {
    this.location = `MongoDB ${database}.personalDataKeys`;
    this.masterKcv = keyCheckValue(master);
  }

  static async open({ url, database }: { url: string; database: string }, master: Buffer): Promise<MongoKeyStore> {
    const client = new MongoClient(url, mongoClientOptions(url));
    await client.connect();
    try {
      const db = client.db(database);
      const store = new MongoKeyStore(
        client,
        db.collection('personalDataKeys'),
        db.collection('personalDataSubjects'),
        db.collection('personalDataCases'),
        master,
        database,
      );
      await store.subjects.createIndex({ iinIndex: 1 });
      await store.cases.createIndex({ subjectId: 1 });
      await store.insertOnce({ _id: KCV_ID, value: keyCheckValue(master) });
      const kcv = await store.keys.findOne({ _id: KCV_ID });
      if (!kcv?.value || !masterKeyMatches(master, kcv.value)) throw new MasterKeyMismatchError(store.location);
      // The guards exist before any key is made (guarded upserts one too, should it be missing).
      await store.keys.bulkWrite(
        Array.from({ length: KCV_GUARDS }, (_, n) => ({
          updateOne: { filter: { _id: kcvGuard(n) }, update: { $setOnInsert: { writes: 0 } }, upsert: true },
        })),
        { ordered: false },
      );
      try {
        await store.guarded((session) =>
          store.keys.insertOne(
            { _id: BLIND_INDEX_KEY_ID, wrapped: new Binary(wrapKey(master, BLIND_INDEX_KEY_ID, newDataKey())) },
            { session },
          ),
        );
      } catch (error) {
        // Another process made it first; or a rotation came between the check above and this start's first key.
        if (error instanceof MasterKeyRotatedError) throw new MasterKeyMismatchError(store.location);
        if (!isDuplicate(error)) throw error;
      }
      const blind = await store.keys.findOne({ _id: BLIND_INDEX_KEY_ID });
      try {
        store.blindIndexKey = unwrapKey(master, BLIND_INDEX_KEY_ID, bytes(blind!.wrapped!));
      } catch (error) {
        if ((await store.keys.findOne({ _id: KCV_ID }))?.value !== store.masterKcv)
          throw new MasterKeyMismatchError(store.location);
        throw error;
      }
      return store;
    } catch (error) {
      await client.close();
      throw error;
    }
  }

  /**
   * Runs `write`, which stores a key wrapped under this process's master key, in a transaction that first reads the
   * stored check value (refused, MasterKeyRotatedError, when it is another key's) and then writes one of the guards.
   * A rotation writes every guard in its transaction: of two transactions that write one document, MongoDB aborts the
   * second to write it (WriteConflict, labelled TransientTransactionError) and withTransaction runs it again on a new
   * snapshot. So the rotation either sees this key (and re-wraps it) or commits first, and this transaction, run again,
   * finds the new check value and stores nothing. Reading the check value alone would not do: both transactions would
   * commit, each on its own snapshot, and leave a key wrapped under the retired master, which no restart unwraps. An API
   * left running beside a rotation made such keys for every new person it filed: their personal data was lost.
   */
  private async guarded(write: (session: ClientSession) => Promise<unknown>): Promise<void> {
    const session = this.client.startSession();
    const giveUpAt = Date.now() + GUARD_WAIT_MS;
    // Why the last attempt failed: a network fault is labelled TransientTransactionError too (sdam/server.js), and a
    // failover is no rotation, so it is answered as the store not answering.
    let conflicted = false;
    try {
      await session.withTransaction(async () => {
        // Run again after a write conflict (withTransaction retries a TransientTransactionError for two minutes): past
        // GUARD_WAIT_MS a rotation holds the guards, and the filing is answered 503 rather than left waiting for it. An
        // error that is not MongoDB's ends withTransaction at once, the transaction aborted.
        if (Date.now() > giveUpAt)
          throw conflicted
            ? new MasterKeyRotatingError(this.location)
            : new StoreUnavailableError('The personal-data key store');
        conflicted = false;
        try {
          const kcv = await this.keys.findOne({ _id: KCV_ID }, { session });
          if (kcv?.value !== this.masterKcv) throw new MasterKeyRotatedError(this.location);
          const guard = guardWrite(randomInt(KCV_GUARDS)).updateOne;
          await this.keys.updateOne(guard.filter, guard.update, { session, upsert: true });
          await write(session);
        } catch (error) {
          conflicted = error instanceof MongoServerError && error.code === WRITE_CONFLICT;
          throw error;
        }
      });
    } finally {
      await session.endSession();
    }
  }

  /**
   * A stored key unwrapped. One that does not unwrap under this process's master key is damage, unless the store was
   * rotated since this process opened it: it holds the retired key (MasterKeyRotatedError), and the key is whole.
   */
  private async unwrapStored(kid: string, wrapped: Binary): Promise<Buffer> {
    try {
      return unwrapKey(this.master, kid, bytes(wrapped));
    } catch {
      if ((await this.keys.findOne({ _id: KCV_ID }))?.value !== this.masterKcv)
        throw new MasterKeyRotatedError(this.location);
      throw subjectKeyDamaged(this.location, kid);
    }
  }

  private async insertOnce(doc: KeyDoc): Promise<void> {
    try {
      await this.keys.insertOne(doc);
    } catch (error) {
      if (!isDuplicate(error)) throw error;
    }
  }

  /** Writes the subject and the link before it answers: `stored` is settled. */
  async claimForCase(iinIndex: string, caseId: string, now: Date, filing = false): Promise<StoreSubject> {
    return { ...(await this.subjectForCase(iinIndex, caseId, now, filing)), stored: Promise.resolve() };
  }

  async subjectForCase(
    iinIndex: string,
    caseId: string,
    now: Date,
    filing = false,
  ): Promise<{ kid: string; key: Buffer }> {
    return this.subjectPassingOver(iinIndex, caseId, now, [], filing);
  }

  /**
   * subjectForCase, passing over the subjects an erasure held between this filing's finding them and its link. The link
   * is written pending, its subject read again, and only then confirmed (confirmLink): an erasure stores its hold
   * before it reads the subject's cases (pending links included), so either that read finds the link or this one finds
   * the hold. Another filing of the same case (a retry) waits for a pending link rather than encrypt under a subject
   * whose link may yet be taken back.
   */
  private async subjectPassingOver(
    iinIndex: string,
    caseId: string,
    now: Date,
    passedOver: string[],
    filing: boolean,
  ): Promise<{ kid: string; key: Buffer }> {
    for (;;) {
      const linked = await this.cases.findOne({ _id: caseId });
      if (linked?.pendingSince) {
        await this.settlePending(linked);
        continue;
      }
      if (linked) {
        const subject = await this.subjects.findOne({ _id: linked.subjectId });
        if (!subject?.wrapped) throw new SubjectErasedError(caseId);
        if (filing && (this.held.has(subject._id) || holdStands(subject.erasureHolds)))
          throw new SubjectBeingErasedError(caseId);
        return { kid: subject._id, key: await this.unwrapStored(subject._id, subject.wrapped) };
      }
      let subject: { kid: string; key: Buffer };
      // A subject an erasure holds (in this process, or stored by any instance's) is given to no new case.
      const passed = [...this.held.ids, ...passedOver];
      const live = await this.subjects.findOne(
        { iinIndex, wrapped: { $exists: true }, ...notHeld(), ...(passed.length > 0 ? { _id: { $nin: passed } } : {}) },
        { sort: { createdAt: 1 } },
      );
      if (live?.wrapped) subject = { kid: live._id, key: await this.unwrapStored(live._id, live.wrapped) };
      else {
        subject = { kid: randomUUID(), key: newDataKey() };
        const made = subject;
        await this.guarded((session) =>
          this.subjects.insertOne(
            {
              _id: made.kid,
              iinIndex,
              wrapped: new Binary(wrapKey(this.master, made.kid, made.key)),
              createdAt: now.toISOString(),
            },
            { session },
          ),
        );
      }
      const pendingSince = new Date(Date.now());
      try {
        await this.cases.insertOne({ _id: caseId, subjectId: subject.kid, pendingSince });
      } catch (error) {
        if (!isDuplicate(error)) throw error;
        continue;
      }
      // A subject just made is found by its IIN too, so an erasure may hold it as well.
      if (await this.confirmLink({ _id: caseId, subjectId: subject.kid, pendingSince })) return subject;
      passedOver.push(subject.kid);
    }
  }

  /**
   * Confirms a pending link if its subject lives and no erasure holds it (read after the link was written), else takes
   * it back; false when taken back, or when another filing of the case settled it first.
   */
  private async confirmLink(link: CaseDoc): Promise<boolean> {
    const pending = { _id: link._id, subjectId: link.subjectId, pendingSince: link.pendingSince };
    const live = await this.subjects.findOne(
      { _id: link.subjectId, wrapped: { $exists: true }, ...notHeld() },
      { projection: { _id: 1 } },
    );
    if (live) return (await this.cases.updateOne(pending, { $unset: { pendingSince: '' } })).matchedCount === 1;
    await this.cases.deleteOne(pending);
    return false;
  }

  /** A link another filing of the case has not confirmed: waited for, and settled here once that filing is past waiting for. */
  private async settlePending(link: CaseDoc): Promise<void> {
    if (Date.now() - link.pendingSince!.getTime() < PENDING_LINK_STALE_MS)
      await new Promise((resolve) => setTimeout(resolve, PENDING_LINK_POLL_MS));
    // Its filing stopped between writing the link and confirming it, so encrypted nothing under it.
    else await this.confirmLink(link);
  }

  private readonly held = new SubjectCounts();

  holdForErasure(subjectIds: readonly string[]): Promise<ErasureHold> {
    const token = randomUUID();
    return erasureHold(this.held, subjectIds, (ids) => ({
      take: async () => {
        await this.subjects.updateMany(
          { _id: { $in: ids } },
          { $push: { erasureHolds: { token, until: new Date(Date.now() + ERASURE_HOLD_MS) } } },
        );
      },
      pin: async () =>
        (
          await this.subjects.updateMany(
            { _id: { $in: ids }, erasureHolds: { $elemMatch: { token, until: { $gt: new Date(Date.now()) } } } },
            { $set: { 'erasureHolds.$[hold].until': PINNED } },
            { arrayFilters: [{ 'hold.token': token }] },
          )
        ).matchedCount === ids.length,
      release: async (pinnedToo) => {
        // Not released (the server unreachable): the hold lapses after ERASURE_HOLD_MS (a pinned one stands).
        await this.subjects
          .updateMany(
            { _id: { $in: ids } },
            { $pull: { erasureHolds: pinnedToo ? { token } : { token, until: { $lt: PINNED } } } },
          )
          .catch(() => undefined);
      },
    }));
  }

  async subjectOfCase(caseId: string): Promise<string | null> {
    return (await this.cases.findOne({ _id: caseId }))?.subjectId ?? null;
  }

  async subjectsOfCases(caseIds: readonly string[]): Promise<Map<string, string>> {
    const found = await this.cases.find({ _id: { $in: [...new Set(caseIds)] } }).toArray();
    return new Map(found.map((c) => [c._id, c.subjectId]));
  }

  async keysOf(kids: readonly string[]): Promise<Map<string, Buffer | null>> {
    const unique = [...new Set(kids)];
    const found = await this.subjects.find({ _id: { $in: unique } }).toArray();
    // No document at all is no erasure (an erased subject keeps its document): the store has lost it.
    const foundIds = new Set(found.map((s) => s._id));
    const missing = unique.find((kid) => !foundIds.has(kid));
    if (missing !== undefined) throw subjectNotInStore(this.location, missing, 'documents');
    const keys = new Map<string, Buffer | null>(unique.map((kid) => [kid, null]));
    for (const s of found) if (s.wrapped) keys.set(s._id, await this.unwrapStored(s._id, s.wrapped));
    return keys;
  }

  async unknownSubjects(kids: readonly string[]): Promise<string[]> {
    const unique = [...new Set(kids)];
    const found = await this.subjects.find({ _id: { $in: unique } }, { projection: { _id: 1 } }).toArray();
    const known = new Set(found.map((s) => s._id));
    return unique.filter((kid) => !known.has(kid));
  }

  async subjectsOf(iinIndex: string): Promise<SubjectRecord[]> {
    const found = await this.subjects.find({ iinIndex }, { sort: { createdAt: 1 } }).toArray();
    return found.map((s) => ({
      subjectId: s._id,
      iinIndex: s.iinIndex,
      createdAt: s.createdAt,
      erasedAt: s.erasedAt ?? null,
    }));
  }

  async casesOf(subjectId: string): Promise<string[]> {
    return (await this.cases.find({ subjectId }, { sort: { _id: 1 } }).toArray()).map((c) => c._id);
  }

  async destroy(subjectId: string, erasure: ErasureRecord): Promise<void> {
    // The IIN's blind index goes with the key (as in the embedded store): kept, it would tell whose cases these were to
    // anyone who can compute the index. The links stay, pointing at a subject no IIN leads to.
    await this.subjects.updateOne(
      { _id: subjectId },
      { $unset: { wrapped: '', erasureHolds: '' }, $set: { erasedAt: erasure.at, erasure, iinIndex: '' } },
    );
  }

  async rotate(newMaster: Buffer): Promise<number> {
    let count = 0;
    const session = this.client.startSession();
    try {
      await session.withTransaction(async () => {
        // A retried transaction starts counting again.
        count = 0;
        // Only while the stored check value is this process's key's: another rotation came first otherwise.
        const kcv = await this.keys.updateOne(
          { _id: KCV_ID, value: this.masterKcv },
          { $set: { value: keyCheckValue(newMaster) } },
          { session },
        );
        if (kcv.matchedCount !== 1) throw new MasterKeyRotatedError(this.location);
        // Every guard: a process's new key being stored meanwhile (guarded) conflicts with this transaction, and the
        // one of the two that wrote second is run again (see guarded).
        await this.keys.bulkWrite(
          Array.from({ length: KCV_GUARDS }, (_, n) => guardWrite(n)),
          { session, ordered: true },
        );
        count += await this.rewrapped(this.keys, newMaster, session);
        count += await this.rewrapped(this.subjects, newMaster, session);
      });
    } finally {
      await session.endSession();
    }
    this.master = newMaster;
    this.masterKcv = keyCheckValue(newMaster);
    return count;
  }

  /**
   * Re-wraps every key a collection stores under newMaster, in the rotation's transaction, REWRAP_PAGE keys a round
   * trip. One awaited update per key kept the transaction open about half a millisecond a key: past MongoDB's
   * transaction lifetime (60 s, about 100,000 subjects) the server aborted it, and withTransaction ran the whole
   * rotation again, its guards written each time, for two minutes before it failed. The ids and keys are read first:
   * an update does not move a document back under the cursor that found it.
   */
  private async rewrapped<T extends { _id: string; wrapped?: Binary }>(
    collection: Collection<T>,
    newMaster: Buffer,
    session: ClientSession,
  ): Promise<number> {
    const stored = await collection
      .find({ wrapped: { $exists: true } } as Filter<T>, { session, projection: { _id: 1, wrapped: 1 } })
      .toArray();
    for (let at = 0; at < stored.length; at += REWRAP_PAGE)
      await collection.bulkWrite(
        stored.slice(at, at + REWRAP_PAGE).map((doc) => ({
          updateOne: {
            filter: { _id: doc._id } as Filter<T>,
            update: {
              $set: {
                wrapped: new Binary(wrapKey(newMaster, doc._id, unwrapKey(this.master, doc._id, bytes(doc.wrapped!)))),
              } as MatchKeysAndValues<T>,
            },
          },
        })) as AnyBulkWriteOperation<T>[],
        { session, ordered: true },
      );
    return stored.length;
  }

  async close(): Promise<void> {
    await this.client.close();
  }
}
