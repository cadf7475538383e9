/**
 * Issue 14.6 on the real server and files: who reads which cases. The attack was a clerk of another unit
 * brute-forcing `?applicantIin=` against a masked IIN and a full name (202 queries); it now meets a 403 for the
 * other unit's case, a list scoped to the caller's own unit, and a per-caller budget of IIN lookups (429).
 */
import { maskIin } from '../../src/modules/identity/domain/iin';
import type { SqliteReadStore } from '../../src/modules/read-store/sqlite/sqlite-read-store';
import { makeIin, startHarness, type ApiHarness, type TestCaller } from '../support/api-harness';

const at = (day: string, time: string) => `${day}T${time}:00+06:00`;
const IIN = makeIin('850101', 3, 41);
const OTHER_IIN = makeIin('900202', 4, 42);
const applicant = (iin: string): TestCaller => ({ sub: `applicant-${iin}`, roles: ['applicant'], unit: 'public', iin });
const staff = (role: string, unit: string): TestCaller => ({ sub: `${role}-${unit}`, roles: [role], unit });
const PORTAL: TestCaller = { sub: 'egov-portal', roles: ['e-government-portal'], unit: 'egov' };

let api: ApiHarness;
let caseId = '';
let position = 0;

beforeAll(async () => {
  api = await startHarness({ IIN_LOOKUPS_PER_MINUTE: '5' });
  const r = await api.call('POST', '/api/cases', {
    as: applicant(IIN),
    body: {
      serviceId: 'personnel-reserve',
      trackId: 'competition-recommended',
      channel: 'portal',
      unit: 'astana',
      applicant: { iin: IIN, fullName: 'Серикова Айгерим' },
      occurredAt: at('2015-09-15', '10:00'),
    },
  });
  expect(r.status).toBe(201);
  caseId = r.body.caseId;
  position = r.body.position;
}, 30_000);
afterAll(async () => api.close());

describe('read scope per role and unit', () => {
  it("a clerk of another unit gets 403 for the case, its SLA and its unit's list: no masked IIN, no name to match against", async () => {
    const clerk = staff('registry-clerk', 'almaty');
    for (const path of [
      `/api/cases/${caseId}?after=${position}`,
      `/api/cases/${caseId}/sla`,
      '/api/cases?unit=astana',
    ]) {
      const r = await api.call('GET', path, { as: clerk });
      expect({ path, status: r.status, type: r.headers.get('content-type') }).toEqual({
        path,
        status: 403,
        type: expect.stringMatching(/^application\/problem\+json/),
      });
      expect(JSON.stringify(r.body)).not.toContain('Серикова');
      expect(JSON.stringify(r.body)).not.toContain(maskIin(IIN));
    }
    const list = await api.call('GET', `/api/cases?after=${position}`, { as: clerk });
    expect(list.status).toBe(200);
    expect(list.body.cases).toEqual([]);
  });

  it("the brute force of the issue learns nothing: every guess at the IIN lists nothing outside the caller's unit, and the lookups run out (429 with Retry-After)", async () => {
    const clerk = staff('psc-operator', 'shymkent');
    const statuses: number[] = [];
    let refused: Awaited<ReturnType<ApiHarness['call']>> | null = null;
    for (let serial = 40; serial < 48; serial++) {
      const guess = makeIin('850101', 3, serial);
      const r = await api.call('GET', `/api/cases?applicantIin=${guess}&after=${position}`, { as: clerk });
      statuses.push(r.status);
      if (r.status === 200) expect(r.body.cases).toEqual([]);
      else refused ??= r;
    }
    expect(statuses).toEqual([200, 200, 200, 200, 200, 429, 429, 429]);
    expect(refused!.headers.get('content-type')).toMatch(/^application\/problem\+json/);
    expect(Number(refused!.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
    expect(refused!.body).toMatchObject({
      status: 429,
      type: expect.stringMatching(/rate-limited$/),
      detail: expect.stringMatching(/applicantIin lookups: at most 5 per minute per caller/),
    });
    // The budget is the caller's, not everyone's: another clerk still looks up.
    expect((await api.call('GET', `/api/cases?applicantIin=${IIN}`, { as: staff('head', 'astana') })).status).toBe(200);
  });

  it("an applicant with no cases costs no scan of the others' cases: the list walks the index of their IIN (issue 14.8)", async () => {
    const stats = (api.app.infra.readStore as SqliteReadStore).queryStats;
    const before = { ...stats };
    const r = await api.call('GET', `/api/cases?after=${position}&limit=1`, { as: applicant(makeIin('700707', 3, 9)) });
    expect(r.status).toBe(200);
    expect(r.body.cases).toEqual([]);
    expect({
      indexed: stats.indexedQueries - before.indexedQueries,
      scans: stats.scans - before.scans,
      examined: stats.examined - before.examined,
    }).toEqual({ indexed: 1, scans: 0, examined: 0 });
  });

  it("an applicant filtering by another person's IIN gets 403 naming the field; by their own, their cases", async () => {
    const other = await api.call('GET', `/api/cases?applicantIin=${IIN}`, { as: applicant(OTHER_IIN) });
    expect(other.status).toBe(403);
    expect(other.body).toMatchObject({
      field: 'query.applicantIin',
      detail: expect.stringMatching(/only by their own IIN/),
    });
    const own = await api.call('GET', `/api/cases?applicantIin=${IIN}&after=${position}`, { as: applicant(IIN) });
    expect(own.body.cases.map((c: { caseId: string }) => c.caseId)).toEqual([caseId]);
  });

  it("staff of the case's unit, auditors and admins read it with the full IIN", async () => {
    for (const caller of [
      staff('registry-clerk', 'astana'),
      staff('head', 'astana'),
      { sub: 'auditor-1', roles: ['auditor'], unit: 'hq' },
      { sub: 'admin-1', roles: ['admin'], unit: 'hq' },
    ]) {
      const r = await api.call('GET', `/api/cases/${caseId}?after=${position}`, { as: caller });
      expect({ caller: caller.sub, status: r.status, applicant: r.body.applicant }).toEqual({
        caller: caller.sub,
        status: 200,
        applicant: { iin: IIN, iinMasked: false, fullName: 'Серикова Айгерим' },
      });
    }
  });

  it('the e-government portal reads a case while it may take a step on it (masked IIN), lists none, and loses it once the step is gone', async () => {
    const view = await api.call('GET', `/api/cases/${caseId}?after=${position}`, { as: PORTAL });
    expect(view.status).toBe(200);
    expect(view.body.callerMayTake).toEqual(['portal-refusal']);
    expect(view.body.applicant).toMatchObject({ iin: maskIin(IIN), iinMasked: true });
    const list = await api.call('GET', '/api/cases', { as: PORTAL });
    expect({ status: list.status, detail: list.body.detail }).toEqual({
      status: 403,
      detail: expect.stringMatching(/worklist/),
    });

    // Once the applicant cancels, the portal has nothing to do here, and it has recorded nothing.
    const cancelled = await api.call('POST', `/api/cases/${caseId}/cancel`, {
      as: applicant(IIN),
      body: { occurredAt: at('2015-09-15', '11:00') },
    });
    expect(cancelled.status).toBe(201);
    const after = await api.call('GET', `/api/cases/${caseId}?after=${cancelled.body.position}`, { as: PORTAL });
    expect({ status: after.status, detail: after.body.detail }).toEqual({
      status: 403,
      detail: expect.stringMatching(/recorded an act or may take an open step/),
    });
    // The applicant's acts are recorded as the case's applicant (`actor.id` "applicant"): a token whose subject is that
    // word is refused, or a portal so named would read every case whose applicant acted on it.
    const named = { ...PORTAL, sub: 'applicant' };
    const byWord = await api.call('GET', `/api/cases/${caseId}?after=${cancelled.body.position}`, { as: named });
    expect([byWord.status, byWord.body.detail]).toEqual([401, expect.stringContaining('claim "sub" is "applicant"')]);
  });
});
