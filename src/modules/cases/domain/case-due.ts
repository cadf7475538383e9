/**
 * Whether a step is due in a case: the acts that make a conditional step due (a refusal after a negative outcome, an
 * appeal's review once an appeal is filed) and the branches a case did not take (the admission order after a
 * non-admission). A limit counts only for a step that is due. Pure.
 */
import type { RegulationVersion } from '../../regulations/domain/catalog';
import { isoMs } from '../../../shared/dates/instant-text';
import type { RegulationStep } from '../../regulations/domain/regulation-schema';
import { prerequisitesOn } from './case-rules';
import { stepsOnTrack, type StepCompletion } from './case-state';

/**
 * - `due`: the act that makes it due happened (or the step has no condition and nothing ruled it out);
 * - `pending`: its condition is not decided yet (the act it waits for is not done);
 * - `not-due`: every act that could make it due went the other way, or a step it follows is not due.
 */
export type Dueness = 'due' | 'pending' | 'not-due';

/** A step's completion as of some instant: done, and whether its outcome then was negative. */
export interface DoneAsOf {
  negative: boolean;
}

/** The outcome of a completion at `at` (ms): negative unless an upheld appeal had reversed it by then. */
export function negativeAt(completion: Pick<StepCompletion, 'negative' | 'reversedAt'>, at: number): boolean {
  return completion.negative === true && !(completion.reversedAt !== undefined && isoMs(completion.reversedAt) <= at);
}

/** The dueness of every step on the case's track, given the steps done (as of some instant). */
export function duenessOf(
  version: RegulationVersion,
  trackId: string,
  done: ReadonlyMap<string, DoneAsOf>,
): Map<string, Dueness> {
  const result = new Map<string, Dueness>();
  const steps = stepsOnTrack(version, trackId);
  const byId = new Map(steps.map((s) => [s.id, s]));
  const visit = (step: RegulationStep): Dueness => {
    const known = result.get(step.id);
    if (known) return known;
    result.set(step.id, 'pending'); // guards against a cycle, which the catalog refuses anyway
    let own: Dueness;
    if (done.has(step.id)) own = 'due';
    else if (prerequisitesOn(version, trackId, step).some((id) => byId.has(id) && visit(byId.get(id)!) === 'not-due'))
      own = 'not-due';
    else own = conditionOf(step, done, byId, visit);
    result.set(step.id, own);
    return own;
  };
  for (const step of steps) visit(step);
  return result;
}

function conditionOf(
  step: RegulationStep,
  done: ReadonlyMap<string, DoneAsOf>,
  byId: Map<string, RegulationStep>,
  visit: (s: RegulationStep) => Dueness,
): Dueness {
  if (!step.dueWhen) return 'due';
  let pending = false;
  for (const condition of step.dueWhen) {
    const other = byId.get(condition.step);
    if (!other) continue; // a condition on another track's step cannot arise on this one
    const completion = done.get(condition.step);
    if (!completion) {
      if (visit(other) !== 'not-due') pending = true;
      continue;
    }
    if (condition.outcome === 'done' || (condition.outcome === 'negative') === completion.negative) return 'due';
  }
  return pending ? 'pending' : 'not-due';
}

/** Whether a step's limits count: it is due, or it is a step every case takes whose condition is still open. */
export function limitsCount(step: RegulationStep, dueness: Dueness): boolean {
  return dueness === 'due' || (dueness === 'pending' && !step.optional);
}

/** The steps done in a case as it stands now, with their outcomes now. */
export function doneNow(completed: Readonly<Record<string, StepCompletion>>): Map<string, DoneAsOf> {
  return new Map(
    Object.entries(completed).map(([id, c]) => [id, { negative: negativeAt(c, Number.POSITIVE_INFINITY) }]),
  );
}
