import { parentPort, workerData } from 'node:worker_threads';
import type { Logger } from 'pino';
import { threadCpuSeconds } from '../shared/thread-cpu';
import { ProjectionRuntime } from './projection-runtime';
import type { RebuildThreadData, RebuildThreadMessage, RebuildThreadParts } from './rebuild-threads';

/** Log fields as plain data: an error keeps its message (and code), everything else what JSON keeps of it. */
function plain(fields: unknown): Record<string, unknown> {
  try {
    return JSON.parse(
      JSON.stringify(fields ?? {}, (_key, value: unknown) =>
        value instanceof Error ? { message: value.message, code: (value as { code?: unknown }).code } : value,
      ),
    ) as Record<string, unknown>;
  } catch {
    return {};
  }
}

/**
 * The body of a rebuild thread (started by rebuild-threads.ts): opens its own log, read store and projections through
 * the setup module, rebuilds its projections side by side over one read of the log, as `rebuildMany` does on one
 * thread, and reports progress, log lines and each projection's outcome to the thread that started it.
 */
export async function runRebuildThread(): Promise<void> {
  const data = workerData as RebuildThreadData;
  const port = parentPort!;
  const post = (message: RebuildThreadMessage): void => port.postMessage(message);
  const log =
    (level: 'info' | 'warn' | 'error') =>
    (fields: unknown, message?: string): void =>
      post({ log: level, fields: plain(fields), message: message ?? '' });
  const logger = { info: log('info'), warn: log('warn'), error: log('error') } as unknown as Pick<
    Logger,
    'info' | 'warn' | 'error'
  >;
  // Named at run time by the caller: a module of the composition layer (app/), which this layer may not import.
  const setup = require(data.setup.module) as { openRebuildThread(data: unknown): Promise<RebuildThreadParts> };
  const parts = await setup.openRebuildThread(data.setup.data);
  post({ ready: true });
  try {
    const runtime = new ProjectionRuntime(parts.log, parts.store, parts.projections, { ...data.options, logger });
    const outcomes = await runtime.rebuildHere(data.names, (progress) => post({ progress }));
    post({ outcomes, cpuSeconds: threadCpuSeconds() });
  } finally {
    await parts.close();
  }
  // Ended here, whatever a library may have left pending (a timer, a handle): the caller waits for the thread's exit.
  process.exit(0);
}
