/**
 * A feed page looks at a bounded number of events (found by re-attacking: a citizen's page from the start of a long
 * log read the whole log to find their own cases, per request). A page that stops there says so by `next` below `head`,
 * and paging on from `next` reaches the head with every readable event once.
 */
import { FeedQueries } from '../../src/modules/deadline-alerts/feed/feed.queries';
import { fileSampleCase, makeIin, startHarness, type ApiHarness } from '../support/api-harness';

let api: ApiHarness;
beforeAll(async () => {
  api = await startHarness();
  for (let i = 0; i < 7; i++) await fileSampleCase(api, 60 + i);
}, 60_000);
afterAll(async () => api.close());

it('each page looks at most at its budget; paging from next reaches the head with every readable event once', async () => {
  const feed = new FeedQueries(api.app.infra.eventLog, api.app.infra.personalData, 3);
  const auditor = { id: 'auditor-1', name: 'A', roles: ['auditor' as const], unit: 'audit' };
  const citizen = { id: 'citizen-x', name: 'C', roles: ['applicant' as const], iin: makeIin('880808', 3, 99) };
  const head = await api.app.infra.eventLog.headPosition();

  const first = await feed.page(citizen, { after: 0, limit: 100 });
  expect(first.items).toEqual([]);
  expect(first.next).toBeLessThan(head);

  const seen: number[] = [];
  let after = 0;
  let pages = 0;
  for (;;) {
    const page = await feed.page(auditor, { after, limit: 100 });
    expect(page.items.length).toBeLessThanOrEqual(3);
    seen.push(...page.items.map((i) => i.position));
    pages++;
    if (page.next >= page.head) break;
    after = page.next;
  }
  expect(pages).toBeGreaterThan(2);
  expect(new Set(seen).size).toBe(seen.length);
  const all = await new FeedQueries(api.app.infra.eventLog, api.app.infra.personalData).page(auditor, {
    after: 0,
    limit: 1000,
  });
  expect(seen).toEqual(all.items.map((i) => i.position));
});
