/** GET /api/cases, /api/cases/:caseId and /api/cases/:caseId/sla, from the `cases` read model. */
import { Controller, Get, Inject, Param, Query, Res } from '@nestjs/common';
import { ApiBearerAuth, ApiOkResponse, ApiOperation, ApiParam, ApiQuery, ApiTags } from '@nestjs/swagger';
import { CaseListDto, CaseSlaDto, CaseViewDto } from './case-responses';
import { ProblemError, type ProblemFieldError } from '../../../shared/problem/problem';
import { CurrentPrincipal } from '../../identity/http/identity.decorators';
import type { Principal } from '../../identity/domain/principal';
import { CASE_QUERIES, type CaseQueries } from '../queries/case-queries';
import { DEFAULT_LIMIT, MAX_LIMIT, parseCaseListParams, parseCaseReadParams, parseCaseSlaParams, type RawQuery } from '../queries/case-query-params';
import { parseCaseId } from './case-params';

interface ReplyLike {
  header(name: string, value: string): unknown;
}

/** The path's case id and the query's parameters, every error of both in one 400. */
function checked<T>(caseIdParam: string | null, parsed: { params: T; errors: ProblemFieldError[] }): { caseId: string; params: T } {
  const errors: ProblemFieldError[] = [];
  let caseId = '';
  if (caseIdParam !== null) {
    try {
      caseId = parseCaseId(caseIdParam);
    } catch (error) {
      if (!(error instanceof ProblemError)) throw error;
      errors.push(...(error.errors ?? []));
    }
  }
  errors.push(...parsed.errors);
  if (errors.length > 0) throw ProblemError.badRequest(errors);
  return { caseId, params: parsed.params };
}

function positioned<T>(reply: ReplyLike, answer: { body: T; position: number }): T {
  reply.header('x-read-position', String(answer.position));
  // Case views carry personal data and change with every act.
  reply.header('cache-control', 'private, no-store');
  return answer.body;
}

const REVISION = Buffer.from('"revision":');

/**
 * The case's revision, read from the view's text without parsing it (views are served as kept): the first
 * `"revision":` member is the case's own, as every string value before it is JSON-escaped and cannot hold one.
 * Not a weak tag although the view's deadline statuses change with time: it names the revision a command may be
 * conditioned on (If-Match), which is what it is for; the answer is `no-store`, so no cache revalidates on it.
 */
function revisionOf(view: Buffer): number | null {
  const at = view.indexOf(REVISION);
  if (at < 0) return null;
  const digits = /^\d+/.exec(view.subarray(at + REVISION.length, at + REVISION.length + 16).toString('latin1'));
  return digits ? Number(digits[0]) : null;
}

const AFTER = { name: 'after', required: false, description: 'a log position returned by a command: the read waits until the model has applied it (503 with Retry-After if it does not in time)', example: 42 };

@ApiTags('cases')
@ApiBearerAuth()
@Controller('api/cases')
export class CaseQueriesController {
  constructor(@Inject(CASE_QUERIES) private readonly queries: CaseQueries) {}

  @Get()
  @ApiOperation({ summary: `Cases, newest submission first, ${DEFAULT_LIMIT} a page by default (at most ${MAX_LIMIT}); applicants see only their own` })
  @ApiQuery({ name: 'serviceId', required: false, example: 'personnel-reserve' })
  @ApiQuery({ name: 'status', required: false, enum: ['open', 'completed', 'refused', 'cancelled'] })
  @ApiQuery({ name: 'unit', required: false, example: 'astana' })
  @ApiQuery({ name: 'assignee', required: false })
  @ApiQuery({ name: 'applicantIin', required: false })
  @ApiQuery({ name: 'submittedFrom', required: false, description: 'an instant with an offset, or a date YYYY-MM-DD (Asia/Almaty, from its start); inclusive', example: '2015-09-01' })
  @ApiQuery({ name: 'submittedTo', required: false, description: 'an instant with an offset, or a date YYYY-MM-DD (Asia/Almaty, to its end); inclusive', example: '2015-09-30' })
  @ApiQuery({ name: 'limit', required: false, example: DEFAULT_LIMIT })
  @ApiQuery({ name: 'cursor', required: false, description: 'nextCursor of the previous page' })
  @ApiQuery(AFTER)
  @ApiOkResponse({ type: CaseListDto, description: 'A page of cases' })
  async list(@CurrentPrincipal() principal: Principal, @Query() query: RawQuery, @Res({ passthrough: true }) reply: ReplyLike) {
    const { params } = checked(null, parseCaseListParams(query, this.queries.serviceIds, this.queries.timeZone));
    return positioned(reply, await this.queries.listCases(principal, params));
  }

  @Get(':caseId')
  @ApiOperation({ summary: 'One case: service, version, track, status, applicant (IIN masked unless yours, your unit\'s, or you audit), acts, open steps with deadlines, the steps you may take' })
  @ApiParam({ name: 'caseId' })
  @ApiQuery(AFTER)
  @ApiOkResponse({ type: CaseViewDto, description: 'The case; ETag is its revision', headers: { ETag: { description: 'the case\'s revision, e.g. "3": send it as If-Match with a step', schema: { type: 'string' } } } })
  async get(@CurrentPrincipal() principal: Principal, @Param('caseId') caseIdParam: string, @Query() query: RawQuery, @Res({ passthrough: true }) reply: ReplyLike) {
    const { caseId, params } = checked(caseIdParam, parseCaseReadParams(query));
    // The view comes as JSON text (often kept rendered from an earlier read): sent as it is.
    reply.header('content-type', 'application/json; charset=utf-8');
    const answer = await this.queries.getCase(principal, caseId, params);
    const revision = revisionOf(answer.body);
    if (revision !== null) reply.header('etag', `"${revision}"`);
    return positioned(reply, answer);
  }

  @Get(':caseId/sla')
  @ApiOperation({ summary: 'The SLA of a case at asOf (default now): one row per step and limit, met / breached / open / overdue, with the other reading where the regulation contradicts itself' })
  @ApiParam({ name: 'caseId' })
  @ApiQuery({ name: 'asOf', required: false, description: 'an instant with an offset, not before the submission', example: '2015-09-20T10:00:00+06:00' })
  @ApiQuery(AFTER)
  @ApiOkResponse({ type: CaseSlaDto, description: 'The SLA rows at asOf' })
  async sla(@CurrentPrincipal() principal: Principal, @Param('caseId') caseIdParam: string, @Query() query: RawQuery, @Res({ passthrough: true }) reply: ReplyLike) {
    const { caseId, params } = checked(caseIdParam, parseCaseSlaParams(query));
    return positioned(reply, await this.queries.caseSla(principal, caseId, params));
  }
}
