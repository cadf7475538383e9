/**
 * Compliance reads on the real server and SQLite file, over seeded demo history: summaries from rollups
 * agree with every case's own SLA rows, the overdue list and the worklist, the staleness stamp, live
 * updates over Server-Sent Events, and bad input.
 */
import { seedDemo } from '../../src/demo/demo-seeder';
import { makeIin, startHarness, type ApiHarness } from '../support/api-harness';
import { callerFor } from '../support/case-walk';

const auditor = { sub: 'auditor-1', roles: ['auditor'], unit: 'hq' };
let api: ApiHarness;
let head: number;

type Status = 'met' | 'breached' | 'open' | 'overdue' | 'not-applicable';
interface SlaRow {
  stepId: string;
  status: Status;
}

/** Every case's SLA rows, through the case SLA endpoint (computed from the case document, not the rollups). */
async function allRows(asOf: string) {
  const rows: { serviceId: string; unit: string; stepId: string; status: Status }[] = [];
  let cursor: string | null = null;
  do {
    const page: { body: { cases: { caseId: string; serviceId: string; unit: string }[]; nextCursor: string | null } } =
      await api.call(
        'GET',
        `/api/cases?limit=500${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}&after=${head}`,
        { as: auditor },
      );
    for (const c of page.body.cases) {
      const sla = await api.call('GET', `/api/cases/${c.caseId}/sla?asOf=${encodeURIComponent(asOf)}`, { as: auditor });
      for (const r of sla.body.rows as SlaRow[])
        rows.push({ serviceId: c.serviceId, unit: c.unit, stepId: r.stepId, status: r.status });
    }
    cursor = page.body.nextCursor;
  } while (cursor);
  return rows;
}

function tally(rows: { status: Status }[]) {
  const count = (s: Status) => rows.filter((r) => r.status === s).length;
  return {
    total: rows.length,
    met: count('met'),
    breached: count('breached'),
    open: count('open'),
    overdue: count('overdue'),
    notApplicable: count('not-applicable'),
  };
}

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
    { cases: 80, seed: 'compliance-e2e', concurrency: 8 },
  );
  expect(run.refusals).toEqual([]);
  head = await infra.eventLog.headPosition();
  await infra.projections.readModels.waitFor('compliance', head, 20_000);
  await infra.projections.readModels.waitFor('cases', head, 20_000);
}, 60_000);
afterAll(async () => api.close());

describe('summary', () => {
  const asOf = '2021-01-01T00:00:00Z';

  it("by service and by step: the rollups agree with every case's own SLA rows; each answer has its staleness stamp", async () => {
    const rows = await allRows(asOf);
    expect(rows.length).toBeGreaterThan(100);
    const byService = await api.call(
      'GET',
      `/api/compliance/summary?groupBy=service&asOf=${encodeURIComponent(asOf)}&after=${head}`,
      { as: auditor },
    );
    expect(byService.status).toBe(200);
    expect(byService.body.staleness.position).toBeGreaterThanOrEqual(head);
    expect(byService.body.staleness.at).toEqual(expect.any(String));
    expect(Number(byService.headers.get('x-read-position'))).toBe(byService.body.staleness.position);
    const services = [...new Set(rows.map((r) => r.serviceId))].sort();
    expect(byService.body.rows.map((r: { key: string }) => r.key)).toEqual(services);
    for (const row of byService.body.rows) {
      const expected = tally(rows.filter((r) => r.serviceId === row.key));
      expect({
        key: row.key,
        total: row.total,
        met: row.met,
        breached: row.breached,
        open: row.open,
        overdue: row.overdue,
        notApplicable: row.notApplicable,
      }).toEqual({ key: row.key, ...expected });
      expect(row.complianceRate).toBeCloseTo(expected.met / (expected.met + expected.breached + expected.overdue), 3);
      expect(row.label.ru).toEqual(expect.any(String));
    }
    const steps = await api.call(
      'GET',
      `/api/compliance/summary?groupBy=step&serviceId=personnel-reserve&unit=astana&asOf=${encodeURIComponent(asOf)}`,
      { as: auditor },
    );
    for (const row of steps.body.rows) {
      expect({
        key: row.key,
        ...tally(
          rows.filter((r) => r.serviceId === 'personnel-reserve' && r.unit === 'astana' && r.stepId === row.key),
        ),
      }).toEqual({
        key: row.key,
        total: row.total,
        met: row.met,
        breached: row.breached,
        open: row.open,
        overdue: row.overdue,
        notApplicable: row.notApplicable,
      });
    }
  });

  it("durations are in the limit's own unit, with percentiles per unit", async () => {
    const testing = await api.call('GET', '/api/compliance/summary?groupBy=service&serviceId=civil-service-testing', {
      as: auditor,
    });
    const [row] = testing.body.rows;
    expect(row.durationUnit).toBe('minutes');
    expect(row.durations.minutes.p50).toBeLessThanOrEqual(row.durations.minutes.p90);
    expect(row.durationP50).toBe(row.durations.minutes.p50);
  });

  it('by month: filters by period in whole months', async () => {
    const months = await api.call('GET', '/api/compliance/summary?groupBy=month&from=2015-09&to=2015-10-15', {
      as: auditor,
    });
    expect(months.status).toBe(200);
    expect(
      months.body.rows.map((r: { key: string }) => r.key).every((k: string) => k >= '2015-09' && k <= '2015-10'),
    ).toBe(true);
  });

  it("by channel: each group keeps the catalog's (the law's) channel id, says the command's word for it and has a ru/kk/en label", async () => {
    const r = await api.call('GET', '/api/compliance/summary?groupBy=channel', { as: auditor });
    expect(r.status).toBe(200);
    const rows = r.body.rows as {
      key: string;
      requestedChannel: string | null;
      label: { ru: string; kk: string; en: string } | null;
    }[];
    // The demo files through the portal, the PSC and the provider's office: the registry office of order 184 among them.
    expect(rows.map((row) => row.key)).toEqual(expect.arrayContaining(['portal', 'psc', 'provider-registry']));
    for (const row of rows)
      expect(row).toMatchObject({
        requestedChannel: expect.stringMatching(/^(portal|psc|office)$/),
        label: { ru: expect.any(String), kk: expect.any(String), en: expect.any(String) },
      });
    expect(rows.find((row) => row.key === 'provider-registry')).toMatchObject({
      requestedChannel: 'office',
      label: { ru: 'Канцелярия услугодателя', en: "The service provider's registry office" },
    });
    // The catalog says the same: a client reads there which command word files through which of the law's channels.
    const version = await api.call(
      'GET',
      `/api/regulations/${encodeURIComponent('civil-service-testing/order-184-2015')}`,
      { as: auditor },
    );
    expect(
      version.body.channels.map((c: { id: string; requestedChannel: string }) => [c.id, c.requestedChannel]),
    ).toEqual([
      ['provider-registry', 'office'],
      ['psc', 'psc'],
      ['portal', 'portal'],
    ]);
    const csv = await api.call('GET', '/api/compliance/summary?groupBy=channel&format=csv&lang=en', { as: auditor });
    expect(String(csv.body)).toContain("The service provider's registry office");
  });

  it('bad input names the parameter: unknown groupBy, service or version, to before from', async () => {
    const bad = await api.call(
      'GET',
      '/api/compliance/summary?groupBy=weekday&from=2016-01&to=2015-12&asOf=yesterday',
      { as: auditor },
    );
    expect(bad.status).toBe(400);
    expect(bad.body.errors.map((e: { field: string }) => e.field).sort()).toEqual([
      'query.asOf',
      'query.groupBy',
      'query.to',
    ]);
    expect(bad.body.errors.find((e: { field: string }) => e.field === 'query.groupBy').allowed).toBe(
      'service | version | step | unit | assignee | channel | month',
    );
    const service = await api.call('GET', '/api/compliance/summary?serviceId=driving-licence', { as: auditor });
    expect(service.status).toBe(404);
    expect(service.body.errors[0].field).toBe('query.serviceId');
    const version = await api.call('GET', '/api/compliance/summary?versionId=personnel-reserve/order-1-2030', {
      as: auditor,
    });
    expect(version.status).toBe(404);
    expect(version.body.errors[0].field).toBe('query.versionId');
    const head2 = await api.app.infra.eventLog.headPosition();
    const clerk = await api.call('GET', '/api/compliance/summary', { as: callerFor('registry-clerk', 'astana', '') });
    expect(clerk.status).toBe(403);
    // Reads change nothing but the auditors' access log.
    const after = await api.app.infra.eventLog.readAll({ after: head2 });
    expect(after.every((e) => e.streamId.startsWith('access-log-'))).toBe(true);
  });

  it('a head reads only the unit they act for', async () => {
    const own = await api.call('GET', '/api/compliance/summary?groupBy=unit', {
      as: { sub: 'head-1', roles: ['head'], unit: 'almaty' },
    });
    expect(own.body.rows.map((r: { key: string }) => r.key)).toEqual(['almaty']);
    const other = await api.call('GET', '/api/compliance/summary?unit=astana', {
      as: { sub: 'head-1', roles: ['head'], unit: 'almaty' },
    });
    expect(other.status).toBe(403);
  });
});

describe('overdue and worklist', () => {
  it('lists open steps past their deadline, most overdue first, filtered by unit and role', async () => {
    const asOf = '2021-01-01T00:00:00Z';
    const r = await api.call('GET', `/api/compliance/overdue?asOf=${encodeURIComponent(asOf)}&limit=1000`, {
      as: auditor,
    });
    expect(r.status).toBe(200);
    const deadlines = r.body.rows.map((row: { deadline: string }) => row.deadline);
    expect(deadlines).toEqual([...deadlines].sort());
    const expected = (await allRows(asOf)).filter((row) => row.status === 'overdue').length;
    expect(r.body.total).toBe(expected);
    const astanaHeads = await api.call(
      'GET',
      `/api/compliance/overdue?asOf=${encodeURIComponent(asOf)}&unit=astana&role=employee`,
      { as: auditor },
    );
    expect(
      astanaHeads.body.rows.every(
        (row: { unit: string; roles: string[] }) => row.unit === 'astana' && row.roles.includes('employee'),
      ),
    ).toBe(true);
    const badRole = await api.call('GET', '/api/compliance/overdue?role=janitor', { as: auditor });
    expect(badRole.status).toBe(400);
  });

  it('the worklist holds the open steps the caller may take, most urgent first, with time left and clause', async () => {
    const clerk = callerFor('registry-clerk', 'astana', '');
    const list = await api.call('GET', '/api/worklist', { as: clerk });
    expect(list.status).toBe(200);
    expect(list.body.staleness.position).toBeGreaterThan(0);
    for (const item of list.body.items) {
      expect(item.unit).toBe('astana');
      expect(item.roles).toContain('registry-clerk');
      expect(item.clause.act).toEqual(expect.any(String));
      // Each is really takeable: the case view says so.
      const view = await api.call('GET', `/api/cases/${item.caseId}`, { as: clerk });
      expect(
        view.body.callerMayTake.map((s: { stepId?: string } | string) => (typeof s === 'string' ? s : s.stepId)),
      ).toContain(item.stepId);
    }
    const deadlines = list.body.items.map((i: { deadline: string | null }) => i.deadline ?? '\uffff');
    expect(deadlines).toEqual([...deadlines].sort());
    const auditorList = await api.call('GET', '/api/worklist', { as: auditor });
    expect(auditorList.status).toBe(403);
  });
});

describe('lists the dashboard shows: period, asOf, paging, export', () => {
  const asOf = '2021-01-01T00:00:00Z';
  const q = (path: string) => api.call('GET', path, { as: auditor });
  type OpenRow = { caseId: string; limitId: string; startedAt: string; deadline: string; unit: string };
  const key = (r: OpenRow) => `${r.caseId}/${r.limitId}`;

  it('200: the overdue list honours from/to (it used to return the same rows with or without them)', async () => {
    const all = await q(`/api/compliance/overdue?asOf=${asOf}&limit=1000`);
    const starts = (all.body.rows as OpenRow[]).map((r) => r.startedAt).sort();
    // A period holding some rows and not all: from the earliest clock start's month to the month of the median one.
    const from = starts[0]!.slice(0, 7);
    const to = starts[Math.floor(starts.length / 2)]!.slice(0, 7);
    const period = await q(`/api/compliance/overdue?asOf=${asOf}&from=${from}&to=${to}&limit=1000`);
    expect(period.status).toBe(200);
    const zone = api.app.infra.reference.calendar.timeZone;
    const inPeriod = (all.body.rows as OpenRow[]).filter((r) => {
      const m = zone.toLocal(new Date(r.startedAt)).date.slice(0, 7);
      return m >= from && m <= to;
    });
    expect(inPeriod.length).toBeGreaterThan(0);
    expect(inPeriod.length).toBeLessThan(all.body.total);
    expect(period.body.total).toBe(inPeriod.length);
    expect((period.body.rows as OpenRow[]).map(key)).toEqual(inPeriod.map(key));
  });

  it('200: a period of single days is a local (Asia/Almaty) day, both ends inclusive', async () => {
    const all = await q(`/api/compliance/overdue?asOf=${asOf}&limit=1000`);
    const zone = api.app.infra.reference.calendar.timeZone;
    const day = zone.toLocal(new Date((all.body.rows as OpenRow[])[0]!.startedAt)).date;
    const one = await q(`/api/compliance/overdue?asOf=${asOf}&from=${day}&to=${day}&limit=1000`);
    expect(one.status).toBe(200);
    const expected = (all.body.rows as OpenRow[]).filter((r) => zone.toLocal(new Date(r.startedAt)).date === day);
    expect((one.body.rows as OpenRow[]).map(key)).toEqual(expected.map(key));
    const bad = await q('/api/compliance/overdue?from=2016-02-30');
    expect(bad.status).toBe(400);
    expect(bad.body.errors[0].field).toBe('query.from');
  });

  it('200: every list pages by offset and limit with the total, no silent cap', async () => {
    for (const path of [
      `/api/compliance/overdue?asOf=${asOf}`,
      '/api/compliance/step-cases?serviceId=civil-service-testing&stepId=admitted-to-test',
    ]) {
      const whole = await q(`${path}&limit=1000`);
      expect(whole.status).toBe(200);
      const list = (b: any) =>
        (b.rows ?? b.cases).map((r: { caseId: string; limitId?: string }) => `${r.caseId}/${r.limitId ?? ''}`);
      expect(whole.body.total).toBe(list(whole.body).length);
      expect(whole.body.total).toBeGreaterThan(5);
      const pages: string[] = [];
      for (let offset = 0; offset < whole.body.total; offset += 4) {
        const page = await q(`${path}&limit=4&offset=${offset}`);
        expect({ total: page.body.total, offset: page.body.offset, limit: page.body.limit }).toEqual({
          total: whole.body.total,
          offset,
          limit: 4,
        });
        pages.push(...list(page.body));
      }
      expect(pages).toEqual(list(whole.body));
    }
    const atRisk = await q('/api/compliance/at-risk?limit=2&offset=0');
    expect(atRisk.body).toEqual(expect.objectContaining({ total: expect.any(Number), offset: 0, limit: 2 }));
    const bad = await q('/api/compliance/overdue?offset=-1');
    expect(bad.status).toBe(400);
    expect(bad.body.errors[0].field).toBe('query.offset');
  });

  it("200: step-cases for one unit lists exactly that unit's cases of the step, as the whole list has them", async () => {
    const path = '/api/compliance/step-cases?serviceId=civil-service-testing&stepId=admitted-to-test&limit=1000';
    const whole = await q(path);
    const units = [...new Set((whole.body.cases as { unit: string }[]).map((c) => c.unit))].sort();
    expect(units.length).toBeGreaterThan(1);
    for (const unit of units) {
      const one = await q(`${path}&unit=${unit}`);
      expect(one.status).toBe(200);
      const expected = (whole.body.cases as { caseId: string; unit: string }[]).filter((c) => c.unit === unit);
      expect(one.body.total).toBe(expected.length);
      expect(one.body.cases).toEqual(expected);
    }
  });

  it('200: asOf is honoured by every list: nothing whose clock started later, statuses as they were then', async () => {
    const early = '2015-10-01T00:00:00+06:00';
    const overdue = await q(`/api/compliance/overdue?asOf=${encodeURIComponent(early)}&limit=1000`);
    expect((overdue.body.rows as OpenRow[]).every((r) => r.deadline <= new Date(early).toISOString())).toBe(true);
    const risk = await q(`/api/compliance/at-risk?asOf=${encodeURIComponent(early)}&limit=1000`);
    expect((risk.body.rows as OpenRow[]).every((r) => r.startedAt <= new Date(early).toISOString())).toBe(true);
    const cases = await q(
      `/api/compliance/step-cases?serviceId=civil-service-testing&stepId=admitted-to-test&asOf=${encodeURIComponent(early)}&limit=1000`,
    );
    const now = await q(
      '/api/compliance/step-cases?serviceId=civil-service-testing&stepId=admitted-to-test&limit=1000',
    );
    expect(cases.body.total).toBeLessThan(now.body.total);
    for (const c of cases.body.cases)
      for (const r of c.rows) expect(r.startedAt <= new Date(early).toISOString()).toBe(true);
  });

  // A case is chosen by a row of the step whose clock started in the period; its other rows of the step (the limits
  // counted from the receipt, started months before) were listed too, and the list then counted more than the summary.
  it('200: step-cases lists only the rows whose clock started in the period, as the summary counts them', async () => {
    const services = [
      ...new Set(
        api.app.infra.reference.catalog.versions.flatMap((v) => v.steps.map((step) => `${v.serviceId} ${step.id}`)),
      ),
    ].map((pair) => {
      const [serviceId, stepId] = pair.split(' ') as [string, string];
      return { serviceId, stepId };
    });
    let checked = 0;
    for (const { serviceId, stepId } of services) {
      for (const [from, to] of [
        ['2015-10', '2015-12'],
        ['2016-01', '2016-06'],
      ]) {
        const period = `from=${from}&to=${to}`;
        const list = await q(`/api/compliance/step-cases?serviceId=${serviceId}&stepId=${stepId}&${period}&limit=1000`);
        const first = new Date(`${from}-01T00:00:00+06:00`).toISOString();
        const [y, m] = to.split('-').map(Number) as [number, number];
        const after = new Date(
          `${m === 12 ? y + 1 : y}-${String((m % 12) + 1).padStart(2, '0')}-01T00:00:00+06:00`,
        ).toISOString();
        for (const c of list.body.cases as { rows: { startedAt: string }[] }[])
          for (const r of c.rows) {
            expect(r.startedAt >= first && r.startedAt < after).toBe(true);
            checked++;
          }
      }
    }
    expect(checked).toBeGreaterThan(0);
  });

  it('200: CSV and XLSX downloads hold every row of the list with the same filters, headed in the asked language', async () => {
    const list = await q(`/api/compliance/overdue?asOf=${asOf}&unit=astana&limit=1000`);
    const csv = await q(`/api/compliance/overdue?asOf=${asOf}&unit=astana&format=csv&lang=kk&limit=1`);
    expect(csv.status).toBe(200);
    expect(csv.headers.get('content-type')).toMatch(/^text\/csv/);
    expect(csv.headers.get('content-disposition')).toBe('attachment; filename="overdue.csv"');
    const text = typeof csv.body === 'string' ? csv.body : JSON.stringify(csv.body);
    const lines = text
      .replace(/^\uFEFF/, '')
      .trim()
      .split(/\r?\n/);
    expect(lines[0]).toMatch(/^Қолхат,Іс,Қызмет,Бөлімше,Қадам,/);
    expect(lines.length - 1).toBe(list.body.total);
    expect(lines.slice(1).map((l) => l.split(',')[1])).toEqual(list.body.rows.map((r: OpenRow) => r.caseId));
    // Times are local, with their offset.
    expect(lines[1]).toMatch(/\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\+0[56]:00/);

    const byAccept = await api.call(
      'GET',
      `/api/compliance/step-cases?serviceId=civil-service-testing&stepId=admitted-to-test`,
      { as: auditor, headers: { accept: 'text/csv' } },
    );
    expect(byAccept.headers.get('content-type')).toMatch(/^text\/csv/);

    const response = await fetch(
      `${api.url}/api/compliance/at-risk?format=xlsx&lang=en&asOf=${encodeURIComponent('2015-10-01T00:00:00+06:00')}`,
      { headers: { authorization: `Bearer ${await api.token(auditor)}` } },
    );
    expect(response.status).toBe(200);
    expect(response.headers.get('content-disposition')).toBe('attachment; filename="at-risk.xlsx"');
    const ExcelJS = (await import('exceljs')).default;
    const book = new ExcelJS.Workbook();
    await book.xlsx.load(Buffer.from(await response.arrayBuffer()) as never);
    const sheet = book.worksheets[0]!;
    expect(sheet.getRow(1).getCell(1).value).toBe('Receipt');
    const risk = await q(`/api/compliance/at-risk?limit=1000&asOf=${encodeURIComponent('2015-10-01T00:00:00+06:00')}`);
    expect(sheet.actualRowCount - 1).toBe(risk.body.total);

    const summary = await q('/api/compliance/summary?groupBy=unit&format=csv&lang=en');
    expect(String(summary.body).split(/\r?\n/)[0]).toMatch(/^\uFEFF?Key,Name,"?Met, %"?,Total/);
    const bad = await q('/api/compliance/overdue?format=pdf&lang=fr');
    expect(bad.status).toBe(400);
    expect(bad.body.errors.map((e: { field: string }) => e.field).sort()).toEqual(['query.format', 'query.lang']);
  });
});

describe('live updates', () => {
  it("the stream announces newly projected case events, not the watchers' own reads", async () => {
    const controller = new AbortController();
    const response = await fetch(`${api.url}/api/compliance/stream`, {
      headers: { authorization: `Bearer ${await api.token(auditor)}` },
      signal: controller.signal,
    });
    expect(response.headers.get('content-type')).toMatch(/text\/event-stream/);
    const reader = response.body!.getReader();
    const decoder = new TextDecoder();
    let text = '';
    const nextEvent = async () => {
      while (!/\n\n/.test(text)) text += decoder.decode((await reader.read()).value, { stream: true });
      const cut = text.indexOf('\n\n');
      const chunk = text.slice(0, cut);
      text = text.slice(cut + 2);
      return JSON.parse(/^data: (.*)$/m.exec(chunk)![1]!) as { position: number };
    };
    try {
      const first = await nextEvent();
      expect(first.position).toBeGreaterThanOrEqual(head);
      // A case event: a new filing.
      const iin = makeIin('900502', 3, 17);
      const created = await api.call('POST', '/api/cases', {
        as: callerFor('psc-operator', 'astana', iin),
        body: {
          serviceId: 'civil-service-testing',
          channel: 'psc',
          unit: 'astana',
          applicant: { iin, fullName: 'X' },
          occurredAt: '2015-11-02T10:00:00+06:00',
        },
      });
      expect(created.status).toBe(201);
      const next = await nextEvent();
      expect(next.position).toBeGreaterThanOrEqual(created.body.position);
    } finally {
      controller.abort();
    }
  });
});

describe('rebuild', () => {
  it('a rebuild of the compliance model writes the same rollups', async () => {
    const models = api.app.infra.projections.readModels;
    const read = async () =>
      (await (await models.collection('compliance', 'rollup-step')).find({})).sort((a, b) =>
        a._id.localeCompare(b._id),
      );
    await models.waitFor('compliance', await api.app.infra.eventLog.headPosition(), 10_000);
    const before = await read();
    await api.app.infra.projections.rebuild('compliance');
    expect(await read()).toEqual(before);
  });
});
