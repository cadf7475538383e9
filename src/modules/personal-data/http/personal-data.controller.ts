/** POST /api/personal-data/erasures and GET /api/personal-data/retention-due: administrators only. */
import { ApiCreatedResponse, ApiOkResponse } from '@nestjs/swagger';
import { ErasureDoneDto, RetentionDueDto } from './personal-data-responses';
import { Body, Controller, Get, HttpCode, Inject, Post } from '@nestjs/common';
import { ProblemError } from '../../../shared/problem/problem';
import { CurrentPrincipal, RequireRoles } from '../../identity/http/identity.decorators';
import type { Principal } from '../../identity/domain/principal';
import { checkIin } from '../../identity/domain/iin';
import {
  eraseSubject,
  retentionDue,
  NO_STEP_CAN_FOLLOW,
  type CaseRetention,
  type ErasureDeps,
  type ErasureRefusal,
} from '../commands/erase-subject';
import { EraseSubjectDto } from './erasure.dtos';

export const ERASURE_DEPS = Symbol('ERASURE_DEPS');
export const CLOSED_CASES = Symbol('CLOSED_CASES');

function refused(refusal: ErasureRefusal): ProblemError {
  switch (refusal.kind) {
    case 'personal-data-in-record':
      // Who erases is the caller's token subject, not a field of the body: an e-government one (`egov-<IIN>`) would be
      // recorded with the erasure for good. Refused rather than recorded otherwise (masked, keyed): the record names who
      // erased as they are known, or the erasure is not made; the CLI's --by, or a token without an IIN, can make it.
      if (refusal.field === 'by')
        return new ProblemError(
          403,
          'erasure-refused-principal-names-iin',
          'Who erases would put an IIN in the erasure record',
          "your token's subject names an IIN; it would be recorded for good as who erased, so nothing was erased",
          [
            {
              field: 'principal',
              problem: "the token's subject (sub) names an IIN",
              allowed:
                'an admin token whose subject names no IIN, or `npm run cli -- erase … --by NAME` with the service stopped',
            },
          ],
        );
      return ProblemError.badRequest(
        [
          {
            field: refusal.field,
            problem: 'names an IIN; it is recorded for good with the erasure',
            allowed: 'the legal ground and its reference without personal data',
          },
        ],
        refusal.detail,
      );
    case 'unknown-subject':
      return new ProblemError(404, 'unknown-data-subject', 'Data subject not found', refusal.detail, [
        { field: 'body', problem: 'no case and no live key of this data subject' },
      ]);
    case 'open-cases':
      return new ProblemError(
        409,
        'erasure-refused-open-cases',
        'The data are still needed by open cases',
        refusal.detail,
        [
          ...refusal.cases.map((c) => ({
            field: `cases.${c.caseId}`,
            problem: `open (${c.versionId}, ${c.status}${c.noStepCanFollow ? `; ${NO_STEP_CAN_FOLLOW}` : ''})`,
            allowed: 'erasure once every case of the subject is closed and past its retention period',
          })),
          ...refusal.retained.map(retainedCase),
        ],
      );
    case 'retention':
      return new ProblemError(
        409,
        'erasure-refused-retention',
        'The retention period still runs',
        refusal.detail,
        refusal.cases.map(retainedCase),
      );
  }
}

const retainedCase = (c: CaseRetention) => ({
  field: `cases.${c.caseId}`,
  problem: `kept until ${c.retainedUntil} (${c.versionId}: ${c.basis})`,
  allowed: `erasure after ${c.retainedUntil}`,
});

@Controller('api/personal-data')
export class PersonalDataController {
  constructor(
    @Inject(ERASURE_DEPS) private readonly deps: ErasureDeps,
    @Inject(CLOSED_CASES) private readonly closedCases: () => Promise<string[]>,
  ) {}

  @Post('erasures')
  @ApiCreatedResponse({ type: ErasureDoneDto, description: 'The subject is erased' })
  @HttpCode(201)
  @RequireRoles('admin')
  async erase(@CurrentPrincipal() principal: Principal, @Body() body: EraseSubjectDto) {
    const named = [body.iin, body.subjectId, body.caseId].filter((v) => v !== undefined).length;
    if (named !== 1)
      throw ProblemError.badRequest([
        {
          field: 'body',
          problem: named === 0 ? 'names no data subject' : `names the data subject ${named} ways`,
          allowed: 'exactly one of iin, subjectId, caseId',
        },
      ]);
    if (body.iin !== undefined) {
      const check = checkIin(body.iin);
      if (!check.valid)
        throw ProblemError.badRequest([
          {
            field: 'body.iin',
            problem: `is not a valid IIN: ${check.problem.message}`,
            allowed: '12 digits with a valid check digit',
          },
        ]);
    }
    const outcome = await eraseSubject(this.deps, {
      ...(body.iin !== undefined
        ? { iin: body.iin }
        : body.subjectId !== undefined
          ? { subjectId: body.subjectId }
          : { caseId: body.caseId! }),
      basis: body.basis.trim(),
      reference: body.reference.trim(),
      by: principal.id,
    });
    if (!outcome.ok) throw refused(outcome.refusal);
    const d = outcome.done;
    return {
      subjects: d.subjects,
      cases: d.cases.map((c) => ({ caseId: c.caseId, versionId: c.versionId, closedAt: c.closedAt })),
      positions: d.positions,
      clearTextActs: d.clearTextActs,
      ...(d.clearTextActs > 0
        ? {
            warning: `${d.clearTextActs} act(s) were recorded with personal data in clear (before it was encrypted, or naming the citizen who acted as their token named them); the append-only log keeps them readable`,
          }
        : {}),
    };
  }

  @Get('retention-due')
  @ApiOkResponse({ type: RetentionDueDto, description: 'The subjects due, with their cases' })
  @RequireRoles('admin')
  async due() {
    return { due: await retentionDue(this.deps, await this.closedCases()) };
  }
}
