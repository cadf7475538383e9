import 'reflect-metadata';
import { ConfigError, loadConfig } from './app/config/config';
import { createLogger } from './app/logging/logger';
import { startApi } from './app/bootstrap';
import { startupHint } from './modules/identity/mint-token.command';

/** The API process. On the embedded default it also runs the projections (PROJECTIONS=inline). */
async function main(): Promise<void> {
  let config;
  try {
    config = loadConfig(process.env);
  } catch (error) {
    if (error instanceof ConfigError) {
      process.stderr.write(`reglament: ${error.message}\n`);
      process.exit(78); // EX_CONFIG
    }
    throw error;
  }
  const logger = createLogger(config.logLevel);
  let running;
  try {
    running = await startApi(config, logger);
  } catch (error) {
    logger.fatal({ err: error instanceof Error ? { name: error.name, message: error.message } : String(error) }, 'start-up failed');
    process.stderr.write(`reglament: start-up failed: ${error instanceof Error ? error.message : String(error)}\n`);
    logger.flush();
    process.exit(1);
  }
  logger.info(
    { url: running.url, dataDir: config.dataDir, eventStore: config.eventStore.kind, readStore: config.readStore.kind, projections: config.projections, docs: `${running.url}/api/docs` },
    'reglament listening',
  );
  if (running.infra.identity.signing?.file) process.stderr.write(`${startupHint(running.url, config.dataDir)}\n`);
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
