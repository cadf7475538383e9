/**
 * An applicant's worklist on the real HTTP server and the real SQLite read store, every filter the store receives
 * recorded: their open steps are found by their IIN's blind index alone. The clear IIN was sent beside it (for builds
 * from before the blind index), where MongoDB's slow-query log and profiler keep what a filter holds (a review's
 * finding).
 */
import type { ReadCollection, ReadStore } from '../../src/modules/read-store/read-store.port';
import {
  makeIin,
  sampleFiling,
  startHarness,
  type ApiHarness,
  type ApiResponse,
  type TestCaller,
} from '../support/api-harness';

const iin = makeIin('880101', 3, 77);
const citizen: TestCaller = { sub: `applicant-${iin}`, roles: ['applicant'], iin };
let api: ApiHarness;

beforeAll(async () => {
  api = await startHarness();
}, 60_000);
afterAll(async () => api?.close());

/** Every argument the read store's collections are called with while `read` runs, as JSON. */
async function queriesDuring(store: ReadStore, read: () => Promise<unknown>): Promise<string[]> {
  const seen: string[] = [];
  const collection = store.collection.bind(store);
  const spy = jest.spyOn(store, 'collection').mockImplementation((name, options) => {
    const real = collection(name, options) as ReadCollection;
    return new Proxy(real, {
      get(target, member, receiver) {
        const value = Reflect.get(target, member, receiver) as unknown;
        if (typeof value !== 'function') return value;
        return (...args: unknown[]) => {
          seen.push(JSON.stringify([name, member, args]));
          return (value as (...a: unknown[]) => unknown).apply(target, args);
        };
      },
    });
  });
  try {
    await read();
  } finally {
    spy.mockRestore();
  }
  return seen;
}

it("an applicant's worklist finds their open step by the blind index; no query the read store receives holds the clear IIN", async () => {
  const filed = await api.call('POST', '/api/cases', { as: citizen, body: sampleFiling(iin) });
  expect(filed.status).toBe(201);
  await api.app.infra.projections.readModels.waitFor('compliance', filed.body.position, 10_000);
  let worklist: ApiResponse | undefined;
  const queries = await queriesDuring(api.app.infra.readStore, async () => {
    worklist = await api.call('GET', '/api/worklist', { as: citizen });
  });
  expect(worklist!.status).toBe(200);
  expect(worklist!.body.items.map((i: { caseId: string; stepId: string }) => [i.caseId, i.stepId])).toEqual([
    [filed.body.caseId, 'application-cancelled'],
  ]);
  // The recorder saw the worklist's lookup: by the blind index, and nothing else of the person.
  const index = api.app.infra.personalData.iinIndex(iin);
  expect(queries.some((q) => q.includes(index))).toBe(true);
  expect(queries.filter((q) => q.includes(iin))).toEqual([]);
});
