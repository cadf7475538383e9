import type { ReadModels } from './read-models';

/** What /health and /metrics need from the projections, whether they run in this process or in the worker. */
export interface ProjectionHealth {
  name: string;
  version?: number;
  state: string;
  checkpoint?: number;
  lagEvents?: number;
  lagSeconds?: number;
  error?: unknown;
}

/**
 * The state /health gives a projection whose active build the log does not hold (its checkpoint past the head, or on
 * another event): it serves nothing until the projections' next start drops and rebuilds it.
 */
export const AHEAD_OF_LOG = 'ahead-of-log';

export interface DeadlineTimerHealth {
  openCases: number;
  dueCases: number;
  lagSeconds: number;
  /** The log position the index reflects: cases with acts after it have not been looked at yet. */
  position: number;
}

export interface ProjectionStatusSource {
  /** The read models, where this process can read them (for the overdue-steps gauge). */
  readonly readModels?: Pick<ReadModels, 'collection'>;
  status(): Promise<ProjectionHealth[]>;
  /** The deadline scheduler's index, where this machine has it; null where it does not. */
  deadlineStatus?(): DeadlineTimerHealth | null;
}

export const PROJECTION_STATUS = Symbol('PROJECTION_STATUS');
