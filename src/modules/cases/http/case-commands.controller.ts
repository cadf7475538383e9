/** POST /api/cases, /api/cases/:caseId/steps/:stepId and /api/cases/:caseId/cancel. */
import { Body, Controller, Headers, HttpCode, Inject, Param, Post, Req, Res } from '@nestjs/common';
import { CommandBus } from '@nestjs/cqrs';
import { ApiBearerAuth, ApiCreatedResponse, ApiHeader, ApiTags } from '@nestjs/swagger';
import canonicalize from 'canonicalize';
import { createHash, createHmac } from 'node:crypto';
import { ProblemError } from '../../../shared/problem/problem';
import { CurrentPrincipal, Writes } from '../../identity/http/identity.decorators';
import type { Principal } from '../../identity/domain/principal';
import type { CommandMeta, CommandOutcome, CommandRefusal } from '../commands/case-command-service';
import { CancelApplicationCommand, SubmitApplicationCommand, TakeStepCommand } from '../commands/case-commands';
import { refusalProblem } from './case-problems';
import { CancelApplicationDto, SubmitApplicationDto, TakeStepDto } from './case-command.dtos';
import { CaseFiledDto, StepTakenDto } from './case-responses';
import { CasePathDto, StepPathDto } from './case-query.dtos';
import { acceptedTraceId, idCarriesIin } from '../../../shared/http/trace-ids';

interface RequestLike {
  id: string;
  method: string;
  headers: Record<string, string | string[] | undefined>;
}
interface ReplyLike {
  header(name: string, value: string): unknown;
}

const LOCATION = { Location: { description: 'the case: /api/cases/{caseId}', schema: { type: 'string' } } } as const;

const KEY = /^[\x21-\x7e]{1,200}$/;

/** The key of the requests' fingerprints (a request carries an IIN and a name: never hashed without a key). */
export const FINGERPRINT_KEY = Symbol('FINGERPRINT_KEY');

/** The caller's idempotency key and a fingerprint of the request it stands for. */
function commandMeta(
  request: RequestLike,
  route: string,
  body: unknown,
  key: string | undefined,
  fingerprintKey: Buffer,
): CommandMeta {
  const correlationId = request.id;
  const causationId = acceptedTraceId(request.headers['x-causation-id']);
  if (key === undefined) return { correlationId, ...(causationId ? { causationId } : {}) };
  if (!KEY.test(key))
    throw ProblemError.badRequest([
      {
        field: 'header.Idempotency-Key',
        problem: 'must be 1–200 printable ASCII characters without spaces',
        allowed: 'e.g. a UUID',
      },
    ]);
  // The key is stored with the acts in the log, which keeps it for ever and which no erasure reaches.
  if (idCarriesIin(key))
    throw ProblemError.badRequest([
      {
        field: 'header.Idempotency-Key',
        problem:
          'may carry an IIN (a number of 11 to 13 digits, or 12 in groups, as an IIN is written); the key is kept in the log for ever',
        allowed: 'a key that carries no personal data, e.g. a UUID',
      },
    ]);
  const canonical = canonicalize({ route, body }) ?? '';
  const fingerprint = createHmac('sha256', fingerprintKey).update(canonical).digest('hex');
  // Compared only, never stored: a retry of a request first made before fingerprints were keyed.
  const formerly = createHash('sha256').update(canonical).digest('hex');
  return { correlationId, ...(causationId ? { causationId } : {}), idempotency: { key, fingerprint, formerly } };
}

function instant(value: string | undefined): Date | undefined {
  return value === undefined ? undefined : new Date(value);
}

/** The accepted command, with the case's address (every 201 says where what it made can be read). */
function answer(outcome: CommandOutcome, reply: ReplyLike, expected: ExpectedRevision = { from: 'none' }) {
  if (!outcome.ok)
    throw expected.from === 'if-match' && outcome.refusal.kind === 'stale-revision'
      ? preconditionFailed(outcome.refusal)
      : refusalProblem(outcome.refusal);
  if (outcome.accepted.replayed) reply.header('idempotent-replayed', 'true');
  reply.header('location', `/api/cases/${outcome.accepted.caseId}`);
  return outcome.accepted;
}

/** Where the revision the caller decided on came from: If-Match (412 on mismatch) or the body's expectedRevision (409). */
interface ExpectedRevision {
  from: 'none' | 'if-match' | 'body';
  revision?: number;
}

const ENTITY_TAG = /^"(0|[1-9]\d{0,14})"$/;

/**
 * If-Match carries the case's revision as the ETag of its read gave it (`"3"`); `*` asks only that the case exist,
 * which every step does anyway. Given with a different expectedRevision in the body, the request contradicts itself.
 */
function expectedRevision(ifMatch: string | undefined, bodyRevision: number | undefined): ExpectedRevision {
  const allowed = 'the ETag of GET /api/cases/{caseId}, e.g. "3" (quotes included), or *';
  if (ifMatch === undefined || ifMatch.trim() === '*')
    return bodyRevision === undefined ? { from: 'none' } : { from: 'body', revision: bodyRevision };
  const match = ENTITY_TAG.exec(ifMatch.trim());
  if (!match)
    throw ProblemError.badRequest([
      { field: 'header.If-Match', problem: `"${ifMatch.slice(0, 100)}" is not an entity tag of a case`, allowed },
    ]);
  const revision = Number(match[1]);
  if (bodyRevision !== undefined && bodyRevision !== revision) {
    throw ProblemError.badRequest([
      {
        field: 'expectedRevision',
        problem: `is ${bodyRevision} while If-Match names revision ${revision}`,
        allowed: 'the same revision in both, or only one of them',
      },
    ]);
  }
  return { from: 'if-match', revision };
}

/** What an idempotency key stands for: the body, and the revision If-Match named (a different one is a different request). */
function fingerprinted(body: object, expected: ExpectedRevision): object {
  return expected.from === 'if-match' ? { ...body, ifMatch: expected.revision } : body;
}

function preconditionFailed(refusal: Extract<CommandRefusal, { kind: 'stale-revision' }>): ProblemError {
  return new ProblemError(
    412,
    'precondition-failed',
    'The case has changed',
    `If-Match names revision ${refusal.expected}, the case is at revision ${refusal.actual}; reload the case and decide again`,
    [
      {
        field: 'header.If-Match',
        problem: `names revision ${refusal.expected}, the current revision is ${refusal.actual}`,
        allowed: `"${refusal.actual}"`,
      },
    ],
    { currentRevision: refusal.actual, expectedRevision: refusal.expected },
    { etag: `"${refusal.actual}"` },
  );
}

@ApiTags('cases')
@ApiBearerAuth()
@ApiHeader({
  name: 'Idempotency-Key',
  required: false,
  description: 'a repeat with the same key and body returns the first response and writes nothing',
})
@ApiHeader({
  name: 'If-Match',
  required: false,
  description:
    'steps and cancellation: the ETag of the case read the decision was made on (e.g. "3"); another current revision gets 412. The same as expectedRevision in the body',
})
@Controller('api/cases')
@Writes()
export class CaseCommandsController {
  constructor(
    private readonly commands: CommandBus,
    @Inject(FINGERPRINT_KEY) private readonly fingerprintKey: Buffer,
  ) {}

  @Post()
  @HttpCode(201)
  @ApiCreatedResponse({
    type: CaseFiledDto,
    description: 'The case is opened; Location is its address',
    headers: LOCATION,
  })
  async submit(
    @CurrentPrincipal() principal: Principal,
    @Body() body: SubmitApplicationDto,
    @Headers('idempotency-key') key: string | undefined,
    @Req() request: RequestLike,
    @Res({ passthrough: true }) reply: ReplyLike,
  ) {
    const meta = commandMeta(request, 'POST /api/cases', body, key, this.fingerprintKey);
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
    return {
      caseId: accepted.caseId,
      regulationVersionId: accepted.regulationVersionId,
      receiptNumber: accepted.receiptNumber,
      revision: accepted.revision,
      position: accepted.position,
    };
  }

  @Post(':caseId/steps/:stepId')
  @HttpCode(201)
  @ApiCreatedResponse({
    type: StepTakenDto,
    description: "The act is recorded; Location is the case's address",
    headers: LOCATION,
  })
  async takeStep(
    @CurrentPrincipal() principal: Principal,
    @Param() { caseId, stepId }: StepPathDto,
    @Body() body: TakeStepDto,
    @Headers('idempotency-key') key: string | undefined,
    @Headers('if-match') ifMatch: string | undefined,
    @Req() request: RequestLike,
    @Res({ passthrough: true }) reply: ReplyLike,
  ) {
    const expected = expectedRevision(ifMatch, body.expectedRevision);
    const meta = commandMeta(
      request,
      `POST /api/cases/${caseId}/steps/${stepId}`,
      fingerprinted(body, expected),
      key,
      this.fingerprintKey,
    );
    const outcome = await this.commands.execute(
      new TakeStepCommand(
        principal,
        caseId,
        { stepId, occurredAt: instant(body.occurredAt), startedAt: instant(body.startedAt), data: body.data ?? {} },
        expected.revision,
        meta,
      ),
    );
    const accepted = answer(outcome, reply, expected);
    return {
      caseId: accepted.caseId,
      stepId: accepted.stepId,
      eventType: accepted.eventType,
      revision: accepted.revision,
      position: accepted.position,
    };
  }

  @Post(':caseId/cancel')
  @HttpCode(201)
  @ApiCreatedResponse({
    type: StepTakenDto,
    description: "The cancellation is recorded; Location is the case's address",
    headers: LOCATION,
  })
  async cancel(
    @CurrentPrincipal() principal: Principal,
    @Param() { caseId }: CasePathDto,
    @Body() body: CancelApplicationDto,
    @Headers('idempotency-key') key: string | undefined,
    @Headers('if-match') ifMatch: string | undefined,
    @Req() request: RequestLike,
    @Res({ passthrough: true }) reply: ReplyLike,
  ) {
    const expected = expectedRevision(ifMatch, body.expectedRevision);
    const meta = commandMeta(
      request,
      `POST /api/cases/${caseId}/cancel`,
      fingerprinted(body, expected),
      key,
      this.fingerprintKey,
    );
    const outcome = await this.commands.execute(
      new CancelApplicationCommand(
        principal,
        caseId,
        { occurredAt: instant(body.occurredAt), ...(body.reason ? { reason: body.reason } : {}) },
        expected.revision,
        meta,
      ),
    );
    const accepted = answer(outcome, reply, expected);
    return {
      caseId: accepted.caseId,
      stepId: accepted.stepId,
      eventType: accepted.eventType,
      revision: accepted.revision,
      position: accepted.position,
    };
  }
}
