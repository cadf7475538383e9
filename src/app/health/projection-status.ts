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

export interface ProjectionStatusSource {
  status(): Promise<ProjectionHealth[]>;
}

export const PROJECTION_STATUS = Symbol('PROJECTION_STATUS');
