/**
 * An attack found in review, reproduced on the real HTTP server: a caller who reads a case's applicant with the IIN
 * masked (the e-government portal, a state body: within reach of every case) guessed the IIN from how a command
 * naming it was refused. The cancel route checked the reason against the applicant's IIN before asking whether the
 * caller may cancel at all (400 for another person's IIN, 403 for the applicant's); on a step the portal may take, a
 * back-dated act answered 409 for the applicant's IIN and 400 for any other. The masked IIN leaves about 12,000
 * candidates with a valid check digit: two minutes at the default request budget.
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

beforeAll(async () => {
  api = await startHarness();
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
