/**
 * Issue 14.8: lists cost O(N) in all cases (`limit=1` 24 ms at 14k cases, 111 ms at 30k; an applicant with no
 * cases waited 25 ms). With the cases projection's declared indexes, the documents a list examines follow its
 * page, not the store: counted here, on the real SQLite file, across two store sizes (no timing). And an indexed
 * query answers exactly what mingo over the whole collection answers.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { find as mingoFind } from 'mingo';
import { CASE_LIST_INDEXES } from '../../src/modules/cases/projections/cases.projection';
import type { Filter, ReadDocument, Sort } from '../../src/modules/read-store/read-store.port';
import { openSqliteReadStore, type SqliteReadStore } from '../../src/modules/read-store/sqlite/sqlite-read-store';

const dir = mkdtempSync(join(tmpdir(), 'reglament-index-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const UNITS = ['astana', 'almaty', 'shymkent', 'aktobe'];
const STATUSES = ['open', 'completed', 'refused', 'cancelled'];
function caseDoc(i: number): ReadDocument {
  return {
    _id: `00000000-0000-7000-8000-${String(i).padStart(12, '0')}`,
    unit: UNITS[i % 4],
    status: STATUSES[(i >> 2) % 4],
    serviceId: i % 3 === 0 ? 'civil-service-testing' : 'personnel-reserve',
    assignee: i % 5 === 0 ? null : `employee-${i % 7}`,
    applicantIin: `8501013${String(i % 1000).padStart(5, '0')}`,
    // Ties on the same instant, to check the order by id within them.
    submittedAt: new Date(Date.UTC(2015, 8, 1) + Math.floor(i / 3) * 60_000).toISOString(),
  };
}

async function storeWith(count: number): Promise<SqliteReadStore> {
  const store = openSqliteReadStore({ file: join(dir, `cases-${count}.db`) });
  for (let from = 0; from < count; from += 5_000) {
    const ops = Array.from({ length: Math.min(5_000, count - from) }, (_, k) => ({
      op: 'upsert' as const,
      collection: 'cases',
      doc: caseDoc(from + k),
    }));
    await store.write({ ops });
  }
  return store;
}

const NEWEST: Sort = { submittedAt: -1, _id: -1 };

async function examined(
  store: SqliteReadStore,
  filter: Filter,
  limit: number,
): Promise<{ examined: number; rows: number; indexed: boolean }> {
  const cases = store.collection('cases', { indexes: CASE_LIST_INDEXES });
  const before = { ...store.queryStats };
  const rows = await cases.find(filter, { sort: NEWEST, limit });
  return {
    examined: store.queryStats.examined - before.examined,
    rows: rows.length,
    indexed: store.queryStats.indexedQueries > before.indexedQueries,
  };
}

describe('list indexes of the sqlite read store', () => {
  let small: SqliteReadStore;
  let large: SqliteReadStore;
  beforeAll(async () => {
    small = await storeWith(2_000);
    large = await storeWith(20_000);
  }, 60_000);
  afterAll(async () => {
    await small.close();
    await large.close();
  });

  it.each<[string, Filter, number]>([
    ['limit=1 of everything (an auditor)', {}, 1],
    ["a unit's newest page (a clerk)", { unit: 'almaty' }, 50],
    ['an applicant with no cases', { applicantIin: '999999999999' }, 50],
    ['a unit and a status', { $and: [{ unit: 'astana' }, { status: 'open' }] }, 50],
  ])('%s examines as many documents with 20,000 cases as with 2,000', async (_name, filter, limit) => {
    const a = await examined(small, filter, limit);
    const b = await examined(large, filter, limit);
    expect({ indexed: b.indexed, examined: b.examined }).toEqual({ indexed: true, examined: a.examined });
    expect(b.examined).toBeLessThanOrEqual(limit + 2);
  });

  it("an applicant's own cases: it examines their cases only, however many others the store holds", async () => {
    const a = await examined(small, { applicantIin: '850101300007' }, 50);
    const b = await examined(large, { applicantIin: '850101300007' }, 50);
    expect([a, b]).toEqual([
      { indexed: true, examined: 2, rows: 2 },
      { indexed: true, examined: 20, rows: 20 },
    ]);
  });

  it("a deep page (its cursor far into a unit's cases) starts at the cursor: it examines one page, not the pages before", async () => {
    for (const store of [small, large]) {
      const cases = store.collection('cases', { indexes: CASE_LIST_INDEXES });
      const all = await cases.find({ unit: 'almaty' }, { sort: NEWEST });
      const cursorDoc = all[all.length - 60]!;
      const cursor = {
        $or: [
          { submittedAt: { $lt: cursorDoc.submittedAt } },
          { submittedAt: cursorDoc.submittedAt, _id: { $lt: cursorDoc._id } },
        ],
      };
      const before = store.queryStats.examined;
      const page = await cases.find({ $and: [{ unit: 'almaty' }, cursor] }, { sort: NEWEST, limit: 50 });
      expect(page.map((d) => d._id)).toEqual(all.slice(all.length - 59, all.length - 9).map((d) => d._id));
      // The documents at the cursor's instant (ties) are tested too: at most a few more than the page.
      expect(store.queryStats.examined - before).toBeLessThanOrEqual(53);
    }
  });

  it('a filter no index leads still answers, by a scan it counts', async () => {
    const before = large.queryStats.scans;
    const rows = await large
      .collection('cases', { indexes: CASE_LIST_INDEXES })
      .find({ submittedAt: { $gte: '2015-09-05' } }, { sort: { submittedAt: 1 }, limit: 3 });
    expect(rows).toHaveLength(3);
    expect(large.queryStats.scans).toBe(before + 1);
  });

  it('answers exactly what mingo over the whole collection answers, through writes, deletes and a second connection', async () => {
    const file = join(dir, 'equivalence.db');
    const writer = openSqliteReadStore({ file });
    const reader = openSqliteReadStore({ file });
    const all = new Map<string, ReadDocument>();
    const put = async (docs: ReadDocument[], deletes: string[] = []) => {
      await writer.write({
        ops: [
          ...docs.map((doc) => ({ op: 'upsert' as const, collection: 'cases', doc })),
          ...deletes.map((id) => ({ op: 'delete' as const, collection: 'cases', id })),
        ],
      });
      for (const d of docs) all.set(d._id, d);
      for (const id of deletes) all.delete(id);
    };
    const queries: [Filter, Sort, number][] = [
      [{}, NEWEST, 7],
      [{ unit: 'astana' }, NEWEST, 5],
      [{ unit: 'astana', status: 'open' }, NEWEST, 100],
      [
        { $and: [{ serviceId: 'personnel-reserve' }, { submittedAt: { $lte: '2015-09-01T01:00:00.000Z' } }] },
        NEWEST,
        4,
      ],
      [{ assignee: null }, NEWEST, 6],
      [
        {
          $and: [
            { unit: 'almaty' },
            {
              $or: [
                { submittedAt: { $lt: '2015-09-01T00:30:00.000Z' } },
                { submittedAt: '2015-09-01T00:30:00.000Z', _id: { $lt: caseDoc(91)._id } },
              ],
            },
          ],
        },
        NEWEST,
        3,
      ],
      [{ status: 'completed' }, { submittedAt: 1, _id: 1 }, 9],
      [{ status: 'completed', submittedAt: { $gte: '2015-09-01T00:40:00.000Z' } }, { submittedAt: 1, _id: 1 }, 9],
      [
        { status: 'open', submittedAt: { $gt: '2015-09-01T00:40:00.000Z', $lte: '2015-09-01T01:10:00.000Z' } },
        NEWEST,
        50,
      ],
      [
        {
          $or: [
            { submittedAt: { $lt: '2015-09-01T00:20:00.000Z' } },
            { submittedAt: '2015-09-01T00:20:00.000Z', _id: { $lt: caseDoc(61)._id } },
          ],
        },
        NEWEST,
        4,
      ],
    ];
    const check = async () => {
      for (const [filter, sort, limit] of queries) {
        const expected = mingoFind([...all.values()], filter)
          .sort(sort)
          .limit(limit)
          .all()
          .map((d) => d._id);
        const got = (
          await reader.collection('cases', { indexes: CASE_LIST_INDEXES }).find(filter, { sort, limit })
        ).map((d) => d._id);
        expect({ filter, got }).toEqual({ filter, got: expected });
        expect(await reader.collection('cases', { indexes: CASE_LIST_INDEXES }).count(filter)).toBe(
          mingoFind([...all.values()], filter).all().length,
        );
      }
      // Without a sort or a limit (every match, in no promised order), an index with an equality prefix serves too.
      for (const filter of [
        { unit: 'shymkent' },
        { applicantIin: caseDoc(7).applicantIin as string, status: 'open' },
      ]) {
        const expected = mingoFind([...all.values()], filter)
          .all()
          .map((d) => d._id)
          .sort();
        expect(
          (await reader.collection('cases', { indexes: CASE_LIST_INDEXES }).find(filter)).map((d) => d._id).sort(),
        ).toEqual(expected);
      }
    };
    await put(Array.from({ length: 300 }, (_, i) => caseDoc(i)));
    await check();
    // Moves within the index (a status changes, an assignee is set), deletions, a few new ones: changes applied one by one.
    await put(
      [
        { ...caseDoc(4), status: 'completed' },
        { ...caseDoc(10), assignee: 'employee-9', unit: 'astana' },
        caseDoc(301),
      ],
      [caseDoc(8)._id, caseDoc(12)._id],
    );
    await check();
    // Many changes at once: the indexes are sorted again.
    await put(Array.from({ length: 200 }, (_, i) => ({ ...caseDoc(i), status: 'refused' })));
    await check();
    await writer.close();
    await reader.close();
  });
});
