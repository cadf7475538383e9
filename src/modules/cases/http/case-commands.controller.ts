/** POST /api/cases, /api/cases/:caseId/steps/:stepId and /api/cases/:caseId/cancel. */
import { Body, Controller, Headers, HttpCode, Param, Post, Req, Res } from '@nestjs/common';
import { CommandBus } from '@nestjs/cqrs';
import { ApiBearerAuth, ApiHeader, ApiTags } from '@nestjs/swagger';
import canonicalize from 'canonicalize';
import { createHash } from 'node:crypto';
import { ProblemError } from '../../../shared/problem/problem';
import { CurrentPrincipal, Writes } from '../../identity/http/identity.decorators';
import type { Principal } from '../../identity/domain/principal';
import type { CommandMeta, CommandOutcome } from '../commands/case-command-service';
import { CancelApplicationCommand, SubmitApplicationCommand, TakeStepCommand } from '../commands/case-commands';
import { refusalProblem } from './case-problems';
import { CancelApplicationDto, SubmitApplicationDto, TakeStepDto } from './case-command.dtos';
import { parseCaseId, parseStepId } from './case-params';
import { acceptedTraceId } from '../../../shared/http/trace-ids';

interface RequestLike {
  id: string;
  method: string;
  headers: Record<string, string | string[] | undefined>;
}
interface ReplyLike {
  header(name: string, value: string): unknown;
}

const KEY = /^[\x21-\x7e]{1,200}$/;

/** The caller's idempotency key and a fingerprint of the request it stands for. */
function commandMeta(request: RequestLike, route: string, body: unknown, key: string | undefined): CommandMeta {
  const correlationId = request.id;
  const causationId = acceptedTraceId(request.headers['x-causation-id']);
  if (key === undefined) return { correlationId, ...(causationId ? { causationId } : {}) };
  if (!KEY.test(key)) throw ProblemError.badRequest([{ field: 'header.Idempotency-Key', problem: 'must be 1–200 printable ASCII characters without spaces', allowed: 'e.g. a UUID' }]);
  const fingerprint = createHash('sha256').update(canonicalize({ route, body }) ?? '').digest('hex');
  return { correlationId, ...(causationId ? { causationId } : {}), idempotency: { key, fingerprint } };
}

function instant(value: string | undefined): Date | undefined {
  return value === undefined ? undefined : new Date(value);
}

function answer(outcome: CommandOutcome, reply: ReplyLike) {
  if (!outcome.ok) throw refusalProblem(outcome.refusal);
  if (outcome.accepted.replayed) reply.header('idempotent-replayed', 'true');
  return outcome.accepted;
}

@ApiTags('cases')
@ApiBearerAuth()
@ApiHeader({ name: 'Idempotency-Key', required: false, description: 'a repeat with the same key and body returns the first response and writes nothing' })
@Controller('api/cases')
@Writes()
export class CaseCommandsController {
  constructor(private readonly commands: CommandBus) {}

  @Post()
  @HttpCode(201)
  async submit(
    @CurrentPrincipal() principal: Principal,
    @Body() body: SubmitApplicationDto,
    @Headers('idempotency-key') key: string | undefined,
    @Req() request: RequestLike,
    @Res({ passthrough: true }) reply: ReplyLike,
  ) {
    const meta = commandMeta(request, 'POST /api/cases', body, key);
    const outcome = await this.commands.execute(
      new SubmitApplicationCommand(
        principal,
        {
          serviceId: body.serviceId,
          ...(body.trackId !== undefined ? { trackId: body.trackId } : {}),
          channel: body.channel,
          unit: body.unit,
          applicant: { iin: body.applicant.iin, fullName: body.applicant.fullName },
          occurredAt: instant(body.occurredAt),
          startedAt: instant(body.startedAt),
          ...(body.cohortDates ? { cohortDates: body.cohortDates } : {}),
        },
        meta,
      ),
    );
    const accepted = answer(outcome, reply);
    return { caseId: accepted.caseId, regulationVersionId: accepted.regulationVersionId, receiptNumber: accepted.receiptNumber, revision: accepted.revision, position: accepted.position };
  }

  @Post(':caseId/steps/:stepId')
  @HttpCode(201)
  async takeStep(
    @CurrentPrincipal() principal: Principal,
    @Param('caseId') caseIdParam: string,
    @Param('stepId') stepIdParam: string,
    @Body() body: TakeStepDto,
    @Headers('idempotency-key') key: string | undefined,
    @Req() request: RequestLike,
    @Res({ passthrough: true }) reply: ReplyLike,
  ) {
    const caseId = parseCaseId(caseIdParam);
    const stepId = parseStepId(stepIdParam);
    const meta = commandMeta(request, `POST /api/cases/${caseId}/steps/${stepId}`, body, key);
    const outcome = await this.commands.execute(
      new TakeStepCommand(principal, caseId, { stepId, occurredAt: instant(body.occurredAt), startedAt: instant(body.startedAt), data: body.data ?? {} }, body.expectedRevision, meta),
    );
    const accepted = answer(outcome, reply);
    return { caseId: accepted.caseId, stepId: accepted.stepId, eventType: accepted.eventType, revision: accepted.revision, position: accepted.position };
  }

  @Post(':caseId/cancel')
  @HttpCode(201)
  async cancel(
    @CurrentPrincipal() principal: Principal,
    @Param('caseId') caseIdParam: string,
    @Body() body: CancelApplicationDto,
    @Headers('idempotency-key') key: string | undefined,
    @Req() request: RequestLike,
    @Res({ passthrough: true }) reply: ReplyLike,
  ) {
    const caseId = parseCaseId(caseIdParam);
    const meta = commandMeta(request, `POST /api/cases/${caseId}/cancel`, body, key);
    const outcome = await this.commands.execute(
      new CancelApplicationCommand(principal, caseId, { occurredAt: instant(body.occurredAt), ...(body.reason ? { reason: body.reason } : {}) }, body.expectedRevision, meta),
    );
    const accepted = answer(outcome, reply);
    return { caseId: accepted.caseId, stepId: accepted.stepId, eventType: accepted.eventType, revision: accepted.revision, position: accepted.position };
  }
}
