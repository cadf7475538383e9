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
import type { SqliteEventLog } from '../modules/event-log/sqlite/sqlite-event-log';
import { loadKeyRing, type KeyRing } from '../modules/transparency/signing-keys';
import { openFollowedTransparencyLog, openTransparencyLog } from '../modules/transparency/open-transparency';
import type { TransparencyLog } from '../modules/transparency/transparency-log';

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
  /** The service's signing keys: checkpoints and evidence packs. */
  keys: KeyRing;
  /** The verifiable log over the event log; null where this process does not keep it (EventStoreDB). */
  transparency: TransparencyLog | null;
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
  const identity = createTokenVerifier({ ...config.auth, dataDir: config.dataDir });
  if (identity.signing?.generatedNow) logger.info({ secretFile: identity.signing.file }, 'generated a token-signing secret');
  const keys = loadKeyRing({
    origin: config.transparency.origin,
    dataDir: config.dataDir,
    keysDir: config.transparency.keysDir,
    activeKey: config.transparency.activeKey,
    evidenceKeyFile: config.evidenceKeyFile,
    mayGenerateKey: config.transparency.mayGenerateKey,
    shape: config.transparency.shape,
  });
  if (keys.generated) logger.info({ keyFile: keys.generated, keyId: keys.active.note.keyId.toString('hex'), fingerprint: keys.active.fingerprint }, 'generated a signing key (embedded default only)');
  const metrics = new Metrics();
  const rawLog = await openEventLog(config.eventStore.kind === 'sqlite' ? { kind: 'sqlite', dataDir: config.eventStore.dataDir } : { kind: 'eventstoredb', url: config.eventStore.url });
  let readStore: ReadStore;
  try {
    readStore = await openReadStore(config.readStore);
  } catch (error) {
    await rawLog.close();
    throw error;
  }
  let transparency: ReturnType<typeof openTransparencyLog> | null = null;
  try {
    if (rawLog.kind === 'sqlite') transparency = openTransparencyLog(rawLog as SqliteEventLog, config.dataDir, keys, logger);
    // EventStoreDB: the worker, which follows the whole log, keeps the tree beside it and signs its checkpoints.
    else if (options.projections === 'here') transparency = openFollowedTransparencyLog(rawLog, config.dataDir, keys, logger);
  } catch (error) {
    await readStore.close();
    await rawLog.close();
    throw error;
  }
  const eventLog = instrumentEventLog(rawLog, metrics);
    let projections: RunningProjections;
  try {
    projections = await startProjections({ eventLog, readStore, logger, placement: options.projections, reference, config });
  } catch (error) {
    await transparency?.close();
    await readStore.close();
    await rawLog.close();
    throw error;
  }
  // Checkpoints are signed by the process that keeps the tree: the API that writes the embedded log, or the worker
  // that follows EventStoreDB; a worker beside an embedded log only reads it.
  if (rawLog.kind !== 'sqlite' || options.projections !== 'here') transparency?.transparency.start(config.transparency.checkpointIntervalMs);
  return {
    config,
    logger,
    metrics,
    eventLog,
    readStore,
    projections,
    reference,
    identity,
    keys,
    transparency: transparency?.transparency ?? null,
    async close() {
      await projections.stop();
      transparency?.transparency.stop();
      await transparency?.close();
      await readStore.close();
      await rawLog.close();
    },
  };
}
