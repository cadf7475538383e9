/**
 * The verifiable log over HTTP: the latest checkpoint as a C2SP signed note, the history of checkpoints, inclusion
 * and consistency proofs, and the signing keys. Only hashes, sizes and signatures leave here, no personal data, so
 * the routes are public by default; TRANSPARENCY_ACCESS=auditor limits them to auditors (and records each access).
 */
import {
  Body,
  Controller,
  Get,
  Header,
  HttpCode,
  Inject,
  Injectable,
  Post,
  Query,
  UseGuards,
  type CanActivate,
  type ExecutionContext,
} from '@nestjs/common';
import { ApiCreatedResponse, ApiOkResponse, ApiResponse, ApiTags, getSchemaPath } from '@nestjs/swagger';
import {
  CheckpointHistoryDto,
  ConsistencyProofDto,
  CosignatureAcceptedDto,
  EvidenceProofsAnswerDto,
  InclusionProofDto,
  TransparencyKeysDto,
} from './transparency-responses';
import { PROBLEM_CONTENT_TYPE, ProblemError } from '../../../shared/problem/problem';
import { ProblemDto } from '../../../shared/problem/problem.schema';
import {
  CurrentPrincipal,
  Public,
  RequireRoles,
  assertRoles,
  assertUnit,
} from '../../identity/http/identity.decorators';
import type { EventLog } from '../../event-log/event-log.port';
import { caseStreamId } from '../../cases/domain/case-event';
import { casesErasedBy, ERASURE_STREAM } from '../../personal-data/domain/erasure';
import { TOKEN_VERIFIER } from '../../identity/http/auth.guard';
import { AuthenticationError, type TokenVerifier } from '../../identity/token-verifier';
import type { Principal } from '../../identity/domain/principal';
import {
  CheckpointRefusedError,
  COSIGNATURE_CLOCK_SKEW_SECONDS,
  type CosignatureRefusal,
  type Outcome,
  type TransparencyLog,
} from '../transparency-log';
import {
  CheckpointHistoryQuery,
  ConsistencyProofQuery,
  CosignatureDto,
  EvidenceProofsDto,
  InclusionProofQuery,
} from './transparency.dtos';

export const TRANSPARENCY_LOG = Symbol('TRANSPARENCY_LOG');
export const TRANSPARENCY_ACCESS = Symbol('TRANSPARENCY_ACCESS');
export const TRANSPARENCY_EVENT_LOG = Symbol('TRANSPARENCY_EVENT_LOG');

/** With TRANSPARENCY_ACCESS=auditor the public routes need an auditor's (or administrator's) token. */
@Injectable()
export class TransparencyAccessGuard implements CanActivate {
  constructor(
    @Inject(TRANSPARENCY_ACCESS) private readonly access: 'public' | 'auditor',
    @Inject(TOKEN_VERIFIER) private readonly verifier: TokenVerifier,
  ) {}

  async canActivate(context: ExecutionContext): Promise<boolean> {
    if (this.access === 'public') return true;
    const request = context
      .switchToHttp()
      .getRequest<{ headers: Record<string, string | undefined>; principal?: Principal }>();
    if (!request.principal) {
      const match = /^Bearer\s+(\S+)$/i.exec(request.headers['authorization'] ?? '');
      if (!match)
        throw new ProblemError(
          401,
          'unauthenticated',
          'Authentication required',
          'this log serves its proofs to auditors only (TRANSPARENCY_ACCESS=auditor); send "Authorization: Bearer <token>"',
        );
      try {
        request.principal = await this.verifier.verify(match[1]!);
      } catch (error) {
        if (error instanceof AuthenticationError)
          throw new ProblemError(401, 'unauthenticated', 'Authentication required', error.reason);
        throw error;
      }
    }
    assertRoles(request.principal, ['auditor']);
    return true;
  }
}

/**
 * An outcome as the answer, or its refusal as problem+json naming its field: a query parameter's with `query.`, a body
 * member's bare, as the validation pipe names them.
 */
function answer<T>(outcome: Outcome<T>, part: 'query' | 'body' = 'query'): T {
  if (outcome.ok) {
    const { ok: _ok, ...rest } = outcome;
    return rest as T;
  }
  const errors = [
    {
      field: part === 'query' ? `query.${outcome.field}` : outcome.field,
      problem: outcome.problem,
      allowed: outcome.allowed,
    },
  ];
  if (outcome.status === 400) throw ProblemError.badRequest(errors);
  throw new ProblemError(
    outcome.status,
    outcome.status === 404 ? 'not-found' : 'not-yet-checkpointed',
    outcome.status === 404 ? 'Not found' : 'Not in that tree',
    outcome.problem,
    errors,
  );
}

/** Every refusal of a cosignature as problem+json; the field is the body's. */
function cosignatureProblem(refusal: CosignatureRefusal): ProblemError {
  const errors = [{ field: `body.${refusal.field}`, problem: refusal.problem, allowed: refusal.allowed }];
  switch (refusal.reason) {
    case 'bad-request':
      return ProblemError.badRequest(errors);
    case 'no-witnesses':
      return new ProblemError(
        403,
        'no-witnesses-configured',
        'This log takes no cosignatures: no witness is configured',
        "the log's operator chooses its witnesses: TRANSPARENCY_WITNESSES (or TRANSPARENCY_WITNESSES_FILE) lists their verifier keys, and until one is listed every cosignature is refused",
        errors,
      );
    case 'unknown-witness':
      return new ProblemError(
        403,
        'unknown-witness',
        'Not a witness of this log',
        `${refusal.problem}: this log keeps cosignatures only of the witnesses its operator configured (TRANSPARENCY_WITNESSES)`,
        errors,
      );
    case 'no-such-checkpoint':
      return new ProblemError(404, 'not-found', 'Not found', refusal.problem, errors);
    case 'time-out-of-range':
      return new ProblemError(
        422,
        'cosignature-time-out-of-range',
        "The cosignature's time is not possible",
        refusal.problem,
        errors,
      );
  }
}

const problemContent = { [PROBLEM_CONTENT_TYPE]: { schema: { $ref: getSchemaPath(ProblemDto) } } };

@ApiTags('transparency')
@Controller('api/transparency')
export class TransparencyController {
  constructor(
    @Inject(TRANSPARENCY_LOG) private readonly log: TransparencyLog,
    @Inject(TRANSPARENCY_EVENT_LOG) private readonly eventLog: EventLog,
  ) {}

  @Get('checkpoint')
  @Public()
  @UseGuards(TransparencyAccessGuard)
  @Header('content-type', 'text/plain; charset=utf-8')
  @Header('cache-control', 'no-store')
  checkpoint(): string {
    const latest = this.log.latest();
    if (!latest)
      throw new ProblemError(404, 'no-checkpoint', 'No checkpoint yet', 'the log has not signed a checkpoint yet');
    // With the configured witnesses' cosignatures collected so far: readers ignore the lines of keys they do not know.
    return this.log.served(latest);
  }

  /** On demand: signs a checkpoint of the log as it stands now, even when it has not grown. */
  @Post('checkpoint')
  @RequireRoles('auditor', 'admin')
  @HttpCode(201)
  @Header('content-type', 'text/plain; charset=utf-8')
  issue(@CurrentPrincipal() _principal: Principal): string {
    try {
      return this.log.issue(true).note;
    } catch (error) {
      if (error instanceof CheckpointRefusedError)
        throw new ProblemError(
          409,
          'log-contradicts-checkpoint',
          'The log contradicts its last checkpoint',
          error.message,
        );
      throw error;
    }
  }

  /**
   * A configured witness hands in its cosignature of a checkpoint it verified; evidence packs then carry it. No token:
   * the witness's signature, by a key the operator configured, is the authentication (c2sp.org/tlog-witness), and a
   * witness runs on a machine the operator does not control, with no account of the service.
   */
  @Post('cosignatures')
  @ApiCreatedResponse({ type: CosignatureAcceptedDto, description: 'The cosignature is kept' })
  @ApiResponse({
    status: 403,
    description:
      'The key is not a configured witness (`unknown-witness`), or no witness is configured (`no-witnesses-configured`); nothing is kept',
    content: problemContent,
  })
  @ApiResponse({ status: 404, description: 'This log issued no such checkpoint', content: problemContent })
  @ApiResponse({
    status: 422,
    description: `The cosignature is dated more than ${COSIGNATURE_CLOCK_SKEW_SECONDS} s ahead of the server's clock, or before the checkpoint was signed`,
    content: problemContent,
  })
  @Public()
  @UseGuards(TransparencyAccessGuard)
  @HttpCode(201)
  cosign(@Body() body: CosignatureDto) {
    const outcome = this.log.addCosignature(body.note, body.witnessKey);
    if (!outcome.ok) throw cosignatureProblem(outcome);
    return { seq: outcome.seq, witness: outcome.witness, outcome: outcome.outcome };
  }

  @Get('checkpoints')
  @ApiOkResponse({ type: CheckpointHistoryDto, description: 'A page of checkpoints, newest first' })
  @Public()
  @UseGuards(TransparencyAccessGuard)
  history(@Query() query: CheckpointHistoryQuery) {
    const page = this.log.history({ before: query.before, limit: query.limit });
    return {
      checkpoints: page.map((c) => ({
        seq: c.seq,
        treeSize: c.size,
        rootHash: c.root.toString('base64'),
        signedAt: c.signedAt.toISOString(),
        keyId: c.keyId,
        note: this.log.served(c),
      })),
      next: page.length === query.limit ? page[page.length - 1]!.seq : null,
    };
  }

  @Get('proofs/inclusion')
  @ApiOkResponse({ type: InclusionProofDto, description: 'The inclusion proof' })
  @Public()
  @UseGuards(TransparencyAccessGuard)
  inclusion(@Query() query: InclusionProofQuery) {
    if ((query.eventId === undefined) === (query.leafIndex === undefined)) {
      throw ProblemError.badRequest([
        {
          field: 'query.eventId',
          problem:
            query.eventId === undefined ? 'neither eventId nor leafIndex given' : 'both eventId and leafIndex given',
          allowed: 'exactly one of eventId (a UUID) and leafIndex (an integer ≥ 0)',
        },
      ]);
    }
    return answer(
      this.log.inclusion(
        query.eventId !== undefined ? { eventId: query.eventId } : { leafIndex: query.leafIndex! },
        query.treeSize,
      ),
    );
  }

  /**
   * The proofs an evidence pack carries, for a case's events and the erasure records that name the case (its
   * applicant's erasure, which an erased case's pack is verified under), by id, to one checkpoint (signed now if the log
   * has grown). Given to whom the case's evidence pack is (an auditor, a head of the case's unit), whichever process
   * keeps the tree: on EventStoreDB the API instances ask the worker here with their caller's own token.
   */
  @Post('evidence-proofs')
  @RequireRoles('auditor', 'head')
  @HttpCode(200)
  @ApiOkResponse({ type: EvidenceProofsAnswerDto, description: 'One proof per event, in the order asked' })
  @ApiResponse({
    status: 404,
    description:
      'No such case (`unknown-case`), an event neither of that case nor an erasure record naming it (`not-an-event-of-the-case`), or one the tree does not hold yet (`not-in-tree`: on EventStoreDB, not followed yet); nothing is signed',
    content: problemContent,
  })
  async evidenceProofs(@CurrentPrincipal() principal: Principal, @Body() body: EvidenceProofsDto) {
    // Ids are matched as the tree keeps them, lower case: the same id twice in another case is still the same event.
    const eventIds = body.eventIds.map((id) => id.toLowerCase());
    const twice = eventIds.findIndex((id, i) => eventIds.indexOf(id) !== i);
    if (twice >= 0)
      throw ProblemError.badRequest([
        {
          field: `eventIds[${twice}]`,
          problem: `${body.eventIds[twice]} is asked for twice`,
          allowed: 'distinct event ids',
        },
      ]);
    const events = await this.eventLog.readStream(caseStreamId(body.caseId));
    if (events.length === 0)
      throw new ProblemError(404, 'unknown-case', 'Case not found', `no case ${body.caseId}`, [
        { field: 'caseId', problem: 'no such case' },
      ]);
    // The unit is the case's, as the evidence pack's route decides it: a head sees only their own unit's cases.
    assertUnit(principal, String((events[0]!.data as { unit?: unknown }).unit));
    const ofCase = new Set(events.map((e) => e.id.toLowerCase()));
    // An erasure record is the case's too when it names the case: the pack of an erased case is verified under it.
    if (eventIds.some((id) => !ofCase.has(id)))
      for (const record of await this.eventLog.readStream(ERASURE_STREAM))
        if (casesErasedBy(record).includes(body.caseId)) ofCase.add(record.id.toLowerCase());
    const foreign = eventIds.findIndex((id) => !ofCase.has(id));
    if (foreign >= 0)
      throw new ProblemError(
        404,
        'not-an-event-of-the-case',
        'Not an event of that case',
        `${body.eventIds[foreign]} is not an event of case ${body.caseId}, nor an erasure record naming it`,
        [
          {
            field: `eventIds[${foreign}]`,
            problem: 'not an event of the case',
            allowed: "the ids of the case's events, and of the erasure records that name it",
          },
        ],
      );
    const outcome = this.log.evidenceInclusion(eventIds);
    if (outcome.ok) return { checkpoint: outcome.checkpoint, events: outcome.events };
    throw new ProblemError(404, 'not-in-tree', "Not in the log's tree yet", outcome.problem, [
      { field: outcome.field, problem: outcome.problem, allowed: outcome.allowed },
    ]);
  }

  @Get('proofs/consistency')
  @ApiOkResponse({ type: ConsistencyProofDto, description: 'The consistency proof' })
  @Public()
  @UseGuards(TransparencyAccessGuard)
  consistency(@Query() query: ConsistencyProofQuery) {
    return answer(this.log.consistency(query.from, query.to));
  }

  @Get('keys')
  @ApiOkResponse({ type: TransparencyKeysDto, description: 'The signing keys' })
  @Public()
  @UseGuards(TransparencyAccessGuard)
  keys() {
    return { origin: this.log.keys.origin, algorithm: 'Ed25519', keys: this.log.publicKeys() };
  }
}
