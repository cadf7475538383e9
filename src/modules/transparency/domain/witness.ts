/**
 * A witness's judgement of a log's new checkpoint against the last one it accepted: unchanged, grown (with a
 * consistency proof that holds), or caught: truncated (smaller), forked (same size, another root) or rewritten
 * (larger, but no valid proof that it extends the old tree). Both checkpoints are kept as the evidence. Pure.
 */
import { verifyConsistency } from './merkle';
import type { Checkpoint } from './signed-note';

export type WitnessVerdict =
  | { kind: 'first' | 'unchanged' | 'grown'; detail: string }
  | { kind: 'truncated' | 'forked' | 'rewritten' | 'other-log'; detail: string };

export const isCaught = (verdict: WitnessVerdict) => !['first', 'unchanged', 'grown'].includes(verdict.kind);

export function judge(
  previous: Checkpoint | null,
  next: Checkpoint,
  proof: readonly Uint8Array[] | null,
): WitnessVerdict {
  if (!previous) return { kind: 'first', detail: `first checkpoint held: ${next.size} events` };
  if (previous.origin !== next.origin)
    return {
      kind: 'other-log',
      detail: `the checkpoint is of log ${next.origin}, the witness follows ${previous.origin}`,
    };
  if (next.size < previous.size)
    return {
      kind: 'truncated',
      detail: `the log now has ${next.size} events; it had signed ${previous.size}: events were removed`,
    };
  if (next.size === previous.size) {
    return next.root.equals(previous.root)
      ? { kind: 'unchanged', detail: `still ${next.size} events, same root` }
      : {
          kind: 'forked',
          detail: `two roots signed for the same ${next.size} events: the log shows different histories`,
        };
  }
  if (!proof)
    return {
      kind: 'rewritten',
      detail: `the log gave no consistency proof from ${previous.size} to ${next.size} events`,
    };
  const verified = verifyConsistency(previous.size, next.size, proof, previous.root, next.root);
  return verified.ok
    ? { kind: 'grown', detail: `${previous.size} → ${next.size} events, consistency proof verified` }
    : {
        kind: 'rewritten',
        detail: `the ${next.size}-event log does not extend the ${previous.size}-event one the witness holds: ${verified.problem}`,
      };
}
