import Database from 'better-sqlite3';
import { join } from 'node:path';
import { openSqliteEventLog } from '../modules/event-log/sqlite/sqlite-event-log';
import { openSqliteReadStore } from '../modules/read-store/sqlite/sqlite-read-store';
import { logOverviewProjection } from '../projections/log-overview/log-overview.projection';
import { ProjectionRuntime } from '../projections/projection-runtime';
import { ReadModels } from '../projections/read-models';
import type { BenchResult, BenchSuite } from './bench-kit';
import { prefill } from './event-log.bench';

/**
 * Projection catch-up and full rebuild over a log of BENCH_EVENTS events (default 1,000,000), with the
 * reference projection (log-overview: a summary per stream and a count per event type), a checkpoint
 * every 1,000 events. Baseline: the same fold done by hand over a raw SELECT, with no read store at all.
 */
export const projectionBench: BenchSuite = {
  name: 'projections',
  async run(ctx) {
    const results: BenchResult[] = [];
    const logFile = join(ctx.workDir, 'events.db');
    const log = openSqliteEventLog({ file: logFile });
    const store = openSqliteReadStore({ file: join(ctx.workDir, 'read.db') });
    try {
      await prefill(log, ctx.events, ctx, 'prefill log for projections');
      const head = await log.headPosition();

      const baseline = rawFold(logFile);

      const runtime = new ProjectionRuntime(log, store, [logOverviewProjection], { batchSize: 1000 });
      const models = new ReadModels(log, store, [logOverviewProjection]);
      const catchUp = ctx.progress('catch-up log-overview', head);
      const started = process.hrtime.bigint();
      const onProjected = ({ position }: { position: number }) => catchUp.update(position);
      runtime.events.on('projected', onProjected);
      await runtime.start();
      await models.waitFor('log-overview', head, 600_000);
      const catchUpSeconds = Number(process.hrtime.bigint() - started) / 1e9;
      runtime.events.off('projected', onProjected);
      catchUp.done();
      results.push({
        name: `projection catch-up (checkpoint every 1,000 events)`,
        value: head / catchUpSeconds,
        unit: 'events/s',
        better: 'higher',
        baseline: { name: 'raw SELECT + JSON.parse + in-memory fold, no store', value: baseline.rate },
        target: { op: '>=', value: 40_000, text: '≥ 40,000 events/s' },
      });

      const rebuild = ctx.progress('rebuild log-overview', head);
      const rebuildStarted = process.hrtime.bigint();
      await runtime.rebuild('log-overview', (p) => rebuild.update(p.position, p.head));
      const rebuildSeconds = Number(process.hrtime.bigint() - rebuildStarted) / 1e9;
      rebuild.done();
      await runtime.stop();
      results.push({
        name: `full rebuild over ${head.toLocaleString('en-US')} events`,
        value: rebuildSeconds,
        unit: 's',
        better: 'lower',
        baseline: { name: 'raw SELECT + JSON.parse + in-memory fold, no store', value: baseline.seconds },
        target: {
          op: '<=',
          value: (10 * head) / 1_000_000,
          text: `≤ ${((10 * head) / 1_000_000).toFixed(1)} s (10 s per million)`,
        },
      });
    } finally {
      await store.close();
      await log.close();
    }
    return results;
  },
};

/** The least a projection could do: read every row, parse it, fold it into maps in memory. */
function rawFold(file: string): { rate: number; seconds: number } {
  const db = new Database(file, { readonly: true });
  const started = process.hrtime.bigint();
  const streams = new Map<string, { events: number; lastType: string }>();
  const types = new Map<string, number>();
  let n = 0;
  for (const row of db
    .prepare('SELECT stream_id, type, data, metadata FROM events ORDER BY position')
    .iterate() as Iterable<{ stream_id: string; type: string; data: string; metadata: string }>) {
    JSON.parse(row.data);
    JSON.parse(row.metadata);
    const s = streams.get(row.stream_id);
    streams.set(row.stream_id, { events: (s?.events ?? 0) + 1, lastType: row.type });
    types.set(row.type, (types.get(row.type) ?? 0) + 1);
    n++;
  }
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  db.close();
  return { rate: n / seconds, seconds };
}
