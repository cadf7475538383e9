/**
 * The dashboard page in a real headless Chromium (Debian's, driven by playwright-core) against the real
 * server and seeded demo data: the charts show the API's numbers, a filter changes them, drill-down goes
 * from a service to its steps, to their cases and to one case's history. A screenshot is kept in
 * test-artifacts/ for a person to look at.
 */
import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import { seedDemo } from '../../src/demo/demo-seeder';
import { startHarness, type ApiHarness } from '../support/api-harness';

const CHROMIUM = '/usr/bin/chromium';
const ARTIFACTS = join(__dirname, '../../test-artifacts');
// Flags that work on this closed-network machine: no sandbox as root, no background connections.
const FLAGS = ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'];
const auditor = { sub: 'auditor-1', name: 'Аудитор', roles: ['auditor'], unit: 'hq' };

const describeWithBrowser = existsSync(CHROMIUM) ? describe : describe.skip;

describeWithBrowser('the /dashboard page in headless Chromium', () => {
  let api: ApiHarness;
  let browser: Browser;
  let page: Page;
  let token: string;

  const rates = (body: { rows: { key: string; complianceRate: number | null }[] }) => Object.fromEntries(body.rows.map((r) => [r.key, r.complianceRate === null ? null : Math.round(r.complianceRate * 1000) / 10]));
  const chartData = (id: string) =>
    page.evaluate((canvasId) => {
      const chart = (globalThis as any).Chart.getChart(canvasId);
      return chart ? Object.fromEntries(chart.$rows.map((r: { key: string }, i: number) => [r.key, chart.data.datasets[0].data[i]])) : null;
    }, id);

  beforeAll(async () => {
    api = await startHarness();
    const { infra } = api.app;
    const run = await seedDemo({ eventLog: infra.eventLog, catalog: infra.reference.catalog, calendar: infra.reference.calendar, backDatedAfterMs: 24 * 3_600_000 }, { cases: 60, seed: 'dashboard', concurrency: 8 });
    expect(run.refusals).toEqual([]);
    await infra.projections.readModels.waitFor('compliance', await infra.eventLog.headPosition(), 20_000);
    token = await api.token(auditor);
    browser = await chromium.launch({ executablePath: CHROMIUM, args: FLAGS });
    page = await browser.newPage({ viewport: { width: 1400, height: 1800 } });
  }, 90_000);

  afterAll(async () => {
    await browser?.close();
    await api?.close();
  });

  it('loads against the demo data and draws the API\'s numbers; a filter changes them; drill-down reaches a case history', async () => {
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(e.message));
    // A script, style or request the Content-Security-Policy blocks is reported on the console, not thrown.
    page.on('console', (m) => m.type() === 'error' && errors.push(`${m.text()} ${m.location().url}`));
    const served = await page.goto(`${api.url}/dashboard#token=${token}`);
    expect(await served!.headerValue('content-security-policy')).toMatch(/frame-ancestors 'none'/);
    await page.waitForSelector('body[data-ready="true"]', { timeout: 20_000 });
    expect(await page.url()).not.toContain(token); // the token leaves the address bar

    const byService = await api.call('GET', '/api/compliance/summary?groupBy=service', { as: auditor });
    expect(await chartData('chart-service')).toEqual(rates(byService.body));
    const trend = await api.call('GET', '/api/compliance/summary?groupBy=month', { as: auditor });
    expect(await chartData('chart-trend')).toEqual(rates(trend.body));
    expect(await page.textContent('[data-testid="staleness"]')).toMatch(/\d+/);
    const overdue = await api.call('GET', '/api/compliance/overdue?limit=50', { as: auditor });
    expect(await page.locator('#table-overdue tr[data-case]').count()).toBe(overdue.body.rows.length);
    // An auditor sees the at-risk list (empty for demo cases whose deadlines are long past) and the delivery state.
    const atRisk = await api.call('GET', '/api/compliance/at-risk?limit=50', { as: auditor });
    expect(await page.locator('#table-at-risk tr[data-case]').count()).toBe(atRisk.body.rows.length);
    expect(await page.textContent('[data-testid="deliveries"]')).toMatch(/^в очереди 0 · доставлено 0 · не доставлено 0 · задержка 0 s$/);

    // Filter: one unit.
    await page.selectOption('#f-unit', 'almaty');
    await page.click('#filters button[type=submit]');
    const almaty = await api.call('GET', '/api/compliance/summary?groupBy=service&unit=almaty', { as: auditor });
    expect(rates(almaty.body)).not.toEqual(rates(byService.body));
    await page.waitForFunction((expected) => {
      const chart = (globalThis as any).Chart.getChart('chart-service');
      return JSON.stringify(chart.data.datasets[0].data) === JSON.stringify(expected);
    }, Object.values(rates(almaty.body)));
    expect(await chartData('chart-service')).toEqual(rates(almaty.body));

    // Drill down: service → its steps (table row), step → its cases (a click on the chart's bar), case → history.
    const service = 'civil-service-testing';
    await page.click(`#table-service tr[data-service="${service}"]`);
    const steps = await api.call('GET', `/api/compliance/summary?groupBy=step&serviceId=${service}&unit=almaty`, { as: auditor });
    await page.waitForFunction((n) => (globalThis as any).Chart.getChart('chart-step')?.$rows.length === n, steps.body.rows.length);
    expect(await chartData('chart-step')).toEqual(rates(steps.body));
    const bar = await page.evaluate(() => {
      const chart = (globalThis as any).Chart.getChart('chart-step');
      const element = chart.getDatasetMeta(0).data[0];
      const rect = chart.canvas.getBoundingClientRect();
      return { x: rect.left + element.x - 5, y: rect.top + element.y, key: chart.$rows[0].key };
    });
    await page.mouse.click(bar.x, bar.y);
    await page.waitForSelector('#table-cases tr[data-case]');
    const stepCases = await api.call('GET', `/api/compliance/step-cases?serviceId=${service}&stepId=${bar.key}&unit=almaty&limit=100`, { as: auditor });
    expect(await page.locator('#table-cases tr[data-case]').count()).toBe(stepCases.body.cases.length);
    const caseId = await page.getAttribute('#table-cases tr[data-case]', 'data-case');
    await page.click(`#table-cases tr[data-case="${caseId}"]`);
    await page.waitForFunction((id) => (globalThis as any).document.querySelector('[data-testid="history-case"]')?.textContent === id, caseId);
    const history = await api.call('GET', `/api/cases/${caseId}/history`, { as: auditor });
    expect(await page.locator('#table-history tr').count()).toBe(history.body.events.length + 1);
    expect(await page.textContent('#table-history')).toContain('Заявление подано');

    // The clause of each act carries its appendix (order 184 numbers paragraphs afresh in each appendix).
    const cited = (history.body.events as { citation: { ru: string; kk: string } }[]).map((e) => e.citation);
    expect(cited[0]!.ru).toMatch(/^приказ 184, прил\. 1, п\. \d+/);
    expect(await page.textContent('#table-history')).toContain(cited[0]!.ru);
    await page.waitForFunction(() => /●/.test((globalThis as any).document.querySelector('#live')?.textContent ?? ''));

    // Kazakh labels: every string of the page, the live indicator and the case history included.
    await page.selectOption('#lang', 'kk');
    await page.waitForFunction(() => (globalThis as any).document.querySelector('h1')?.textContent === 'Мемлекеттік қызметтер мерзімдерінің сақталуы');
    await page.waitForFunction((kk) => (globalThis as any).document.querySelector('#table-history')?.textContent.includes(kk), cited[0]!.kk);
    expect(await page.textContent('#live')).toBe('● жаңартылуда');
    expect(await page.title()).toBe('reglament — мерзімдердің сақталуы');
    expect(await page.textContent('#table-history')).toContain('Тестілеу әкімшісі');

    // English: nothing of the page's own wording stays Russian.
    await page.selectOption('#lang', 'en');
    await page.waitForFunction(() => (globalThis as any).document.querySelector('h1')?.textContent === 'Public service deadline compliance');
    expect(await page.textContent('#live')).toBe('● live');
    const ownWords = await page.evaluate(() => [...(globalThis as any).document.querySelectorAll('[data-i18n]')].map((el: { textContent: string }) => el.textContent));
    expect(ownWords.filter((w: string) => /[а-яё]/i.test(w))).toEqual([]);
    await page.selectOption('#lang', 'kk');
    await page.waitForFunction(() => (globalThis as any).document.querySelector('h1')?.textContent === 'Мемлекеттік қызметтер мерзімдерінің сақталуы');

    mkdirSync(ARTIFACTS, { recursive: true });
    await page.screenshot({ path: join(ARTIFACTS, 'dashboard.png'), fullPage: true });
    expect(errors).toEqual([]);
  }, 90_000);

  it('the API docs (Swagger UI) render under their Content-Security-Policy', async () => {
    const docs = await browser.newPage();
    const errors: string[] = [];
    docs.on('pageerror', (e) => errors.push(e.message));
    docs.on('console', (m) => m.type() === 'error' && errors.push(m.text()));
    const served = await docs.goto(`${api.url}/api/docs`);
    expect(await served!.headerValue('content-security-policy')).toMatch(/script-src 'self'(;|$)/);
    await docs.waitForSelector('.swagger-ui .opblock-tag', { timeout: 20_000 });
    expect(await docs.textContent('.swagger-ui .info .title')).toContain('reglament');
    expect(errors).toEqual([]);
    await docs.close();
  }, 60_000);
});
