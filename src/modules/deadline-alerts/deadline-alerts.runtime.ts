/**
 * Starts the deadline scheduler where the projections run (the worker, or the projection process of an inline API),
 * with its index in DATA_DIR. Any number may run: the lease and the expected revision keep each instant recorded once.
 */
import { randomUUID } from 'node:crypto';
import type { Logger } from 'pino';
import type { EventLog } from '../event-log/event-log.port';
import type { Catalog } from '../regulations/domain/catalog';
import type { WorkingCalendar } from '../calendar/domain/working-calendar';
import type { WarningPolicy } from './domain/warning-instants';
import { DeadlineScheduler } from './scheduler/deadline-scheduler';
import { TimerStore } from './scheduler/timer-store';
import type { ReadStore } from '../read-store/read-store.port';
import { WebhookDispatcher, type WebhookSettings } from './webhooks/webhook-dispatcher';

export interface RunningScheduler {
  scheduler: DeadlineScheduler;
  stop(): Promise<void>;
}

export function startDeadlineScheduler(options: {
  log: EventLog;
  catalog: Catalog;
  calendar: WorkingCalendar;
  dataDir: string;
  policy: WarningPolicy;
  pollMs: number;
  recordFrom?: string;
  logger: Logger;
}): RunningScheduler {
  const store = new TimerStore(options.dataDir);
  const scheduler = new DeadlineScheduler({
    log: options.log,
    catalog: options.catalog,
    calendar: options.calendar,
    store,
    policy: options.policy,
    pollMs: options.pollMs,
    ...(options.recordFrom ? { recordFrom: new Date(options.recordFrom) } : {}),
    logger: options.logger.child({ component: 'deadline-scheduler' }),
  });
  scheduler.start();
  return {
    scheduler,
    async stop() {
      await scheduler.stop();
      store.close();
    },
  };
}

export interface RunningDispatcher {
  dispatcher: WebhookDispatcher;
  stop(): Promise<void>;
}

export const DISPATCHER_LEASE = 'webhook-dispatcher';

/**
 * Starts webhook delivery where the projections run. Processes sharing DATA_DIR take turns by a lease in the timer
 * index file; processes on other machines do not see it, so run one worker (see README, Deadline alerts).
 */
export function startWebhookDispatcher(options: {
  log: EventLog;
  store: ReadStore;
  dataDir: string;
  settings: WebhookSettings;
  logger: Logger;
}): RunningDispatcher {
  const leases = new TimerStore(options.dataDir);
  const holder = randomUUID();
  const dispatcher = new WebhookDispatcher({
    log: options.log,
    store: options.store,
    settings: options.settings,
    logger: options.logger.child({ component: 'webhooks' }),
    lease: () => leases.acquire(DISPATCHER_LEASE, holder, Date.now(), 30_000).held,
  });
  dispatcher.start();
  return {
    dispatcher,
    async stop() {
      await dispatcher.stop();
      leases.release(DISPATCHER_LEASE, holder);
      leases.close();
    },
  };
}
