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
import { checkCatalog, type CatalogPins } from '../modules/regulations/usage/catalog-guard';

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
  /** The versions in use, pinned in the log; the command side pins a version at its first use. */
  catalogPins: CatalogPins;
  /** The recording clock: every command's "now" and every read's default asOf. Tests inject one to play clock skew. */
  clock: () => Date;
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

export async function openInfrastructure(config: AppConfig, logger: Logger, options: { projections: ProjectionPlacement; clock?: () => Date; pinVersions?: boolean }): Promise<Infrastructure> {
  const reference = loadReferenceData(config);
  ensureDataDir(config.dataDir);
  const identity = createTokenVerifier({ ...config.auth, dataDir: config.dataDir });
  if (identity.signing?.generatedNow) logger.info({ secretFile: identity.signing.file }, 'generated a token-signing secret');
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
  let catalogPins: CatalogPins;
  let projections: RunningProjections;
  try {
    // Before anything projects or serves: a catalog that no longer fits the stored cases is refused, naming them.
    catalogPins = await checkCatalog({ log: eventLog, store: readStore, catalog: reference.catalog, allowed: config.catalogChangeAllowed, logger, pinVersions: options.pinVersions ?? false });
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
    identity,
    catalogPins,
    clock: options.clock ?? (() => new Date()),
    async close() {
      await catalogPins.settled();
      await projections.stop();
      await readStore.close();
      await rawLog.close();
    },
  };
}
