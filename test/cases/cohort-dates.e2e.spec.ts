/**
 * Issue 14.7 on the real server and files: the filer controlled the SLA clocks. An applicant's
 * `cohortDates: { document-acceptance-end: "2027-12-20" }` moved the provider's corps "A" review deadline years
 * away, and an array value was stored against the declared schema. Cohort dates are now the provider's.
 */
import { caseStreamId } from '../../src/modules/cases/domain/case-event';
import { makeIin, startHarness, type ApiHarness, type TestCaller } from '../support/api-harness';

const at = (day: string, time: string) => `${day}T${time}:00+06:00`;
const applicant = (iin: string): TestCaller => ({ sub: `applicant-${iin}`, roles: ['applicant'], unit: 'public', iin });
const RESPONSIBLE: TestCaller = { sub: 'responsible-astana', roles: ['responsible-person'], unit: 'astana' };
const EMPLOYEE: TestCaller = { sub: 'employee-astana', roles: ['employee'], unit: 'astana' };
const AUDITOR: TestCaller = { sub: 'auditor-1', roles: ['auditor'], unit: 'hq' };
let serial = 10;
const corpsA = (iin: string, cohortDates: unknown) => ({
  serviceId: 'personnel-reserve',
  trackId: 'corps-a-selection',
  channel: 'portal',
  unit: 'astana',
  applicant: { iin, fullName: 'Тестов Тест' },
  occurredAt: at('2015-09-25', '10:00'),
  cohortDates,
});

let api: ApiHarness;
beforeAll(async () => {
  api = await startHarness();
}, 30_000);
afterAll(async () => api.close());

describe("cohort dates are the provider's", () => {
  it('the attack: an applicant sending document-acceptance-end gets 403 naming the field, and nothing is written', async () => {
    const iin = makeIin('800101', 3, serial++);
    const head = await api.app.infra.eventLog.headPosition();
    const r = await api.call('POST', '/api/cases', {
      as: applicant(iin),
      body: corpsA(iin, { 'document-acceptance-end': '2027-12-20' }),
    });
    expect(r.status).toBe(403);
    expect(r.headers.get('content-type')).toMatch(/^application\/problem\+json/);
    expect(r.body.detail).toMatch(
      /^cohortDates \(document-acceptance-end\) start the provider's clocks and are set by the provider's staff/,
    );
    expect(r.body.requiredRoles).toEqual(['responsible-person']);
    expect(await api.app.infra.eventLog.headPosition()).toBe(head);
  });

  it.each([
    ['an array', ['2015-10-09'], /is an array, not a date/],
    ['an object', { date: '2015-10-09' }, /is an object, not a date/],
    ['a number', 20151009, /is a number, not a date/],
    ['not a date', '2015-02-30', /./],
    [
      "after the version's period",
      '2027-12-20',
      /outside the period of personnel-reserve\/order-184-2015 \(2015-08-11 to 2016-08-08\)/,
    ],
    ["before the version's period", '2015-01-10', /outside the period/],
  ])(
    'a value that is %s is 400 naming cohortDates.document-acceptance-end, and nothing is written',
    async (_what, value, problem) => {
      const iin = makeIin('800101', 3, serial++);
      const head = await api.app.infra.eventLog.headPosition();
      const r = await api.call('POST', '/api/cases', {
        as: RESPONSIBLE,
        body: corpsA(iin, { 'document-acceptance-end': value }),
      });
      expect(r.status).toBe(400);
      expect(r.body.errors).toEqual([
        expect.objectContaining({
          field: 'cohortDates.document-acceptance-end',
          problem: expect.stringMatching(problem),
        }),
      ]);
      expect(await api.app.infra.eventLog.headPosition()).toBe(head);
    },
  );

  it('an array for the whole field, or an undeclared key, is 400 too', async () => {
    const iin = makeIin('800101', 3, serial++);
    const whole = await api.call('POST', '/api/cases', { as: RESPONSIBLE, body: corpsA(iin, ['2015-10-09']) });
    expect(whole.status).toBe(400);
    expect(whole.body.errors).toEqual([expect.objectContaining({ field: 'cohortDates' })]);
    const unknown = await api.call('POST', '/api/cases', {
      as: RESPONSIBLE,
      body: corpsA(iin, { 'academic-year-start': '2015-10-09' }),
    });
    expect(unknown.status).toBe(400);
    expect(unknown.body.errors).toEqual([
      expect.objectContaining({
        field: 'cohortDates.academic-year-start',
        problem: expect.stringMatching(/is not a cohort date of personnel-reserve/),
      }),
    ]);
  });

  it("staff of the unit set the round's end; the review deadline runs from it (10 working days)", async () => {
    const iin = makeIin('800101', 3, serial++);
    const r = await api.call('POST', '/api/cases', {
      as: RESPONSIBLE,
      body: corpsA(iin, { 'document-acceptance-end': '2015-10-09' }),
    });
    expect(r.status).toBe(201);
    const [submitted] = await api.app.infra.eventLog.readStream(caseStreamId(r.body.caseId));
    expect((submitted!.data as { cohortDates: unknown }).cohortDates).toEqual({
      'document-acceptance-end': '2015-10-09',
    });
    const sla = await api.call(
      'GET',
      `/api/cases/${r.body.caseId}/sla?asOf=${encodeURIComponent(at('2015-10-12', '10:00'))}&after=${r.body.position}`,
      { as: RESPONSIBLE },
    );
    expect(sla.status).toBe(200);
    expect(sla.body.rows.find((row: { limitId: string }) => row.limitId === 'review')).toMatchObject({
      startedAt: expect.stringMatching(/^2015-10-0[89]T/),
      deadline: expect.stringMatching(/^2015-10-2/),
    });
  });

  it("a portal filing's end of document acceptance is recorded afterwards by the unit's employee, once; the review then runs from it", async () => {
    const iin = makeIin('800101', 3, serial++);
    const filed = await api.call('POST', '/api/cases', { as: applicant(iin), body: corpsA(iin, undefined) });
    expect(filed.status).toBe(201);
    const step = `/api/cases/${filed.body.caseId}/steps/document-acceptance-end-recorded`;
    const body = (date: string) => ({ occurredAt: at('2015-10-12', '09:00'), data: { date } });

    // The applicant may not set the provider's clock after the filing either.
    const before = await api.app.infra.eventLog.headPosition();
    const own = await api.call('POST', step, { as: applicant(iin), body: body('2027-12-20') });
    expect(own.status).toBe(403);
    expect(own.headers.get('content-type')).toMatch(/^application\/problem\+json/);
    expect(own.body.requiredRoles).toEqual(['employee', 'head']);
    expect(await api.app.infra.eventLog.headPosition()).toBe(before);

    const recorded = await api.call('POST', step, { as: EMPLOYEE, body: body('2015-10-09') });
    expect(recorded.status).toBe(201);
    expect(recorded.body).toMatchObject({
      stepId: 'document-acceptance-end-recorded',
      eventType: 'CohortDateRecorded',
    });
    const sla = await api.call(
      'GET',
      `/api/cases/${filed.body.caseId}/sla?asOf=${encodeURIComponent(at('2015-10-26', '10:00'))}&after=${recorded.body.position}`,
      { as: EMPLOYEE },
    );
    expect(sla.body.rows.find((row: { limitId: string }) => row.limitId === 'review')).toMatchObject({
      startedAt: '2015-10-08T18:00:00.000Z',
      deadline: '2015-10-23T18:00:00.000Z',
      status: 'overdue',
    });

    const head = await api.app.infra.eventLog.headPosition();
    const again = await api.call('POST', step, { as: EMPLOYEE, body: body('2015-10-16') });
    expect(again.status).toBe(422);
    expect(again.headers.get('content-type')).toMatch(/^application\/problem\+json/);
    expect(again.body).toMatchObject({
      type: expect.stringContaining('cohort-date-already-set'),
      cohortDate: 'document-acceptance-end',
      date: '2015-10-09',
      sent: '2015-10-16',
    });
    expect(await api.app.infra.eventLog.headPosition()).toBe(head);
  });

  it("until a portal filing's end of document acceptance is recorded, its review waits for it: in the case, its SLA, the worklist and the compliance summary", async () => {
    // A unit of its own, so the summary counts this case alone.
    const unit = 'karaganda';
    const employee: TestCaller = { sub: 'employee-karaganda', roles: ['employee'], unit };
    const iin = makeIin('800101', 3, serial++);
    const filed = await api.call('POST', '/api/cases', {
      as: applicant(iin),
      body: { ...corpsA(iin, undefined), unit },
    });
    expect(filed.status).toBe(201);
    const caseId = filed.body.caseId as string;
    const asOf = encodeURIComponent(at('2016-03-01', '10:00'));
    const waitingFor = {
      anchor: { cohortDate: 'document-acceptance-end' },
      label: { ru: 'Окончание приема документов (отбор в резерв корпуса «А»)', kk: expect.any(String) },
    };
    const review = (rows: { limitId: string }[]) => rows.find((row) => row.limitId === 'review');
    const summary = async (after: number) =>
      (
        await api.call(
          'GET',
          `/api/compliance/summary?groupBy=step&serviceId=personnel-reserve&unit=${unit}&asOf=${asOf}&after=${after}`,
          { as: AUDITOR },
        )
      ).body.rows.find((row: { key: string }) => row.key === 'corps-a-documents-reviewed');

    const sla = await api.call('GET', `/api/cases/${caseId}/sla?asOf=${asOf}&after=${filed.body.position}`, {
      as: employee,
    });
    expect(review(sla.body.rows)).toMatchObject({ startedAt: null, deadline: null, status: 'waiting', waitingFor });
    const view = await api.call('GET', `/api/cases/${caseId}?after=${filed.body.position}`, { as: employee });
    const open = (id: string) => view.body.openSteps.find((step: { stepId: string }) => step.stepId === id);
    expect(open('document-acceptance-end-recorded')).toBeDefined();
    expect(open('corps-a-documents-reviewed').deadlines).toEqual([
      expect.objectContaining({ limitId: 'review', startedAt: null, deadline: null, status: 'waiting', waitingFor }),
    ]);
    const worklist = await api.call('GET', `/api/worklist?after=${filed.body.position}`, { as: employee });
    const item = worklist.body.items.find(
      (i: { caseId: string; stepId: string }) => i.caseId === caseId && i.stepId === 'corps-a-documents-reviewed',
    );
    expect(item).toMatchObject({
      deadline: null,
      limits: [expect.objectContaining({ limitId: 'review', waitingFor: { cohortDate: 'document-acceptance-end' } })],
    });
    expect(await summary(filed.body.position)).toMatchObject({ total: 0, waiting: 1, complianceRate: null });
    // The auditor's explanation and evidence pack say it too: nothing counted yet, the date waited for.
    const explained = await api.call('GET', `/api/cases/${caseId}/sla/explain?asOf=${asOf}`, { as: AUDITOR });
    expect(explained.status).toBe(200);
    expect(review(explained.body.deadlines)).toMatchObject({
      status: 'waiting',
      startedAt: null,
      applied: { explanation: null },
    });
    const pack = await fetch(`${api.url}/api/cases/${caseId}/evidence`, {
      headers: { authorization: `Bearer ${await api.token(AUDITOR)}` },
    });
    expect(pack.status).toBe(200);
    expect(await pack.text()).toContain('ждёт даты / күнді күтуде: <code>document-acceptance-end</code>');

    const recorded = await api.call('POST', `/api/cases/${caseId}/steps/document-acceptance-end-recorded`, {
      as: employee,
      body: { occurredAt: at('2015-10-12', '09:00'), data: { date: '2015-10-09' } },
    });
    expect(recorded.status).toBe(201);
    expect(await summary(recorded.body.position)).toMatchObject({ total: 1, waiting: 0, overdue: 1 });
    const after = await api.call('GET', `/api/cases/${caseId}/sla?asOf=${asOf}&after=${recorded.body.position}`, {
      as: employee,
    });
    expect(review(after.body.rows)).toMatchObject({ deadline: '2015-10-23T18:00:00.000Z', status: 'overdue' });
    expect(review(after.body.rows)).not.toHaveProperty('waitingFor');
  });

  it("a date the text fixes is set from the filing: the Centre's postgraduate filing without it gets the enrolment window of its year", async () => {
    const iin = makeIin('800101', 3, serial++);
    const r = await api.call('POST', '/api/cases', {
      // The Centre of Academic Programmes receives the student's documents (appendix 4 p.4).
      as: { sub: 'centre-astana', roles: ['academic-programmes-centre'], unit: 'astana' },
      body: {
        serviceId: 'academy-postgraduate-study',
        channel: 'office',
        unit: 'astana',
        applicant: { iin, fullName: 'Тестов Тест' },
        occurredAt: at('2016-06-01', '10:00'),
      },
    });
    expect(r.status).toBe(201);
    const [submitted] = await api.app.infra.eventLog.readStream(caseStreamId(r.body.caseId));
    expect((submitted!.data as { cohortDates: unknown }).cohortDates).toEqual({ 'academic-year-start': '2016-06-01' });
  });
});
