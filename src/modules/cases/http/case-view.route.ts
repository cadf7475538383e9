/**
 * GET /api/cases/:caseId answered on the Fastify route Nest registered for it, without Nest's per-request machinery
 * (the execution context, the guard and parameter-decorator consumers, the pipes, the response controller): the
 * API's most frequent read. The route stays the one Nest declared (the same path, method, document and hooks: the
 * correlation id, the security headers, the rate limit, the auditors' access log and the access log run as on any
 * route), and its handler runs the same rules as the controller, as the same functions: the route's declared
 * policy through `authenticate` (the guard's), `validatePathAndQuery` (`@PathAndQuery`'s), `caseViewAnswer` (the
 * controller's), and any refusal through the problem filter's `answerProblem`.
 */
import { ROUTE_ARGS_METADATA } from '@nestjs/common/constants';
import { Res, type INestApplicationContext } from '@nestjs/common';
import type { SecurityRequestHook } from '@nestjs/common/interfaces/http/http-server.interface';
import { ApplicationConfig, Reflector } from '@nestjs/core';
import type { ServerResponse } from 'node:http';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { RecordedHeaders, writeRecordedFirst } from '../../../shared/http/recorded-headers';
import type { Principal } from '../../identity/domain/principal';
import { AuthGuard, authenticateNow, routePolicy } from '../../identity/http/auth.guard';
import { CurrentPrincipal, PUBLIC_ROUTE, REQUIRED_ROLES, WRITES } from '../../identity/http/identity.decorators';
import type { TokenVerifier } from '../../identity/token-verifier';
import { PathAndQuery, ProblemValidationPipe, validatePathAndQuery } from '../../../shared/problem/validation';
import type { CaseQueries } from '../queries/case-queries';
import { CASE_READ, CaseQueriesController, caseViewAnswer } from './case-queries.controller';

/** The route this handler answers, as Nest registers it. */
export const CASE_VIEW_ROUTE = { methods: ['GET', 'HEAD'], url: '/api/cases/:caseId' } as const;

const HANDLER = CaseQueriesController.prototype.get;
const HANDLER_NAME = `${CaseQueriesController.name}.${HANDLER.name}`;

/**
 * Names the controller's handler on the function Nest registers for it: Nest copies every metadata key of a handler
 * onto the function it hands the adapter, so the route can be recognised by the handler it serves, not its path.
 */
const ANSWERED_DIRECTLY = Symbol('answered directly');
Reflect.defineMetadata(ANSWERED_DIRECTLY, HANDLER, HANDLER);

export interface CaseViewRouteDeps {
  verifier: TokenVerifier;
  queries: CaseQueries;
  /** Answers an error as the problem filter does. */
  answerProblem(error: unknown, request: FastifyRequest, reply: FastifyReply): void;
}

type Request = FastifyRequest & { principal?: Principal };

/**
 * The handler for the route; `deps` is asked for on the first request (Nest registers routes before the
 * application's providers can be looked up). A read whose token was verified before and whose view is kept and
 * still stands is answered without a promise (every value is in memory); any step that must wait continues the
 * same steps, in the same order, after it.
 */
export function caseViewHandler(deps: () => CaseViewRouteDeps) {
  // The policy the controller's decorators declare, read as the guard reads it.
  const policy = routePolicy(new Reflector(), HANDLER, CaseQueriesController);
  let resolved: CaseViewRouteDeps | null = null;
  return function caseView(request: Request, reply: FastifyReply): Promise<FastifyReply> | undefined {
    // As Nest's adapter does for every route with parameters: an empty one is not this route.
    const params = request.params as Record<string, string>;
    for (const name in params)
      if (params[name] === '') {
        reply.callNotFound();
        return undefined;
      }
    const { verifier, queries, answerProblem } = (resolved ??= deps());
    const refuse = (error: unknown) => {
      answerProblem(error, request, reply);
      return reply;
    };
    const answer = (): Promise<FastifyReply> | undefined => {
      const input = validatePathAndQuery(CASE_READ, request as { params?: object; query?: object });
      const body = caseViewAnswer(queries, request.principal!, input, reply);
      if (body instanceof Promise) return body.then((view) => reply.status(200).send(view)).catch(refuse);
      // Sent here: returning the reply from a handler that did not return a promise would have fastify send it again.
      void reply.status(200).send(body);
      return undefined;
    };
    try {
      const authenticated = authenticateNow(
        request as Request & { headers: Record<string, string | undefined> },
        policy,
        verifier,
      );
      if (authenticated instanceof Promise) return authenticated.then(answer).then((sent) => sent ?? reply, refuse);
      return answer();
    } catch (error) {
      refuse(error);
      return undefined;
    }
  };
}

/** The part of a Fastify route's options the swap reads and changes (what an `onRoute` hook gets). */
export interface RegisteredRoute {
  url: string;
  method: string | string[];
  handler: unknown;
  config?: object;
}

/** Set in the config of the routes this handler answers. */
const ANSWERED_HERE = Symbol('case view answered directly');

export interface DirectCaseViewOptions {
  deps: () => CaseViewRouteDeps;
  /** The application, asked for when the route is registered (after every global enhancer is in place). */
  app: () => INestApplicationContext;
  /** The problem filter whose answers `answerProblem` gives: the one global filter the handler stands in for. */
  problemFilter: Function;
}

/** Fastify's route swap for GET /api/cases/:caseId, and the checks that it replaces exactly what it runs. */
export interface DirectCaseViewRoute {
  /**
   * From the `onRoute` hook: `nestHandler` is the function Nest is registering (undefined when the route is not
   * Nest's). Throws when the route at the case view's path is another handler's, or the handler is served elsewhere.
   */
  onRoute(route: RegisteredRoute, nestHandler: Function | undefined): void;
  /** Once Nest has registered its routes: throws unless GET and HEAD are both answered directly. */
  assertInstalled(): void;
  /**
   * Nest's security-header hook as the API registers it: on a request this route answers, what the hook sets is
   * recorded and written ahead of the answer's own headers in its one `writeHead` (the same bytes, without a validated
   * `setHeader` each); any other request runs it as it is. The hook runs either way, and its verdict stands.
   */
  securityHook(hook: SecurityRequestHook<FastifyRequest>): SecurityRequestHook<FastifyRequest>;
}

export function directCaseViewRoute(options: DirectCaseViewOptions): DirectCaseViewRoute {
  const handler = caseViewHandler(options.deps);
  const answered = new Set<string>();
  const servedMethods = CASE_VIEW_ROUTE.methods as readonly string[];
  let checked = false;
  return {
    onRoute(route, nestHandler) {
      const methods = [route.method].flat();
      const isHandler = nestHandler !== undefined && Reflect.getMetadata(ANSWERED_DIRECTLY, nestHandler) === HANDLER;
      const atPath = route.url === CASE_VIEW_ROUTE.url && methods.some((method) => servedMethods.includes(method));
      if (!isHandler && !atPath) return;
      if (!isHandler)
        throw new Error(
          `${methods.join(', ')} ${route.url} is answered directly as ${HANDLER_NAME}, but the route is registered by ` +
            `${nestHandler ? nestHandler.name || 'an unnamed handler' : 'something other than Nest'}: ` +
            `move that route, or change the direct route in case-view.route.ts`,
        );
      if (route.url !== CASE_VIEW_ROUTE.url || !methods.every((method) => servedMethods.includes(method)))
        throw new Error(
          `${HANDLER_NAME} is answered directly on ${servedMethods.join(', ')} ${CASE_VIEW_ROUTE.url}, but Nest ` +
            `registers it on ${methods.join(', ')} ${route.url}: change CASE_VIEW_ROUTE in case-view.route.ts`,
        );
      // Checked when Nest registers the route: its pipeline is built then, with the global enhancers of that moment.
      if (!checked) {
        const skipped = skippedByDirectRoute(options.app(), options.problemFilter);
        if (skipped.length > 0)
          throw new Error(
            `GET ${CASE_VIEW_ROUTE.url} is answered directly (${HANDLER_NAME}) and would skip ${skipped.join('; ')}: ` +
              `run it in case-view.route.ts too (and allow it there), or remove it`,
          );
        checked = true;
      }
      route.handler = handler;
      // Fastify hands the route's hooks a bound copy of the handler: the route is recognised by its config instead.
      route.config = { ...route.config, [ANSWERED_HERE]: true };
      for (const method of methods) answered.add(method);
    },
    securityHook(hook) {
      return (request, response) => {
        const raw = response as ServerResponse;
        // A response with headers already (CORS, whose hook runs first) keeps the hook's own path: recorded headers are
        // written first, which would put them ahead of those (review finding: the order on the wire would differ).
        if (
          (request.routeOptions.config as unknown as Record<symbol, unknown>)[ANSWERED_HERE] !== true ||
          raw.getHeaderNames().length > 0
        )
          return hook(request, response);
        // Nest's hook is given the response as its type says it uses it: setHeader and removeHeader.
        const recorded = new RecordedHeaders(raw);
        try {
          return hook(request, recorded);
        } finally {
          // Also when the hook throws part-way: what it set before is on the answer, as on the hook's own path.
          writeRecordedFirst(raw, recorded);
        }
      };
    },
    assertInstalled() {
      const missing = servedMethods.filter((method) => !answered.has(method));
      if (missing.length > 0)
        throw new Error(
          `${missing.join(', ')} ${CASE_VIEW_ROUTE.url} was to be answered directly as ${HANDLER_NAME}, but Nest did ` +
            `not register that handler there: change CASE_VIEW_ROUTE in case-view.route.ts`,
        );
    },
  };
}

/** Metadata of the handler and the controller that only the document and the route's policy read. */
const POLICY_KEYS: readonly unknown[] = [PUBLIC_ROUTE, REQUIRED_ROLES, WRITES];
const HANDLER_KEYS: readonly unknown[] = ['path', 'method', ANSWERED_DIRECTLY, ...POLICY_KEYS];
const CONTROLLER_KEYS: readonly unknown[] = [
  'path',
  '__controller__',
  'design:paramtypes',
  'design:type',
  'self:paramtypes',
  ...POLICY_KEYS,
];
/** Keys `@Controller` always sets, harmless while unset (a host filter, a version, a request scope). */
const CONTROLLER_KEYS_UNSET: readonly unknown[] = ['host', '__version__', 'scope:options'];
const isDocument = (key: unknown) => typeof key === 'string' && key.startsWith('swagger/');
/**
 * `(principal, { path, query }, reply)`: the handler's parameters, which the direct handler reproduces, as the same
 * decorators record them on a handler of their own; the real handler's must equal them entry by entry (kind, place,
 * factory, data), so a parameter swapped for another (`@Body`, `@Req`, another spec) is named, not only a count.
 */
class ReproducedParameters {
  get(_principal: unknown, _input: unknown, _reply: unknown): void {}
}
CurrentPrincipal()(ReproducedParameters.prototype, 'get', 0);
PathAndQuery(CASE_READ)(ReproducedParameters.prototype, 'get', 1);
Res({ passthrough: true })(ReproducedParameters.prototype, 'get', 2);
type RouteArgument = { index: number; data?: unknown; factory?: unknown; pipes?: unknown[] };
const REPRODUCED = Reflect.getMetadata(ROUTE_ARGS_METADATA, ReproducedParameters, 'get') as Record<
  string,
  RouteArgument
>;
const sameArgument = (a: RouteArgument, b: RouteArgument) =>
  a.index === b.index &&
  a.factory === b.factory &&
  (a.data === b.data || JSON.stringify(a.data) === JSON.stringify(b.data));

/**
 * What Nest would run on the route that the direct handler does not: deny by default. Allowed are the global guard,
 * filter and pipe the handler runs as functions (AuthGuard's `authenticate`, `answerProblem`, and the validation of
 * `@PathAndQuery`, which the global pipe leaves as it is), the route's policy and document metadata; anything else
 * (a global or route interceptor, guard, pipe or filter, an `APP_*` provider, a parameter's pipe, `@Header`,
 * `@HttpCode`, `@Redirect`, a version or host, Fastify route options) is named.
 */
export function skippedByDirectRoute(app: INestApplicationContext, problemFilter: Function): string[] {
  const config = app.get(ApplicationConfig);
  const skipped: string[] = [];
  const globals: [string, object[], Function[]][] = [
    ['guard', [...config.getGlobalGuards(), ...config.getGlobalRequestGuards()], [AuthGuard]],
    ['filter', [...config.getGlobalFilters(), ...config.getGlobalRequestFilters()], [problemFilter]],
    ['pipe', [...config.getGlobalPipes(), ...config.getGlobalRequestPipes()], [ProblemValidationPipe]],
    ['interceptor', [...config.getGlobalInterceptors(), ...config.getGlobalRequestInterceptors()], []],
  ];
  for (const [kind, enhancers, allowed] of globals)
    for (const enhancer of enhancers) {
      // A request-scoped enhancer is held as its instance wrapper, which names its class.
      const type = 'metatype' in enhancer ? (enhancer.metatype as Function) : enhancer.constructor;
      if (!allowed.includes(type)) skipped.push(`the global ${kind} ${type?.name || 'without a name'}`);
    }
  if (config.getVersioning() !== undefined) skipped.push('the versioning');
  for (const key of Reflect.getMetadataKeys(HANDLER))
    if (!HANDLER_KEYS.includes(key) && !isDocument(key)) skipped.push(`the handler's ${String(key)} metadata`);
  for (const key of Reflect.getMetadataKeys(CaseQueriesController)) {
    if (CONTROLLER_KEYS.includes(key) || isDocument(key)) continue;
    if (CONTROLLER_KEYS_UNSET.includes(key) && Reflect.getMetadata(key, CaseQueriesController) === undefined) continue;
    skipped.push(`the controller's ${String(key)} metadata`);
  }
  const declared = (Reflect.getMetadata(ROUTE_ARGS_METADATA, CaseQueriesController, HANDLER.name) ?? {}) as Record<
    string,
    RouteArgument
  >;
  for (const parameter of Object.values(declared))
    for (const pipe of parameter.pipes ?? [])
      skipped.push(
        `parameter ${parameter.index}'s pipe ${(typeof pipe === 'function' ? pipe : (pipe as object).constructor).name}`,
      );
  const keys = Object.keys(declared);
  const reproduced = Object.keys(REPRODUCED);
  if (
    keys.length !== reproduced.length ||
    reproduced.some((key) => !declared[key] || !sameArgument(declared[key], REPRODUCED[key]!))
  )
    skipped.push(
      `the handler's parameters (${keys.join(', ')}), where it reproduces (principal, path and query, reply) as ${reproduced.join(', ')}`,
    );
  return skipped;
}
