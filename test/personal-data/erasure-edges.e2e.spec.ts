/**
 * What a review of erasure and an input fuzzer found at its edges, each reproduced on the real HTTP server, the real
 * SQLite files and the real CLI: another person's IIN written into a case's free text, IINs carried in the headers a
 * caller names requests with, a repeat under an Idempotency-Key after erasure answering whether the IIN and name sent
 * were the erased ones, a second erasure of a subject already erased, null fields that slipped past validation (one
 * answered 500), a read-your-writes position past the log's head (held 3 s, then 503), and the CLI's command line, with
 * the IIN it erased, left in the data directory's lock file.
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ERASURE_STREAM } from '../../src/modules/personal-data/domain/erasure';
import { eraseSubject } from '../../src/modules/personal-data/commands/erase-subject';
import { PersonalDataVault } from '../../src/modules/personal-data/personal-data-vault';
import { makeIin, startHarness, type ApiHarness, type TestCaller } from '../support/api-harness';
import { cli } from '../support/server-process';

const UNIT = 'astana-hq';
const ADMIN: TestCaller = { sub: 'admin-1', roles: ['admin'], unit: 'hq' };
const PSC: TestCaller = { sub: 'psc-operator-1', roles: ['psc-operator'], unit: UNIT };
const iinA = makeIin('870514', 3, 71);
const iinB = makeIin('900220', 4, 82);
const iinC = makeIin('750101', 3, 93);
const NAME_A = 'Жанаров Ерлан Мухтарович';
const citizen = (iin: string): TestCaller => ({ sub: `egov-${iin}`, roles: ['applicant'], iin });
const filing = (iin: string, fullName: string, occurredAt = '2015-09-15T10:00:00+06:00') => ({
  serviceId: 'civil-service-testing',
  channel: 'psc',
  unit: UNIT,
  applicant: { iin, fullName },
  occurredAt,
});

let dataDir: string;
let api: ApiHarness;
let caseA: string;
let caseB: string;

beforeAll(async () => {
  dataDir = mkdtempSync(join(tmpdir(), 'reglament-erasure-edges-'));
  api = await startHarness({}, { dataDir });
  const filed = await api.call('POST', '/api/cases', {
    as: PSC,
    body: filing(iinA, NAME_A),
    headers: { 'idempotency-key': 'psc-key-0001' },
  });
  expect([filed.status, filed.status === 201 ? '' : filed.body]).toEqual([201, '']);
  caseA = filed.body.caseId;
  // Closed years ago: past the default retention, so A may be erased.
  const cancelled = await api.call('POST', `/api/cases/${caseA}/cancel`, {
    as: citizen(iinA),
    body: { reason: 'передумал', occurredAt: '2015-09-15T15:00:00+06:00' },
  });
  expect(cancelled.status).toBe(201);
  const other = await api.call('POST', '/api/cases', { as: citizen(iinB), body: filing(iinB, 'Сейткали Айжан') });
  expect(other.status).toBe(201);
  caseB = other.body.caseId;
}, 60_000);

afterAll(async () => {
  await api?.close();
  rmSync(dataDir, { recursive: true, force: true });
});

describe("another person's IIN in a case's free text", () => {
  it("400 naming the field and the IIN masked, for a reason that names someone else's IIN, however it is grouped; nothing recorded", async () => {
    for (const written of [iinA, `${iinA.slice(0, 4)} ${iinA.slice(4, 8)} ${iinA.slice(8)}`]) {
      const r = await api.call('POST', `/api/cases/${caseB}/cancel`, {
        as: citizen(iinB),
        body: { reason: `Подала вместо супруга ${NAME_A} ИИН ${written}` },
      });
      expect(r.status).toBe(400);
      expect(r.body.errors).toEqual([
        {
          field: 'reason',
          problem: expect.stringContaining(`another person's IIN (${iinA.slice(0, 4)}******${iinA.slice(10)})`),
          allowed: expect.stringContaining("without another person's IIN"),
        },
      ]);
      expect(JSON.stringify(r.body)).not.toContain(iinA);
    }
    expect(await api.app.infra.eventLog.readStream(`case-${caseB}`)).toHaveLength(1);
  });
});

it('a filing whose unit (stored in clear) is an IIN is 400 naming unit; nothing recorded (a re-test’s finding)', async () => {
  const before = await api.app.infra.eventLog.headPosition();
  const r = await api.call('POST', '/api/cases', {
    as: citizen(iinB),
    body: {
      ...filing(iinB, 'Сейткали Айжан'),
      channel: 'portal',
      unit: `${iinA.slice(0, 2)} ${iinA.slice(2, 4)} ${iinA.slice(4, 6)} ${iinA.slice(6, 8)} ${iinA.slice(8, 10)} ${iinA.slice(10)}`,
    },
  });
  expect(r.status).toBe(400);
  expect(r.body.errors).toEqual([
    expect.objectContaining({ field: 'unit', problem: expect.stringContaining('stored in clear') }),
  ]);
  expect(await api.app.infra.eventLog.headPosition()).toBe(before);
});

describe('IINs in the headers that name a request', () => {
  it('400 for an Idempotency-Key holding an IIN; an x-correlation-id holding one is replaced by a generated id, stored and echoed', async () => {
    const colons = `${iinC.slice(0, 4)}:${iinC.slice(4, 8)}:${iinC.slice(8)}`;
    for (const key of [`${iinC}-2016-04-01`, colons, `(${iinC.slice(0, 6)})${iinC.slice(6)}`]) {
      const keyed = await api.call('POST', '/api/cases', {
        as: PSC,
        body: filing(iinC, 'Тулегенов'),
        headers: { 'idempotency-key': key },
      });
      expect([key, keyed.status]).toEqual([key, 400]);
      expect(keyed.body.errors[0]).toMatchObject({ field: 'header.Idempotency-Key' });
    }
    const grouped = await api.call('POST', '/api/cases', {
      as: PSC,
      body: filing(iinC, 'Тулегенов'),
      headers: { 'x-correlation-id': colons },
    });
    expect(grouped.status).toBe(201);
    expect(grouped.headers.get('x-correlation-id')).not.toBe(colons);

    const traced = await api.call('POST', '/api/cases', {
      as: PSC,
      body: filing(iinC, 'Тулегенов'),
      headers: { 'x-correlation-id': `iin-${iinC}`, 'x-causation-id': `iin-${iinC}` },
    });
    expect(traced.status).toBe(201);
    expect(traced.headers.get('x-correlation-id')).not.toContain(iinC.slice(4, 10));
    const [stored] = await api.app.infra.eventLog.readStream(`case-${traced.body.caseId}`);
    expect(JSON.stringify(stored!.metadata)).not.toContain(iinC);
  });
});

it('an erasure whose basis or reference names an IIN is 400 naming the field, and nothing is erased or recorded: both are kept for good (a re-test’s finding)', async () => {
  const grouped = `${iinA.slice(0, 4)}/${iinA.slice(4, 8)}/${iinA.slice(8)}`;
  for (const [field, body] of [
    ['basis', { iin: iinA, basis: `по заявлению субъекта ИИН ${iinA}`, reference: 'Law 94-V art. 17' }],
    ['reference', { iin: iinA, basis: 'request of the data subject', reference: `заявление ${grouped}` }],
  ] as const) {
    const r = await api.call('POST', '/api/personal-data/erasures', { as: ADMIN, body });
    expect(r.status).toBe(400);
    expect(r.body.errors).toEqual([
      { field, problem: expect.stringContaining('names an IIN'), allowed: expect.any(String) },
    ]);
    expect(JSON.stringify(r.body)).not.toContain(iinA);
  }
  expect(await api.app.infra.eventLog.readStream(ERASURE_STREAM)).toEqual([]);
});

describe('after an erasure', () => {
  let subjectId: string;
  const erasures = async () =>
    (await api.app.infra.eventLog.readStream(ERASURE_STREAM)).filter((e) => e.type === 'PersonalDataErased').length;

  beforeAll(async () => {
    const erased = await api.call('POST', '/api/personal-data/erasures', {
      as: ADMIN,
      body: { iin: iinA, basis: 'request of the data subject', reference: 'Law 94-V art. 17' },
    });
    expect([erased.status, erased.status === 201 ? '' : erased.body]).toEqual([201, '']);
    subjectId = erased.body.subjects[0];
  }, 30_000);

  it('a repeat under the filing’s Idempotency-Key is answered alike whether it names the erased IIN and name or not', async () => {
    const answer = async (iin: string, fullName: string) => {
      const r = await api.call('POST', '/api/cases', {
        as: PSC,
        body: filing(iin, fullName),
        headers: { 'idempotency-key': 'psc-key-0001' },
      });
      const { instance: _instance, correlationId: _correlationId, ...rest } = r.body;
      return { status: r.status, replayed: r.headers.get('idempotent-replayed'), body: rest };
    };
    const same = await answer(iinA, NAME_A);
    expect(same.status).toBe(422);
    expect(same.body.type).toContain('idempotency-key-reused');
    expect(await answer(iinB, 'Сейткали Айжан')).toEqual(same);
  });

  it('the same holds when another process erased the applicant, whose fold this process still keeps (a review’s finding)', async () => {
    const iinD = makeIin('860606', 3, 44);
    const filed = await api.call('POST', '/api/cases', {
      as: PSC,
      body: filing(iinD, 'Другой Процесс'),
      headers: { 'idempotency-key': 'psc-key-0002' },
    });
    expect(filed.status).toBe(201);
    const cancelled = await api.call('POST', `/api/cases/${filed.body.caseId}/cancel`, {
      as: citizen(iinD),
      body: { occurredAt: '2015-09-15T15:00:00+06:00' },
    });
    expect(cancelled.status).toBe(201);
    // Erased through a vault of its own, as the CLI or another API instance erases: nothing tells this process's
    // command side, whose fold of the case still holds the applicant in clear.
    const { eventLog, personalData, reference } = api.app.infra;
    const elsewhere = new PersonalDataVault(personalData.keys);
    const erased = await eraseSubject(
      { log: eventLog, vault: elsewhere, catalog: reference.catalog },
      { iin: iinD, basis: 'request of the data subject', reference: 'Law 94-V art. 17', by: 'admin-2' },
    );
    expect(erased.ok).toBe(true);
    const repeat = await api.call('POST', '/api/cases', {
      as: PSC,
      body: filing(iinD, 'Другой Процесс'),
      headers: { 'idempotency-key': 'psc-key-0002' },
    });
    expect(repeat.status).toBe(422);
    expect(repeat.headers.get('idempotent-replayed')).toBeNull();
  });

  it('a citizen’s own repeat under their key is answered alike too (it was 409 "case exists", not 422)', async () => {
    const iinE = makeIin('830303', 3, 55);
    const body = { ...filing(iinE, 'Сам Себе'), channel: 'portal' };
    const filed = await api.call('POST', '/api/cases', {
      as: citizen(iinE),
      body,
      headers: { 'idempotency-key': 'citizen-key-1' },
    });
    expect(filed.status).toBe(201);
    expect(
      (
        await api.call('POST', `/api/cases/${filed.body.caseId}/cancel`, {
          as: citizen(iinE),
          body: { occurredAt: '2015-09-15T15:00:00+06:00' },
        })
      ).status,
    ).toBe(201);
    const erased = await api.call('POST', '/api/personal-data/erasures', {
      as: ADMIN,
      body: { iin: iinE, basis: 'request of the data subject', reference: 'Law 94-V art. 17' },
    });
    expect(erased.status).toBe(201);
    for (const repeat of [body, { ...body, applicant: { iin: iinE, fullName: 'Другое Имя' } }]) {
      const r = await api.call('POST', '/api/cases', {
        as: citizen(iinE),
        body: repeat,
        headers: { 'idempotency-key': 'citizen-key-1' },
      });
      expect([r.status, r.body.type]).toEqual([422, expect.stringContaining('idempotency-key-reused')]);
    }
    // Another citizen naming the erased case learns nothing of its keys: the same 403 under its key as under any other.
    const stranger = citizen(makeIin('840404', 4, 66));
    for (const key of ['citizen-key-1', 'never-used-key']) {
      const r = await api.call('POST', `/api/cases/${filed.body.caseId}/cancel`, {
        as: stranger,
        body: {},
        headers: { 'idempotency-key': key },
      });
      expect([key, r.status]).toEqual([key, 403]);
    }
  });

  it('erasing the subject again by its id is 404 (as by its IIN), and records no second erasure', async () => {
    const before = await erasures();
    const again = await api.call('POST', '/api/personal-data/erasures', {
      as: ADMIN,
      body: { subjectId, basis: 'request of the data subject', reference: 'Law 94-V art. 17' },
    });
    expect(again.status).toBe(404);
    const byIin = await api.call('POST', '/api/personal-data/erasures', {
      as: ADMIN,
      body: { iin: iinA, basis: 'request of the data subject', reference: 'Law 94-V art. 17' },
    });
    expect(byIin.status).toBe(404);
    expect(await erasures()).toBe(before);
  });
});

describe('null is a value, validated as one', () => {
  it.each([
    ['iin', { iin: null, basis: 'retention period ended', reference: 'Law No. 94-V' }],
    ['subjectId', { subjectId: null, basis: 'retention period ended', reference: 'Law No. 94-V' }],
  ])('an erasure naming %s as null is 400 naming it, not a 500', async (field, body) => {
    const r = await api.call('POST', '/api/personal-data/erasures', { as: ADMIN, body });
    expect(r.status).toBe(400);
    expect(r.body.errors.map((e: { field: string }) => e.field)).toContain(field);
  });

  it.each([
    ['expectedRevision', { expectedRevision: null }],
    ['occurredAt', { occurredAt: null }],
    ['reason', { reason: null }],
  ])('a cancellation with %s null is 400 naming it; nothing recorded', async (field, body) => {
    const r = await api.call('POST', `/api/cases/${caseB}/cancel`, { as: citizen(iinB), body });
    expect(r.status).toBe(400);
    // One entry, saying what was sent (each rule's own words, "must not be less than 0", fit no null).
    expect(r.body.errors).toEqual([{ field, problem: 'is null', allowed: expect.any(String) }]);
    expect(await api.app.infra.eventLog.readStream(`case-${caseB}`)).toHaveLength(1);
  });
});

it('a read-your-writes position past the log’s head is 400 naming query.after and the head, at once', async () => {
  const head = await api.app.infra.eventLog.headPosition();
  for (const path of [`/api/cases/${caseB}`, '/api/cases', '/api/compliance/summary']) {
    const r = await api.call('GET', `${path}?after=${head + 1000}`, { as: ADMIN });
    expect([path, r.status]).toEqual([path, 400]);
    expect(r.body.errors).toEqual([
      expect.objectContaining({ field: 'query.after', problem: expect.stringMatching(/past the log's head \(\d+\)/) }),
    ]);
  }
  const reached = await api.call('GET', `/api/cases/${caseB}?after=${head}`, { as: ADMIN });
  expect(reached.status).toBe(200);
});

it('the CLI leaves no argument of its command line in the data directory: the lock file names the program and command only', async () => {
  await api.close();
  const r = cli(
    ['erase', '--iin', iinB, '--basis', 'request of the data subject', '--reference', 'Law 94-V art. 17'],
    dataDir,
  );
  // B's case is open: refused, after the CLI took the data directory's lock.
  expect(r.stderr).toContain('open');
  const locks = join(dataDir, 'locks');
  const holders = readdirSync(locks).filter((f) => f.endsWith('.holder.json'));
  expect(holders.length).toBeGreaterThan(0);
  for (const holder of holders) {
    const text = readFileSync(join(locks, holder), 'utf8');
    expect(text).not.toContain(iinB);
    expect(text).not.toContain('request of the data subject');
  }
  expect(readFileSync(join(locks, 'log-writer.holder.json'), 'utf8')).toContain('main.ts erase');
}, 120_000);
