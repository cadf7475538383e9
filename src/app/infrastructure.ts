import { mkdirSync, accessSync, constants } from 'node:fs';
import type { Logger } from 'pino';
import { openEventLog } from '../modules/event-log/open-event-log';
import type { EventLog } from '../modules/event-log/event-log.port';
import { openReadStore } from '../modules/read-store/open-read-store';
import type { ReadStore } from '../modules/read-store/read-store.port';
import type { AppConfig } from './config/config';
import { Metrics, instrumentEventLog } from './metrics/metrics';
import { startProjections, type ProjectionPlacement, type RunningProjections } from './projections';
import { loadReferenceData, type ReferenceData } from './reference-data';
import { createTokenVerifier, type TokenVerifier } from '../modules/identity/token-verifier';

/** The stores and runtimes one process holds, opened before Nest starts so a bad file stops start-up early. */
export interface Infrastructure {
  config: AppConfig;
  logger: Logger;
  metrics: Metrics;
  eventLog: EventLog;
  readStore: ReadStore;
  projections: RunningProjections;
  reference: ReferenceData;
  identity: TokenVerifier;
  close(): Promise<void>;
}

export function ensureDataDir(dir: string): void {
  mkdirSync(dir, { recursive: true });
  try {
    accessSync(dir, constants.W_OK);
  } catch {
    throw new Error(`DATA_DIR ${dir} is not writable`);
  }
}

export async function openInfrastructure(config: AppConfig, logger: Logger, options: { projections: ProjectionPlacement }): Promise<Infrastructure> {
  const reference = loadReferenceData(config);
  ensureDataDir(config.dataDir);
  // Built when first asked for (the API asks at start-up): a worker or a command that verifies no token must not
  // generate a signing secret in DATA_DIR.
  let identity: TokenVerifier | undefined;
  const tokenVerifier = (): TokenVerifier => {
    if (identity) return identity;
    identity = createTokenVerifier({ ...config.auth, dataDir: config.dataDir });
    if (identity.signing?.generatedNow) logger.info({ secretFile: identity.signing.file }, 'generated a token-signing secret');
    return identity;
  };
  const metrics = new Metrics();
  const rawLog = await openEventLog(config.eventStore.kind === 'sqlite' ? { kind: 'sqlite', dataDir: config.eventStore.dataDir } : { kind: 'eventstoredb', url: config.eventStore.url });
  let readStore: ReadStore;
  try {
    readStore = await openReadStore(config.readStore);
  } catch (error) {
    await rawLog.close();
    throw error;
  }
  const eventLog = instrumentEventLog(rawLog, metrics);
    let projections: RunningProjections;
  try {
    projections = await startProjections({ eventLog, readStore, logger, placement: options.projections, reference, config });
  } catch (error) {
    await readStore.close();
    await rawLog.close();
    throw error;
  }
  return {
    config,
    logger,
    metrics,
    eventLog,
    readStore,
    projections,
    reference,
    get identity() {
      return tokenVerifier();
    },
    async close() {
      await projections.stop();
      await readStore.close();
      await rawLog.close();
    },
  };
}
