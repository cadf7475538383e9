/**
 * Issue 14.11 on the real server and files, with the server's clock injected: with the clock two days ahead an act
 * 1.5 days in the (real) future was accepted; after the clock was corrected every act on that case was refused
 * (422 before-previous-act), for ever. Now occurredAt is bounded by the recording clock plus a tolerance, and an
 * act whose previous act lies ahead of the clock is recorded, its metadata saying so.
 */
import { caseStreamId, type CaseEventMetadata } from '../../src/modules/cases/domain/case-event';
import { makeIin, startHarness, type ApiHarness, type TestCaller } from '../support/api-harness';

const DAY = 86_400_000;
const IIN = makeIin('850101', 3, 77);
const applicant: TestCaller = { sub: `applicant-${IIN}`, roles: ['applicant'], unit: 'public', iin: IIN };
const CLERK: TestCaller = { sub: 'registry-clerk-astana', roles: ['registry-clerk'], unit: 'astana' };
const HEAD: TestCaller = { sub: 'head-astana', roles: ['head'], unit: 'astana' };

/** "Real" time in the tests: a Tuesday inside the 2015 version's period; the server's clock is `real + skew`. */
const REAL = Date.parse('2015-09-15T10:00:00+06:00');
let skew = 0;
let api: ApiHarness;

beforeAll(async () => {
  api = await startHarness({ OCCURRED_AT_TOLERANCE_SECONDS: '300' }, { clock: () => new Date(REAL + skew) });
}, 30_000);
afterAll(async () => api.close());

const iso = (ms: number) => new Date(ms).toISOString();

describe('clock skew', () => {
  it('an occurredAt beyond the recording clock plus the tolerance is 400 naming occurredAt; within it, accepted', async () => {
    const file = (occurredAt: string) =>
      api.call('POST', '/api/cases', {
        as: applicant,
        body: {
          serviceId: 'personnel-reserve',
          trackId: 'competition-recommended',
          channel: 'portal',
          unit: 'astana',
          applicant: { iin: IIN, fullName: 'Тестов Тест' },
          occurredAt,
        },
      });
    const ahead = await file(iso(REAL + 6 * 60_000));
    expect(ahead.status).toBe(400);
    expect(ahead.body.errors).toEqual([
      expect.objectContaining({
        field: 'occurredAt',
        problem: expect.stringMatching(/is in the future/),
        allowed: 'an instant not after now + 300 s',
      }),
    ]);
    expect((await file(iso(REAL + 4 * 60_000))).status).toBe(201);
  });

  it('a case whose act was recorded under a clock two days ahead is not blocked after the correction: the next act is recorded and flagged', async () => {
    const filed = await api.call('POST', '/api/cases', {
      as: applicant,
      body: {
        serviceId: 'personnel-reserve',
        trackId: 'competition-recommended',
        channel: 'portal',
        unit: 'astana',
        applicant: { iin: IIN, fullName: 'Тестов Тест' },
        occurredAt: iso(REAL),
      },
    });
    expect(filed.status).toBe(201);
    const caseId = filed.body.caseId as string;

    // The server's clock runs two days ahead: an act 1.5 days in the real future is "in the past" by it.
    skew = 2 * DAY;
    const skewed = await api.call('POST', `/api/cases/${caseId}/steps/documents-registered`, {
      as: CLERK,
      body: { occurredAt: iso(REAL + 1.5 * DAY), data: { incomingNumber: '04-9' } },
    });
    expect(skewed.status).toBe(201);

    // The clock is corrected. Before the fix, every act was now 422 before-previous-act until real time caught up.
    skew = 0;
    const next = await api.call('POST', `/api/cases/${caseId}/steps/assigned-to-employee`, {
      as: HEAD,
      body: { occurredAt: iso(REAL + 60_000), data: { assigneeId: 'employee-1' } },
    });
    expect({ status: next.status, body: next.status === 201 ? null : next.body }).toEqual({ status: 201, body: null });

    const events = await api.app.infra.eventLog.readStream(caseStreamId(caseId));
    const metadata = events.map((e) => e.metadata as CaseEventMetadata);
    expect(metadata[2]!.previousActAhead).toEqual({ occurredAt: iso(REAL + 1.5 * DAY), recordedAt: iso(REAL) });
    expect(metadata[1]!.previousActAhead).toBeUndefined();
    // The audit history shows the flag to auditors as it is stored.
    const history = await api.call('GET', `/api/cases/${caseId}/history`, {
      as: { sub: 'auditor-1', roles: ['auditor'], unit: 'hq' },
    });
    expect(history.body.events[2].metadata.previousActAhead).toEqual({
      occurredAt: iso(REAL + 1.5 * DAY),
      recordedAt: iso(REAL),
    });
    // The case reads as usual, acts in the order recorded.
    const view = await api.call('GET', `/api/cases/${caseId}?after=${next.body.position}`, { as: HEAD });
    expect(view.status).toBe(200);
    expect(view.body.acts.map((a: { stepId: string }) => a.stepId)).toEqual([
      'application-submitted',
      'documents-registered',
      'assigned-to-employee',
    ]);
    expect((await api.call('GET', `/api/cases/${caseId}/sla`, { as: HEAD })).status).toBe(200);
  });

  it('while the previous act is not ahead of the clock, acts out of order are still refused (422 before-previous-act)', async () => {
    const filed = await api.call('POST', '/api/cases', {
      as: applicant,
      body: {
        serviceId: 'personnel-reserve',
        trackId: 'competition-recommended',
        channel: 'portal',
        unit: 'astana',
        applicant: { iin: IIN, fullName: 'Тестов Тест' },
        occurredAt: iso(REAL - 60_000),
      },
    });
    const early = await api.call('POST', `/api/cases/${filed.body.caseId}/steps/documents-registered`, {
      as: CLERK,
      body: { occurredAt: iso(REAL - 120_000), data: { incomingNumber: '04-10' } },
    });
    expect(early.status).toBe(422);
    expect(early.body.type).toMatch(/before-previous-act$/);
  });
});
