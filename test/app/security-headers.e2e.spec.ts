/**
 * Every answer carries the security headers (issue 14.16): a Content-Security-Policy that forbids framing, inline
 * scripts and other origins, nosniff, no referrer, no framing, on pages, API answers, refusals, 404s and the router's
 * own 400 and 414 answers alike.
 */
import { fileSampleCase, startHarness, type ApiHarness } from '../support/api-harness';
import { rawRequest, type RawResponse } from '../support/raw-http';
import { samplePath } from '../support/route-samples';

let api: ApiHarness;
let caseId: string;
const head = { sub: 'head-1', roles: ['head'], unit: 'astana' };

beforeAll(async () => {
  api = await startHarness();
  const filed = await fileSampleCase(api);
  caseId = filed.caseId;
}, 60_000);
afterAll(async () => api.close());

const policy = (r: RawResponse) =>
  Object.fromEntries(
    String(r.headers['content-security-policy'] ?? '')
      .split(';')
      .map((d) => d.trim().split(/\s+/))
      .filter((d) => d[0])
      .map(([name, ...values]) => [name, values]),
  );

function expectSecurityHeaders(where: string, r: RawResponse) {
  const csp = policy(r);
  expect({
    where,
    frameAncestors: csp['frame-ancestors'],
    scriptSrc: csp['script-src'],
    objectSrc: csp['object-src'],
  }).toEqual({
    where,
    frameAncestors: ["'none'"],
    scriptSrc: csp['default-src']?.[0] === "'none'" ? undefined : ["'self'"],
    objectSrc: csp['default-src']?.[0] === "'none'" ? undefined : ["'none'"],
  });
  expect({
    where,
    headers: {
      nosniff: r.headers['x-content-type-options'],
      referrer: r.headers['referrer-policy'],
      frame: r.headers['x-frame-options'],
      poweredBy: r.headers['x-powered-by'],
    },
  }).toEqual({
    where,
    headers: { nosniff: 'nosniff', referrer: 'no-referrer', frame: 'DENY', poweredBy: undefined },
  });
}

it('on every route the server has, with a token and without', async () => {
  const token = await api.token(head);
  for (const { method, url } of api.app.routes) {
    const path = samplePath(url).replace('01900000-0000-7000-8000-000000000000', caseId);
    for (const headers of [{}, { authorization: `Bearer ${token}` }] as Record<string, string>[]) {
      const r = await rawRequest(api.url, method, path, { headers, ...(method === 'POST' ? { body: '{}' } : {}) });
      expectSecurityHeaders(
        `${method} ${path} ${headers.authorization ? 'with' : 'without'} a token -> ${r.status}`,
        r,
      );
    }
  }
});

it.each([
  ['an unknown route (404)', '/nothing-here'],
  ['a malformed escape (400 from the router)', '/api/cases/%zz'],
  ['an over-long path segment (414 from the router)', `/api/cases/${'a'.repeat(500)}`],
  ['an event stream', '/api/compliance/stream'],
])('on %s', async (_, path) => {
  const r = await rawRequest(api.url, 'GET', path, { headers: { authorization: `Bearer ${await api.token(head)}` } });
  expectSecurityHeaders(path, r);
});

it('on a refused body (400)', async () => {
  const r = await rawRequest(api.url, 'POST', '/api/cases', {
    headers: { authorization: `Bearer ${await api.token(head)}` },
    body: '{not json',
  });
  expect(r.status).toBe(400);
  expectSecurityHeaders('bad JSON', r);
});

it('the dashboard page allows scripts and styles from its own files only', async () => {
  const csp = policy(await rawRequest(api.url, 'GET', '/dashboard'));
  expect(csp).toMatchObject({
    'default-src': ["'self'"],
    'script-src': ["'self'"],
    'style-src': ["'self'"],
    'connect-src': ["'self'"],
    'base-uri': ["'none'"],
  });
});

it('the API docs may use inline styles, never inline scripts', async () => {
  for (const path of ['/api/docs', '/api/docs/swagger-ui-init.js', '/api/docs-json']) {
    const csp = policy(await rawRequest(api.url, 'GET', path));
    expect({ path, csp }).toMatchObject({
      path,
      csp: { 'script-src': ["'self'"], 'style-src': ["'self'", "'unsafe-inline'"], 'frame-ancestors': ["'none'"] },
    });
  }
});

it('an evidence pack runs no script at all', async () => {
  const r = await rawRequest(api.url, 'GET', `/api/cases/${caseId}/evidence`, {
    headers: { authorization: `Bearer ${await api.token(head)}` },
  });
  expect(r.status).toBe(200);
  expect(policy(r)).toMatchObject({
    'default-src': ["'none'"],
    'style-src': ["'unsafe-inline'"],
    'frame-ancestors': ["'none'"],
  });
  expectSecurityHeaders('evidence', r);
});

it('API answers with personal data or read models are kept by no cache: a history, the feed, the overdue list, a refusal', async () => {
  const auditor = { sub: 'auditor-1', roles: ['auditor'], unit: 'audit' };
  for (const path of [`/api/cases/${caseId}/history`, '/api/feed', '/api/compliance/overdue', '/api/cases/nothing']) {
    const r = await rawRequest(api.url, 'GET', path, {
      headers: { authorization: `Bearer ${await api.token(auditor)}` },
    });
    expect({ path, cache: r.headers['cache-control'] }).toEqual({ path, cache: 'no-store' });
  }
  // The case view keeps its own (its ETag is revalidated by the client that read it).
  const view = await rawRequest(api.url, 'GET', `/api/cases/${caseId}`, {
    headers: { authorization: `Bearer ${await api.token(head)}` },
  });
  expect(view.headers['cache-control']).toBe('private, no-store');
});
