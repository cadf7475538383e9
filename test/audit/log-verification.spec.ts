import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { openSqliteEventLog, type SqliteEventLog } from '../../src/modules/event-log/sqlite/sqlite-event-log';
import { loadCatalog } from '../../src/modules/regulations/domain/catalog';
import { loadCalendars } from '../../src/modules/calendar/domain/load-calendar';
import { CaseCommandService } from '../../src/modules/cases/commands/case-command-service';
import { makeIin } from '../support/case-specification';
import { verifyLog } from '../../src/modules/audit/verify-log.cli';
import { LogChainVerifier } from '../../src/modules/audit/domain/log-verification';
import { storedLinks } from '../../src/modules/cases/domain/hash-chain';

const catalog = loadCatalog('data/regulations');
const calendar = loadCalendars('data/calendars').get('KZ')!;
const UNIT = 'astana';

describe('verification of the whole log on the stored text', () => {
  let dir: string;
  let log: SqliteEventLog;
  let caseIds: string[];

  beforeEach(async () => {
    dir = mkdtempSync(join(tmpdir(), 'verify-'));
    log = openSqliteEventLog({ file: join(dir, 'events.db') });
    const service = new CaseCommandService(log, catalog, calendar, { backDatedAfterMs: 86_400_000 });
    caseIds = [];
    for (let i = 0; i < 3; i++) {
      const iin = makeIin('880101', 3, 300 + i);
      const submitted = await service.submit(
        { id: `a-${i}`, name: 'A', roles: ['applicant'], unit: 'public', iin },
        {
          serviceId: 'personnel-reserve',
          trackId: 'competition-recommended',
          channel: 'portal',
          unit: UNIT,
          applicant: { iin, fullName: 'Ә' },
          occurredAt: new Date('2015-10-05T09:00:00+06:00'),
        },
      );
      if (!submitted.ok) throw new Error(JSON.stringify(submitted.refusal));
      const caseId = submitted.accepted.caseId;
      caseIds.push(caseId);
      const r = await service.takeStep({ id: 'c', name: 'C', roles: ['registry-clerk'], unit: UNIT }, caseId, {
        stepId: 'documents-registered',
        occurredAt: new Date('2015-10-05T10:00:00+06:00'),
        data: { incomingNumber: `04-${i}` },
      });
      if (!r.ok) throw new Error(JSON.stringify(r.refusal));
    }
    await log.append('probe-1', [{ type: 'Unsealed', data: {} }], 'no_stream');
  });
  afterEach(async () => {
    await log.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('agrees with the check on parsed events: valid, with the unsealed stream set apart', async () => {
    const parsed = new LogChainVerifier();
    for (const e of await log.readAll({})) parsed.add(e);
    const { tree, ...stored } = await verifyLog(log);
    expect(stored).toEqual(parsed.report());
    // The tree rebuilt in the same pass has the root of the one the log keeps.
    expect(tree).toMatchObject({ leaves: 7, contradicted: [] });
    expect(stored).toMatchObject({ valid: true, events: 7, sealedEvents: 6, streams: 4, unsealedStreams: 1 });
  });

  it('reads the links of every sealed event straight from its stored text (the fast path), without parsing it', async () => {
    const raw = await log.readAllRaw({ filter: { streamPrefixes: ['case-'] } });
    expect(raw).toHaveLength(6);
    for (const event of raw) {
      const parsed = JSON.parse(event.metadata) as { hash: string; previousHash: string | null };
      expect(storedLinks(event.metadata)).toMatchObject({ hash: parsed.hash, previous: parsed.previousHash });
    }
  });

  it('names the stream and revision whose stored data was changed, and stays valid when only key order changed', async () => {
    const db = new Database(join(dir, 'events.db'));
    db.prepare(`UPDATE events SET data = '{"incomingNumber":"04-999"}' WHERE stream_id = ? AND revision = 1`).run(
      `case-${caseIds[1]}`,
    );
    const reordered = db
      .prepare(`SELECT metadata FROM events WHERE stream_id = ? AND revision = 1`)
      .get(`case-${caseIds[2]}`) as { metadata: string };
    const meta = JSON.parse(reordered.metadata) as Record<string, unknown>;
    const reversed = Object.fromEntries(Object.entries(meta).reverse());
    db.prepare(`UPDATE events SET metadata = ? WHERE stream_id = ? AND revision = 1`).run(
      JSON.stringify(reversed),
      `case-${caseIds[2]}`,
    );
    db.close();
    const report = await verifyLog(log);
    expect(report.valid).toBe(false);
    expect(report.broken).toEqual([
      { streamId: `case-${caseIds[1]}`, revision: 1, problem: expect.stringMatching(/does not match the content/) },
    ]);
  });

  it('finds a dropped event by the revision gap', async () => {
    const db = new Database(join(dir, 'events.db'));
    db.prepare(`DELETE FROM events WHERE stream_id = ? AND revision = 0`).run(`case-${caseIds[0]}`);
    db.close();
    const report = await verifyLog(log);
    expect(report.broken).toEqual([
      { streamId: `case-${caseIds[0]}`, revision: 1, problem: expect.stringMatching(/expected revision 0, found 1/) },
    ]);
  });
});
