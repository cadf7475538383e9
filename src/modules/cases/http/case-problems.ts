/** Every refusal of a case command or read as RFC 9457 problem+json: 400, 403, 404, 409 or 422, each naming what to change. */
import { ProblemError } from '../../../shared/problem/problem';
import type { CommandRefusal } from '../commands/case-command-service';
import type { QueryRefusal } from '../queries/case-queries';

export function refusalProblem(refusal: CommandRefusal): ProblemError {
  switch (refusal.kind) {
    case 'invalid':
      return ProblemError.badRequest(refusal.errors);
    case 'unknown-service':
      return new ProblemError(
        404,
        'unknown-service',
        'Service not found',
        `unknown service "${refusal.serviceId}"; the catalog has: ${refusal.known.join(', ')}`,
        [
          {
            field: 'serviceId',
            problem: `"${refusal.serviceId}" is not a service of the catalog`,
            allowed: refusal.known.join(' | '),
          },
        ],
      );
    case 'unknown-case':
      return new ProblemError(404, 'unknown-case', 'Case not found', `no case ${refusal.caseId}`, [
        { field: 'path.caseId', problem: 'no such case' },
      ]);
    case 'unknown-step':
      return new ProblemError(
        404,
        'unknown-step',
        'Step not found',
        `the case's regulation has no step "${refusal.stepId}"; its steps on this track: ${refusal.steps.join(', ')}`,
        [
          {
            field: 'path.stepId',
            problem: `"${refusal.stepId}" is not a step of this case's regulation version and track`,
            allowed: refusal.steps.join(' | '),
          },
        ],
      );
    case 'forbidden': {
      const { detail, kind: _kind, ...extensions } = refusal;
      return new ProblemError(403, 'forbidden', 'Not allowed', detail, undefined, extensions);
    }
    case 'step-not-allowed': {
      const { detail, kind: _kind, ...extensions } = refusal;
      return new ProblemError(409, 'step-not-allowed', 'Step not allowed now', detail, undefined, extensions);
    }
    case 'stale-revision':
      return new ProblemError(
        409,
        'stale-revision',
        'The case has changed',
        `expectedRevision is ${refusal.expected}, the case is at revision ${refusal.actual}; reload the case and decide again`,
        [
          {
            field: 'expectedRevision',
            problem: `is ${refusal.expected}, the current revision is ${refusal.actual}`,
            allowed: String(refusal.actual),
          },
        ],
        { currentRevision: refusal.actual, expectedRevision: refusal.expected },
      );
    case 'idempotency-key-reused':
      return new ProblemError(422, 'idempotency-key-reused', 'Idempotency-Key reused', refusal.detail, [
        {
          field: 'header.Idempotency-Key',
          problem: 'was used before for a different request',
          allowed: 'a new key for a new request',
        },
      ]);
    case 'personal-data-erased':
      return new ProblemError(409, 'personal-data-erased', "The applicant's personal data was erased", refusal.detail, [
        { field: 'path.caseId', problem: "the case's applicant was erased: nothing more can be recorded for it" },
      ]);
    case 'rule': {
      const errors = refusal.field ? [{ field: refusal.field, problem: refusal.detail }] : undefined;
      return new ProblemError(
        422,
        refusal.code,
        RULE_TITLES[refusal.code],
        refusal.detail,
        errors,
        refusal.extensions ?? {},
      );
    }
  }
}

const RULE_TITLES: Record<Extract<CommandRefusal, { kind: 'rule' }>['code'], string> = {
  'intake-closed': 'Intake is closed',
  'invalid-iin': 'Invalid IIN',
  'version-not-in-force': 'No regulation version in force',
  'channel-not-offered': 'Channel not offered',
  'before-previous-act': 'Act before the previous act',
  'no-cancellation': 'Cancellation not provided',
  'result-issued': 'Result already issued',
  'programme-too-long': 'Programme longer than the regulation allows',
  'period-ended': 'The period for this act has ended',
  'period-not-ended': 'A period this act would cut short has not ended',
  'cohort-date-already-set': 'Cohort date already set',
};

/** Every refusal of a case read as RFC 9457 problem+json: 400, 403, 404 or 422. */
export function queryRefusalProblem(refusal: QueryRefusal): ProblemError {
  switch (refusal.kind) {
    case 'invalid':
      return ProblemError.badRequest(refusal.errors);
    case 'unknown-case':
      return new ProblemError(
        404,
        'unknown-case',
        'Case not found',
        `no case ${refusal.caseId}${refusal.position === null ? '' : ` as of log position ${refusal.position}`}`,
        [{ field: 'path.caseId', problem: 'no such case' }],
      );
    case 'forbidden':
      return new ProblemError(403, 'forbidden', 'Not allowed', refusal.detail, undefined, refusal.extensions);
    case 'sla-not-computable':
      return new ProblemError(422, 'sla-not-computable', 'The SLA cannot be computed', refusal.detail);
  }
}
