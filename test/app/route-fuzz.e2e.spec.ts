/**
 * Every route the server has, under random spellings of its path, random parameters, query strings, bodies,
 * content types, headers and callers (none, a forged token, a valid token of random roles), on the real server:
 * never a 5xx, every refusal problem+json, and no route answers a caller its controller does not admit (no token
 * where a token is declared, a role it does not require), nor writes anything for them.
 */
import fc from 'fast-check';
import { ROLES } from '../../src/modules/identity/domain/principal';
import { mintToken } from '../../src/modules/identity/token-verifier';
import { sampleFiling, startHarness, makeIin, type ApiHarness } from '../support/api-harness';
import { callerFor } from '../support/case-walk';
import { rawRequest } from '../support/raw-http';
import { declaredAccess, isPublic, pathVariants, samplePath, type DeclaredAccess } from '../support/route-samples';

let api: ApiHarness;
let caseId: string;
let declared: Map<string, DeclaredAccess>;
const iin = makeIin('870707', 4, 12);
const ROLE_NAMES = Object.keys(ROLES);

beforeAll(async () => {
  api = await startHarness();
  const r = await api.call('POST', '/api/cases', {
    as: callerFor('applicant', 'astana', iin),
    body: sampleFiling(iin),
  });
  expect(r.status).toBe(201);
  caseId = r.body.caseId;
  declared = declaredAccess(api.app.app);
}, 60_000);
afterAll(async () => api.close());

const text = fc.oneof(
  fc.string({ maxLength: 40 }),
  fc.string({ maxLength: 40, unit: 'grapheme' }),
  fc.constantFrom(
    '',
    '.',
    '..',
    '%2e%2e',
    '%00',
    '%zz',
    '%',
    'constructor',
    '__proto__',
    'toString',
    'a'.repeat(150),
    '2015-10-05',
    '2015-10-05T10:00:00+06:00',
    'personnel-reserve',
    'astana',
    'registration',
    'KZ',
    '-1',
    '1e400',
    'null',
    '[]',
    '{}',
    "' OR 1=1 --",
    '{"$gt":""}',
    '<script>',
    iin,
  ),
);
// Mostly the route's own path and sample parameters, so most requests reach a handler; the rest spelled or filled otherwise.
const variantIndex = fc.oneof({ arbitrary: fc.constant(0), weight: 3 }, { arbitrary: fc.nat(), weight: 1 });
const segment = fc.oneof(
  { arbitrary: fc.constant('SAMPLE'), weight: 4 },
  fc.constant('CASE'),
  text.map((t) => encodeURIComponent(t)),
  text.map((t) => t.replace(/[^\x21-\x7e]/g, '').replace(/[?#]/g, '')),
);
const query = fc
  .array(
    fc.tuple(
      fc.oneof(
        fc.constantFrom(
          'serviceId',
          'versionId',
          'trackId',
          'unit',
          'status',
          'assignee',
          'applicantIin',
          'limit',
          'cursor',
          'after',
          'asOf',
          'atRevision',
          'time',
          'type',
          'from',
          'to',
          'groupBy',
          'role',
          'stepId',
          'at',
          'start',
          'workingDays',
          'submittedFrom',
          'submittedTo',
          '__proto__',
          'constructor',
        ),
        fc.string({ maxLength: 8 }),
      ),
      text,
    ),
    { maxLength: 5 },
  )
  .map((pairs) => pairs.map(([k, v]) => `${encodeURIComponent(k)}=${encodeURIComponent(v)}`).join('&'));
const deep = fc.integer({ min: 1, max: 5_000 }).map((n) => '['.repeat(n) + ']'.repeat(n));
const bodyObject = fc.record(
  {
    serviceId: text,
    trackId: text,
    channel: fc.oneof(fc.constantFrom('portal', 'psc', 'office'), text),
    unit: text,
    applicant: fc.oneof(
      fc.record({ iin: fc.oneof(fc.constant(iin), text), fullName: text }, { requiredKeys: [] }),
      fc.jsonValue(),
    ),
    occurredAt: fc.oneof(
      fc.date({ noInvalidDate: true }).map((d) => d.toISOString()),
      text,
    ),
    startedAt: text,
    cohortDates: fc.oneof(fc.dictionary(text, text), fc.jsonValue()),
    expectedRevision: fc.oneof(fc.integer(), fc.jsonValue()),
    data: fc.oneof(fc.dictionary(text, fc.jsonValue()), fc.jsonValue()),
    reason: fc.jsonValue(),
    __proto__: fc.jsonValue(),
  },
  { requiredKeys: [] },
);
const body = fc.oneof(
  bodyObject.map((b) => JSON.stringify(b)),
  fc.jsonValue().map((v) => JSON.stringify(v)),
  fc.string({ maxLength: 60 }),
  deep,
  fc.constant('{"__proto__":{"admin":true}}'),
  fc.constant(''),
);
const contentType = fc.constantFrom(
  'application/json',
  'application/json; charset=utf-8',
  'text/plain',
  'application/x-www-form-urlencoded',
  'multipart/form-data; boundary=x',
  'application/problem+json',
  undefined,
);
const caller = fc.oneof(
  fc.constant({ kind: 'none' as const }),
  fc.constant({ kind: 'forged' as const }),
  fc.record({
    kind: fc.constant('token' as const),
    roles: fc.subarray(ROLE_NAMES, { minLength: 1, maxLength: 2 }),
    unit: fc.constantFrom('astana', 'almaty', 'hq'),
  }),
);

it('no 5xx, refusals in problem+json, and no caller admitted whom the route does not declare', async () => {
  const routes = api.app.routes;
  // An administrator's token signed with another secret (changing the signature's last character is no forgery: its
  // low bits are base64url padding, and the bytes decoded stay the same).
  const forged = await mintToken(
    new TextEncoder().encode('not-the-server-secret-but-32-bytes-long'),
    { sub: 'x', name: 'x', roles: ['admin'], unit: 'astana' },
    '1h',
  );
  await fc.assert(
    fc.asyncProperty(
      fc.constantFrom(...routes),
      variantIndex,
      segment,
      query,
      body,
      contentType,
      caller,
      fc.option(text, { nil: undefined }),
      async (route, variant, param, q, rawBody, type, who, correlation) => {
        const filled = samplePath(route.url)
          .replace('01900000-0000-7000-8000-000000000000', 'CASE')
          .split('/')
          .map((s, i, all) =>
            i === all.length - 1 && route.url.includes(':') && s !== 'steps' && param !== 'SAMPLE' ? param : s,
          )
          .join('/')
          .replace('CASE', caseId);
        const variants = pathVariants(filled);
        const path = `${variants[variant % variants.length]}${q ? `?${q}` : ''}`;
        const roles = who.kind === 'token' ? who.roles : [];
        const headers: Record<string, string> = {};
        if (who.kind === 'token')
          headers.authorization = `Bearer ${await api.token({ sub: `fuzz-${roles.join('-')}`, roles, unit: who.unit, ...(roles.includes('applicant') ? { iin } : {}) })}`;
        if (who.kind === 'forged') headers.authorization = `Bearer ${forged}`;
        if (type && route.method === 'POST') headers['content-type'] = type;
        if (correlation !== undefined && /^[\x20-\x7e]*$/.test(correlation)) headers['x-correlation-id'] = correlation;
        const before = await api.app.infra.eventLog.headPosition();
        const r = await rawRequest(api.url, route.method, path, {
          headers,
          ...(route.method === 'POST' ? { body: rawBody } : {}),
        });
        const where = `${route.method} ${path} as ${who.kind} ${roles.join(',')} -> ${r.status}`;
        expect({ where, serverError: r.status >= 500 }).toEqual({ where, serverError: false });
        if (r.status >= 400 && route.method !== 'HEAD')
          expect({ where, type: r.headers['content-type'] }).toEqual({
            where,
            type: expect.stringMatching(/^application\/problem\+json/),
          });
        const access = declared.get(`${route.method === 'HEAD' ? 'GET' : route.method} ${route.url}`);
        const open = isPublic(route.method, route.url);
        const authenticated = who.kind === 'token';
        const admitted =
          open ||
          (authenticated &&
            (!access?.roles ||
              access.roles.length === 0 ||
              roles.some((role) => role === 'admin' || access.roles!.includes(role))));
        if (!admitted) {
          expect({ where, answered: r.status < 400 }).toEqual({ where, answered: false });
          // An auditor's refused request is itself recorded (the access log); nothing else may be written.
          const written = (await api.app.infra.eventLog.readAll({ after: before })).filter(
            (e) => !e.streamId.startsWith('access-log-'),
          );
          expect({ where, written: written.map((e) => `${e.streamId} ${e.type}`) }).toEqual({ where, written: [] });
        }
      },
    ),
    { numRuns: 2_000 },
  );
}, 300_000);
