import type { Logger } from 'pino';
import type { EventLog } from '../modules/event-log/event-log.port';
import type { ReadStore } from '../modules/read-store/read-store.port';
import type { ProjectionStatusSource } from './health/projection-status';
import { allProjections } from '../projections/catalog';
import { ProjectionRuntime } from '../projections/projection-runtime';
import type { Build } from '../projections/projection';
import { ReadModels } from '../projections/read-models';
import type { ReferenceData } from './reference-data';
import type { AppConfig } from './config/config';
import { startProjectionProcess, type ProjectionProcess } from './projection-process';

export interface RunningProjections extends ProjectionStatusSource {
  readModels: ReadModels;
  /** Present when this process runs the projections (the worker process). */
  runtime: ProjectionRuntime | null;
  /** Present when a child process of this one runs them (an API in inline mode). */
  process: ProjectionProcess | null;
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
  config: AppConfig;
  /** Told when the projections find the read store's disk full, and when they write again (null). */
  onReadStoreFull?: (detail: string | null) => void;
}): Promise<RunningProjections> {
  const projections = allProjections(options.reference);
  const readModels = new ReadModels(options.eventLog, options.readStore, projections);
  const runtime = options.placement === 'here' ? new ProjectionRuntime(options.eventLog, options.readStore, projections, {
    logger: options.logger,
    ...(options.onReadStoreFull ? { onStorageFull: options.onReadStoreFull } : {}),
    // On the embedded store this process holds the projections role lock (infrastructure.ts): no other runner is alive.
    lease: { takeOverAtStart: options.readStore.kind === 'sqlite' },
  }) : null;
  await runtime?.start();
  const child = options.placement === 'child' ? await startProjectionProcess(options.config, options.logger, options.onReadStoreFull) : null;
  return {
    readModels,
    runtime,
    process: child,
    status: () => readModels.status(),
    async rebuild(name) {
      // As the rebuild command does: a runtime of its own builds the new generation; live runners follow the switch.
      return (runtime ?? new ProjectionRuntime(options.eventLog, options.readStore, projections, { logger: options.logger })).rebuild(name);
    },
    stop: async () => {
      await runtime?.stop();
      await child?.stop();
    },
  };
}
