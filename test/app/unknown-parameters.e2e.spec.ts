/**
 * One validation style at the HTTP edge (issue 16): the routes' query strings are DTO classes, so a parameter a
 * route does not take is refused there, 400 naming it and what the route takes, instead of being ignored; and a
 * bare date is taken wherever an instant is, meaning that day in Asia/Almaty.
 */
import { fileSampleCase, startHarness, type ApiHarness } from '../support/api-harness';

let api: ApiHarness;
let caseId: string;
const auditor = { sub: 'auditor-unknown-params', roles: ['auditor'], unit: 'audit' };
beforeAll(async () => {
  api = await startHarness();
  ({ caseId } = await fileSampleCase(api));
});
afterAll(async () => api.close());

const routes = () => [
  ['/api/cases?sort=asc', 'query.sort', 'after, serviceId, status, unit, assignee, applicantIin, submittedFrom, submittedTo, limit, cursor'],
  [`/api/cases/${caseId}?fields=all`, 'query.fields', 'after'],
  [`/api/cases/${caseId}/sla?at=2015-10-05`, 'query.at', 'after, asOf'],
  [`/api/cases/${caseId}/history?since=2015-01-01T00:00:00Z`, 'query.since', 'type, time, from, to, format, lang'],
  [`/api/cases/${caseId}/state?revision=1`, 'query.revision', 'asOf, atRevision, time'],
  [`/api/cases/${caseId}/sla/explain?when=now`, 'query.when', 'asOf'],
  ['/api/calendar/KZ/working-days?from=2024-05-01&to=2024-05-31&region=astana', 'query.region', 'from, to'],
  ['/api/calendar/KZ/deadline?start=2024-05-03T10:00:00Z&workingDays=3&calendarDays=1', 'query.calendarDays', 'start, workingDays'],
  ['/api/regulations?service=personnel-reserve', 'query.service', 'serviceId, at'],
  ['/api/regulations/resolve?serviceId=academy-admission&at=2019-06-01T04:00:00Z&lang=kk', 'query.lang', 'serviceId, at'],
  ['/api/compliance/summary?groupBy=service&month=2015-09', 'query.month', 'serviceId, unit, from, to, asOf, after, groupBy, versionId, trackId, format, lang'],
  ['/api/compliance/overdue?page=2', 'query.page', 'serviceId, unit, from, to, asOf, after, limit, offset, format, lang, role'],
  ['/api/compliance/at-risk?versionId=personnel-reserve/order-1-2030', 'query.versionId', 'serviceId, unit, from, to, asOf, after, limit, offset, format, lang'],
  ['/api/compliance/step-cases?serviceId=civil-service-testing&stepId=admitted-to-test&sort=desc', 'query.sort', 'serviceId, unit, from, to, asOf, after, limit, offset, format, lang, stepId'],
];

it.each([0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13])('refuses an unknown parameter on route #%i, naming it and what the route takes', async (index) => {
  const [path, field, allowed] = routes()[index]!;
  const r = await api.call('GET', path!, { as: auditor });
  expect({ path, status: r.status, errors: r.body.errors }).toEqual({ path, status: 400, errors: [{ field, problem: 'is not a parameter of this endpoint', allowed }] });
});

it('400 for an unknown parameter of the worklist, naming what it takes (a clerk, who has one)', async () => {
  const clerk = { sub: 'clerk-unknown-params', roles: ['registry-clerk'], unit: 'astana' };
  const r = await api.call('GET', '/api/worklist?status=open', { as: clerk });
  expect({ status: r.status, errors: r.body.errors }).toEqual({ status: 400, errors: [{ field: 'query.status', problem: 'is not a parameter of this endpoint', allowed: 'limit, after' }] });
});

it('400 for an unknown parameter of the webhook deliveries, naming what they take (an administrator, who reads them)', async () => {
  const admin = { sub: 'admin-unknown-params', roles: ['admin'], unit: 'hq' };
  const r = await api.call('GET', '/api/webhooks/deliveries?state=dead', { as: admin });
  expect({ status: r.status, errors: r.body.errors }).toEqual({ status: 400, errors: [{ field: 'query.state', problem: 'is not a parameter of this endpoint', allowed: 'subscriptionId, status, limit' }] });
});

it('resolves a regulation version at a bare date as at that day in Asia/Almaty', async () => {
  const byDate = await api.call('GET', '/api/regulations/resolve?serviceId=academy-admission&at=2019-06-01', { as: auditor });
  const byInstant = await api.call('GET', `/api/regulations/resolve?serviceId=academy-admission&at=${encodeURIComponent('2019-06-01T00:00:00+06:00')}`, { as: auditor });
  expect(byDate.status).toBe(200);
  expect(byDate.body).toEqual(byInstant.body);
});

it('documents each of those parameters in the API document, where a generated client finds them', async () => {
  const document = (await api.call('GET', '/api/docs-json')).body;
  const names = (path: string) => (document.paths[path].get.parameters as { name: string; in: string }[]).filter((p) => p.in === 'query').map((p) => p.name);
  expect(names('/api/cases/{caseId}/state')).toEqual(['asOf', 'atRevision', 'time']);
  expect(names('/api/calendar/{code}/deadline')).toEqual(['start', 'workingDays']);
  expect(names('/api/regulations/resolve')).toEqual(['serviceId', 'at']);
  expect(names('/api/compliance/overdue')).toEqual(['serviceId', 'unit', 'from', 'to', 'asOf', 'after', 'limit', 'offset', 'format', 'lang', 'role']);
  expect(names('/api/worklist')).toEqual(['limit', 'after']);
});
