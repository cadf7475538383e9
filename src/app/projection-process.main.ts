/**
 * The projection process of an API in inline mode: the projection runtime on its own connections to the event
 * log and the read store, in a process of its own (forked by projection-process.ts). A process, not a thread:
 * every thread of it, V8's garbage-collection helpers included, runs at the lower priority, and its heap and
 * collections never pause the process that answers requests.
 */
import 'reflect-metadata';
import { readdirSync } from 'node:fs';
import { getPriority, setPriority } from 'node:os';
import type { Logger } from 'pino';
import { openEventLog } from '../modules/event-log/open-event-log';
import type { EventLog } from '../modules/event-log/event-log.port';
import { loadMasterKey, openKeyStore } from '../modules/personal-data/keys/open-key-store';
import { PersonalDataVault } from '../modules/personal-data/personal-data-vault';
import { openReadStore } from '../modules/read-store/open-read-store';
import { allProjections } from './projections';
import { ProjectionRuntime } from '../projections/projection-runtime';
import { WorkShare } from '../projections/work-share';
import { sharedDeployment, type AppConfig } from '../shared/config/config';
import { createLogger } from '../shared/logging/logger';
import { loadReferenceData } from './reference-data';
import { startDeadlineScheduler, startWebhookDispatcher } from '../modules/deadline-alerts/deadline-alerts.runtime';
import { acquireRoleLockWaiting } from '../shared/sqlite/role-lock';
import { keepCreatedFilesPrivate } from '../shared/data-dir';

/** How long a new projection process waits for the one of a previous API to leave. */
const PREVIOUS_HOLDER_WAIT_MS = 10_000;

/** From the API to its projection process. */
export type ProjectionProcessCommand = { type: 'start'; config: AppConfig } | { type: 'stop' };

/** From the projection process to the API. */
export type ProjectionProcessMessage =
  | { type: 'started'; priority: ProcessPriority | null }
  | { type: 'stopped' }
  | { type: 'failed'; message: string; stack?: string }
  /** The read store's disk is full (SQLite's message), or has space again (null). */
  | { type: 'read-store-full'; detail: string | null };

/** The nice value every thread of the projection process runs at, and how many threads were lowered. */
export interface ProcessPriority {
  pid: number;
  nice: number;
  threads: number;
}

/**
 * On Linux a nice value belongs to a thread, and a new thread takes its creator's. The threads Node started
 * before this code ran (V8's platform workers, which collect garbage for this heap) are lowered one by one;
 * threads started later inherit the main thread's value. Null elsewhere, or when refused.
 */
function lowerPriority(nice: number, logger: Logger): ProcessPriority | null {
  if (process.platform !== 'linux') return null;
  try {
    const threads = readdirSync('/proc/self/task').map(Number);
    if (nice > 0) for (const tid of threads) setPriority(tid, nice);
    return { pid: process.pid, nice: getPriority(process.pid), threads: threads.length };
  } catch (error) {
    logger.warn(
      { err: error, nice },
      "could not lower the projection process's priority; it competes with requests as an equal",
    );
    return null;
  }
}

function send(message: ProjectionProcessMessage): void {
  if (process.connected) process.send?.(message);
}

async function start(config: AppConfig): Promise<() => Promise<void>> {
  const logger = createLogger(config.logLevel).child({ component: 'projections', process: 'projections' });
  const priority = lowerPriority(config.projectionNice, logger);
  const reference = loadReferenceData(config);
  // This process, not the API that forked it, is the one projecting: it holds the role for as long as it lives.
  // The wait lets the projection process of an API just killed outright leave first (it does once it notices).
  const lock =
    config.readStore.kind === 'sqlite'
      ? await acquireRoleLockWaiting(
          config.dataDir,
          'projections',
          'projection process of an API with PROJECTIONS=inline',
          PREVIOUS_HOLDER_WAIT_MS,
        )
      : null;
  const log = await openEventLog(
    config.eventStore.kind === 'sqlite'
      ? { kind: 'sqlite', dataDir: config.eventStore.dataDir }
      : { kind: 'eventstoredb', url: config.eventStore.url },
    { readerOnly: true },
  );
  const store = await openReadStore(config.readStore);
  const keys = await openKeyStore(config, loadMasterKey(config, sharedDeployment(config) === null).key);
  // What the deadline scheduler appends through this process's own connection is counted apart: not commands.
  let ownAppends = 0;
  const schedulerLog = new Proxy(log, {
    get: (target, property, receiver) => {
      if (property === 'append')
        return async (...args: Parameters<EventLog['append']>) => {
          const result = await target.append(...args);
          ownAppends += args[1].length;
          return result;
        };
      const value = Reflect.get(target, property, receiver) as unknown;
      return typeof value === 'function' ? (value as (...a: unknown[]) => unknown).bind(target) : value;
    },
  });
  // The API shares this machine: while commands come in faster than projections can follow, take only PROJECTION_SHARE of the time.
  const runtime = new ProjectionRuntime(log, store, allProjections(reference, new PersonalDataVault(keys)), {
    logger,
    workShare: new WorkShare({ share: config.projectionShare, ownAppends: () => ownAppends }),
    // The role lock is held: a lease left by a projection process killed outright is taken at once.
    lease: { takeOverAtStart: lock !== null },
    onStorageFull: (detail) => send({ type: 'read-store-full', detail }),
  });
  await runtime.start();
  const scheduler = config.deadlineScheduler
    ? startDeadlineScheduler({
        log: schedulerLog,
        catalog: reference.catalog,
        calendar: reference.calendar,
        dataDir: config.dataDir,
        policy: config.deadlineWarnings,
        pollMs: config.deadlinePollMs,
        ...(config.deadlineRecordFrom ? { recordFrom: config.deadlineRecordFrom } : {}),
        logger,
      })
    : null;
  const webhooks = config.webhooks.dispatcher
    ? startWebhookDispatcher({ log, store, dataDir: config.dataDir, settings: config.webhooks, logger })
    : null;
  send({ type: 'started', priority });
  return async () => {
    await webhooks?.stop();
    await scheduler?.stop();
    await runtime.stop();
    await store.close();
    await keys.close();
    await log.close();
    lock?.release();
    logger.flush();
  };
}

let stopping: Promise<void> | null = null;
let stopRuntime: (() => Promise<void>) | null = null;

/** Stops projecting, closes the stores and leaves: asked by the API, or because the API is gone. */
function stopAndExit(reason: 'asked' | 'parent-gone'): void {
  stopping ??= (async () => {
    try {
      await stopRuntime?.();
    } finally {
      if (reason === 'asked') send({ type: 'stopped' });
      process.exit(0);
    }
  })();
}

// Its files in DATA_DIR (the read store's, a lock's) are its user's alone, whatever umask the API was started with.
keepCreatedFilesPrivate();
process.on('message', (message: ProjectionProcessCommand) => {
  if (message.type === 'stop') return stopAndExit('asked');
  if (message.type !== 'start' || stopRuntime) return;
  start(message.config).then(
    (stop) => {
      stopRuntime = stop;
    },
    (error: unknown) => {
      send({
        type: 'failed',
        message: error instanceof Error ? error.message : String(error),
        ...(error instanceof Error && error.stack ? { stack: error.stack } : {}),
      });
      process.exit(1);
    },
  );
});
// The IPC channel closes when the API exits, however it exits (a kill -9 included): projecting for nobody would
// only hold the files open.
process.on('disconnect', () => stopAndExit('parent-gone'));
