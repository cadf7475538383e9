import 'reflect-metadata';
import { startWorker } from './app/bootstrap';
import { createLogger } from './shared/logging/logger';
import { runProcess } from './app/run-process';

/** The projection worker: projections only, so API instances and projections scale apart. */
void runProcess(
  'reglament worker',
  startWorker,
  async (running, config, logger) => {
    const status = await running.infra.projections.status();
    logger.info(
      {
        dataDir: config.dataDir,
        eventStore: config.eventStore.kind,
        readStore: config.readStore.kind,
        url: running.url,
        projections: status,
      },
      'reglament worker running',
    );
  },
  (config) => createLogger(config.logLevel).child({ process: 'worker' }),
);
