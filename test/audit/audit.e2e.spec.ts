/**
 * Auditors on the real server and SQLite file: history with provenance, state as of an instant or
 * revision, deadline explanations, chain verification that finds a forged row, the evidence pack verified
 * offline by the CLI, and every auditor read recorded.
 */
import Database from 'better-sqlite3';
import { spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ACCESS_LOG_PREFIX } from '../../src/modules/audit/http/auditor-access-log';
import {
  renderEvidenceFile,
  signPack,
  verifyEvidenceFile,
  type EvidenceEvent,
  type SignedEvidencePack,
} from '../../src/modules/audit/domain/evidence-pack';
import { makeIin, startHarness, type ApiHarness } from '../support/api-harness';
import { callerFor } from '../support/case-walk';

const ROOT = join(__dirname, '../..');
const UNIT = 'astana';
const auditor = { sub: 'auditor-1', name: 'Нурлан Аудитов', roles: ['auditor'], unit: 'hq' };
let api: ApiHarness;
let caseId: string;
let iin: string;

function cli(args: string[], env: Record<string, string> = {}) {
  const r = spawnSync(
    process.execPath,
    ['-r', join(ROOT, 'test/support/swc-register.js'), join(ROOT, 'src/cli/main.ts'), ...args],
    {
      env: { PATH: process.env.PATH ?? '', CI: '1', ...env },
      encoding: 'utf8',
      timeout: 60_000,
    },
  );
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** Personnel reserve, competition-recommended: submitted Friday 2015-12-11 before Independence Day (16–17 Dec). */
beforeAll(async () => {
  api = await startHarness();
  iin = makeIin('850315', 3, 41);
  const created = await api.call('POST', '/api/cases', {
    as: callerFor('applicant', UNIT, iin),
    body: {
      serviceId: 'personnel-reserve',
      trackId: 'competition-recommended',
      channel: 'portal',
      unit: UNIT,
      applicant: { iin, fullName: 'Жумабаева Дана' },
      occurredAt: '2015-12-11T16:00:00+06:00',
    },
  });
  expect(created.status).toBe(201);
  caseId = created.body.caseId;
  const steps: [string, string, string, Record<string, unknown>][] = [
    ['registry-clerk', 'documents-registered', '2015-12-14T10:00:00+06:00', { incomingNumber: '04-1187' }],
    ['head', 'assigned-to-employee', '2015-12-14T15:00:00+06:00', { assigneeId: 'employee-7' }],
    ['employee', 'documents-reviewed', '2015-12-21T11:00:00+06:00', { outcome: 'compliant' }],
  ];
  for (const [role, step, occurredAt, data] of steps) {
    const r = await api.call('POST', `/api/cases/${caseId}/steps/${step}`, {
      as: callerFor(role, UNIT, iin),
      body: { occurredAt, data },
    });
    expect(r.status).toBe(201);
  }
});
afterAll(async () => api.close());

describe('history', () => {
  it('every event in order with its full provenance; filters by type and time', async () => {
    const r = await api.call('GET', `/api/cases/${caseId}/history`, { as: auditor });
    expect(r.status).toBe(200);
    expect(r.body.events.map((e: { type: string }) => e.type)).toEqual([
      'ApplicationSubmitted',
      'DocumentRegistered',
      'AssignedToEmployee',
      'DocumentsReviewed',
    ]);
    const registered = r.body.events[1];
    expect(registered.label).toEqual({ ru: 'Документы зарегистрированы', kk: 'Құжаттар тіркелді' });
    expect(registered.metadata).toMatchObject({
      actor: { id: `registry-clerk-${UNIT}`, role: 'registry-clerk', unit: UNIT },
      occurredAt: '2015-12-14T04:00:00.000Z',
      backDated: true,
      regulation: { versionId: 'personnel-reserve/order-184-2015', clause: { act: 'order-184-2015', appendix: 2 } },
      correlationId: expect.any(String),
      causationId: expect.any(String),
      previousHash: r.body.events[0].metadata.hash,
      hash: expect.stringMatching(/^[0-9a-f]{64}$/),
    });
    const filtered = await api.call(
      'GET',
      `/api/cases/${caseId}/history?type=DocumentRegistered,DocumentsReviewed&from=2015-12-14T00:00:00%2B06:00&to=2015-12-20T00:00:00%2B06:00`,
      { as: auditor },
    );
    expect(filtered.body.events.map((e: { type: string }) => e.type)).toEqual(['DocumentRegistered']);
    expect(filtered.body).toMatchObject({ total: 4, returned: 1 });
  });

  it('200: downloads as CSV with headings in the asked language, local times and role names; a bad format is 400', async () => {
    const csv = await api.call('GET', `/api/cases/${caseId}/history?format=csv&lang=ru`, { as: auditor });
    expect(csv.status).toBe(200);
    expect(csv.headers.get('content-disposition')).toBe(`attachment; filename="history-${caseId}.csv"`);
    const lines = String(csv.body)
      .replace(/^\uFEFF/, '')
      .trim()
      .split(/\r?\n/);
    expect(lines[0]).toBe('№,Событие,Исполнитель,Роль,Подразделение,Произошло,Записано,Задним числом,Пункт,Хеш');
    expect(lines).toHaveLength(5);
    // The applicant acting on their own case is recorded by no name of theirs: the role's label names them.
    expect(lines[1]).toMatch(/^0,Заявление подано,Услугополучатель,Услугополучатель,,/);
    expect(lines[2]).toMatch(
      /^1,Документы зарегистрированы,[^,]*,Сотрудник канцелярии,astana,2015-12-14T10:00:00\+06:00,/,
    );
    const bad = await api.call('GET', `/api/cases/${caseId}/history?format=docx`, { as: auditor });
    expect(bad.status).toBe(400);
    expect(bad.body.errors[0].field).toBe('query.format');
  });

  it('bad parameters name themselves; an unknown case is 404; staff of another unit 403', async () => {
    const bad = await api.call(
      'GET',
      `/api/cases/${caseId}/history?type=Nope&from=2015-12-20T00:00:00Z&to=2015-12-01T00:00:00Z&time=later`,
      { as: auditor },
    );
    expect(bad.status).toBe(400);
    expect(bad.body.errors.map((e: { field: string }) => e.field).sort()).toEqual([
      'query.time',
      'query.to',
      'query.type',
    ]);
    expect(
      (await api.call('GET', '/api/cases/00000000-0000-4000-8000-000000000000/history', { as: auditor })).status,
    ).toBe(404);
    expect((await api.call('GET', `/api/cases/not-a-case/history`, { as: auditor })).status).toBe(400);
    expect(
      (await api.call('GET', `/api/cases/${caseId}/history`, { as: { sub: 'h2', roles: ['head'], unit: 'almaty' } }))
        .status,
    ).toBe(403);
    expect(
      (await api.call('GET', `/api/cases/${caseId}/history`, { as: callerFor('registry-clerk', UNIT, iin) })).status,
    ).toBe(403);
  });

  it('a head of another unit asking to verify the case is refused before any of its acts is decrypted', async () => {
    // Projections open acts too, at any moment: only the verification's own opening counts.
    const open = jest.spyOn(api.app.infra.personalData, 'open');
    const verifications = () => open.mock.calls.filter(([, access]) => access.purpose === 'verification').length;
    try {
      const other = await api.call('GET', `/api/cases/${caseId}/verify`, {
        as: { sub: 'h2', roles: ['head'], unit: 'almaty' },
      });
      expect(other.status).toBe(403);
      expect(verifications()).toBe(0);
      // The same request from the case's unit opens the acts (as the system) to check them.
      const own = await api.call('GET', `/api/cases/${caseId}/verify`, {
        as: { sub: 'h1', roles: ['head'], unit: UNIT },
      });
      expect([own.status, own.body.valid]).toEqual([200, true]);
      expect(verifications()).toBe(1);
    } finally {
      open.mockRestore();
    }
  });
});

describe('state as of an instant or a revision, replayed from the log', () => {
  it('as of 2015-12-14 noon: registered but not assigned; the 1-working-day registration limit met', async () => {
    const r = await api.call('GET', `/api/cases/${caseId}/state?asOf=2015-12-14T12:00:00%2B06:00`, { as: auditor });
    expect(r.status).toBe(200);
    expect(r.body).toMatchObject({ replayedFrom: 'event-log', revision: 1, events: 2 });
    expect(Object.keys(r.body.state.completed).sort()).toEqual(['application-submitted', 'documents-registered']);
    const registration = r.body.sla.find((row: { stepId: string }) => row.stepId === 'documents-registered');
    // Friday 11 Dec not counted; Monday 14 Dec is the first working day; the limit ends at 24:00 that day.
    expect(registration).toMatchObject({ status: 'met', deadline: '2015-12-14T18:00:00.000Z' });
    // Assignment was due within 1 working day of receipt too: at noon on the 14th it is still open.
    expect(r.body.sla.find((row: { stepId: string }) => row.stepId === 'assigned-to-employee')).toMatchObject({
      status: 'open',
      completedAt: null,
    });
  });

  it('at revision 3: the review on 21 Dec breached its 3 working days (16–17 Dec were Independence Day)', async () => {
    const r = await api.call('GET', `/api/cases/${caseId}/state?atRevision=3`, { as: auditor });
    expect(r.status).toBe(200);
    const check = r.body.sla.find((row: { stepId: string }) => row.stepId === 'documents-reviewed');
    // Counted: 14, 15, 18 Dec (16 and 17 Dec are the Independence Day holidays) → ends 24:00 on 18 Dec.
    expect(check).toMatchObject({
      status: 'breached',
      deadline: '2015-12-18T18:00:00.000Z',
      completedAt: '2015-12-21T05:00:00.000Z',
    });
  });

  it('refuses an instant before the case, a revision past its end, and both together', async () => {
    const early = await api.call('GET', `/api/cases/${caseId}/state?asOf=2015-12-01T00:00:00Z`, { as: auditor });
    expect(early.status).toBe(400);
    expect(early.body.errors[0].field).toBe('query.asOf');
    const past = await api.call('GET', `/api/cases/${caseId}/state?atRevision=99`, { as: auditor });
    expect(past.status).toBe(404);
    expect(past.body.errors[0]).toMatchObject({ field: 'query.atRevision', allowed: '0–3' });
    const both = await api.call('GET', `/api/cases/${caseId}/state?atRevision=1&asOf=2015-12-14T12:00:00Z`, {
      as: auditor,
    });
    expect(both.status).toBe(400);
  });
});

describe('SLA explanation', () => {
  it('names the anchor event, the clause, each day counted and skipped with its act, and both readings', async () => {
    const r = await api.call('GET', `/api/cases/${caseId}/sla/explain?asOf=2015-12-25T00:00:00%2B06:00`, {
      as: auditor,
    });
    expect(r.status).toBe(200);
    const check = r.body.deadlines.find((d: { stepId: string }) => d.stepId === 'documents-reviewed');
    expect(check.anchorEvent).toMatchObject({ revision: 0, type: 'ApplicationSubmitted' });
    expect(check.completedBy).toMatchObject({ revision: 3, type: 'DocumentsReviewed' });
    const days = check.applied.explanation.days as {
      date: string;
      counted: boolean;
      reason?: { name: string; source: string };
    }[];
    expect(days.filter((d) => d.counted).map((d) => d.date)).toEqual(['2015-12-14', '2015-12-15', '2015-12-18']);
    const skipped = days.filter((d) => !d.counted);
    expect(skipped.map((d) => d.date)).toEqual(['2015-12-12', '2015-12-13', '2015-12-16', '2015-12-17']);
    expect(skipped[2]!.reason!.source).toMatch(/\S/);
    const extract = await api.call('GET', `/api/cases/${caseId}/sla/explain`, { as: auditor });
    expect(extract.status).toBe(200);
    const cumulative = extract.body.deadlines.find(
      (d: { limitId: string }) => d.limitId === 'cumulative-from-receipt-a',
    );
    expect(cumulative.applied.rule).toBe('stricter-applied');
    expect(cumulative.alternative).toMatchObject({ spec: expect.stringContaining('7') });
    expect(cumulative.alternative.explanation.days.length).toBeGreaterThan(0);
  });
});

describe('verification and tampering', () => {
  it('finds and names the forged event, by API and by the CLI over the whole log', async () => {
    const ok = await api.call('GET', `/api/cases/${caseId}/verify`, { as: auditor });
    expect(ok.body).toMatchObject({
      caseId,
      valid: true,
      events: 4,
      headHash: expect.stringMatching(/^[0-9a-f]{64}$/),
    });
    // Read from the log itself: the stamp names the case's last event.
    const [last] = await api.app.infra.eventLog.readStream(`case-${caseId}`, { direction: 'backwards', maxCount: 1 });
    expect(ok.body.staleness).toEqual({
      source: 'event-log',
      position: last!.position,
      at: last!.recordedAt.toISOString(),
    });
    const clean = cli(['verify'], { DATA_DIR: api.dataDir });
    expect(clean.code).toBe(0);
    expect(clean.stdout).toMatch(/^valid: /);

    const db = new Database(join(api.dataDir, 'events.db'));
    const changed = db
      .prepare(
        `UPDATE events SET data = json_set(data, '$.incomingNumber', '04-9999') WHERE stream_id = ? AND revision = 1`,
      )
      .run(`case-${caseId}`);
    db.close();
    expect(changed.changes).toBe(1);

    const broken = await api.call('GET', `/api/cases/${caseId}/verify`, { as: auditor });
    expect(broken.body).toMatchObject({
      valid: false,
      events: 4,
      firstBrokenRevision: 1,
      problem: expect.stringMatching(/does not match the content/),
    });
    const found = cli(['verify', '--json'], { DATA_DIR: api.dataDir });
    expect(found.code).toBe(1);
    const report = JSON.parse(found.stdout);
    expect(report.broken).toEqual([
      { streamId: `case-${caseId}`, revision: 1, problem: expect.stringMatching(/does not match the content/) },
    ]);

    // Put it back so the evidence tests below start from a sound chain.
    const restore = new Database(join(api.dataDir, 'events.db'));
    restore
      .prepare(
        `UPDATE events SET data = json_set(data, '$.incomingNumber', '04-1187') WHERE stream_id = ? AND revision = 1`,
      )
      .run(`case-${caseId}`);
    restore.close();
    expect((await api.call('GET', `/api/cases/${caseId}/verify`, { as: auditor })).body.valid).toBe(true);
  });
});

describe('evidence pack', () => {
  let filedLate: string;
  beforeAll(async () => {
    const applicant = makeIin('900101', 3, 7);
    const filed = await api.call('POST', '/api/cases', {
      as: callerFor('psc-operator', UNIT, applicant),
      body: {
        serviceId: 'civil-service-testing',
        channel: 'psc',
        unit: UNIT,
        applicant: { iin: applicant, fullName: 'Сейткали Арман' },
        startedAt: '2015-11-02T10:00:00+06:00',
        occurredAt: '2015-11-02T10:40:00+06:00',
      },
    });
    expect(filed.status).toBe(201);
    filedLate = filed.body.caseId;
  });

  it('downloads one HTML file that verifies offline, and any edit to its data or page is caught', async () => {
    const response = await fetch(`${api.url}/api/cases/${caseId}/evidence`, {
      headers: { authorization: `Bearer ${await api.token(auditor)}` },
    });
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toMatch(/text\/html/);
    expect(response.headers.get('content-disposition')).toBe(`attachment; filename="evidence-${caseId}.html"`);
    const html = await response.text();
    expect(html).toContain('Доказательный пакет');
    expect(html).toContain('04-1187');
    const key = await api.call('GET', '/api/evidence/public-key', { as: auditor });
    const file = join(api.dataDir, 'pack.html');
    writeFileSync(file, html);

    const ok = cli(['verify-evidence', file, '--fingerprint', key.body.keyFingerprint]);
    expect(ok.stdout).toMatch(/^VALID/);
    expect(ok.code).toBe(0);

    const editedPage = join(api.dataDir, 'edited-page.html');
    writeFileSync(
      editedPage,
      html
        .replace('<td>04-1187', '<td>04-0001')
        .replace('"incomingNumber":"04-1187"</code>', '"incomingNumber":"04-0001"</code>')
        .replace(/(<code>\{&quot;incomingNumber&quot;:&quot;)04-1187/, '$104-0001'),
    );
    const page = cli(['verify-evidence', editedPage, '--json', '--fingerprint', key.body.keyFingerprint]);
    expect(page.code).toBe(1);
    expect(JSON.parse(page.stdout).checks.find((c: { name: string }) => c.name === 'readable page').ok).toBe(false);

    const editedData = join(api.dataDir, 'edited-data.html');
    writeFileSync(editedData, html.replace('"incomingNumber":"04-1187"', '"incomingNumber":"04-0001"'));
    const data = cli(['verify-evidence', editedData, '--json', '--fingerprint', key.body.keyFingerprint]);
    expect(data.code).toBe(1);
    const checks = Object.fromEntries(
      JSON.parse(data.stdout).checks.map((c: { name: string; ok: boolean }) => [c.name, c.ok]),
    );
    expect(checks).toMatchObject({ 'hash chain': false, signature: false });

    const wrongKey = cli(['verify-evidence', file, '--fingerprint', '0'.repeat(64)]);
    expect(wrongKey.code).toBe(1);
    expect(readFileSync(file, 'utf8')).toBe(html);
  });

  it("a live case's staff act marked personalDataErased, rewritten and signed again with the service's key is NOT VALID: the mark stands only where an erasure the log records can have put it", async () => {
    const html = await (
      await fetch(`${api.url}/api/cases/${caseId}/evidence`, {
        headers: { authorization: `Bearer ${await api.token(auditor)}` },
      })
    ).text();
    const key = await api.call('GET', '/api/evidence/public-key', { as: auditor });
    const { signature: _signature, ...pack } = JSON.parse(
      /<script type="application\/json" id="reglament-evidence">([\s\S]*?)<\/script>/.exec(html)![1]!,
    ) as SignedEvidencePack;
    const reviewed = pack.events.findIndex((e) => e.type === 'DocumentsReviewed');
    expect(pack.events[reviewed]!.data).toEqual({ outcome: 'compliant' });
    /** The pack with its review rewritten as the key's holder would: another outcome, time and employee, marked. */
    const forged = (dress: (p: typeof pack, act: EvidenceEvent) => void = () => undefined): string => {
      const copy = structuredClone(pack);
      const act = copy.events[reviewed]!;
      act.personalDataErased = true;
      act.data = { outcome: 'non-compliant', reasons: ['документы не полны'] };
      act.metadata = {
        ...act.metadata,
        occurredAt: '2015-12-15T05:00:00.000Z',
        actor: { id: 'employee-9', name: 'Подставной Сотрудник', role: 'employee', unit: UNIT },
      };
      dress(copy, act);
      return renderEvidenceFile(signPack(copy, api.app.infra.keys.active.privateKey));
    };
    const trust = { fingerprints: [key.body.keyFingerprint], noteKeys: [] };

    // The reviewer's forgery, checked by the real CLI: the act holds personal data the page does not show erased.
    const file = join(api.dataDir, 'rewritten-review.html');
    writeFileSync(file, forged());
    const run = cli(['verify-evidence', file, '--json', '--fingerprint', key.body.keyFingerprint]);
    expect(run.code).toBe(1);
    const checks = JSON.parse(run.stdout).checks as { name: string; ok: boolean; detail: string }[];
    expect(JSON.parse(run.stdout).valid).toBe(false);
    expect(checks.find((c) => c.name === 'hash chain')).toMatchObject({
      ok: false,
      detail: expect.stringMatching(new RegExp(`^broken at revision ${reviewed}: .*personalDataErased.*"erased"`)),
    });
    expect(checks.find((c) => c.name === 'signature')!.ok).toBe(true);

    // Dressed as an erasure would leave it (its reasons and the applicant "erased"): still no erasure of this case in
    // the log to bind the mark to.
    const dressed = verifyEvidenceFile(
      forged((p, act) => {
        act.data = { outcome: 'non-compliant', reasons: ['erased'] };
        p.case.applicant = { iin: 'erased', fullName: 'erased' };
      }),
      trust,
    );
    expect(dressed.valid).toBe(false);
    expect(dressed.checks.find((c) => c.name === 'erasure record')).toMatchObject({
      ok: false,
      detail: expect.stringContaining('no erasure record of this case'),
    });

    // A staff act of a type with no personal field it carries, the applicant left as they are: refused on each count.
    const bare = verifyEvidenceFile(
      forged((_p, act) => (act.data = { outcome: 'non-compliant' })),
      trust,
    );
    expect(bare.checks.find((c) => c.name === 'hash chain')).toMatchObject({
      ok: false,
      detail: expect.stringContaining('holds no personal data'),
    });
    expect(bare.checks.find((c) => c.name === 'hash chain')!.detail).toContain(
      "the case's applicant is not shown erased",
    );

    // Proofs of erasure records the pack does not carry: the page would name an erasure nothing checked (a review's
    // finding: VALID before).
    const copy = structuredClone(pack);
    copy.transparency = { ...copy.transparency!, erasures: [{ revision: 0, leafIndex: 999, proof: [] }] };
    const unchecked = verifyEvidenceFile(
      renderEvidenceFile(signPack(copy, api.app.infra.keys.active.privateKey)),
      trust,
    );
    expect(unchecked.valid).toBe(false);
    expect(unchecked.checks.find((c) => c.name === 'erasure record')).toMatchObject({
      ok: false,
      detail: expect.stringContaining('proves erasure records it does not carry'),
    });
  });

  it('cites each clause with its appendix, in Russian and Kazakh (order 184 numbers paragraphs afresh in each appendix)', async () => {
    const response = await fetch(`${api.url}/api/cases/${caseId}/evidence`, {
      headers: { authorization: `Bearer ${await api.token(auditor)}` },
    });
    const html = await response.text();
    // The registration (p.7 pp.1 of appendix 2) as an act, and its limit (same clause) as a deadline.
    expect(html.includes('<td>приказ 184, прил. 2, п. 7, пп. 1<br>184 бұйрық, 2-қосымша, 7-т., 1) тт.</td>')).toBe(
      true,
    );
    // A clause of one track's sub-list names the track: p.7 lists the sub-paragraphs of each track afresh.
    expect(
      html.includes(
        '<td>приказ 184, прил. 2, п. 7, пп. 3<br>184 бұйрық, 2-қосымша, 7-т., 3) тт.<br><code>competition-recommended</code></td>',
      ),
    ).toBe(true);
    expect(html.includes('"format":"reglament-evidence/5"')).toBe(true);
    // The applicant filed themself: the act records no name of theirs, and the page names them by their role alone.
    expect(html).toContain('<td>Услугополучатель / Көрсетілетін қызметті алушы</td>');
    expect(html).not.toContain('<td>Applicant (');
  });

  it.each([
    ['the personnel-reserve case', () => caseId],
    // A PSC operator began filling in at 10:00 and filed at 10:40: the 30-minute filing limit ran from 10:00.
    ['a filing that took 40 minutes', () => filedLate],
  ])(
    '%s: the page shows local time with its zone once, the clock from startedAt, periods ending at 24:00, statuses in Russian and Kazakh',
    async (_name, which) => {
      const response = await fetch(`${api.url}/api/cases/${which()}/evidence`, {
        headers: { authorization: `Bearer ${await api.token(auditor)}` },
      });
      const html = await response.text();
      const pack = JSON.parse(
        /<script type="application\/json" id="reglament-evidence">([\s\S]*?)<\/script>/.exec(html)![1]!,
      );
      // An independent reading of Almaty wall time (the runtime's time-zone database, not the calendar's table).
      const wall = (iso: string) => {
        const p = Object.fromEntries(
          new Intl.DateTimeFormat('en-GB', {
            timeZone: 'Asia/Almaty',
            year: 'numeric',
            month: '2-digit',
            day: '2-digit',
            hour: '2-digit',
            minute: '2-digit',
            hourCycle: 'h23',
          })
            .formatToParts(new Date(iso))
            .map((x) => [x.type, x.value]),
        );
        return { date: `${p.day}.${p.month}.${p.year}`, time: `${p.hour}:${p.minute}` };
      };
      const section = html.slice(html.indexOf('<h2>Сроки на'), html.indexOf('<script'));
      const rows = section.split('<tr>').slice(2);
      expect(rows.length).toBe(pack.sla.deadlines.length);
      let laterThanTheAct = 0;
      pack.sla.deadlines.forEach(
        (
          d: { startedAt: string; deadline: string | null; status: string; anchorEvent: { occurredAt: string } | null },
          i: number,
        ) => {
          const cells = rows[i]!.split('</td>');
          const started = wall(d.startedAt);
          expect(cells[3]).toContain(`${started.date} ${started.time}`);
          if (
            d.anchorEvent &&
            d.anchorEvent.occurredAt !== d.startedAt &&
            wall(d.anchorEvent.occurredAt).time !== started.time
          ) {
            laterThanTheAct++;
            expect(cells[3]).not.toContain(
              `${wall(d.anchorEvent.occurredAt).date} ${wall(d.anchorEvent.occurredAt).time}`,
            );
          }
          if (d.deadline) {
            const end = wall(d.deadline);
            // A period ending at local midnight ends at 24:00 of the day before, as the law writes it.
            if (end.time === '00:00') {
              const before = wall(new Date(Date.parse(d.deadline) - 60_000).toISOString());
              expect(cells[4]).toContain(`${before.date}, 24:00`);
            } else expect(cells[4]).toContain(`${end.date}, ${end.time}`);
            expect(cells[4]).not.toMatch(/00:00|T\d\d:/);
          }
          // The limit and its rule in Russian and Kazakh, not the engine's English shorthand.
          expect(cells[2]).not.toMatch(/working day|minutes|anchor/);
          expect(cells[6]).toMatch(/^<td class="status-[a-z-]+">[а-яё ]+ \/ [а-яәіңғүұқөһ ]+$/i);
        },
      );
      expect(laterThanTheAct).toBe(which() === filedLate ? 1 : 0);
      // The zone once, in the header: the 2015 acts in UTC+06:00, the pack made today after the 2024 change to UTC+05:00.
      expect(html.match(/<p>Время \/ Уақыт: [^<]*<\/p>/g)).toEqual([
        '<p>Время / Уақыт: местное / жергілікті, Asia/Almaty, UTC+06:00, с / 29.02.2024 23:00 бастап UTC+05:00</p>',
      ]);
      // No ISO instants (UTC "Z" or an offset) in any cell of the readable page.
      const page = html.slice(0, html.indexOf('<script'));
      expect(page).not.toMatch(/\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:\d{2})/);
      expect(page).not.toMatch(/>(met|breached|open|overdue)</);
      expect(section).toMatch(
        which() === filedLate ? /30 мин<br>в минутах от начала отсчёта/ : /3 рабочих дня \/ 3 жұмыс күні/,
      );
    },
  );

  it('a pack whose data was edited into a shape no page can be drawn from fails its checks; the verifier does not crash', async () => {
    const response = await fetch(`${api.url}/api/cases/${caseId}/evidence`, {
      headers: { authorization: `Bearer ${await api.token(auditor)}` },
    });
    const html = await response.text();
    const file = join(api.dataDir, 'misshapen.html');
    writeFileSync(file, html.replace('"deadlines":[', '"deadlines":[{},'));
    const key = await api.call('GET', '/api/evidence/public-key', { as: auditor });
    const run = cli(['verify-evidence', file, '--json', '--fingerprint', key.body.keyFingerprint]);
    expect(run.code).toBe(1);
    const checks = Object.fromEntries(
      JSON.parse(run.stdout).checks.map((c: { name: string; ok: boolean; detail: string }) => [c.name, c.ok]),
    );
    expect(checks).toMatchObject({ signature: false, 'readable page': false });
  });

  it('a pack issued in format 3, which named the applicant acting on their own case "Applicant (…)", still verifies offline against its page', () => {
    const fixture = join(__dirname, 'fixtures/evidence-format-3.html');
    expect(readFileSync(fixture, 'utf8')).toContain('Applicant (Услугополучатель');
    const ok = cli([
      'verify-evidence',
      fixture,
      '--fingerprint',
      '7978b4bd43195eec3e5aebd5bde5e17f664ef48051fbb5e8cc177073ffe151e2',
      '--json',
    ]);
    expect(JSON.parse(ok.stdout)).toMatchObject({ valid: true });
    expect(ok.code).toBe(0);
  });

  it("a pack issued in format 4, before an erased case's acts kept in clear could be shown erased, still verifies offline against its page", () => {
    const ok = cli([
      'verify-evidence',
      join(__dirname, 'fixtures/evidence-format-4.html'),
      '--fingerprint',
      'deb9c93b2cdcf9842a11bb3b9f274e68431629961450a1f66444ce79826145aa',
      '--json',
    ]);
    expect(JSON.parse(ok.stdout)).toMatchObject({ valid: true });
    expect(ok.code).toBe(0);
  });

  it('a pack issued in format 2, with its UTC times, still verifies offline against the page it was issued with', () => {
    const ok = cli([
      'verify-evidence',
      join(__dirname, 'fixtures/evidence-format-2.html'),
      '--fingerprint',
      'df552934ca8b953e92c5e78a06f5a4ced9e467128f8961d8b9902432dcf2b539',
      '--json',
    ]);
    expect(JSON.parse(ok.stdout)).toMatchObject({ valid: true });
    expect(ok.code).toBe(0);
  });

  it("a pack issued in format 1, before the log had checkpoints, is NOT VALID: it is the key holder's word alone, with every other check holding", () => {
    // The key that signed the fixture, pinned as an auditor pins the agency's key.
    const r = cli([
      'verify-evidence',
      join(__dirname, 'fixtures/evidence-format-1.html'),
      '--fingerprint',
      'bad82fb0bab52ece591dff5dbea54cc057bfd0b32b20b4bd8daa8f00fd2e9bb6',
      '--json',
    ]);
    expect(r.code).toBe(1);
    const checks = JSON.parse(r.stdout).checks as { name: string; ok: boolean; detail: string }[];
    expect(checks.filter((c) => !c.ok)).toEqual([
      { name: 'checkpoint', ok: false, detail: expect.stringMatching(/^format 1 predates the verifiable log/) },
    ]);
    expect(checks.map((c) => c.name)).toContain('readable page');
  });
});

describe('clause references shown to people carry the appendix', () => {
  const registration = {
    ru: 'приказ 184, прил. 2, п. 7, пп. 1',
    kk: '184 бұйрық, 2-қосымша, 7-т., 1) тт.',
    en: 'order 184, app. 2, p. 7, sub-p. 1',
  };

  it('in the SLA explanation, the SLA rows, the case view, the worklist and the overdue list', async () => {
    const explain = await api.call('GET', `/api/cases/${caseId}/sla/explain?asOf=2015-12-25T00:00:00%2B06:00`, {
      as: auditor,
    });
    const registered = explain.body.deadlines.find((d: { stepId: string }) => d.stepId === 'documents-registered');
    expect(registered).toMatchObject({ clauseText: registration.ru, citation: registration });

    const state = await api.call('GET', `/api/cases/${caseId}/state?asOf=2015-12-25T00:00:00%2B06:00`, { as: auditor });
    expect(state.body.sla.find((r: { stepId: string }) => r.stepId === 'documents-registered').citation).toEqual(
      registration,
    );

    const sla = await api.call('GET', `/api/cases/${caseId}/sla?asOf=2015-12-25T00:00:00%2B06:00`, { as: auditor });
    expect(sla.body.rows.find((r: { stepId: string }) => r.stepId === 'documents-registered').citation).toEqual(
      registration,
    );

    // A new case waits for its registration: the case view shows that deadline with its citation.
    const fresh = makeIin('850315', 3, 42);
    const filed = await api.call('POST', '/api/cases', {
      as: callerFor('applicant', UNIT, fresh),
      body: {
        serviceId: 'personnel-reserve',
        trackId: 'competition-recommended',
        channel: 'portal',
        unit: UNIT,
        applicant: { iin: fresh, fullName: 'Омарова Сауле' },
        occurredAt: '2015-12-11T16:00:00+06:00',
      },
    });
    const employee = callerFor('employee', UNIT, iin);
    const view = await api.call('GET', `/api/cases/${filed.body.caseId}?after=${filed.body.position}`, {
      as: employee,
    });
    const waiting = view.body.openSteps.find((s: { stepId: string }) => s.stepId === 'documents-registered');
    expect(waiting.deadlines).toEqual([expect.objectContaining({ limitId: 'registration', citation: registration })]);

    const worklist = await api.call('GET', '/api/worklist', { as: employee });
    const item = worklist.body.items.find((i: { caseId: string }) => i.caseId === caseId);
    expect(item.citation.kk).toMatch(/^184 бұйрық, 2-қосымша, \d+-т\./);
    for (const l of item.limits) expect(l.citation.ru).toMatch(/^приказ 184, прил\. 2, /);

    const overdue = await api.call('GET', '/api/compliance/overdue', { as: auditor });
    const row = overdue.body.rows.find((r: { caseId: string }) => r.caseId === caseId);
    expect(row.citation.ru).toMatch(/^приказ 184, прил\. 2, п\. \d+/);

    const history = await api.call('GET', `/api/cases/${caseId}/history`, { as: auditor });
    expect(history.body.events[1]).toMatchObject({
      citation: registration,
      actorRoleLabel: { ru: 'Сотрудник канцелярии', kk: 'Кеңсе қызметкері' },
    });
  });
});

describe('auditors read and never write, and their reads are recorded', () => {
  it("records who read what and when in the day's access log", async () => {
    const before = await api.app.infra.eventLog.readAll({ filter: { streamPrefixes: [ACCESS_LOG_PREFIX] } });
    await api.call('GET', `/api/cases/${caseId}/verify`, { as: auditor });
    await api.call('GET', `/api/cases/${caseId}/state?atRevision=99`, { as: auditor });
    const after = await api.app.infra.eventLog.readAll({ filter: { streamPrefixes: [ACCESS_LOG_PREFIX] } });
    const added = after.slice(before.length);
    expect(
      added.map((e) => [e.type, (e.data as { path: string }).path, (e.data as { status: number }).status]),
    ).toEqual([
      ['AuditorAccess', `/api/cases/${caseId}/verify`, 200],
      ['AuditorAccess', `/api/cases/${caseId}/state?atRevision=99`, 404],
    ]);
    expect(added[0]!.metadata).toMatchObject({
      actor: { id: 'auditor-1', name: 'Нурлан Аудитов', roles: ['auditor'] },
      recordedAt: expect.any(String),
    });
    const write = await api.call('POST', `/api/cases/${caseId}/steps/order-drafted`, {
      as: { ...auditor, roles: ['auditor'] },
      body: { data: {} },
    });
    expect(write.status).toBe(403);
    // A refused attempt is recorded too, with the status the auditor was sent.
    const attempts = (await api.app.infra.eventLog.readAll({ filter: { streamPrefixes: [ACCESS_LOG_PREFIX] } })).slice(
      after.length,
    );
    expect(
      attempts.map((e) => [
        (e.data as { method: string }).method,
        (e.data as { path: string }).path,
        (e.data as { status: number }).status,
      ]),
    ).toEqual([['POST', `/api/cases/${caseId}/steps/order-drafted`, 403]]);
  });
});
