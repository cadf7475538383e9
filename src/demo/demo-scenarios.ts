/**
 * What happens in each demo case: the version and track, who files it and through which channel, and the
 * acts that follow, with their data, in the order the regulation allows. Each version has a flow with its
 * branches (a passed or failed test, an appeal upheld or rejected, a refusal, a cancellation, a case left
 * undone); the PRNG picks the branch, and a fixed showcase at the start of every run makes sure a small
 * run still shows every version, every track and every kind of ending. When the acts happen is decided
 * later, against the regulation's limits (demo-timing.ts). Pure.
 */
import { addDays, type LocalDate } from '../modules/calendar/domain/local-date';
import type { TimeZone } from '../modules/calendar/domain/time-zone';
import type { Principal, Role } from '../modules/identity/domain/principal';
import type { RequestedChannel } from '../modules/cases/domain/decide';
import {
  applicantPrincipal,
  DEMO_UNITS,
  makeApplicant,
  PORTAL,
  stateBodyPrincipal,
  STATE_BODIES,
  type DemoApplicant,
  type DemoUnit,
  type StaffDirectory,
} from './demo-people';
import type { ChosenTimes, Gap, Hours } from './demo-timing';
import type { Rng } from './prng';

export interface PlannedAct {
  stepId: string;
  /** Set for a cancellation, which goes through the cancel command rather than a step. */
  cancel?: { reason?: string };
  as: Principal;
  data?: (times: ChosenTimes) => Record<string, unknown>;
  gap?: Gap;
  notBefore?: LocalDate;
  hours?: Hours;
  startedBefore?: [number, number];
}

export interface CasePlan {
  index: number;
  serviceId: string;
  versionId: string;
  trackId: string;
  channel: RequestedChannel;
  unit: string;
  applicant: DemoApplicant;
  submittedBy: Principal;
  submission: { from: LocalDate; to: LocalDate; hours: Hours };
  cohortDates?: Record<string, string>;
  acts: PlannedAct[];
  /** The branch taken, e.g. "completed", "failed-test", "appeal-upheld", "cancelled", "stalled". */
  story: string;
}

interface FlowContext {
  rng: Rng;
  staff: StaffDirectory;
  zone: TimeZone;
  trackId: string;
  /** The branch to take (showcase cases); otherwise the flow draws one. */
  want?: string;
}

type FlowPlan = Omit<CasePlan, 'index' | 'serviceId' | 'versionId' | 'trackId' | 'story'> & { story: string };
type Flow = (ctx: FlowContext) => FlowPlan;

const pct = (rng: Rng, passed: boolean, pass = 50) => (passed ? rng.int(pass, 100) : rng.int(12, pass - 1));
const yearOf = (zone: TimeZone, times: ChosenTimes) => zone.toLocal(times.occurredAt).date.slice(0, 4);
const serial = (rng: Rng, digits = 5) => String(rng.int(1, 10 ** digits - 1)).padStart(digits, '0');

const UNIT_SHARES: Record<DemoUnit, number> = {
  astana: 0.28,
  almaty: 0.28,
  shymkent: 0.16,
  karaganda: 0.16,
  aktobe: 0.12,
};

/** The Academy's services are provided in Astana and its Almaty branch; the agency's in every region. */
function pickUnit(rng: Rng, academy = false): string {
  if (academy)
    return rng.weighted([
      ['astana', 0.7],
      ['almaty', 0.3],
    ]);
  return rng.weighted(DEMO_UNITS.map((u) => [u, UNIT_SHARES[u]] as const));
}

/** Leaves the case undone after one of its acts: a case whose next step is overdue. */
function stall(rng: Rng, acts: PlannedAct[], keepAtLeast = 1): PlannedAct[] {
  return acts.slice(0, rng.int(Math.min(keepAtLeast, acts.length - 1), acts.length - 1));
}

const PORTAL_REFUSALS = [
  'Сведения об услугополучателе не подтверждены государственной базой данных «Физические лица»',
  'Сведения об образовании услугополучателя не соответствуют требуемым условиям',
  'Услугополучатель не состоит на государственной службе, требуемой для получения услуги',
];
const CANCEL_REASONS = [
  'Изменились обстоятельства',
  'Выбрана другая дата',
  'Заявление подано ошибочно',
  'По семейным обстоятельствам',
  'Переезд в другой регион',
];

// civil-service-testing/order-184-2015: the test day is chosen in the application; the test runs in minutes.
const testing: Flow = ({ rng, staff, zone, want }) => {
  const story =
    want ??
    rng.weighted([
      ['passed', 0.55],
      ['failed-test', 0.22],
      ['portal-refusal', 0.06],
      ['cancelled', 0.08],
      ['stalled', 0.09],
    ]);
  const channel = rng.weighted<RequestedChannel>([
    ['portal', 0.6],
    ['psc', 0.25],
    ['office', 0.15],
  ]);
  const unit = pickUnit(rng);
  const applicant = makeApplicant(rng, 2016);
  const self = applicantPrincipal(applicant, unit);
  // The responsible person of a PSC or of the provider helps file on the portal (p.5 pp.1): role psc-operator.
  const submittedBy = channel === 'portal' ? self : staff.any(rng, unit, 'psc-operator');
  const admin = staff.any(rng, unit, 'test-administrator');
  const operator = staff.any(rng, unit, 'test-operator', 2);
  const passed = story !== 'failed-test';
  let acts: PlannedAct[];
  if (story === 'portal-refusal')
    acts = [
      {
        stepId: 'portal-refusal',
        as: PORTAL,
        gap: { minutes: [1, 20] },
        data: () => ({ reason: rng.pick(PORTAL_REFUSALS) }),
      },
    ];
  else if (story === 'cancelled') {
    const onBehalf = channel === 'psc' && rng.chance(0.4);
    acts = [
      {
        stepId: 'application-cancelled',
        cancel: { reason: rng.pick(CANCEL_REASONS) },
        as: onBehalf ? submittedBy : self,
        gap: { workingDays: [0, 4] },
        hours: onBehalf ? 'office' : 'portal',
      },
    ];
  } else {
    acts = [
      {
        stepId: 'admitted-to-test',
        as: admin,
        gap: { workingDays: [2, 12] },
        hours: 'session',
        data: () => ({ identityDocument: `удостоверение личности № ${rng.int(10_000_000, 49_999_999)}` }),
      },
      { stepId: 'applicant-briefed', as: admin, gap: { minutes: [1, 3] } },
      {
        stepId: 'test-completed',
        as: operator,
        gap: { minutes: [30, 40] },
        data: () => ({ score: pct(rng, passed, 60), passed }),
      },
      { stepId: 'test-results-signed', as: admin, gap: { minutes: [1, 2] } },
      { stepId: 'test-results-signed', as: operator, gap: { minutes: [1, 2] } },
      {
        stepId: 'test-result-issued',
        as: admin,
        gap: { minutes: [1, 3] },
        data: (t) => ({ documentNumber: `${passed ? 'СТ' : 'СПР'}-${yearOf(zone, t)}-${serial(rng, 6)}` }),
      },
    ];
    if (story === 'stalled') acts = stall(rng, acts);
  }
  return {
    channel,
    unit,
    applicant,
    submittedBy,
    submission: { from: '2015-08-11', to: '2016-07-29', hours: channel === 'portal' ? 'portal' : 'office' },
    acts,
    story,
  };
};

// personnel-reserve/order-184-2015, corps «Б» tracks: registration, assignment, check, order, extract in working days.
const reserveB: Flow = ({ rng, staff, zone, want }) => {
  const story =
    want ??
    rng.weighted([
      ['completed', 0.72],
      ['non-compliant', 0.1],
      ['portal-refusal', 0.05],
      ['cancelled', 0.06],
      ['stalled', 0.07],
    ]);
  const channel = rng.weighted<RequestedChannel>([
    ['portal', 0.7],
    ['office', 0.3],
  ]);
  const unit = pickUnit(rng);
  const applicant = makeApplicant(rng, 2016, 21, 45);
  const self = applicantPrincipal(applicant, unit);
  const submittedBy = channel === 'portal' ? self : staff.any(rng, unit, 'responsible-person', 2);
  const employee = staff.any(rng, unit, 'employee', 4);
  const cancel = (gap: Gap): PlannedAct => ({
    stepId: 'application-cancelled',
    cancel: { reason: rng.pick(CANCEL_REASONS) },
    as: self,
    gap,
    hours: 'portal',
  });
  let acts: PlannedAct[] = [
    {
      stepId: 'documents-registered',
      as: staff.any(rng, unit, 'registry-clerk', 2),
      gap: { workingDays: [0, 1] },
      data: () => ({ incomingNumber: `${rng.int(1, 12)}-${rng.int(1000, 9999)}` }),
    },
    {
      stepId: 'assigned-to-employee',
      as: staff.get(unit, 'head'),
      gap: { workingDays: [0, 1] },
      data: () => ({ assigneeId: employee.id }),
    },
    {
      stepId: 'documents-reviewed',
      as: employee,
      gap: { workingDays: [0, 2] },
      data: () =>
        story === 'non-compliant'
          ? {
              outcome: 'non-compliant',
              reasons: [
                rng.pick([
                  'Не представлена нотариально заверенная копия диплома',
                  'Истёк срок действия сертификата о прохождении тестирования',
                  'Рекомендация конкурсной комиссии не подписана',
                ]),
              ],
            }
          : { outcome: 'compliant' },
    },
    {
      stepId: 'order-drafted',
      as: employee,
      gap: { workingDays: [0, 1] },
      data: () => ({ draftNumber: `проект-${serial(rng, 4)}` }),
    },
    {
      stepId: 'order-signed',
      as: staff.get(unit, 'signatory'),
      gap: { workingDays: [0, 1] },
      data: () => ({ orderNumber: `${rng.int(10, 999)}-лс` }),
    },
    {
      stepId: 'extract-issued',
      as: employee,
      gap: { workingDays: [0, 1] },
      data: (t) => ({ documentNumber: `ВП-${yearOf(zone, t)}-${serial(rng)}` }),
    },
  ];
  if (story === 'portal-refusal')
    acts = [
      {
        stepId: 'portal-refusal',
        as: PORTAL,
        gap: { minutes: [1, 20] },
        data: () => ({ reason: rng.pick(PORTAL_REFUSALS) }),
      },
    ];
  // The text gives no refusal for non-compliant documents: the applicant withdraws, or the case stays undone.
  else if (story === 'non-compliant')
    acts = [...acts.slice(0, 3), ...(rng.chance(0.5) ? [cancel({ workingDays: [1, 6] })] : [])];
  else if (story === 'cancelled') acts = [...acts.slice(0, rng.int(0, 4)), cancel({ workingDays: [0, 2] })];
  else if (story === 'stalled') acts = stall(rng, acts, 0);
  return {
    channel,
    unit,
    applicant,
    submittedBy,
    submission: { from: '2015-08-11', to: '2016-08-05', hours: channel === 'portal' ? 'portal' : 'office' },
    acts,
    story,
  };
};

// personnel-reserve/order-184-2015, corps «А» selection: rounds with an end of document acceptance.
const CORPS_A_ROUNDS = [
  { from: '2015-09-21', end: '2015-10-09' },
  { from: '2016-03-14', end: '2016-04-01' },
];
const corpsA: Flow = ({ rng, staff, zone, want }) => {
  const story =
    want ??
    rng.weighted([
      ['listed', 0.5],
      ['not-admitted', 0.12],
      ['failed-test', 0.15],
      ['portal-refusal', 0.04],
      ['cancelled', 0.06],
      ['stalled', 0.13],
    ]);
  const channel = rng.weighted<RequestedChannel>([
    ['portal', 0.8],
    ['office', 0.2],
  ]);
  const unit = pickUnit(rng);
  const round = rng.pick(CORPS_A_ROUNDS);
  const applicant = makeApplicant(rng, 2016, 30, 58);
  const self = applicantPrincipal(applicant, unit);
  const submittedBy = channel === 'portal' ? self : staff.any(rng, unit, 'responsible-person', 2);
  const employee = staff.any(rng, unit, 'employee', 4);
  const admitted = story !== 'not-admitted';
  const passed = story !== 'failed-test';
  const bodies = STATE_BODIES.slice(0, rng.int(2, STATE_BODIES.length));
  // An applicant's portal filing cannot give the end of document acceptance: the employee records it once the round's
  // acceptance has ended (a stalled case may stop before, and its review then waits for the date).
  const lead: PlannedAct[] =
    submittedBy === self
      ? [
          {
            stepId: 'document-acceptance-end-recorded',
            as: employee,
            notBefore: round.end,
            gap: { workingDays: [0, 1] },
            data: () => ({ date: round.end }),
          },
        ]
      : [];
  let acts: PlannedAct[] = [
    ...lead,
    {
      stepId: 'corps-a-documents-reviewed',
      as: employee,
      notBefore: addDays(round.end, 1),
      gap: { workingDays: [0, 3] },
      data: () =>
        !admitted && rng.chance(0.6)
          ? { outcome: 'non-compliant', reasons: ['Стаж работы на руководящих должностях менее требуемого'] }
          : { outcome: 'compliant' },
    },
    {
      stepId: 'admission-to-testing-decided',
      as: staff.get(unit, 'head'),
      gap: { workingDays: [0, 2] },
      data: () =>
        admitted
          ? { admitted: true }
          : { admitted: false, reasons: ['Кандидат не соответствует квалификационным требованиям к корпусу «А»'] },
    },
    {
      stepId: 'test-schedule-announced',
      as: employee,
      gap: { workingDays: [0, 2] },
      // Published at least 5 working days before the first testing day (p.7 pp.3): a week ahead keeps it, a few
      // days ahead (one schedule in ten) breaches it.
      data: (t) => ({
        publishedAt: zone.formatLocal(t.occurredAt),
        url: `https://www.kyzmet.gov.kz/ru/news/grafik-testirovaniya-${yearOf(zone, t)}-${rng.int(1, 40)}`,
        testingStartsOn: addDays(zone.toLocal(t.occurredAt).date, rng.chance(0.1) ? rng.int(2, 5) : rng.int(7, 10)),
      }),
    },
    // On or after the first testing day the schedule names.
    // The provider's employee records the test and its result, which decides the branch (p.7 pp.4).
    {
      stepId: 'corps-a-test-completed',
      as: employee,
      gap: { workingDays: [8, 14] },
      hours: 'session',
      data: () => ({ score: pct(rng, passed, 70), passed }),
    },
    {
      stepId: 'information-requested',
      as: employee,
      gap: { workingDays: [0, 3] },
      data: () => ({ bodies: [...bodies] }),
    },
    {
      stepId: 'information-received',
      as: stateBodyPrincipal(bodies[0]!, 0),
      gap: { workingDays: [5, 20] },
      data: () => ({ from: bodies.join('; ') }),
    },
    {
      stepId: 'candidate-list-sent',
      as: employee,
      gap: { workingDays: [1, 8] },
      data: (t) => ({ listNumber: `НК-${yearOf(zone, t)}-${rng.int(1, 99)}` }),
    },
  ];
  // Not admitted to testing, or not to the interview after negative results: an ending without a document of its own.
  const notAdmitted = (reason: string): PlannedAct => ({
    stepId: 'not-admitted',
    as: employee,
    gap: { workingDays: [0, 3] },
    data: () => ({ reason }),
  });
  if (story === 'portal-refusal')
    acts = [
      {
        stepId: 'portal-refusal',
        as: PORTAL,
        gap: { minutes: [1, 20] },
        data: () => ({ reason: rng.pick(PORTAL_REFUSALS) }),
      },
    ];
  else if (story === 'not-admitted')
    acts = [
      ...acts.slice(0, lead.length + 2),
      ...(want || rng.chance(0.85)
        ? [notAdmitted('Не допущен(а) к тестированию по итогам рассмотрения документов')]
        : []),
    ];
  else if (story === 'failed-test')
    acts = [
      ...acts.slice(0, lead.length + 4),
      ...(rng.chance(0.85)
        ? [notAdmitted('Отрицательные результаты тестирования: в список для собеседования не включен(а)')]
        : []),
    ];
  else if (story === 'cancelled')
    acts = [
      ...acts.slice(0, rng.int(0, 3)),
      {
        stepId: 'application-cancelled',
        cancel: { reason: rng.pick(CANCEL_REASONS) },
        as: self,
        gap: { workingDays: [0, 3] },
        hours: 'portal',
      },
    ];
  else if (story === 'stalled') acts = stall(rng, acts, 0);
  // The end of document acceptance is the provider's date: only its staff send it (an applicant's filing may not).
  const cohortDates = submittedBy === self ? {} : { cohortDates: { 'document-acceptance-end': round.end } };
  return {
    channel,
    unit,
    applicant,
    submittedBy,
    submission: { from: round.from, to: round.end, hours: channel === 'portal' ? 'portal' : 'office' },
    ...cohortDates,
    acts,
    story,
  };
};

const EXAMS = ['Государственное и местное управление', 'Экономика', 'Юриспруденция', 'Иностранный язык'];

// academy-admission/order-184-2015: exams 10–20 August, appeals, competition 21–24, enrolment 24–25 August.
const admission2015: Flow = ({ rng, staff, zone, want }) => {
  const story =
    want ??
    rng.weighted([
      ['admitted', 0.5],
      ['not-admitted', 0.2],
      ['appeal-upheld', 0.07],
      ['appeal-rejected', 0.07],
      ['portal-refusal', 0.04],
      ['cancelled', 0.05],
      ['stalled', 0.07],
    ]);
  const channel = rng.weighted<RequestedChannel>([
    ['portal', 0.5],
    ['office', 0.5],
  ]);
  const unit = pickUnit(rng, true);
  const cohort2015 = rng.chance(0.15);
  const applicant = makeApplicant(rng, 2016, 23, 45);
  const self = applicantPrincipal(applicant, unit);
  const submittedBy =
    channel === 'portal'
      ? self
      : // p.5 pp.1: at the provider its responsible person helps the applicant file; the technical secretary accepts.
        staff.any(rng, unit, 'responsible-person', 2);
  const secretary = staff.any(rng, unit, 'technical-secretary', 2);
  const appeal = story.startsWith('appeal');
  const passedExam = appeal
    ? false
    : story === 'admitted' || (story === 'not-admitted' ? rng.chance(0.5) : rng.chance(0.7));
  const admitted = story === 'admitted' || story === 'appeal-upheld' || (story === 'stalled' && passedExam);
  const exam = rng.pick(EXAMS);
  const cancel = (gap: Gap): PlannedAct => ({
    stepId: 'application-cancelled',
    cancel: { reason: rng.pick(CANCEL_REASONS) },
    as: self,
    gap,
    hours: 'portal',
  });
  let acts: PlannedAct[] = [
    {
      // p.7 pp.1: the technical secretary accepts the package, in at most 30 minutes (a few run over).
      stepId: 'documents-accepted',
      as: secretary,
      gap: { minutes: [5, 600] },
      hours: 'office',
      startedBefore: rng.chance(0.05) ? [31, 50] : [5, 28],
    },
    {
      stepId: 'entrance-exams-passed',
      as: staff.any(rng, unit, 'subject-commission', 2),
      hours: 'session',
      data: () => ({ exam: `${exam} (вступительный экзамен)`, score: pct(rng, passedExam), passed: passedExam }),
    },
  ];
  if (appeal) {
    acts.push(
      {
        stepId: 'appeal-opened',
        as: self,
        gap: { workingDays: [0, 1] },
        hours: 'portal',
        data: () => ({
          reason: `Не согласен(на) с оценкой по экзамену «${exam}»: ответ на вопрос 3 оценён без учёта решения`,
        }),
      },
      {
        stepId: 'appeal-resolved',
        as: staff.any(rng, unit, 'appeal-commission', 2),
        gap: { workingDays: [1, 3] },
        data: () =>
          story === 'appeal-upheld'
            ? { decision: 'upheld', note: 'Оценка пересмотрена, экзамен считается сданным' }
            : { decision: 'rejected', note: 'Оценка оставлена без изменения' },
      },
    );
  }
  // A failed exam (with no appeal upheld) keeps the applicant out of the competition (p.5 pp.2-3).
  const competes = passedExam || story === 'appeal-upheld';
  const commission = staff.any(rng, unit, 'admission-commission', 2);
  if (competes)
    acts.push({
      stepId: 'competition-decided',
      as: commission,
      data: () => ({ admitted, score: rng.int(admitted ? 75 : 40, admitted ? 140 : 90) }),
    });
  if (admitted) {
    acts.push(
      {
        stepId: 'enrolment-order-signed',
        as: staff.get(unit, 'executive-secretary'),
        data: (t) => ({ orderNumber: `${rng.int(100, 400)}-у от ${zone.toLocal(t.occurredAt).date}` }),
      },
      {
        stepId: 'extract-issued',
        as: secretary,
        gap: { workingDays: [0, 3] },
        data: (t) => ({ documentNumber: `ВП-${yearOf(zone, t)}-${serial(rng, 4)}` }),
      },
      {
        stepId: 'student-documents-issued',
        as: self,
        gap: { workingDays: [1, 8] },
        data: () => ({ studentCardNumber: `АГУ-${serial(rng, 6)}` }),
      },
    );
  } else if (story === 'not-admitted' || rng.chance(0.85)) {
    acts.push({
      stepId: 'not-admitted',
      as: commission,
      // p.7 pp.3: with no appeal filed, the ending waits out the appeal commission's 5 working days after the exam.
      gap: appeal ? { workingDays: [0, 3] } : { workingDays: [6, 8] },
      data: () => ({ reason: competes ? 'Не прошёл(ла) по конкурсу' : 'Вступительный экзамен не сдан' }),
    });
  } else acts.push(cancel({ workingDays: [1, 10] })); // some withdraw before the commission records the ending

  if (story === 'portal-refusal')
    acts = [
      {
        stepId: 'portal-refusal',
        as: PORTAL,
        gap: { minutes: [1, 30] },
        data: () => ({ reason: rng.pick(PORTAL_REFUSALS) }),
      },
    ];
  else if (story === 'cancelled') acts = [cancel({ workingDays: [0, 10] })];
  else if (story === 'stalled') acts = stall(rng, acts, 0);
  const submission = cohort2015 ? { from: '2015-08-11', to: '2015-08-18' } : { from: '2016-06-01', to: '2016-08-05' };
  return {
    channel,
    unit,
    applicant,
    submittedBy,
    submission: { ...submission, hours: channel === 'portal' ? 'portal' : 'office' },
    acts,
    story,
  };
};

// academy-admission/order-58-2019, postgraduate: intake to the second Friday of July, exams, competition, order by 10 August.
const postgraduate2019: Flow = ({ rng, staff, zone, want }) => {
  const story =
    want ??
    rng.weighted([
      ['admitted', 0.53],
      ['not-admitted', 0.24],
      ['portal-refusal', 0.04],
      ['cancelled', 0.06],
      ['stalled', 0.13],
    ]);
  const channel =
    story === 'portal-refusal'
      ? 'portal'
      : rng.weighted<RequestedChannel>([
          ['portal', 0.6],
          ['office', 0.4],
        ]);
  const unit = pickUnit(rng, true);
  const applicant = makeApplicant(rng, 2019, 23, 45);
  const self = applicantPrincipal(applicant, unit);
  const secretary = staff.any(rng, unit, 'technical-secretary', 2);
  const submittedBy = channel === 'portal' ? self : secretary;
  const admitted = story === 'admitted' || (story === 'stalled' && rng.chance(0.7));
  const passedExam = admitted || rng.chance(0.4);
  const exam = rng.pick(EXAMS);
  const decision: PlannedAct[] = admitted
    ? [
        {
          stepId: 'admission-order-drafted',
          as: staff.get(unit, 'executive-secretary'),
          data: () => ({ draftNumber: `проект-${serial(rng, 3)}` }),
        },
        {
          stepId: 'extract-issued',
          as: secretary,
          gap: { workingDays: [0, 5] },
          data: (t) => ({ documentNumber: `ВП-${yearOf(zone, t)}-${serial(rng, 4)}` }),
        },
      ]
    : [
        {
          stepId: 'refusal-issued',
          as: secretary,
          gap: { workingDays: [0, 5] },
          data: () => ({
            reason: passedExam
              ? 'Не прошёл(ла) по конкурсу: баллов недостаточно для зачисления'
              : 'Вступительный экзамен не сдан',
          }),
        },
      ];
  let acts: PlannedAct[] = [
    {
      stepId: 'entrance-exams-passed',
      as: staff.any(rng, unit, 'exam-commission', 2),
      hours: 'session',
      data: () => ({ exam: `${exam} (вступительный экзамен)`, score: pct(rng, passedExam), passed: passedExam }),
    },
    // Only those who passed the exams take part in the competition (p.5 pp.2-3); the others get the notice at once.
    ...(passedExam
      ? [
          {
            stepId: 'competition-decided',
            as: staff.any(rng, unit, 'admission-commission', 2),
            data: () => ({ admitted, score: rng.int(admitted ? 75 : 40, admitted ? 140 : 90) }),
          },
        ]
      : []),
    ...decision,
  ];
  if (story === 'portal-refusal')
    acts = [
      {
        stepId: 'portal-refusal',
        as: PORTAL,
        gap: { minutes: [1, 20] },
        data: () => ({ reason: rng.pick(PORTAL_REFUSALS) }),
      },
    ];
  else if (story === 'cancelled')
    acts = [
      {
        stepId: 'application-cancelled',
        cancel: { reason: rng.pick(CANCEL_REASONS) },
        as: self,
        gap: { workingDays: [0, 15] },
        hours: 'portal',
      },
    ];
  else if (story === 'stalled') acts = stall(rng, acts, 0);
  // The intake closes at 18:30 on the second Friday of July; filings end the day before.
  const submission = rng.chance(0.5)
    ? { from: '2019-03-12', to: '2019-07-11' }
    : { from: '2020-01-09', to: '2020-07-09' };
  return {
    channel,
    unit,
    applicant,
    submittedBy,
    submission: { ...submission, hours: channel === 'portal' ? 'portal' : 'office' },
    acts,
    story,
  };
};

// academy-admission/order-58-2019, qualification improvement: group by the seminar schedule, order and extract in a day each.
const qualification2019: Flow = ({ rng, staff, zone, want }) => {
  const story =
    want ??
    rng.weighted([
      ['completed', 0.72],
      ['refused', 0.12],
      ['portal-refusal', 0.03],
      ['cancelled', 0.05],
      ['stalled', 0.08],
    ]);
  const channel =
    story === 'portal-refusal'
      ? 'portal'
      : rng.weighted<RequestedChannel>([
          ['portal', 0.5],
          ['office', 0.5],
        ]);
  const unit = pickUnit(rng, true);
  const applicant = makeApplicant(rng, 2019, 25, 58);
  const self = applicantPrincipal(applicant, unit);
  const institute = staff.any(rng, unit, 'institute-employee', 3);
  const submittedBy = channel === 'portal' ? self : institute;
  const decision: PlannedAct[] =
    story === 'refused'
      ? [
          {
            stepId: 'refusal-issued',
            as: institute,
            gap: { workingDays: [0, 1] },
            data: () => ({
              reason:
                'Группа слушателей по план-графику семинаров сформирована без услугополучателя: нет свободных мест',
            }),
          },
        ]
      : [
          {
            stepId: 'enrolment-order-signed',
            as: staff.get(unit, 'signatory'),
            gap: { workingDays: [0, 1] },
            data: (t) => ({ orderNumber: `${rng.int(10, 900)}-с от ${zone.toLocal(t.occurredAt).date}` }),
          },
          {
            stepId: 'extract-issued',
            as: institute,
            gap: { workingDays: [0, 1] },
            data: (t) => ({ documentNumber: `ВП-${yearOf(zone, t)}-${serial(rng, 4)}` }),
          },
        ];
  let acts: PlannedAct[] = [
    // A group formed without the applicant makes the notice of non-admission due (p.7 pp.5).
    {
      stepId: 'group-formed',
      as: institute,
      gap: { workingDays: [3, 25] },
      startedBefore: [30, 240],
      data: (t) => ({
        groupId: `ПК-${yearOf(zone, t)}-${rng.int(1, 120)}`,
        ...(story === 'refused' ? { applicantIncluded: false } : {}),
      }),
    },
    ...decision,
  ];
  if (story === 'portal-refusal')
    acts = [
      {
        stepId: 'portal-refusal',
        as: PORTAL,
        gap: { minutes: [1, 20] },
        data: () => ({ reason: rng.pick(PORTAL_REFUSALS) }),
      },
    ];
  else if (story === 'cancelled')
    acts = [
      {
        stepId: 'application-cancelled',
        cancel: { reason: rng.pick(CANCEL_REASONS) },
        as: self,
        gap: { workingDays: [0, 10] },
        hours: 'portal',
      },
    ];
  else if (story === 'stalled') acts = stall(rng, acts, 0);
  return {
    channel,
    unit,
    applicant,
    submittedBy,
    submission: { from: '2019-03-12', to: '2020-11-27', hours: channel === 'portal' ? 'portal' : 'office' },
    acts,
    story,
  };
};

const MILESTONES = [
  'Учебный план освоен по всем дисциплинам',
  'Зарубежная стажировка пройдена',
  'Диссертация рекомендована кафедрой к защите',
  'Получен положительный отзыв научного руководителя',
  'Опубликованы две статьи по теме диссертации',
  'Получена внешняя рецензия',
];

// academy-postgraduate-study/order-184-2015: enrolment 24–25 August, a 1- or 2-year programme, exam, defence.
const postgraduateStudy: Flow = ({ rng, staff, zone, want }) => {
  const story =
    want ??
    rng.weighted([
      ['graduated', 0.68],
      ['failed-exam', 0.1],
      ['left', 0.06],
      ['stalled', 0.16],
    ]);
  const unit = pickUnit(rng, true);
  const cohortYear = rng.chance(0.3) ? 2015 : 2016;
  const years = rng.pick([1, 2]);
  const endsOn = `${cohortYear + years}-06-30`;
  const applicant = makeApplicant(rng, cohortYear, 24, 45);
  const centre = staff.any(rng, unit, 'academic-programmes-centre', 2);
  const department = staff.any(rng, unit, 'department', 3);
  const passed = story !== 'failed-exam';
  const milestoneBy: Role = rng.weighted<Role>([
    ['department', 0.6],
    ['institute', 0.3],
    ['international-office', 0.1],
  ]);
  let acts: PlannedAct[] = [
    {
      stepId: 'enrolment-order-signed',
      as: centre,
      data: (t) => ({ orderNumber: `${rng.int(200, 500)}-у от ${zone.toLocal(t.occurredAt).date}` }),
    },
    {
      stepId: 'programme-schedule-set',
      as: centre,
      gap: { workingDays: [1, 8] },
      data: () => ({ programmeEndsOn: endsOn }),
    },
    // Each milestone of p.5 pp.2-7 is its own act (the step is repeatable), spread over the programme's last months.
    ...MILESTONES.map((milestone, i): PlannedAct => ({
      stepId: 'study-milestones-recorded',
      as: staff.any(rng, unit, milestoneBy, 2),
      ...(i === 0 ? { notBefore: addDays(endsOn, -150) } : {}),
      gap: { workingDays: [1, 12] },
      data: () => ({ milestone }),
    })),
    {
      stepId: 'comprehensive-exam-passed',
      as: department,
      notBefore: addDays(endsOn, -35),
      gap: { workingDays: [0, 8] },
      hours: 'session',
      data: () => ({ exam: 'Комплексный экзамен', score: pct(rng, passed), passed }),
    },
    {
      stepId: 'dissertation-defended',
      as: department,
      notBefore: addDays(endsOn, -20),
      gap: { workingDays: [0, 8] },
      data: () => ({
        topic: rng.pick([
          'Цифровизация государственных услуг в Республике Казахстан',
          'Меритократия в системе государственной службы',
          'Оценка эффективности деятельности государственных органов',
          'Противодействие коррупции в местных исполнительных органах',
        ]),
      }),
    },
    {
      stepId: 'completion-document-issued',
      as: centre,
      gap: { workingDays: [2, 10] },
      data: (t) => ({ documentNumber: `ДМ-${yearOf(zone, t)}-${serial(rng, 5)}` }),
    },
  ];
  // A student who does not finish gets the reference of p.3 pp.2, without a defence: after a failed comprehensive
  // exam, or leaving during the study.
  const reference: PlannedAct = {
    stepId: 'incomplete-study-reference-issued',
    as: centre,
    gap: { workingDays: [2, 10] },
    data: (t) => ({
      documentNumber: `СП-${yearOf(zone, t)}-${serial(rng, 5)}`,
      reason: story === 'left' ? 'Отчислен(а) по собственному желанию' : 'Комплексный экзамен не сдан',
    }),
  };
  if (story === 'failed-exam')
    acts = [...acts.slice(0, acts.findIndex((a) => a.stepId === 'comprehensive-exam-passed') + 1), reference];
  else if (story === 'left') acts = [...acts.slice(0, rng.int(1, 5)), reference];
  else if (story === 'stalled') acts = stall(rng, acts, 0);
  const submission =
    cohortYear === 2015 ? { from: '2015-08-11', to: '2015-08-21' } : { from: '2016-05-16', to: '2016-08-08' };
  // The academic year's start is not sent: the text fixes the enrolment (24–25 August), and the filing's date picks the year.
  return {
    channel: 'office',
    unit,
    applicant,
    // The Centre receives the documents (appendix 4 p.4): the student files nothing on a paper service.
    submittedBy: centre,
    submission: { ...submission, hours: 'office' },
    acts,
    story,
  };
};

// academy-retraining/order-184-2015: registry, group, order in a working day each; the programme; final test; document.
const retraining: Flow = ({ rng, staff, zone, want }) => {
  const story =
    want ??
    rng.weighted([
      ['completed', 0.8],
      ['failed-test', 0.08],
      ['stalled', 0.12],
    ]);
  const unit = pickUnit(rng, true);
  const applicant = makeApplicant(rng, 2016, 25, 58);
  const signatory = staff.get(unit, 'signatory');
  const teacher = staff.any(rng, unit, 'teaching-staff', 4);
  const longProgramme = rng.chance(0.4);
  const days = longProgramme ? rng.int(60, 120) : rng.int(10, 21);
  const passed = story !== 'failed-test';
  // The registry clerk receives the letter (appendix 5 p.5 pp.1) and hands the documents over.
  const clerk = staff.any(rng, unit, 'registry-clerk', 2);
  let acts: PlannedAct[] = [
    {
      stepId: 'documents-registered',
      as: clerk,
      gap: { workingDays: [0, 1] },
      data: () => ({ incomingNumber: `${rng.int(1, 12)}-${rng.int(1000, 9999)}` }),
    },
    {
      stepId: 'group-formed',
      as: staff.any(rng, unit, 'methodologist', 2),
      gap: { workingDays: [0, 1] },
      data: (t) => ({ groupId: `${longProgramme ? 'ПП' : 'ПК'}-${yearOf(zone, t)}-${rng.int(1, 80)}` }),
    },
    {
      stepId: 'enrolment-order-signed',
      as: signatory,
      gap: { workingDays: [0, 1] },
      data: (t) => ({
        orderNumber: `${rng.int(10, 900)}-с`,
        programmeEndsOn: addDays(zone.toLocal(t.occurredAt).date, days),
      }),
    },
    {
      stepId: 'training-completed',
      as: teacher,
      gap: { days: [days - 3, days - 1] },
      data: () => ({
        milestone: longProgramme
          ? 'Программа переподготовки освоена'
          : 'Программа курсов повышения квалификации освоена',
      }),
    },
    {
      stepId: 'final-test-passed',
      as: teacher,
      gap: { workingDays: [0, 1] },
      hours: 'session',
      data: () => ({ exam: 'Итоговое тестирование', score: pct(rng, passed, 60), passed }),
    },
    {
      stepId: 'completion-document-issued',
      as: signatory,
      gap: { workingDays: [0, 1] },
      // The act names which document it issued (appendix 5, p.3): retraining's or qualification improvement's.
      data: (t) => ({
        documentNumber: `${longProgramme ? 'ДП' : 'СВ'}-${yearOf(zone, t)}-${serial(rng, 5)}`,
        resultId: longProgramme ? 'retraining-completion-document' : 'qualification-completion-document',
      }),
    },
  ];
  // The text gives no result for a listener who fails the final test: the case stays undone.
  if (story === 'failed-test') acts = acts.slice(0, 5);
  else if (story === 'stalled') acts = stall(rng, acts, 0);
  return {
    channel: 'office',
    unit,
    applicant,
    submittedBy: clerk,
    submission: { from: '2015-08-11', to: '2016-07-29', hours: 'office' },
    acts,
    story,
  };
};

interface Combo {
  versionId: string;
  trackId: string;
  /** Share of the cases. */
  weight: number;
  flow: Flow;
}

export const DEMO_COMBOS: readonly Combo[] = [
  { versionId: 'civil-service-testing/order-184-2015', trackId: 'default', weight: 0.28, flow: testing },
  { versionId: 'personnel-reserve/order-184-2015', trackId: 'competition-recommended', weight: 0.1, flow: reserveB },
  { versionId: 'personnel-reserve/order-184-2015', trackId: 'priority-graduates', weight: 0.06, flow: reserveB },
  { versionId: 'personnel-reserve/order-184-2015', trackId: 'corps-a-selection', weight: 0.07, flow: corpsA },
  { versionId: 'academy-admission/order-184-2015', trackId: 'default', weight: 0.12, flow: admission2015 },
  { versionId: 'academy-admission/order-58-2019', trackId: 'postgraduate', weight: 0.09, flow: postgraduate2019 },
  {
    versionId: 'academy-admission/order-58-2019',
    trackId: 'qualification-improvement',
    weight: 0.09,
    flow: qualification2019,
  },
  { versionId: 'academy-postgraduate-study/order-184-2015', trackId: 'default', weight: 0.07, flow: postgraduateStudy },
  { versionId: 'academy-retraining/order-184-2015', trackId: 'default', weight: 0.12, flow: retraining },
];

/** The first cases of every run: each version and track, and each kind of ending, at least once. */
export const SHOWCASE: readonly { versionId: string; trackId: string; story: string }[] = [
  { versionId: 'civil-service-testing/order-184-2015', trackId: 'default', story: 'passed' },
  { versionId: 'personnel-reserve/order-184-2015', trackId: 'competition-recommended', story: 'completed' },
  { versionId: 'personnel-reserve/order-184-2015', trackId: 'priority-graduates', story: 'completed' },
  { versionId: 'personnel-reserve/order-184-2015', trackId: 'corps-a-selection', story: 'listed' },
  { versionId: 'academy-admission/order-184-2015', trackId: 'default', story: 'appeal-upheld' },
  { versionId: 'academy-admission/order-58-2019', trackId: 'postgraduate', story: 'admitted' },
  { versionId: 'academy-admission/order-58-2019', trackId: 'qualification-improvement', story: 'completed' },
  { versionId: 'academy-postgraduate-study/order-184-2015', trackId: 'default', story: 'graduated' },
  { versionId: 'academy-retraining/order-184-2015', trackId: 'default', story: 'completed' },
  { versionId: 'civil-service-testing/order-184-2015', trackId: 'default', story: 'failed-test' },
  { versionId: 'civil-service-testing/order-184-2015', trackId: 'default', story: 'portal-refusal' },
  { versionId: 'civil-service-testing/order-184-2015', trackId: 'default', story: 'cancelled' },
  { versionId: 'academy-admission/order-184-2015', trackId: 'default', story: 'appeal-rejected' },
  { versionId: 'academy-admission/order-58-2019', trackId: 'postgraduate', story: 'not-admitted' },
  { versionId: 'academy-admission/order-58-2019', trackId: 'qualification-improvement', story: 'refused' },
  { versionId: 'personnel-reserve/order-184-2015', trackId: 'competition-recommended', story: 'stalled' },
  { versionId: 'personnel-reserve/order-184-2015', trackId: 'corps-a-selection', story: 'failed-test' },
  { versionId: 'academy-retraining/order-184-2015', trackId: 'default', story: 'stalled' },
  { versionId: 'academy-admission/order-184-2015', trackId: 'default', story: 'not-admitted' },
  { versionId: 'academy-admission/order-58-2019', trackId: 'postgraduate', story: 'portal-refusal' },
  { versionId: 'academy-admission/order-58-2019', trackId: 'qualification-improvement', story: 'portal-refusal' },
  { versionId: 'academy-postgraduate-study/order-184-2015', trackId: 'default', story: 'failed-exam' },
  { versionId: 'academy-postgraduate-study/order-184-2015', trackId: 'default', story: 'left' },
  { versionId: 'personnel-reserve/order-184-2015', trackId: 'corps-a-selection', story: 'not-admitted' },
];

/** The plan of case `index` of a run: its own PRNG stream, so the plan does not depend on the other cases. */
export function planCase(index: number, rng: Rng, staff: StaffDirectory, zone: TimeZone): CasePlan {
  const showcase = SHOWCASE[index];
  const combo = showcase
    ? DEMO_COMBOS.find((c) => c.versionId === showcase.versionId && c.trackId === showcase.trackId)!
    : rng.weighted(DEMO_COMBOS.map((c) => [c, c.weight] as const));
  const plan = combo.flow({ rng, staff, zone, trackId: combo.trackId, ...(showcase ? { want: showcase.story } : {}) });
  return {
    index,
    serviceId: combo.versionId.split('/')[0]!,
    versionId: combo.versionId,
    trackId: combo.trackId,
    ...plan,
  };
}
