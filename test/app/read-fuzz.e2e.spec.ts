/**
 * Every read endpoint under arbitrary parameters, on the real server: never a 5xx, every refusal is
 * problem+json, and reading writes nothing but the record of each disclosure of personal data (a head of unit reads
 * here, so the auditors' access log does not move; the history, state, explanation and evidence open the applicant's
 * encrypted fields for them, and each such opening is recorded).
 */
import fc from 'fast-check';
import { fileSampleCase, startHarness, type ApiHarness } from '../support/api-harness';

const head = { sub: 'head-astana', roles: ['head'], unit: 'astana' };
let api: ApiHarness;
let caseId: string;

beforeAll(async () => {
  api = await startHarness();
  const filed = await fileSampleCase(api);
  caseId = filed.caseId;
  await api.app.infra.projections.readModels.waitFor('compliance', filed.position, 10_000);
});
afterAll(async () => api.close());

const value = fc.oneof(
  fc.string({ maxLength: 30 }),
  fc.constantFrom(
    '',
    '0',
    '-1',
    '1e9',
    '99999999999999999999',
    'null',
    '2015-10-05',
    '2015-10',
    '2015-13',
    '2015-10-05T10:00:00+06:00',
    '2015-10-05T10:00:00',
    'service',
    'step',
    'month',
    'weekday',
    'personnel-reserve',
    'astana',
    'head',
    'DocumentRegistered,Nope',
    'occurred',
    'recorded',
    '%00',
    '[]',
    '{}',
  ),
);
const params = [
  'serviceId',
  'versionId',
  'trackId',
  'unit',
  'status',
  'assignee',
  'applicantIin',
  'submittedFrom',
  'submittedTo',
  'limit',
  'cursor',
  'after',
  'asOf',
  'atRevision',
  'time',
  'type',
  'from',
  'to',
  'groupBy',
  'role',
  'stepId',
  'x',
];
const query = fc
  .dictionary(fc.constantFrom(...params), value, { maxKeys: 5 })
  .map((q) => new URLSearchParams(q).toString());
const id = fc.oneof(
  fc.constant('CASE'),
  fc.constant('00000000-0000-4000-8000-000000000000'),
  fc.string({ maxLength: 40 }),
);
const routes = [
  '/api/cases',
  '/api/cases/:id',
  '/api/cases/:id/sla',
  '/api/cases/:id/history',
  '/api/cases/:id/state',
  '/api/cases/:id/sla/explain',
  '/api/cases/:id/verify',
  '/api/cases/:id/evidence',
  '/api/compliance/summary',
  '/api/compliance/overdue',
  '/api/compliance/step-cases',
  '/api/worklist',
  '/api/regulations',
  '/api/calendar/KZ/working-days',
];

it('no 5xx, problem+json refusals, nothing written but disclosures of personal data, whatever the parameters', async () => {
  // The filing's regulation version is pinned in the log at its first use, just after the filing is answered.
  await api.app.infra.catalogPins.settled();
  const before = await api.app.infra.eventLog.headPosition();
  await fc.assert(
    fc.asyncProperty(fc.constantFrom(...routes), id, query, async (route, rawId, q) => {
      const path = route.replace(':id', encodeURIComponent(rawId === 'CASE' ? caseId : rawId));
      const r = await api.call('GET', `${path}?${q}`, { as: head });
      expect({ path, q, status: r.status < 500 }).toEqual({ path, q, status: true });
      if (r.status >= 400) expect(r.headers.get('content-type')).toMatch(/application\/problem\+json/);
    }),
    { numRuns: 400 },
  );
  const written = await api.app.infra.eventLog.readAll({ after: before });
  expect(
    written.filter((e) => e.type !== 'PersonalDataDisclosed' || !e.streamId.startsWith('personal-data-access-')),
  ).toEqual([]);
  expect(written.every((e) => (e.data as { cases: string[] }).cases.join() === caseId)).toBe(true);
}, 120_000);
