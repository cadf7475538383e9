/**
 * The HTTP conventions a back office expects (issue 20), on the real server: Location on every 201, the case's
 * revision as its ETag and If-Match as the expected revision of a command (412 on mismatch), 405 with Allow for a
 * known path asked with a method it does not serve, CORS for the configured origins only, and the security headers
 * and per-caller rate limit already in place.
 */
import { loadCatalog } from '../../src/modules/regulations/domain/catalog';
import { rolesOn } from '../../src/modules/regulations/domain/regulation-schema';
import { fileSampleCase, makeIin, startHarness, type ApiHarness } from '../support/api-harness';
import { callerFor, mainPath, VALID_DATA } from '../support/case-walk';
import { rawRequest } from '../support/raw-http';

const catalog = loadCatalog('data/regulations');
const version = catalog.byService.get('personnel-reserve')![0]!;
const TRACK = 'competition-recommended';
const second = mainPath(version, TRACK)[1]!;
const staff = callerFor(
  rolesOn(second, TRACK).find((r) => r !== 'applicant')!,
  'astana',
  '',
);
const ORIGIN = 'https://backoffice.example.kz';

describe('with the default configuration', () => {
  let api: ApiHarness;
  beforeAll(async () => {
    api = await startHarness();
  });
  afterAll(async () => api.close());

  it('answers every 201 with Location, the address of the case', async () => {
    const iin = makeIin('900502', 4, 31);
    const filed = await api.call('POST', '/api/cases', {
      as: callerFor('applicant', 'astana', iin),
      body: {
        serviceId: 'personnel-reserve',
        trackId: TRACK,
        channel: 'portal',
        unit: 'astana',
        applicant: { iin, fullName: 'Ф' },
        occurredAt: '2015-10-05T09:00:00+06:00',
      },
    });
    expect(filed.status).toBe(201);
    expect(filed.headers.get('location')).toBe(`/api/cases/${filed.body.caseId}`);
    const step = await api.call('POST', `/api/cases/${filed.body.caseId}/steps/${second.id}`, {
      as: staff,
      body: { occurredAt: '2015-10-05T10:00:00+06:00', data: VALID_DATA[second.eventType] },
    });
    expect(step.status).toBe(201);
    expect(step.headers.get('location')).toBe(`/api/cases/${filed.body.caseId}`);
    const read = await api.call('GET', `/api/cases/${filed.body.caseId}?after=${step.body.position}`, { as: staff });
    expect(read.status).toBe(200);
    expect(read.body.regulationVersionId).toBe(version.versionId);
  });

  it("gives a case read the case's revision as a strong ETag, and takes it back as If-Match: a stale one gets 412 and writes nothing", async () => {
    const { caseId, position } = await fileSampleCase(api);
    const read = await api.call('GET', `/api/cases/${caseId}?after=${position}`, { as: staff });
    expect(read.headers.get('etag')).toBe(`"${read.body.revision}"`);
    expect(read.body.revision).toBe(0);

    const take = (ifMatch: string, body: Record<string, unknown> = {}) =>
      api.call('POST', `/api/cases/${caseId}/steps/${second.id}`, {
        as: staff,
        headers: { 'if-match': ifMatch },
        body: { occurredAt: '2015-10-05T10:00:00+06:00', data: VALID_DATA[second.eventType], ...body },
      });

    const stale = await take('"5"');
    expect(stale.status).toBe(412);
    expect(stale.headers.get('content-type')).toContain('application/problem+json');
    expect(stale.headers.get('etag')).toBe('"0"');
    expect(stale.body).toMatchObject({
      type: 'https://reglament.kz/problems/precondition-failed',
      status: 412,
      currentRevision: 0,
      expectedRevision: 5,
      errors: [{ field: 'header.If-Match', allowed: '"0"' }],
    });

    const malformed = await take('W/"0"');
    expect(malformed.status).toBe(400);
    expect(malformed.body.errors).toEqual([expect.objectContaining({ field: 'header.If-Match' })]);

    const contradictory = await take('"0"', { expectedRevision: 1 });
    expect(contradictory.status).toBe(400);
    expect(contradictory.body.errors).toEqual([expect.objectContaining({ field: 'expectedRevision' })]);

    const after = await api.call('GET', `/api/cases/${caseId}?after=${position}`, { as: staff });
    expect(after.body.revision).toBe(0);

    const taken = await take('"0"');
    expect(taken.status).toBe(201);
    expect(taken.body.revision).toBe(1);
    const again = await api.call('GET', `/api/cases/${caseId}?after=${taken.body.position}`, { as: staff });
    expect(again.headers.get('etag')).toBe('"1"');
  });

  it('answers a caller outside the case 403 whatever revision, step or time it sends: nothing of the case is revealed', async () => {
    const { caseId } = await fileSampleCase(api);
    const outsider = callerFor('applicant', 'astana', makeIin('910101', 3, 17));
    const otherUnit = { ...staff, unit: 'almaty' };
    const attempts: Array<[typeof staff, string, Record<string, unknown>]> = [
      [outsider, `steps/${second.id}`, { occurredAt: '2015-10-05T10:00:00+06:00', data: VALID_DATA[second.eventType] }],
      [outsider, 'steps/no-such-step', { data: {} }],
      [outsider, 'cancel', { occurredAt: '2099-01-01T10:00:00+06:00', reason: 'x' }],
      [
        otherUnit,
        `steps/${second.id}`,
        { occurredAt: '2015-10-05T10:00:00+06:00', data: VALID_DATA[second.eventType] },
      ],
      [otherUnit, 'steps/no-such-step', { data: {} }],
    ];
    for (const [as, path, body] of attempts)
      for (const ifMatch of ['"5"', '"0"']) {
        const r = await api.call('POST', `/api/cases/${caseId}/${path}`, {
          as,
          headers: { 'if-match': ifMatch },
          body,
        });
        expect({ path, ifMatch, status: r.status, etag: r.headers.get('etag') }).toEqual({
          path,
          ifMatch,
          status: 403,
          etag: null,
        });
        expect(JSON.stringify(r.body)).not.toMatch(
          /"(currentRevision|expectedRevision|steps|openSteps|callerMayTake|caseStatus)":/,
        );
      }
  });

  it('keeps the body field expectedRevision working as before: 409 stale-revision', async () => {
    const { caseId } = await fileSampleCase(api);
    const r = await api.call('POST', `/api/cases/${caseId}/steps/${second.id}`, {
      as: staff,
      body: { expectedRevision: 3, data: VALID_DATA[second.eventType] },
    });
    expect(r.status).toBe(409);
    expect(r.body.type).toBe('https://reglament.kz/problems/stale-revision');
  });

  it.each([
    ['DELETE', '/api/cases', 'GET, HEAD, POST'],
    ['PUT', '/api/cases/0b6f4a52-3c1e-4c8e-9a0f-2f4d7c9e1a01', 'GET, HEAD'],
    ['GET', '/api/cases/0b6f4a52-3c1e-4c8e-9a0f-2f4d7c9e1a01/cancel', 'POST'],
    ['POST', '/health', 'GET, HEAD'],
  ])('answers %s %s with 405 problem+json and Allow: %s', async (method, path, allow) => {
    const r = await api.call(method, path, { as: staff });
    expect({ status: r.status, allow: r.headers.get('allow'), type: r.body.type }).toEqual({
      status: 405,
      allow,
      type: 'https://reglament.kz/problems/method-not-allowed',
    });
    expect(r.headers.get('content-type')).toContain('application/problem+json');
    expect(r.headers.get('x-content-type-options')).toBe('nosniff');
  });

  it('still answers an unknown path with 404', async () => {
    expect((await api.call('DELETE', '/api/nothing-here')).status).toBe(404);
  });

  it('answers 405 for a known path under another spelling the router matches (/%61pi/cases), Allow as for /api/cases', async () => {
    const r = await rawRequest(api.url, 'DELETE', '/%61pi/cases', {
      headers: { authorization: `Bearer ${await api.token(staff)}` },
    });
    expect({ status: r.status, allow: r.headers.allow }).toEqual({ status: 405, allow: 'GET, HEAD, POST' });
  });

  // Found by attacking the server: paths the router does not match answered 405 naming the methods of a similar route.
  it.each([
    ['GET', '/api/cases/'],
    ['POST', '/api/cases/'],
    ['GET', '/api/cases/0b6f4a52-3c1e-4c8e-9a0f-2f4d7c9e1a01/'],
    ['DELETE', '/api/cases/0b6f4a52-3c1e-4c8e-9a0f-2f4d7c9e1a01/cancel/'],
    ['GET', '/api/docs/nonexistent'],
    ['POST', '/api/docs/nonexistent'],
    ['GET', '/api/docs/..%2f..%2fapi/cases'],
    ['GET', '/dashboard/'],
  ])('answers %s %s, a path the router does not serve, with 404 problem+json and no Allow', async (method, path) => {
    const r = await rawRequest(api.url, method, path, {
      headers: { authorization: `Bearer ${await api.token(staff)}` },
    });
    expect({ status: r.status, allow: r.headers.allow, type: JSON.parse(r.body).type }).toEqual({
      status: 404,
      allow: undefined,
      type: 'https://reglament.kz/problems/not-found',
    });
    expect(r.headers['content-type']).toMatch(/^application\/problem\+json/);
  });

  it('sends no CORS headers when CORS_ORIGINS is unset, and refuses a preflight (405, no Access-Control-Allow-Origin)', async () => {
    const r = await api.call('GET', '/api/regulations', { as: staff, headers: { origin: ORIGIN } });
    expect(r.headers.get('access-control-allow-origin')).toBeNull();
    const preflight = await api.call('OPTIONS', '/api/cases', {
      headers: { origin: ORIGIN, 'access-control-request-method': 'POST' },
    });
    expect(preflight.status).toBe(405);
    expect(preflight.headers.get('access-control-allow-origin')).toBeNull();
  });

  it('has the security headers (helmet) on answers', async () => {
    const r = await api.call('GET', '/api/regulations', { as: staff });
    expect(r.headers.get('x-content-type-options')).toBe('nosniff');
    expect(r.headers.get('x-frame-options')).toBe('DENY');
    expect(r.headers.get('content-security-policy')).toContain("default-src 'self'");
  });
});

describe('with CORS_ORIGINS and a low rate limit', () => {
  let api: ApiHarness;
  beforeAll(async () => {
    api = await startHarness({ CORS_ORIGINS: `${ORIGIN},http://localhost:5173`, RATE_LIMIT_PER_MINUTE: '5' });
  });
  afterAll(async () => api.close());

  it("answers a configured origin's preflight with the methods and headers a back office uses, and exposes ETag and Location", async () => {
    const preflight = await api.call('OPTIONS', '/api/cases/x/steps/y', {
      headers: {
        origin: ORIGIN,
        'access-control-request-method': 'POST',
        'access-control-request-headers': 'authorization,if-match,content-type',
      },
    });
    expect(preflight.status).toBe(204);
    expect(preflight.headers.get('access-control-allow-origin')).toBe(ORIGIN);
    expect(preflight.headers.get('access-control-allow-headers')).toMatch(/If-Match/);
    const read = await api.call('GET', '/health', { headers: { origin: ORIGIN } });
    expect(read.headers.get('access-control-allow-origin')).toBe(ORIGIN);
    expect(read.headers.get('access-control-expose-headers')).toMatch(/ETag.*Location/);
  });

  it('gives another origin no Access-Control-Allow-Origin', async () => {
    const r = await api.call('GET', '/health', { headers: { origin: 'https://evil.example' } });
    expect(r.headers.get('access-control-allow-origin')).toBeNull();
  });

  it('limits each caller: past the budget 429 problem+json with Retry-After', async () => {
    const caller = { sub: 'rate-probe', roles: ['auditor'] };
    const statuses: number[] = [];
    let last;
    for (let i = 0; i < 7; i++) {
      last = await api.call('GET', '/api/regulations', { as: caller });
      statuses.push(last.status);
    }
    expect(statuses.slice(-1)).toEqual([429]);
    expect(Number(last!.headers.get('retry-after'))).toBeGreaterThan(0);
  });
});

describe('a CORS_ORIGINS that is not a list of origins', () => {
  it('stops start-up naming the variable', async () => {
    await expect(startHarness({ CORS_ORIGINS: '*' })).rejects.toThrow(/CORS_ORIGINS/);
  });
});
