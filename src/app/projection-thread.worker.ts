/**
 * The projection thread of an API process in inline mode: the projection runtime on its own connections to the
 * event log and the read store, so projecting never takes time from the thread that answers requests.
 */
import 'reflect-metadata';
import { readlinkSync } from 'node:fs';
import { getPriority, setPriority } from 'node:os';
import { parentPort, workerData } from 'node:worker_threads';
import type { Logger } from 'pino';
import { openEventLog } from '../modules/event-log/open-event-log';
import { openReadStore } from '../modules/read-store/open-read-store';
import { allProjections } from '../projections/catalog';
import { ProjectionRuntime } from '../projections/projection-runtime';
import type { AppConfig } from './config/config';
import { createLogger } from './logging/logger';
import { loadReferenceData } from './reference-data';

export type ProjectionThreadMessage =
  | { type: 'started'; priority: ThreadPriority | null }
  | { type: 'stopped' }
  | { type: 'failed'; message: string; stack?: string };

/** The thread's id in the operating system and the nice value it runs at. */
export interface ThreadPriority {
  osThreadId: number;
  nice: number;
}

/**
 * On Linux a thread's nice value is its own: lowering this one leaves the thread that answers requests (and
 * the log's writer thread) ahead of projecting whenever both want the CPU. Null elsewhere, or when refused.
 */
function lowerPriority(nice: number, logger: Logger): ThreadPriority | null {
  if (process.platform !== 'linux') return null;
  try {
    // /proc/thread-self links to <pid>/task/<tid>: the thread's own id, which setpriority(2) accepts.
    const osThreadId = Number(readlinkSync('/proc/thread-self').split('/').pop());
    if (nice > 0) setPriority(osThreadId, nice);
    return { osThreadId, nice: getPriority(osThreadId) };
  } catch (error) {
    logger.warn({ err: error, nice }, 'could not lower the projection thread\'s priority; it competes with requests as an equal');
    return null;
  }
}

async function main(): Promise<void> {
  const port = parentPort!;
  const config = (workerData as { config: AppConfig }).config;
  const logger = createLogger(config.logLevel).child({ component: 'projections', thread: 'projections' });
  const priority = lowerPriority(config.projectionThreadNice, logger);
  const reference = loadReferenceData(config);
  const log = await openEventLog(config.eventStore.kind === 'sqlite' ? { kind: 'sqlite', dataDir: config.eventStore.dataDir } : { kind: 'eventstoredb', url: config.eventStore.url }, { readerOnly: true });
  const store = await openReadStore(config.readStore);
  const runtime = new ProjectionRuntime(log, store, allProjections(reference), { logger });
  await runtime.start();
  port.on('message', (message: unknown) => {
    if (message !== 'stop') return;
    void (async () => {
      await runtime.stop();
      await store.close();
      await log.close();
      logger.flush();
      port.postMessage({ type: 'stopped' } satisfies ProjectionThreadMessage);
    })();
  });
  port.postMessage({ type: 'started', priority } satisfies ProjectionThreadMessage);
}

main().catch((error: unknown) => {
  parentPort!.postMessage({ type: 'failed', message: error instanceof Error ? error.message : String(error), ...(error instanceof Error && error.stack ? { stack: error.stack } : {}) } satisfies ProjectionThreadMessage);
});
