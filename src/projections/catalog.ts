import type { Projection } from './projection';
import type { ReferenceData } from '../app/reference-data';
import { logOverviewProjection } from './log-overview/log-overview.projection';
import { casesProjection } from '../modules/cases/projections/cases.projection';
import { complianceProjection } from '../modules/compliance/compliance.projection';
import { catalogUsageProjection } from '../modules/regulations/usage/catalog-usage.projection';

/**
 * Every projection the service runs; the worker, the inline runtime, /health and the rebuild command use this list.
 * The case projections fold events with the regulation catalog and compute deadlines with the calendar.
 */
export function allProjections(reference: Pick<ReferenceData, 'catalog' | 'calendar'>): Projection[] {
  return [logOverviewProjection, casesProjection(reference), complianceProjection(reference), catalogUsageProjection];
}
