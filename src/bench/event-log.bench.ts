import Database from 'better-sqlite3';
import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import { openSqliteEventLog } from '../modules/event-log/sqlite/sqlite-event-log';
import type { EventLog, EventToAppend } from '../modules/event-log/event-log.port';
import { BenchContext, BenchResult, BenchSuite, percentile } from './bench-kit';

const EVENTS_PER_STREAM = 50;

/** A payload shaped like a regulatory act: a few fields of data and the full metadata envelope. */
export function sampleEvent(i: number): EventToAppend {
  return {
    type: i % 7 === 0 ? 'ApplicationSubmitted' : i % 3 === 0 ? 'DocumentRegistered' : 'AssignedToEmployee',
    data: { incomingNumber: `04-${i}`, assigneeId: `emp-${i % 97}`, note: 'Документы зарегистрированы в канцелярии' },
    metadata: {
      schemaVersion: 1,
      actor: { id: `user-${i % 53}`, role: 'registry-clerk', unit: 'astana' },
      occurredAt: '2025-03-04T09:15:00+05:00',
      regulationVersionId: 'personnel-reserve/order-184-2015',
      clause: 'order-184-2015 app.2 p.7 pp.1',
      correlationId: randomUUID(),
      causationId: randomUUID(),
      hash: 'f'.repeat(64),
      previousHash: 'e'.repeat(64),
    },
  };
}

/** Fills a log with `total` events across streams of 50, through the adapter (concurrent appends → group commits). */
export async function prefill(
  log: EventLog,
  total: number,
  ctx: BenchContext,
  label: string,
  make: (i: number) => EventToAppend = sampleEvent,
): Promise<void> {
  const streams = Math.ceil(total / EVENTS_PER_STREAM);
  const progress = ctx.progress(label, total);
  const concurrency = 64;
  for (let s = 0; s < streams; s += concurrency) {
    const batch: Promise<unknown>[] = [];
    for (let k = s; k < Math.min(streams, s + concurrency); k++) {
      const count = Math.min(EVENTS_PER_STREAM, total - k * EVENTS_PER_STREAM);
      batch.push(
        log.append(
          `case-${k}`,
          Array.from({ length: count }, (_, j) => make(k * EVENTS_PER_STREAM + j)),
          'no_stream',
        ),
      );
    }
    await Promise.all(batch);
    progress.tick(Math.min(concurrency * EVENTS_PER_STREAM, total - s * EVENTS_PER_STREAM));
  }
  progress.done();
}

/** The raw baseline: one better-sqlite3 table with the same columns, WAL and synchronous=FULL. */
function openRaw(file: string): Database.Database {
  const db = new Database(file);
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = FULL');
  db.exec(`CREATE TABLE IF NOT EXISTS events (
    position INTEGER PRIMARY KEY, id TEXT NOT NULL, stream_id TEXT NOT NULL, revision INTEGER NOT NULL,
    type TEXT NOT NULL, data TEXT NOT NULL, metadata TEXT NOT NULL, recorded_at INTEGER NOT NULL,
    UNIQUE (stream_id, revision))`);
  return db;
}

function rawInsert(db: Database.Database) {
  const insert = db.prepare(
    'INSERT INTO events (id, stream_id, revision, type, data, metadata, recorded_at) VALUES (?, ?, ?, ?, ?, ?, ?)',
  );
  return (stream: string, revision: number, e: EventToAppend) =>
    insert.run(
      randomUUID(),
      stream,
      revision,
      e.type,
      JSON.stringify(e.data),
      JSON.stringify(e.metadata ?? {}),
      Date.now(),
    );
}

export const eventLogBench: BenchSuite = {
  name: 'event log',
  async run(ctx) {
    const results: BenchResult[] = [];
    const log = await openSqliteEventLog({ file: join(ctx.workDir, 'events.db') });
    const raw = openRaw(join(ctx.workDir, 'raw.db'));
    try {
      // Both logs hold ctx.events events before anything is measured.
      await prefill(log, ctx.events, ctx, 'prefill reglament log');
      {
        const progress = ctx.progress('prefill raw better-sqlite3', ctx.events);
        const insert = rawInsert(raw);
        const chunk = 10_000;
        for (let i = 0; i < ctx.events; i += chunk) {
          raw.transaction(() => {
            for (let j = i; j < Math.min(ctx.events, i + chunk); j++)
              insert(`case-${Math.floor(j / EVENTS_PER_STREAM)}`, j % EVENTS_PER_STREAM, sampleEvent(j));
          })();
          progress.tick(Math.min(chunk, ctx.events - i));
        }
        progress.done();
      }

      // 1. Durable single-event append latency (sequential, each awaited until durable). The three are sampled in turn
      // (ours, ours through the writer thread only, raw), so a busy moment of the shared disk falls on all alike.
      const writerOnly = await openSqliteEventLog({ file: join(ctx.workDir, 'writer-only.db'), inlineCommits: false });
      const insert = rawInsert(raw);
      const samples = { ours: [] as number[], writerOnly: [] as number[], base: [] as number[] };
      const timed = async (into: number[], append: () => Promise<unknown> | unknown) => {
        const start = process.hrtime.bigint();
        await append();
        into.push(Number(process.hrtime.bigint() - start) / 1e6);
      };
      for (let i = 0; i < ctx.samples; i++) {
        await timed(samples.ours, () => log.append(`latency-${i}`, [sampleEvent(i)], 'no_stream'));
        await timed(samples.writerOnly, () => writerOnly.append(`latency-${i}`, [sampleEvent(i)], 'no_stream'));
        await timed(samples.base, () => insert(`latency-${i}`, 0, sampleEvent(i)));
      }
      await writerOnly.close();
      const [ours, threadOnly, base] = [samples.ours, samples.writerOnly, samples.base].map((s) =>
        s.sort((a, b) => a - b),
      ) as [number[], number[], number[]];
      for (const p of [50, 99, 99.9]) {
        results.push({
          name: `append latency p${p} (log of ${ctx.events.toLocaleString('en-US')})`,
          value: percentile(ours, p),
          unit: 'ms',
          better: 'lower',
          baseline: { name: 'raw better-sqlite3 insert', value: percentile(base, p) },
          target:
            p === 99
              ? { op: '<=', value: 1, text: '≤ 1 ms' }
              : p === 99.9
                ? { op: '<=', value: 5, text: '≤ 5 ms' }
                : undefined,
        });
      }
      for (const p of [50, 99]) {
        results.push({
          name: `append latency p${p}, every append through the writer thread (a new log, for comparison)`,
          value: percentile(threadOnly, p),
          unit: 'ms',
          better: 'lower',
          baseline: { name: 'raw better-sqlite3 insert', value: percentile(base, p) },
        });
      }

      // 2. Throughput with concurrent writers: each writer appends to its own stream with an exact expected revision.
      const writers = 16;
      // 8,000 appends: enough for a stable rate; the sequential baselines fsync once per append.
      const perWriter = Math.max(50, Math.min(500, Math.floor(ctx.samples / 2)));
      const total = writers * perWriter;
      const oursStart = process.hrtime.bigint();
      await Promise.all(
        Array.from({ length: writers }, async (_, w) => {
          for (let r = 0; r < perWriter; r++)
            await log.append(`writer-${w}`, [sampleEvent(r)], r === 0 ? 'no_stream' : r - 1);
        }),
      );
      const oursRate = total / (Number(process.hrtime.bigint() - oursStart) / 1e9);
      // Raw: the same events, each acknowledged on its own durable commit (the same guarantee per append).
      const rawStart = process.hrtime.bigint();
      for (let w = 0; w < writers; w++)
        for (let r = 0; r < perWriter; r++) insert(`raw-writer-${w}`, r, sampleEvent(r));
      const rawRate = total / (Number(process.hrtime.bigint() - rawStart) / 1e9);
      results.push({
        name: `append throughput, ${writers} concurrent writers`,
        value: oursRate,
        unit: 'events/s',
        better: 'higher',
        baseline: { name: 'raw better-sqlite3, durable commit per append', value: rawRate },
        target: { op: '>=', value: 0.8 * rawRate, text: '≥ 80 % of raw' },
      });
      try {
        results.push(await emmettThroughput(ctx, writers, perWriter, oursRate));
      } catch (error) {
        // node-sqlite3 under emmett fails now and then with SQLITE_BUSY (a statement still open at COMMIT) on a busy
        // machine: the comparison is left out of this run rather than losing the log's own figures.
        process.stderr.write(`emmett-sqlite comparison left out: ${(error as Error).message}\n`);
      }

      // 3. Read-all throughput over the whole log, in pages.
      const head = await log.headPosition();
      const readProgress = ctx.progress('read all', head);
      const readStart = process.hrtime.bigint();
      let after = 0;
      let read = 0;
      for (;;) {
        const page = await log.readAll({ after, maxCount: 1000 });
        if (page.length === 0) break;
        read += page.length;
        after = page[page.length - 1].position;
        readProgress.tick(page.length);
      }
      readProgress.done();
      const readRate = read / (Number(process.hrtime.bigint() - readStart) / 1e9);
      const rawReadStart = process.hrtime.bigint();
      let rawRead = 0;
      for (const row of raw.prepare('SELECT * FROM events ORDER BY position').iterate() as Iterable<{
        data: string;
        metadata: string;
      }>) {
        JSON.parse(row.data);
        JSON.parse(row.metadata);
        rawRead++;
      }
      const rawReadRate = rawRead / (Number(process.hrtime.bigint() - rawReadStart) / 1e9);
      results.push({
        name: 'read-all throughput',
        value: readRate,
        unit: 'events/s',
        better: 'higher',
        baseline: { name: 'raw SELECT + JSON.parse', value: rawReadRate },
      });
    } finally {
      raw.close();
      await log.close();
    }
    return results;
  },
};

/** The same concurrent workload on @event-driven-io/emmett-sqlite's event store (node-sqlite3, WAL). */
async function emmettThroughput(
  ctx: BenchContext,
  writers: number,
  perWriter: number,
  oursRate: number,
): Promise<BenchResult> {
  const { getSQLiteEventStore } = await import('@event-driven-io/emmett-sqlite');
  const store = getSQLiteEventStore({
    fileName: join(ctx.workDir, 'emmett.db'),
    schema: { autoMigration: 'CreateOrUpdate' },
  });
  const total = writers * perWriter;
  const start = process.hrtime.bigint();
  // emmett-sqlite opens a connection per call with no busy timeout: with 16 appends in flight it fails with
  // SQLITE_BUSY and then SQLITE_MISUSE (closed handle). The same 16 writers' appends therefore go to it one
  // at a time, the most it sustains.
  for (let r = 0; r < perWriter; r++) {
    for (let w = 0; w < writers; w++) {
      const e = sampleEvent(r);
      await store.appendToStream(`writer-${w}`, [
        { type: e.type, data: e.data as Record<string, unknown>, metadata: e.metadata },
      ]);
    }
  }
  const emmettRate = total / (Number(process.hrtime.bigint() - start) / 1e9);
  return {
    name: `append throughput vs emmett-sqlite, ${writers} writers`,
    value: oursRate,
    unit: 'events/s',
    better: 'higher',
    baseline: {
      name: '@event-driven-io/emmett-sqlite (appends serialised: it fails with 16 in flight)',
      value: emmettRate,
    },
    target: { op: '>=', value: emmettRate, text: 'ahead of emmett-sqlite' },
  };
}
