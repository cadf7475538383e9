/**
 * The projection thread of an API process in inline mode: the projection runtime on its own connections to the
 * event log and the read store, so projecting never takes time from the thread that answers requests.
 */
import 'reflect-metadata';
import { parentPort, workerData } from 'node:worker_threads';
import { openEventLog } from '../modules/event-log/open-event-log';
import { openReadStore } from '../modules/read-store/open-read-store';
import { allProjections } from '../projections/catalog';
import { ProjectionRuntime } from '../projections/projection-runtime';
import type { AppConfig } from './config/config';
import { createLogger } from './logging/logger';
import { loadReferenceData } from './reference-data';

export type ProjectionThreadMessage = { type: 'started' } | { type: 'stopped' } | { type: 'failed'; message: string; stack?: string };

async function main(): Promise<void> {
  const port = parentPort!;
  const config = (workerData as { config: AppConfig }).config;
  const logger = createLogger(config.logLevel).child({ component: 'projections', thread: 'projections' });
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
  port.postMessage({ type: 'started' } satisfies ProjectionThreadMessage);
}

main().catch((error: unknown) => {
  parentPort!.postMessage({ type: 'failed', message: error instanceof Error ? error.message : String(error), ...(error instanceof Error && error.stack ? { stack: error.stack } : {}) } satisfies ProjectionThreadMessage);
});
