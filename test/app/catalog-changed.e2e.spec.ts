/**
 * Issue 14.10 on the real server and files: a regulation file changed under stored cases. A renamed step started
 * fine and stranded the cases in progress; a removed file gave 500s. Start-up now compares every version the
 * stored cases use with its file and refuses a change that breaks them, naming the version and the cases.
 */
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  CATALOG_PINS_STREAM,
  CatalogChangedError,
  type VersionPin,
} from '../../src/modules/regulations/usage/catalog-guard';
import { makeIin, startHarness, type ApiHarness, type TestCaller } from '../support/api-harness';

const FILE = 'personnel-reserve.order-184-2015.yaml';
const VERSION = 'personnel-reserve/order-184-2015';
const IIN = makeIin('850101', 3, 90);
const applicant: TestCaller = { sub: `applicant-${IIN}`, roles: ['applicant'], unit: 'public', iin: IIN };
const CLERK: TestCaller = { sub: 'registry-clerk-astana', roles: ['registry-clerk'], unit: 'astana' };

let work: string;
let dataDir: string;
let regulations: string;
let caseId = '';
const original = readFileSync(join('data/regulations', FILE), 'utf8');
const edit = (text: string) => writeFileSync(join(regulations, FILE), text);
const start = (env: Record<string, string> = {}): Promise<ApiHarness> =>
  startHarness({ REGULATIONS_DIR: regulations, ...env }, { dataDir });
async function refusal(env: Record<string, string> = {}): Promise<CatalogChangedError> {
  const error = await start(env).then(
    async (api) => {
      await api.close();
      return null;
    },
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(CatalogChangedError);
  return error as CatalogChangedError;
}

beforeAll(async () => {
  work = mkdtempSync(join(tmpdir(), 'reglament-catalog-'));
  dataDir = join(work, 'data');
  regulations = join(work, 'regulations');
  cpSync('data/regulations', regulations, { recursive: true });
  const api = await start();
  const filed = await api.call('POST', '/api/cases', {
    as: applicant,
    body: {
      serviceId: 'personnel-reserve',
      trackId: 'competition-recommended',
      channel: 'portal',
      unit: 'astana',
      applicant: { iin: IIN, fullName: 'Тестов Тест' },
      occurredAt: '2015-09-15T10:00:00+06:00',
    },
  });
  expect(filed.status).toBe(201);
  caseId = filed.body.caseId;
  const step = await api.call('POST', `/api/cases/${caseId}/steps/documents-registered`, {
    as: CLERK,
    body: { occurredAt: '2015-09-15T11:00:00+06:00', data: { incomingNumber: '04-1' } },
  });
  expect(step.status).toBe(201);
  await api.close();
}, 60_000);
afterAll(() => rmSync(work, { recursive: true, force: true }));
afterEach(() => edit(original));

describe('a regulation file changed under stored cases', () => {
  it('the version is pinned in the log at its first use, with its content hashes', async () => {
    const api = await start();
    const pins = (await api.app.infra.eventLog.readStream(CATALOG_PINS_STREAM)).map((e) => e.data as VersionPin);
    expect(pins).toEqual([
      {
        versionId: VERSION,
        hash: expect.stringMatching(/^[0-9a-f]{64}$/),
        structuralHash: expect.stringMatching(/^[0-9a-f]{64}$/),
        reason: 'first-use',
      },
    ]);
    await api.close();
  });

  it('a renamed step that a case recorded refuses start, naming the step, the version and the case, and saying what to do', async () => {
    edit(original.replaceAll('documents-registered', 'documents-logged'));
    const error = await refusal();
    expect(error.problems).toContain(
      `step documents-registered, recorded on 1 case(s), e.g. ${caseId}, is no longer in ${VERSION} (renamed or removed)`,
    );
    expect(error.message).toMatch(/A published version is immutable: put a change in a new version file/);
    expect(error.message).toMatch(/CATALOG_CHANGE_ALLOWED=<versionId>/);
  });

  it('a structural change no case recorded yet (a limit) is refused too: the version is immutable once in use', async () => {
    edit(original.replace('spec: { kind: minutes, minutes: 30 }', 'spec: { kind: minutes, minutes: 45 }'));
    const error = await refusal();
    expect(error.problems).toEqual([
      expect.stringMatching(
        new RegExp(
          `^${VERSION} \\(.*${FILE}\\) changed since its cases were recorded under it \\(1 case\\(s\\), e.g. ${caseId}\\)`,
        ),
      ),
    ]);
  });

  it('a removed file refuses start naming the version and its cases, whatever the override says', async () => {
    rmSync(join(regulations, FILE));
    try {
      const error = await refusal({ CATALOG_CHANGE_ALLOWED: '*' });
      expect(error.problems).toEqual([
        `version ${VERSION} is used by 1 case(s), e.g. ${caseId} but is no longer in the catalog (its file was removed or its id changed); restore the file`,
      ]);
    } finally {
      edit(original);
    }
  });

  it('a change to the words only (a label) starts, and the version is pinned again saying so', async () => {
    edit(
      original.replace(
        'label: { ru: "Регистрация документов канцелярией',
        'label: { ru: "Регистрация документов канцелярией услугодателя',
      ),
    );
    const api = await start();
    const pins = (await api.app.infra.eventLog.readStream(CATALOG_PINS_STREAM)).map((e) => e.data as VersionPin);
    expect(pins.map((p) => p.reason)).toEqual(['first-use', 'words-changed']);
    expect(pins[1]!.structuralHash).toBe(pins[0]!.structuralHash);
    expect(pins[1]!.hash).not.toBe(pins[0]!.hash);
    await api.close();
  });

  it('CATALOG_CHANGE_ALLOWED naming the version lets a deliberate correction start; it is pinned as an override', async () => {
    edit(original.replace('spec: { kind: minutes, minutes: 30 }', 'spec: { kind: minutes, minutes: 45 }'));
    const api = await start({ CATALOG_CHANGE_ALLOWED: VERSION });
    const pins = (await api.app.infra.eventLog.readStream(CATALOG_PINS_STREAM)).map((e) => e.data as VersionPin);
    expect(pins.at(-1)!.reason).toBe('override');
    const view = await api.call('GET', `/api/cases/${caseId}`, {
      as: { sub: 'auditor-1', roles: ['auditor'], unit: 'hq' },
    });
    expect(view.status).toBe(200);
    await api.close();
    // Pinned under its new content, the corrected version starts from now on without the override.
    await (await start()).close();
  });
});
