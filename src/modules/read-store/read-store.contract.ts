import { randomUUID } from 'node:crypto';
import {
  CheckpointAheadError,
  LeaseLostError,
  RevisionConflictError,
  type ReadDocument,
  type ReadStore,
  type WriteBatch,
} from './read-store.port';

interface Case extends ReadDocument {
  service: string;
  status: string;
  days: number;
  steps: string[];
  applicant: { name: string };
}

const cases: Case[] = [
  {
    _id: 'c1',
    service: 'testing',
    status: 'open',
    days: 3,
    steps: ['submit', 'register'],
    applicant: { name: 'Айгерим' },
  },
  { _id: 'c2', service: 'testing', status: 'completed', days: 7, steps: ['submit'], applicant: { name: 'Ерлан' } },
  { _id: 'c3', service: 'reserve', status: 'open', days: 1, steps: [], applicant: { name: 'Дана' } },
  {
    _id: 'c4',
    service: 'reserve',
    status: 'refused',
    days: 12,
    steps: ['submit', 'review', 'refuse'],
    applicant: { name: 'Асель' },
  },
];

/** The behaviour every ReadStore adapter must have; each test uses collections of its own. */
export function describeReadStoreContract(name: string, open: () => Promise<ReadStore>): void {
  describe(`${name} read store contract`, () => {
    let store: ReadStore;
    let coll: string;
    let projection: string;

    beforeAll(async () => {
      store = await open();
    });
    afterAll(async () => {
      await store.close();
    });
    beforeEach(async () => {
      const tag = randomUUID().slice(0, 8);
      coll = `t${tag}.cases`;
      projection = `p${tag}`;
      await store.write({ ops: cases.map((doc) => ({ op: 'upsert' as const, collection: coll, doc })) });
    });

    it('a collection with declared indexes answers what it answers without them (order, limit, projection, count)', async () => {
      const indexed = store.collection<Case>(coll, {
        indexes: [{ key: { service: 1, days: -1, _id: -1 } }, { key: { status: 1, _id: 1 } }],
      });
      const plain = store.collection<Case>(coll);
      const queries: [Record<string, unknown>, Record<string, 1 | -1>, number][] = [
        [{ service: 'testing' }, { days: -1, _id: -1 }, 1],
        [{ service: 'reserve', days: { $lte: 5 } }, { days: 1, _id: 1 }, 10],
        [{ status: 'open' }, { _id: 1 }, 10],
        [{}, { _id: -1 }, 2],
      ];
      for (const [filter, sort, limit] of queries) {
        const expected = await plain.find(filter, { sort, limit, projection: { status: 1 } });
        expect({ filter, got: await indexed.find(filter, { sort, limit, projection: { status: 1 } }) }).toEqual({
          filter,
          got: expected,
        });
        expect(await indexed.count(filter)).toBe(await plain.count(filter));
      }
      await store.write({
        ops: [
          { op: 'upsert', collection: coll, doc: { ...cases[2]!, service: 'testing', days: 20 } },
          { op: 'delete', collection: coll, id: 'c1' },
        ],
      });
      expect((await indexed.find({ service: 'testing' }, { sort: { days: -1, _id: -1 } })).map((d) => d._id)).toEqual([
        'c3',
        'c2',
      ]);
    });

    it('gets a document by id, and null for an unknown id', async () => {
      expect(await store.collection<Case>(coll).get('c1')).toEqual(cases[0]);
      expect(await store.collection(coll).get('nope')).toBeNull();
    });

    it('finds with MongoDB filters, sort, skip, limit and projection', async () => {
      const c = store.collection<Case>(coll);
      expect((await c.find({ status: 'open' }, { sort: { days: 1 } })).map((d) => d._id)).toEqual(['c3', 'c1']);
      expect(
        (await c.find({ days: { $gte: 3 }, service: { $in: ['testing', 'reserve'] } }, { sort: { days: -1 } })).map(
          (d) => d._id,
        ),
      ).toEqual(['c4', 'c2', 'c1']);
      expect((await c.find({ 'applicant.name': 'Дана' })).map((d) => d._id)).toEqual(['c3']);
      expect((await c.find({ steps: 'review' })).map((d) => d._id)).toEqual(['c4']);
      expect(
        (await c.find({ $or: [{ days: { $lt: 2 } }, { status: 'completed' }] }, { sort: { _id: 1 } })).map(
          (d) => d._id,
        ),
      ).toEqual(['c2', 'c3']);
      expect((await c.find({}, { sort: { _id: 1 }, skip: 1, limit: 2 })).map((d) => d._id)).toEqual(['c2', 'c3']);
      expect(await c.find({ _id: 'c1' }, { projection: { status: 1 } })).toEqual([{ _id: 'c1', status: 'open' }]);
    });

    it('counts with and without a filter', async () => {
      expect(await store.collection(coll).count()).toBe(4);
      expect(await store.collection(coll).count({ service: 'reserve', days: { $gt: 5 } })).toBe(1);
      expect(await store.collection(`${coll}-empty`).count()).toBe(0);
    });

    it('runs aggregation pipelines', async () => {
      const c = store.collection(coll);
      expect(
        await c.aggregate([
          { $group: { _id: '$service', n: { $sum: 1 }, days: { $avg: '$days' } } },
          { $sort: { _id: 1 } },
        ]),
      ).toEqual([
        { _id: 'reserve', n: 2, days: 6.5 },
        { _id: 'testing', n: 2, days: 5 },
      ]);
      expect(
        await c.aggregate([
          { $unwind: '$steps' },
          { $group: { _id: '$steps', n: { $sum: 1 } } },
          { $sort: { n: -1, _id: 1 } },
          { $limit: 2 },
        ]),
      ).toEqual([
        { _id: 'submit', n: 3 },
        { _id: 'refuse', n: 1 },
      ]);
      expect(
        await c.aggregate([
          { $match: { status: 'open' } },
          { $project: { _id: 0, id: '$_id', late: { $gt: ['$days', 2] } } },
          { $sort: { id: 1 } },
        ]),
      ).toEqual([
        { id: 'c1', late: true },
        { id: 'c3', late: false },
      ]);
    });

    it('upserts replace whole documents and deletes remove them', async () => {
      const c = store.collection<Case>(coll);
      await store.write({
        ops: [
          {
            op: 'upsert',
            collection: coll,
            doc: {
              _id: 'c1',
              service: 'testing',
              status: 'completed',
              days: 4,
              steps: [],
              applicant: { name: 'Айгерим' },
            },
          },
          { op: 'delete', collection: coll, id: 'c2' },
          { op: 'delete', collection: coll, id: 'never-existed' },
        ],
      });
      expect(await c.get('c1')).toMatchObject({ status: 'completed', days: 4 });
      expect(await c.get('c2')).toBeNull();
      expect(await c.count()).toBe(3);
      expect((await c.find({ status: 'completed' })).map((d) => d._id)).toEqual(['c1']);
    });

    it('versions a document: the same until its content changes (written again unchanged, it keeps it), another after, none once deleted (or none at all where the store cannot tell)', async () => {
      const versioned = coll.replace(/cases$/, 'versioned');
      const c = store.collection(versioned);
      expect(await c.versionOf('v1')).toBeNull();
      await store.write({ ops: [{ op: 'upsert', collection: versioned, doc: { _id: 'v1', n: 1 } }] });
      const first = await c.versionOf('v1');
      if (store.kind === 'mongodb') {
        expect(first).toBeNull();
        return;
      }
      expect(first).toEqual(expect.any(Number));
      await store.write({
        ops: [
          { op: 'upsert', collection: versioned, doc: { _id: 'v2', n: 1 } },
          { op: 'upsert', collection: coll, doc: { ...cases[0]!, _id: 'v1' } },
        ],
      });
      expect(await c.versionOf('v1')).toBe(first);
      await store.write({ ops: [{ op: 'upsert', collection: versioned, doc: { _id: 'v1', n: 1 } }] });
      expect(await c.versionOf('v1')).toBe(first);
      await store.write({ ops: [{ op: 'upsert', collection: versioned, doc: { _id: 'v1', n: 2 } }] });
      expect(await c.get('v1')).toEqual({ _id: 'v1', n: 2 });
      const second = await c.versionOf('v1');
      expect(second).toEqual(expect.any(Number));
      expect(second).not.toBe(first);
      await store.write({ ops: [{ op: 'delete', collection: versioned, id: 'v1' }] });
      expect(await c.versionOf('v1')).toBeNull();
    });

    it('a result is a copy: changing it does not change the store', async () => {
      const [doc] = await store.collection<Case>(coll).find({ _id: 'c1' });
      doc!.status = 'tampered';
      doc!.steps.push('x');
      expect(await store.collection<Case>(coll).get('c1')).toEqual(cases[0]);
      expect((await store.collection<Case>(coll).find({ _id: 'c1' }))[0]).toEqual(cases[0]);
    });

    it('stores documents and checkpoint together, and never moves a checkpoint back: a batch not after it is refused, nothing written', async () => {
      expect(await store.getCheckpoint(projection)).toBeNull();
      await store.write({
        ops: [{ op: 'upsert', collection: coll, doc: { _id: 'n1', v: 1 } }],
        checkpoint: { projection, position: 10 },
      });
      expect(await store.getCheckpoint(projection)).toMatchObject({
        projection,
        position: 10,
        updatedAt: expect.any(Date),
      });
      // A replayed (older or equal) batch, or another writer's behind the stored checkpoint, writes nothing, not even
      // its documents, and is refused: its writer must not take its documents for what the store holds.
      await expect(
        store.write({
          ops: [
            { op: 'upsert', collection: coll, doc: { _id: 'n1', v: 2 } },
            { op: 'upsert', collection: coll, doc: { _id: 'n2', v: 2 } },
          ],
          checkpoint: { projection, position: 10 },
        }),
      ).rejects.toThrow(CheckpointAheadError);
      await expect(
        store.write({
          ops: [{ op: 'upsert', collection: coll, doc: { _id: 'n3', v: 3 } }],
          checkpoint: { projection, position: 7 },
        }),
      ).rejects.toMatchObject({ name: 'CheckpointAheadError', projection, position: 7, stored: 10 });
      expect(await store.collection(coll).get('n1')).toEqual({ _id: 'n1', v: 1 });
      expect(await store.collection(coll).get('n2')).toBeNull();
      expect(await store.collection(coll).get('n3')).toBeNull();
      expect((await store.getCheckpoint(projection))!.position).toBe(10);
      await store.write({
        ops: [{ op: 'upsert', collection: coll, doc: { _id: 'n1', v: 4 } }],
        checkpoint: { projection, position: 11 },
      });
      expect(await store.collection(coll).get('n1')).toEqual({ _id: 'n1', v: 4 });
      expect((await store.getCheckpoint(projection))!.position).toBe(11);
    });

    it('keeps the id of the event a checkpoint stands at, so a log restored from an older copy is told apart', async () => {
      await store.write({ ops: [], checkpoint: { projection, position: 3, eventId: 'event-at-3' } });
      expect(await store.getCheckpoint(projection)).toMatchObject({ position: 3, eventId: 'event-at-3' });
      await store.write({ ops: [], checkpoint: { projection, position: 4 } });
      expect(await store.getCheckpoint(projection)).not.toHaveProperty('eventId');
    });

    it('lists and drops collections with their checkpoint', async () => {
      await store.write({
        ops: [{ op: 'upsert', collection: `${coll}.other`, doc: { _id: 'x' } }],
        checkpoint: { projection, position: 1 },
      });
      expect(await store.listCollections()).toEqual(expect.arrayContaining([coll, `${coll}.other`]));
      await store.drop([coll, `${coll}.other`], projection);
      expect(await store.listCollections()).not.toContain(coll);
      expect(await store.collection(coll).count()).toBe(0);
      expect(await store.collection(coll).get('c1')).toBeNull();
      expect(await store.getCheckpoint(projection)).toBeNull();
    });

    it('creates declared indexes idempotently; queries answer the same with them, and a new collection may be declared before its first write', async () => {
      const specs = [{ key: { status: 1, days: -1 } }, { key: { 'applicant.name': 1 } }] as const;
      await store.ensureIndexes(coll, specs);
      await store.ensureIndexes(coll, specs);
      await store.ensureIndexes(`${coll}-declared-first`, specs);
      const c = store.collection<Case>(coll);
      expect((await c.find({ status: 'open' }, { sort: { days: -1 } })).map((d) => d._id)).toEqual(['c1', 'c3']);
      expect(await store.collection(`${coll}-declared-first`).count()).toBe(0);
      await expect(store.ensureIndexes('bad$name', specs)).rejects.toThrow(/bad\$name/);
    });

    it('reads many documents by id at once where the store offers it: those that exist, as stored', async () => {
      const c = store.collection<Case>(coll);
      if (!c.getMany) return;
      const found = await c.getMany(['c1', 'c3', 'missing']);
      expect([...found.keys()].sort()).toEqual(['c1', 'c3']);
      expect(found.get('c1')).toEqual(cases[0]);
      expect((await c.getMany([])).size).toBe(0);
    });

    it('refuses a document without _id and a bad collection name, writing nothing', async () => {
      await expect(
        store.write({
          ops: [
            { op: 'upsert', collection: coll, doc: { _id: 'ok1' } },
            { op: 'upsert', collection: coll, doc: { name: 'x' } as never },
          ],
        }),
      ).rejects.toThrow(/_id/);
      await expect(
        store.write({
          ops: [
            { op: 'upsert', collection: coll, doc: { _id: 'ok2' } },
            { op: 'upsert', collection: 'bad$name', doc: { _id: 'y' } },
          ],
        }),
      ).rejects.toThrow(/bad\$name/);
      expect(await store.collection(coll).get('ok1')).toBeNull();
      expect(await store.collection(coll).get('ok2')).toBeNull();
    });

    it('writes a document expected at a revision only while it is stored at it (0: none, or one without a revision); else nothing of the batch, checkpoint included, and RevisionConflictError', async () => {
      const c = store.collection(coll);
      const cas = (id: string, revision: number, extra: Partial<WriteBatch> = {}): WriteBatch => ({
        ops: [{ op: 'upsert', collection: coll, doc: { _id: id, revision: revision + 1 } }],
        expect: [{ collection: coll, id, revision }],
        ...extra,
      });
      // None stored: revision 0. Stored at 1 since, so another writer's write from revision 0 is refused.
      await store.write(cas('r1', 0));
      expect(await c.get('r1')).toEqual({ _id: 'r1', revision: 1 });
      await expect(store.write(cas('r1', 0))).rejects.toThrow(RevisionConflictError);
      await expect(store.write(cas('r1', 2))).rejects.toMatchObject({
        name: 'RevisionConflictError',
        collection: coll,
        id: 'r1',
        expected: 2,
      });
      // Refused with a checkpoint and other documents: none of it written.
      await expect(
        store.write({
          ops: [{ op: 'upsert', collection: coll, doc: { _id: 'other', v: 1 } }, ...cas('r1', 0).ops],
          expect: cas('r1', 0).expect!,
          checkpoint: { projection, position: 5 },
        }),
      ).rejects.toThrow(RevisionConflictError);
      expect(await c.get('other')).toBeNull();
      expect(await store.getCheckpoint(projection)).toBeNull();
      await store.write({ ...cas('r1', 1), checkpoint: { projection, position: 5 } });
      expect(await c.get('r1')).toEqual({ _id: 'r1', revision: 2 });
      expect((await store.getCheckpoint(projection))?.position).toBe(5);
      // A document written without a revision (before revisions were kept) is at 0.
      await expect(store.write(cas('c1', 1))).rejects.toThrow(RevisionConflictError);
      await store.write(cas('c1', 0));
      expect(await c.get('c1')).toEqual({ _id: 'c1', revision: 1 });
      // A revision expected of a document there is none of is no insert.
      await expect(store.write(cas('r2', 3))).rejects.toThrow(RevisionConflictError);
      expect(await c.get('r2')).toBeNull();
      // Where the store commits a batch on another thread (written behind) it is refused the same way.
      await expect(store.write({ ...cas('r1', 1), behind: true })).rejects.toThrow(RevisionConflictError);
      await store.write({ ...cas('r1', 2), behind: true });
      expect(await c.get('r1')).toEqual({ _id: 'r1', revision: 3 });
      // An expectation of a document the batch does not upsert is refused before anything is written.
      await expect(
        store.write({ ops: [{ op: 'upsert', collection: coll, doc: { _id: 'r3' } }], expect: cas('r1', 3).expect! }),
      ).rejects.toThrow(/r1/);
      expect(await c.get('r3')).toBeNull();
    });

    it('of writers that read a document at the same revision, one writes it: the others are refused', async () => {
      const race = async (id: string, revision: number) =>
        Promise.allSettled(
          ['a', 'b', 'c'].map((by) =>
            store.write({
              ops: [{ op: 'upsert', collection: coll, doc: { _id: id, revision: revision + 1, by } }],
              expect: [{ collection: coll, id, revision }],
            }),
          ),
        );
      for (const [id, revision] of [
        ['raced', 0],
        ['raced', 1],
      ] as const) {
        const outcomes = await race(id, revision);
        expect(outcomes.filter((o) => o.status === 'fulfilled')).toHaveLength(1);
        for (const o of outcomes) if (o.status === 'rejected') expect(o.reason).toBeInstanceOf(RevisionConflictError);
        expect(await store.collection(coll).get(id)).toMatchObject({ revision: revision + 1 });
      }
    });

    it('a lease has one holder until it expires or is released; a takeover raises the token, and a write fenced with the old token writes nothing', async () => {
      const lease = `lease-${projection}`;
      const a = await store.acquireLease(lease, 'runner-a', 300);
      expect(a).toMatchObject({ name: lease, holder: 'runner-a', token: 1 });
      expect(await store.acquireLease(lease, 'runner-b', 300)).toBeNull();
      // A renewal keeps the token.
      expect(await store.acquireLease(lease, 'runner-a', 300)).toMatchObject({ holder: 'runner-a', token: 1 });
      await store.write({
        ops: [{ op: 'upsert', collection: coll, doc: { _id: 'fenced', by: 'a' } }],
        checkpoint: { projection, position: 1 },
        fence: { lease, token: 1 },
      });
      await new Promise((resolve) => setTimeout(resolve, 350));
      const b = await store.acquireLease(lease, 'runner-b', 60_000);
      expect(b).toMatchObject({ holder: 'runner-b', token: 2 });
      // Runner A, back from a pause past its expiry: neither its renewal nor its batch goes through.
      expect(await store.acquireLease(lease, 'runner-a', 300)).toBeNull();
      await expect(
        store.write({
          ops: [{ op: 'upsert', collection: coll, doc: { _id: 'fenced', by: 'a-late' } }],
          checkpoint: { projection, position: 2 },
          fence: { lease, token: 1 },
        }),
      ).rejects.toThrow(LeaseLostError);
      expect(await store.collection(coll).get('fenced')).toMatchObject({ by: 'a' });
      expect((await store.getCheckpoint(projection))?.position).toBe(1);
      await store.write({
        ops: [{ op: 'upsert', collection: coll, doc: { _id: 'fenced', by: 'b' } }],
        checkpoint: { projection, position: 2 },
        fence: { lease, token: 2 },
      });
      expect(await store.collection(coll).get('fenced')).toMatchObject({ by: 'b' });
      // A compare-and-set of a fenced writer: refused for its lease first, then for the revision, written with both.
      const fencedCas = (token: number, revision: number): WriteBatch => ({
        ops: [{ op: 'upsert', collection: coll, doc: { _id: 'fenced-cas', revision: revision + 1 } }],
        expect: [{ collection: coll, id: 'fenced-cas', revision }],
        fence: { lease, token },
      });
      await expect(store.write(fencedCas(1, 0))).rejects.toThrow(LeaseLostError);
      await expect(store.write(fencedCas(2, 1))).rejects.toThrow(RevisionConflictError);
      await store.write(fencedCas(2, 0));
      expect(await store.collection(coll).get('fenced-cas')).toEqual({ _id: 'fenced-cas', revision: 1 });
      // Released: another holder takes it at once, with the next token.
      await store.releaseLease(lease, 'runner-b');
      expect(await store.acquireLease(lease, 'runner-c', 300)).toMatchObject({ holder: 'runner-c', token: 3 });
    });
  });
}
