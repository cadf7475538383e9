/**
 * Deadline warnings and breaches over HTTP: a real API on a fresh data directory; the scheduler runs in the test on
 * the API's own event log with an injected clock, so what it records is exactly what a running one would at that time.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startHarness, makeIin, type ApiHarness } from '../support/api-harness';
import { callerFor } from '../support/case-walk';
import { DeadlineScheduler } from '../../src/modules/deadline-alerts/scheduler/deadline-scheduler';
import { TimerStore } from '../../src/modules/deadline-alerts/scheduler/timer-store';
import { LogChainVerifier } from '../../src/modules/audit/domain/log-verification';

const UNIT = 'astana';
let api: ApiHarness;
let indexDir: string;
let store: TimerStore;
let now = new Date('2016-03-06T11:00:00+06:00');
let scheduler: DeadlineScheduler;
const iin = makeIin('880101', 3, 501);
let caseId: string;
let filedAt = 0;

beforeAll(async () => {
  api = await startHarness();
  indexDir = mkdtempSync(join(tmpdir(), 'deadline-index-'));
  store = new TimerStore(indexDir);
  scheduler = new DeadlineScheduler({
    log: api.app.infra.eventLog,
    catalog: api.app.infra.reference.catalog,
    calendar: api.app.infra.reference.calendar,
    store,
    clock: () => now,
  });
  const filed = await api.call('POST', '/api/cases', {
    as: callerFor('applicant', UNIT, iin),
    body: {
      serviceId: 'personnel-reserve',
      trackId: 'competition-recommended',
      channel: 'portal',
      unit: UNIT,
      applicant: { iin, fullName: 'Жумабаева Дана' },
      occurredAt: '2016-03-06T11:00:00+06:00',
    },
  });
  expect(filed.status).toBe(201);
  caseId = filed.body.caseId;
  filedAt = filed.body.position;
  // The scheduler was down from the filing until 20:00 on Wednesday 9 March: both warnings of the two 1-working-day
  // limits passed meanwhile (12:00 and 19:12 that day, past the transferred day off and the holiday).
  now = new Date('2016-03-09T20:00:00+06:00');
  await scheduler.tick();
});

afterAll(async () => {
  store.close();
  rmSync(indexDir, { recursive: true, force: true });
  await api.close();
});

describe("deadline warnings in a case's history", () => {
  it("200: an auditor sees the acts and, in the log's order, when the system knew each warning, labelled in Russian and Kazakh", async () => {
    const history = await api.call('GET', `/api/cases/${caseId}/history`, { as: callerFor('auditor', 'audit', iin) });
    expect(history.status).toBe(200);
    const types = history.body.events.map((e: { type: string }) => e.type);
    expect(types).toEqual([
      'ApplicationSubmitted',
      'DeadlineApproaching',
      'DeadlineApproaching',
      'DeadlineApproaching',
      'DeadlineApproaching',
    ]);
    const warning = history.body.events[1];
    expect(warning.streamId).toBe(`deadlines-${caseId}`);
    expect(warning.label).toEqual({ ru: 'Срок на исходе', kk: 'Мерзімнің өтуіне аз қалды' });
    expect(warning.citation.ru).toMatch(/^приказ 184, прил\. 2, п\. 7/);
    expect(warning.data).toMatchObject({
      threshold: 50,
      late: true,
      lateByMs: 8 * 3_600_000,
      dueAt: new Date('2016-03-09T12:00:00+06:00').toISOString(),
      recordedAt: now.toISOString(),
    });
    expect(warning.metadata).toMatchObject({ actor: { id: 'system:deadline-scheduler', role: 'system' }, unit: UNIT });
  });

  it('200: the history filters by the new types; 400 names them among those allowed for an unknown one', async () => {
    const auditor = callerFor('auditor', 'audit', iin);
    now = new Date('2016-03-10T00:00:05+06:00');
    await scheduler.tick();
    const breaches = await api.call('GET', `/api/cases/${caseId}/history?type=DeadlineBreached`, { as: auditor });
    expect(breaches.status).toBe(200);
    expect(breaches.body.events.map((e: { data: { stepId: string } }) => e.data.stepId).sort()).toEqual([
      'assigned-to-employee',
      'documents-registered',
    ]);
    expect(breaches.body.events[0].label.ru).toBe('Срок нарушен');
    const bad = await api.call('GET', `/api/cases/${caseId}/history?type=DeadlineMissed`, { as: auditor });
    expect(bad.status).toBe(400);
    expect(bad.body.errors[0].allowed).toMatch(/DeadlineApproaching, DeadlineBreached/);
  });

  it('the deadlines stream is sealed and chained: verifying the whole log checks it with the acts', async () => {
    const verifier = new LogChainVerifier();
    const events = await api.app.infra.eventLog.readAll();
    for (const event of events) verifier.add(event);
    const report = verifier.report();
    expect(report.broken).toEqual([]);
    // Every stream is chained: the case, its six warnings and breaches, the version pin and the auditors' access log.
    expect(events.filter((e) => e.streamId.startsWith('deadlines-'))).toHaveLength(6);
    expect({ sealed: report.sealedEvents, unsealedStreams: report.unsealedStreams }).toEqual({
      sealed: events.length,
      unsealedStreams: 0,
    });
  });
});

describe('at risk, for people', () => {
  const head = callerFor('head', UNIT, iin);

  it("200: a head sees their unit's acts past a warning, with the working time left and whether they fall due today", async () => {
    // 13:00 on Wednesday 9 March: past the 50 % warning (12:00) of both 1-working-day limits, due at 24:00 the same day.
    const r = await api.call(
      'GET',
      `/api/compliance/at-risk?after=${filedAt}&asOf=${encodeURIComponent('2016-03-09T13:00:00+06:00')}`,
      { as: head },
    );
    expect(r.status).toBe(200);
    expect(r.body.rows.map((row: { stepId: string }) => row.stepId).sort()).toEqual([
      'assigned-to-employee',
      'documents-registered',
    ]);
    expect(r.body.rows[0]).toMatchObject({
      caseId,
      unit: UNIT,
      threshold: 50,
      atRisk: true,
      dueToday: true,
      timeLeft: { unit: 'working-hours', value: 11 },
    });
    expect(r.body.rows[0].citation.kk).toMatch(/^184 бұйрық, 2-қосымша/);
    const later = await api.call(
      'GET',
      `/api/compliance/at-risk?asOf=${encodeURIComponent('2016-03-09T20:00:00+06:00')}`,
      { as: head },
    );
    expect(later.body.rows[0]).toMatchObject({ threshold: 80, timeLeft: { unit: 'working-hours', value: 4 } });
    const before = await api.call(
      'GET',
      `/api/compliance/at-risk?asOf=${encodeURIComponent('2016-03-08T12:00:00+06:00')}`,
      { as: head },
    );
    expect(before.body.rows).toEqual([]);
  });

  it("200: another unit's head sees none of them; 403 when asking for that unit; auditors see every unit", async () => {
    const asOf = encodeURIComponent('2016-03-09T13:00:00+06:00');
    const other = callerFor('head', 'almaty', iin);
    expect((await api.call('GET', `/api/compliance/at-risk?asOf=${asOf}`, { as: other })).body.rows).toEqual([]);
    expect((await api.call('GET', `/api/compliance/at-risk?asOf=${asOf}&unit=${UNIT}`, { as: other })).status).toBe(
      403,
    );
    expect(
      (await api.call('GET', `/api/compliance/at-risk?asOf=${asOf}`, { as: callerFor('auditor', 'audit', iin) })).body
        .total,
    ).toBe(2);
  });

  it('200: the worklist says what is overdue, at risk and due today, with counts over the whole list', async () => {
    const r = await api.call('GET', `/api/worklist?after=${filedAt}`, { as: callerFor('registry-clerk', UNIT, iin) });
    expect(r.status).toBe(200);
    const item = r.body.items.find((i: { caseId: string }) => i.caseId === caseId);
    // Its deadline passed in 2016: overdue, so neither at risk nor due today, and no time left.
    expect(item).toMatchObject({ overdue: true, atRisk: false, dueToday: false, threshold: 80, timeLeft: null });
    expect(r.body.counts).toEqual({ dueToday: 0, atRisk: 0, overdue: 1 });
  });
});

describe('the scheduler where the projections run', () => {
  it("an inline API's projection process records the breaches of a case whose deadlines passed long ago, late and by how much", async () => {
    const live = await startHarness({ DEADLINE_SCHEDULER: 'on', DEADLINE_POLL_MS: '50' });
    try {
      const applicant = makeIin('880101', 3, 777);
      const filed = await live.call('POST', '/api/cases', {
        as: callerFor('applicant', UNIT, applicant),
        body: {
          serviceId: 'personnel-reserve',
          trackId: 'competition-recommended',
          channel: 'portal',
          unit: UNIT,
          applicant: { iin: applicant, fullName: 'Омарова Сауле' },
          occurredAt: '2016-03-06T11:00:00+06:00',
        },
      });
      expect(filed.status).toBe(201);
      const stream = `deadlines-${filed.body.caseId}`;
      let breaches: Array<{ data: { late: boolean; lateByMs: number } }> = [];
      // Waits for the other process, however long it takes (the test's own timeout bounds it); asserts no duration.
      while (breaches.length < 2) {
        breaches = (await live.app.infra.eventLog.readStream(stream)).filter(
          (e) => e.type === 'DeadlineBreached',
        ) as never;
        if (breaches.length < 2) await new Promise((resolve) => setTimeout(resolve, 50));
      }
      for (const breach of breaches) expect(breach.data).toMatchObject({ late: true, lateByMs: expect.any(Number) });
      expect(breaches[0]!.data.lateByMs).toBeGreaterThan(365 * 24 * 3_600_000);
      const metrics = await live.call('GET', '/metrics');
      expect(metrics.body).toMatch(/^reglament_deadline_open_cases \d+$/m);
      expect(metrics.body).toMatch(/^reglament_deadline_lag_seconds [\d.]+$/m);
    } finally {
      await live.close();
    }
  });
});
