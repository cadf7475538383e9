/**
 * What every key store promises through its port, run against each adapter: `keys.db` always, MongoDB where
 * MONGODB_URL names a server (mongodb-key-store.spec.ts). Each test opens a store of its own on empty storage.
 */
import { newDataKey } from '../domain/key-wrapping';
import {
  ERASURE_HOLD_MS,
  MasterKeyMismatchError,
  MasterKeyRotatedError,
  SubjectBeingErasedError,
  SubjectErasedError,
  type PersonalKeyStore,
} from './key-store.port';

export interface KeyStoreUnderTest {
  /** Opens the store on this test's storage (the same storage each time within a test). */
  open(master: Buffer): Promise<PersonalKeyStore>;
  /** Empties this test's storage, after every store opened on it is closed. */
  cleanup(): Promise<void>;
}

const erasure = {
  at: '2026-12-06T10:00:00.000Z',
  basis: 'retention ended',
  reference: 'Law 94-V art. 12',
  by: 'admin',
};

export function describeKeyStoreContract(name: string, storage: () => KeyStoreUnderTest): void {
  describe(`${name} key store contract`, () => {
    let under: KeyStoreUnderTest;
    const opened: PersonalKeyStore[] = [];
    const open = async (master: Buffer) => {
      const store = await under.open(master);
      opened.push(store);
      return store;
    };
    beforeEach(() => {
      under = storage();
    });
    /** Two processes on one store (two connections, two instances): one that filed a case of a person, one erasing. */
    const filingAndErasing = async () => {
      const master = newDataKey();
      const filing = await open(master);
      const erasing = await open(master);
      return { filing, erasing, held: await filing.subjectForCase('idx-a', 'case-1', new Date()) };
    };
    afterEach(async () => {
      for (const store of opened.splice(0)) await store.close();
      await under.cleanup();
    });

    it("gives a person's cases one subject and each case the subject it was filed under, found again by IIN index and by case", async () => {
      const store = await open(newDataKey());
      const a1 = await store.subjectForCase('idx-a', 'case-1', new Date('2026-01-01T00:00:00Z'));
      const a2 = await store.subjectForCase('idx-a', 'case-2', new Date('2026-01-02T00:00:00Z'));
      const b = await store.subjectForCase('idx-b', 'case-3', new Date('2026-01-03T00:00:00Z'));
      expect(a2).toEqual(a1);
      expect(b.kid).not.toBe(a1.kid);
      expect(b.key.equals(a1.key)).toBe(false);
      expect(await store.subjectOfCase('case-2')).toBe(a1.kid);
      expect(await store.subjectOfCase('case-9')).toBeNull();
      expect(await store.subjectsOfCases(['case-1', 'case-3', 'case-9'])).toEqual(
        new Map([
          ['case-1', a1.kid],
          ['case-3', b.kid],
        ]),
      );
      expect(await store.casesOf(a1.kid)).toEqual(['case-1', 'case-2']);
      expect((await store.subjectsOf('idx-a')).map((s) => [s.subjectId, s.erasedAt])).toEqual([[a1.kid, null]]);
      expect((await store.keysOf([a1.kid])).get(a1.kid)).toEqual(a1.key);
      expect(await store.unknownSubjects([a1.kid, 'no-such-subject'])).toEqual(['no-such-subject']);
    });

    it('is refused, when opened again, under a master key that is not the one its keys are wrapped with', async () => {
      const master = newDataKey();
      const first = await open(master);
      await first.subjectForCase('idx-a', 'case-1', new Date());
      await expect(under.open(newDataKey())).rejects.toThrow(MasterKeyMismatchError);
      const again = await open(master);
      expect(await again.subjectOfCase('case-1')).not.toBeNull();
    });

    it("destroys a subject's key for good: it reads as erased, no IIN leads to it, an act on its case is refused as erased, and the person's next case gets a new subject", async () => {
      const store = await open(newDataKey());
      const subject = await store.subjectForCase('idx-a', 'case-1', new Date());
      const other = await store.subjectForCase('idx-b', 'case-2', new Date());
      await store.destroy(subject.kid, erasure);
      const keys = await store.keysOf([subject.kid, other.kid]);
      expect(keys.get(subject.kid)).toBeNull();
      expect(keys.get(other.kid)).toEqual(other.key);
      expect(await store.subjectsOf('idx-a')).toEqual([]);
      // The erased subject keeps its record: unknown it is not.
      expect(await store.unknownSubjects([subject.kid])).toEqual([]);
      await expect(store.subjectForCase('idx-a', 'case-1', new Date())).rejects.toThrow(SubjectErasedError);
      const next = await store.subjectForCase('idx-a', 'case-3', new Date());
      expect(next.kid).not.toBe(subject.kid);
    });

    it('gives a subject an erasure holds to no new case until it is released; its cases keep it', async () => {
      const store = await open(newDataKey());
      const held = await store.subjectForCase('idx-a', 'case-1', new Date());
      const hold = await store.holdForErasure([held.kid]);
      const meanwhile = await store.subjectForCase('idx-a', 'case-2', new Date());
      expect(meanwhile.kid).not.toBe(held.kid);
      expect((await store.subjectForCase('idx-a', 'case-1', new Date())).kid).toBe(held.kid);
      await hold.release();
      expect(await store.casesOf(held.kid)).toEqual(['case-1']);
    });

    it('refuses a filing of a case linked already (a retry of one whose append failed) to a subject an erasure holds, in this process and in another; other acts on the case keep its subject', async () => {
      const { filing, erasing, held } = await filingAndErasing();
      const hold = await erasing.holdForErasure([held.kid]);
      await expect(filing.subjectForCase('idx-a', 'case-1', new Date(), true)).rejects.toBeInstanceOf(
        SubjectBeingErasedError,
      );
      await expect(erasing.subjectForCase('idx-a', 'case-1', new Date(), true)).rejects.toBeInstanceOf(
        SubjectBeingErasedError,
      );
      expect((await filing.subjectForCase('idx-a', 'case-1', new Date())).kid).toBe(held.kid);
      await hold.release();
      expect((await filing.subjectForCase('idx-a', 'case-1', new Date(), true)).kid).toBe(held.kid);
    });

    it.each([
      ['the person files nothing else meanwhile', false],
      ['the person files another case meanwhile (a new subject)', true],
    ])(
      "refuses a filing retry after the filing process forgot its case's link (a restart) while another process holds the subject: %s",
      async (_, fileAnother) => {
        const master = newDataKey();
        const before = await open(master);
        const held = await before.subjectForCase('idx-a', 'case-0', new Date());
        // The first attempt at case-1's filing links it to the subject; its append fails; the process restarts.
        expect((await before.subjectForCase('idx-a', 'case-1', new Date(), true)).kid).toBe(held.kid);
        await before.close();
        const filing = await open(master);
        const erasing = await open(master);
        // It has seen the person again since (another case of theirs), so it knows their live subject.
        expect((await filing.subjectForCase('idx-a', 'case-2', new Date())).kid).toBe(held.kid);
        const hold = await erasing.holdForErasure([held.kid]);
        if (fileAnother)
          expect((await filing.subjectForCase('idx-a', 'case-3', new Date(), true)).kid).not.toBe(held.kid);
        await expect(filing.subjectForCase('idx-a', 'case-1', new Date(), true)).rejects.toBeInstanceOf(
          SubjectBeingErasedError,
        );
        await hold.release();
      },
    );

    it('gives the subject to new cases again once the hold is released, in another process too', async () => {
      const { filing, erasing, held } = await filingAndErasing();
      const hold = await erasing.holdForErasure([held.kid]);
      await hold.release();
      expect((await filing.subjectForCase('idx-a', 'case-2', new Date())).kid).toBe(held.kid);
      expect((await erasing.subjectForCase('idx-a', 'case-3', new Date())).kid).toBe(held.kid);
    });

    it('keeps a pinned hold after its release, until the key is destroyed: a destruction that failed after the erasure was recorded leaves the subject to no new case', async () => {
      const { filing, erasing, held } = await filingAndErasing();
      const hold = await erasing.holdForErasure([held.kid]);
      expect(await hold.pin()).toBe(true);
      await hold.release();
      expect((await filing.subjectForCase('idx-a', 'case-2', new Date())).kid).not.toBe(held.kid);
      await erasing.destroy(held.kid, erasure);
      expect((await erasing.keysOf([held.kid])).get(held.kid)).toBeNull();
    });

    it('refuses to pin a hold that lapsed', async () => {
      const master = newDataKey();
      const store = await open(master);
      const held = await store.subjectForCase('idx-a', 'case-1', new Date());
      const hold = await store.holdForErasure([held.kid]);
      const realNow = Date.now;
      Date.now = () => realNow() + ERASURE_HOLD_MS + 1000;
      try {
        expect(await hold.pin()).toBe(false);
      } finally {
        Date.now = realNow;
      }
      await hold.release();
    });

    it("holds the subject from another process's new cases too (another connection, another instance), whatever that process remembers of the person", async () => {
      const { filing, erasing, held } = await filingAndErasing();
      const hold = await erasing.holdForErasure([held.kid]);
      const meanwhile = await filing.subjectForCase('idx-a', 'case-2', new Date());
      expect(meanwhile.kid).not.toBe(held.kid);
      expect((await filing.subjectForCase('idx-a', 'case-1', new Date())).kid).toBe(held.kid);
      expect(await erasing.casesOf(held.kid)).toEqual(['case-1']);
      await hold.release();
    });

    for (const order of ['the hold first', 'the link first'] as const)
      it(`links no case to a held subject once the erasure has read the subject's cases (${order}): a filing that found it just before the hold gets another subject, or the erasure's read finds its case`, async () => {
        const { filing, erasing, held } = await filingAndErasing();
        // The filing finds the person's subject (remembered, or read) and links its case around the erasure's hold.
        const claim = filing.claimForCase('idx-a', 'case-2', new Date());
        // Two retries of the same filing (one Idempotency-Key, one case) at the same moment.
        const retry = filing.claimForCase('idx-a', 'case-2', new Date());
        if (order === 'the link first') await Promise.all([claim, retry]);
        const hold = await erasing.holdForErasure([held.kid]);
        const seenByErasure = await erasing.casesOf(held.kid);
        const claimed = [await claim, await retry];
        for (const c of claimed) await c.stored;
        const linkedNow = await erasing.casesOf(held.kid);
        // Either the link came first (the erasure read it, and finds the case open) or it was refused.
        expect(linkedNow.filter((c) => !seenByErasure.includes(c))).toEqual([]);
        for (const c of claimed) expect(c.kid === held.kid).toBe(seenByErasure.includes('case-2'));
        expect(claimed[1]!.kid).toBe(claimed[0]!.kid);
        if (order === 'the link first') expect(seenByErasure).toContain('case-2');
        await hold.release();
      });

    it("makes a retry of the same filing wait for the case's pending link as the first does, after another process's erasure of someone else dropped what the filing process remembered", async () => {
      const { filing, erasing, held } = await filingAndErasing();
      const someoneElse = await erasing.subjectForCase('idx-b', 'case-b', new Date());
      const first = filing.claimForCase('idx-a', 'case-2', new Date());
      const hold = await erasing.holdForErasure([held.kid]);
      const seenByErasure = await erasing.casesOf(held.kid);
      await erasing.destroy(someoneElse.kid, erasure);
      const retry = await filing.claimForCase('idx-a', 'case-2', new Date());
      const claimed = await first;
      await claimed.stored;
      await retry.stored;
      expect(retry.kid).toBe(claimed.kid);
      expect(claimed.kid === held.kid).toBe(seenByErasure.includes('case-2'));
      await hold.release();
    });

    it('lets a hold lapse when its erasure never releases it (its process died)', async () => {
      const master = newDataKey();
      const filing = await open(master);
      const held = await filing.subjectForCase('idx-a', 'case-1', new Date());
      const erasing = await open(master);
      await erasing.holdForErasure([held.kid]);
      await erasing.close();
      opened.splice(opened.indexOf(erasing), 1);
      const realNow = Date.now;
      Date.now = () => realNow() + ERASURE_HOLD_MS + 1000;
      try {
        expect((await filing.subjectForCase('idx-a', 'case-2', new Date())).kid).toBe(held.kid);
      } finally {
        Date.now = realNow;
      }
    });

    it('re-wraps every key under a new master key: the new one opens them, the old one is refused', async () => {
      const oldMaster = newDataKey();
      const newMaster = newDataKey();
      const store = await open(oldMaster);
      const subject = await store.subjectForCase('idx-a', 'case-1', new Date());
      const blindIndexKey = Buffer.from(store.blindIndexKey);
      expect(await store.rotate(newMaster)).toBeGreaterThanOrEqual(2);
      await expect(under.open(oldMaster)).rejects.toThrow(MasterKeyMismatchError);
      const reopened = await open(newMaster);
      expect((await reopened.keysOf([subject.kid])).get(subject.kid)).toEqual(subject.key);
      expect(reopened.blindIndexKey).toEqual(blindIndexKey);
    });

    it('refuses, in a process that opened it with the old master key, to make or open a key once another process rotated it: nothing is wrapped under the retired key, and the new key opens every key', async () => {
      const oldMaster = newDataKey();
      const newMaster = newDataKey();
      // A running API: it filed a case, and holds the old master key.
      const running = await open(oldMaster);
      const filed = await running.subjectForCase('idx-a', 'case-1', new Date());
      // Its projection worker, which has not read that key yet.
      const projecting = await open(oldMaster);
      const rotating = await open(oldMaster);
      await rotating.rotate(newMaster);
      // New people (more than a group of keys made ahead), a returning one, and reads of a key.
      for (let i = 0; i < 70; i++)
        await expect(running.subjectForCase(`idx-new-${i}`, `case-new-${i}`, new Date())).rejects.toThrow(
          MasterKeyRotatedError,
        );
      await expect(running.subjectForCase('idx-a', 'case-2', new Date())).rejects.toThrow(MasterKeyRotatedError);
      await expect(running.keysOf([filed.kid])).rejects.toThrow(MasterKeyRotatedError);
      // Not read as a damaged key: the key is whole, under the new master key.
      await expect(projecting.keysOf([filed.kid])).rejects.toThrow(MasterKeyRotatedError);
      // Restarted with the new key: the case reads, nobody refused was given a subject, and a new person gets one.
      const restarted = await open(newMaster);
      expect((await restarted.keysOf([filed.kid])).get(filed.kid)).toEqual(filed.key);
      expect(await restarted.subjectsOf('idx-new-0')).toEqual([]);
      expect(await restarted.subjectOfCase('case-2')).toBeNull();
      const next = await restarted.subjectForCase('idx-new-0', 'case-new-0', new Date());
      expect((await restarted.keysOf([next.kid])).get(next.kid)).toEqual(next.key);
      // A second rotation by a process that still holds the retired key is refused too.
      await expect(running.rotate(newDataKey())).rejects.toThrow(MasterKeyRotatedError);
    });
  });
}
