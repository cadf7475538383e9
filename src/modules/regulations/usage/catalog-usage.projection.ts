/**
 * Which regulation versions, tracks and steps the stored cases use, with the first few cases of each and a count:
 * what start-up compares with the catalog's files (catalog-guard.ts), so a version, track or step that stored cases
 * rely on cannot vanish from under them unnoticed. One small document per version in use.
 */
import type { RecordedEvent } from '../../event-log/event-log.port';
import type { ReadDocument } from '../../read-store/read-store.port';
import type { Projection, ProjectionContext } from '../../../projections/projection';
import { CASE_STREAM_PREFIX } from '../../cases/domain/case-event';

export const CATALOG_USAGE_PROJECTION = 'catalog-usage';
export const VERSIONS_IN_USE = 'versions';
/** Cases named per version, track or step; the count says how many more. */
export const SAMPLE_SIZE = 5;

export interface UsageCount {
  cases: number;
  sample: string[];
}

export interface VersionUsage extends ReadDocument, UsageCount {
  tracks: Record<string, UsageCount>;
  steps: Record<string, UsageCount>;
}

/** One more case, named while the sample has room. */
function addCase(entry: UsageCount | undefined, caseId: string): UsageCount {
  const current = entry ?? { cases: 0, sample: [] };
  return {
    cases: current.cases + 1,
    sample: current.sample.length < SAMPLE_SIZE ? [...current.sample, caseId] : current.sample,
  };
}

/** Folds one case event into its version's usage document (shared with the start-up check's scan of the log's tail). */
export function applyUsage(usage: VersionUsage | null, event: RecordedEvent): VersionUsage | null {
  if (!event.streamId.startsWith(CASE_STREAM_PREFIX)) return null;
  const metadata = event.metadata as { regulation?: { versionId?: unknown }; stepId?: unknown };
  const versionId = metadata.regulation?.versionId;
  if (typeof versionId !== 'string') return null;
  const caseId = event.streamId.slice(CASE_STREAM_PREFIX.length);
  const next: VersionUsage = usage ?? { _id: versionId, cases: 0, sample: [], tracks: {}, steps: {} };
  if (event.revision === 0) {
    Object.assign(next, addCase(next, caseId));
    const trackId = (event.data as { trackId?: unknown }).trackId;
    if (typeof trackId === 'string') next.tracks = { ...next.tracks, [trackId]: addCase(next.tracks[trackId], caseId) };
  }
  const stepId = metadata.stepId;
  // Counted per event, not per case, beyond the sample: the count is "acts recorded", cheap and monotonic.
  if (typeof stepId === 'string') {
    const step = next.steps[stepId] ?? { cases: 0, sample: [] };
    next.steps = {
      ...next.steps,
      [stepId]: {
        cases: step.cases + 1,
        sample:
          step.sample.length < SAMPLE_SIZE && !step.sample.includes(caseId) ? [...step.sample, caseId] : step.sample,
      },
    };
  }
  return next;
}

export const catalogUsageProjection: Projection = {
  name: CATALOG_USAGE_PROJECTION,
  version: 1,
  eventTypes: '*',
  collections: [VERSIONS_IN_USE],
  async apply(event: RecordedEvent, ctx: ProjectionContext) {
    if (!event.streamId.startsWith(CASE_STREAM_PREFIX)) return;
    const versionId = (event.metadata as { regulation?: { versionId?: unknown } }).regulation?.versionId;
    if (typeof versionId !== 'string') return;
    const next = applyUsage(await ctx.get<VersionUsage>(VERSIONS_IN_USE, versionId), event);
    if (next) ctx.upsert(VERSIONS_IN_USE, next);
  },
};
