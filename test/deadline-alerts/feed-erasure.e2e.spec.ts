/**
 * An applicant's feed after their erasure, on the real HTTP server: the feed kept each case's IIN in clear (decrypting
 * every filing to learn it) and was told of no erasure, so the erased person's token still matched their erased cases
 * (a review's finding). Their cases are now found by the IIN's blind index, without opening any filing, and an erased
 * case matches no IIN.
 */
import { makeIin, startHarness, type ApiHarness, type TestCaller } from '../support/api-harness';

const ADMIN: TestCaller = { sub: 'admin-1', roles: ['admin'], unit: 'hq' };
const iin = makeIin('870514', 3, 71);
const citizen: TestCaller = { sub: `egov-${iin}`, roles: ['applicant'], iin };
const filing = (occurredAt: string) => ({
  serviceId: 'civil-service-testing',
  channel: 'portal',
  unit: 'astana-hq',
  applicant: { iin, fullName: 'Жанаров Ерлан Мухтарович' },
  occurredAt,
});

let api: ApiHarness;
beforeAll(async () => {
  api = await startHarness();
}, 60_000);
afterAll(async () => api?.close());

/** The cases of the applicant's feed from the start, with what this process opened through the vault meanwhile. */
async function feedCases(): Promise<{ cases: string[]; opened: number }> {
  const vault = api.app.infra.personalData;
  // Nothing else opens acts meanwhile: every projection has reached the log's head.
  const head = await api.app.infra.eventLog.headPosition();
  for (const model of ['cases', 'compliance']) await api.app.infra.projections.readModels.waitFor(model, head, 10_000);
  const open = jest.spyOn(vault, 'open');
  try {
    const page = await api.call('GET', '/api/feed?limit=1000', { as: citizen });
    expect(page.status).toBe(200);
    return {
      cases: [...new Set(page.body.items.map((i: { caseId: string }) => i.caseId))] as string[],
      opened: open.mock.calls.length,
    };
  } finally {
    open.mockRestore();
  }
}

it("the erased applicant's cases leave their feed at once; their cases are found without decrypting a filing", async () => {
  const filed = await api.call('POST', '/api/cases', { as: citizen, body: filing('2015-09-15T10:00:00+06:00') });
  expect(filed.status).toBe(201);
  const erasedCase = filed.body.caseId as string;
  // Closed years ago: past the retention period, so the applicant may be erased.
  const cancelled = await api.call('POST', `/api/cases/${erasedCase}/cancel`, {
    as: citizen,
    body: { reason: 'передумал', occurredAt: '2015-09-15T15:00:00+06:00' },
  });
  expect(cancelled.status).toBe(201);
  expect(await feedCases()).toEqual({ cases: [erasedCase], opened: 0 });

  const erased = await api.call('POST', '/api/personal-data/erasures', {
    as: ADMIN,
    body: { iin, basis: 'request of the data subject', reference: 'Law 94-V art. 17' },
  });
  expect(erased.status).toBe(201);
  expect(await feedCases()).toEqual({ cases: [], opened: 0 });

  // The same person filing again gets a new subject: that case is theirs, the erased one still is not.
  const again = await api.call('POST', '/api/cases', { as: citizen, body: filing('2015-10-15T10:00:00+06:00') });
  expect(again.status).toBe(201);
  expect(await feedCases()).toEqual({ cases: [again.body.caseId], opened: 0 });
});
