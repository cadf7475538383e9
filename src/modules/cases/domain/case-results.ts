/** Which results a terminal step's act may or must name. Pure. */
import type { RegulationVersion } from '../../regulations/domain/catalog';
import type { RegulationStep } from '../../regulations/domain/regulation-schema';

/**
 * The results a terminal step's act may name (`resultId`): those of the case's track no other step issues. Empty for a
 * step that names its own result (`result`) or ends no case.
 */
export function resultsStepMayName(version: RegulationVersion, step: RegulationStep, trackId: string): string[] {
  if (!step.terminal || step.result) return [];
  return version.results
    .filter((r) => r.tracks.includes(trackId) && !version.steps.some((s) => s.result === r.id && s.id !== step.id))
    .map((r) => r.id);
}

/**
 * Whether the step's act must name which result it issued: a completion document where the track has more than one
 * (retraining or qualification improvement, appendix 5 p.3 of order 184): left unnamed, the case's result would be a
 * guess.
 */
export function mustNameResult(version: RegulationVersion, step: RegulationStep, trackId: string): boolean {
  return step.eventType === 'CompletionDocumentIssued' && resultsStepMayName(version, step, trackId).length > 1;
}
