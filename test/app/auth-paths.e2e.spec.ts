/**
 * Authentication is decided by the route the router matched, never by the URL's text (issue 14.1: the guard
 * tested `url.startsWith('/api/')` while the router decoded `/%61pi/…` to `/api/…`, so every case event
 * streamed to anyone). Every route the server has is either on the explicit public list below or refuses a
 * caller without a token, under every spelling of its path.
 */
import { startHarness, type ApiHarness } from '../support/api-harness';
import { rawRequest } from '../support/raw-http';
import { declaredAccess, isPublic, pathVariants, PUBLIC_ROUTES, samplePath } from '../support/route-samples';

let api: ApiHarness;
beforeAll(async () => {
  api = await startHarness();
}, 60_000);
afterAll(async () => api.close());

const head = { sub: 'head-1', roles: ['head'], unit: 'astana' };

it('401 for GET /%61pi/compliance/stream without a token, and the stream itself with one (the path does reach the route)', async () => {
  const anonymous = await rawRequest(api.url, 'GET', '/%61pi/compliance/stream');
  expect(anonymous.status).toBe(401);
  expect(anonymous.headers['content-type']).toMatch(/^application\/problem\+json/);
  const withToken = await rawRequest(api.url, 'GET', '/%61pi/compliance/stream', {
    headers: { authorization: `Bearer ${await api.token(head)}` },
  });
  expect(withToken.status).toBe(200);
  expect(withToken.headers['content-type']).toMatch(/^text\/event-stream/);
});

it.each([
  '/%61pi/regulations/lint',
  '/%61pi/calendar/KZ/working-days?from=2024-01-01&to=2024-01-31',
  '/api/%72egulations',
  '/api%2Fregulations',
])('401 for GET %s without a token', async (path) => {
  const response = await rawRequest(api.url, 'GET', path);
  expect([401, 404]).toContain(response.status);
  if (!path.includes('%2F')) expect(response.status).toBe(401);
});

it("the public list is exactly the controller routes marked @Public() and the API docs plugin's own routes", () => {
  const declared = declaredAccess(api.app.app);
  const mismatched = api.app.routes
    .filter(({ method }) => method !== 'HEAD')
    .filter(({ method, url }) => {
      const access = declared.get(`${method} ${url}`);
      return access ? access.public !== isPublic(method, url) : !(isPublic(method, url) && url.startsWith('/api/docs'));
    });
  expect(mismatched).toEqual([]);
  expect(declared.size).toBeGreaterThan(20);
});

it('every route the server has is on the explicit public list or answers 401 problem+json without a token', async () => {
  const routes = api.app.routes;
  expect(routes.length).toBeGreaterThan(30);
  const served = new Set(routes.map((r) => `${r.method} ${r.url}`));
  // The public list names only routes that exist, so it cannot hide a route that moved.
  for (const entry of PUBLIC_ROUTES) expect({ entry, served: served.has(entry) }).toEqual({ entry, served: true });
  const refused: string[] = [];
  const answered: string[] = [];
  for (const { method, url } of routes) {
    if (isPublic(method, url)) continue;
    const response = await rawRequest(api.url, method, samplePath(url), method === 'POST' ? { body: '{}' } : {});
    if (
      response.status === 401 &&
      (method === 'HEAD' || /^application\/problem\+json/.test(String(response.headers['content-type'])))
    )
      refused.push(`${method} ${url}`);
    else answered.push(`${method} ${url} -> ${response.status}`);
  }
  expect(answered).toEqual([]);
  expect(refused.length).toBeGreaterThan(20);
});

it('no spelling of any route reaches a protected handler without a token, and none answers 5xx', async () => {
  const failures: string[] = [];
  let tried = 0;
  for (const { method, url } of api.app.routes) {
    const open = isPublic(method, url);
    for (const path of pathVariants(samplePath(url))) {
      tried++;
      const response = await rawRequest(api.url, method, path, method === 'POST' ? { body: '{}' } : {});
      if (response.status >= 500) failures.push(`${method} ${path} -> ${response.status} (5xx)`);
      else if (!open && response.status < 400) failures.push(`${method} ${path} -> ${response.status} without a token`);
    }
  }
  expect(failures).toEqual([]);
  expect(tried).toBeGreaterThan(1000);
}, 120_000);
