/**
 * The dashboard page in a real headless Chromium (Debian's, driven by playwright-core) against the real
 * server and seeded demo data: the charts show the API's numbers, a filter changes them, drill-down goes
 * from a service to its steps, to their cases and to one case's history. A screenshot is kept in
 * test-artifacts/ for a person to look at, one per language and width, and one of the print layout.
 */
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { chromium, type Browser, type BrowserContext, type Page, type Route } from 'playwright-core';
import { seedDemo } from '../../src/demo/demo-seeder';
import { startHarness, type ApiHarness } from '../support/api-harness';
import { mintToken } from '../../src/modules/identity/token-verifier';
import { DeadlineScheduler } from '../../src/modules/deadline-alerts/scheduler/deadline-scheduler';
import { TimerStore } from '../../src/modules/deadline-alerts/scheduler/timer-store';
import { SCHEDULER_ACTOR } from '../../src/modules/deadline-alerts/domain/deadline-events';

// Globals of the page, for the functions this spec runs inside it (the project compiles without the DOM library).
declare const document: any, sessionStorage: any, getComputedStyle: any;
type HTMLElement = { dataset: Record<string, string> };

const CHROMIUM = '/usr/bin/chromium';
const ARTIFACTS = join(__dirname, '../../test-artifacts');
// Flags that work on this closed-network machine: no sandbox as root, no background connections.
const FLAGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];
const auditor = { sub: 'auditor-1', name: 'Аудитор', roles: ['auditor'], unit: 'hq' };

const AXE = join(__dirname, '../../node_modules/axe-core/axe.min.js');
const WORDS = {
  ru: {
    dataAsOf: 'данные на',
    live: 'обновляется',
    total: 'всего',
    expired: 'Срок действия токена истёк. Войдите снова с новым токеном.',
    signInAgain: 'Войти снова',
    head: 'Руководитель',
    signOut: 'Выйти',
    malformed:
      'Это не токен доступа: токен (JWT) — три части из латинских букв, цифр, «-» и «_», разделённые точками, не длиннее 8 КиБ. Скопируйте его целиком, без пробелов и переносов строк.',
    refused: 'Токен не принят. Проверьте его или получите новый и войдите снова.',
    unreachable: 'Сервис недоступен: нет связи с сервером. Проверьте подключение и повторите.',
    tooMany: 'Слишком много запросов. Повторите через {n} с.',
    forbidden: 'Ваши роли не дают доступа к этим данным.',
    serverError: 'Сервис ответил ошибкой ({status}). Повторите позже.',
    liveRetry: 'обновления: слишком много запросов, переподключение через {n} с',
    lag: 'задержка 0 с',
    scheduler: 'Планировщик сроков (система)',
  },
  kk: {
    dataAsOf: 'деректер уақыты',
    live: 'жаңартылуда',
    total: 'барлығы',
    expired: 'Токеннің мерзімі өтті. Жаңа токенмен қайта кіріңіз.',
    signInAgain: 'Қайта кіру',
    head: 'Басшы',
    signOut: 'Шығу',
    malformed:
      'Бұл қол жеткізу токені емес: токен (JWT) — нүктелермен бөлінген латын әріптерінен, цифрлардан, «-» және «_» таңбаларынан тұратын үш бөлік, 8 КиБ-тан аспайды. Оны бос орынсыз және жол ауыстырусыз толық көшіріңіз.',
    refused: 'Токен қабылданбады. Оны тексеріңіз немесе жаңасын алып, қайта кіріңіз.',
    unreachable: 'Қызмет қолжетімсіз: сервермен байланыс жоқ. Қосылымды тексеріп, қайталаңыз.',
    tooMany: 'Сұраныстар тым көп. {n} с кейін қайталаңыз.',
    forbidden: 'Сіздің рөлдеріңіз бұл деректерге қол жеткізуге рұқсат бермейді.',
    serverError: 'Қызмет қатемен жауап берді ({status}). Кейінірек қайталаңыз.',
    liveRetry: 'жаңартулар: сұраныстар тым көп, {n} с кейін қайта қосылады',
    lag: 'кідіріс 0 с',
    scheduler: 'Мерзімдер жоспарлағышы (жүйе)',
  },
  en: {
    dataAsOf: 'data as of',
    live: 'live',
    total: 'total',
    expired: 'Your access token has expired. Sign in again with a new token.',
    signInAgain: 'Sign in again',
    head: 'Head',
    signOut: 'Sign out',
    malformed:
      'This is not an access token: a token (JWT) is three parts of Latin letters, digits, "-" and "_" separated by dots, at most 8 KiB. Copy it whole, without spaces or line breaks.',
    refused: 'The access token was not accepted. Check it, or get a new one, and sign in again.',
    unreachable: 'The service cannot be reached. Check the connection and try again.',
    tooMany: 'Too many requests. Try again in {n} s.',
    forbidden: 'Your roles do not give access to this.',
    serverError: 'The service answered with an error ({status}). Try again later.',
    liveRetry: 'updates: too many requests, reconnecting in {n} s',
    lag: 'lag 0 s',
    scheduler: 'Deadline scheduler (system)',
  },
} as const;
const LANGS = ['ru', 'kk', 'en'] as const;
const fill = (text: string, values: Record<string, string | number>) =>
  text.replace(/\{(\w+)\}/g, (_m, k: string) => String(values[k]));

const describeWithBrowser = existsSync(CHROMIUM) ? describe : describe.skip;

describeWithBrowser('the /dashboard page in headless Chromium', () => {
  let api: ApiHarness;
  let browser: Browser;
  let page: Page;
  let token: string;

  const rates = (body: { rows: { key: string; complianceRate: number | null }[] }) =>
    Object.fromEntries(
      body.rows.map((r) => [r.key, r.complianceRate === null ? null : Math.round(r.complianceRate * 1000) / 10]),
    );
  const chartData = (id: string) =>
    page.evaluate((canvasId) => {
      const chart = (globalThis as any).Chart.getChart(canvasId);
      return chart
        ? Object.fromEntries(
            chart.$rows.map((r: { key: string }, i: number) => [r.key, chart.data.datasets[0].data[i]]),
          )
        : null;
    }, id);

  beforeAll(async () => {
    api = await startHarness();
    const { infra } = api.app;
    const run = await seedDemo(
      {
        eventLog: infra.eventLog,
        catalog: infra.reference.catalog,
        calendar: infra.reference.calendar,
        backDatedAfterMs: 24 * 3_600_000,
      },
      { cases: 60, seed: 'dashboard', concurrency: 8 },
    );
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

  it("loads against the demo data and draws the API's numbers; a filter changes them; drill-down reaches a case history", async () => {
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
    expect(await page.textContent('[data-testid="deliveries"]')).toMatch(
      /^в очереди 0 · доставлено 0 · не доставлено 0 · задержка 0 с$/,
    );

    // Filter: one unit.
    await page.selectOption('#f-unit', 'almaty');
    await page.click('#filters button[type=submit]');
    const almaty = await api.call('GET', '/api/compliance/summary?groupBy=service&unit=almaty', { as: auditor });
    expect(rates(almaty.body)).not.toEqual(rates(byService.body));
    await page.waitForFunction(
      (expected) => {
        const chart = (globalThis as any).Chart.getChart('chart-service');
        return JSON.stringify(chart.data.datasets[0].data) === JSON.stringify(expected);
      },
      Object.values(rates(almaty.body)),
    );
    expect(await chartData('chart-service')).toEqual(rates(almaty.body));

    // Drill down: service → its steps (table row), step → its cases (a click on the chart's bar), case → history.
    const service = 'civil-service-testing';
    await page.click(`#table-service tr[data-service="${service}"]`);
    const steps = await api.call('GET', `/api/compliance/summary?groupBy=step&serviceId=${service}&unit=almaty`, {
      as: auditor,
    });
    await page.waitForFunction(
      (n) => (globalThis as any).Chart.getChart('chart-step')?.$rows.length === n,
      steps.body.rows.length,
    );
    expect(await chartData('chart-step')).toEqual(rates(steps.body));
    const bar = await page.evaluate(() => {
      const chart = (globalThis as any).Chart.getChart('chart-step');
      const element = chart.getDatasetMeta(0).data[0];
      const rect = chart.canvas.getBoundingClientRect();
      return { x: rect.left + element.x - 5, y: rect.top + element.y, key: chart.$rows[0].key };
    });
    await page.mouse.click(bar.x, bar.y);
    await page.waitForSelector('#table-cases tr[data-case]');
    const stepCases = await api.call(
      'GET',
      `/api/compliance/step-cases?serviceId=${service}&stepId=${bar.key}&unit=almaty&limit=100`,
      { as: auditor },
    );
    expect(await page.locator('#table-cases tr[data-case]').count()).toBe(stepCases.body.cases.length);
    const caseId = await page.getAttribute('#table-cases tr[data-case]', 'data-case');
    await page.click(`#table-cases tr[data-case="${caseId}"]`);
    await page.waitForFunction(
      (id) => (globalThis as any).document.querySelector('[data-testid="history-case"]')?.textContent === id,
      caseId,
    );
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
    await page.waitForFunction(
      () =>
        (globalThis as any).document.querySelector('h1')?.textContent ===
        'Мемлекеттік қызметтер мерзімдерінің сақталуы',
    );
    await page.waitForFunction(
      (kk) => (globalThis as any).document.querySelector('#table-history')?.textContent.includes(kk),
      cited[0]!.kk,
    );
    expect(await page.textContent('#live')).toBe('● жаңартылуда');
    expect(await page.title()).toBe('reglament — мерзімдердің сақталуы');
    expect(await page.textContent('#table-history')).toContain('Тестілеу әкімшісі');

    // English: nothing of the page's own wording stays Russian.
    await page.selectOption('#lang', 'en');
    await page.waitForFunction(
      () => (globalThis as any).document.querySelector('h1')?.textContent === 'Public service deadline compliance',
    );
    expect(await page.textContent('#live')).toBe('● live');
    const ownWords = await page.evaluate(() =>
      [...(globalThis as any).document.querySelectorAll('[data-i18n]')].map(
        (el: { textContent: string }) => el.textContent,
      ),
    );
    expect(ownWords.filter((w: string) => /[а-яё]/i.test(w))).toEqual([]);
    await page.selectOption('#lang', 'kk');
    await page.waitForFunction(
      () =>
        (globalThis as any).document.querySelector('h1')?.textContent ===
        'Мемлекеттік қызметтер мерзімдерінің сақталуы',
    );

    // A case the applicant filed themself: recorded by no name of theirs, its row names their role in the page's language.
    let ownFiling: string | undefined;
    for (const c of stepCases.body.cases as { caseId: string }[]) {
      const h = await api.call('GET', `/api/cases/${c.caseId}/history`, { as: auditor });
      if (h.body.events[0].metadata.actor.id === 'applicant') {
        ownFiling = c.caseId;
        break;
      }
    }
    expect(ownFiling).toBeDefined();
    await page.click(`#table-cases tr[data-case="${ownFiling}"]`);
    await page.waitForFunction(
      (id) => (globalThis as any).document.querySelector('[data-testid="history-case"]')?.textContent === id,
      ownFiling,
    );
    expect(await page.textContent('#table-history')).toContain('Көрсетілетін қызметті алушы');
    expect(await page.textContent('#table-history')).not.toContain('Applicant');

    mkdirSync(ARTIFACTS, { recursive: true });
    await page.screenshot({ path: join(ARTIFACTS, 'dashboard.png'), fullPage: true });
    expect(errors).toEqual([]);
  }, 90_000);

  /** A page with the token signed in, in a language, at a width; axe needs its script injected, which the CSP forbids, so this context bypasses it. */
  async function open(
    lang: 'ru' | 'kk' | 'en',
    width: number,
    signedIn: string | null = token,
    prepare?: (context: BrowserContext) => Promise<unknown>,
  ) {
    const context = await browser.newContext({
      viewport: { width, height: 900 },
      bypassCSP: true,
      acceptDownloads: true,
    });
    await context.addInitScript((l) => sessionStorage.setItem('lang', l), lang);
    await prepare?.(context);
    const tab = await context.newPage();
    const errors: string[] = [];
    tab.on('pageerror', (e) => errors.push(e.message));
    await tab.goto(`${api.url}/dashboard${signedIn === null ? '' : `#token=${encodeURIComponent(signedIn)}`}`);
    return { tab, errors, close: () => context.close() };
  }

  /** What a message element says: its own line (the page's language) and the server's detail under it, if any. */
  const said = (tab: Page, id: string) =>
    tab.evaluate((i) => {
      const el = document.getElementById(i);
      const detail = el.querySelector('.detail');
      return {
        text: [...el.childNodes]
          .filter((n: { nodeType: number }) => n.nodeType === 3)
          .map((n: { textContent: string }) => n.textContent)
          .join(''),
        detail: detail ? detail.textContent : null,
      };
    }, id);

  const seriousViolations = async (tab: Page) => {
    await tab.addScriptTag({ content: readFileSync(AXE, 'utf8') });
    const result = await tab.evaluate(async () =>
      (globalThis as any).axe.run(document, { resultTypes: ['violations'] }),
    );
    return (result.violations as { id: string; impact: string; nodes: { target: string[] }[] }[])
      .filter((v) => v.impact === 'serious' || v.impact === 'critical')
      .map((v) => ({ id: v.id, impact: v.impact, nodes: v.nodes.slice(0, 3).map((n) => n.target.join(' ')) }));
  };

  it.each([
    ['ru', 390],
    ['kk', 390],
    ['en', 390],
    ['ru', 1400],
    ['kk', 1400],
    ['en', 1400],
  ] as const)(
    '%s at %i px: no serious or critical axe violation, no sideways scrolling, every word in the language, staleness as a time',
    async (lang, width) => {
      const { tab, errors, close } = await open(lang, width);
      try {
        await tab.waitForSelector('body[data-ready="true"]', { timeout: 20_000 });
        await tab.waitForFunction(
          (live) => (globalThis as any).document.querySelector('#live')?.textContent === `● ${live}`,
          WORDS[lang].live,
        );
        // Drill down by keyboard so the step, case and history tables are on the page too.
        await tab.focus('#table-service tr[data-service="civil-service-testing"]');
        await tab.keyboard.press('Enter');
        await tab.waitForSelector('#table-step tr[data-step]');
        await tab.focus('#table-step tr[data-step]');
        await tab.keyboard.press('Enter');
        await tab.waitForSelector('#table-cases tr[data-case]');
        await tab.focus('#table-cases tr[data-case]');
        await tab.keyboard.press(' ');
        await tab.waitForFunction(
          () => (globalThis as any).document.querySelector('#table-history tbody tr td') !== null,
        );

        expect(await seriousViolations(tab)).toEqual([]);
        // Signed in: the sign-in form and the expiry notice are gone.
        expect([await tab.isVisible('#login'), await tab.isVisible('#expired')]).toEqual([false, false]);
        const overflow = await tab.evaluate(() => ({
          scroll: document.documentElement.scrollWidth,
          client: document.documentElement.clientWidth,
        }));
        const wide = await tab.evaluate(
          (w) =>
            [...document.querySelectorAll('body *')]
              .filter((el: any) => !el.closest('.scroll') && el.getBoundingClientRect().right > w + 1)
              .slice(0, 5)
              .map(
                (el: any) => `${el.tagName}#${el.id}.${el.className} ${Math.round(el.getBoundingClientRect().right)}`,
              ),
          overflow.client,
        );
        expect({ ...overflow, wide }).toEqual({ ...overflow, scroll: overflow.client, wide: [] });
        const staleness = await tab.textContent('[data-testid="staleness"]');
        expect(staleness).toMatch(new RegExp(`^${WORDS[lang].dataAsOf} (\\S+ )?\\d{2}:\\d{2}:\\d{2}$`));
        expect(staleness).not.toMatch(/position|позиц/i);
        // Roles are named, not given as ids; the English page has no Russian word of its own, the others no English.
        const roles = await tab.locator('#table-overdue tbody tr:first-child td:nth-child(4)').textContent();
        expect(roles).not.toMatch(/[a-z]+-[a-z]+|^(head|employee)$/);
        const own = await tab.evaluate(() =>
          [...document.querySelectorAll('[data-i18n], th, .tools button, .pager button, .pager span')].map(
            (el) => el.textContent ?? '',
          ),
        );
        if (lang === 'en') expect(own.filter((w) => /[а-яё]/i.test(w))).toEqual([]);
        else expect(own.filter((w) => /\b(the|of|and|total|Next|Previous|Download)\b/.test(w))).toEqual([]);
        const charts = await tab.evaluate(() =>
          [...document.querySelectorAll('canvas')].map((c) => c.getAttribute('aria-label')),
        );
        expect(charts.every((name) => typeof name === 'string' && name.length > 10)).toBe(true);
        mkdirSync(ARTIFACTS, { recursive: true });
        await tab.screenshot({ path: join(ARTIFACTS, `dashboard-${lang}-${width}.png`), fullPage: true });
        expect(errors).toEqual([]);
      } finally {
        await close();
      }
    },
    90_000,
  );

  it('date range and as-of pickers filter every list; totals and paging match the API; Enter on a row opens its history', async () => {
    const { tab, errors, close } = await open('ru', 1400);
    try {
      await tab.waitForSelector('body[data-ready="true"]', { timeout: 20_000 });
      const all = await api.call('GET', '/api/compliance/overdue?limit=1000', { as: auditor });
      const zone = api.app.infra.reference.calendar.timeZone;
      const days = (all.body.rows as { startedAt: string }[])
        .map((r) => zone.toLocal(new Date(r.startedAt)).date)
        .sort();
      const [from, to] = [days[0]!, days[Math.floor(days.length * 0.7)]!];
      // As of the end of the period's last day: rows whose deadline passed later are not overdue yet.
      const asOf = days.at(-1)!;
      await tab.fill('#f-from', from);
      await tab.fill('#f-to', to);
      await tab.fill('#f-as-of', asOf);
      await tab.selectOption('#f-page-size', '10');
      await tab.click('#filters button[type=submit]');
      // The page asks for the end of the picked day, 24:00 in Almaty.
      const end = zone.endOfDay(zone.toLocal(zone.toInstant(asOf)).day).toISOString();
      const query = `from=${from}&to=${to}&asOf=${encodeURIComponent(end)}`;
      const overdue = await api.call('GET', `/api/compliance/overdue?${query}&limit=10`, { as: auditor });
      expect(overdue.body.total).toBeGreaterThan(0);
      expect(overdue.body.total).toBeLessThan(all.body.total);
      const rangeText = (list: string) =>
        tab.evaluate((l) => document.querySelector(`[data-testid="range-${l}"]`)?.textContent, list);
      await tab.waitForFunction(
        (text) => (globalThis as any).document.querySelector('[data-testid="range-overdue"]')?.textContent === text,
        `1–${overdue.body.rows.length}, всего ${overdue.body.total}`,
      );
      const ids = (table: string) =>
        tab.evaluate(
          (id) => [...document.querySelectorAll(`#${id} tr[data-case]`)].map((tr) => (tr as HTMLElement).dataset.case),
          table,
        );
      expect(await ids('table-overdue')).toEqual(overdue.body.rows.map((r: { caseId: string }) => r.caseId));
      const atRisk = await api.call('GET', `/api/compliance/at-risk?${query}&limit=10`, { as: auditor });
      expect(await rangeText('atRisk')).toBe(
        `${atRisk.body.total ? 1 : 0}–${atRisk.body.rows.length}, всего ${atRisk.body.total}`,
      );

      // Paging, on the cases of the busiest step (with no period): ten a page, the total, the next page as the API gives it.
      for (const field of ['#f-from', '#f-to', '#f-as-of']) await tab.fill(field, '');
      await tab.click('#filters button[type=submit]');
      let busiest = { serviceId: '', stepId: '', total: 0 };
      for (const service of (await api.call('GET', '/api/compliance/summary?groupBy=service', { as: auditor })).body
        .rows) {
        for (const step of (
          await api.call('GET', `/api/compliance/summary?groupBy=step&serviceId=${service.key}`, { as: auditor })
        ).body.rows)
          if (step.total > busiest.total) busiest = { serviceId: service.key, stepId: step.key, total: step.total };
      }
      await tab.click(`#table-service tr[data-service="${busiest.serviceId}"]`);
      await tab.waitForSelector(`#table-step tr[data-step="${busiest.stepId}"]`);
      await tab.click(`#table-step tr[data-step="${busiest.stepId}"]`);
      const { serviceId, stepId } = busiest;
      const cases = await api.call(
        'GET',
        `/api/compliance/step-cases?serviceId=${serviceId}&stepId=${stepId}&limit=10`,
        { as: auditor },
      );
      expect(cases.body.total).toBeGreaterThan(10);
      await tab.waitForFunction(
        (text) => (globalThis as any).document.querySelector('[data-testid="range-cases"]')?.textContent === text,
        `1–10, всего ${cases.body.total}`,
      );
      expect(await ids('table-cases')).toEqual(cases.body.cases.map((c: { caseId: string }) => c.caseId));
      await tab.click('#pager-cases button[data-step="1"]');
      const second = await api.call(
        'GET',
        `/api/compliance/step-cases?serviceId=${serviceId}&stepId=${stepId}&limit=10&offset=10`,
        { as: auditor },
      );
      await tab.waitForFunction(
        (text) => (globalThis as any).document.querySelector('[data-testid="range-cases"]')?.textContent === text,
        `11–${Math.min(20, cases.body.total)}, всего ${cases.body.total}`,
      );
      expect(await ids('table-cases')).toEqual(second.body.cases.map((c: { caseId: string }) => c.caseId));

      // Keyboard: Tab goes from the table's box to its first row; Enter opens the case's history.
      await tab.evaluate(() => document.querySelector('#table-overdue').closest('.scroll').focus());
      await tab.keyboard.press('Tab');
      const focused = await tab.evaluate(() => document.activeElement?.dataset?.case);
      expect(focused).toBe(overdue.body.rows[0].caseId);
      await tab.keyboard.press('Enter');
      await tab.waitForFunction(
        (id) => (globalThis as any).document.querySelector('[data-testid="history-case"]')?.textContent === id,
        focused,
      );
      expect(errors).toEqual([]);
    } finally {
      await close();
    }
  }, 90_000);

  it("every table downloads as CSV and XLSX with the filters on screen and headings in the page's language", async () => {
    const { tab, errors, close } = await open('kk', 1400);
    try {
      await tab.waitForSelector('body[data-ready="true"]', { timeout: 20_000 });
      await tab.selectOption('#f-unit', 'almaty');
      await tab.click('#filters button[type=submit]');
      const overdue = await api.call('GET', '/api/compliance/overdue?unit=almaty&limit=1', { as: auditor });
      await tab.waitForFunction(
        (n) =>
          (globalThis as any).document
            .querySelector('[data-testid="range-overdue"]')
            ?.textContent.endsWith(`барлығы ${n}`),
        overdue.body.total,
      );
      const take = async (kind: string, format: 'csv' | 'xlsx') => {
        const [file] = await Promise.all([
          tab.waitForEvent('download'),
          tab.click(`.tools[data-export="${kind}"] button[data-format="${format}"]`),
        ]);
        return { name: file.suggestedFilename(), body: readFileSync((await file.path())!) };
      };
      const csv = await take('overdue', 'csv');
      expect(csv.name).toBe('overdue.csv');
      const lines = csv.body
        .toString('utf8')
        .replace(/^\uFEFF/, '')
        .trim()
        .split(/\r?\n/);
      expect(lines[0]).toMatch(/^Қолхат,Іс,Қызмет,Бөлімше,Қадам,/);
      expect(lines.length - 1).toBe(overdue.body.total);
      expect(lines.slice(1).every((l) => l.split(',')[3] === 'almaty')).toBe(true);
      const ExcelJS = (await import('exceljs')).default;
      for (const [kind, name] of [
        ['service', 'compliance-by-service.xlsx'],
        ['trend', 'compliance-by-month.xlsx'],
        ['atRisk', 'at-risk.xlsx'],
        ['overdue', 'overdue.xlsx'],
      ] as const) {
        const xlsx = await take(kind, 'xlsx');
        expect(xlsx.name).toBe(name);
        const book = new ExcelJS.Workbook();
        await book.xlsx.load(xlsx.body as never);
        expect(book.worksheets[0]!.getRow(1).getCell(1).value).toMatch(/^(Кілт|Қолхат)$/);
      }
      const services = await api.call('GET', '/api/compliance/summary?groupBy=service&unit=almaty', { as: auditor });
      const serviceCsv = (await take('service', 'csv')).body.toString('utf8').trim().split(/\r?\n/);
      expect(serviceCsv.length - 1).toBe(services.body.rows.length);
      // The drill-down tables download once chosen.
      await tab.click('#table-service tr[data-service="civil-service-testing"]');
      await tab.waitForSelector('#table-step tr[data-step]');
      expect((await take('step', 'csv')).name).toBe('compliance-by-step.csv');
      const stepKey = await tab.getAttribute('#table-step tr[data-step]', 'data-step');
      await tab.click('#table-step tr[data-step]');
      await tab.waitForSelector('#table-cases tr[data-case]');
      const cases = await take('cases', 'csv');
      expect(cases.name).toBe(`step-cases-${stepKey}.csv`);
      const stepCases = await api.call(
        'GET',
        `/api/compliance/step-cases?serviceId=civil-service-testing&stepId=${stepKey}&unit=almaty&limit=1`,
        { as: auditor },
      );
      expect(cases.body.toString('utf8').trim().split(/\r?\n/).length - 1).toBe(stepCases.body.total);
      // And the history of the case a row opens.
      const caseId = await tab.getAttribute('#table-cases tr[data-case]', 'data-case');
      await tab.click(`#table-cases tr[data-case="${caseId}"]`);
      await tab.waitForFunction(
        (id) => (globalThis as any).document.querySelector('[data-testid="history-case"]')?.textContent === id,
        caseId,
      );
      const history = await take('history', 'xlsx');
      expect(history.name).toBe(`history-${caseId}.xlsx`);
      const book = new ExcelJS.Workbook();
      await book.xlsx.load(history.body as never);
      const sheet = book.worksheets[0]!;
      expect([sheet.getRow(1).getCell(2).value, sheet.getRow(2).getCell(2).value]).toEqual(['Оқиға', 'Өтініш берілді']);
      const events = await api.call('GET', `/api/cases/${caseId}/history`, { as: auditor });
      expect(sheet.actualRowCount - 1).toBe(events.body.events.length);
      expect(errors).toEqual([]);
    } finally {
      await close();
    }
  }, 90_000);

  it('the print layout leaves out the controls and keeps the tables', async () => {
    const { tab, close } = await open('ru', 1000);
    try {
      await tab.waitForSelector('body[data-ready="true"]', { timeout: 20_000 });
      await tab.emulateMedia({ media: 'print' });
      const shown = (selector: string) =>
        tab.evaluate((s) => getComputedStyle(document.querySelector(s)!).display !== 'none', selector);
      expect(await shown('#filters')).toBe(false);
      expect(await shown('.tools')).toBe(false);
      expect(await shown('.pager')).toBe(false);
      expect(await shown('#table-overdue')).toBe(true);
      expect(await shown('#chart-service')).toBe(true);
      mkdirSync(ARTIFACTS, { recursive: true });
      await tab.screenshot({ path: join(ARTIFACTS, 'dashboard-print.png'), fullPage: true });
    } finally {
      await close();
    }
  }, 60_000);

  it.each(['ru', 'kk', 'en'] as const)(
    "%s: an expired token shows a notice in the page's language and leads back to sign-in",
    async (lang) => {
      const expired = await mintToken(
        api.app.infra.identity.signing!.secret,
        { sub: 'auditor-1', name: 'Аудитор', roles: ['auditor'], unit: 'hq' },
        Math.floor(Date.now() / 1000) - 60,
        api.app.infra.config.auth,
      );
      const { tab, errors, close } = await open(lang, 390, expired);
      try {
        await tab.waitForSelector('#expired:not([hidden])', { timeout: 20_000 });
        expect(await said(tab, 'expired-text')).toEqual({ text: WORDS[lang].expired, detail: 'the token has expired' });
        expect(await tab.isVisible('#app')).toBe(false);
        expect(await tab.evaluate(() => sessionStorage.getItem('token'))).toBeNull();
        expect(await seriousViolations(tab)).toEqual([]);
        await tab.click('#sign-in-again');
        await tab.waitForSelector('#login:not([hidden])');
        expect(await tab.evaluate(() => document.activeElement?.id)).toBe('token');
        // A fresh token from there opens the dashboard again.
        await tab.fill('#token', token);
        await tab.click('#use-token');
        await tab.waitForSelector('body[data-ready="true"]', { timeout: 20_000 });
        mkdirSync(ARTIFACTS, { recursive: true });
        expect(errors).toEqual([]);
      } finally {
        await close();
      }
    },
    60_000,
  );

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
  // A newline, Cyrillic, more than 16 KiB, just over 8 KiB, two parts, a space: none is a JWT's compact form.
  const MALFORMED = [
    `${'eyJhbGciOiJIUzI1NiJ9'}.${'eyJzdWIiOiJ4In0'}\n.${'c2ln'}`,
    'eyJhbGciOiJIUzI1NiJ9.токен.c2ln',
    `${'a'.repeat(6000)}.${'b'.repeat(6000)}.${'c'.repeat(5000)}`,
    `${'a'.repeat(4000)}.${'b'.repeat(4000)}.${'c'.repeat(191)}`,
    'eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ4In0',
    'eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ4In0 .c2ln',
  ];
  const signInShown = async (tab: Page) => ({
    login: await tab.isVisible('#login'),
    app: await tab.isVisible('#app'),
    stored: await tab.evaluate(() => sessionStorage.getItem('token')),
  });

  it.each(LANGS)(
    "%s: a token that is not a JWT's shape is refused from #token= and at sign-in, in the page's language, and never stored",
    async (lang) => {
      const { tab, errors, close } = await open(lang, 390, MALFORMED[0]!);
      try {
        for (const bad of MALFORMED) {
          // Another page of the origin between, so the next address loads the dashboard afresh (a bare hash change would not).
          await tab.goto(`${api.url}/health/live`);
          await tab.goto(`${api.url}/dashboard#token=${encodeURIComponent(bad)}`);
          await tab.waitForSelector('#login:not([hidden])');
          expect(await said(tab, 'login-error')).toEqual({ text: WORDS[lang].malformed, detail: null });
          expect(await signInShown(tab)).toEqual({ login: true, app: false, stored: null });
          expect(tab.url()).toBe(`${api.url}/dashboard`);
          // The form refuses it too (an input drops line breaks itself, so this one reaches the page whole only by the address).
          if (bad.includes('\n')) continue;
          await tab.fill('#token', bad);
          await tab.click('#use-token');
          expect(await said(tab, 'login-error')).toEqual({ text: WORDS[lang].malformed, detail: null });
          expect(await signInShown(tab)).toEqual({ login: true, app: false, stored: null });
        }
        expect(await seriousViolations(tab)).toEqual([]);
        mkdirSync(ARTIFACTS, { recursive: true });
        await tab.screenshot({ path: join(ARTIFACTS, `dashboard-malformed-token-${lang}.png`) });
        // A good token from the same form signs in, and the message is gone.
        await tab.fill('#token', token);
        await tab.press('#token', 'Enter');
        await tab.waitForSelector('body[data-ready="true"]', { timeout: 20_000 });
        expect(await said(tab, 'login-error')).toEqual({ text: '', detail: null });
        expect(await tab.evaluate(() => sessionStorage.getItem('token'))).toBe(token);
        expect(errors).toEqual([]);
      } finally {
        await close();
      }
    },
    60_000,
  );

  it('a malformed token an earlier page kept in sessionStorage leads to the sign-in form, not to an error on every reload', async () => {
    const { tab, errors, close } = await open('kk', 1000, null, (context) =>
      context.addInitScript((bad) => {
        if (sessionStorage.getItem('seeded')) return;
        sessionStorage.setItem('seeded', '1');
        sessionStorage.setItem('token', bad);
      }, `${'eyJhbGciOiJIUzI1NiJ9'}\n.eyJzdWIiOiJ4In0.c2ln`),
    );
    try {
      await tab.waitForSelector('#login:not([hidden])');
      expect(await said(tab, 'login-error')).toEqual({ text: WORDS.kk.malformed, detail: null });
      expect(await said(tab, 'error')).toEqual({ text: '', detail: null });
      expect(await signInShown(tab)).toEqual({ login: true, app: false, stored: null });
      await tab.reload();
      await tab.waitForSelector('#login:not([hidden])');
      expect(await signInShown(tab)).toEqual({ login: true, app: false, stored: null });
      expect(errors).toEqual([]);
    } finally {
      await close();
    }
  }, 60_000);

  it.each(LANGS)(
    '%s: "Sign out" forgets the token, stops the live stream, clears the data and shows the sign-in form',
    async (lang) => {
      const { tab, errors, close } = await open(lang, 390);
      try {
        await tab.waitForSelector('body[data-ready="true"]', { timeout: 20_000 });
        await tab.waitForFunction(
          (live) => (globalThis as any).document.querySelector('#live')?.textContent === `● ${live}`,
          WORDS[lang].live,
        );
        expect(await tab.isVisible('#sign-out')).toBe(true);
        expect(await tab.textContent('#sign-out')).toBe(WORDS[lang].signOut);
        await tab.click('#table-overdue tr[data-case]');
        await tab.waitForSelector('#table-history tbody tr');
        const streamEnded = tab.waitForEvent('requestfailed', (r) => r.url().endsWith('/api/compliance/stream'));
        await tab.click('#sign-out');
        await tab.waitForSelector('#login:not([hidden])');
        expect((await streamEnded).failure()?.errorText).toBe('net::ERR_ABORTED');
        expect(await signInShown(tab)).toEqual({ login: true, app: false, stored: null });
        expect(await tab.evaluate(() => document.activeElement?.id)).toBe('token');
        expect(await tab.isVisible('#sign-out')).toBe(false);
        expect(await tab.isVisible('#expired')).toBe(false);
        expect(await tab.textContent('#live')).toBe('');
        expect(await tab.locator('#table-history tr, #table-overdue tr').count()).toBe(0);
        expect(await tab.getAttribute('body', 'data-ready')).toBeNull();
        // A reload keeps the reader signed out.
        await tab.reload();
        await tab.waitForSelector('#login:not([hidden])');
        expect(await signInShown(tab)).toEqual({ login: true, app: false, stored: null });
        await tab.fill('#token', token);
        await tab.click('#use-token');
        await tab.waitForSelector('body[data-ready="true"]', { timeout: 20_000 });
        expect(await tab.isVisible('#sign-out')).toBe(true);
        expect(errors).toEqual([]);
      } finally {
        await close();
      }
    },
    60_000,
  );

  it.each(LANGS)(
    "%s: a token the server does not accept is said to be not accepted (with the server's reason), not expired",
    async (lang) => {
      const [header, payload, signature] = token.split('.');
      const forged = `${header}.${payload}.${signature!.startsWith('A') ? 'B' : 'A'}${signature!.slice(1)}`;
      const { tab, errors, close } = await open(lang, 390, forged);
      try {
        await tab.waitForSelector('#expired:not([hidden])', { timeout: 20_000 });
        expect(await said(tab, 'expired-text')).toEqual({
          text: WORDS[lang].refused,
          detail: 'the token signature is not valid',
        });
        expect(await signInShown(tab)).toEqual({ login: false, app: false, stored: null });
        expect(await seriousViolations(tab)).toEqual([]);
        expect(errors).toEqual([]);
      } finally {
        await close();
      }
    },
    60_000,
  );

  it('a token that worked and then ran out is said to have expired; with no reason given, a 401 at once is "not accepted"', async () => {
    // Lives 4 s: the page loads with it, then the stream's last event (or the next request) says it expired.
    const shortLived = await mintToken(
      api.app.infra.identity.signing!.secret,
      auditor,
      Math.floor(Date.now() / 1000) + 4,
      api.app.infra.config.auth,
    );
    const first = await open('en', 1000, shortLived);
    try {
      await first.tab.waitForSelector('body[data-ready="true"]', { timeout: 20_000 });
      await first.tab.waitForSelector('#expired:not([hidden])', { timeout: 20_000 });
      expect((await said(first.tab, 'expired-text')).text).toBe(WORDS.en.expired);
      expect(await signInShown(first.tab)).toEqual({ login: false, app: false, stored: null });
      expect(first.errors).toEqual([]);
    } finally {
      await first.close();
    }

    // A proxy's bare 401 (no problem detail): after the token has worked it can only have run out …
    let refuse = false;
    const bare401 = (route: Route) => (refuse ? route.fulfill({ status: 401, body: '' }) : route.fallback());
    const later = await open('ru', 1000, token, (context) => context.route('**/api/compliance/**', bare401));
    try {
      await later.tab.waitForSelector('body[data-ready="true"]', { timeout: 20_000 });
      refuse = true;
      await later.tab.click('#filters button[type=submit]');
      await later.tab.waitForSelector('#expired:not([hidden])');
      expect(await said(later.tab, 'expired-text')).toEqual({ text: WORDS.ru.expired, detail: null });
    } finally {
      await later.close();
    }
    // … and at the first request after signing in, the token was not accepted.
    refuse = true;
    const atOnce = await open('ru', 1000, token, (context) => context.route('**/api/**', bare401));
    try {
      await atOnce.tab.waitForSelector('#expired:not([hidden])', { timeout: 20_000 });
      expect(await said(atOnce.tab, 'expired-text')).toEqual({ text: WORDS.ru.refused, detail: null });
    } finally {
      await atOnce.close();
    }
  }, 60_000);

  it.each(LANGS)(
    "%s: the API down, 429, 502 and 403 are each told in the page's language, the server's detail in a smaller line",
    async (lang) => {
      type Answer = (route: Route) => Promise<void>;
      let answer = null as Answer | null;
      const problem =
        (status: number, detail: string, headers: Record<string, string> = {}) =>
        (route: Route) =>
          route.fulfill({
            status,
            headers: { 'content-type': 'application/problem+json', ...headers },
            body: JSON.stringify({ type: 'about:blank', title: 'x', status, detail }),
          });
      const { tab, errors, close } = await open(lang, 390, token, (context) =>
        context.route(
          (url) => url.pathname === '/api/compliance/summary' && url.searchParams.get('groupBy') === 'service',
          (route) => (answer ? answer(route) : route.fallback()),
        ),
      );
      try {
        await tab.waitForSelector('body[data-ready="true"]', { timeout: 20_000 });
        const cases: [Answer, { text: string; detail: string | null }][] = [
          [(route) => route.abort('connectionrefused'), { text: WORDS[lang].unreachable, detail: null }],
          [
            problem(429, 'requests: at most 600 per minute per caller; try again in 17 s', { 'retry-after': '17' }),
            {
              text: fill(WORDS[lang].tooMany, { n: 17 }),
              detail: 'requests: at most 600 per minute per caller; try again in 17 s',
            },
          ],
          [
            (route) => route.fulfill({ status: 502, contentType: 'text/html', body: '<h1>502 Bad Gateway</h1>' }),
            { text: fill(WORDS[lang].serverError, { status: 502 }), detail: null },
          ],
          [
            problem(403, 'this route needs one of the roles auditor, admin'),
            { text: WORDS[lang].forbidden, detail: 'this route needs one of the roles auditor, admin' },
          ],
        ];
        for (const [how, expected] of cases) {
          answer = how;
          await tab.click('#filters button[type=submit]');
          await tab.waitForFunction(
            (text) => (globalThis as any).document.getElementById('error').firstChild?.textContent === text,
            expected.text,
          );
          expect(await said(tab, 'error')).toEqual(expected);
        }
        mkdirSync(ARTIFACTS, { recursive: true });
        await tab.screenshot({ path: join(ARTIFACTS, `dashboard-error-${lang}.png`) });
        // The API back: the message goes.
        answer = null;
        await tab.click('#filters button[type=submit]');
        await tab.waitForFunction(() => (globalThis as any).document.getElementById('error').textContent === '');
        expect(errors).toEqual([]);
      } finally {
        await close();
      }
    },
    60_000,
  );

  it('the live stream answered 429 with Retry-After waits that long before reconnecting, and says so', async () => {
    const asked: number[] = [];
    const { tab, errors, close } = await open('ru', 1000, token, (context) =>
      context.route('**/api/compliance/stream', (route) => {
        asked.push(Date.now());
        return asked.length === 1
          ? route.fulfill({
              status: 429,
              headers: { 'content-type': 'application/problem+json', 'retry-after': '6' },
              body: JSON.stringify({ status: 429, detail: 'streams: at most 2 per caller' }),
            })
          : route.fallback();
      }),
    );
    try {
      const live = () => tab.textContent('#live');
      await tab.waitForFunction(() => /6/.test((globalThis as any).document.querySelector('#live')?.textContent ?? ''));
      expect(await live()).toBe(fill(WORDS.ru.liveRetry, { n: 6 }));
      // The language can change while it waits.
      await tab.selectOption('#lang', 'kk');
      expect(await live()).toBe(fill(WORDS.kk.liveRetry, { n: 6 }));
      await tab.selectOption('#lang', 'en');
      expect(await live()).toBe(fill(WORDS.en.liveRetry, { n: 6 }));
      await tab.waitForFunction(
        () => (globalThis as any).document.querySelector('#live')?.textContent === '● live',
        null,
        {
          timeout: 15_000,
        },
      );
      expect(asked.length).toBe(2);
      expect(asked[1]! - asked[0]!).toBeGreaterThanOrEqual(5_500);
      expect(errors).toEqual([]);
    } finally {
      await close();
    }
  }, 60_000);

  // Last: the scheduler it runs adds deadline events to the demo cases the tests above count.
  it.each(LANGS)(
    "%s: the delivery lag's unit, and the deadline scheduler and its role in a case's history, in the page's language",
    async (lang) => {
      if (lang === 'ru') {
        const dir = mkdtempSync(join(tmpdir(), 'dashboard-timers-'));
        const store = new TimerStore(dir);
        try {
          const { infra } = api.app;
          const scheduler = new DeadlineScheduler({
            log: infra.eventLog,
            catalog: infra.reference.catalog,
            calendar: infra.reference.calendar,
            store,
          });
          await scheduler.tick();
        } finally {
          store.close();
          rmSync(dir, { recursive: true, force: true });
        }
      }
      const overdue = await api.call('GET', '/api/compliance/overdue?limit=50', { as: auditor });
      let caseId: string | undefined;
      for (const row of overdue.body.rows as { caseId: string }[]) {
        const h = await api.call('GET', `/api/cases/${row.caseId}/history`, { as: auditor });
        if (
          h.body.events.some((e: { metadata: { actor: { id: string } } }) => e.metadata.actor.id === SCHEDULER_ACTOR.id)
        ) {
          caseId = row.caseId;
          break;
        }
      }
      expect(caseId).toBeDefined();
      const { tab, errors, close } = await open(lang, 1400);
      try {
        await tab.waitForSelector('body[data-ready="true"]', { timeout: 20_000 });
        expect(await tab.textContent('[data-testid="deliveries"]')).toMatch(new RegExp(` · ${WORDS[lang].lag}$`));
        await tab.click(`#table-overdue tr[data-case="${caseId}"]`);
        await tab.waitForFunction(
          (id) => (globalThis as any).document.querySelector('[data-testid="history-case"]')?.textContent === id,
          caseId,
        );
        const actors = await tab.evaluate(() =>
          [...document.querySelectorAll('#table-history tbody tr td:nth-child(3)')].map((td) => td.textContent),
        );
        expect(actors).toContain(WORDS[lang].scheduler);
        if (lang !== 'en') expect(actors.filter((a: string) => /[a-z]/i.test(a))).toEqual([]);
        expect(errors).toEqual([]);
      } finally {
        await close();
      }
    },
    60_000,
  );
});
