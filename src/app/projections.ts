import type { Logger } from 'pino';
import type { EventLog } from '../modules/event-log/event-log.port';
import type { ReadStore } from '../modules/read-store/read-store.port';
import type { ProjectionStatusSource } from './health/projection-status';
import { allProjections } from '../projections/catalog';
import { ProjectionRuntime } from '../projections/projection-runtime';
import { ReadModels } from '../projections/read-models';
import type { ReferenceData } from './reference-data';

export interface RunningProjections extends ProjectionStatusSource {
  readModels: ReadModels;
  /** Present when this process runs the projections (inline mode, or the worker). */
  runtime: ProjectionRuntime | null;
  stop(): Promise<void>;
}

/**
 * Every process gets the read side (ReadModels: active builds, status, waitFor); only the worker, or the
 * API in inline mode, runs the projections themselves.
 */
export async function startProjections(options: { eventLog: EventLog; readStore: ReadStore; logger: Logger; run: boolean; reference: ReferenceData }): Promise<RunningProjections> {
  const projections = allProjections(options.reference);
  const readModels = new ReadModels(options.eventLog, options.readStore, projections);
  const runtime = options.run ? new ProjectionRuntime(options.eventLog, options.readStore, projections, { logger: options.logger }) : null;
  await runtime?.start();
  return {
    readModels,
    runtime,
    status: () => readModels.status(),
    stop: async () => runtime?.stop(),
  };
}
