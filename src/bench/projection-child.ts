/**
 * One timed figure of the audit-compliance suite in a process of its own, as the service runs its projections (the
 * projection process, the worker): a projection's catch-up, the rebuild of every read model (as `rebuild --all` runs,
 * a command's process), or the in-memory domain baseline (in a process of its own as well, so the ratio compares like
 * with like). The suite forks this file with one task; the figure comes back over
 * IPC, with the CPU time of this process alone.
 */
import 'reflect-metadata';
import { join } from 'node:path';
import { loadReferenceData } from '../app/reference-data';
import { SHIPPED_DATA_DIR } from '../shared/config/config';
import { openSqliteEventLog } from '../modules/event-log/sqlite/sqlite-event-log';
import { openSqliteReadStore } from '../modules/read-store/sqlite/sqlite-read-store';
import { casesProjection } from '../modules/cases/projections/cases.projection';
import { complianceProjection } from '../modules/compliance/compliance.projection';
import { consoleProgress } from './bench-kit';
import { threadCpuSeconds } from '../shared/thread-cpu';
import { catchUp, inMemoryFold, rebuildAllFigure } from './audit-compliance.bench';
import type { BenchResult } from './bench-kit';

export type ChildTask =
  | { kind: 'baseline'; workDir: string }
  | { kind: 'catch-up'; projection: 'cases' | 'compliance'; workDir: string; head: number }
  | { kind: 'rebuild-all'; workDir: string; head: number; baselineSeconds: number };

export interface ChildFigure {
  seconds: number;
  cpuSeconds: number;
  /**
   * The CPU time of the thread that folds the events (Linux; absent elsewhere): on an idle machine the wall time is about
   * this, the process's other threads (the collector's helpers, the read store's checkpointer) running on other cores.
   */
  threadCpuSeconds?: number;
  /** The baseline's counts. */
  cases?: number;
  rows?: number;
  slices?: number;
  /** The rebuild's figure, whole. */
  result?: BenchResult;
}

async function run(task: ChildTask): Promise<ChildFigure> {
  const reference = loadReferenceData({
    regulationsDir: join(SHIPPED_DATA_DIR, 'regulations'),
    calendarsDir: join(SHIPPED_DATA_DIR, 'calendars'),
  });
  const cpu = process.cpuUsage();
  const cpuSeconds = () => {
    const used = process.cpuUsage(cpu);
    return (used.user + used.system) / 1e6;
  };
  if (task.kind === 'baseline') {
    const threadStarted = threadCpuSeconds();
    const { seconds, cases, rows, slices } = inMemoryFold(join(task.workDir, 'events.db'), reference);
    const threadEnded = threadCpuSeconds();
    return {
      seconds,
      cpuSeconds: cpuSeconds(),
      ...(threadStarted !== null && threadEnded !== null ? { threadCpuSeconds: threadEnded - threadStarted } : {}),
      cases,
      rows,
      slices,
    };
  }
  const log = openSqliteEventLog({ file: join(task.workDir, 'events.db') });
  const store = openSqliteReadStore({ file: join(task.workDir, 'read.db') });
  try {
    const ctx = { events: 0, samples: 0, workDir: task.workDir, progress: consoleProgress };
    if (task.kind === 'rebuild-all') {
      const result = await rebuildAllFigure(log, store, reference, task.head, task.baselineSeconds, ctx);
      return { seconds: result.value, cpuSeconds: cpuSeconds(), result };
    }
    const projection = task.projection === 'cases' ? casesProjection(reference) : complianceProjection(reference);
    const started = process.cpuUsage();
    const threadStarted = threadCpuSeconds();
    const { seconds } = await catchUp(log, store, projection, task.head, ctx);
    const used = process.cpuUsage(started);
    const threadEnded = threadCpuSeconds();
    return {
      seconds,
      cpuSeconds: (used.user + used.system) / 1e6,
      ...(threadStarted !== null && threadEnded !== null ? { threadCpuSeconds: threadEnded - threadStarted } : {}),
    };
  } finally {
    await store.close();
    await log.close();
  }
}

process.once('message', (task: ChildTask) => {
  run(task).then(
    (figure) => process.send!({ ok: true, figure }, () => process.exit(0)),
    (error: unknown) =>
      process.send!({ ok: false, error: error instanceof Error ? (error.stack ?? error.message) : String(error) }, () =>
        process.exit(1),
      ),
  );
});
