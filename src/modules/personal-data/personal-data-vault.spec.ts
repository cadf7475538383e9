/**
 * The command side and the key store together: what a filing's answer promises about keys.db, with the real embedded
 * log, the real key store file and the real command service.
 */
import Database from 'better-sqlite3';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadCalendars } from '../calendar/domain/load-calendar';
import { CaseCommandService, type CommandOutcome } from '../cases/commands/case-command-service';
import { caseStreamId } from '../cases/domain/case-event';
import { openSqliteEventLog, type SqliteEventLog } from '../event-log/sqlite/sqlite-event-log';
import { loadCatalog } from '../regulations/domain/catalog';
import { makeIin, principal } from '../../../test/support/case-specification';
import { isEnvelope } from './domain/envelope';
import { newDataKey } from './domain/key-wrapping';
import { KEY_STORE_FILE, SqliteKeyStore } from './keys/sqlite-key-store';
import { PersonalDataVault } from './personal-data-vault';

const DATA = join(__dirname, '../../../data');
const catalog = loadCatalog(join(DATA, 'regulations'));
const calendar = loadCalendars(join(DATA, 'calendars')).get('KZ')!;
const UNIT = 'astana-department';

let dir: string;
let log: SqliteEventLog;
let keys: SqliteKeyStore;
let service: CaseCommandService;
const master = newDataKey();

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'reglament-vault-'));
  log = openSqliteEventLog({ file: join(dir, 'events.db') });
  keys = SqliteKeyStore.open(dir, master);
  service = new CaseCommandService(log, catalog, calendar, {
    backDatedAfterMs: 86_400_000,
    clock: () => new Date('2015-09-20T12:00:00+06:00'),
    personalData: new PersonalDataVault(keys),
  });
});
afterEach(async () => {
  await log.close();
  await keys.close();
  rmSync(dir, { recursive: true, force: true });
});

function file(n: number): Promise<CommandOutcome> {
  const iin = makeIin('880101', 3, n);
  return service.submit(principal('applicant', 'public', { iin }), {
    serviceId: 'personnel-reserve',
    trackId: 'competition-recommended',
    channel: 'portal',
    unit: UNIT,
    applicant: { iin, fullName: `Әлия Сәрсенова ${n}` },
    occurredAt: new Date('2015-09-15T09:00:00+06:00'),
  });
}

describe('a filing with personal data', () => {
  it("is answered only once its subject's claim and its case's link are committed to keys.db: another connection sees them", async () => {
    const outcomes = await Promise.all([file(1), file(2), file(1)]);
    const other = SqliteKeyStore.open(dir, master);
    try {
      for (const outcome of outcomes) {
        if (!outcome.ok) throw new Error(JSON.stringify(outcome.refusal));
        const [opening] = await log.readStream(caseStreamId(outcome.accepted.caseId));
        const applicant = (opening!.data as { applicant: unknown }).applicant;
        if (!isEnvelope(applicant)) throw new Error('the applicant is not encrypted');
        expect(await other.subjectOfCase(outcome.accepted.caseId)).toBe(applicant.kid);
      }
    } finally {
      await other.close();
    }
  });

  it('is not answered as accepted when keys.db refuses the claim and the link: the commit failure is the answer', async () => {
    const first = await file(1);
    expect(first.ok).toBe(true);
    // Another connection makes every later case link fail to commit, as a damaged or full key store would.
    const db = new Database(join(dir, KEY_STORE_FILE));
    db.exec(
      "CREATE TRIGGER refuse_links BEFORE INSERT ON case_subjects BEGIN SELECT RAISE(ABORT, 'links refused'); END",
    );
    // SQLite's own error: better-sqlite3 keeps the error class of the first test file that loaded it in this jest
    // worker (another realm), so it is checked by its message, not with toThrow.
    const failure = (filing: Promise<CommandOutcome>) =>
      filing.then(
        () => 'answered',
        (error: unknown) => String((error as { message?: unknown }).message),
      );
    expect(await failure(file(1))).toMatch(/links refused/);
    expect(await failure(file(2))).toMatch(/links refused/);
    db.exec('DROP TRIGGER refuse_links');
    db.close();
    const after = await file(2);
    if (!after.ok) throw new Error(JSON.stringify(after.refusal));
    expect(await keys.subjectOfCase(after.accepted.caseId)).not.toBeNull();
  });
});
