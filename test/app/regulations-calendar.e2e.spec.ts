import { spawn } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig } from '../../src/shared/config/config';
import { createLogger } from '../../src/shared/logging/logger';
import { startApi, type RunningApp } from '../../src/app/bootstrap';
import { mintToken } from '../../src/modules/identity/token-verifier';

const ROOT = join(__dirname, '../..');

describe('regulations and the calendar over HTTP', () => {
  let dataDir: string;
  let api: RunningApp;
  let token: string;
  const get = async (path: string) => {
    const response = await fetch(`${api.url}${path}`, { headers: { authorization: `Bearer ${token}` } });
    return {
      status: response.status,
      type: response.headers.get('content-type') ?? '',
      body: (await response.json()) as any,
    };
  };

  beforeAll(async () => {
    dataDir = mkdtempSync(join(tmpdir(), 'reglament-ref-'));
    api = await startApi(loadConfig({ DATA_DIR: dataDir, PORT: '0', LOG_LEVEL: 'silent' }), createLogger('silent'));
    // Any authenticated caller may read the catalog and the calendar.
    token = await mintToken(api.infra.identity.signing!.secret, {
      sub: 'auditor-1',
      name: 'Аудитор',
      roles: ['auditor'],
      unit: 'agency',
    });
  });

  it('refuses a caller without a token', async () => {
    const response = await fetch(`${api.url}/api/regulations`);
    expect(response.status).toBe(401);
    expect(response.headers.get('www-authenticate')).toMatch(/^Bearer/);
  });
  afterAll(async () => {
    await api.close();
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('GET /api/regulations lists the versions with service, tracks and effective period', async () => {
    const { status, body } = await get('/api/regulations');
    expect(status).toBe(200);
    expect(body.versions).toHaveLength(6);
    const reserve = body.versions.find((v: any) => v.versionId === 'personnel-reserve/order-184-2015');
    expect(reserve).toMatchObject({
      serviceId: 'personnel-reserve',
      effective: { from: '2015-08-11', until: '2016-08-08' },
    });
    expect(reserve.tracks.map((t: any) => t.id)).toEqual([
      'competition-recommended',
      'priority-graduates',
      'corps-a-selection',
    ]);
  });

  it('filters by service and by the instant in force', async () => {
    const { body } = await get(
      `/api/regulations?serviceId=academy-admission&at=${encodeURIComponent('2019-07-01T10:00:00+06:00')}`,
    );
    expect(body.versions.map((v: any) => v.versionId)).toEqual(['academy-admission/order-58-2019']);
    const resolved = await get(
      `/api/regulations/resolve?serviceId=academy-admission&at=${encodeURIComponent('2015-09-01T10:00:00+06:00')}`,
    );
    expect(resolved.body.versionId).toBe('academy-admission/order-184-2015');
    const gap = await get(
      `/api/regulations/resolve?serviceId=academy-admission&at=${encodeURIComponent('2018-01-10T10:00:00+06:00')}`,
    );
    expect(gap.status).toBe(404);
    expect(gap.type).toContain('application/problem+json');
    expect(gap.body).toMatchObject({ serviceId: 'academy-admission', localDate: '2018-01-10' });
    expect(gap.body.versions).toHaveLength(2);
  });

  it('GET /api/regulations/:versionId (URL-encoded) gives the whole definition', async () => {
    const { status, body } = await get(
      `/api/regulations/${encodeURIComponent('civil-service-testing/order-184-2015')}`,
    );
    expect(status).toBe(200);
    const issued = body.steps.find((s: any) => s.id === 'test-result-issued');
    expect(issued).toMatchObject({
      eventType: 'TestResultIssued',
      roles: ['test-administrator'],
      after: ['test-results-signed'],
    });
    expect(issued.limits[0]).toMatchObject({
      id: 'issue',
      kind: 'minutes',
      minutes: 20,
      clause: { act: 'order-184-2015', appendix: 1, paragraph: 7, subparagraph: 5 },
      applied: { reading: 'stricter' },
      alternative: { kind: 'minutes', minutes: 30, clause: { paragraph: 5, subparagraph: 5 } },
    });
    expect(issued.eventLabel.kk).toBeTruthy();
    expect(body.results.find((r: any) => r.id === 'portal-refusal')).toMatchObject({ kind: 'negative', refusal: true });
    expect(body.results.find((r: any) => r.id === 'below-threshold-reference')).toMatchObject({
      kind: 'negative',
      refusal: false,
    });
  });

  it('GET /api/regulations/:versionId shows when a conditional step becomes due', async () => {
    const { status, body } = await get(`/api/regulations/${encodeURIComponent('academy-admission/order-58-2019')}`);
    expect(status).toBe(200);
    expect(body.steps.find((s: any) => s.id === 'refusal-issued').dueWhen).toEqual(
      expect.arrayContaining([{ step: 'group-formed', outcome: 'negative' }]),
    );
  });

  it('GET /api/regulations/:versionId shows what a step waits for (the 2015 non-admission waits for a filed appeal)', async () => {
    const { status, body } = await get(`/api/regulations/${encodeURIComponent('academy-admission/order-184-2015')}`);
    expect(status).toBe(200);
    expect(body.steps.find((s: any) => s.id === 'not-admitted').waitsFor).toEqual(['appeal-resolved']);
    expect(body.steps.find((s: any) => s.id === 'documents-accepted')).toMatchObject({
      roles: ['technical-secretary'],
      after: ['application-submitted'],
    });
    expect(body.steps.find((s: any) => s.id === 'competition-decided').waitsFor).toBeUndefined();
    expect(body.steps.find((s: any) => s.id === 'portal-refusal').until).toEqual(['documents-accepted']);
    expect(body.steps.find((s: any) => s.id === 'appeal-opened').withinPeriod).toEqual({
      step: 'appeal-resolved',
      limit: 'appeal-period',
    });
  });

  it('GET /api/regulations/:versionId gives a shared step its roles per track (order 58 p.7) and each Kazakh label its source', async () => {
    const { status, body } = await get(`/api/regulations/${encodeURIComponent('academy-admission/order-58-2019')}`);
    expect(status).toBe(200);
    const extract = body.steps.find((s: { id: string }) => s.id === 'extract-issued');
    expect(extract).toMatchObject({
      roles: ['technical-secretary', 'institute-employee'],
      rolesByTrack: { postgraduate: ['technical-secretary'], 'qualification-improvement': ['institute-employee'] },
    });
    expect(extract.label.kkSource).toBe('act');
    const older = await get(`/api/regulations/${encodeURIComponent('civil-service-testing/order-184-2015')}`);
    expect(older.body.title).toEqual({
      ru: expect.any(String),
      kk: 'Мемлекеттік қызметшілерді және бос әкімшілік мемлекеттік лауазымға орналасуға үміткерлерді тестілеу',
      kkSource: 'translation',
    });
  });

  it('GET /api/regulations/lint reports the contradictions', async () => {
    const { body } = await get('/api/regulations/lint');
    expect(body.errors).toBe(0);
    expect(body.versions.map((v: { labelsNeedingTranslation: number }) => v.labelsNeedingTranslation)).toEqual([
      0, 0, 0, 0, 0, 0,
    ]);
    expect(body.versions.flatMap((v: any) => v.contradictions.map((c: any) => `${v.versionId}#${c.stepId}`))).toEqual(
      expect.arrayContaining([
        'civil-service-testing/order-184-2015#test-result-issued',
        'personnel-reserve/order-184-2015#extract-issued',
        'academy-retraining/order-184-2015#group-formed',
      ]),
    );
  });

  it('GET /api/calendar/KZ/working-days counts both ends and says why each day is off', async () => {
    const { status, body } = await get('/api/calendar/KZ/working-days?from=2024-05-01&to=2024-05-31');
    expect(status).toBe(200);
    expect(body.workingDays).toBe(20);
    const off = Object.fromEntries(body.nonWorkingDays.map((d: any) => [d.date, d]));
    expect(off['2024-05-01']).toMatchObject({ kind: 'holiday', name: 'Праздник единства народа Казахстана' });
    expect(off['2024-05-08']).toMatchObject({ kind: 'transfer' });
    expect(off['2024-05-08'].source).toMatch(/Order of the Minister of Labour/);
    expect(off['2024-05-04']).toBeUndefined(); // a Saturday worked in exchange
    expect(body.nonWorkingDays).toHaveLength(11);
  });

  it('GET /api/calendar/KZ/deadline gives the deadline and the explanation', async () => {
    const { status, body } = await get(
      `/api/calendar/KZ/deadline?start=${encodeURIComponent('2024-05-03T10:00:00+05:00')}&workingDays=3`,
    );
    expect(status).toBe(200);
    expect(body.deadline).toBe('2024-05-10T19:00:00.000Z');
    expect(body.explanation.lastDay).toBe('2024-05-10');
    expect(body.explanation.legalBasis[0]).toMatch(/art\. 171–173/);
    expect(body.explanation.days.filter((d: any) => !d.counted).map((d: any) => d.reason.kind)).toEqual([
      'weekend',
      'holiday',
      'transfer',
      'holiday',
    ]);
  });

  it('GET /api/calendar/KZ/deadline counts Saturday 4 May 2019, worked, and skips Friday 10 May 2019, the day off given for it', async () => {
    // Friday 3 May 2019, 10:00 in Almaty (UTC+6): 3 working days are 4, 6 and 8 May, so the period ends at 24:00 on 8 May.
    const across = await get(
      `/api/calendar/KZ/deadline?start=${encodeURIComponent('2019-05-03T10:00:00+06:00')}&workingDays=3`,
    );
    expect(across.status).toBe(200);
    expect(across.body.deadline).toBe('2019-05-08T18:00:00.000Z');
    expect(across.body.explanation.days.map((d: any) => [d.date, d.counted, d.reason?.kind ?? null])).toEqual([
      ['2019-05-04', true, null],
      ['2019-05-05', false, 'weekend'],
      ['2019-05-06', true, null],
      ['2019-05-07', false, 'holiday'],
      ['2019-05-08', true, null],
    ]);
    expect(across.body.explanation.days[0].note).toMatch(/2019-05-10/);
    // From Wednesday 8 May 2019 one working day is Monday 13 May: 9 May holiday, 10 May the transferred day off, then the weekend.
    const after = await get(
      `/api/calendar/KZ/deadline?start=${encodeURIComponent('2019-05-08T10:00:00+06:00')}&workingDays=1`,
    );
    expect(after.body.deadline).toBe('2019-05-13T18:00:00.000Z');
    const tenth = after.body.explanation.days.find((d: any) => d.date === '2019-05-10');
    expect(tenth).toMatchObject({
      counted: false,
      reason: { kind: 'transfer', name: 'Перенос дня отдыха с 2019-05-04' },
    });
  });

  it.each([
    ['/api/calendar/KZ/working-days?from=2023-02-30&to=2023-03-10', 'query.from', /2023-02-30 does not exist/],
    ['/api/calendar/KZ/working-days?from=2023-03-10&to=2023-03-01', 'query.to', /before from/],
    ['/api/calendar/KZ/working-days?to=2023-03-01', 'query.from', /is required/],
    ['/api/calendar/KZ/working-days?from=2010-01-01&to=2010-02-01', 'query.from', /outside the KZ calendar/],
    ['/api/calendar/RU/working-days?from=2023-03-01&to=2023-03-10', 'path.code', /unknown calendar "RU"/],
    ['/api/calendar/KZ/deadline?start=2024-05-03T10:00:00&workingDays=3', 'query.start', /no offset/],
    ['/api/calendar/KZ/deadline?start=yesterday&workingDays=3', 'query.start', /not an ISO 8601 instant/],
    ['/api/calendar/KZ/deadline?start=2024-05-03T10:00:00Z&workingDays=-1', 'query.workingDays', /less than 0/],
    ['/api/calendar/KZ/deadline?start=2024-05-03T10:00:00Z&workingDays=100000', 'query.workingDays', /more than 1000/],
    ['/api/calendar/KZ/deadline?start=2024-05-03T10:00:00Z&workingDays=2.5', 'query.workingDays', /not a whole number/],
    ['/api/calendar/KZ/deadline?start=2027-11-03T10:00:00Z&workingDays=900', 'query.workingDays', /after 2027-12-31/],
    ['/api/regulations/civil-service-testing%2Forder-999-2015', 'path.versionId', /unknown regulation version/],
    ['/api/regulations?at=2019-13-01T00:00:00Z', 'query.at', /month 13 does not exist/],
    ['/api/regulations?serviceId=driving-licence', 'query.serviceId', /unknown service/],
  ])('%s → 400 naming %s', async (path, field, problem) => {
    const { status, type, body } = await get(path);
    expect(status).toBe(400);
    expect(type).toContain('application/problem+json');
    const error = body.errors.find((e: any) => e.field === field);
    expect(error).toBeDefined();
    expect(error.problem).toMatch(problem);
    expect(error.allowed).toBeTruthy();
  });
});

describe('start-up with a bad regulation file', () => {
  it('stops with exit code 1 naming the file, the path and the problem', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'reglament-badreg-'));
    const regulations = join(dir, 'regulations');
    cpSync(join(ROOT, 'data/regulations'), regulations, { recursive: true });
    const file = join(regulations, 'personnel-reserve.order-184-2015.yaml');
    writeFileSync(
      file,
      readFileSync(file, 'utf8').replace('eventType: AssignedToEmployee', 'eventType: AssignedToClerk'),
    );
    const result = await new Promise<{ code: number | null; stderr: string }>((resolve) => {
      const child = spawn(
        process.execPath,
        ['-r', join(ROOT, 'test/support/swc-register.js'), join(ROOT, 'src/main.ts')],
        {
          env: {
            PATH: process.env['PATH'] ?? '',
            DATA_DIR: join(dir, 'data'),
            PORT: '0',
            LOG_LEVEL: 'silent',
            REGULATIONS_DIR: regulations,
          },
          stdio: ['ignore', 'pipe', 'pipe'],
        },
      );
      let stderr = '';
      child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
      child.on('exit', (code) => resolve({ code, stderr }));
    });
    rmSync(dir, { recursive: true, force: true });
    expect(result.code).toBe(1);
    expect(result.stderr).toContain(file);
    expect(result.stderr).toMatch(/steps\[\d+\]\.eventType: "AssignedToClerk" is not in the event vocabulary/);
  });
});
