import type { Projection } from './projection';
import { logOverviewProjection } from './log-overview/log-overview.projection';

/** Every projection the service runs; the worker, the inline runtime, /health and the rebuild command use this list. */
export function allProjections(): Projection[] {
  return [logOverviewProjection];
}
