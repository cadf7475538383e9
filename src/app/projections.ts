import type { Logger } from 'pino';
import type { EventLog } from '../modules/event-log/event-log.port';
import type { ReadStore } from '../modules/read-store/read-store.port';
import type { DeadlineTimerHealth, ProjectionStatusSource } from '../projections/projection-status';
import { TimerStore } from '../modules/deadline-alerts/scheduler/timer-store';
import { ProjectionRuntime } from '../projections/projection-runtime';
import type { Build, Projection } from '../projections/projection';
import { logOverviewProjection } from '../projections/log-overview/log-overview.projection';
import { casesProjection, SharedSlaRows } from '../modules/cases/projections/cases.projection';
import { complianceProjection } from '../modules/compliance/compliance.projection';
import { catalogUsageProjection } from '../modules/regulations/usage/catalog-usage.projection';
import { ReadModels } from '../projections/read-models';
import type { ReferenceData } from './reference-data';
import type { PersonalDataReading } from '../modules/personal-data/personal-data-vault';
import type { AppConfig } from '../shared/config/config';
import { startProjectionProcess, type ProjectionProcess } from './projection-process';
import {
  startDeadlineScheduler,
  startWebhookDispatcher,
  type RunningDispatcher,
  type RunningScheduler,
} from '../modules/deadline-alerts/deadline-alerts.runtime';

/**
 * Every projection the service runs, composed here from what the modules export; the worker, the inline runtime, /health and the rebuild command use this list.
 * The case projections fold events with the regulation catalog and compute deadlines with the calendar, and open
 * acts' personal fields with the key store (without it, only their names and versions are used: checks of checkpoints).
 */
export function allProjections(
  reference: Pick<ReferenceData, 'catalog' | 'calendar'>,
  personalData?: PersonalDataReading,
): Projection[] {
  // The cases and compliance projections compute each case's SLA rows once between them when they run together.
  const withKeys = { ...reference, ...(personalData ? { personalData } : {}), slaRows: new SharedSlaRows() };
  return [logOverviewProjection, casesProjection(withKeys), complianceProjection(withKeys), catalogUsageProjection];
}

export interface RunningProjections extends ProjectionStatusSource {
  readModels: ReadModels;
  /** Present when this process runs the projections (the worker process). */
  runtime: ProjectionRuntime | null;
  /** Present when a child process of this one runs them (an API in inline mode). */
  process: ProjectionProcess | null;
  /** Present where this process runs the deadline scheduler (the worker). */
  deadlines: RunningScheduler | null;
  /** Present where this process delivers webhooks (the worker). */
  webhooks: RunningDispatcher | null;
  /** Rebuilds one projection beside its active build and switches readers to it, wherever the live runners are. */
  rebuild(name: string): Promise<Build>;
  stop(): Promise<void>;
}

/**
 * Where projections run: `here` (the worker process), `child` (an API in inline mode: a child process of its own
 * at a lower priority, so requests never wait for projecting) or `none` (the API when a worker projects, commands
 * such as the demo). Every process gets the read side (ReadModels: active builds, status, waitFor).
 */
export type ProjectionPlacement = 'here' | 'child' | 'none';

export async function startProjections(options: {
  eventLog: EventLog;
  readStore: ReadStore;
  logger: Logger;
  placement: ProjectionPlacement;
  reference: ReferenceData;
  /** Opens acts' personal fields for the projections that run in this process. */
  personalData: PersonalDataReading;
  config: AppConfig;
  /** Told when the projections find the read store's disk full, and when they write again (null). */
  onReadStoreFull?: (detail: string | null) => void;
}): Promise<RunningProjections> {
  const projections = allProjections(options.reference, options.personalData);
  const readModels = new ReadModels(options.eventLog, options.readStore, projections);
  const runtime =
    options.placement === 'here'
      ? new ProjectionRuntime(options.eventLog, options.readStore, projections, {
          logger: options.logger,
          ...(options.onReadStoreFull ? { onStorageFull: options.onReadStoreFull } : {}),
          // On the embedded store this process holds the projections role lock (infrastructure.ts): no other runner is alive.
          lease: { takeOverAtStart: options.readStore.kind === 'sqlite' },
        })
      : null;
  await runtime?.start();
  const { config } = options;
  const deadlines =
    runtime && config.deadlineScheduler
      ? startDeadlineScheduler({
          log: options.eventLog,
          catalog: options.reference.catalog,
          calendar: options.reference.calendar,
          dataDir: config.dataDir,
          policy: config.deadlineWarnings,
          pollMs: config.deadlinePollMs,
          ...(config.deadlineRecordFrom ? { recordFrom: config.deadlineRecordFrom } : {}),
          logger: options.logger,
        })
      : null;
  const webhooks =
    runtime && config.webhooks.dispatcher
      ? startWebhookDispatcher({
          log: options.eventLog,
          store: options.readStore,
          dataDir: config.dataDir,
          settings: config.webhooks,
          logger: options.logger,
        })
      : null;
  const child =
    options.placement === 'child'
      ? await startProjectionProcess(options.config, options.logger, options.onReadStoreFull)
      : null;
  // An inline API's scheduler runs in its child, on this machine: its index is read here for /metrics.
  let childIndex: TimerStore | null = null;
  const deadlineStatus = (): DeadlineTimerHealth | null => {
    if (deadlines) return deadlines.scheduler.stats();
    if (!child || !config.deadlineScheduler) return null;
    childIndex ??= new TimerStore(config.dataDir);
    const now = Date.now();
    const counts = childIndex.counts(now);
    const earliest = childIndex.earliest();
    return {
      openCases: counts.open,
      dueCases: counts.due,
      lagSeconds: earliest && earliest.nextAt <= now ? (now - earliest.nextAt) / 1000 : 0,
      position: childIndex.position(),
    };
  };
  return {
    readModels,
    runtime,
    process: child,
    deadlines,
    webhooks,
    status: () => readModels.status(),
    deadlineStatus,
    async rebuild(name) {
      // As the rebuild command does: a runtime of its own builds the new generation; live runners follow the switch.
      return (
        runtime ?? new ProjectionRuntime(options.eventLog, options.readStore, projections, { logger: options.logger })
      ).rebuild(name);
    },
    stop: async () => {
      await webhooks?.stop();
      await deadlines?.stop();
      await runtime?.stop();
      await child?.stop();
      childIndex?.close();
    },
  };
}
