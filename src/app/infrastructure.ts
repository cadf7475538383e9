import type { Logger } from 'pino';
import { openEventLog } from '../modules/event-log/open-event-log';
import type { EventLog } from '../modules/event-log/event-log.port';
import { openReadStore, READ_STORE_FILE } from '../modules/read-store/open-read-store';
import { join } from 'node:path';
import type { ReadStore } from '../modules/read-store/read-store.port';
import { sharedDeployment, type AppConfig } from '../shared/config/config';
import { Metrics, instrumentEventLog } from './metrics/metrics';
import { startProjections, type ProjectionPlacement, type RunningProjections } from './projections';
import { loadReferenceData, type ReferenceData } from './reference-data';
import { createTokenVerifier, type TokenVerifier } from '../modules/identity/token-verifier';
import { loadKeyRing, type KeyRing } from '../modules/transparency/signing-keys';
import { openFollowedTransparencyLog, openTransparencyLog } from '../modules/transparency/open-transparency';
import { loadWitnessKeys } from '../modules/transparency/witness-keys';
import type { TransparencyLog } from '../modules/transparency/transparency-log';
import {
  localEvidenceProofs,
  RemoteEvidenceProofs,
  type EvidenceProofs,
} from '../modules/transparency/evidence-proofs';
import { checkCatalog, type CatalogPins } from '../modules/regulations/usage/catalog-guard';
import { SqliteEventLog } from '../modules/event-log/sqlite/sqlite-event-log';
import { acquireRoleLock, type RoleLock } from '../shared/sqlite/role-lock';
import { ensureDataDir } from '../shared/data-dir';
import { allProjections } from './projections';
import { checkAcknowledgedHead, checkLogIntegrityOnStart } from './startup-checks';
import { StorageFaults, watchStorageFaults } from './storage-faults';
import { PersonalDataVault } from '../modules/personal-data/personal-data-vault';
import { loadMasterKey, openKeyStore } from '../modules/personal-data/keys/open-key-store';
import { completeRecordedErasures } from '../modules/personal-data/commands/erase-subject';
import { checkKeyStoreKnowsLog } from '../modules/personal-data/keys/log-key-check';

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
  /**
   * Evidence packs' inclusion proofs: from this process's tree, else (an API instance beside EventStoreDB) from the
   * worker's (TRANSPARENCY_WORKER_URL); null where neither is.
   */
  evidenceProofs: EvidenceProofs | null;
  /** The versions in use, pinned in the log; the command side pins a version at its first use. */
  catalogPins: CatalogPins;
  /** The recording clock: every command's "now" and every read's default asOf. Tests inject one to play clock skew. */
  clock: () => Date;
  /** Encrypts and decrypts personal data with the key store (DATA_DIR/keys.db or MongoDB), kept apart from the log. */
  personalData: PersonalDataVault;
  /** The event log's storage faults met by this process (a full disk, a damaged file), for /health and answers. */
  storageFaults: StorageFaults;
  close(): Promise<void>;
}

/**
 * `writesLog`: this process appends to the log (the API, the demo); `projections: 'here'`: it runs the projections
 * (the worker). On the embedded stores each such role is taken as a lock on the data directory first, so a second
 * process that would do the same refuses to start; then the log is checked (integrity, acknowledged head) before
 * anything is served, projected or written. `pinVersions`: this process pins the regulation versions in use (the API).
 */
export async function openInfrastructure(
  config: AppConfig,
  logger: Logger,
  options: {
    projections: ProjectionPlacement;
    writesLog: boolean;
    acknowledgedHead?: 'check' | 'skip';
    clock?: () => Date;
    pinVersions?: boolean;
    acceptLogLoss?: string;
  },
): Promise<Infrastructure> {
  // A witnesses file that cannot be read, or holds a bad key, stops the start (exit 78) before anything is written.
  const witnesses = loadWitnessKeys(config.transparency);
  const reference = loadReferenceData(config);
  ensureDataDir(config.dataDir, logger);
  const locks: RoleLock[] = [];
  const releaseLocks = () => locks.splice(0).forEach((lock) => lock.release());
  const cleanups: Array<() => Promise<void>> = [];
  const undo = async () => {
    for (const cleanup of cleanups.reverse()) await cleanup().catch(() => undefined);
    releaseLocks();
  };
  try {
    if (options.writesLog && config.eventStore.kind === 'sqlite')
      locks.push(acquireRoleLock(config.dataDir, 'log-writer'));
    if (options.projections === 'here' && config.readStore.kind === 'sqlite')
      locks.push(acquireRoleLock(config.dataDir, 'projections'));
    // Built when first asked for (the API asks at start-up): a worker or a command that verifies no token must not
    // generate a signing secret in DATA_DIR.
    let identity: TokenVerifier | undefined;
    const tokenVerifier = (): TokenVerifier => {
      if (identity) return identity;
      identity = createTokenVerifier({ ...config.auth, dataDir: config.dataDir });
      if (identity.signing?.generatedNow)
        logger.info({ secretFile: identity.signing.file }, 'generated a token-signing secret');
      return identity;
    };
    const keys = loadKeyRing({
      origin: config.transparency.origin,
      dataDir: config.dataDir,
      keysDir: config.transparency.keysDir,
      activeKey: config.transparency.activeKey,
      evidenceKeyFile: config.evidenceKeyFile,
      mayGenerateKey: config.transparency.mayGenerateKey,
      shape: config.transparency.shape,
    });
    if (keys.generated)
      logger.info(
        {
          keyFile: keys.generated,
          keyId: keys.active.note.keyId.toString('hex'),
          fingerprint: keys.active.fingerprint,
        },
        'generated a signing key (embedded default only)',
      );
    const metrics = new Metrics({ appends: options.writesLog });
    const storageFaults = new StorageFaults(logger.child({ component: 'storage' }));
    const rawLog = await openEventLog(
      config.eventStore.kind === 'sqlite'
        ? { kind: 'sqlite', dataDir: config.eventStore.dataDir }
        : { kind: 'eventstoredb', url: config.eventStore.url },
      {
        onHeadRecordError: (error) =>
          logger.warn(
            { problem: (error as Error).message, code: (error as NodeJS.ErrnoException).code },
            'the head record beside the event log could not be written; it is tried again after the next commit',
          ),
        onTreeError: (problem) =>
          logger.error(
            { problem },
            "the log's Merkle tree could not be stored behind its commits; checkpoints and proofs stop at the tree stored until it is (tried again after the next commit)",
          ),
      },
    );
    cleanups.push(() => rawLog.close());
    if (options.writesLog && rawLog instanceof SqliteEventLog)
      checkLogIntegrityOnStart(rawLog, config.startupCheckMaxMb * 1024 * 1024, logger);
    const readStore = await openReadStore(config.readStore);
    cleanups.push(() => readStore.close());
    // A wrong master key stops the start here (exit 78), before any event is projected or written.
    const master = loadMasterKey(config, sharedDeployment(config) === null);
    if (master.generated) logger.info({ keyFile: master.source }, 'generated a personal-data master key');
    const keyStore = await openKeyStore(config, master.key);
    cleanups.push(() => keyStore.close());
    if ((options.writesLog || options.projections === 'here') && options.acknowledgedHead !== 'skip') {
      await checkAcknowledgedHead({
        log: rawLog,
        readStore,
        projections: allProjections(reference),
        logFile: rawLog instanceof SqliteEventLog ? rawLog.file : null,
        writesLog: options.writesLog,
      });
    }
    let transparency: ReturnType<typeof openTransparencyLog> | null = null;
    if (rawLog.kind === 'sqlite')
      transparency = openTransparencyLog(rawLog as SqliteEventLog, config.dataDir, keys, logger, {
        witnesses,
        ...(options.acceptLogLoss !== undefined ? { acceptLoss: options.acceptLogLoss } : {}),
      });
    // EventStoreDB: the worker, which follows the whole log, keeps the tree beside it and signs its checkpoints.
    else if (options.projections === 'here')
      transparency = openFollowedTransparencyLog(rawLog, config.dataDir, keys, logger, { witnesses });
    if (transparency) {
      const opened = transparency;
      cleanups.push(async () => {
        opened.transparency.stop();
        await opened.close();
      });
    }
    if (options.writesLog || options.projections === 'here') {
      await checkKeyStoreKnowsLog(rawLog, keyStore);
      const completed = await completeRecordedErasures(rawLog, keyStore);
      if (completed.length > 0)
        logger.warn(
          { subjects: completed },
          'completed erasures the log records whose keys were still in the key store (a process stopped between the two)',
        );
    }
    const eventLog = watchStorageFaults(instrumentEventLog(rawLog, metrics), storageFaults);
    const personalData = new PersonalDataVault(keyStore, {
      log: eventLog,
      logger: logger.child({ component: 'personal-data' }),
      ...(options.clock ? { clock: options.clock } : {}),
    });
    // Before anything projects or serves: a catalog that no longer fits the stored cases is refused, naming them.
    const catalogPins = await checkCatalog({
      log: eventLog,
      store: readStore,
      catalog: reference.catalog,
      allowed: config.catalogChangeAllowed,
      logger,
      pinVersions: options.pinVersions ?? false,
    });
    const readStoreFile =
      config.readStore.kind === 'sqlite' ? join(config.readStore.dataDir, READ_STORE_FILE) : config.readStore.database;
    const projections = await startProjections({
      eventLog,
      readStore,
      logger,
      placement: options.projections,
      reference,
      personalData,
      config,
      onReadStoreFull: (detail) => storageFaults.readStoreFull(readStoreFile, detail),
    });
    // Checkpoints are signed by the process that keeps the tree: the API that writes the embedded log, or the worker
    // that follows EventStoreDB; a worker beside an embedded log only reads it.
    if (rawLog.kind !== 'sqlite' || options.projections !== 'here')
      transparency?.transparency.start(config.transparency.checkpointIntervalMs);
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
      storageFaults,
      personalData,
      keys,
      transparency: transparency?.transparency ?? null,
      evidenceProofs: evidenceProofsFor(
        transparency?.transparency ?? null,
        config,
        keys,
        logger.child({ component: 'transparency' }),
      ),
      catalogPins,
      clock: options.clock ?? (() => new Date()),
      async close() {
        try {
          await catalogPins.settled();
          await projections.stop();
          transparency?.transparency.stop();
          await transparency?.close();
          await readStore.close();
          await keyStore.close();
          await rawLog.close();
        } finally {
          releaseLocks();
        }
      },
    };
  } catch (error) {
    await undo();
    throw error;
  }
}

/** Where this process's evidence packs get their proofs (Infrastructure.evidenceProofs); null: nowhere. */
export function evidenceProofsFor(
  transparency: TransparencyLog | null,
  config: Pick<AppConfig, 'transparency'>,
  keys: Pick<KeyRing, 'keys'>,
  logger: Pick<Logger, 'warn'>,
): EvidenceProofs | null {
  if (transparency) return localEvidenceProofs(transparency);
  if (!config.transparency.workerUrl) return null;
  return new RemoteEvidenceProofs(
    config.transparency.workerUrl,
    keys.keys.map((key) => key.note),
    logger,
  );
}
