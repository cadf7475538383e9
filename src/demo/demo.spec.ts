/**
 * `demo` seeds a real DATA_DIR through the command path; everything below is checked from the SQLite event
 * log it wrote (readAll / readStream), against the regulation catalog and the calendar loaded from data/.
 */
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig } from '../shared/config/config';
import { loadReferenceData } from '../app/reference-data';
import { openEventLog } from '../modules/event-log/open-event-log';
import type { EventLog, RecordedEvent } from '../modules/event-log/event-log.port';
import { toCaseEvent } from '../modules/cases/commands/case-repository';
import { clauseReference, type CaseEventMetadata } from '../modules/cases/domain/case-event';
import { caseSla } from '../modules/cases/domain/case-sla';
import { foldCase } from '../modules/cases/domain/case-state';
import { rolesOn } from '../modules/regulations/domain/regulation-schema';
import { verifyChain } from '../modules/cases/domain/hash-chain';
import { run } from './demo.command';

const reference = loadReferenceData(loadConfig({}));
const { catalog, calendar } = reference;
const zone = calendar.timeZone;
const CASES = 60;
const DAY = 24 * 60 * 60_000;

interface Output {
  code: number;
  stdout: string;
  stderr: string;
}

async function demo(args: string[]): Promise<Output> {
  let stdout = '';
  let stderr = '';
  const out = jest
    .spyOn(process.stdout, 'write')
    .mockImplementation((chunk: string | Uint8Array) => ((stdout += String(chunk)), true));
  const err = jest
    .spyOn(process.stderr, 'write')
    .mockImplementation((chunk: string | Uint8Array) => ((stderr += String(chunk)), true));
  try {
    return { code: await run(args), stdout, stderr };
  } finally {
    out.mockRestore();
    err.mockRestore();
  }
}

async function readLog(dataDir: string): Promise<{ log: EventLog; events: RecordedEvent[] }> {
  const log = await openEventLog({ kind: 'sqlite', dataDir });
  return { log, events: await log.readAll() };
}

const meta = (e: RecordedEvent) => e.metadata as CaseEventMetadata;

/** Per case (keyed by the demo's correlation id, stable across runs of one seed): status and acts. */
function histories(events: RecordedEvent[]): Map<string, string> {
  const byStream = new Map<string, RecordedEvent[]>();
  for (const e of events) byStream.set(e.streamId, [...(byStream.get(e.streamId) ?? []), e]);
  const result = new Map<string, string>();
  for (const stream of byStream.values()) {
    const state = foldCase(stream.map(toCaseEvent), (id) => catalog.byId.get(id)!)!;
    const acts = stream.map((e) => `${meta(e).stepId}@${meta(e).occurredAt}${meta(e).backDated ? '!' : ''}`).join(' ');
    result.set(
      meta(stream[0]!).correlationId,
      `${state.versionId} ${state.trackId} ${state.status} ${state.applicant.iin} ${acts}`,
    );
  }
  return result;
}

describe('npm run demo', () => {
  const dirs: string[] = [];
  const tempDir = () => {
    const dir = mkdtempSync(join(tmpdir(), 'reglament-demo-'));
    dirs.push(dir);
    return dir;
  };
  let dataDir: string;
  let first: Output;
  let log: EventLog;
  let events: RecordedEvent[];

  beforeAll(async () => {
    dataDir = tempDir();
    first = await demo(['--data-dir', dataDir, '--cases', String(CASES), '--seed', 'spec-seed']);
    ({ log, events } = await readLog(dataDir));
  });

  afterAll(async () => {
    await log?.close();
    for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
  });

  it('seeds the cases without a single command refused, and prints the summary and how to start', () => {
    expect(first.stderr).not.toMatch(/REFUSED/);
    expect(first.code).toBe(0);
    const submissions = events.filter((e) => e.type === 'ApplicationSubmitted');
    expect(submissions).toHaveLength(CASES);
    expect(new Set(events.map((e) => e.streamId)).size).toBe(CASES);
    expect(first.stdout).toContain(`seeded ${CASES} cases, ${events.length} events`);
    expect(first.stdout).toContain('recordedAt is simulated by the demo');
    expect(first.stdout).toContain(`mint-token --data-dir ${dataDir}`);
    expect(first.stdout).toContain(`back-dated acts: ${events.filter((e) => meta(e).backDated).length} `);
  });

  it('covers every regulation version and every track of each', () => {
    const seen = new Set(
      events
        .filter((e) => e.type === 'ApplicationSubmitted')
        .map((e) => `${(e.data as { versionId: string }).versionId}#${(e.data as { trackId: string }).trackId}`),
    );
    const expected = catalog.versions.flatMap((v) => v.tracks.map((t) => `${v.versionId}#${t.id}`));
    expect(catalog.versions).toHaveLength(6);
    expect([...seen].sort()).toEqual(expected.sort());
  });

  it('files each case on a working day inside the period its version was in force', () => {
    for (const e of events.filter((x) => x.type === 'ApplicationSubmitted')) {
      const version = catalog.byId.get((e.data as { versionId: string }).versionId)!;
      const local = zone.toLocal(new Date(meta(e).occurredAt)).date;
      expect(local >= version.effective.from && local <= version.effective.until!).toBe(true);
      expect(calendar.isWorkingDay(local)).toBe(true);
    }
  });

  it('has cancellations, refusals (by the portal and by staff), appeals, failed tests and late acts', () => {
    const types = (t: string) => events.filter((e) => e.type === t);
    expect(types('ApplicationCancelled').length).toBeGreaterThan(0);
    const refusals = types('RefusalIssued');
    expect(refusals.some((e) => meta(e).actor.role === 'e-government-portal')).toBe(true);
    expect(refusals.some((e) => meta(e).actor.role !== 'e-government-portal')).toBe(true);
    expect(types('AppealOpened').length).toBeGreaterThan(0);
    expect(new Set(types('AppealResolved').map((e) => (e.data as { decision: string }).decision))).toEqual(
      new Set(['upheld', 'rejected']),
    );
    expect(
      [...types('TestCompleted'), ...types('ExamResultRecorded')].some(
        (e) => (e.data as { passed: boolean }).passed === false,
      ),
    ).toBe(true);

    const byStream = new Map<string, RecordedEvent[]>();
    for (const e of events) byStream.set(e.streamId, [...(byStream.get(e.streamId) ?? []), e]);
    const statuses = { met: 0, breached: 0, overdue: 0, open: 0, 'not-applicable': 0, waiting: 0 };
    let openCases = 0;
    for (const stream of byStream.values()) {
      const state = foldCase(stream.map(toCaseEvent), (id) => catalog.byId.get(id)!)!;
      for (const row of caseSla(state, catalog.byId.get(state.versionId)!, calendar, new Date()))
        statuses[row.status]++;
      if (state.status === 'open') openCases++;
    }
    expect(statuses.met).toBeGreaterThan(statuses.breached);
    expect(statuses.breached).toBeGreaterThan(0);
    expect(statuses.overdue).toBeGreaterThan(0);
    expect(openCases).toBeGreaterThan(0);
  });

  it('ends cases in every way the texts allow: non-admissions, the portal refusal of order 58, the reference without a defence', () => {
    const byStream = new Map<string, RecordedEvent[]>();
    for (const e of events) byStream.set(e.streamId, [...(byStream.get(e.streamId) ?? []), e]);
    const endings = new Set<string>();
    for (const stream of byStream.values()) {
      const state = foldCase(stream.map(toCaseEvent), (id) => catalog.byId.get(id)!)!;
      if (state.result) endings.add(`${state.versionId} ${state.trackId} ${state.status} ${state.result.id}`);
    }
    expect([...endings]).toEqual(
      expect.arrayContaining([
        'civil-service-testing/order-184-2015 default completed below-threshold-reference',
        'academy-admission/order-184-2015 default completed not-admitted',
        'academy-admission/order-58-2019 postgraduate completed admission-refusal-notice',
        'academy-admission/order-58-2019 postgraduate refused portal-refusal',
        'academy-admission/order-58-2019 qualification-improvement completed listener-refusal-notice',
        'academy-admission/order-58-2019 qualification-improvement refused portal-refusal',
        'academy-postgraduate-study/order-184-2015 default completed incomplete-study-reference',
        'personnel-reserve/order-184-2015 corps-a-selection completed not-admitted',
      ]),
    );
  });

  it('shows no admitted or completed case with a breach of a limit that never applied', () => {
    const byStream = new Map<string, RecordedEvent[]>();
    for (const e of events) byStream.set(e.streamId, [...(byStream.get(e.streamId) ?? []), e]);
    let notApplicable = 0;
    for (const stream of byStream.values()) {
      const state = foldCase(stream.map(toCaseEvent), (id) => catalog.byId.get(id)!)!;
      if (state.status !== 'completed' && state.status !== 'refused') continue;
      const version = catalog.byId.get(state.versionId)!;
      for (const row of caseSla(state, version, calendar, new Date())) {
        const step = version.steps.find((s) => s.id === row.stepId)!;
        // A case that ended with a result has nothing left open or overdue, and a breach only of an act it took.
        expect([row.stepId, row.status]).not.toEqual([row.stepId, 'overdue']);
        expect([row.stepId, row.status]).not.toEqual([row.stepId, 'open']);
        if (row.status === 'breached') expect([row.stepId, row.completedAt]).not.toEqual([row.stepId, null]);
        // A conditional step (a notice of non-admission, an appeal's review) counts only where it was taken.
        if (step.optional && !state.completed[step.id])
          expect([row.stepId, row.status]).toEqual([row.stepId, 'not-applicable']);
        if (row.status === 'not-applicable') notApplicable++;
      }
    }
    // Every qualification-improvement extract leaves the 1-day notice of non-admission not applicable, at least.
    expect(notApplicable).toBeGreaterThan(0);
  });

  it('back-dates a share of acts by the service rule: recorded more than 24 h after they occurred', () => {
    const backDated = events.filter((e) => meta(e).backDated);
    expect(backDated.length).toBeGreaterThan(0);
    expect(backDated.length).toBeLessThan(events.length * 0.15);
    for (const e of events) {
      const lag = Date.parse(meta(e).recordedAt) - Date.parse(meta(e).occurredAt);
      expect(lag).toBeGreaterThan(0);
      expect(meta(e).backDated).toBe(lag > DAY);
    }
  });

  it('chains every case stream by hash, from the stored events', async () => {
    for (const streamId of new Set(events.map((e) => e.streamId))) {
      const stream = await log.readStream(streamId);
      expect(verifyChain(stream)).toEqual({ valid: true, events: stream.length });
    }
  });

  it('records every act as decide does: the step of the version, its clause, a role that may take it', () => {
    const versionOfCase = new Map<string, string>();
    const trackOfCase = new Map<string, string>();
    for (const e of events) {
      const m = meta(e);
      if (e.type === 'ApplicationSubmitted') versionOfCase.set(e.streamId, (e.data as { versionId: string }).versionId);
      if (e.type === 'ApplicationSubmitted') trackOfCase.set(e.streamId, (e.data as { trackId: string }).trackId);
      const version = catalog.byId.get(m.regulation.versionId)!;
      expect(m.regulation.versionId).toBe(versionOfCase.get(e.streamId));
      const step = version.steps.find((s) => s.id === m.stepId)!;
      expect(step.eventType).toBe(e.type);
      expect(m.regulation.clause).toEqual(clauseReference(step.clause));
      // A PSC operator may cancel on the applicant's behalf; every other act is done in one of the step's roles.
      if (m.actor.onBehalfOf) expect([e.type, m.actor.role]).toEqual(['ApplicationCancelled', 'psc-operator']);
      else expect(rolesOn(step, trackOfCase.get(e.streamId)!)).toContain(m.actor.role);
    }
  });

  it('gives the same history for the same seed, and another for another seed', async () => {
    const again = tempDir();
    expect((await demo(['--data-dir', again, '--cases', String(CASES), '--seed', 'spec-seed'])).code).toBe(0);
    const other = tempDir();
    expect((await demo(['--data-dir', other, '--cases', String(CASES), '--seed', 'another-seed'])).code).toBe(0);
    const [a, b] = await Promise.all([readLog(again), readLog(other)]);
    try {
      expect(histories(a.events)).toEqual(histories(events));
      expect(histories(b.events)).not.toEqual(histories(events));
    } finally {
      await Promise.all([a.log.close(), b.log.close()]);
    }
  });

  it('refuses a data directory that already holds cases unless --force, and then adds to them', async () => {
    const before = await log.headPosition();
    const refused = await demo(['--data-dir', dataDir, '--cases', '3']);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain(`${dataDir} already holds cases`);
    expect(refused.stderr).toContain('--force');
    expect(await log.headPosition()).toBe(before);

    const forced = await demo(['--data-dir', dataDir, '--cases', '3', '--force', '--seed', 'more']);
    expect(forced.code).toBe(0);
    expect(forced.stdout).toContain('seeded 3 cases');
    const after = await log.readAll({ after: before });
    expect(new Set(after.map((e) => e.streamId)).size).toBe(3);
    expect(after.filter((e) => e.type === 'ApplicationSubmitted')).toHaveLength(3);
  });

  it('answers bad options with the usage and writes nothing', async () => {
    const dir = tempDir();
    const bad = await demo(['--data-dir', dir, '--cases', 'many']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('--cases must be a whole number');
    expect(bad.stderr).toContain('usage: npm run demo');
    expect(existsSync(join(dir, 'events.db'))).toBe(false);
    const help = await demo(['--help']);
    expect(help.code).toBe(0);
    expect(help.stdout).toContain('recordedAt is simulated by the demo');
  });
});
