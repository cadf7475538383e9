/**
 * GET /api/cases/:caseId answered on the Fastify route Nest registered for it, without Nest's per-request machinery
 * (the execution context, the guard and parameter-decorator consumers, the pipes, the response controller): the
 * API's most frequent read. The route stays the one Nest declared (the same path, method, document and hooks: the
 * correlation id, the security headers, the rate limit, the auditors' access log and the access log run as on any
 * route), and its handler runs the same rules as the controller, as the same functions: the route's declared
 * policy through `authenticate` (the guard's), `validatePathAndQuery` (`@PathAndQuery`'s), `caseViewAnswer` (the
 * controller's), and any refusal through the problem filter's `answerProblem`.
 */
import {
  EXCEPTION_FILTERS_METADATA,
  GUARDS_METADATA,
  INTERCEPTORS_METADATA,
  PIPES_METADATA,
} from '@nestjs/common/constants';
import { Reflector } from '@nestjs/core';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { Principal } from '../../identity/domain/principal';
import { authenticate, routePolicy } from '../../identity/http/auth.guard';
import type { TokenVerifier } from '../../identity/token-verifier';
import { validatePathAndQuery } from '../../../shared/problem/validation';
import type { CaseQueries } from '../queries/case-queries';
import { CASE_READ, CaseQueriesController, caseViewAnswer } from './case-queries.controller';

/** The route this handler answers, as Nest registers it. */
export const CASE_VIEW_ROUTE = { methods: ['GET', 'HEAD'], url: '/api/cases/:caseId' } as const;

export interface CaseViewRouteDeps {
  verifier: TokenVerifier;
  queries: CaseQueries;
  /** Answers an error as the problem filter does. */
  answerProblem(error: unknown, request: FastifyRequest, reply: FastifyReply): void;
}

type Request = FastifyRequest & { principal?: Principal };

/**
 * The handler for the route; `deps` is asked for on the first request (Nest registers routes before the
 * application's providers can be looked up).
 */
export function caseViewHandler(deps: () => CaseViewRouteDeps) {
  // A guard, interceptor, pipe or filter declared on the controller or the handler would be skipped here: refuse to
  // start instead (the global ones are the guard and filter run above and the pipe, which leaves these parameters).
  for (const target of [CaseQueriesController, CaseQueriesController.prototype.get])
    for (const key of [GUARDS_METADATA, INTERCEPTORS_METADATA, PIPES_METADATA, EXCEPTION_FILTERS_METADATA])
      if (Reflect.getMetadata(key, target) !== undefined)
        throw new Error(`GET ${CASE_VIEW_ROUTE.url} is answered directly and would skip its ${key}: run them here too`);
  // The policy the controller's decorators declare, read as the guard reads it.
  const policy = routePolicy(new Reflector(), CaseQueriesController.prototype.get, CaseQueriesController);
  let resolved: CaseViewRouteDeps | null = null;
  return async function caseView(request: Request, reply: FastifyReply): Promise<FastifyReply> {
    // As Nest's adapter does for every route with parameters: an empty one is not this route.
    const params = request.params as Record<string, string>;
    for (const name in params)
      if (params[name] === '') {
        reply.callNotFound();
        return reply;
      }
    const { verifier, queries, answerProblem } = (resolved ??= deps());
    try {
      await authenticate(request as Request & { headers: Record<string, string | undefined> }, policy, verifier);
      const input = validatePathAndQuery(CASE_READ, request as { params?: object; query?: object });
      const body = await caseViewAnswer(queries, request.principal!, input, reply);
      return reply.status(200).send(body);
    } catch (error) {
      answerProblem(error, request, reply);
      return reply;
    }
  };
}
