import 'reflect-metadata';
import { ConfigError, loadConfig } from './app/config/config';
import { createLogger } from './app/logging/logger';
import { startWorker } from './app/bootstrap';

/** The projection worker: projections only, so API instances and projections scale apart. */
async function main(): Promise<void> {
  let config;
  try {
    config = loadConfig(process.env);
  } catch (error) {
    if (error instanceof ConfigError) {
      process.stderr.write(`reglament worker: ${error.message}\n`);
      process.exit(78);
    }
    throw error;
  }
  const logger = createLogger(config.logLevel).child({ process: 'worker' });
  let running;
  try {
    running = await startWorker(config, logger);
  } catch (error) {
    process.stderr.write(`reglament worker: start-up failed: ${error instanceof Error ? error.message : String(error)}\n`);
    process.exit(1);
  }
  const status = await running.infra.projections.status();
  logger.info({ dataDir: config.dataDir, eventStore: config.eventStore.kind, readStore: config.readStore.kind, url: running.url, projections: status }, 'reglament worker running');
  const stop = async (signal: string) => {
    logger.info({ signal }, 'shutting down');
    await running.close();
    logger.flush();
    process.exit(0);
  };
  process.once('SIGTERM', () => void stop('SIGTERM'));
  process.once('SIGINT', () => void stop('SIGINT'));
}

void main();
