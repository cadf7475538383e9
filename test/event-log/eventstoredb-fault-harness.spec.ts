import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LAG_EVENTS_COUNTED, ReadModels } from '../../src/projections/read-models';
import { ProjectionRuntime } from '../../src/projections/projection-runtime';
import { openSqliteReadStore } from '../../src/modules/read-store/sqlite/sqlite-read-store';
import { toProblem } from '../../src/app/problem/problem.filter';
import { EventStoreDbFaultHarness } from '../support/eventstoredb-fault-harness';
import { waitUntil } from '../../src/modules/event-log/event-log.contract';
import { AppendTooLargeError, EventLogUnavailableError } from '../../src/modules/event-log/event-log.errors';
import {
  MAX_APPEND_BYTES,
  openEventStoreDbEventLog,
  type EventStoreDbEventLog,
} from '../../src/modules/event-log/eventstoredb/eventstoredb-event-log';
import { counterProjection } from '../durability/counter.projection';

/*
 * The real adapter and the real @eventstore/db-client against a fault harness (test/support/eventstoredb-fault-harness.ts):
 * a tiny gRPC server that misbehaves on purpose. These prove our handling of a failure, not KurrentDB's behaviour;
 * the contract suite (eventstoredb-event-log.spec.ts, EVENTSTORE_URL) is the test against the server.
 */
describe('eventstoredb adapter against the fault harness', () => {
  let harness: EventStoreDbFaultHarness;
  let log: EventStoreDbEventLog;

  beforeEach(async () => {
    harness = new EventStoreDbFaultHarness();
    log = openEventStoreDbEventLog({ connectionString: await harness.start(), readDeadlineMs: 2000 });
  });
  afterEach(async () => {
    // The server first: the client's dispose waits for a call the harness broke until its server is gone.
    await harness.stop();
    await log.close();
  });

  it('fault harness: 150 reads left early on calls the server never ends, then an append completes and no call stays open', async () => {
    harness.seed('case-a', ['A', 'B', 'C', 'D', 'E']);
    harness.faults.endlessReads = true;
    // Each read wants fewer events than the server sends and leaves the call while the server still holds it open:
    // with 100 concurrent HTTP/2 streams per connection, a leaked call per read would make the 101st wait for ever.
    for (let i = 0; i < 150; i++) expect(await log.readAll({ maxCount: 1 })).toHaveLength(1);
    await waitUntil(() => harness.openReads === 0);
    harness.faults.endlessReads = false;
    const result = await log.append('case-b', [{ type: 'Filed', data: { n: 1 } }], 'no_stream');
    expect(result.nextRevision).toBe(0);
    expect(result.position).toBe(harness.records.at(-1)!.position);
  });

  it('fault harness: a read the server never answers is cancelled at its deadline as EventLogUnavailableError (503), and later calls work', async () => {
    await log.close();
    log = openEventStoreDbEventLog({ connectionString: await restart(harness), readDeadlineMs: 200 });
    harness.faults.hangReads = true;
    const error = await log.readStream('case-a').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(EventLogUnavailableError);
    expect((error as Error).message).toMatch(/within 200 ms/);
    expect(toProblem(error).problem).toMatchObject({
      status: 503,
      type: expect.stringContaining('event-log-unavailable'),
    });
    expect(toProblem(error).headers).toEqual({ 'retry-after': '1' });
    await waitUntil(() => harness.openReads === 0);
    harness.faults.hangReads = false;
    await expect(log.append('case-a', [{ type: 'Filed', data: {} }], 'no_stream')).resolves.toMatchObject({
      nextRevision: 0,
    });
  });

  it.each([
    ['an append the server takes and never answers', { hangAppends: true }],
    [
      'an append behind a server-features query the server never answers (the client gives that query no deadline)',
      { hangFeatures: true },
    ],
  ])(
    'fault harness: %s fails at its deadline as EventLogUnavailableError (503), saying a retry is safe',
    async (_label, faults) => {
      await log.close();
      log = openEventStoreDbEventLog({ connectionString: await restart(harness), appendDeadlineMs: 300 });
      harness.faults = faults;
      const error = await log.append('case-a', [{ type: 'Filed', data: {} }], 'no_stream').catch((e: unknown) => e);
      expect(error).toBeInstanceOf(EventLogUnavailableError);
      expect((error as Error).message).toMatch(/no answer within 300 ms.*retry/);
      expect(toProblem(error).problem).toMatchObject({ status: 503 });
    },
  );

  it('fault harness: an append over 1 MiB in total (each event under the per-event limit) is refused before it is sent: AppendTooLargeError, 413', async () => {
    const half = 'x'.repeat(600 * 1024);
    const error = await log
      .append(
        'case-a',
        [
          { type: 'A', data: { half } },
          { type: 'B', data: { half } },
        ],
        'no_stream',
      )
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(AppendTooLargeError);
    expect(error).toMatchObject({ streamId: 'case-a', limit: MAX_APPEND_BYTES });
    expect((error as AppendTooLargeError).bytes).toBeGreaterThan(MAX_APPEND_BYTES);
    expect(harness.appendCalls).toBe(0);
    expect(harness.records).toHaveLength(0);
    expect(toProblem(error).problem).toMatchObject({ status: 413, type: expect.stringContaining('append-too-large') });
  });

  it('fault harness: an append at exactly the limit as the server counts it is sent and stored', async () => {
    // data is {"b":"…"} (8 bytes around the text), metadata {} (2 bytes), type "A" (2 bytes).
    const blob = 'x'.repeat(MAX_APPEND_BYTES - 8 - 2 - 2);
    await expect(log.append('case-a', [{ type: 'A', data: { b: blob } }], 'no_stream')).resolves.toMatchObject({
      nextRevision: 0,
    });
    expect(harness.records).toHaveLength(1);
  });

  it("fault harness: the server's own maximum-append-size-exceeded refusal becomes AppendTooLargeError with the server's limit", async () => {
    harness.faults.maxAppendSize = 4096;
    const error = await log
      .append('case-a', [{ type: 'A', data: { blob: 'x'.repeat(8000) } }], 'no_stream')
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(AppendTooLargeError);
    expect(error).toMatchObject({ limit: 4096 });
    expect(harness.records).toHaveLength(0);
  });

  it('fault harness: a read-back answered by a node behind the leader is not taken for the appended event', async () => {
    await log.append('case-a', [{ type: 'Filed', data: {} }], 'no_stream');
    harness.faults.followerBehind = true;
    const error = await log.append('case-a', [{ type: 'Registered', data: {} }], 0).catch((e: unknown) => e);
    // The old read-back returned revision 0's position as the new event's: a `?after` read would then wait for too little.
    expect(error).toBeInstanceOf(EventLogUnavailableError);
    expect((error as Error).message).toMatch(/case-a@1.*found revision 0/);
  });

  it('fault harness: the head is the newest event outside system streams, read as one record however many system records follow it', async () => {
    harness.seed('case-a', ['Filed', 'Registered']);
    harness.seed(
      '$stats-127.0.0.1:2113',
      Array.from({ length: 300 }, () => '$statsCollected'),
    );
    harness.recordsSent = 0;
    const caseHead = harness.records.filter((r) => r.streamId === 'case-a').at(-1)!.position;
    expect(await log.headPosition()).toBe(caseHead);
    expect(harness.recordsSent).toBe(1);
  });

  it('fault harness: projection lag reads one head record and at most 100 events per distinct checkpoint, not 10,000 per projection', async () => {
    harness.seed(
      'case-a',
      Array.from({ length: 500 }, (_, i) => `E${i}`),
    );
    const store = openSqliteReadStore({ file: join(mkdtempSync(join(tmpdir(), 'reglament-lag-')), 'read.db') });
    try {
      const projections = ['one', 'two', 'three'].map((name) => ({
        name,
        version: 1,
        eventTypes: '*' as const,
        collections: ['c'],
        apply: () => undefined,
      }));
      harness.recordsSent = 0;
      const rows = await new ReadModels(log, store, projections).status();
      expect(rows.map((r) => r.lagEvents)).toEqual([LAG_EVENTS_COUNTED, LAG_EVENTS_COUNTED, LAG_EVENTS_COUNTED]);
      for (const row of rows) expect(row.lagSeconds).toBeGreaterThanOrEqual(0);
      // Three projections at the same checkpoint: the head (1 record) and one count of 100.
      expect(harness.recordsSent).toBeLessThanOrEqual(1 + LAG_EVENTS_COUNTED + 1);
    } finally {
      await store.close();
    }
  });

  it('fault harness: a subscription the server ends (a restart) or breaks (a leader change) is taken up again by the projection runtime from its checkpoint, each event applied once', async () => {
    harness.seed('case-a', ['A', 'B', 'C']);
    harness.seed('case-b', ['A', 'B']);
    const store = openSqliteReadStore({ file: join(mkdtempSync(join(tmpdir(), 'reglament-resubscribe-')), 'read.db') });
    const runtime = new ProjectionRuntime(log, store, [counterProjection], { retry: { initialMs: 20, maxMs: 100 } });
    const models = new ReadModels(log, store, [counterProjection]);
    try {
      await runtime.start();
      await models.waitFor('counter', await log.headPosition(), 30_000);
      expect(harness.subscriptionCalls).toBe(1);
      harness.endSubscriptions('end');
      harness.seed('case-a', ['D']);
      await models.waitFor('counter', await log.headPosition(), 30_000);
      harness.endSubscriptions('error');
      harness.seed('case-b', ['C', 'D']);
      await models.waitFor('counter', await log.headPosition(), 30_000);
      expect(harness.subscriptionCalls).toBeGreaterThanOrEqual(3);
      const counts = await (
        await models.collection<{ _id: string; n: number }>('counter', 'counts')
      ).find({}, { sort: { _id: 1 } });
      expect(counts.map((c) => [c._id, c.n])).toEqual([
        ['case-a', 4],
        ['case-b', 4],
      ]);
      expect((await models.status())[0]).toMatchObject({ state: 'live', error: null });
    } finally {
      await runtime.stop();
      await store.close();
      // The client keeps the call it had before the UNAVAILABLE among the streams its dispose waits for, until the
      // server side goes away: stopped first, so closing the client does not wait on it.
      await harness.stop();
    }
  });

  it('fault harness: a read longer than a page is several bounded calls, each ended, and returns every event in order', async () => {
    await log.close();
    log = openEventStoreDbEventLog({ connectionString: await restart(harness), readPageSize: 3 });
    harness.seed(
      'case-a',
      Array.from({ length: 10 }, (_, i) => `E${i}`),
    );
    harness.seed('$system', ['$x']);
    harness.seed('case-b', ['F0', 'F1']);
    const all = await log.readAll({ maxCount: 100 });
    expect(all.map((e) => e.type)).toEqual([...Array.from({ length: 10 }, (_, i) => `E${i}`), 'F0', 'F1']);
    expect((await log.readAll({ after: all[4]!.position, maxCount: 3 })).map((e) => e.type)).toEqual([
      'E5',
      'E6',
      'E7',
    ]);
    expect((await log.readStream('case-a', { direction: 'backwards' })).map((e) => e.revision)).toEqual([
      9, 8, 7, 6, 5, 4, 3, 2, 1, 0,
    ]);
    expect((await log.readStream('case-a', { fromRevision: 2, toRevision: 8 })).map((e) => e.revision)).toEqual([
      2, 3, 4, 5, 6, 7, 8,
    ]);
    await waitUntil(() => harness.openReads === 0);
  });
});

/** A fresh harness server for a test that needs other adapter options (the records are kept). */
async function restart(harness: EventStoreDbFaultHarness): Promise<string> {
  await harness.stop();
  return harness.start();
}
