/**
 * SLA verdicts that follow the texts (issue 15, items 2, 3 and 5), as given/when/then tables per version and track:
 * given the acts of a case, when its SLA is read at asOf, then each named row has this status. Deadlines are
 * worked out by hand from data/calendars/KZ.yaml (Almaty time, UTC+6 in 2015 and 2019):
 *
 * - a limit of a conditional step counts only once the act that makes it due happened, otherwise it is
 *   not-applicable; the limits downstream of an ending that left them out are not-applicable too;
 * - the testing schedule of appendix 2 (track C) is published no later than 5 working days before the first
 *   testing day it names: from Wednesday 28 October 2015 back, Tue 27 (1), Mon 26 (2), Fri 23 (3), Thu 22 (4),
 *   Wed 21 October (5); no holiday falls in those weeks (Republic Day became one only in 2022);
 * - an act before its annual window opens is not met.
 */
import { join } from 'node:path';
import { loadCalendars } from '../../calendar/domain/load-calendar';
import type { Role } from '../../identity/domain/principal';
import { loadCatalog } from '../../regulations/domain/catalog';
import { rolesOn } from '../../regulations/domain/regulation-schema';
import { caseSla, type SlaStatus } from './case-sla';
import { openSteps } from './case-rules';
import { stepsOnTrack } from './case-state';
import { CaseWalk, makeIin, validData } from '../../../../test/support/case-specification';

const DATA = join(__dirname, '../../../../data');
const catalog = loadCatalog(join(DATA, 'regulations'));
const calendar = loadCalendars(join(DATA, 'calendars')).get('KZ')!;
const zone = calendar.timeZone;
const IIN = makeIin('880101', 3, 123);
const almaty = (local: string) => new Date(`${local}+06:00`);

/** One act of a case: its step, when, and (where the default valid data will not do) its data and role. */
interface Act {
  step: string;
  at: string;
  data?: Record<string, unknown>;
  role?: Role;
}

interface Scenario {
  versionId: string;
  trackId: string;
  /** What the case shows. */
  title: string;
  submittedAt: string;
  channel?: 'office' | 'portal' | 'psc';
  cohortDates?: Record<string, string>;
  given: Act[];
  asOf: string;
  /** `step/limit` → the status expected, or `absent` when the row must not exist. */
  then: Record<string, SlaStatus | 'absent'>;
  /** The case's status and result after the acts, when they matter. */
  ends?: { status: string; result: string | null };
}

function walk(
  s: Pick<Scenario, 'versionId' | 'trackId' | 'submittedAt' | 'channel' | 'cohortDates' | 'given'>,
): CaseWalk {
  const version = catalog.byId.get(s.versionId)!;
  const w = new CaseWalk(catalog, zone, version, s.trackId, { unit: 'astana', iin: IIN, start: almaty(s.submittedAt) });
  // Cohort dates are the provider's: the provider's staff file with them; where only the applicant files, the date the
  // text fixes is set from the filing.
  const first = stepsOnTrack(version, s.trackId).find((step) => step.after.length === 0)!;
  const staff = rolesOn(first, s.trackId).find((role) => role !== 'applicant') as Role | undefined;
  const cohort = s.cohortDates && staff ? { cohortDates: s.cohortDates } : {};
  w.submit(cohort.cohortDates ? staff : undefined, { ...(s.channel ? { channel: s.channel } : {}), ...cohort });
  for (const act of s.given) {
    const step = w.step(act.step);
    w.take(act.step, {
      at: almaty(act.at),
      data: act.data ?? validData(step.eventType),
      ...(act.role ? { roles: [act.role] } : {}),
    });
  }
  return w;
}

const Q = { versionId: 'academy-admission/order-58-2019', trackId: 'qualification-improvement' } as const;
const P = { versionId: 'academy-admission/order-58-2019', trackId: 'postgraduate' } as const;
const A3 = { versionId: 'academy-admission/order-184-2015', trackId: 'default' } as const;
const B = { versionId: 'personnel-reserve/order-184-2015', trackId: 'competition-recommended' } as const;
const C = {
  versionId: 'personnel-reserve/order-184-2015',
  trackId: 'corps-a-selection',
  cohortDates: { 'document-acceptance-end': '2015-10-09' },
} as const;
// The intake year is the filing's (the text fixes the enrolment window, 24–25 August): a date sent with it, before the
// version's period, was dropped while only the student filed and is refused now that the Centre files.
const A4 = {
  versionId: 'academy-postgraduate-study/order-184-2015',
  trackId: 'default',
} as const;

/** Corps «A» selection up to the admission decision (admitted), on time: review 12 October, decision 19 October 2015 (the 5th working day). */
const C_ADMITTED: Act[] = [
  { step: 'corps-a-documents-reviewed', at: '2015-10-12T10:00:00' },
  { step: 'admission-to-testing-decided', at: '2015-10-19T10:00:00', data: { admitted: true } },
];

const scenarios: Scenario[] = [
  // Item 2: a limit counts only once its condition has arisen.
  {
    ...Q,
    title:
      'every act on time, the extract issued after the 1-day notice period: the notice of non-admission was never due',
    submittedAt: '2019-04-16T10:00:00',
    given: [
      { step: 'group-formed', at: '2019-04-22T10:00:00' },
      { step: 'enrolment-order-signed', at: '2019-04-23T10:00:00' },
      { step: 'extract-issued', at: '2019-04-24T10:00:00', role: 'institute-employee' },
    ],
    asOf: '2019-05-15T12:00:00',
    then: {
      'refusal-issued/refusal-qualification': 'not-applicable',
      'enrolment-order-signed/group-and-order': 'met',
      'extract-issued/extract-qualification': 'met',
    },
    ends: { status: 'completed', result: 'listener-extract' },
  },
  {
    ...Q,
    title: 'the group formed with the applicant and the order late: the order is overdue, the notice not applicable',
    submittedAt: '2019-04-16T10:00:00',
    given: [{ step: 'group-formed', at: '2019-04-22T10:00:00' }],
    asOf: '2019-04-25T12:00:00',
    then: {
      'refusal-issued/refusal-qualification': 'not-applicable',
      'enrolment-order-signed/group-and-order': 'overdue',
    },
  },
  {
    ...Q,
    title: 'the group formed without the applicant: the 1-day notice runs and is overdue; the order is not applicable',
    submittedAt: '2019-04-16T10:00:00',
    given: [
      { step: 'group-formed', at: '2019-04-22T10:00:00', data: { groupId: 'ПК-2019-7', applicantIncluded: false } },
    ],
    asOf: '2019-04-24T09:00:00',
    then: {
      'refusal-issued/refusal-qualification': 'overdue',
      'enrolment-order-signed/group-and-order': 'not-applicable',
    },
  },
  {
    ...Q,
    title:
      'the notice sent the next working day: met, and the case completes with the notice (a result of the service)',
    submittedAt: '2019-04-16T10:00:00',
    given: [
      { step: 'group-formed', at: '2019-04-22T10:00:00', data: { groupId: 'ПК-2019-7', applicantIncluded: false } },
      { step: 'refusal-issued', at: '2019-04-23T11:00:00', role: 'institute-employee' },
    ],
    asOf: '2019-05-15T12:00:00',
    then: {
      'refusal-issued/refusal-qualification': 'met',
      'enrolment-order-signed/group-and-order': 'not-applicable',
      'extract-issued/extract-qualification': 'absent',
    },
    ends: { status: 'completed', result: 'listener-refusal-notice' },
  },
  {
    ...A3,
    title: 'no appeal filed: the appeal commission’s 5 working days are not applicable',
    submittedAt: '2015-08-11T10:00:00',
    given: [
      { step: 'documents-accepted', at: '2015-08-11T10:40:00' },
      { step: 'entrance-exams-passed', at: '2015-08-12T10:00:00' },
    ],
    asOf: '2015-08-28T12:00:00',
    then: { 'appeal-resolved/appeal-period': 'absent', 'competition-decided/competition-window': 'overdue' },
  },
  {
    ...A3,
    title: 'an appeal filed and not resolved in 5 working days (13-19 August): overdue',
    submittedAt: '2015-08-11T10:00:00',
    given: [
      { step: 'documents-accepted', at: '2015-08-11T10:40:00' },
      {
        step: 'entrance-exams-passed',
        at: '2015-08-12T10:00:00',
        data: { exam: 'Экономика', score: 40, passed: false },
      },
      { step: 'appeal-opened', at: '2015-08-13T10:00:00' },
    ],
    asOf: '2015-08-20T09:00:00',
    then: { 'appeal-resolved/appeal-period': 'overdue', 'competition-decided/competition-window': 'not-applicable' },
  },
  {
    ...A3,
    title: 'the appeal upheld on 18 August: met, and the competition becomes due',
    submittedAt: '2015-08-11T10:00:00',
    given: [
      { step: 'documents-accepted', at: '2015-08-11T10:40:00' },
      {
        step: 'entrance-exams-passed',
        at: '2015-08-12T10:00:00',
        data: { exam: 'Экономика', score: 40, passed: false },
      },
      { step: 'appeal-opened', at: '2015-08-13T10:00:00' },
      { step: 'appeal-resolved', at: '2015-08-18T10:00:00', data: { decision: 'upheld' } },
    ],
    asOf: '2015-08-21T12:00:00',
    then: {
      'appeal-resolved/appeal-period': 'met',
      'competition-decided/competition-window': 'open',
      'enrolment-order-signed/enrolment-window': 'open',
    },
  },
  {
    ...B,
    title:
      'documents found non-compliant: the order, enrolment and extract limits are not applicable (no refusal in the text)',
    submittedAt: '2015-09-14T10:00:00',
    given: [
      { step: 'documents-registered', at: '2015-09-14T15:00:00' },
      { step: 'assigned-to-employee', at: '2015-09-15T10:00:00' },
      {
        step: 'documents-reviewed',
        at: '2015-09-16T10:00:00',
        data: { outcome: 'non-compliant', reasons: ['нет копии диплома'] },
      },
    ],
    asOf: '2015-10-30T12:00:00',
    then: {
      'documents-reviewed/check': 'met',
      'order-signed/enrolment': 'not-applicable',
      'extract-issued/cumulative-from-receipt-a': 'not-applicable',
      'extract-issued/extract': 'absent',
    },
  },
  // Item 3: the endings the texts imply.
  {
    ...P,
    title:
      'failed entrance exams, the notice on 12 August: the competition and the 10 August admission are not applicable',
    submittedAt: '2019-04-16T10:00:00',
    given: [
      {
        step: 'entrance-exams-passed',
        at: '2019-07-30T10:00:00',
        data: { exam: 'Экономика', score: 30, passed: false },
      },
      { step: 'refusal-issued', at: '2019-08-12T10:00:00', role: 'technical-secretary' },
    ],
    asOf: '2019-09-01T12:00:00',
    then: {
      'entrance-exams-passed/exam-window': 'met',
      'competition-decided/competition-window': 'not-applicable',
      'admission-order-drafted/admission-by-10-august': 'not-applicable',
    },
    ends: { status: 'completed', result: 'admission-refusal-notice' },
  },
  {
    ...P,
    title: 'the portal refuses right after filing (p.10 pp.8): the case is refused, nothing else runs',
    submittedAt: '2019-04-16T10:00:00',
    channel: 'portal',
    given: [{ step: 'portal-refusal', at: '2019-04-16T10:05:00' }],
    asOf: '2019-09-01T12:00:00',
    then: {
      'application-submitted/filing-postgraduate': 'met',
      'entrance-exams-passed/exam-window': 'not-applicable',
      'admission-order-drafted/admission-by-10-august': 'not-applicable',
    },
    ends: { status: 'refused', result: 'portal-refusal' },
  },
  {
    ...Q,
    title: 'the portal refuses right after filing (p.10 pp.8) on qualification improvement too',
    submittedAt: '2019-04-16T10:00:00',
    channel: 'portal',
    given: [{ step: 'portal-refusal', at: '2019-04-16T10:05:00' }],
    asOf: '2019-09-01T12:00:00',
    then: {
      'application-submitted/filing-and-receipt-qualification': 'met',
      'refusal-issued/refusal-qualification': 'absent',
    },
    ends: { status: 'refused', result: 'portal-refusal' },
  },
  {
    ...A3,
    title:
      'failed exams and no appeal: not admitted, the competition, the commission’s period and the enrolment not applicable',
    submittedAt: '2015-08-11T10:00:00',
    given: [
      { step: 'documents-accepted', at: '2015-08-11T10:40:00' },
      {
        step: 'entrance-exams-passed',
        at: '2015-08-12T10:00:00',
        data: { exam: 'Экономика', score: 30, passed: false },
      },
      { step: 'not-admitted', at: '2015-08-27T10:00:00' },
    ],
    asOf: '2015-09-30T12:00:00',
    then: {
      'competition-decided/competition-window': 'not-applicable',
      'competition-decided/admission-commission-period': 'not-applicable',
      'enrolment-order-signed/enrolment-window': 'not-applicable',
      'appeal-resolved/appeal-period': 'absent',
    },
    ends: { status: 'completed', result: 'not-admitted' },
  },
  {
    ...A3,
    title: 'the competition lost on 22 August: not admitted, the enrolment window not applicable',
    submittedAt: '2015-08-11T10:00:00',
    given: [
      { step: 'documents-accepted', at: '2015-08-11T10:40:00' },
      { step: 'entrance-exams-passed', at: '2015-08-12T10:00:00' },
      { step: 'competition-decided', at: '2015-08-22T10:00:00', data: { admitted: false, score: 60 } },
      { step: 'not-admitted', at: '2015-08-27T10:00:00' },
    ],
    asOf: '2015-09-30T12:00:00',
    then: {
      'competition-decided/competition-window': 'met',
      'enrolment-order-signed/enrolment-window': 'not-applicable',
    },
    ends: { status: 'completed', result: 'not-admitted' },
  },
  {
    ...C,
    title: 'not admitted to testing: the testing month is not applicable, the case completes not admitted',
    submittedAt: '2015-09-21T10:00:00',
    given: [
      { step: 'corps-a-documents-reviewed', at: '2015-10-12T10:00:00' },
      {
        step: 'admission-to-testing-decided',
        at: '2015-10-19T10:00:00',
        data: { admitted: false, reasons: ['стаж менее требуемого'] },
      },
      { step: 'not-admitted', at: '2015-10-21T10:00:00' },
    ],
    asOf: '2015-12-30T12:00:00',
    then: {
      'admission-to-testing-decided/decision': 'met',
      'corps-a-test-completed/testing-month': 'not-applicable',
      'test-schedule-announced/published-before-testing': 'absent',
    },
    ends: { status: 'completed', result: 'not-admitted' },
  },
  {
    ...C,
    title: 'negative test results: not admitted to the interview, the list of the National Commission not applicable',
    submittedAt: '2015-09-21T10:00:00',
    given: [
      ...C_ADMITTED,
      { step: 'test-schedule-announced', at: '2015-10-21T10:00:00', data: { testingStartsOn: '2015-10-28' } },
      { step: 'corps-a-test-completed', at: '2015-10-29T10:00:00', data: { score: 20, passed: false } },
      { step: 'not-admitted', at: '2015-10-30T10:00:00' },
    ],
    asOf: '2015-12-30T12:00:00',
    then: {
      'corps-a-test-completed/testing-month': 'met',
      'information-received/commission-deadline': 'absent',
      'candidate-list-sent/list': 'absent',
    },
    ends: { status: 'completed', result: 'not-admitted' },
  },
  {
    ...A4,
    title:
      'a student who leaves gets the reference without a defence; the exam and defence limits past at the close are not applicable',
    submittedAt: '2015-08-12T10:00:00',
    given: [
      { step: 'enrolment-order-signed', at: '2015-08-24T10:00:00' },
      { step: 'programme-schedule-set', at: '2015-09-01T10:00:00', data: { programmeEndsOn: '2016-06-30' } },
      { step: 'study-milestones-recorded', at: '2016-03-01T10:00:00' },
      { step: 'incomplete-study-reference-issued', at: '2016-09-15T10:00:00' },
    ],
    asOf: '2016-12-30T12:00:00',
    then: {
      'study-milestones-recorded/study-period': 'met',
      'comprehensive-exam-passed/by-programme': 'not-applicable',
      'dissertation-defended/by-programme': 'not-applicable',
    },
    ends: { status: 'completed', result: 'incomplete-study-reference' },
  },
  {
    ...A4,
    // Found by a cross-check: the programme end the case has now was read at every asOf, before it was set too.
    title: 'before the programme schedule is recorded there is no by-programme deadline, as of then: open, not overdue',
    submittedAt: '2015-08-12T10:00:00',
    given: [
      { step: 'enrolment-order-signed', at: '2015-08-24T10:00:00' },
      { step: 'programme-schedule-set', at: '2015-10-10T10:00:00', data: { programmeEndsOn: '2015-09-30' } },
    ],
    asOf: '2015-10-05T12:00:00',
    then: { 'comprehensive-exam-passed/by-programme': 'open', 'dissertation-defended/by-programme': 'open' },
  },
  {
    ...A4,
    title: 'a failed comprehensive exam, the reference not issued yet: the defence is not applicable, not overdue',
    submittedAt: '2015-08-12T10:00:00',
    given: [
      { step: 'enrolment-order-signed', at: '2015-08-24T10:00:00' },
      { step: 'programme-schedule-set', at: '2015-09-01T10:00:00', data: { programmeEndsOn: '2016-06-30' } },
      { step: 'study-milestones-recorded', at: '2016-03-01T10:00:00' },
      {
        step: 'comprehensive-exam-passed',
        at: '2016-06-01T10:00:00',
        data: { exam: 'Комплексный экзамен', score: 30, passed: false },
      },
    ],
    asOf: '2016-09-01T12:00:00',
    then: { 'comprehensive-exam-passed/by-programme': 'met', 'dissertation-defended/by-programme': 'not-applicable' },
  },
  {
    versionId: 'academy-retraining/order-184-2015',
    trackId: 'default',
    title: 'a failed final test: the 1 working day to sign the completion document is not applicable, not overdue',
    submittedAt: '2015-09-14T10:00:00',
    given: [
      { step: 'documents-registered', at: '2015-09-14T15:00:00' },
      { step: 'group-formed', at: '2015-09-15T10:00:00' },
      {
        step: 'enrolment-order-signed',
        at: '2015-09-16T10:00:00',
        data: { orderNumber: '17-с', programmeEndsOn: '2015-10-16' },
      },
      { step: 'training-completed', at: '2015-10-15T10:00:00' },
      {
        step: 'final-test-passed',
        at: '2015-10-16T10:00:00',
        data: { exam: 'Итоговое тестирование', score: 20, passed: false },
      },
    ],
    asOf: '2015-10-30T12:00:00',
    then: { 'final-test-passed/programme': 'met', 'completion-document-issued/signing': 'not-applicable' },
  },
  // Item 5: rules the texts state.
  {
    ...C,
    title: 'the schedule published on 21 October for testing from 28 October: 5 working days ahead, met (p.7 pp.3)',
    submittedAt: '2015-09-21T10:00:00',
    given: [
      ...C_ADMITTED,
      { step: 'test-schedule-announced', at: '2015-10-21T16:00:00', data: { testingStartsOn: '2015-10-28' } },
    ],
    asOf: '2015-10-22T12:00:00',
    then: { 'test-schedule-announced/published-before-testing': 'met' },
  },
  {
    ...C,
    title:
      'the schedule published on 21 October for testing from 27 October: 4 working days ahead, breached (p.7 pp.3)',
    submittedAt: '2015-09-21T10:00:00',
    given: [
      ...C_ADMITTED,
      { step: 'test-schedule-announced', at: '2015-10-21T10:00:00', data: { testingStartsOn: '2015-10-27' } },
    ],
    asOf: '2015-10-22T12:00:00',
    then: { 'test-schedule-announced/published-before-testing': 'breached' },
  },
  {
    ...A3,
    title: 'an entrance exam recorded on 1 July, before the window of 10-20 August opens: not met',
    submittedAt: '2016-06-01T10:00:00',
    given: [
      { step: 'documents-accepted', at: '2016-06-01T10:40:00' },
      { step: 'entrance-exams-passed', at: '2016-07-01T10:00:00' },
    ],
    asOf: '2016-07-02T12:00:00',
    then: { 'entrance-exams-passed/exam-window': 'breached' },
  },
  {
    ...A3,
    title: 'an entrance exam recorded on 15 August, inside its window: met',
    submittedAt: '2016-06-01T10:00:00',
    given: [
      { step: 'documents-accepted', at: '2016-06-01T10:40:00' },
      { step: 'entrance-exams-passed', at: '2016-08-15T10:00:00' },
    ],
    asOf: '2016-08-16T12:00:00',
    then: { 'entrance-exams-passed/exam-window': 'met' },
  },
];

describe.each([...new Set(scenarios.map((s) => `${s.versionId} ${s.trackId}`))])('%s', (versionTrack) => {
  it.each(scenarios.filter((s) => `${s.versionId} ${s.trackId}` === versionTrack).map((s) => [s.title, s] as const))(
    '%s',
    (_title, s) => {
      const w = walk(s);
      const rows = caseSla(w.state, catalog.byId.get(s.versionId)!, calendar, almaty(s.asOf));
      const byId = new Map(rows.map((r) => [`${r.stepId}/${r.limitId}`, r]));
      const seen = Object.fromEntries(Object.keys(s.then).map((id) => [id, byId.get(id)?.status ?? 'absent']));
      expect(seen).toEqual(s.then);
      if (s.ends) expect({ status: w.state.status, result: w.state.result?.id ?? null }).toEqual(s.ends);
    },
  );
});

describe('the clause of a breached schedule', () => {
  it('names appendix 2, p.7 pp.3, track C, and the deadline is 24:00 on Wednesday 21 October', () => {
    const w = walk({
      ...C,
      submittedAt: '2015-09-21T10:00:00',
      given: [
        ...C_ADMITTED,
        { step: 'test-schedule-announced', at: '2015-10-22T10:00:00', data: { testingStartsOn: '2015-10-28' } },
      ],
    });
    const row = caseSla(w.state, catalog.byId.get(C.versionId)!, calendar, almaty('2015-10-23T12:00:00')).find(
      (r) => r.limitId === 'published-before-testing',
    )!;
    expect(row).toMatchObject({
      status: 'breached',
      deadline: '2015-10-21T18:00:00.000Z',
      clause: { act: 'order-184-2015', appendix: 2, paragraph: 7, subparagraph: 3, track: 'corps-a-selection' },
    });
  });
});

describe('a step is open only when due, and refused (409) before', () => {
  const refusal = (
    s: Pick<Scenario, 'versionId' | 'trackId' | 'submittedAt' | 'given' | 'cohortDates'>,
    stepId: string,
    role: Role,
    at: string,
  ) => {
    const w = walk(s);
    w.at(almaty(at));
    const step = w.step(stepId);
    return {
      w,
      refused: w.spec
        .given(w.events)
        .when({ kind: 'take-step', stepId, data: validData(step.eventType) }, w.callerFor(role)),
    };
  };

  it.each<
    [
      string,
      Pick<Scenario, 'versionId' | 'trackId' | 'submittedAt' | 'given' | 'cohortDates'>,
      string,
      Role,
      string,
      RegExp,
    ]
  >([
    [
      'order 58, qualification improvement: a notice of non-admission for an applicant in the group',
      { ...Q, submittedAt: '2019-04-16T10:00:00', given: [{ step: 'group-formed', at: '2019-04-22T10:00:00' }] },
      'refusal-issued',
      'institute-employee',
      '2019-04-22T12:00:00',
      /not due in this case: it follows group-formed with a negative outcome,/,
    ],
    [
      'order 58, qualification improvement: an enrolment order for an applicant left out of the group',
      {
        ...Q,
        submittedAt: '2019-04-16T10:00:00',
        given: [{ step: 'group-formed', at: '2019-04-22T10:00:00', data: { groupId: 'G', applicantIncluded: false } }],
      },
      'enrolment-order-signed',
      'signatory',
      '2019-04-22T12:00:00',
      /not due in this case/,
    ],
    [
      'order 58, postgraduate: a notice of non-admission after passed exams, before the competition',
      {
        ...P,
        submittedAt: '2019-04-16T10:00:00',
        given: [{ step: 'entrance-exams-passed', at: '2019-07-30T10:00:00' }],
      },
      'refusal-issued',
      'technical-secretary',
      '2019-07-31T10:00:00',
      /due only after/,
    ],
    [
      'order 184, appendix 3: the competition after failed exams',
      {
        ...A3,
        submittedAt: '2015-08-11T10:00:00',
        given: [
          { step: 'documents-accepted', at: '2015-08-11T10:40:00' },
          { step: 'entrance-exams-passed', at: '2015-08-12T10:00:00', data: { exam: 'Экономика', passed: false } },
        ],
      },
      'competition-decided',
      'admission-commission',
      '2015-08-21T10:00:00',
      /not due in this case/,
    ],
    [
      'order 184, appendix 2, track C: the testing schedule for a candidate not admitted',
      {
        ...C,
        submittedAt: '2015-09-21T10:00:00',
        given: [
          C_ADMITTED[0]!,
          { step: 'admission-to-testing-decided', at: '2015-10-19T10:00:00', data: { admitted: false } },
        ],
      },
      'test-schedule-announced',
      'employee',
      '2015-10-21T10:00:00',
      /not due in this case/,
    ],
  ])('%s', (_title, s, stepId, role, at, detail) => {
    const { w, refused } = refusal(s, stepId, role, at);
    expect(openSteps(w.state, catalog.byId.get(s.versionId)!).map((x) => x.id)).not.toContain(stepId);
    expect(refused.thenRefused('step-not-allowed', { stepId }).detail).toMatch(detail);
  });
});

describe('data the rules need', () => {
  it('order 184, appendix 2, track C: a schedule without its first testing day is refused, naming the field and the clause', () => {
    const w = walk({ ...C, submittedAt: '2015-09-21T10:00:00', given: C_ADMITTED });
    w.at(almaty('2015-10-21T10:00:00'));
    const refused = w.spec
      .given(w.events)
      .when(
        { kind: 'take-step', stepId: 'test-schedule-announced', data: { url: 'https://example.kz/schedule' } },
        w.callerFor('employee'),
      )
      .thenRefused('invalid');
    expect(refused.errors).toEqual([
      expect.objectContaining({ field: 'data.testingStartsOn', problem: expect.stringMatching(/app\. 2 p\.7 pp\.3/) }),
    ]);
  });

  it('order 184, appendix 2, track C: a first testing day outside the calendar’s years is refused (no deadline could be counted)', () => {
    const version = catalog.byId.get(C.versionId)!;
    const w = new CaseWalk(catalog, zone, version, C.trackId, {
      unit: 'astana',
      iin: IIN,
      start: almaty('2015-09-21T10:00:00'),
      covers: (date) => calendar.covers(date),
    });
    w.submit('responsible-person', { cohortDates: C.cohortDates });
    for (const act of C_ADMITTED)
      w.take(act.step, { at: almaty(act.at), data: act.data ?? validData(w.step(act.step).eventType) });
    w.at(almaty('2015-10-21T10:00:00'));
    const refused = w.spec
      .given(w.events)
      .when(
        { kind: 'take-step', stepId: 'test-schedule-announced', data: { testingStartsOn: '2099-01-05' } },
        w.callerFor('employee'),
      )
      .thenRefused('invalid');
    expect(refused.errors).toEqual([
      expect.objectContaining({ field: 'data.testingStartsOn', problem: expect.stringMatching(/outside the years/) }),
    ]);
  });

  it.each([
    ['2017-08-24', 'ok'],
    ['2017-08-25', 'refused'],
    ['2018-06-30', 'refused'],
  ])(
    'order 184, appendix 4, p.5 pp.2 (1 or 2 years): a schedule to %s after an enrolment on 24 August 2015 is %s',
    (endsOn, verdict) => {
      const w = walk({
        ...A4,
        submittedAt: '2015-08-12T10:00:00',
        given: [{ step: 'enrolment-order-signed', at: '2015-08-24T10:00:00' }],
      });
      w.at(almaty('2015-09-01T10:00:00'));
      const when = w.spec
        .given(w.events)
        .when(
          { kind: 'take-step', stepId: 'programme-schedule-set', data: { programmeEndsOn: endsOn } },
          w.callerFor('academic-programmes-centre'),
        );
      if (verdict === 'ok') {
        when.then([
          { type: 'ProgrammeScheduleSet', stepId: 'programme-schedule-set', role: 'academic-programmes-centre' },
        ]);
      } else {
        const refused = when.thenRefused('rule', { code: 'programme-too-long', field: 'data.programmeEndsOn' });
        expect(refused.extensions).toMatchObject({
          latest: '2017-08-24',
          maxMonths: 24,
          clause: { act: 'order-184-2015', appendix: 4, paragraph: 5, subparagraph: 2 },
        });
      }
    },
  );
});

describe('claims of the catalog’s notes, each checked', () => {
  it('personnel reserve, priority graduates: the whole of p.7 pp.3 within 1 working day of receipt, enforced by the cumulative limit', () => {
    const w = walk({
      versionId: 'personnel-reserve/order-184-2015',
      trackId: 'priority-graduates',
      submittedAt: '2015-09-14T10:00:00',
      given: [
        { step: 'documents-registered', at: '2015-09-14T11:00:00' },
        { step: 'assigned-to-employee', at: '2015-09-14T12:00:00' },
        { step: 'documents-reviewed', at: '2015-09-14T13:00:00' },
        { step: 'order-drafted', at: '2015-09-14T14:00:00' },
        { step: 'order-signed', at: '2015-09-14T15:00:00' },
        // Wednesday 16 September: the 2nd working day after the receipt on Monday 14.
        { step: 'extract-issued', at: '2015-09-16T10:00:00' },
      ],
    });
    const rows = caseSla(
      w.state,
      catalog.byId.get('personnel-reserve/order-184-2015')!,
      calendar,
      almaty('2015-10-01T12:00:00'),
    );
    expect(rows.find((r) => r.limitId === 'cumulative-from-receipt-b')).toMatchObject({
      status: 'breached',
      deadline: '2015-09-15T18:00:00.000Z',
    });
  });

  it('order 58, postgraduate: documents only within the intake window (to 18:30 on the second Friday of July)', () => {
    const version = catalog.byId.get(P.versionId)!;
    const w = new CaseWalk(catalog, zone, version, P.trackId, {
      unit: 'astana',
      iin: IIN,
      start: almaty('2019-07-12T18:31:00'),
    });
    const refused = w.spec
      .given([])
      .when(
        {
          kind: 'submit',
          caseId: 'late',
          receiptNumber: 'RG-late',
          serviceId: 'academy-admission',
          trackId: 'postgraduate',
          channel: 'portal',
          unit: 'astana',
          applicant: { iin: IIN, fullName: 'Әлия Сәрсенова' },
        },
        w.callerFor('applicant'),
      )
      .thenRefused('rule', { code: 'intake-closed' });
    expect(refused.extensions).toMatchObject({ window: 'postgraduate-document-acceptance' });
  });
});
