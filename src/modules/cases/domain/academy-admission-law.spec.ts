/**
 * The academy admission regulations read against their texts (law review, findings 3, 5, 7 and 8), through the real
 * decider and SLA: order 184 of 2015, appendix 3, and order 172's appendix 3 in the wording of order 58 of 2019.
 * Deadlines worked out by hand from data/calendars/KZ.yaml (Almaty time, UTC+6 in 2015, 2016 and 2019).
 */
import { join } from 'node:path';
import { loadCalendars } from '../../calendar/domain/load-calendar';
import type { Role } from '../../identity/domain/principal';
import { loadCatalog } from '../../regulations/domain/catalog';
import { caseSla } from './case-sla';
import { CaseWalk, makeIin, validData } from '../../../../test/support/case-specification';

const DATA = join(__dirname, '../../../../data');
const catalog = loadCatalog(join(DATA, 'regulations'));
const calendar = loadCalendars(join(DATA, 'calendars')).get('KZ')!;
const zone = calendar.timeZone;
const IIN = makeIin('880101', 3, 123);
const almaty = (local: string) => new Date(`${local}+06:00`);
const A3 = 'academy-admission/order-184-2015';

function walk(versionId: string, trackId: string, submittedAt: string): CaseWalk {
  const version = catalog.byId.get(versionId)!;
  const w = new CaseWalk(catalog, zone, version, trackId, {
    unit: 'astana',
    iin: IIN,
    start: almaty(submittedAt),
    calendar,
  });
  w.submit(undefined, { channel: 'portal' });
  return w;
}

function act(w: CaseWalk, step: string, at: string, extra: { data?: Record<string, unknown>; role?: Role } = {}) {
  w.take(step, {
    at: almaty(at),
    data: extra.data ?? validData(w.step(step).eventType),
    ...(extra.role ? { roles: [extra.role] } : {}),
  });
}

/** `step/limit` → the row's deadline and status as of `asOf`. */
function rows(w: CaseWalk, asOf: string): Record<string, { deadline: string | null; status: string }> {
  return Object.fromEntries(
    caseSla(w.state, w.version, calendar, almaty(asOf)).map((r) => [
      `${r.stepId}/${r.limitId}`,
      { deadline: r.deadline, status: r.status },
    ]),
  );
}

const WINDOWS = [
  'entrance-exams-passed/exam-window',
  'competition-decided/competition-window',
  'competition-decided/admission-commission-period',
  'enrolment-order-signed/enrolment-window',
];

/** The close of each window in a year: exams 20 August, competition 24, the commission and the enrolment 25. */
const closes = (year: number) => ({
  'entrance-exams-passed/exam-window': `${year}-08-20T18:00:00.000Z`,
  'competition-decided/competition-window': `${year}-08-24T18:00:00.000Z`,
  'competition-decided/admission-commission-period': `${year}-08-25T18:00:00.000Z`,
  'enrolment-order-signed/enrolment-window': `${year}-08-25T18:00:00.000Z`,
});

describe('order 184, appendix 3, p.5 pp.2-4: one admission’s windows come from one year (finding 5)', () => {
  it.each([
    ['2015-08-20T10:00:00', 2015, 'the exams still open that day'],
    ['2015-08-21T10:00:00', 2016, 'the reviewer’s case: the 2015 exams are over'],
    ['2015-08-25T10:00:00', 2016, 'the commission and the enrolment still open, the exams and the competition over'],
    ['2015-08-26T10:00:00', 2016, 'every 2015 window closed'],
    ['2015-11-10T10:00:00', 2016, 'a month with no window: the next admission'],
    ['2016-03-15T10:00:00', 2016, 'a month with no window before the year’s windows'],
  ])('a filing at %s has every window in %i (%s)', (submittedAt, year) => {
    const w = walk(A3, 'default', submittedAt);
    const found = rows(w, submittedAt);
    expect(Object.fromEntries(WINDOWS.map((id) => [id, found[id]?.deadline]))).toEqual(closes(year));
  });

  it('filed on 21 August 2015, everything done in August 2016 in its windows: every window met', () => {
    const w = walk(A3, 'default', '2015-08-21T10:00:00');
    act(w, 'documents-accepted', '2015-08-21T10:20:00');
    act(w, 'entrance-exams-passed', '2016-08-15T15:00:00');
    act(w, 'competition-decided', '2016-08-22T15:00:00');
    act(w, 'enrolment-order-signed', '2016-08-24T15:00:00');
    const found = rows(w, '2016-08-26T10:00:00');
    expect(Object.fromEntries(WINDOWS.map((id) => [id, found[id]?.status]))).toEqual(
      Object.fromEntries(WINDOWS.map((id) => [id, 'met'])),
    );
  });
});

describe('order 184, appendix 3, p.7 pp.3: an appeal only while the appeal commission works (finding 3)', () => {
  /** Exam on Tuesday 18 August 2015: the commission's days are 19, 20, 21, 24 and 25 August, to 24:00 on the 25th. */
  function examined(): CaseWalk {
    const w = walk(A3, 'default', '2015-08-12T10:00:00');
    act(w, 'documents-accepted', '2015-08-12T11:00:00');
    act(w, 'entrance-exams-passed', '2015-08-18T15:00:00', {
      data: { exam: 'Экономика', score: 40, passed: false },
    });
    return w;
  }

  function appeal(w: CaseWalk, at: string) {
    w.at(almaty(at));
    return w.spec
      .given(w.events)
      .when(
        { kind: 'take-step', stepId: 'appeal-opened', data: { reason: 'оценка занижена' } },
        w.callerFor('applicant'),
      );
  }

  it('the reviewer’s case: an appeal on 1 September, after enrolment and the extract, is refused naming the clause and the period’s end; nothing is recorded', () => {
    const w = walk(A3, 'default', '2015-08-12T10:00:00');
    act(w, 'documents-accepted', '2015-08-12T11:00:00');
    act(w, 'entrance-exams-passed', '2015-08-18T15:00:00');
    act(w, 'competition-decided', '2015-08-22T15:00:00');
    act(w, 'enrolment-order-signed', '2015-08-24T15:00:00');
    act(w, 'extract-issued', '2015-08-25T15:00:00');
    const before = w.events.length;
    const refused = appeal(w, '2015-09-01T10:00:00').thenRefused('rule', {
      code: 'period-ended',
      field: 'occurredAt',
    });
    expect(refused.extensions).toEqual({
      periodEndedAt: '2015-08-25T18:00:00.000Z',
      allowed: 'an instant before 2015-08-25T18:00:00.000Z',
      period: { stepId: 'appeal-resolved', limitId: 'appeal-period' },
      clause: expect.objectContaining({ act: 'order-184-2015', appendix: 3, paragraph: 7, subparagraph: 3 }),
    });
    expect(refused.detail).toMatch(/order-184-2015 app\. 3 p\.7 pp\.3.*ended at 2015-08-26T00:00:00\+06:00/);
    expect(w.events).toHaveLength(before);
    expect(rows(w, '2015-09-02T10:00:00')['appeal-resolved/appeal-period']).toBeUndefined();
  });

  it('an appeal at 23:59 on the fifth working day is accepted and its period still counts from the exam', () => {
    const w = examined();
    w.take('appeal-opened', { at: almaty('2015-08-25T23:59:00'), data: { reason: 'оценка занижена' } });
    expect(rows(w, '2015-08-25T23:59:30')['appeal-resolved/appeal-period']).toEqual({
      deadline: '2015-08-25T18:00:00.000Z',
      status: 'open',
    });
  });

  it('an appeal at 00:00 on the sixth day (Wednesday 26 August) is refused', () => {
    appeal(examined(), '2015-08-26T00:00:00').thenRefused('rule', { code: 'period-ended' });
  });

  it('an appeal sent on 1 September as of 24 August is judged by when it was sent: refused, nothing recorded (second review, finding C)', () => {
    const w = examined();
    w.at(almaty('2015-09-01T10:00:00'));
    const before = w.events.length;
    const refused = w.spec
      .given(w.events)
      .when(
        {
          kind: 'take-step',
          stepId: 'appeal-opened',
          data: { reason: 'оценка занижена' },
          occurredAt: almaty('2015-08-24T10:00:00'),
        },
        w.callerFor('applicant'),
      )
      .thenRefused('rule', { code: 'period-ended', field: 'occurredAt' });
    expect(refused.extensions).toMatchObject({
      periodEndedAt: '2015-08-25T18:00:00.000Z',
      receivedAt: '2015-09-01T04:00:00.000Z',
    });
    expect(refused.detail).toMatch(/reached the service at 2015-09-01T10:00:00\+06:00/);
    expect(w.events).toHaveLength(before);
  });

  it('an appeal sent within the days with a time a little earlier than its sending is accepted, at the time it gives', () => {
    const w = examined();
    w.at(almaty('2015-08-25T23:00:00'));
    const outcome = w.spec
      .given(w.events)
      .when(
        {
          kind: 'take-step',
          stepId: 'appeal-opened',
          data: { reason: 'оценка занижена' },
          occurredAt: almaty('2015-08-25T09:00:00'),
        },
        w.callerFor('applicant'),
      )
      .then([{ type: 'AppealOpened', stepId: 'appeal-opened', role: 'applicant' }]);
    expect(outcome.state.completed['appeal-opened']?.occurredAt).toBe('2015-08-25T03:00:00.000Z');
  });
});

describe('order 184, appendix 3, p.7 pp.3: no non-admission while an appeal may still be filed (second review, finding B)', () => {
  /** Exam failed on Tuesday 18 August 2015 at 15:00: an appeal may be filed to 24:00 on Tuesday 25 August. */
  function failed(): CaseWalk {
    const w = walk(A3, 'default', '2015-08-12T10:00:00');
    act(w, 'documents-accepted', '2015-08-12T11:00:00');
    act(w, 'entrance-exams-passed', '2015-08-18T15:00:00', { data: { exam: 'Экономика', score: 40, passed: false } });
    return w;
  }

  function notAdmitted(w: CaseWalk, at: string) {
    w.at(almaty(at));
    return w.spec
      .given(w.events)
      .when(
        { kind: 'take-step', stepId: 'not-admitted', data: { reason: 'экзамен не сдан' } },
        w.callerFor('admission-commission'),
      );
  }

  it('the reviewer’s case: recorded two hours after the failed exam, it is refused naming the clause and when it may be recorded, and the appeal next morning is accepted', () => {
    const w = failed();
    const before = w.events.length;
    const refused = notAdmitted(w, '2015-08-18T17:00:00').thenRefused('rule', {
      code: 'period-not-ended',
      field: 'occurredAt',
    });
    expect(refused.extensions).toEqual({
      periodEndsAt: '2015-08-25T18:00:00.000Z',
      allowed:
        'an instant from 2015-08-25T18:00:00.000Z, or once appeal-opened is recorded and appeal-resolved answers it',
      period: { stepId: 'appeal-resolved', limitId: 'appeal-period' },
      clause: expect.objectContaining({ act: 'order-184-2015', appendix: 3, paragraph: 7, subparagraph: 3 }),
      mayStillBeRecorded: 'appeal-opened',
    });
    expect(refused.detail).toMatch(/order-184-2015 app\. 3 p\.7 pp\.3.*ends at 2015-08-26T00:00:00\+06:00/);
    expect(w.events).toHaveLength(before);
    expect(w.state.status).toBe('open');
    w.take('appeal-opened', { at: almaty('2015-08-19T09:00:00'), data: { reason: 'оценка занижена' } });
    expect(w.state.completed['appeal-opened']).toBeDefined();
  });

  it('at 23:59 on the last day of the appeal it is still refused; from 00:00 on Wednesday 26 August it closes the case', () => {
    const w = failed();
    notAdmitted(w, '2015-08-25T23:59:00').thenRefused('rule', { code: 'period-not-ended' });
    act(w, 'not-admitted', '2015-08-26T00:00:00');
    expect(w.state).toMatchObject({ status: 'completed', result: { id: 'not-admitted' } });
  });

  it('once an appeal is filed and rejected, it is recorded at once, within the days', () => {
    const w = failed();
    w.take('appeal-opened', { at: almaty('2015-08-19T09:00:00'), data: { reason: 'оценка занижена' } });
    act(w, 'appeal-resolved', '2015-08-20T11:00:00', { data: { decision: 'rejected' } });
    act(w, 'not-admitted', '2015-08-20T12:00:00');
    expect(w.state).toMatchObject({ status: 'completed', result: { id: 'not-admitted' } });
  });
});

describe('order 184, appendix 3, p.7 pp.6: the student card and record book, among the provider’s procedures (finding 8)', () => {
  function extracted(): CaseWalk {
    const w = walk(A3, 'default', '2015-08-12T10:00:00');
    act(w, 'documents-accepted', '2015-08-12T11:00:00');
    act(w, 'entrance-exams-passed', '2015-08-18T15:00:00');
    act(w, 'competition-decided', '2015-08-22T15:00:00');
    act(w, 'enrolment-order-signed', '2015-08-24T15:00:00');
    act(w, 'extract-issued', '2015-08-25T15:00:00');
    return w;
  }

  it.each<[Role]>([['technical-secretary'], ['applicant']])(
    'the %s records the handing over, and the case completes with the extract',
    (role) => {
      const w = extracted();
      act(w, 'student-documents-issued', '2015-09-01T10:00:00', { role });
      expect(w.state).toMatchObject({
        status: 'completed',
        result: { id: 'admission-extract' },
        closedAt: '2015-09-01T04:00:00.000Z',
      });
    },
  );

  it('another provider role is refused (403), naming who may', () => {
    const w = extracted();
    w.at(almaty('2015-09-01T10:00:00'));
    const refused = w.spec
      .given(w.events)
      .when(
        { kind: 'take-step', stepId: 'student-documents-issued', data: validData('StudentDocumentsIssued') },
        w.callerFor('subject-commission'),
      )
      .thenRefused('forbidden');
    expect(refused.requiredRoles).toEqual(['applicant', 'technical-secretary']);
  });
});

describe('order 58, p.5 pp.4 and p.7 pp.4: the admission on 10 August when it is not a working day (finding 7)', () => {
  const P = 'academy-admission/order-58-2019';

  function admitted(year: number, drafted: string) {
    const w = walk(P, 'postgraduate', `${year}-06-03T10:00:00`);
    act(w, 'entrance-exams-passed', `${year}-08-01T15:00:00`);
    act(w, 'competition-decided', `${year}-08-07T15:00:00`);
    act(w, 'admission-order-drafted', drafted);
    return caseSla(w.state, w.version, calendar, almaty(`${year}-09-01T10:00:00`)).find(
      (r) => r.limitId === 'admission-by-10-august',
    )!;
  }

  it.each([
    // 10 August 2019 a Saturday, 11 August Kurban Ait (Sunday): the next working day is Monday 12 August.
    [
      '2019-08-12T11:00:00',
      'breached',
      '2019-08-12T18:00:00.000Z',
      'met',
      'the reviewer’s case: Monday 12 August 2019',
    ],
    ['2019-08-13T11:00:00', 'breached', '2019-08-12T18:00:00.000Z', 'breached', 'Tuesday 13 August 2019'],
    ['2019-08-09T17:00:00', 'met', '2019-08-12T18:00:00.000Z', 'breached', 'Friday 9 August 2019, before the day'],
    // 10 August 2020 is a Monday: both readings close with it.
    ['2020-08-10T11:00:00', 'met', '2020-08-10T18:00:00.000Z', 'met', 'Monday 10 August 2020'],
    ['2020-08-11T11:00:00', 'breached', '2020-08-10T18:00:00.000Z', 'breached', 'Tuesday 11 August 2020'],
  ])(
    'an order drafted at %s: as written %s; moved to a working day its end is %s, %s (%s)',
    (drafted, applied, altEnd, alt) => {
      const row = admitted(Number(drafted.slice(0, 4)), drafted);
      expect(row.deadline).toBe(`${drafted.slice(0, 4)}-08-10T18:00:00.000Z`);
      expect(row.status).toBe(applied);
      expect(row.alternative).toMatchObject({
        deadline: altEnd,
        status: alt,
        clause: { paragraph: 7, subparagraph: 4 },
      });
    },
  );
});
