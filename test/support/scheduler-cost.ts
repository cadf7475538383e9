/**
 * Not a test: what the deadline scheduler costs over a log whose instants are all past. Files CASES_ personnel-reserve
 * cases of 2016 into a real SQLite log, then runs a DeadlineScheduler over it with the real clock: following the log,
 * recording every past instant (12 a case), following the log again over its own records. PROFILE_=<file> profiles it.
 *
 *   node -r ./test/support/swc-register.js test/support/scheduler-cost.ts
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { deepStrictEqual } from 'node:assert/strict';
import { loadCalendars } from '../../src/modules/calendar/domain/load-calendar';
import { loadCatalog } from '../../src/modules/regulations/domain/catalog';
import { caseStreamId } from '../../src/modules/cases/domain/case-event';
import { openSqliteEventLog } from '../../src/modules/event-log/sqlite/sqlite-event-log';
import { DeadlineScheduler } from '../../src/modules/deadline-alerts/scheduler/deadline-scheduler';
import { TimerStore } from '../../src/modules/deadline-alerts/scheduler/timer-store';
import { startProfile } from '../../src/bench/audit-compliance.bench';
import { CaseWalk, makeIin } from './case-specification';

// CaseWalk checks what it decides with jest's expect, which this script runs without: toEqual as jest reads it (a
// member that is undefined counts as absent) is all its filings need.
const plain = (value: unknown): unknown => JSON.parse(JSON.stringify(value ?? null)) as unknown;
(globalThis as { expect?: unknown }).expect = (actual: unknown) => ({
  toEqual: (expected: unknown) => deepStrictEqual(plain(actual), plain(expected)),
});

const DATA = join(__dirname, '../../data');

async function timed<T>(work: () => Promise<T>): Promise<{ value: T; ms: number; cpuMs: number }> {
  const started = performance.now();
  const cpu = process.cpuUsage();
  const value = await work();
  const used = process.cpuUsage(cpu);
  return { value, ms: Math.round(performance.now() - started), cpuMs: Math.round((used.user + used.system) / 1000) };
}

async function main() {
  const catalog = loadCatalog(join(DATA, 'regulations'));
  const calendar = loadCalendars(join(DATA, 'calendars')).get('KZ')!;
  const version = catalog.byId.get('personnel-reserve/order-184-2015')!;
  const dir = mkdtempSync(join(tmpdir(), 'scheduler-cost-'));
  const log = openSqliteEventLog({ file: join(dir, 'events.db'), checkpointer: false });
  const cases = Number(process.env.CASES_ ?? 5000);
  const start = new Date('2016-03-06T11:00:00+06:00');
  const pending: Promise<unknown>[] = [];
  for (let i = 0; i < cases; i++) {
    const walk = new CaseWalk(catalog, calendar.timeZone, version, 'competition-recommended', {
      unit: 'astana',
      iin: makeIin('880101', 3, 100 + (i % 800)),
      start,
    });
    walk.submit(undefined, { channel: 'portal' });
    const events = walk.events.map((e) => ({
      type: e.type,
      data: e.data,
      metadata: e.metadata as unknown as Record<string, unknown>,
    }));
    // The walk names every case alike: each gets a stream of its own.
    pending.push(log.append(caseStreamId(`${walk.state.caseId}-${i}`), events, 'no_stream'));
    if (pending.length >= 64) await Promise.all(pending.splice(0));
  }
  await Promise.all(pending);
  const store = new TimerStore(dir);
  const scheduler = new DeadlineScheduler({ log, catalog, calendar, store });
  const profile = process.env.PROFILE_ ? await startProfile() : null;
  const follow = await timed(() => scheduler.sync());
  const record = await timed(() => scheduler.fireDue());
  const followOwn = await timed(() => scheduler.sync());
  if (profile) await profile.stop(process.env.PROFILE_!);
  process.stdout.write(
    `${JSON.stringify({ cases, follow, record: { ...record, instants: record.value }, followOwn })}\n`,
  );
  store.close();
  await log.close();
  rmSync(dir, { recursive: true, force: true });
}
void main();
