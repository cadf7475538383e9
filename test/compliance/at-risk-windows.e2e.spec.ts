/**
 * How far along an annual window is counts from when the window opens, on the real server: the at-risk list and the
 * worklist measured a window (the 2015 academy admission's entrance exams, 10-20 August) from the filing, so a case
 * filed in June read "at risk" in early August, before anyone could act, as the scheduler's warnings never did.
 */
import { makeIin, startHarness, type ApiHarness, type TestCaller } from '../support/api-harness';

const at = (local: string) => `${local}+06:00`;
const AUDITOR: TestCaller = { sub: 'auditor-1', roles: ['auditor'], unit: 'hq' };
const COMMISSION: TestCaller = { sub: 'subject-commission-astana', roles: ['subject-commission'], unit: 'astana' };

let api: ApiHarness;
// The worklist is read as of the service's clock: it is moved to each day the test reads.
let now = new Date(at('2016-06-01T10:05:00'));
let caseId: string;
let head: number;
beforeAll(async () => {
  api = await startHarness({}, { clock: () => now });
  const iin = makeIin('900101', 3, 71);
  const filed = await api.call('POST', '/api/cases', {
    as: { sub: `applicant-${iin}`, roles: ['applicant'], unit: 'public', iin },
    body: {
      serviceId: 'academy-admission',
      channel: 'portal',
      unit: 'astana',
      applicant: { iin, fullName: 'Тестов Тест' },
      occurredAt: at('2016-06-01T10:00:00'),
    },
  });
  expect(filed.status).toBe(201);
  caseId = filed.body.caseId;
  now = new Date(at('2016-06-02T10:25:00'));
  const accepted = await api.call('POST', `/api/cases/${caseId}/steps/documents-accepted`, {
    as: { sub: 'technical-secretary-astana', roles: ['technical-secretary'], unit: 'astana' },
    body: { occurredAt: at('2016-06-02T10:20:00'), startedAt: at('2016-06-02T10:00:00'), data: {} },
  });
  expect(accepted.status).toBe(201);
  head = await api.app.infra.eventLog.headPosition();
}, 30_000);
afterAll(async () => api.close());

const examRow = async (asOf: string) => {
  const r = await api.call('GET', `/api/compliance/at-risk?asOf=${encodeURIComponent(asOf)}&limit=1000&after=${head}`, {
    as: AUDITOR,
  });
  expect(r.status).toBe(200);
  return (r.body.rows as { caseId: string; stepId: string; limitId: string; threshold: number | null }[]).find(
    (row) => row.caseId === caseId && row.limitId === 'exam-window',
  );
};
const examStep = async (asOf: string) => {
  now = new Date(asOf);
  const r = await api.call('GET', `/api/worklist?limit=1000&after=${head}`, {
    as: COMMISSION,
  });
  expect(r.status).toBe(200);
  return r.body.items.find(
    (s: { caseId: string; stepId: string }) => s.caseId === caseId && s.stepId === 'entrance-exams-passed',
  );
};

describe('an annual window is measured from its opening (10 August), not from the filing (1 June)', () => {
  it('on 5 August, 80 % of the way from the filing and before the window opens, the exams are not at risk', async () => {
    expect(await examRow(at('2016-08-05T12:00:00'))).toBeUndefined();
    expect(await examStep(at('2016-08-05T12:00:00'))).toMatchObject({ atRisk: false });
  });

  it('on 16 August, past half of the window, they are at risk at the 50 % warning', async () => {
    expect(await examRow(at('2016-08-16T12:00:00'))).toMatchObject({ stepId: 'entrance-exams-passed', threshold: 50 });
    expect(await examStep(at('2016-08-16T12:00:00'))).toMatchObject({ atRisk: true, threshold: 50 });
  });
});
