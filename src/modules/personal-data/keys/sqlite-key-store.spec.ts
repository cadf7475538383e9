import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { newDataKey, unwrapKey } from '../domain/key-wrapping';
import { MasterKeyMismatchError, MasterKeyRotatedError } from './key-store.port';
import { KEY_STORE_FILE, SqliteKeyStore } from './sqlite-key-store';
import { describeKeyStoreContract } from './key-store.contract';

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'reglament-keys-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

const erasure = {
  at: '2026-01-01T00:00:00.000Z',
  basis: 'retention ended',
  reference: 'Law 94-V art. 12',
  by: 'operator',
};
/** A subject's wrapped key as keys.db stores it: what must not stay on disk once the subject is erased. */
const wrappedKeyOf = (kid: string): Buffer => {
  const raw = new Database(join(dir, KEY_STORE_FILE), { readonly: true });
  try {
    return raw.prepare('SELECT wrapped_key FROM subjects WHERE subject_id = ?').pluck().get(kid) as Buffer;
  } finally {
    raw.close();
  }
};
/** Whether a stored key unwraps under this master key. */
const canUnwrap = (master: Buffer, kid: string, wrapped: Buffer): boolean => {
  try {
    unwrapKey(master, kid, wrapped);
    return true;
  } catch {
    return false;
  }
};
/** Another process's reader (a backup, an operator's shell) in a transaction begun now: it keeps this snapshot's pages. */
function readerOnSnapshot(): Database.Database {
  const reader = new Database(join(dir, KEY_STORE_FILE), { readonly: true });
  reader.exec('BEGIN');
  reader.prepare('SELECT count(*) FROM subjects').get();
  return reader;
}
/** The key store's files as bytes: the database and whatever WAL it left. */
const onDisk = () =>
  Buffer.concat(
    readdirSync(dir)
      .filter((f) => f.startsWith(KEY_STORE_FILE))
      .map((f) => readFileSync(join(dir, f))),
  );

describeKeyStoreContract('sqlite', () => {
  const storage = mkdtempSync(join(tmpdir(), 'reglament-keys-contract-'));
  return {
    open: async (master) => SqliteKeyStore.open(storage, master),
    cleanup: async () => rmSync(storage, { recursive: true, force: true }),
  };
});

describe("a new case of a person with a subject, while another process holds keys.db's write lock", () => {
  /** The filing's store, another connection holding the write lock, and a subject of the person's known to the filing. */
  async function lockedBeside() {
    const master = newDataKey();
    const filing = SqliteKeyStore.open(dir, master);
    const held = await filing.subjectForCase('idx-1', 'case-1', new Date());
    const other = new Database(join(dir, KEY_STORE_FILE));
    other.exec('BEGIN IMMEDIATE');
    /** What an erasure by the other process commits: its hold on the subject, and (`counted`) an erasure done meanwhile. */
    const commitHold = ({ counted = false } = {}) => {
      other
        .prepare('INSERT INTO erasure_holds (subject_id, token, until) VALUES (?, ?, ?)')
        .run(held.kid, 'other', Date.now() + 60_000);
      if (counted)
        other.exec(
          "INSERT INTO meta (key, value) VALUES ('erasures', '1') ON CONFLICT(key) DO UPDATE SET value = CAST(value AS INTEGER) + 1",
        );
      other.exec('COMMIT');
    };
    return { filing, held, other, commitHold };
  }

  it('is linked once the lock is free, and a retry of the same filing waits for that link too: a hold committed first sends both to one new subject', async () => {
    const { filing, held, other, commitHold } = await lockedBeside();
    const first = filing.claimForCase('idx-1', 'case-2', new Date());
    const retry = filing.claimForCase('idx-1', 'case-2', new Date());
    commitHold();
    const claimed = [await first, await retry];
    expect(claimed[0]!.kid).not.toBe(held.kid);
    expect(claimed[1]!.kid).toBe(claimed[0]!.kid);
    await claimed[0]!.stored;
    expect(await filing.casesOf(held.kid)).toEqual(['case-1']);
    other.close();
    await filing.close();
  });

  it('a retry after the filing process forgot what it remembered (another erasure) waits for the same link', async () => {
    const { filing, held, other, commitHold } = await lockedBeside();
    const first = filing.claimForCase('idx-1', 'case-2', new Date());
    commitHold({ counted: true });
    const retry = await filing.claimForCase('idx-1', 'case-2', new Date());
    expect(retry.kid).not.toBe(held.kid);
    expect((await first).kid).toBe(retry.kid);
    other.close();
    await filing.close();
  });

  it('a retry after another process erased the subject while the link waited gets the new subject the filing gets, not an erasure', async () => {
    const { filing, held, other, commitHold } = await lockedBeside();
    const first = filing.claimForCase('idx-1', 'case-2', new Date());
    // The other process's erasure runs to its end (the key destroyed, the erasure counted) and it writes again at once,
    // so the first filing's link still waits for the lock when the same filing is sent again.
    other
      .prepare("UPDATE subjects SET wrapped_key = NULL, iin_index = '', erased_at = ? WHERE subject_id = ?")
      .run(erasure.at, held.kid);
    commitHold({ counted: true });
    other.exec('BEGIN IMMEDIATE');
    const retry = filing.claimForCase('idx-1', 'case-2', new Date());
    other.exec('COMMIT');
    try {
      const failures = await Promise.all([failureOf(first), failureOf(retry)]);
      expect(failures).toEqual(['nothing: it did not fail', 'nothing: it did not fail']);
      const [a, b] = [await first, await retry];
      expect(a.kid).not.toBe(held.kid);
      expect(b.kid).toBe(a.kid);
    } finally {
      other.close();
      await filing.close();
    }
  });

  it("is answered before an erasure's hold in the filing process returns, once that hold's flush committed its link: the erasure then counts its acts as being recorded", async () => {
    const { filing, held, other } = await lockedBeside();
    let answered = false;
    const asked = Date.now();
    const claim = filing.claimForCase('idx-1', 'case-2', new Date()).then((subject) => {
      answered = true;
      return subject;
    });
    // The thread that answers requests does not sleep in SQLite's busy handler (5 s) for the lock: it goes on.
    expect(Date.now() - asked).toBeLessThan(2_000);
    await new Promise((resolve) => setImmediate(resolve));
    expect(answered).toBe(false);
    other.exec('COMMIT');
    const hold = await filing.holdForErasure([held.kid]);
    expect(answered).toBe(true);
    expect((await claim).kid).toBe(held.kid);
    await hold.release();
    other.close();
    await filing.close();
  });
});

/**
 * What the promise failed with. Not `rejects.toThrow`: better-sqlite3's native part keeps the error class of the first
 * test file its worker loaded, whose Error is not this file's, and Jest then reads the rejection as no error at all.
 */
const failureOf = (promise: Promise<unknown>): Promise<string> =>
  promise.then(
    () => 'nothing: it did not fail',
    (error: unknown) => String((error as Error).message),
  );

/** Another connection to keys.db, making every insert into `table` fail as a full disk would until it drops `full`. */
function fullDiskFor(table: string): Database.Database {
  const other = new Database(join(dir, KEY_STORE_FILE));
  other.exec(`CREATE TRIGGER full BEFORE INSERT ON ${table} BEGIN SELECT RAISE(ABORT, 'disk full'); END`);
  return other;
}

describe('a new case of a person with a subject, whose link fails to be written', () => {
  it('failing for another reason than the lock (a full disk), leaves nothing remembered: a retry of the filing looks again, and finds the hold another process committed meanwhile', async () => {
    const filing = SqliteKeyStore.open(dir, newDataKey());
    const held = await filing.subjectForCase('idx-1', 'case-1', new Date());
    const other = fullDiskFor('case_subjects');
    expect(await failureOf(filing.claimForCase('idx-1', 'case-2', new Date()))).toContain('disk full');
    other.exec('DROP TRIGGER full');
    other
      .prepare('INSERT INTO erasure_holds (subject_id, token, until) VALUES (?, ?, ?)')
      .run(held.kid, 'other', Date.now() + 60_000);
    const retry = await filing.claimForCase('idx-1', 'case-2', new Date());
    await retry.stored;
    expect(retry.kid).not.toBe(held.kid);
    expect(await filing.subjectOfCase('case-2')).toBe(retry.kid);
    other.close();
    await filing.close();
  });

  it("of a person first claimed in the same turn, is committed with that claim: when the claim's commit fails, so does the second case", async () => {
    const filing = SqliteKeyStore.open(dir, newDataKey());
    const first = await filing.claimForCase('idx-9', 'case-a', new Date());
    const other = fullDiskFor('subject_claims');
    const second = filing.claimForCase('idx-9', 'case-b', new Date());
    expect(await failureOf(first.stored)).toContain('disk full');
    expect(await failureOf(second.then((s) => s.stored))).toContain('disk full');
    other.exec('DROP TRIGGER full');
    expect(await filing.casesOf(first.kid)).toEqual([]);
    other.close();
    await filing.close();
  });
});

describe('the embedded key store (keys.db)', () => {
  // Found by re-attacking: rows deleted from keys.db read as erased subjects, quietly.
  it('a subject it has no record of is damage, not an erasure: an erased subject keeps its record and reads as null', async () => {
    const store = SqliteKeyStore.open(dir, newDataKey());
    const kept = await store.subjectForCase('idx-1', 'case-1', new Date());
    const erased = await store.subjectForCase('idx-2', 'case-2', new Date());
    await store.destroy(erased.kid, erasure);
    const keys = await store.keysOf([kept.kid, erased.kid]);
    expect(keys.get(kept.kid)).toEqual(kept.key);
    expect(keys.get(erased.kid)).toBeNull();
    await expect(store.keysOf(['01900000-0000-7000-8000-00000000dead'])).rejects.toThrow(
      /keys\.db: holds no key for data subject 01900000-0000-7000-8000-00000000dead, .* the key store has lost rows, or is not this log's/,
    );
    expect(await store.unknownSubjects([kept.kid, erased.kid, 'gone'])).toEqual(['gone']);
    await store.close();
  });

  it('gives the cases of one IIN the same subject key, and each case the subject it was filed under', async () => {
    const store = SqliteKeyStore.open(dir, newDataKey());
    const a = await store.subjectForCase('idx-1', 'case-1', new Date());
    const b = await store.subjectForCase('idx-1', 'case-2', new Date());
    const other = await store.subjectForCase('idx-2', 'case-3', new Date());
    expect(b).toEqual(a);
    expect(other.kid).not.toBe(a.kid);
    expect(await store.subjectOfCase('case-2')).toBe(a.kid);
    expect(await store.casesOf(a.kid)).toEqual(['case-1', 'case-2']);
    await store.close();
  });

  it("after a restart, a person's new case gets their subject and a case's next act its own, both read from the file", async () => {
    const master = newDataKey();
    const first = SqliteKeyStore.open(dir, master);
    const a = await first.subjectForCase('idx-1', 'case-1', new Date());
    const b = await first.subjectForCase('idx-2', 'case-2', new Date());
    await first.close();
    const store = SqliteKeyStore.open(dir, master);
    expect(await store.subjectForCase('idx-1', 'case-3', new Date())).toEqual(a);
    expect(await store.subjectForCase('idx-9', 'case-2', new Date())).toEqual(b);
    const stranger = await store.subjectForCase('idx-3', 'case-4', new Date());
    expect([a.kid, b.kid]).not.toContain(stranger.kid);
    expect(await store.casesOf(a.kid)).toEqual(['case-1', 'case-3']);
    expect(await store.casesOf(b.kid)).toEqual(['case-2']);
    await store.close();
  });

  it('refuses a master key that is not the one its keys are wrapped with, naming the file', async () => {
    const store = SqliteKeyStore.open(dir, newDataKey());
    await store.close();
    expect(() => SqliteKeyStore.open(dir, newDataKey())).toThrow(MasterKeyMismatchError);
    expect(() => SqliteKeyStore.open(dir, newDataKey())).toThrow(
      `${join(dir, KEY_STORE_FILE)}: the configured personal-data master key is not the one`,
    );
  });

  it('a destroyed key is gone from the file and its WAL, and a later filing of the same IIN gets a new subject', async () => {
    const master = newDataKey();
    const store = SqliteKeyStore.open(dir, master);
    const subject = await store.subjectForCase('idx-1', 'case-1', new Date());
    const wrapped = wrappedKeyOf(subject.kid);
    expect(onDisk().includes(wrapped)).toBe(true);
    await store.destroy(subject.kid, erasure);
    expect((await store.keysOf([subject.kid])).get(subject.kid)).toBeNull();
    expect(onDisk().includes(wrapped)).toBe(false);
    // Nor does the IIN's blind index lead to the erased subject any more: not by lookup, not in the file or its WAL.
    expect(await store.subjectsOf('idx-1')).toEqual([]);
    expect(onDisk().includes(Buffer.from('idx-1'))).toBe(false);
    const again = await store.subjectForCase('idx-1', 'case-9', new Date());
    expect(again.kid).not.toBe(subject.kid);
    await expect(store.subjectForCase('idx-1', 'case-1', new Date())).rejects.toThrow(/case-1 was erased/);
    await store.close();
  });

  it('a destroyed key whose old page images a reader on an older snapshot keeps is purged once it lets go, and the destruction does not wait for it', async () => {
    const master = newDataKey();
    const store = SqliteKeyStore.open(dir, master);
    const subject = await store.subjectForCase('idx-1', 'case-1', new Date());
    const wrapped = wrappedKeyOf(subject.kid);
    const reader = readerOnSnapshot();
    const started = Date.now();
    await store.destroy(subject.kid, erasure);
    // The connection's busy timeout is 5 s: the thread that answers requests is not held that long.
    expect(Date.now() - started).toBeLessThan(2500);
    expect((await store.keysOf([subject.kid])).get(subject.kid)).toBeNull();
    expect(onDisk().includes(wrapped)).toBe(true);
    reader.exec('COMMIT');
    reader.close();
    for (let tries = 0; tries < 100 && onDisk().includes(wrapped); tries++)
      await new Promise((resolve) => setTimeout(resolve, 50));
    expect(onDisk().includes(wrapped)).toBe(false);
    await store.close();
  });

  it('a purge still owed when the store closes is done by the next open', async () => {
    const master = newDataKey();
    const store = SqliteKeyStore.open(dir, master);
    const subject = await store.subjectForCase('idx-1', 'case-1', new Date());
    const wrapped = wrappedKeyOf(subject.kid);
    const reader = readerOnSnapshot();
    await store.destroy(subject.kid, erasure);
    await store.close();
    expect(onDisk().includes(wrapped)).toBe(true);
    reader.exec('COMMIT');
    // The reader's connection stays open (another process still running): closing it would checkpoint the file itself.
    const next = SqliteKeyStore.open(dir, master);
    expect(onDisk().includes(wrapped)).toBe(false);
    reader.close();
    await next.close();
  });

  it('an erasure made through another connection (the CLI, the API while this is the worker) is seen by a store that holds the key in memory', async () => {
    const master = newDataKey();
    const api = SqliteKeyStore.open(dir, master);
    const worker = SqliteKeyStore.open(dir, master);
    const subject = await api.subjectForCase('idx-1', 'case-1', new Date());
    await api.subjectForCase('idx-1', 'case-2', new Date());
    // Both processes now hold the key, the case link and the IIN's live subject in memory.
    expect((await worker.keysOf([subject.kid])).get(subject.kid)).toEqual(subject.key);
    expect(await worker.subjectForCase('idx-1', 'case-1', new Date())).toEqual(subject);
    await api.destroy(subject.kid, erasure);
    expect((await worker.keysOf([subject.kid])).get(subject.kid)).toBeNull();
    await expect(worker.subjectForCase('idx-1', 'case-1', new Date())).rejects.toThrow(/case-1 was erased/);
    const next = await worker.subjectForCase('idx-1', 'case-3', new Date());
    expect(next.kid).not.toBe(subject.kid);
    await api.close();
    await worker.close();
  });

  it("an erasure made by another process (a real one, as the CLI's) is seen by a store that holds the key in memory and looked at the file just before", async () => {
    const master = newDataKey();
    const api = SqliteKeyStore.open(dir, master);
    const subject = await api.subjectForCase('idx-1', 'case-1', new Date());
    // The key, the case's link and the IIN's live subject are in memory, and the file was just looked at.
    expect((await api.keysOf([subject.kid])).get(subject.kid)).toEqual(subject.key);
    const erased = await new Promise<number | null>((resolve) =>
      spawn(
        process.execPath,
        [
          '-r',
          join(__dirname, '../../../../test/support/swc-register.js'),
          join(__dirname, '../../../../test/durability/key-store-erase.child.ts'),
          dir,
          master.toString('hex'),
          subject.kid,
        ],
        { stdio: ['ignore', 'inherit', 'inherit'] },
      ).on('exit', resolve),
    );
    expect(erased).toBe(0);
    expect((await api.keysOf([subject.kid])).get(subject.kid)).toBeNull();
    await expect(api.subjectForCase('idx-1', 'case-1', new Date())).rejects.toThrow(/case-1 was erased/);
    expect((await api.subjectForCase('idx-1', 'case-2', new Date())).kid).not.toBe(subject.kid);
    await api.close();
  }, 20_000);

  it("a returning person's new case, filed right after another process erased the subject this store holds in memory, gets a new subject: its batch refuses the link to the erased one", async () => {
    const master = newDataKey();
    const api = SqliteKeyStore.open(dir, master);
    const cli = SqliteKeyStore.open(dir, master);
    const erased = await api.subjectForCase('idx-1', 'case-1', new Date());
    await cli.destroy(erased.kid, erasure);
    // Nothing asks the file between the erasure and the filing: the store still holds the IIN's subject and its key.
    const next = await api.subjectForCase('idx-1', 'case-2', new Date());
    expect(next.kid).not.toBe(erased.kid);
    expect(next.key.equals(erased.key)).toBe(false);
    const raw = new Database(join(dir, KEY_STORE_FILE), { readonly: true });
    expect(raw.prepare('SELECT subject_id FROM case_subjects WHERE case_id = ?').pluck().get('case-2')).toBe(next.kid);
    raw.close();
    await expect(api.subjectForCase('idx-1', 'case-1', new Date())).rejects.toThrow(/case-1 was erased/);
    await api.close();
    await cli.close();
  });

  it.each([
    ['another process linked it', false],
    ['this store linked it, and let the link go from memory since', true],
  ])(
    "an act on a case linked to a subject another process erased is refused, also when the store holds that subject as the person's live one and the case's link is not in its memory (%s)",
    async (_, smallCache) => {
      const master = newDataKey();
      const api = SqliteKeyStore.open(dir, master, smallCache ? { cacheEntries: 2 } : {});
      const cli = SqliteKeyStore.open(dir, master);
      const filer = smallCache ? api : cli;
      const first = await filer.subjectForCase('idx-1', 'case-1', new Date());
      // Other filings push case-1's link out of a small cache; the person's next case makes the subject live here.
      await api.subjectForCase('idx-2', 'case-8', new Date());
      await api.subjectForCase('idx-3', 'case-9', new Date());
      expect((await api.subjectForCase('idx-1', 'case-2', new Date())).kid).toBe(first.kid);
      await cli.destroy(first.kid, erasure);
      await expect(api.subjectForCase('idx-1', 'case-1', new Date())).rejects.toThrow(/case-1 was erased/);
      await api.close();
      await cli.close();
    },
  );

  it("an act on a case this store has no link of in memory gets the case's own subject, not the live subject it holds for the person", async () => {
    const master = newDataKey();
    const api = SqliteKeyStore.open(dir, master);
    const other = SqliteKeyStore.open(dir, master);
    // Two processes claim a first subject for the same new person in the same moment, neither waiting for keys to be
    // made (each has filed before): each case has its own.
    await Promise.all([
      api.subjectForCase('idx-2', 'case-3', new Date()),
      other.subjectForCase('idx-3', 'case-4', new Date()),
    ]);
    const [mine, theirs] = await Promise.all([
      api.subjectForCase('idx-1', 'case-1', new Date()),
      other.subjectForCase('idx-1', 'case-2', new Date()),
    ]);
    expect(mine.kid).not.toBe(theirs.kid);
    // This store holds its own subject as the person's live one, and nothing of case-2.
    expect(await api.subjectForCase('idx-1', 'case-2', new Date())).toEqual(theirs);
    const raw = new Database(join(dir, KEY_STORE_FILE), { readonly: true });
    expect(raw.prepare('SELECT subject_id FROM case_subjects WHERE case_id = ?').pluck().get('case-2')).toBe(
      theirs.kid,
    );
    raw.close();
    await api.close();
    await other.close();
  });

  it("a new person's claim waits in the journal: found by IIN in this process, in another and after the merge, which takes it into the index", async () => {
    const master = newDataKey();
    const api = SqliteKeyStore.open(dir, master, { mergeIdleMs: 3_600_000 });
    const a = await api.subjectForCase('idx-1', 'case-1', new Date('2026-01-01T00:00:00Z'));
    const raw = new Database(join(dir, KEY_STORE_FILE), { readonly: true });
    const inIndex = () => raw.prepare('SELECT subject_id FROM subjects WHERE iin_index = ?').pluck().all('idx-1');
    const journal = () => raw.prepare('SELECT count(*) FROM subject_claims').pluck().get();
    expect(journal()).toBe(1);
    expect(inIndex()).toEqual([]);
    // Another process (the CLI's erase, a second API) finds the claim through the journal.
    const other = SqliteKeyStore.open(dir, master, { mergeIdleMs: 3_600_000 });
    expect(await other.subjectsOf('idx-1')).toEqual([
      { subjectId: a.kid, iinIndex: 'idx-1', createdAt: '2026-01-01T00:00:00.000Z', erasedAt: null },
    ]);
    expect(await other.subjectForCase('idx-1', 'case-2', new Date())).toEqual(a);
    // This process, its caches dropped by another process's erasure, still finds it through the journal.
    const stranger = await other.subjectForCase('idx-9', 'case-9', new Date());
    expect(journal()).toBe(2);
    await other.destroy(stranger.kid, erasure);
    // An erasure takes the journal into the index first, so the erased subject's IIN index is only in its row, dropped there.
    expect(journal()).toBe(0);
    expect(inIndex()).toEqual([a.kid]);
    expect(await api.subjectForCase('idx-1', 'case-3', new Date())).toEqual(a);
    // A claim made after it waits in the journal again, is found by the other process, and is merged.
    const b = await api.subjectForCase('idx-2', 'case-5', new Date());
    expect(journal()).toBe(1);
    expect(await other.subjectForCase('idx-2', 'case-6', new Date())).toEqual(b);
    expect(api.mergeClaims()).toBe(1);
    expect(journal()).toBe(0);
    expect(await other.subjectForCase('idx-1', 'case-4', new Date())).toEqual(a);
    expect(await other.casesOf(a.kid)).toEqual(['case-1', 'case-2', 'case-3', 'case-4']);
    raw.close();
    await api.close();
    await other.close();
  });

  it('a merge that finds the write lock held by another process leaves the journal as it is, the claim still found, and merges once it is released', async () => {
    const master = newDataKey();
    const api = SqliteKeyStore.open(dir, master, { mergeIdleMs: 5 });
    const a = await api.subjectForCase('idx-1', 'case-1', new Date());
    const other = new Database(join(dir, KEY_STORE_FILE));
    const journal = () => other.prepare('SELECT count(*) FROM subject_claims').pluck().get();
    other.exec('BEGIN IMMEDIATE');
    expect(api.mergeClaims(false)).toBe(0);
    expect(journal()).toBe(1);
    // The person's next case gets the same subject once its link is committed, which waits for the lock (nothing is
    // encrypted under an existing subject before its case is linked to it: an erasure may hold it).
    const claim = api.claimForCase('idx-1', 'case-2', new Date());
    await new Promise((r) => setTimeout(r, 20));
    other.exec('COMMIT');
    const next = await claim;
    expect(next.kid).toBe(a.kid);
    await next.stored;
    // The merge tries again at its next idle moment, not at once.
    for (let turns = 0; journal() !== 0 && turns < 400; turns++) await new Promise((r) => setTimeout(r, 5));
    expect(journal()).toBe(0);
    expect(other.prepare('SELECT subject_id FROM subjects WHERE iin_index = ?').pluck().all('idx-1')).toEqual([a.kid]);
    other.close();
    await api.close();
  });

  it("an erasure by another process of a subject whose claim is still in the journal is noticed: the person's next case gets a new subject", async () => {
    const master = newDataKey();
    const api = SqliteKeyStore.open(dir, master, { mergeIdleMs: 3_600_000 });
    const cli = SqliteKeyStore.open(dir, master, { mergeIdleMs: 3_600_000 });
    const a = await api.subjectForCase('idx-1', 'case-1', new Date());
    const [found] = await cli.subjectsOf('idx-1');
    expect(found!.subjectId).toBe(a.kid);
    await cli.destroy(a.kid, erasure);
    await expect(api.subjectForCase('idx-1', 'case-1', new Date())).rejects.toThrow(/case-1 was erased/);
    const next = await api.subjectForCase('idx-1', 'case-2', new Date());
    expect(next.kid).not.toBe(a.kid);
    // The erased subject is no longer found by the IIN's index.
    expect((await cli.subjectsOf('idx-1')).map((s) => [s.subjectId, s.erasedAt !== null])).toEqual([[next.kid, false]]);
    await api.close();
    await cli.close();
  });

  it("a process killed between a claim's journal and its merge loses nothing: after the restart the IIN finds its subject and cases, and the merge completes", async () => {
    const master = newDataKey();
    const child = spawn(
      process.execPath,
      [
        '-r',
        join(__dirname, '../../../../test/support/swc-register.js'),
        join(__dirname, '../../../../test/durability/key-store-claims.child.ts'),
        dir,
        master.toString('hex'),
      ],
      { stdio: ['ignore', 'pipe', 'inherit'] },
    );
    const claimed = await new Promise<{ a: string; b: string }>((resolve, reject) => {
      let out = '';
      child.stdout!.on('data', (chunk: Buffer) => {
        out += chunk.toString();
        if (out.includes('\n')) resolve(JSON.parse(out.slice(0, out.indexOf('\n'))));
      });
      child.on('exit', (code) => reject(new Error(`the child ended (${code}) before claiming`)));
    });
    const killed = new Promise((resolve) => child.on('exit', resolve));
    child.kill('SIGKILL');
    await killed;
    const raw = new Database(join(dir, KEY_STORE_FILE), { readonly: true });
    // Killed between the two: both claims are in the journal, neither in the IIN index.
    expect(raw.prepare('SELECT subject_id FROM subject_claims ORDER BY seq').pluck().all()).toEqual([
      claimed.a,
      claimed.b,
    ]);
    expect(raw.prepare("SELECT count(*) FROM subjects WHERE iin_index IN ('idx-1', 'idx-2')").pluck().get()).toBe(0);
    raw.close();

    const store = SqliteKeyStore.open(dir, master, { mergeIdleMs: 3_600_000 });
    expect((await store.subjectsOf('idx-1')).map((s) => s.subjectId)).toEqual([claimed.a]);
    expect(await store.casesOf(claimed.a)).toEqual(['case-1']);
    // The person's next case, read back from the journal (nothing in memory, nothing in the index yet).
    expect((await store.subjectForCase('idx-2', 'case-3', new Date())).kid).toBe(claimed.b);
    expect(store.mergeClaims()).toBe(2);
    const fresh = SqliteKeyStore.open(dir, master);
    expect((await fresh.subjectForCase('idx-1', 'case-4', new Date())).kid).toBe(claimed.a);
    expect(await fresh.casesOf(claimed.b)).toEqual(['case-2', 'case-3']);
    await fresh.close();
    await store.close();
  }, 20_000);

  it('filings that drain the key pool in one turn, and keep claiming while its next group is made, each get a distinct key already in the file, wrapped', async () => {
    const master = newDataKey();
    const store = SqliteKeyStore.open(dir, master);
    const reader = SqliteKeyStore.open(dir, master);
    // 150 new people: more than two groups of 64, most of them claimed while a group is still being made.
    const handed = await Promise.all(
      Array.from({ length: 150 }, async (_, i) => {
        const subject = await store.claimForCase(`idx-${i}`, `case-${i}`, new Date());
        const inFile = (await reader.keysOf([subject.kid])).get(subject.kid);
        await subject.stored;
        return { subject, inFile };
      }),
    );
    expect(new Set(handed.map((h) => h.subject.kid)).size).toBe(150);
    for (const { subject, inFile } of handed) expect(inFile).toEqual(subject.key);
    await store.close();
    await reader.close();
  });

  it('filings made in one turn of the event loop are linked to their subjects in the file', async () => {
    const master = newDataKey();
    const store = SqliteKeyStore.open(dir, master);
    const [a, b, c] = await Promise.all([
      store.subjectForCase('idx-1', 'case-1', new Date()),
      store.subjectForCase('idx-1', 'case-2', new Date()),
      store.subjectForCase('idx-2', 'case-3', new Date()),
    ]);
    expect(b).toEqual(a);
    expect(c.kid).not.toBe(a.kid);
    await store.close();
    const reopened = SqliteKeyStore.open(dir, master);
    expect(await reopened.casesOf(a.kid)).toEqual(['case-1', 'case-2']);
    expect(await reopened.subjectOfCase('case-3')).toBe(c.kid);
    await reopened.close();
  });

  it('rotation re-wraps every key: the new master key opens them, the old one is refused', async () => {
    const [oldMaster, newMaster] = [newDataKey(), newDataKey()];
    const store = SqliteKeyStore.open(dir, oldMaster);
    const subject = await store.subjectForCase('idx-1', 'case-1', new Date());
    const blind = store.blindIndexKey;
    expect(await store.rotate(newMaster)).toBeGreaterThanOrEqual(2);
    await store.close();
    expect(() => SqliteKeyStore.open(dir, oldMaster)).toThrow(MasterKeyMismatchError);
    const reopened = SqliteKeyStore.open(dir, newMaster);
    expect((await reopened.keysOf([subject.kid])).get(subject.kid)).toEqual(subject.key);
    expect(reopened.blindIndexKey).toEqual(blind);
    await reopened.close();
  });

  it('keys made after a rotation (a new group of pool keys) are wrapped by the new master key', async () => {
    const [oldMaster, newMaster] = [newDataKey(), newDataKey()];
    const store = SqliteKeyStore.open(dir, oldMaster);
    await store.subjectForCase('idx-0', 'case-0', new Date());
    await store.rotate(newMaster);
    // More new subjects than one group of pool keys: some are made after the rotation.
    const subjects = await Promise.all(
      Array.from({ length: 150 }, (_, i) => store.subjectForCase(`idx-${i + 1}`, `case-${i + 1}`, new Date())),
    );
    await store.close();
    const reopened = SqliteKeyStore.open(dir, newMaster);
    const keys = await reopened.keysOf(subjects.map((s) => s.kid));
    expect(subjects.filter((s) => !keys.get(s.kid)?.equals(s.key))).toEqual([]);
    await reopened.close();
  });

  it("keys made ahead by a process holding the old master key after another process rotated it are refused with the rotation: nothing in keys.db is wrapped under the retired key, and the process's filings are refused", async () => {
    const [oldMaster, newMaster] = [newDataKey(), newDataKey()];
    // A running API: its first filing made a group of keys ahead, and its 33rd takes the group below the mark at which
    // the next group is made, two turns later.
    const running = SqliteKeyStore.open(dir, oldMaster);
    const rotating = SqliteKeyStore.open(dir, oldMaster);
    const filed: Array<{ kid: string; key: Buffer }> = [];
    for (let i = 0; i < 32; i++) filed.push(await running.subjectForCase(`idx-${i}`, `case-${i}`, new Date()));
    const last = await running.claimForCase('idx-32', 'case-32', new Date());
    filed.push(last);
    // Another process (the rotate-master-key command beside an API it cannot see) rotates meanwhile, before that group.
    await rotating.rotate(newMaster);
    await rotating.close();
    await last.stored;
    await new Promise((resolve) => setTimeout(resolve, 100));
    // Refused: a new person, a returning one this process remembers, a read.
    await expect(running.subjectForCase('idx-new', 'case-new', new Date())).rejects.toThrow(MasterKeyRotatedError);
    await expect(running.subjectForCase('idx-0', 'case-0b', new Date())).rejects.toThrow(
      /master key was rotated after this process started: restart it with the new key/,
    );
    await expect(running.keysOf([filed[0]!.kid])).rejects.toThrow(MasterKeyRotatedError);
    await running.close();
    const raw = new Database(join(dir, KEY_STORE_FILE), { readonly: true });
    const stored = raw
      .prepare('SELECT subject_id AS kid, wrapped_key AS wrapped FROM subjects WHERE wrapped_key IS NOT NULL')
      .all() as Array<{ kid: string; wrapped: Buffer }>;
    raw.close();
    // The first group only: no key was made after the rotation, and every stored key unwraps under the new master key.
    expect(stored.length).toBe(64);
    expect(stored.filter((s) => !canUnwrap(newMaster, s.kid, s.wrapped))).toEqual([]);
    const restarted = SqliteKeyStore.open(dir, newMaster);
    const keys = await restarted.keysOf(filed.map((s) => s.kid));
    expect(filed.filter((s) => !keys.get(s.kid)?.equals(s.key))).toEqual([]);
    expect(await restarted.subjectOfCase('case-0b')).toBeNull();
    await restarted.close();
  });

  it("a filing's claim waits while another connection holds the write lock, without failing, and is committed once it is released", async () => {
    const store = SqliteKeyStore.open(dir, newDataKey());
    // The pool holds keys made ahead: the filing below takes one without writing.
    await store.subjectForCase('idx-0', 'case-0', new Date());
    const other = new Database(join(dir, KEY_STORE_FILE));
    other.exec('BEGIN IMMEDIATE');
    const claimed = await store.claimForCase('idx-1', 'case-1', new Date());
    let settled: string | null = null;
    claimed.stored.then(
      () => (settled = 'stored'),
      (error: Error) => (settled = error.message),
    );
    for (let turn = 0; turn < 20; turn++) await new Promise((resolve) => setImmediate(resolve));
    expect(settled).toBeNull();
    other.exec('COMMIT');
    await claimed.stored;
    expect(settled).toBe('stored');
    expect(other.prepare('SELECT subject_id FROM case_subjects WHERE case_id = ?').pluck().get('case-1')).toBe(
      claimed.kid,
    );
    other.close();
    await store.close();
  });
  it("an act on a case whose link is committed is answered while another filing's claim waits for a held write lock", async () => {
    const store = SqliteKeyStore.open(dir, newDataKey());
    const filed = await store.subjectForCase('idx-0', 'case-0', new Date());
    const other = new Database(join(dir, KEY_STORE_FILE));
    other.exec('BEGIN IMMEDIATE');
    const waiting = await store.claimForCase('idx-1', 'case-1', new Date());
    const again = await store.claimForCase('idx-0', 'case-0', new Date());
    expect(again.kid).toBe(filed.kid);
    let settled: string | null = null;
    again.stored.then(
      () => (settled = 'stored'),
      (error: Error) => (settled = error.message),
    );
    let waitingSettled = false;
    waiting.stored.then(
      () => (waitingSettled = true),
      () => (waitingSettled = true),
    );
    for (let turn = 0; turn < 20; turn++) await new Promise((resolve) => setImmediate(resolve));
    expect(settled).toBe('stored');
    expect(waitingSettled).toBe(false);
    other.exec('COMMIT');
    await waiting.stored;
    other.close();
    await store.close();
  });
  it("a case's second act while its first claim waits for a held lock keeps the same subject when another process erases someone meanwhile", async () => {
    const store = SqliteKeyStore.open(dir, newDataKey());
    await store.subjectForCase('idx-0', 'case-0', new Date());
    const other = new Database(join(dir, KEY_STORE_FILE));
    // Another process erases someone (the erasures counter moves) while holding the write lock...
    other.exec('BEGIN IMMEDIATE');
    other
      .prepare(
        "INSERT INTO meta (key, value) VALUES ('erasures', '1') ON CONFLICT (key) DO UPDATE SET value = value || '1'",
      )
      .run();
    const first = await store.claimForCase('idx-1', 'case-1', new Date());
    for (let turn = 0; turn < 5; turn++) await new Promise((resolve) => setImmediate(resolve));
    // ...commits, and takes the lock again (as its checkpoint would) before this store's claim got in.
    other.exec('COMMIT');
    other.exec('BEGIN IMMEDIATE');
    const second = await store.claimForCase('idx-1', 'case-1', new Date());
    expect(second.kid).toBe(first.kid);
    other.exec('COMMIT');
    await expect(Promise.all([first.stored, second.stored])).resolves.toBeDefined();
    expect(other.prepare('SELECT subject_id FROM case_subjects WHERE case_id = ?').pluck().all('case-1')).toEqual([
      first.kid,
    ]);
    other.close();
    await store.close();
  });
});
