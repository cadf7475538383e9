/**
 * The case read side on the real server and SQLite files: cases written through the command API and read
 * back with read-your-writes, IIN masking per caller, list filters and paging, SLA rows at an asOf,
 * the 503s and 400s, and a rebuild of the projection that writes the same documents.
 */
import { maskIin } from '../../identity/domain/iin';
import type { Principal } from '../../identity/domain/principal';
import { caseVersion, loadCatalog } from '../../regulations/domain/catalog';
import { rolesOn } from '../../regulations/domain/regulation-schema';
import type { ReadDocument } from '../../read-store/read-store.port';
import { makeIin, startHarness, type ApiHarness, type TestCaller } from '../../../../test/support/api-harness';
import {
  callerFor,
  filingDay,
  mainPath,
  VALID_DATA,
  validStepData,
  versionTracks,
} from '../../../../test/support/case-walk';
import type { CaseDocument } from '../projections/cases.projection';
import { CASE_QUERIES, type CaseQueries } from './case-queries';
import { renderCaseView } from './case-views';
import { disclosureNotRecorded } from '../../personal-data/personal-data-vault';

const catalog = loadCatalog('data/regulations');
const at = (day: string, time: string) => `${day}T${time}:00+06:00`;
const utc = (local: string) => new Date(local).toISOString();

const IIN_A = makeIin('850101', 3, 11);
const IIN_B = makeIin('900202', 4, 22);
const applicant = (iin: string): TestCaller => ({ sub: `applicant-${iin}`, roles: ['applicant'], unit: 'public', iin });
const staff = (role: string, unit: string): TestCaller => ({ sub: `${role}-${unit}`, roles: [role], unit });
const AUDITOR: TestCaller = { sub: 'auditor-1', roles: ['auditor'], unit: 'hq' };
const ADMIN: TestCaller = { sub: 'admin-1', roles: ['admin'], unit: 'hq' };

interface Created {
  caseId: string;
  serviceId: string;
  unit: string;
  iin: string;
  submittedAt: string;
  status: 'open' | 'completed' | 'refused' | 'cancelled';
  assignee: string | null;
}

let api: ApiHarness;
let lastPosition = 0;
const created: Created[] = [];

async function submit(
  serviceId: string,
  trackId: string | undefined,
  unit: string,
  iin: string,
  occurredAt: string,
): Promise<Created> {
  const r = await api.call('POST', '/api/cases', {
    as: applicant(iin),
    body: {
      serviceId,
      ...(trackId ? { trackId } : {}),
      channel: 'portal',
      unit,
      applicant: { iin, fullName: 'Серикова Айгерим' },
      occurredAt,
    },
  });
  expect(r.status).toBe(201);
  lastPosition = r.body.position;
  const c: Created = {
    caseId: r.body.caseId,
    serviceId,
    unit,
    iin,
    submittedAt: utc(occurredAt),
    status: 'open',
    assignee: null,
  };
  created.push(c);
  return c;
}

async function step(
  c: Created,
  stepId: string,
  as: TestCaller,
  occurredAt: string,
  data: Record<string, unknown> = {},
): Promise<number> {
  const r = await api.call('POST', `/api/cases/${c.caseId}/steps/${stepId}`, { as, body: { occurredAt, data } });
  expect({ stepId, status: r.status, body: r.status === 201 ? null : r.body }).toEqual({
    stepId,
    status: 201,
    body: null,
  });
  lastPosition = r.body.position;
  return r.body.position;
}

const read = (path: string, as: TestCaller) => api.call('GET', path, { as });

// The scenario: every case the tests read is created here, through the command API.
let late: Created; // personnel reserve, astana, applicant A: registered three days late
let cancelled: Created; // personnel reserve, almaty, applicant B: cancelled
let completed: Created; // personnel reserve, astana, applicant A: every step to the extract
let testing: Created; // civil-service testing, almaty, applicant B
let lateRegisteredAt: number;

beforeAll(async () => {
  api = await startHarness({ READ_WAIT_MS: '700' });

  late = await submit('personnel-reserve', 'competition-recommended', 'astana', IIN_A, at('2015-09-15', '10:00'));
  lateRegisteredAt = await step(
    late,
    'documents-registered',
    staff('registry-clerk', 'astana'),
    at('2015-09-18', '10:00'),
    { incomingNumber: '04-117' },
  );

  cancelled = await submit('personnel-reserve', 'priority-graduates', 'almaty', IIN_B, at('2015-09-16', '11:00'));
  const cancel = await api.call('POST', `/api/cases/${cancelled.caseId}/cancel`, {
    as: applicant(IIN_B),
    body: { occurredAt: at('2015-09-16', '12:00'), reason: 'передумал' },
  });
  expect(cancel.status).toBe(201);
  cancelled.status = 'cancelled';

  completed = await submit('personnel-reserve', 'competition-recommended', 'astana', IIN_A, at('2015-10-05', '09:30'));
  await step(completed, 'documents-registered', staff('registry-clerk', 'astana'), at('2015-10-05', '11:00'), {
    incomingNumber: '04-200',
  });
  await step(completed, 'assigned-to-employee', staff('head', 'astana'), at('2015-10-05', '15:00'), {
    assigneeId: 'employee-7',
  });
  await step(completed, 'documents-reviewed', staff('employee', 'astana'), at('2015-10-06', '10:00'), {
    outcome: 'compliant',
  });
  await step(completed, 'order-drafted', staff('employee', 'astana'), at('2015-10-06', '12:00'));
  await step(completed, 'order-signed', staff('signatory', 'astana'), at('2015-10-07', '10:00'), {
    orderNumber: '125-к',
  });
  await step(completed, 'extract-issued', staff('employee', 'astana'), at('2015-10-07', '16:00'), {
    documentNumber: 'EX-77',
  });
  completed.status = 'completed';
  completed.assignee = 'employee-7';

  testing = await submit('civil-service-testing', undefined, 'almaty', IIN_B, at('2015-11-02', '09:00'));

  // For paging: three submissions at the very same instant (ties broken by case id) and a few more.
  for (const iin of [makeIin('770303', 3, 1), makeIin('770303', 3, 2), makeIin('770303', 3, 3)])
    await submit('personnel-reserve', 'competition-recommended', 'shymkent', iin, at('2015-10-20', '10:00'));
  for (const [i, day] of ['2015-08-20', '2015-12-01', '2016-01-15', '2016-03-10'].entries())
    await submit('personnel-reserve', 'priority-graduates', 'shymkent', makeIin('660606', 4, 50 + i), at(day, '09:15'));
}, 60_000);
afterAll(async () => api.close());

describe('GET /api/cases/:caseId', () => {
  it('reads its own write with ?after=<position>: the acts, the open steps with roles, labels and deadlines, what the caller may take', async () => {
    const r = await read(`/api/cases/${late.caseId}?after=${lateRegisteredAt}`, staff('head', 'astana'));
    expect(r.status).toBe(200);
    expect(r.body.position).toBeGreaterThanOrEqual(lateRegisteredAt);
    expect(r.headers.get('x-read-position')).toBe(String(r.body.position));
    expect(r.body).toMatchObject({
      caseId: late.caseId,
      service: {
        id: 'personnel-reserve',
        title: { ru: 'Зачисление в кадровый резерв административной государственной службы' },
      },
      version: { id: 'personnel-reserve/order-184-2015' },
      track: { id: 'competition-recommended' },
      channel: { id: 'portal', requested: 'portal' },
      unit: 'astana',
      status: 'open',
      result: null,
      assignee: null,
      revision: 1,
    });
    expect(r.body.acts).toEqual([
      expect.objectContaining({
        revision: 0,
        stepId: 'application-submitted',
        eventType: 'ApplicationSubmitted',
        eventLabel: { ru: 'Заявление подано', kk: 'Өтініш берілді' },
        occurredAt: utc(at('2015-09-15', '10:00')),
        backDated: true,
        actor: { id: 'applicant', name: 'Applicant', role: 'applicant' },
      }),
      expect.objectContaining({
        revision: 1,
        stepId: 'documents-registered',
        eventType: 'DocumentRegistered',
        occurredAt: utc(at('2015-09-18', '10:00')),
        backDated: true,
        recordedAt: expect.any(String),
        actor: expect.objectContaining({ id: 'registry-clerk-astana', role: 'registry-clerk', unit: 'astana' }),
      }),
    ]);
    const assignment = r.body.openSteps.find((s: { stepId: string }) => s.stepId === 'assigned-to-employee');
    expect(assignment).toMatchObject({
      label: { ru: 'Рассмотрение документов руководителем и отписание сотруднику' },
      eventType: 'AssignedToEmployee',
      roles: [{ id: 'head', label: { ru: 'Руководитель Управления/Отдела прохождения государственной службы' } }],
      // One working day from Tuesday 15 September: the end of Wednesday 16 September, long past now.
      deadlines: [
        { limitId: 'assignment', kind: 'working-days', deadline: utc('2015-09-17T00:00:00+06:00'), status: 'overdue' },
      ],
    });
    // The portal's refusal answers the filing: once the documents are registered it is no longer open (until).
    expect(r.body.openSteps.map((s: { stepId: string }) => s.stepId).sort()).toEqual([
      'application-cancelled',
      'assigned-to-employee',
    ]);
    expect(r.body.callerMayTake).toEqual(['assigned-to-employee']);
    const byApplicant = await read(`/api/cases/${late.caseId}`, applicant(IIN_A));
    expect(byApplicant.body.callerMayTake).toEqual(['application-cancelled']);
    expect((await read(`/api/cases/${late.caseId}`, staff('head', 'almaty'))).status).toBe(403);
  });

  it('shows a closed case with its status and result, and no open step', async () => {
    // After the scenario's last write: the reads below need the model to have projected all of it.
    const done = await read(`/api/cases/${completed.caseId}?after=${lastPosition}`, AUDITOR);
    expect(done.body).toMatchObject({
      status: 'completed',
      result: { id: 'reserve-enrolment-extract', kind: 'positive' },
      assignee: 'employee-7',
      closedAt: utc(at('2015-10-07', '16:00')),
      openSteps: [],
      callerMayTake: [],
    });
    expect(done.body.acts).toHaveLength(7);
    const gone = await read(`/api/cases/${cancelled.caseId}`, AUDITOR);
    expect(gone.body).toMatchObject({ status: 'cancelled', closedAt: utc(at('2015-09-16', '12:00')), openSteps: [] });
  });

  it("shows the IIN to the applicant, staff of the case's unit, auditors and admins; staff of another unit and another applicant get 403", async () => {
    const iinSeenBy = async (caller: TestCaller) => {
      const r = await read(`/api/cases/${late.caseId}`, caller);
      expect(r.status).toBe(200);
      return r.body.applicant;
    };
    for (const caller of [
      applicant(IIN_A),
      staff('registry-clerk', 'astana'),
      staff('employee', 'astana'),
      AUDITOR,
      ADMIN,
    ]) {
      expect({ caller: caller.sub, applicant: await iinSeenBy(caller) }).toEqual({
        caller: caller.sub,
        applicant: { iin: IIN_A, iinMasked: false, fullName: 'Серикова Айгерим' },
      });
    }
    // A clerk of unit A has no business reading unit B's applicants: not even their masked IIN and name.
    for (const caller of [staff('head', 'almaty'), staff('psc-operator', 'shymkent')]) {
      const r = await read(`/api/cases/${late.caseId}`, caller);
      expect({ caller: caller.sub, status: r.status, detail: r.body.detail }).toEqual({
        caller: caller.sub,
        status: 403,
        detail: `the caller reads only the cases of unit "${caller.unit}"`,
      });
      expect((await read(`/api/cases/${late.caseId}/sla`, caller)).status).toBe(403);
    }
    const other = await read(`/api/cases/${late.caseId}`, applicant(IIN_B));
    expect(other.status).toBe(403);
    expect(other.headers.get('content-type')).toMatch(/^application\/problem\+json/);
  });

  it('a view kept rendered stands until an open deadline passes: the same text just before it, overdue at it', async () => {
    const doc = (await (
      await api.app.infra.projections.readModels.collection<CaseDocument>('cases', 'cases')
    ).get(late.caseId))!;
    const version = caseVersion(catalog, doc.versionId);
    const head: Principal = { id: 'head-astana', name: 'Руководитель', roles: ['head'], unit: 'astana' };
    const now = new Date(utc(at('2015-09-16', '10:00')));
    const rendered = renderCaseView(doc, version, head, now);
    // The assignment's deadline, the end of Wednesday 16 September, is the latest it can stand.
    expect(rendered.validUntil).toBeGreaterThan(now.getTime());
    expect(rendered.validUntil).toBeLessThanOrEqual(Date.parse(utc('2015-09-17T00:00:00+06:00')));
    expect(renderCaseView(doc, version, head, new Date(rendered.validUntil - 1)).json).toBe(rendered.json);
    expect(renderCaseView(doc, version, head, new Date(rendered.validUntil)).json).not.toBe(rendered.json);
    // Past every open deadline, time alone changes nothing more.
    expect(renderCaseView(doc, version, head, new Date(utc(at('2016-06-01', '00:00')))).validUntil).toBe(Infinity);
  });

  it("a view read again is the same answer; the next read after a write shows it; callers never get each other's view", async () => {
    const views = api.app.app.get<symbol, CaseQueries>(CASE_QUERIES, { strict: false }).renderedViews!;
    const c = await submit('personnel-reserve', 'competition-recommended', 'astana', IIN_A, at('2015-09-22', '10:00'));
    const head = staff('head', 'astana');
    const elsewhere = staff('head', 'almaty');
    const first = await read(`/api/cases/${c.caseId}?after=${lastPosition}`, head);
    const hits = views.stats().hits;
    const again = await read(`/api/cases/${c.caseId}`, head);
    expect(views.stats().hits).toBe(hits + 1);
    expect(again.headers.get('content-type')).toBe('application/json; charset=utf-8');
    expect({ ...again.body, position: first.body.position }).toEqual(first.body);
    const other = await read(`/api/cases/${c.caseId}`, applicant(IIN_A));
    expect([first.body.applicant.iinMasked, other.body.applicant.iinMasked]).toEqual([false, false]);
    expect([first.body.callerMayTake, other.body.callerMayTake]).toEqual([[], ['application-cancelled']]);
    expect((await read(`/api/cases/${c.caseId}`, elsewhere)).status).toBe(403);
    expect((await read(`/api/cases/${c.caseId}`, applicant(IIN_B))).status).toBe(403);

    const position = await step(
      c,
      'documents-registered',
      staff('registry-clerk', 'astana'),
      at('2015-09-22', '11:00'),
      { incomingNumber: '04-301' },
    );
    const changed = await read(`/api/cases/${c.caseId}?after=${position}`, head);
    expect(changed.body).toMatchObject({ revision: 1, callerMayTake: ['assigned-to-employee'] });
    expect(changed.body.acts).toHaveLength(2);
    expect((await read(`/api/cases/${c.caseId}`, applicant(IIN_A))).body).toMatchObject({
      revision: 1,
      callerMayTake: ['application-cancelled'],
    });
  });

  it("a view whose read of the applicant's data cannot be recorded is not answered and not kept; the next read records it and answers", async () => {
    // An applicant of their own: the other tests' lists of IIN_A's and IIN_B's cases stay as they are.
    const c = await submit(
      'personnel-reserve',
      'competition-recommended',
      'astana',
      makeIin('700707', 3, 77),
      at('2015-09-23', '10:00'),
    );
    const vault = api.app.infra.personalData;
    const views = api.app.app.get<symbol, CaseQueries>(CASE_QUERIES, { strict: false }).renderedViews!;
    const reader = staff('head', 'astana');
    const record = jest.spyOn(vault, 'recordRead');
    try {
      record.mockRejectedValueOnce(disclosureNotRecorded('the test refused it'));
      const refused = await read(`/api/cases/${c.caseId}?after=${lastPosition}`, reader);
      expect({
        status: refused.status,
        type: refused.body.type,
        name: JSON.stringify(refused.body).includes('Серикова'),
      }).toEqual({
        status: 503,
        type: 'https://reglament.kz/problems/disclosure-not-recorded',
        name: false,
      });
      const hits = views.stats().hits;
      const answered = await read(`/api/cases/${c.caseId}`, reader);
      expect(answered.status).toBe(200);
      expect(answered.body.applicant.fullName).toBe('Серикова Айгерим');
      // Rendered again and recorded this time: the refused read left no view to serve.
      expect(views.stats().hits).toBe(hits);
      expect(record.mock.calls.map(([principal, cases, purpose]) => [principal.id, cases, purpose])).toEqual([
        ['head-astana', [c.caseId], 'case-view'],
        ['head-astana', [c.caseId], 'case-view'],
      ]);
    } finally {
      record.mockRestore();
    }
  });

  it('an unknown case is 404; a malformed id is 400 naming path.caseId; an unknown parameter is 400', async () => {
    const unknown = await read('/api/cases/0b7f2a0e-1c1d-4d7e-9a55-1234567890ab', AUDITOR);
    expect(unknown.status).toBe(404);
    expect(unknown.body.errors).toEqual([{ field: 'path.caseId', problem: 'no such case' }]);
    const bad = await read('/api/cases/not-a-case?after=x', AUDITOR);
    expect(bad.status).toBe(400);
    expect(bad.headers.get('content-type')).toMatch(/^application\/problem\+json/);
    expect(bad.body.errors.map((e: { field: string }) => e.field)).toEqual(['path.caseId', 'query.after']);
    expect(bad.body.errors[1]).toMatchObject({
      problem: '"x" is not a whole number',
      allowed: expect.stringContaining('whole number'),
    });
    const typo = await read(`/api/cases/${late.caseId}?aftr=3`, AUDITOR);
    expect(typo.status).toBe(400);
    expect(typo.body.errors).toEqual([
      { field: 'query.aftr', problem: 'is not a parameter of this endpoint', allowed: 'after' },
    ]);
  });
});

describe('read-your-writes', () => {
  it('a write is visible to a read that names its position, immediately', async () => {
    const c = await submit('personnel-reserve', 'competition-recommended', 'astana', IIN_A, at('2015-09-21', '10:00'));
    const position = await step(
      c,
      'documents-registered',
      staff('registry-clerk', 'astana'),
      at('2015-09-21', '11:00'),
      { incomingNumber: '04-300' },
    );
    const r = await read(`/api/cases/${c.caseId}?after=${position}`, staff('head', 'astana'));
    expect(r.status).toBe(200);
    expect(r.body).toMatchObject({ revision: 1, callerMayTake: ['assigned-to-employee'] });
    expect(Number(r.headers.get('x-read-position'))).toBeGreaterThanOrEqual(position);
  });

  it('a position the model does not reach in time is 503 problem+json with Retry-After, on every read endpoint', async () => {
    const head = await api.app.infra.eventLog.headPosition();
    // The model is held one event short of the head for this test (its position as the store reports it), as a model
    // still catching up is: a read naming the head waits for it, then is told to retry.
    const held = jest.spyOn(api.app.infra.projections.readModels, 'position').mockResolvedValue(head - 1);
    try {
      for (const path of [
        `/api/cases/${late.caseId}?after=${head}`,
        `/api/cases?after=${head}`,
        `/api/cases/${late.caseId}/sla?after=${head}`,
      ]) {
        const started = Date.now();
        const r = await read(path, AUDITOR);
        expect({ path, status: r.status }).toEqual({ path, status: 503 });
        expect(Date.now() - started).toBeGreaterThanOrEqual(600);
        expect(r.headers.get('content-type')).toMatch(/^application\/problem\+json/);
        expect(r.headers.get('retry-after')).toBe('1');
        expect(r.body).toMatchObject({
          status: 503,
          projection: 'cases',
          requestedPosition: head,
          reachedPosition: head - 1,
        });
      }
    } finally {
      held.mockRestore();
    }
  });

  it('a position past the log’s head is 400 naming query.after and the head at once: no wait can reach it (fuzzer finding: it was held, then 503)', async () => {
    const head = await api.app.infra.eventLog.headPosition();
    for (const path of [
      `/api/cases/${late.caseId}?after=${head + 1}`,
      `/api/cases?after=${head + 1_000_000}`,
      `/api/cases/${late.caseId}/sla?after=9007199254740991`,
    ]) {
      const r = await read(path, AUDITOR);
      expect({ path, status: r.status }).toEqual({ path, status: 400 });
      // The head named is the log's then (a first read of the day is itself recorded, which moves it).
      expect(r.body.errors).toEqual([
        {
          field: 'query.after',
          problem: expect.stringMatching(/ is past the log's head \(\d+\): no event has that position yet$/),
          allowed: expect.stringMatching(/^a position a command or a read answered, at most \d+$/),
        },
      ]);
      expect(Number(/head \((\d+)\)/.exec(r.body.errors[0].problem)![1])).toBeGreaterThanOrEqual(head);
    }
  });
});

describe('GET /api/cases', () => {
  type Row = { caseId: string; applicant: { iin: string; iinMasked: boolean }; status: string; submittedAt: string };
  const newestFirst = (a: Created, b: Created) =>
    b.submittedAt.localeCompare(a.submittedAt) || b.caseId.localeCompare(a.caseId);
  const ids = (rows: Row[]) => rows.map((r) => r.caseId);

  async function all(query: string, caller: TestCaller = AUDITOR): Promise<Row[]> {
    const r = await read(`/api/cases?after=${lastPosition}&limit=500${query}`, caller);
    expect(r.status).toBe(200);
    expect(r.body.nextCursor).toBeNull();
    return r.body.cases;
  }

  it('filters by service, status, unit, assignee, applicant IIN and submission period, newest submission first', async () => {
    const expectIds = (predicate: (c: Created) => boolean) =>
      created
        .filter(predicate)
        .sort(newestFirst)
        .map((c) => c.caseId);
    expect(ids(await all(''))).toEqual(expectIds(() => true));
    expect(ids(await all('&serviceId=civil-service-testing'))).toEqual([testing.caseId]);
    expect(ids(await all('&status=cancelled'))).toEqual([cancelled.caseId]);
    expect(ids(await all('&status=completed'))).toEqual([completed.caseId]);
    expect(ids(await all('&status=open&serviceId=personnel-reserve'))).toEqual(
      expectIds((c) => c.status === 'open' && c.serviceId === 'personnel-reserve'),
    );
    expect(ids(await all('&unit=almaty'))).toEqual(expectIds((c) => c.unit === 'almaty'));
    expect(ids(await all('&assignee=employee-7'))).toEqual([completed.caseId]);
    expect(ids(await all(`&applicantIin=${IIN_B}`))).toEqual(expectIds((c) => c.iin === IIN_B));
    // Dates are whole Asia/Almaty days, both ends inclusive; instants are exact.
    const september = (c: Created) =>
      c.submittedAt >= utc('2015-09-01T00:00:00+06:00') && c.submittedAt < utc('2015-10-01T00:00:00+06:00');
    expect(ids(await all('&submittedFrom=2015-09-01&submittedTo=2015-09-30'))).toEqual(expectIds(september));
    expect(expectIds(september).length).toBeGreaterThanOrEqual(3);
    expect(
      ids(
        await all(
          `&submittedFrom=${encodeURIComponent(at('2015-09-16', '11:00'))}&submittedTo=${encodeURIComponent(at('2015-10-05', '09:30'))}`,
        ),
      ),
    ).toEqual(
      expectIds(
        (c) => c.submittedAt >= utc(at('2015-09-16', '11:00')) && c.submittedAt <= utc(at('2015-10-05', '09:30')),
      ),
    );
  });

  it('an applicant sees only their own cases, whatever they filter by', async () => {
    const own = await all('', applicant(IIN_B));
    expect(ids(own).sort()).toEqual(
      created
        .filter((c) => c.iin === IIN_B)
        .map((c) => c.caseId)
        .sort(),
    );
    expect(own.every((row) => row.applicant.iin === IIN_B && !row.applicant.iinMasked)).toBe(true);
    const lookup = await read(`/api/cases?applicantIin=${IIN_A}`, applicant(IIN_B));
    expect({ status: lookup.status, type: lookup.body.type, detail: lookup.body.detail }).toEqual({
      status: 403,
      type: expect.stringMatching(/forbidden$/),
      detail: expect.stringMatching(/only by their own IIN/),
    });
    expect(await all('&unit=astana', applicant(IIN_B))).toEqual([]);
  });

  it("lists to staff only their own unit's cases, with the IIN; another unit is 403", async () => {
    const rows = await all('', staff('head', 'almaty'));
    expect(ids(rows).sort()).toEqual(
      created
        .filter((c) => c.unit === 'almaty')
        .map((c) => c.caseId)
        .sort(),
    );
    for (const row of rows) {
      const c = created.find((x) => x.caseId === row.caseId)!;
      expect({ caseId: c.caseId, applicant: row.applicant }).toEqual({
        caseId: c.caseId,
        applicant: expect.objectContaining({ iin: c.iin, iinMasked: false }),
      });
    }
    const elsewhere = await read('/api/cases?unit=astana', staff('head', 'almaty'));
    expect({ status: elsewhere.status, detail: elsewhere.body.detail }).toEqual({
      status: 403,
      detail: expect.stringMatching(/may not list the cases of unit "astana"/),
    });
    // The IIN filter, the brute-force lookup of the issue, finds nothing outside the caller's unit.
    expect(await all(`&applicantIin=${IIN_A}`, staff('head', 'almaty'))).toEqual([]);
  });

  it('pages with an opaque cursor: no duplicate, no gap, ties on the same instant included', async () => {
    const seen: string[] = [];
    let cursor: string | null = null;
    let pages = 0;
    do {
      const r = await read(`/api/cases?limit=2${cursor ? `&cursor=${cursor}` : ''}`, AUDITOR);
      expect(r.status).toBe(200);
      expect(r.body.cases.length).toBeLessThanOrEqual(2);
      expect(r.body.limit).toBe(2);
      seen.push(...ids(r.body.cases));
      cursor = r.body.nextCursor;
      pages++;
    } while (cursor !== null && pages < 50);
    expect(seen).toEqual(
      created
        .slice()
        .sort(newestFirst)
        .map((c) => c.caseId),
    );
    expect(new Set(seen).size).toBe(created.length);
    expect(pages).toBe(Math.ceil(created.length / 2));
    const defaults = await read('/api/cases', AUDITOR);
    expect(defaults.body.limit).toBe(50);
  });

  it('answers bad parameters with 400 naming each one, what is wrong and what is allowed', async () => {
    const cases: [string, string, RegExp][] = [
      ['limit=0', 'query.limit', /from 1 to 500/],
      ['limit=501', 'query.limit', /from 1 to 500/],
      ['limit=ten', 'query.limit', /whole number/],
      ['cursor=bm90LWEtY3Vyc29y', 'query.cursor', /nextCursor/],
      ['cursor=%24%24', 'query.cursor', /nextCursor/],
      ['status=closed', 'query.status', /open, completed, refused, cancelled/],
      ['serviceId=passports', 'query.serviceId', /personnel-reserve/],
      ['applicantIin=123456789012', 'query.applicantIin', /check digit/],
      ['submittedFrom=2015-02-30', 'query.submittedFrom', /date/],
      ['submittedTo=2015-09-30T10:00', 'query.submittedTo', /offset/],
      ['submittedFrom=2015-10-01&submittedTo=2015-09-01', 'query.submittedTo', /not before submittedFrom/],
      ['after=-1', 'query.after', /whole number from 0/],
      ['unit=', 'query.unit', /^a unit id: .*1–100 characters/],
      ['unit=%E2%80%AEanatsa', 'query.unit', /^a unit id/],
      ['limit=5&limit=6', 'query.limit', /one value/],
      ['page=2', 'query.page', /limit, cursor/],
    ];
    for (const [query, field, allowed] of cases) {
      const r = await read(`/api/cases?${query}`, AUDITOR);
      expect({ query, status: r.status, type: r.headers.get('content-type') }).toEqual({
        query,
        status: 400,
        type: expect.stringMatching(/^application\/problem\+json/),
      });
      expect({ query, errors: r.body.errors }).toEqual({
        query,
        errors: [
          expect.objectContaining({ field, problem: expect.any(String), allowed: expect.stringMatching(allowed) }),
        ],
      });
    }
    const two = await read('/api/cases?limit=0&status=closed', AUDITOR);
    expect(two.body.errors.map((e: { field: string }) => e.field).sort()).toEqual(['query.limit', 'query.status']);
  });
});

describe('GET /api/cases/:caseId/sla', () => {
  type SlaRow = {
    stepId: string;
    limitId: string;
    status: string;
    deadline: string | null;
    completedAt: string | null;
    alternative: { deadline: string | null; status: string } | null;
  };
  async function sla(c: Created, asOf: string | null, caller: TestCaller = AUDITOR): Promise<SlaRow[]> {
    const r = await read(`/api/cases/${c.caseId}/sla${asOf ? `?asOf=${encodeURIComponent(asOf)}` : ''}`, caller);
    expect(r.status).toBe(200);
    expect(r.headers.get('x-read-position')).toBe(String(r.body.position));
    return r.body.rows;
  }
  const row = (rows: SlaRow[], stepId: string, limitId: string) =>
    rows.find((r) => r.stepId === stepId && r.limitId === limitId);
  type StoredRow = {
    stepId: string;
    limitId: string;
    deadline: string | null;
    completedAt: string | null;
    settled: string | null;
  } & Record<string, unknown>;
  /** What the compliance projection keeps of a case: the rows its rollups, overdue list and drill-down count. */
  async function complianceRows(
    caseId: string,
  ): Promise<{ state: { status: string } & Record<string, unknown>; rows: StoredRow[] }> {
    const models = api.app.infra.projections.readModels;
    await models.waitFor('compliance', await api.app.infra.eventLog.headPosition(), 5000);
    return (await (
      await models.collection<{ _id: string; state: { status: string }; rows: StoredRow[] }>('compliance', 'case-rows')
    ).get(caseId))!;
  }

  it('an open step before its deadline is open; past it, overdue; a late act is breached, a timely one met', async () => {
    const before = await sla(late, at('2015-09-16', '12:00'));
    // Registration within one working day of receipt (Tue 15 Sep): until the end of Wed 16 Sep.
    expect(row(before, 'documents-registered', 'registration')).toMatchObject({
      status: 'open',
      deadline: utc('2015-09-17T00:00:00+06:00'),
      completedAt: null,
    });
    expect(row(before, 'assigned-to-employee', 'assignment')).toMatchObject({ status: 'open' });
    expect(row(before, 'application-submitted', 'filing')).toMatchObject({
      status: 'met',
      completedAt: utc(at('2015-09-15', '10:00')),
    });

    const after = await sla(late, at('2015-09-20', '12:00'));
    expect(row(after, 'documents-registered', 'registration')).toMatchObject({
      status: 'breached',
      completedAt: utc(at('2015-09-18', '10:00')),
      deadline: utc('2015-09-17T00:00:00+06:00'),
    });
    expect(row(after, 'assigned-to-employee', 'assignment')).toMatchObject({ status: 'overdue', completedAt: null });

    const timely = await sla(completed, null);
    expect(row(timely, 'documents-registered', 'registration')).toMatchObject({ status: 'met' });
    expect(timely.every((r) => r.status === 'met' || r.status === 'breached')).toBe(true);
  });

  it('the extract-issued row of the personnel reserve carries the other reading of the contradictory text', async () => {
    const rows = await sla(late, at('2015-09-23', '12:00'));
    const cumulative = row(rows, 'extract-issued', 'cumulative-from-receipt-a');
    // p.7: 5 working days from receipt (16, 17, 18, 21, 22 Sep); p.5: 3 + 3 + 1 = 7 (… 23, then 25: 24 Sep 2015 is Kurban Ait).
    expect(cumulative).toMatchObject({
      deadline: utc('2015-09-23T00:00:00+06:00'),
      status: 'overdue',
      alternative: expect.objectContaining({
        kind: 'working-days',
        deadline: utc('2015-09-26T00:00:00+06:00'),
        status: 'open',
      }),
    });
    // The priority-graduates total does not apply on this track.
    expect(row(rows, 'extract-issued', 'cumulative-from-receipt-b')).toBeUndefined();
    expect(row(rows, 'documents-registered', 'registration')!.alternative).toBeNull();
  });

  it("without asOf the rows are as of now, and agree with the rows the dashboards read (the compliance projection's memory of the case)", async () => {
    const now = await sla(late, null);
    const stored = await complianceRows(late.caseId);
    expect(stored.rows.map((d) => `${d.stepId}/${d.limitId}`).sort()).toEqual(
      now.map((r) => `${r.stepId}/${r.limitId}`).sort(),
    );
    for (const doc of stored.rows) {
      const live = row(now, doc.stepId, doc.limitId)!;
      expect({ deadline: doc.deadline, completedAt: doc.completedAt }).toEqual({
        deadline: live.deadline,
        completedAt: live.completedAt,
      });
      // Open rows are decided when read; settled ones are stored.
      expect(doc.settled).toBe(live.status === 'met' || live.status === 'breached' ? live.status : null);
      expect(doc).toMatchObject({ month: '2015-09' });
    }
    // The rows count in the case's grouping, which the state stored beside them holds (version 6 of the model).
    expect(stored.state).toMatchObject({
      serviceId: 'personnel-reserve',
      versionId: 'personnel-reserve/order-184-2015',
      trackId: 'competition-recommended',
      unit: 'astana',
      channel: 'portal',
      assignee: null,
    });
  });

  it('a case cancelled an hour after filing keeps only the rows settled by then: the open ones it had are gone from the rows the dashboards read', async () => {
    const rows = await sla(cancelled, null);
    expect(rows.map((r) => `${r.stepId}/${r.limitId}:${r.status}`)).toEqual(['application-submitted/filing:met']);
    const stored = await complianceRows(cancelled.caseId);
    expect(stored.state.status).toBe('cancelled');
    expect(stored.rows.map((d) => ({ id: `${d.stepId}/${d.limitId}`, settled: d.settled }))).toEqual([
      { id: 'application-submitted/filing', settled: 'met' },
    ]);
    // While it was open, its registration clock was running.
    const whileOpen = await sla(cancelled, at('2015-09-16', '11:30'));
    expect(row(whileOpen, 'documents-registered', 'registration')).toMatchObject({ status: 'open' });
  });

  it('refuses an asOf before the submission or not an instant with 400 naming query.asOf; an applicant reads only their own', async () => {
    const early = await read(
      `/api/cases/${late.caseId}/sla?asOf=${encodeURIComponent(at('2015-09-15', '09:59'))}`,
      AUDITOR,
    );
    expect(early.status).toBe(400);
    expect(early.body.errors).toEqual([
      expect.objectContaining({
        field: 'query.asOf',
        problem: expect.stringContaining('before the case was submitted'),
        allowed: expect.stringContaining(utc(at('2015-09-15', '10:00'))),
      }),
    ]);
    const bad = await read(`/api/cases/${late.caseId}/sla?asOf=yesterday`, AUDITOR);
    expect(bad.status).toBe(400);
    expect(bad.body.errors).toEqual([
      expect.objectContaining({ field: 'query.asOf', allowed: expect.stringContaining('offset') }),
    ]);
    expect((await read(`/api/cases/${late.caseId}/sla`, applicant(IIN_B))).status).toBe(403);
    expect((await read(`/api/cases/${late.caseId}/sla`, applicant(IIN_A))).status).toBe(200);
  });
});

describe('the cases projection', () => {
  it('folds a full case of every version and track without stopping', async () => {
    for (const [name, version, trackId] of versionTracks(catalog.versions)) {
      const day = filingDay(version);
      const iin = makeIin('800505', 3, 300 + created.length);
      const first = version.steps.find((s) => s.after.length === 0)!;
      const firstRoles = rolesOn(first, trackId);
      const submitter = firstRoles.includes('applicant') ? applicant(iin) : callerFor(firstRoles[0]!, 'astana', iin);
      const channel = version.channels.some((c) => c.id === 'portal') ? 'portal' : 'office';
      const r = await api.call('POST', '/api/cases', {
        as: submitter,
        body: {
          serviceId: version.serviceId,
          trackId,
          channel,
          unit: 'astana',
          applicant: { iin, fullName: 'Тестов Тест' },
          occurredAt: at(day, '09:00'),
        },
      });
      expect({ name, status: r.status }).toEqual({ name, status: 201 });
      const caseId = r.body.caseId as string;
      created.push({
        caseId,
        serviceId: version.serviceId,
        unit: 'astana',
        iin,
        submittedAt: utc(at(day, '09:00')),
        status: 'completed',
        assignee: null,
      });
      let minute = 0;
      let position = r.body.position as number;
      for (const s of mainPath(version, trackId).slice(1)) {
        const roles = rolesOn(s, trackId);
        for (const role of s.requiresAll ? roles : [roles.find((x) => x !== 'applicant') ?? roles[0]!]) {
          minute += 10;
          const t = await api.call('POST', `/api/cases/${caseId}/steps/${s.id}`, {
            as: callerFor(role, 'astana', iin),
            body: {
              occurredAt: at(
                day,
                `${String(10 + Math.floor(minute / 60)).padStart(2, '0')}:${String(minute % 60).padStart(2, '0')}`,
              ),
              data: validStepData(version, s, trackId, day),
            },
          });
          expect({ name, step: s.id, status: t.status }).toEqual({ name, step: s.id, status: 201 });
          position = t.body.position;
        }
      }
      const view = await read(`/api/cases/${caseId}?after=${position}`, AUDITOR);
      expect({ name, status: view.body.status, openSteps: view.body.openSteps }).toEqual({
        name,
        status: expect.stringMatching(/^(completed|refused)$/),
        openSteps: [],
      });
      expect((await read(`/api/cases/${caseId}/sla`, AUDITOR)).status).toBe(200);
    }
    lastPosition = await api.app.infra.eventLog.headPosition();
    const health = await fetch(`${api.url}/health`).then(
      (h) => h.json() as Promise<{ projections: { name: string; state: string; error: unknown }[] }>,
    );
    expect(health.projections.find((p) => p.name === 'cases')).toMatchObject({ state: 'live', error: null });
  }, 60_000);

  it("a cohort date beyond the calendar's years is refused at filing, naming it, and nothing is written", async () => {
    const iin = makeIin('791111', 3, 7);
    const head = await api.app.infra.eventLog.headPosition();
    const r = await api.call('POST', '/api/cases', {
      as: staff('responsible-person', 'astana'),
      body: {
        serviceId: 'personnel-reserve',
        trackId: 'corps-a-selection',
        channel: 'portal',
        unit: 'astana',
        applicant: { iin, fullName: 'Тестов Тест' },
        occurredAt: at('2015-09-15', '10:00'),
        cohortDates: { 'document-acceptance-end': '2099-01-01' },
      },
    });
    expect(r.status).toBe(400);
    expect(r.body.errors).toEqual([
      expect.objectContaining({
        field: 'cohortDates.document-acceptance-end',
        problem: expect.stringMatching(/2099-01-01 is outside/),
      }),
    ]);
    expect(await api.app.infra.eventLog.headPosition()).toBe(head);
  });

  it('a rebuild from the first event writes the very same documents, and readers switch to it', async () => {
    const models = api.app.infra.projections.readModels;
    await models.waitFor('cases', await api.app.infra.eventLog.headPosition(), 5000);
    const snapshot = async () => {
      const byId = (a: ReadDocument, b: ReadDocument) => a._id.localeCompare(b._id);
      return {
        cases: (await (await models.collection<CaseDocument>('cases', 'cases')).find({})).sort(byId),
      };
    };
    const before = await snapshot();
    expect(before.cases.length).toBe(created.length);
    expect(before.cases.flatMap((c) => c.sla).length).toBeGreaterThan(created.length);
    const [status] = (await models.status()).filter((s) => s.name === 'cases');
    const build = await api.app.infra.projections.rebuild('cases');
    expect(build.generation).toBe(status!.generation! + 1);
    expect((await models.status()).find((s) => s.name === 'cases')).toMatchObject({
      generation: build.generation,
      state: 'live',
    });
    expect(await snapshot()).toEqual(before);
    const again = await read(`/api/cases/${late.caseId}`, AUDITOR);
    expect(again.body).toMatchObject({ caseId: late.caseId, revision: 1 });
  }, 60_000);
});

describe('a read model still being built', () => {
  it('is not served: 503 problem+json with Retry-After', async () => {
    const idle = await startHarness({ PROJECTIONS: 'off' });
    try {
      for (const path of [
        '/api/cases',
        '/api/cases/0b7f2a0e-1c1d-4d7e-9a55-1234567890ab',
        '/api/cases/0b7f2a0e-1c1d-4d7e-9a55-1234567890ab/sla',
      ]) {
        const r = await idle.call('GET', path, { as: AUDITOR });
        expect({ path, status: r.status }).toEqual({ path, status: 503 });
        expect(r.headers.get('retry-after')).toBe('1');
        expect(r.body).toMatchObject({ title: 'The read model is being built', projection: 'cases' });
      }
    } finally {
      await idle.close();
    }
  });
});
