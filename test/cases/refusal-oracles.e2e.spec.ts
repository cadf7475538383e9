/**
 * Attacks found in review, reproduced on the real HTTP server: what a caller learned from how a command was refused.
 *
 * 1. A caller who reads a case's applicant with the IIN
 * masked (the e-government portal, a state body: within reach of every case) guessed the IIN from how a command
 * naming it was refused. The cancel route checked the reason against the applicant's IIN before asking whether the
 * caller may cancel at all (400 for another person's IIN, 403 for the applicant's); on a step the portal may take, a
 * back-dated act answered 409 for the applicant's IIN and 400 for any other. The masked IIN leaves about 12,000
 * candidates with a valid check digit: two minutes at the default request budget.
 *
 * 2. The portal and state bodies reach every case's id (bound to no unit) but read only a case they have a part in (an
 * act of theirs, or an open step theirs). A command to any other was refused on the full case: 409 with its status, its
 * open steps (which say how the exams or the competition went) and when it closed, 404 listing its track's steps, 409
 * with its current revision. Such a command is now 403 before anything of the case is looked at.
 */
import { maskIin } from '../../src/modules/identity/domain/iin';
import { makeIin, startHarness, type ApiHarness, type TestCaller } from '../support/api-harness';

const at = (day: string, time: string) => `${day}T${time}:00+06:00`;
const IIN = makeIin('850101', 3, 41);
const GUESS = makeIin('850101', 3, 57);
const applicant = (iin: string): TestCaller => ({ sub: `applicant-${iin}`, roles: ['applicant'], unit: 'public', iin });
const PORTAL: TestCaller = { sub: 'egov-portal', roles: ['e-government-portal'], unit: 'egov' };
const STATE_BODY: TestCaller = { sub: 'state-body-1', roles: ['state-body'], unit: 'mvd' };

let api: ApiHarness;
let caseId = '';
let position = 0;

/** A personnel-reserve case the applicant files on the portal, in unit astana. */
async function filed(iin: string, fullName: string, trackId: string): Promise<{ caseId: string; position: number }> {
  const r = await api.call('POST', '/api/cases', {
    as: applicant(iin),
    body: {
      serviceId: 'personnel-reserve',
      trackId,
      channel: 'portal',
      unit: 'astana',
      applicant: { iin, fullName },
      occurredAt: at('2015-09-15', '10:00'),
    },
  });
  expect(r.status).toBe(201);
  return r.body;
}

beforeAll(async () => {
  api = await startHarness();
  ({ caseId, position } = await filed(IIN, 'Серикова Айгерим', 'competition-recommended'));
}, 30_000);
afterAll(async () => api.close());

/** The answer with the caller's own input (echoed masked) taken out: what the caller learns beyond what they sent. */
const learned = (r: { status: number; body: unknown }, written: string) => ({
  status: r.status,
  body: JSON.stringify(r.body).split(maskIin(written)).join('<written>'),
});

describe("a caller who reads the applicant's IIN masked learns nothing of it from a command's refusal", () => {
  it('the cancel route answers the portal and a state body 403 whatever IIN the reason names, before reading the reason', async () => {
    for (const caller of [PORTAL, STATE_BODY]) {
      const answers = [];
      for (const written of [IIN, GUESS]) {
        const r = await api.call('POST', `/api/cases/${caseId}/cancel`, {
          as: caller,
          body: { reason: `по просьбе заявителя, ИИН ${written}`, occurredAt: at('2015-09-15', '11:00') },
        });
        answers.push(learned(r, written));
      }
      expect(answers[0]).toEqual(answers[1]);
      expect(answers[0]!.status).toBe(403);
    }
  });

  it("on a step the portal may take, an IIN in its text is refused alike, the applicant's or another's, in time or back-dated, and nothing is recorded", async () => {
    for (const occurredAt of [at('2015-09-15', '11:00'), at('2015-09-14', '09:00')]) {
      const answers = [];
      for (const written of [IIN, GUESS]) {
        const r = await api.call('POST', `/api/cases/${caseId}/steps/portal-refusal`, {
          as: PORTAL,
          body: { occurredAt, expectedRevision: 0, data: { reason: `данные ИИН ${written} не соответствуют` } },
        });
        answers.push(learned(r, written));
      }
      expect(answers[0]).toEqual(answers[1]);
      expect(answers[0]).toMatchObject({ status: 400, body: expect.stringContaining('"field":"data.reason"') });
    }
    const view = await api.call('GET', `/api/cases/${caseId}?after=${position}`, { as: PORTAL });
    expect([view.status, view.body.revision, view.body.callerMayTake]).toEqual([200, 0, ['portal-refusal']]);
  });

  it("the applicant, who reads their IIN in full, may still write it in their reason, and another person's is still refused", async () => {
    const other = await api.call('POST', `/api/cases/${caseId}/cancel`, {
      as: applicant(IIN),
      body: { reason: `ошибся в ИИН ${GUESS}`, occurredAt: at('2015-09-15', '11:00') },
    });
    expect([other.status, JSON.stringify(other.body)]).toEqual([400, expect.stringContaining("another person's IIN")]);
    const own = await api.call('POST', `/api/cases/${caseId}/cancel`, {
      as: applicant(IIN),
      body: { reason: `отзываю заявление, ИИН ${IIN}`, occurredAt: at('2015-09-15', '11:00') },
    });
    expect(own.status).toBe(201);
  });
});

describe('the portal and a state body learn nothing of a case they have no part in', () => {
  let closed = '';
  beforeAll(async () => {
    closed = (await filed(GUESS, 'Ахметов Ерлан', 'corps-a-selection')).caseId;
    const cancelled = await api.call('POST', `/api/cases/${closed}/cancel`, {
      as: applicant(GUESS),
      body: { occurredAt: at('2015-09-15', '11:00') },
    });
    expect(cancelled.status).toBe(201);
  });

  it('every command to such a case is the same 403, whatever step, revision or data it names', async () => {
    const probes: Array<[TestCaller, string, Record<string, unknown>]> = [
      [PORTAL, 'steps/portal-refusal', { data: { reason: 'x' } }],
      [PORTAL, 'steps/portal-refusal', { expectedRevision: 99, data: { reason: 'x' } }],
      [PORTAL, 'steps/no-such-step', { data: {} }],
      [PORTAL, 'cancel', { reason: 'x' }],
      [STATE_BODY, 'steps/information-received', { data: {} }],
      [STATE_BODY, 'steps/no-such-step', { expectedRevision: 0, data: {} }],
    ];
    const answers = new Set<string>();
    for (const [caller, path, body] of probes) {
      const r = await api.call('POST', `/api/cases/${closed}/${path}`, { as: caller, body });
      expect({ path, status: r.status }).toEqual({ path, status: 403 });
      const text = JSON.stringify(r.body);
      for (const told of ['cancelled', 'revision', 'openSteps', 'information-requested', '2015-09-15', 'corps-a'])
        expect({ path, told, said: text.includes(told) }).toEqual({ path, told, said: false });
      answers.add(JSON.stringify({ ...r.body, instance: undefined, callerRoles: undefined, traceId: undefined }));
    }
    expect(answers.size).toBe(1);
  });
});
