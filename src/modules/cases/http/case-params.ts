/** Path parameters of the case routes, checked before anything is read. */
import { ProblemError } from '../../../shared/problem/problem';

const CASE_ID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const STEP_ID = /^[a-z0-9]+(-[a-z0-9]+)*$/;

export function parseCaseId(value: string): string {
  if (!CASE_ID.test(value)) throw ProblemError.badRequest([{ field: 'path.caseId', problem: `"${value.slice(0, 100)}" is not a case id`, allowed: 'a case id as returned by POST /api/cases (lower-case UUID)' }]);
  return value;
}

export function parseStepId(value: string): string {
  if (value.length > 100 || !STEP_ID.test(value)) throw ProblemError.badRequest([{ field: 'path.stepId', problem: `"${value.slice(0, 100)}" is not a step id`, allowed: 'a kebab-case step id of the case\'s regulation, e.g. documents-registered' }]);
  return value;
}
