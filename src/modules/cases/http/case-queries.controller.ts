/** GET /api/cases, /api/cases/:caseId and /api/cases/:caseId/sla, from the `cases` read model. */
import { Controller, Get, Inject, Query, Res } from '@nestjs/common';
import { ApiBearerAuth, ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import { ApiPathAndQuery, PathAndQuery } from '../../../shared/problem/validation';
import { CurrentPrincipal } from '../../identity/http/identity.decorators';
import type { Principal } from '../../identity/domain/principal';
import { CASE_QUERIES, type CaseQueries, type QueryOutcome } from '../queries/case-queries';
import { DEFAULT_LIMIT, MAX_LIMIT } from '../queries/case-cursor';
import { CaseListDto, CaseSlaDto, CaseViewDto } from './case-responses';
import { CaseListQueryDto, CasePathDto, CaseReadQueryDto, CaseSlaQueryDto } from './case-query.dtos';
import { queryRefusalProblem } from './case-problems';

interface ReplyLike {
  header(name: string, value: string): unknown;
}

function positioned<T>(reply: ReplyLike, outcome: QueryOutcome<T>): T {
  if (!outcome.ok) throw queryRefusalProblem(outcome.refusal);
  reply.header('x-read-position', String(outcome.position));
  // Case views carry personal data and change with every act.
  reply.header('cache-control', 'private, no-store');
  return outcome.body;
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

/**
 * ETags of the answers made so far: a view kept rendered is served as the same Buffer until the model's position
 * moves, so its revision is looked for once, not in every answer (the search was a few per cent of a read).
 */
const etags = new WeakMap<Buffer, string | null>();

function etagOf(view: Buffer): string | null {
  let etag = etags.get(view);
  if (etag === undefined) {
    const revision = revisionOf(view);
    etag = revision === null ? null : `"${revision}"`;
    etags.set(view, etag);
  }
  return etag;
}

/**
 * The case view's answer: its headers set on the reply, the view's JSON text returned (or the refusal thrown); without
 * a promise when the view kept for the caller stands (`getCase`).
 */
export function caseViewAnswer(
  queries: CaseQueries,
  principal: Principal,
  input: { path: CasePathDto; query: CaseReadQueryDto },
  reply: ReplyLike,
): Buffer | Promise<Buffer> {
  const outcome = queries.getCase(principal, input.path.caseId, input.query);
  return outcome instanceof Promise ? outcome.then((known) => viewAnswer(reply, known)) : viewAnswer(reply, outcome);
}

function viewAnswer(reply: ReplyLike, outcome: QueryOutcome<Buffer>): Buffer {
  const view = positioned(reply, outcome);
  // The view comes as JSON text (often kept rendered from an earlier read): sent as it is.
  reply.header('content-type', 'application/json; charset=utf-8');
  const etag = etagOf(view);
  if (etag !== null) reply.header('etag', etag);
  return view;
}

/** GET /api/cases/:caseId's path and query. */
export const CASE_READ = { path: CasePathDto, query: CaseReadQueryDto };
const READ = CASE_READ;
const SLA = { path: CasePathDto, query: CaseSlaQueryDto };

@ApiTags('cases')
@ApiBearerAuth()
@Controller('api/cases')
export class CaseQueriesController {
  constructor(@Inject(CASE_QUERIES) private readonly queries: CaseQueries) {}

  @Get()
  @ApiOperation({
    summary: `Cases, newest submission first, ${DEFAULT_LIMIT} a page by default (at most ${MAX_LIMIT}); applicants see only their own`,
  })
  @ApiOkResponse({ type: CaseListDto, description: 'A page of cases' })
  async list(
    @CurrentPrincipal() principal: Principal,
    @Query() query: CaseListQueryDto,
    @Res({ passthrough: true }) reply: ReplyLike,
  ) {
    return positioned(reply, await this.queries.listCases(principal, query));
  }

  @Get(':caseId')
  @ApiOperation({
    summary:
      "One case: service, version, track, status, applicant (IIN masked unless yours, your unit's, or you audit), acts, open steps with deadlines, the steps you may take",
  })
  @ApiPathAndQuery(READ)
  @ApiOkResponse({
    type: CaseViewDto,
    description: 'The case; ETag is its revision',
    headers: {
      ETag: {
        description: 'the case\'s revision, e.g. "3": send it as If-Match with a step',
        schema: { type: 'string' },
      },
    },
  })
  async get(
    @CurrentPrincipal() principal: Principal,
    @PathAndQuery(READ) input: { path: CasePathDto; query: CaseReadQueryDto },
    @Res({ passthrough: true }) reply: ReplyLike,
  ) {
    return caseViewAnswer(this.queries, principal, input, reply);
  }

  @Get(':caseId/sla')
  @ApiOperation({
    summary:
      'The SLA of a case at asOf (default now): one row per step and limit, met / breached / open / overdue, with the other reading where the regulation contradicts itself',
  })
  @ApiPathAndQuery(SLA)
  @ApiOkResponse({ type: CaseSlaDto, description: 'The SLA rows at asOf' })
  async sla(
    @CurrentPrincipal() principal: Principal,
    @PathAndQuery(SLA) input: { path: CasePathDto; query: CaseSlaQueryDto },
    @Res({ passthrough: true }) reply: ReplyLike,
  ) {
    return positioned(reply, await this.queries.caseSla(principal, input.path.caseId, input.query));
  }
}
