/**
 * A civil servant who applies acts on their own case as its applicant only, on the real HTTP server: found attacking
 * the service (a token with the applicant's and a staff role admitted, briefed, scored and signed its holder's own
 * test), then got around in a re-test (a staff token whose IIN was written another way, a PSC operator cancelling "on
 * the applicant's behalf", and a worklist listing steps the command then refused).
 */
import { makeIin, sampleFiling, startHarness, type ApiHarness, type TestCaller } from '../support/api-harness';

const UNIT = 'astana';
const own = makeIin('880101', 3, 77);
const other = makeIin('900202', 4, 78);
let api: ApiHarness;
let ownCase: string;
let othersCase: string;

const applicant = (iin: string): TestCaller => ({ sub: `applicant-${iin}`, roles: ['applicant'], iin });
const clerk = (iin?: string): TestCaller => ({
  sub: 'clerk-1',
  roles: ['registry-clerk'],
  unit: UNIT,
  ...(iin ? { iin } : {}),
});
const filing = sampleFiling;

beforeAll(async () => {
  api = await startHarness();
  ownCase = (await api.call('POST', '/api/cases', { as: applicant(own), body: filing(own) })).body.caseId;
  const filed = await api.call('POST', '/api/cases', { as: applicant(other), body: filing(other) });
  othersCase = filed.body.caseId;
  await api.app.infra.projections.readModels.waitFor('compliance', filed.body.position, 10_000);
  await api.app.infra.projections.readModels.waitFor('cases', filed.body.position, 10_000);
}, 60_000);
afterAll(async () => api?.close());

const register = (caseId: string, as: TestCaller) =>
  api.call('POST', `/api/cases/${caseId}/steps/documents-registered`, {
    as,
    body: { occurredAt: '2015-10-05T10:00:00+06:00', data: { incomingNumber: '04-1' } },
  });

it('403 for a staff step on the case filed with the caller’s own IIN, with or without the applicant role; the same clerk acts on another person’s case', async () => {
  for (const as of [clerk(own), { ...clerk(own), roles: ['registry-clerk', 'applicant'] }]) {
    const r = await register(ownCase, as);
    expect(r.status).toBe(403);
    expect(r.body.detail).toContain("this case's applicant");
  }
  const view = await api.call('GET', `/api/cases/${ownCase}`, { as: clerk(own) });
  expect(view.body.callerMayTake).toEqual([]);
  const worklist = await api.call('GET', '/api/worklist', { as: clerk(own) });
  expect(worklist.status).toBe(200);
  const listed = worklist.body.items.map((i: { caseId: string }) => i.caseId);
  expect(listed).toContain(othersCase);
  expect(listed).not.toContain(ownCase);
  expect((await register(othersCase, clerk(own))).status).toBe(201);
});

it.each([
  ['with a leading space', ` ${own}`],
  ['in full-width digits', [...own].map((d) => String.fromCodePoint(0xff10 + Number(d))).join('')],
  ['in groups', `${own.slice(0, 4)} ${own.slice(4, 8)} ${own.slice(8)}`],
])('401 for a staff token whose IIN claim is written %s: an IIN is one form only', async (_how, iin) => {
  const r = await api.call('GET', '/api/worklist', { as: clerk(iin) });
  expect(r.status).toBe(401);
  expect(r.body.detail).toContain('claim "iin" is not a valid IIN');
});

it('403 for a PSC operator cancelling, "on the applicant’s behalf", the PSC case filed with their own IIN', async () => {
  const operator: TestCaller = { sub: 'psc-1', roles: ['psc-operator'], unit: UNIT, iin: own };
  const filed = await api.call('POST', '/api/cases', {
    as: { sub: 'psc-2', roles: ['psc-operator'], unit: UNIT },
    body: { ...filing(own), serviceId: 'civil-service-testing', trackId: undefined, channel: 'psc' },
  });
  expect(filed.status).toBe(201);
  const r = await api.call('POST', `/api/cases/${filed.body.caseId}/cancel`, { as: operator, body: {} });
  expect(r.status).toBe(403);
  expect(
    (await api.call('POST', `/api/cases/${filed.body.caseId}/cancel`, { as: applicant(own), body: {} })).status,
  ).toBe(201);
});
