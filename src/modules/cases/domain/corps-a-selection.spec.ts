/**
 * Corps «A» selection to the personnel reserve (order 184, appendix 2, p.7, the third track), on the real decider and
 * the real regulation file: the end of document acceptance the review counts from, recorded after a portal filing;
 * who records the test result that decides the case; from when the month of testing runs.
 */
import { join } from 'node:path';
import { loadCalendars } from '../../calendar/domain/load-calendar';
import { loadCatalog } from '../../regulations/domain/catalog';
import { CaseWalk, makeIin } from '../../../../test/support/case-specification';
import { caseSla } from './case-sla';
import { openSteps } from './case-rules';
import { readingOf } from '../../regulations/domain/lint';

const DATA = join(__dirname, '../../../../data');
const catalog = loadCatalog(join(DATA, 'regulations'));
const calendar = loadCalendars(join(DATA, 'calendars')).get('KZ')!;
const zone = calendar.timeZone;
const version = catalog.byId.get('personnel-reserve/order-184-2015')!;
const almaty = (local: string) => new Date(`${local}+06:00`);

function corpsA(filedAt = '2015-09-21T10:00:00'): CaseWalk {
  return new CaseWalk(catalog, zone, version, 'corps-a-selection', {
    unit: 'astana',
    iin: makeIin('880101', 3, 123),
    start: almaty(filedAt),
  });
}

/** Filed by the responsible person with the round's end; reviewed, admitted and the schedule published. */
function scheduled(): CaseWalk {
  const w = corpsA();
  w.submit('responsible-person', { channel: 'office', cohortDates: { 'document-acceptance-end': '2015-09-25' } });
  w.take('corps-a-documents-reviewed', { at: almaty('2015-10-02T12:00:00'), roles: ['employee'] });
  w.take('admission-to-testing-decided', { at: almaty('2015-10-05T12:00:00'), roles: ['head'] });
  w.take('test-schedule-announced', {
    at: almaty('2015-10-20T12:00:00'),
    roles: ['employee'],
    data: { url: 'https://example.kz/schedule', testingStartsOn: '2015-10-28' },
  });
  return w;
}

const rows = (w: CaseWalk, asOf: string) =>
  Object.fromEntries(
    caseSla(w.state, version, calendar, almaty(asOf)).map((r) => [
      `${r.stepId}/${r.limitId}`,
      { startedAt: r.startedAt, deadline: r.deadline, status: r.status },
    ]),
  );

const rowsWithAlternative = (w: CaseWalk, asOf: string) =>
  Object.fromEntries(
    caseSla(w.state, version, calendar, almaty(asOf)).map((r) => [
      `${r.stepId}/${r.limitId}`,
      { status: r.status, alternative: r.alternative?.status ?? null },
    ]),
  );

/** The applicant files alone on the portal (p.2 pp.2): no end of document acceptance comes with it. */
function portalFiling(): CaseWalk {
  const w = corpsA('2015-10-01T10:00:00');
  w.submit('applicant', { channel: 'portal' });
  return w;
}

describe('corps «A»: the end of document acceptance is recorded after a portal filing (p.7 pp.1)', () => {
  it("the department's employee records it; the review's 10 working days then run from it", () => {
    const w = portalFiling();
    expect(w.state.cohortDates).toEqual({});
    expect(openSteps(w.state, version).map((s) => s.id)).toContain('document-acceptance-end-recorded');
    w.take('document-acceptance-end-recorded', {
      at: almaty('2015-10-12T09:00:00'),
      roles: ['employee'],
      data: { date: '2015-10-09' },
    });
    const act = w.events.at(-1)!;
    expect(act).toMatchObject({
      type: 'CohortDateRecorded',
      data: { cohortDate: 'document-acceptance-end', date: '2015-10-09' },
      metadata: { stepId: 'document-acceptance-end-recorded', actor: { role: 'employee' } },
    });
    expect(w.state.cohortDates).toEqual({ 'document-acceptance-end': '2015-10-09' });
    expect(openSteps(w.state, version).map((s) => s.id)).not.toContain('document-acceptance-end-recorded');
    // Friday 9 October ends the acceptance: 12–23 October are the ten working days, overdue from 24:00 on the 23rd.
    expect(rows(w, '2015-10-26T10:00:00')['corps-a-documents-reviewed/review']).toEqual({
      startedAt: '2015-10-08T18:00:00.000Z',
      deadline: '2015-10-23T18:00:00.000Z',
      status: 'overdue',
    });
  });

  it('the applicant may not record it (403), and nothing is recorded', () => {
    const w = portalFiling();
    w.advance();
    const refused = w.spec
      .given(w.events)
      .when(
        { kind: 'take-step', stepId: 'document-acceptance-end-recorded', data: { date: '2027-12-20' } },
        w.callerFor('applicant'),
      )
      .thenRefused('forbidden', { requiredRoles: ['employee', 'head'] });
    expect(refused.detail).toMatch(/done by employee or head/);
    expect(w.state.cohortDates).toEqual({});
  });

  it.each([
    [{ date: '2027-12-20' }, 'data.date', /outside the period of personnel-reserve\/order-184-2015/],
    [{ date: '2015-02-30' }, 'data.date', /./],
    [{ date: ['2015-10-09'] }, 'data.date', /./],
    [{ cohortDate: 'academic-year-start', date: '2015-10-09' }, 'data.cohortDate', /not the cohort date/],
  ])('%j is 400 naming %s', (data, field, problem) => {
    const w = portalFiling();
    w.advance();
    const refused = w.spec
      .given(w.events)
      .when({ kind: 'take-step', stepId: 'document-acceptance-end-recorded', data }, w.callerFor('employee'))
      .thenRefused('invalid');
    expect(refused.errors).toEqual(
      expect.arrayContaining([expect.objectContaining({ field, problem: expect.stringMatching(problem) })]),
    );
  });

  it('a date given at the filing is not changed: 422 cohort-date-already-set, naming the date and where it came from', () => {
    const w = corpsA();
    w.submit('responsible-person', { channel: 'office', cohortDates: { 'document-acceptance-end': '2015-09-25' } });
    expect(openSteps(w.state, version).map((s) => s.id)).not.toContain('document-acceptance-end-recorded');
    w.advance();
    const refused = w.spec
      .given(w.events)
      .when(
        { kind: 'take-step', stepId: 'document-acceptance-end-recorded', data: { date: '2015-10-30' } },
        w.callerFor('head'),
      )
      .thenRefused('rule', {
        code: 'cohort-date-already-set',
        field: 'data.date',
        extensions: { cohortDate: 'document-acceptance-end', date: '2015-09-25', sent: '2015-10-30', setBy: 'filing' },
      });
    expect(refused.detail).toMatch(/already 2015-09-25, set when the application was filed; .* is not changed/);
  });

  it('a date recorded once is not recorded again, the same or another', () => {
    const w = portalFiling();
    w.take('document-acceptance-end-recorded', { roles: ['head'], data: { date: '2015-10-09' } });
    w.advance();
    for (const date of ['2015-10-09', '2015-10-16']) {
      const refused = w.spec
        .given(w.events)
        .when(
          { kind: 'take-step', stepId: 'document-acceptance-end-recorded', data: { date } },
          w.callerFor('employee'),
        )
        .thenRefused('rule', {
          code: 'cohort-date-already-set',
          extensions: expect.objectContaining({ date: '2015-10-09', setBy: { revision: 1 } }),
        });
      expect(refused.detail).toMatch(/set by the act of revision 1/);
    }
    expect(w.state.cohortDates).toEqual({ 'document-acceptance-end': '2015-10-09' });
  });
});

// A second review: an end of document acceptance recorded as 20 August for a portal filing of 1 October read the review
// overdue from 5 September, before the case existed. A third: refusing such a date refused a fact (a filing that came
// after its round's acceptance had ended), and left staff to record a false date. The date is kept as given; the
// review counts from the later of it and the filing's own date.
describe('corps «A»: the review counts from the end of document acceptance, never from before the filing (p.7 pp.1)', () => {
  const review = (w: CaseWalk, asOf: string) =>
    caseSla(w.state, version, calendar, almaty(asOf)).find((r) => r.stepId === 'corps-a-documents-reviewed')!;

  it('an end recorded as 20 August for a filing of 1 October is kept; the 10 working days run from 1 October', () => {
    const w = portalFiling();
    w.take('document-acceptance-end-recorded', { roles: ['employee'], data: { date: '2015-08-20' } });
    expect(w.state.cohortDates).toEqual({ 'document-acceptance-end': '2015-08-20' });
    // From 1 October, ten working days end at 24:00 on 15 October: open on 10 October, never overdue from September.
    expect(review(w, '2015-10-10T10:00:00')).toMatchObject({
      startedAt: '2015-09-30T18:00:00.000Z',
      deadline: '2015-10-15T18:00:00.000Z',
      status: 'open',
    });
  });

  it('given by staff at the filing, an earlier date is kept the same way', () => {
    const w = corpsA('2015-10-01T10:00:00');
    w.submit('responsible-person', { channel: 'office', cohortDates: { 'document-acceptance-end': '2015-09-30' } });
    expect(w.state.cohortDates).toEqual({ 'document-acceptance-end': '2015-09-30' });
    expect(review(w, '2015-10-10T10:00:00')).toMatchObject({ startedAt: '2015-09-30T18:00:00.000Z', status: 'open' });
  });

  it('a date on or after the filing counts from itself', () => {
    const w = portalFiling();
    w.take('document-acceptance-end-recorded', { roles: ['head'], data: { date: '2015-10-09' } });
    expect(review(w, '2015-10-10T10:00:00')).toMatchObject({ startedAt: '2015-10-08T18:00:00.000Z' });
  });
});

describe('corps «A»: a review whose end of document acceptance is not known waits for it, never vanishes', () => {
  it('a portal filing: the review row waits (no start, no deadline), and no clock follows it', () => {
    const w = portalFiling();
    const sla = caseSla(w.state, version, calendar, almaty('2016-03-01T10:00:00'));
    expect(sla.map((r) => `${r.stepId}/${r.limitId} ${r.status}`)).toEqual([
      'application-submitted/filing met',
      'corps-a-documents-reviewed/review waiting',
    ]);
    expect(sla[1]).toMatchObject({
      anchor: { cohortDate: 'document-acceptance-end' },
      startedAt: null,
      deadline: null,
      completedAt: null,
      result: null,
    });
  });

  it('a review recorded before the date waits with it; the date recorded later judges it, and only from then (asOf)', () => {
    const w = portalFiling();
    w.take('corps-a-documents-reviewed', { at: almaty('2015-10-30T10:00:00'), roles: ['employee'] });
    expect(rows(w, '2015-11-02T10:00:00')['corps-a-documents-reviewed/review']).toEqual({
      startedAt: null,
      deadline: null,
      status: 'waiting',
    });
    w.take('document-acceptance-end-recorded', {
      at: almaty('2015-11-03T10:00:00'),
      roles: ['head'],
      data: { date: '2015-10-09' },
    });
    // Ten working days from 9 October end at 24:00 on 23 October: the review of the 30th was late.
    expect(rows(w, '2015-11-04T10:00:00')['corps-a-documents-reviewed/review']).toEqual({
      startedAt: '2015-10-08T18:00:00.000Z',
      deadline: '2015-10-23T18:00:00.000Z',
      status: 'breached',
    });
    // As the case stood before the date was recorded, the review still waited for it.
    expect(rows(w, '2015-11-02T10:00:00')['corps-a-documents-reviewed/review'].status).toBe('waiting');
  });

  // A second review: a case that closed while a done step's row waited for its date kept it waiting for good, counted
  // as waiting in every summary, with no act left that could record the date.
  it('a case that closes while its done review waits for the date keeps no row of it', () => {
    const w = portalFiling();
    w.take('corps-a-documents-reviewed', { at: almaty('2015-10-30T10:00:00'), roles: ['employee'] });
    w.take('admission-to-testing-decided', {
      at: almaty('2015-11-02T10:00:00'),
      roles: ['head'],
      data: { admitted: false },
    });
    w.take('not-admitted', { at: almaty('2015-11-03T10:00:00'), roles: ['employee'], data: { reason: 'не допущен' } });
    expect(w.state.status).toBe('completed');
    const after = rows(w, '2016-03-01T10:00:00');
    expect(after['corps-a-documents-reviewed/review']).toBeUndefined();
    expect(Object.values(after).filter((r) => r.status === 'waiting')).toEqual([]);
    // While the case was open, the review waited.
    expect(rows(w, '2015-11-02T12:00:00')['corps-a-documents-reviewed/review']!.status).toBe('waiting');
  });

  // A third review: dropping every row whose applied clock never started also dropped a breach the other reading had
  // counted before the close (no schedule published, the month from the decision run out, then a withdrawal).
  it('a case cancelled while its testing month waited for a schedule keeps the breach the other reading counted', () => {
    const w = corpsA('2015-10-01T10:00:00');
    w.submit('responsible-person', { channel: 'office', cohortDates: { 'document-acceptance-end': '2015-10-01' } });
    w.take('corps-a-documents-reviewed', { at: almaty('2015-10-05T12:00:00'), roles: ['employee'] });
    w.take('admission-to-testing-decided', { at: almaty('2015-10-06T12:00:00'), roles: ['head'] });
    expect(rowsWithAlternative(w, '2015-12-01T10:00:00')['corps-a-test-completed/testing-month']).toMatchObject({
      status: 'waiting',
      alternative: 'overdue',
    });
    w.take('application-cancelled', { at: almaty('2015-12-10T10:00:00') });
    expect(rowsWithAlternative(w, '2016-01-01T10:00:00')['corps-a-test-completed/testing-month']).toMatchObject({
      status: 'not-applicable',
      alternative: 'breached',
    });
  });

  it('a case cancelled while its review waited keeps no row of it: no deadline was known to be missed', () => {
    const w = portalFiling();
    w.take('application-cancelled', { at: almaty('2015-10-05T10:00:00') });
    expect(rows(w, '2016-03-01T10:00:00')['corps-a-documents-reviewed/review']).toBeUndefined();
  });
});

describe('corps «A»: the test result that decides the case is the provider’s to record (p.7 pp.3-4)', () => {
  it('the applicant recording their own result, passed, is refused 403 and nothing is recorded', () => {
    const w = scheduled();
    w.at(almaty('2015-11-02T12:00:00'));
    const refused = w.spec
      .given(w.events)
      .when(
        { kind: 'take-step', stepId: 'corps-a-test-completed', data: { score: 99, passed: true } },
        w.callerFor('applicant'),
      )
      .thenRefused('forbidden', { requiredRoles: ['employee'] });
    expect(refused.detail).toMatch(/step corps-a-test-completed is done by employee/);
    expect(w.state.completed['corps-a-test-completed']).toBeUndefined();
  });

  it("the provider's employee records it, and a negative result ends the case not admitted", () => {
    const w = scheduled();
    w.take('corps-a-test-completed', {
      at: almaty('2015-11-02T12:00:00'),
      roles: ['employee'],
      data: { score: 20, passed: false },
    });
    expect(w.events.at(-1)!.metadata.actor.role).toBe('employee');
    w.take('not-admitted', {
      at: almaty('2015-11-03T12:00:00'),
      roles: ['employee'],
      data: { reason: 'тест не сдан' },
    });
    expect(w.state).toMatchObject({ status: 'completed', result: { id: 'not-admitted', kind: 'negative' } });
  });
});

describe('corps «A»: the month of testing runs from the first testing day the schedule names (p.7 pp.3)', () => {
  const testing = (w: CaseWalk, asOf: string) =>
    caseSla(w.state, version, calendar, almaty(asOf)).find((r) => r.limitId === 'testing-month')!;

  // A second review: a test recorded before the schedule's first testing day read met. A third: refusing it refused a
  // fact, and a schedule whose day was mistyped (a year late) left the case with no act it could take. It is recorded,
  // and breached: the testing did not keep to the schedule.
  it('a test recorded on 21 October, before the first testing day of 28 October, is recorded and breached', () => {
    const w = scheduled();
    w.take('corps-a-test-completed', {
      at: almaty('2015-10-21T12:00:00'),
      roles: ['employee'],
      data: { score: 80, passed: true },
    });
    expect(testing(w, '2015-11-01T10:00:00')).toMatchObject({
      startedAt: '2015-10-27T18:00:00.000Z',
      completedAt: '2015-10-21T06:00:00.000Z',
      status: 'breached',
    });
  });

  it('a test on the first testing day itself is recorded', () => {
    const w = scheduled();
    w.take('corps-a-test-completed', {
      at: almaty('2015-10-28T09:00:00'),
      roles: ['employee'],
      data: { score: 80, passed: true },
    });
    expect(w.state.completed['corps-a-test-completed']).toBeDefined();
  });

  it('decided 5 October, schedule of 20 October for testing from the 28th, tested 10 November: met; from the decision it would be late', () => {
    const w = scheduled();
    w.take('corps-a-test-completed', {
      at: almaty('2015-11-10T12:00:00'),
      roles: ['employee'],
      data: { score: 80, passed: true },
    });
    expect(testing(w, '2015-11-11T10:00:00')).toMatchObject({
      anchor: { stepDataDate: { step: 'test-schedule-announced', field: 'testingStartsOn' } },
      startedAt: '2015-10-27T18:00:00.000Z',
      // 28 November is a Saturday: the month ends at 24:00 on Monday 30 November.
      deadline: '2015-11-30T18:00:00.000Z',
      status: 'met',
      alternative: {
        anchor: { step: 'admission-to-testing-decided' },
        startedAt: '2015-10-05T06:00:00.000Z',
        deadline: '2015-11-05T18:00:00.000Z',
        status: 'breached',
      },
    });
  });

  it('admitted but no schedule published: the month waits for the testing day, and the reading from the decision runs out beside it', () => {
    const w = corpsA();
    w.submit('responsible-person', { channel: 'office', cohortDates: { 'document-acceptance-end': '2015-09-25' } });
    w.take('corps-a-documents-reviewed', { at: almaty('2015-10-02T12:00:00'), roles: ['employee'] });
    w.take('admission-to-testing-decided', { at: almaty('2015-10-05T12:00:00'), roles: ['head'] });
    expect(testing(w, '2015-11-11T10:00:00')).toMatchObject({
      startedAt: null,
      deadline: null,
      status: 'waiting',
      alternative: { startedAt: '2015-10-05T06:00:00.000Z', deadline: '2015-11-05T18:00:00.000Z', status: 'overdue' },
    });
  });

  it('the reading applied is chosen with a reason: periods from different acts are not compared by length', () => {
    const limit = version.steps.find((s) => s.id === 'corps-a-test-completed')!.limits[0]!;
    expect(readingOf(limit)).toEqual({ rule: 'not-comparable-with-reason' });
    expect(limit.appliedReason).toMatch(/дня начала проведения тестирования/);
  });
});
