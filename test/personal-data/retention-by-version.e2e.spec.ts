/**
 * Each regulation version keeps its closed cases' personal data for its own period, with its own stated basis: with
 * one version's period set to a year (a copy of the shipped regulations, REGULATIONS_DIR), two cases closed on the same
 * day, read two years later (the service's clock) on the real HTTP server, are one due (reported, erased) and one kept
 * (refused, "kept until" its own date and basis).
 */
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig } from '../../src/shared/config/config';
import { loadReferenceData } from '../../src/app/reference-data';
import { makeIin, startHarness, type ApiHarness, type TestCaller } from '../support/api-harness';
import { filingBody, filingDay } from '../support/case-walk';

const ROOT = join(__dirname, '../..');
const UNIT = 'astana-hq';
const ADMIN: TestCaller = { sub: 'admin-1', roles: ['admin'], unit: 'hq' };
const SHORT = 'personnel-reserve/order-184-2015';
const LONG = 'civil-service-testing/order-184-2015';
const SHORT_BASIS = 'a one-year period set for this spec';
const iinShort = makeIin('860606', 3, 61);
const iinLong = makeIin('860707', 4, 62);

let regulationsDir: string;
let api: ApiHarness;
const cases: Record<string, string> = {};

async function fileAndClose(versionId: string, iin: string, fullName: string): Promise<string> {
  const catalog = loadReferenceData(loadConfig({ REGULATIONS_DIR: regulationsDir })).catalog;
  const version = catalog.byId.get(versionId)!;
  const who: TestCaller = { sub: `egov-${iin}`, name: fullName, roles: ['applicant'], iin };
  const filed = await api.call('POST', '/api/cases', {
    as: who,
    body: filingBody(version, UNIT, { iin, fullName }, `${filingDay(version)}T10:00:00+06:00`),
  });
  expect([filed.status, filed.status === 201 ? '' : filed.body]).toEqual([201, '']);
  const cancelled = await api.call('POST', `/api/cases/${filed.body.caseId}/cancel`, {
    as: who,
    body: { reason: 'передумал', occurredAt: `${filingDay(version)}T15:00:00+06:00` },
  });
  expect(cancelled.status).toBe(201);
  await api.app.infra.projections.readModels.waitFor('cases', cancelled.body.position, 10_000);
  return filed.body.caseId as string;
}

beforeAll(async () => {
  regulationsDir = mkdtempSync(join(tmpdir(), 'reglament-regulations-'));
  cpSync(join(ROOT, 'data/regulations'), regulationsDir, { recursive: true });
  const file = join(regulationsDir, 'personnel-reserve.order-184-2015.yaml');
  const text = readFileSync(file, 'utf8');
  const shortened = text.replace(
    /personalDataRetention:\n {2}years: 5\n {2}basis: >-\n(?: {4}.*\n)+/,
    `personalDataRetention:\n  years: 1\n  basis: ${SHORT_BASIS}\n`,
  );
  expect(shortened).not.toBe(text);
  writeFileSync(file, shortened);
  // Two years after the filings (both versions' filing day is 2015-09-15).
  api = await startHarness({ REGULATIONS_DIR: regulationsDir }, { clock: () => new Date('2017-09-16T12:00:00Z') });
  cases.short = await fileAndClose(SHORT, iinShort, 'Короткий Срок Тестович');
  cases.long = await fileAndClose(LONG, iinLong, 'Долгий Срок Тестович');
}, 60_000);

afterAll(async () => {
  await api?.close();
  rmSync(regulationsDir, { recursive: true, force: true });
});

describe("a version's own retention period", () => {
  it('puts its case closed two years ago in the report of what is due; the five-year version keeps its own', async () => {
    const due = await api.call('GET', '/api/personal-data/retention-due', { as: ADMIN });
    expect(due.status).toBe(200);
    const dueCases = (due.body.due as Array<{ cases: Array<{ caseId: string; versionId: string }> }>).flatMap(
      (d) => d.cases,
    );
    expect(dueCases.map((c) => [c.caseId, c.versionId])).toEqual([[cases.short, SHORT]]);
  });

  it('is refused for the version that keeps the data, naming its own end and basis, and done for the one past its period', async () => {
    const erase = (iin: string) =>
      api.call('POST', '/api/personal-data/erasures', {
        as: ADMIN,
        body: { iin, basis: 'retention period ended', reference: 'Law 94-V art. 12' },
      });
    const kept = await erase(iinLong);
    expect(kept.status).toBe(409);
    expect(kept.body).toMatchObject({
      type: expect.stringContaining('erasure-refused-retention'),
      errors: [{ field: `cases.${cases.long}`, problem: expect.stringMatching(/^kept until 2020-09-15/) }],
    });
    expect(kept.body.detail).toContain('The act is silent');
    const erased = await erase(iinShort);
    expect([erased.status, erased.status === 201 ? '' : erased.body]).toEqual([201, '']);
    expect(erased.body.cases).toEqual([expect.objectContaining({ caseId: cases.short, versionId: SHORT })]);
  });
});
