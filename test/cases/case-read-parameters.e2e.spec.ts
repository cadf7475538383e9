/**
 * The case reads' parameters as DTO classes at the edge (issue 16) and one form for dates (issue 20): a bare date
 * means that day in Asia/Almaty wherever an instant is taken, unknown parameters are refused naming those the route
 * takes, path and query errors come in one 400, and the version is `regulationVersionId` in every answer.
 */
import { fileSampleCase, startHarness, type ApiHarness } from '../support/api-harness';

let api: ApiHarness;
let caseId: string;
let position: number;
const auditor = { sub: 'auditor-params', roles: ['auditor'], unit: 'audit' };
beforeAll(async () => {
  api = await startHarness();
  ({ caseId, position } = await fileSampleCase(api));
});
afterAll(async () => api.close());

it('takes asOf as a date: the end of that day in Asia/Almaty (+06:00 in 2015)', async () => {
  const byDate = await api.call('GET', `/api/cases/${caseId}/sla?after=${position}&asOf=2015-10-05`, { as: auditor });
  expect(byDate.status).toBe(200);
  expect(byDate.body.asOf).toBe('2015-10-05T17:59:59.999Z');
  const byInstant = await api.call(
    'GET',
    `/api/cases/${caseId}/sla?asOf=${encodeURIComponent('2015-10-05T23:59:59.999+06:00')}`,
    { as: auditor },
  );
  expect(byInstant.body.rows).toEqual(byDate.body.rows);
});

it('refuses a parameter the route does not take, naming those it does', async () => {
  const r = await api.call('GET', `/api/cases/${caseId}/sla?asof=2015-10-05`, { as: auditor });
  expect(r.status).toBe(400);
  expect(r.body.errors).toEqual([
    { field: 'query.asof', problem: 'is not a parameter of this endpoint', allowed: 'after, asOf' },
  ]);
});

it('answers a bad path and a bad query in one 400, each named', async () => {
  const r = await api.call('GET', '/api/cases/not-a-case/sla?asOf=2015-02-30&after=x', { as: auditor });
  expect(r.status).toBe(400);
  expect(r.body.errors.map((e: { field: string }) => e.field).sort()).toEqual([
    'path.caseId',
    'query.after',
    'query.asOf',
  ]);
  expect(r.body.errors.find((e: { field: string }) => e.field === 'query.asOf')).toMatchObject({
    allowed: expect.stringContaining('Asia/Almaty'),
  });
});

it('names the regulation version regulationVersionId in the case, the list and the filing alike', async () => {
  const one = await api.call('GET', `/api/cases/${caseId}?after=${position}`, { as: auditor });
  const list = await api.call('GET', `/api/cases?after=${position}&limit=500`, { as: auditor });
  const row = list.body.cases.find((c: { caseId: string }) => c.caseId === caseId);
  expect(one.body.regulationVersionId).toBe(one.body.version.id);
  expect(row.regulationVersionId).toBe(one.body.regulationVersionId);
  expect(row.versionId).toBe(row.regulationVersionId);
});

it('refuses a malformed case or step id on a command with 400 naming path.caseId / path.stepId and what is allowed, writing nothing', async () => {
  const clerk = { sub: 'registry-clerk-astana', roles: ['registry-clerk'], unit: 'astana' };
  const head = await api.app.infra.eventLog.headPosition();
  const badCase = await api.call('POST', '/api/cases/NOT-A-CASE/steps/documents-registered', {
    as: clerk,
    body: { data: { incomingNumber: '1' } },
  });
  expect(badCase.status).toBe(400);
  expect(badCase.body.errors).toEqual([
    { field: 'path.caseId', problem: '"NOT-A-CASE" is not a case id', allowed: expect.stringContaining('UUID') },
  ]);
  const badStep = await api.call('POST', `/api/cases/${caseId}/steps/Documents_Registered`, {
    as: clerk,
    body: { data: { incomingNumber: '1' } },
  });
  expect(badStep.status).toBe(400);
  expect(badStep.body.errors).toEqual([
    {
      field: 'path.stepId',
      problem: '"Documents_Registered" is not a step id',
      allowed: expect.stringContaining('kebab-case'),
    },
  ]);
  const badCancel = await api.call('POST', '/api/cases/123/cancel', { as: clerk, body: {} });
  expect(badCancel.body.errors).toEqual([expect.objectContaining({ field: 'path.caseId' })]);
  expect(await api.app.infra.eventLog.headPosition()).toBe(head);
});
