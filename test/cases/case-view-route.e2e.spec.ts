/**
 * GET /api/cases/:caseId is answered on its route without Nest's per-request machinery (issue 19: the case view's
 * read rate). The same requests, against two servers started on copies of one data directory, one answering the
 * route directly and one through Nest's pipeline as every other route, must get the same answers: status, every
 * header but the date, and body.
 */
import type { ApiHarness, TestCaller } from '../support/api-harness';
import { onBothCaseViewRoutes } from '../support/case-view-routes';

/** One fixed instant for both servers: a view's deadline statuses are as of now. */
const NOW = new Date('2015-10-05T12:00:00+06:00');
const clock = () => NOW;

const CLERK: TestCaller = { sub: 'registry-clerk-astana', roles: ['registry-clerk'], unit: 'astana' };
const OUTSIDER: TestCaller = { sub: 'registry-clerk-almaty', roles: ['registry-clerk'], unit: 'almaty' };
const AUDITOR: TestCaller = { sub: 'auditor-1', roles: ['auditor'], unit: 'hq' };

interface Probe {
  name: string;
  path: (caseId: string, position: number) => string;
  as?: TestCaller | string;
  headers?: Record<string, string>;
  method?: 'GET' | 'HEAD';
}

const PROBES: Probe[] = [
  { name: 'a clerk of the unit', path: (id) => `/api/cases/${id}`, as: CLERK },
  { name: 'read-your-writes', path: (id, p) => `/api/cases/${id}?after=${p}`, as: CLERK },
  { name: 'HEAD', path: (id) => `/api/cases/${id}`, as: CLERK, method: 'HEAD' },
  { name: 'If-None-Match', path: (id) => `/api/cases/${id}`, as: CLERK, headers: { 'if-none-match': '"1"' } },
  { name: 'unknown case', path: () => '/api/cases/0b6f4a52-3c1e-4c8e-9a0f-2f4d7c9e1a01', as: CLERK },
  { name: 'a clerk of another unit', path: (id) => `/api/cases/${id}`, as: OUTSIDER },
  { name: 'no token', path: (id) => `/api/cases/${id}` },
  { name: 'not a bearer token', path: (id) => `/api/cases/${id}`, headers: { authorization: 'Basic eDp5' } },
  { name: 'a forged token', path: (id) => `/api/cases/${id}`, as: 'eyJhbGciOiJIUzI1NiJ9.e30.c2lnbmF0dXJl' },
  { name: 'a malformed id', path: () => '/api/cases/not-a-case', as: CLERK },
  { name: 'a malformed id and after', path: () => '/api/cases/NOT?after=-1', as: CLERK },
  { name: 'an unknown parameter', path: (id) => `/api/cases/${id}?view=full`, as: CLERK },
  { name: 'a parameter twice', path: (id) => `/api/cases/${id}?after=1&after=2`, as: CLERK },
  { name: 'a reserved parameter name', path: (id) => `/api/cases/${id}?constructor=1`, as: CLERK },
  { name: 'an auditor (recorded in the access log)', path: (id) => `/api/cases/${id}`, as: AUDITOR },
];

interface Answer {
  status: number;
  headers: Record<string, string>;
  body: unknown;
}

async function answers(api: ApiHarness, caseId: string, position: number): Promise<Record<string, Answer>> {
  const out: Record<string, Answer> = {};
  for (const [i, probe] of PROBES.entries()) {
    // The read model at the head first, so each answer's position is the same on both servers.
    const head = await api.app.infra.eventLog.headPosition();
    await api.app.infra.projections.readModels.waitFor('cases', head, 10_000);
    const r = await api.call(probe.method ?? 'GET', probe.path(caseId, position), {
      ...(probe.as ? { as: probe.as } : {}),
      headers: { 'x-correlation-id': `probe-${i}`, ...probe.headers },
    });
    const headers = Object.fromEntries([...r.headers].filter(([name]) => name !== 'date'));
    out[probe.name] = { status: r.status, headers, body: r.body };
  }
  return out;
}

describe('GET /api/cases/:caseId answered directly', () => {
  it('gives the answers of the Nest pipeline: status, headers and body, for good, unknown, outsider, unauthenticated and malformed requests', async () => {
    // The same token for both servers (a token is minted with the data directory's secret, which was copied).
    const results = await onBothCaseViewRoutes({}, clock, (api, { caseId, position }) =>
      answers(api, caseId, position),
    );
    const direct = results.direct!;
    // The probes reach what they are meant to (a comparison of two identical refusals would prove little).
    expect(Object.fromEntries(Object.entries(direct).map(([name, a]) => [name, a.status]))).toEqual({
      'a clerk of the unit': 200,
      'read-your-writes': 200,
      HEAD: 200,
      'If-None-Match': 200,
      'unknown case': 404,
      'a clerk of another unit': 403,
      'no token': 401,
      'not a bearer token': 401,
      'a forged token': 401,
      'a malformed id': 400,
      'a malformed id and after': 400,
      'an unknown parameter': 400,
      'a parameter twice': 400,
      'a reserved parameter name': 400,
      'an auditor (recorded in the access log)': 200,
    });
    expect(direct).toEqual(results.nest);
  }, 60_000);
});
