import type { Logger } from 'pino';
import { ConfigError, loadConfig, type AppConfig } from '../shared/config/config';
import { createLogger } from '../shared/logging/logger';
import { keepCreatedFilesPrivate } from '../shared/data-dir';

/**
 * The life of one process (API or worker): configuration (exit 78 on a bad setting), start-up (exit 1,
 * with the reason on stderr, on a bad file or store), then a clean shutdown on SIGTERM/SIGINT.
 */
export async function runProcess<R extends { close(): Promise<void> }>(
  name: string,
  start: (config: AppConfig, logger: Logger) => Promise<R>,
  started: (running: R, config: AppConfig, logger: Logger) => Promise<void> | void,
  loggerFor: (config: AppConfig) => Logger = (config) => createLogger(config.logLevel),
): Promise<void> {
  // Every file it creates (DATA_DIR, the stores, their WAL files, the secrets) is its user's alone.
  keepCreatedFilesPrivate();
  let config: AppConfig;
  try {
    config = loadConfig(process.env);
  } catch (error) {
    if (error instanceof ConfigError) {
      process.stderr.write(`${name}: ${error.message}\n`);
      process.exit(78); // EX_CONFIG
    }
    throw error;
  }
  const logger = loggerFor(config);
  let running: R;
  try {
    running = await start(config, logger);
  } catch (error) {
    if (error instanceof ConfigError) {
      // A setting that is valid alone but not in this deployment (secrets kept in DATA_DIR outside the embedded default).
      logger.fatal({ problems: error.problems }, 'invalid configuration');
      process.stderr.write(`${name}: ${error.message}\n`);
      logger.flush();
      process.exit(78);
    }
    logger.fatal(
      { err: error instanceof Error ? { name: error.name, message: error.message } : String(error) },
      'start-up failed',
    );
    process.stderr.write(`${name}: start-up failed: ${error instanceof Error ? error.message : String(error)}\n`);
    logger.flush();
    // Operator failures (a damaged or shortened log, a role another process holds) carry their own exit code.
    const code = (error as { exitCode?: unknown })?.exitCode;
    process.exit(typeof code === 'number' ? code : 1);
  }
  await started(running, config, logger);
  const stop = async (signal: string) => {
    logger.info({ signal }, 'shutting down');
    await running.close();
    logger.flush();
    process.exit(0);
  };
  process.once('SIGTERM', () => void stop('SIGTERM'));
  process.once('SIGINT', () => void stop('SIGINT'));
}
