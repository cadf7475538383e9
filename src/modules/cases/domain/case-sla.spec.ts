/**
 * The SLA of real personnel-reserve cases (order 184 of 2015, appendix 2, track competition-recommended),
 * with deadlines worked out by hand from data/calendars/KZ.yaml:
 *
 * - Constitution Day (holidays: constitution-day, 30 August, movesWhenOnWeekend: true) fell on Sunday
 *   30 August 2015, so Monday 31 August 2015 was a day off as well (rules.weekendHoliday). No transfer is
 *   listed for 2015, and the next holiday is Kurban Ait on 24 September 2015.
 * - So from Friday 28 August 2015 the working days are: Tue 1 Sep (1st), Wed 2 (2nd), Thu 3 (3rd),
 *   Fri 4 (4th), Mon 7 (5th), Tue 8 (6th), Wed 9 Sep (7th).
 * - A limit of N working days ends at 24:00 of the N-th working day after the anchor's day (Civil Code
 *   art. 171-173); 24:00 local on day D is D+1 00:00 at UTC+6 (Almaty in 2015), i.e. D 18:00 UTC.
 */
import { join } from 'node:path';
import { loadCalendars } from '../../calendar/domain/load-calendar';
import { loadCatalog } from '../../regulations/domain/catalog';
import { caseSla, type SlaRow } from './case-sla';
import { CaseWalk, makeIin, principal } from '../../../../test/support/case-specification';

const DATA = join(__dirname, '../../../../data');
const catalog = loadCatalog(join(DATA, 'regulations'));
const calendar = loadCalendars(join(DATA, 'calendars')).get('KZ')!;
const reserve = catalog.byId.get('personnel-reserve/order-184-2015')!;
const IIN = makeIin('880101', 3, 123);

const almaty = (local: string) => new Date(`${local}+06:00`);
/** 24:00 local at the end of an Almaty date, as an ISO instant. */
const endOf = (date: string) => new Date(`${date}T18:00:00.000Z`).toISOString();

const FRIDAY_BEFORE_HOLIDAY = almaty('2015-08-28T10:00:00');

function submittedOnFriday(): CaseWalk {
  const w = new CaseWalk(catalog, calendar.timeZone, reserve, 'competition-recommended', {
    unit: 'astana-department',
    iin: IIN,
    start: FRIDAY_BEFORE_HOLIDAY,
  });
  w.submit('applicant', { channel: 'portal' });
  return w;
}

const row = (rows: SlaRow[], stepId: string, limitId: string) => {
  const found = rows.find((r) => r.stepId === stepId && r.limitId === limitId);
  if (!found)
    throw new Error(`no SLA row ${stepId}/${limitId} among ${rows.map((r) => `${r.stepId}/${r.limitId}`).join(', ')}`);
  return found;
};
const sla = (w: CaseWalk, asOf: string) => caseSla(w.state, reserve, calendar, almaty(asOf));
const ids = (rows: SlaRow[]) => rows.map((r) => `${r.stepId}/${r.limitId}`);

describe('registration within 1 working day of receipt (p.7 pp.1), filed on the Friday before Constitution Day 2015', () => {
  it('the calendar has the facts the hand-worked deadlines rest on', () => {
    expect(calendar.nonWorkingReason('2015-08-30')).toMatchObject({
      kind: 'holiday',
      name: 'День Конституции Республики Казахстан',
    });
    expect(calendar.nonWorkingReason('2015-08-31')).toMatchObject({ kind: 'moved-holiday', relatedDate: '2015-08-30' });
    expect(calendar.isWorkingDay('2015-09-01')).toBe(true);
  });

  it('registration on the next working day, Tuesday 1 September, is met', () => {
    const w = submittedOnFriday();
    w.take('documents-registered', { at: almaty('2015-09-01T17:45:00') });
    expect(row(sla(w, '2015-09-30T12:00:00'), 'documents-registered', 'registration')).toMatchObject({
      startedAt: FRIDAY_BEFORE_HOLIDAY.toISOString(),
      deadline: endOf('2015-09-01'),
      completedAt: almaty('2015-09-01T17:45:00').toISOString(),
      status: 'met',
      alternative: null,
    });
  });

  it('registration a day later, Wednesday 2 September, is breached', () => {
    const w = submittedOnFriday();
    w.take('documents-registered', { at: almaty('2015-09-02T09:00:00') });
    expect(row(sla(w, '2015-09-30T12:00:00'), 'documents-registered', 'registration')).toMatchObject({
      deadline: endOf('2015-09-01'),
      status: 'breached',
    });
  });

  it('while not registered, the row is open until 24:00 on 1 September and overdue from then', () => {
    const w = submittedOnFriday();
    // Monday 31 August is the moved holiday: still well within the limit.
    expect(row(sla(w, '2015-08-31T12:00:00'), 'documents-registered', 'registration')).toMatchObject({
      status: 'open',
      completedAt: null,
    });
    expect(row(sla(w, '2015-09-01T23:59:00'), 'documents-registered', 'registration')).toMatchObject({
      status: 'open',
    });
    expect(row(sla(w, '2015-09-02T00:00:00'), 'documents-registered', 'registration')).toMatchObject({
      status: 'overdue',
      deadline: endOf('2015-09-01'),
    });
  });
});

describe('the contradiction of p.7 pp.3 (5 working days from receipt) and p.5 (3 + 3 + 1 = 7)', () => {
  /** Every step in time except the extract, issued on Tuesday 8 September: the 6th working day. */
  function walkedToExtract(): CaseWalk {
    const w = submittedOnFriday();
    w.take('documents-registered', { at: almaty('2015-09-01T10:00:00') });
    w.take('assigned-to-employee', { at: almaty('2015-09-01T15:00:00') });
    w.take('documents-reviewed', { at: almaty('2015-09-02T10:00:00') });
    w.take('order-drafted', { at: almaty('2015-09-04T10:00:00') });
    w.take('order-signed', { at: almaty('2015-09-07T10:00:00') });
    return w;
  }

  it('carries the other reading with its own deadline and status', () => {
    const w = walkedToExtract();
    const before = row(sla(w, '2015-09-08T09:00:00'), 'extract-issued', 'cumulative-from-receipt-a');
    // 5th working day after 28 August: Monday 7 September; 7th: Wednesday 9 September.
    expect(before).toMatchObject({
      deadline: endOf('2015-09-07'),
      status: 'overdue',
      alternative: { spec: { kind: 'working-days', days: 7 }, deadline: endOf('2015-09-09'), status: 'open' },
    });
    expect(before.alternative!.clause).toMatchObject({ act: 'order-184-2015', appendix: 2, paragraph: 5 });

    w.take('extract-issued', { at: almaty('2015-09-08T10:00:00') });
    const rows = sla(w, '2015-09-30T12:00:00');
    expect(row(rows, 'extract-issued', 'cumulative-from-receipt-a')).toMatchObject({
      status: 'breached',
      alternative: { status: 'met' },
    });
    // The per-step limit of p.5 pp.4 (1 working day from the signature on Monday 7 September) is met.
    expect(row(rows, 'extract-issued', 'extract')).toMatchObject({
      deadline: endOf('2015-09-08'),
      status: 'met',
      alternative: null,
    });
    // The 1-day total of the priority-graduates track does not apply on this track.
    expect(ids(rows)).not.toContain('extract-issued/cumulative-from-receipt-b');
  });

  it('an extract on the 5th working day meets both readings', () => {
    const w = walkedToExtract();
    w.take('extract-issued', { at: almaty('2015-09-07T16:00:00') });
    expect(row(sla(w, '2015-09-30T12:00:00'), 'extract-issued', 'cumulative-from-receipt-a')).toMatchObject({
      status: 'met',
      alternative: { status: 'met' },
    });
  });
});

describe('a cancelled case', () => {
  it('keeps the rows whose deadline had passed at the cancellation and drops the others', () => {
    const w = submittedOnFriday();
    w.at(almaty('2015-09-02T10:00:00'));
    const cancelled = w.spec
      .given(w.events)
      .when({ kind: 'cancel', reason: 'передумал' }, principal('applicant', 'public', { iin: IIN }))
      .then([{ type: 'ApplicationCancelled', stepId: 'application-cancelled', role: 'applicant' }]);
    const rows = caseSla(cancelled.state, reserve, calendar, almaty('2015-10-01T12:00:00'));
    // Registration and assignment (1 working day from receipt) had passed at 24:00 on 1 September; the check
    // (3 working days, to 24:00 on 3 September) and the 5-day total (7 September) had not.
    expect(ids(rows)).toEqual([
      'application-submitted/filing',
      'documents-registered/registration',
      'assigned-to-employee/assignment',
    ]);
    // Those steps are no longer open once the case closed: their missed deadlines are breaches.
    expect(rows.slice(1).map((r) => r.status)).toEqual(['breached', 'breached']);

    // The same case not cancelled has those rows, overdue.
    const open = sla(w, '2015-10-01T12:00:00');
    expect(row(open, 'documents-reviewed', 'check')).toMatchObject({
      deadline: endOf('2015-09-03'),
      status: 'overdue',
    });
    expect(row(open, 'extract-issued', 'cumulative-from-receipt-a')).toMatchObject({
      deadline: endOf('2015-09-07'),
      status: 'overdue',
      alternative: { status: 'overdue' },
    });

    // Looked at before the cancellation, the case was still open and every running clock counts.
    expect(ids(caseSla(cancelled.state, reserve, calendar, almaty('2015-09-02T09:00:00')))).toEqual(
      ids(sla(w, '2015-09-02T09:00:00')),
    );
    expect(ids(caseSla(cancelled.state, reserve, calendar, almaty('2015-09-02T09:00:00')))).toContain(
      'documents-reviewed/check',
    );
  });
});

describe('asOf: acts after it do not count', () => {
  it('a registration after asOf leaves its row open and starts no clock it anchors', () => {
    const w = submittedOnFriday();
    w.take('documents-registered', { at: almaty('2015-09-01T10:00:00') });
    w.take('assigned-to-employee', { at: almaty('2015-09-01T15:00:00') });
    w.take('documents-reviewed', { at: almaty('2015-09-02T10:00:00') });

    const before = sla(w, '2015-09-01T09:59:00');
    expect(row(before, 'documents-registered', 'registration')).toMatchObject({ completedAt: null, status: 'open' });
    // The enrolment limit (3 working days from the review) has not started before the review.
    expect(ids(before)).not.toContain('order-signed/enrolment');

    const after = sla(w, '2015-09-02T10:00:00');
    expect(row(after, 'documents-registered', 'registration')).toMatchObject({
      completedAt: almaty('2015-09-01T10:00:00').toISOString(),
      status: 'met',
    });
    // Review on Wednesday 2 September: the 3rd working day after it is Monday 7 September.
    expect(row(after, 'order-signed', 'enrolment')).toMatchObject({
      startedAt: almaty('2015-09-02T10:00:00').toISOString(),
      deadline: endOf('2015-09-07'),
      status: 'open',
    });
  });

  it('before the submission there is nothing to count', () => {
    const w = submittedOnFriday();
    expect(sla(w, '2015-08-28T09:59:00')).toEqual([]);
    // The 30 minutes of filing (p.7 pp.1 of appendix 2) run from the start of the submission.
    expect(row(sla(w, '2015-08-28T10:00:00'), 'application-submitted', 'filing')).toMatchObject({
      deadline: new Date(almaty('2015-08-28T10:30:00').getTime() + 1).toISOString(),
      status: 'met',
    });
  });
});

// «Длительность выполнения … не более 2 (двух) часов 5 (пяти) минут» (app.1 p.7 pp.3): a test that lasted 125 minutes,
// to the minute a clerk types, kept the limit; it was counted breached.
describe('a limit in minutes allows exactly N minutes ("not more than N minutes")', () => {
  const testing = catalog.byId.get('civil-service-testing/order-184-2015')!;
  const BRIEFED = almaty('2015-09-15T10:00:00');
  const TEST_STARTED = almaty('2015-09-15T10:30:00');
  const minutesAfter = (start: Date, minutes: number) => new Date(start.getTime() + minutes * 60_000);

  function briefed(): CaseWalk {
    const w = new CaseWalk(catalog, calendar.timeZone, testing, 'default', {
      unit: 'astana-department',
      iin: IIN,
      start: almaty('2015-09-15T09:00:00'),
    });
    w.submit('applicant', { channel: 'office' });
    w.openUpTo('applicant-briefed');
    w.take('applicant-briefed', { at: BRIEFED });
    return w;
  }
  const rowOf = (w: CaseWalk, asOf: Date, stepId: string, limitId: string) =>
    row(caseSla(w.state, testing, calendar, asOf), stepId, limitId);

  it('a test that lasted exactly 125 minutes is met; one second longer, breached', () => {
    const onTime = briefed();
    onTime.take('test-completed', { startedAt: TEST_STARTED, at: minutesAfter(TEST_STARTED, 125) });
    // The deadline is the first instant past the 125 minutes, as 24:00 is for a limit in days.
    expect(rowOf(onTime, almaty('2015-09-16T10:00:00'), 'test-completed', 'test-duration')).toMatchObject({
      deadline: new Date(almaty('2015-09-15T12:35:00').getTime() + 1).toISOString(),
      status: 'met',
    });
    const late = briefed();
    late.take('test-completed', {
      startedAt: TEST_STARTED,
      at: new Date(minutesAfter(TEST_STARTED, 125).getTime() + 1_000),
    });
    expect(rowOf(late, almaty('2015-09-16T10:00:00'), 'test-completed', 'test-duration').status).toBe('breached');
  });

  it('an open step is overdue only once its deadline has passed, not at the deadline', () => {
    const w = briefed();
    w.take('test-completed', { startedAt: TEST_STARTED, at: almaty('2015-09-15T12:30:00') });
    // The signing's 10 minutes from the end of the test (p.7 pp.4).
    expect(rowOf(w, almaty('2015-09-15T12:40:00'), 'test-results-signed', 'signing').status).toBe('open');
    expect(
      rowOf(w, new Date(almaty('2015-09-15T12:40:00').getTime() + 1), 'test-results-signed', 'signing').status,
    ).toBe('overdue');
  });
});

// Civil-service testing, appendix 1: the briefing's 10 minutes (p.7 pp.2) and the test's 2 hours 5 minutes (p.7 pp.3)
// are «Длительность выполнения», the length of each act; they were counted from the end of the act before, so a test
// session of 10:30–12:30 after a briefing that ended at 10:00 read breached against 12:05.
describe('civil-service testing: the briefing and the test are timed from their own start, the end of the act before kept as the other reading', () => {
  const testing = catalog.byId.get('civil-service-testing/order-184-2015')!;
  const at = (time: string) => almaty(`2015-09-10T${time}:00`);
  const iso = (time: string, plusMs = 0) => new Date(at(time).getTime() + plusMs).toISOString();

  function admitted(): CaseWalk {
    const w = new CaseWalk(catalog, calendar.timeZone, testing, 'default', {
      unit: 'astana-department',
      iin: IIN,
      start: almaty('2015-09-01T10:00:00'),
    });
    w.submit('applicant', { channel: 'portal' });
    w.take('admitted-to-test', { startedAt: at('09:45'), at: at('09:50') });
    return w;
  }
  const rowsAt = (w: CaseWalk) => caseSla(w.state, testing, calendar, at('13:00'));

  it('a two-hour session that starts half an hour after the briefing is met; from the briefing it is breached', () => {
    const w = admitted();
    w.take('applicant-briefed', { at: at('10:00') });
    w.take('test-completed', { startedAt: at('10:30'), at: at('12:30'), data: { score: 80, passed: true } });
    expect(row(rowsAt(w), 'test-completed', 'test-duration')).toMatchObject({
      anchor: { stepStarted: 'test-completed' },
      startedAt: iso('10:30'),
      deadline: iso('12:35', 1),
      status: 'met',
      alternative: {
        anchor: { step: 'applicant-briefed' },
        startedAt: iso('10:00'),
        deadline: iso('12:05', 1),
        status: 'breached',
        clause: expect.objectContaining({ paragraph: 5, subparagraph: 4 }),
      },
    });
  });

  it('a 7-minute briefing that starts 15 minutes after the admission is met; from the admission it is breached', () => {
    const w = admitted();
    w.take('applicant-briefed', { startedAt: at('10:05'), at: at('10:12') });
    expect(row(rowsAt(w), 'applicant-briefed', 'briefing')).toMatchObject({
      startedAt: iso('10:05'),
      deadline: iso('10:15', 1),
      status: 'met',
      alternative: { startedAt: iso('09:50'), deadline: iso('10:00', 1), status: 'breached' },
    });
  });

  // A second review: a test recorded with no start of its own read met for no time spent (its start taken as its
  // end), and a test not yet recorded had no clock at all, so a stalled one was on no overdue list.
  it('a test recorded without its own start counts from the end of the briefing, the earliest it can have started', () => {
    const w = admitted();
    w.take('applicant-briefed', { at: at('10:00') });
    w.take('test-completed', { at: at('15:00'), data: { score: 80, passed: true } });
    expect(row(caseSla(w.state, testing, calendar, at('16:00')), 'test-completed', 'test-duration')).toMatchObject({
      startedAt: iso('10:00'),
      startNotRecorded: true,
      deadline: iso('12:05', 1),
      status: 'breached',
      alternative: { status: 'breached' },
    });
  });

  it('a test not yet recorded is open from the end of the briefing, then overdue', () => {
    const w = admitted();
    w.take('applicant-briefed', { at: at('10:00') });
    const open = row(caseSla(w.state, testing, calendar, at('12:00')), 'test-completed', 'test-duration');
    expect(open).toMatchObject({ startedAt: iso('10:00'), startNotRecorded: true, status: 'open' });
    expect(row(caseSla(w.state, testing, calendar, at('15:00')), 'test-completed', 'test-duration').status).toBe(
      'overdue',
    );
    // A briefing not yet recorded likewise, from the end of the admission.
    const v = admitted();
    expect(row(caseSla(v.state, testing, calendar, at('15:00')), 'applicant-briefed', 'briefing')).toMatchObject({
      startedAt: iso('09:50'),
      status: 'overdue',
    });
  });

  it('a briefing over its own 10 minutes is breached under both readings', () => {
    const w = admitted();
    w.take('applicant-briefed', { startedAt: at('09:52'), at: at('10:03') });
    expect(row(rowsAt(w), 'applicant-briefed', 'briefing')).toMatchObject({
      status: 'breached',
      alternative: { status: 'breached' },
    });
  });
});

// Order 184 of 2015, appendix 3: the applicant's filing (p.5 pp.1, «не более 30 минут») and the technical secretary's
// acceptance of the package (p.7 pp.1, «не более 30 (тридцати) минут») are two acts by two people, each timed on its
// own. They were one act with one 30-minute limit, which read a breach for a filing and an acceptance that each kept
// their 30 minutes but spanned more together.
describe('academy admission 2015: the filing and the acceptance each have their own 30 minutes', () => {
  const admission = catalog.byId.get('academy-admission/order-184-2015')!;
  const FILING_STARTED = almaty('2015-08-12T10:00:00');
  const minutesAfter = (start: Date, minutes: number) => new Date(start.getTime() + minutes * 60_000);

  function filedIn(minutes: number): CaseWalk {
    const w = new CaseWalk(catalog, calendar.timeZone, admission, 'default', {
      unit: 'astana-department',
      iin: IIN,
      start: minutesAfter(FILING_STARTED, minutes),
    });
    w.submit('applicant', { channel: 'portal', startedAt: FILING_STARTED });
    return w;
  }
  function acceptedIn(w: CaseWalk, startedAt: Date, minutes: number): void {
    w.take('documents-accepted', { startedAt, at: minutesAfter(startedAt, minutes) });
  }
  const statusOf = (w: CaseWalk, stepId: string, limitId: string) =>
    row(caseSla(w.state, admission, calendar, almaty('2015-08-13T10:00:00')), stepId, limitId).status;

  it('a 25-minute filing and a 25-minute acceptance that starts 40 minutes later are both met', () => {
    const w = filedIn(25);
    acceptedIn(w, minutesAfter(FILING_STARTED, 65), 25);
    expect(statusOf(w, 'application-submitted', 'filing')).toBe('met');
    expect(statusOf(w, 'documents-accepted', 'acceptance')).toBe('met');
  });

  it('a filing over its 30 minutes is breached, and the acceptance on time met', () => {
    const w = filedIn(31);
    acceptedIn(w, minutesAfter(FILING_STARTED, 40), 10);
    expect(statusOf(w, 'application-submitted', 'filing')).toBe('breached');
    expect(statusOf(w, 'documents-accepted', 'acceptance')).toBe('met');
  });

  it('an acceptance over its 30 minutes is breached, the filing on time met', () => {
    const w = filedIn(10);
    acceptedIn(w, minutesAfter(FILING_STARTED, 20), 31);
    expect(statusOf(w, 'application-submitted', 'filing')).toBe('met');
    expect(statusOf(w, 'documents-accepted', 'acceptance')).toBe('breached');
  });

  it('an acceptance not recorded yet has no deadline (its 30 minutes count from its start), and the entrance exams wait for it', () => {
    const w = filedIn(10);
    expect(ids(caseSla(w.state, admission, calendar, almaty('2015-08-20T10:00:00')))).not.toContain(
      'documents-accepted/acceptance',
    );
    expect(() => w.take('entrance-exams-passed', { at: almaty('2015-08-13T09:00:00') })).toThrow(
      /follows documents-accepted, not done yet/,
    );
    acceptedIn(w, almaty('2015-08-13T10:00:00'), 5);
    w.take('entrance-exams-passed', { at: almaty('2015-08-14T10:00:00') });
  });

  it('the technical secretary accepts and does not file; the applicant does not accept', () => {
    const asSecretary = new CaseWalk(catalog, calendar.timeZone, admission, 'default', {
      unit: 'astana-department',
      iin: IIN,
      start: FILING_STARTED,
    });
    expect(() => asSecretary.submit('technical-secretary', { channel: 'office' })).toThrow(
      /is done by applicant or responsible-person; the caller has technical-secretary/,
    );
    const w = filedIn(10);
    expect(() => w.take('documents-accepted', { roles: ['applicant'] })).toThrow(
      /is done by technical-secretary; the caller has applicant/,
    );
  });
});
