import 'reflect-metadata';
import { DynamicModule, Module, type ModuleMetadata, type SecurityHeadersOptions } from '@nestjs/common';
import { GUARDS_METADATA, METHOD_METADATA } from '@nestjs/common/constants';
import type { CanActivate } from '@nestjs/common';
import { ModulesContainer, NestFactory, Reflector } from '@nestjs/core';
import { ExecutionContextHost } from '@nestjs/core/helpers/execution-context-host';
import { FastifyAdapter, type NestFastifyApplication } from '@nestjs/platform-fastify';
import { SwaggerModule } from '@nestjs/swagger';
import { buildApiDocument } from './openapi/api-document';
import { randomUUID } from 'node:crypto';
import { STATUS_CODES } from 'node:http';
import type { Duplex } from 'node:stream';
import type { FastifyError, FastifyReply, FastifyRequest, HTTPMethods, preHandlerHookHandler } from 'fastify';
import type { Logger } from 'pino';
import { EVENT_LOG } from '../modules/event-log/event-log.port';
import { READ_STORE } from '../modules/read-store/read-store.port';
import { refuseMisplacedSecrets, type AppConfig } from '../shared/config/config';
import { HealthController } from './health/health.controller';
import { PROJECTION_STATUS } from '../projections/projection-status';
import { Infrastructure, openInfrastructure } from './infrastructure';
import { PinoNestLogger } from '../shared/logging/logger';
import { Metrics } from './metrics/metrics';
import { answerProblem, ProblemFilter, toProblem } from './problem/problem.filter';
import { directCaseViewRoute, type DirectCaseViewRoute } from '../modules/cases/http/case-view.route';
import { CASE_QUERIES, type CaseQueries } from '../modules/cases/queries/case-queries';
import { problemValidationPipe, queryOfHandler, unknownQueryParameters } from '../shared/problem/validation';
import { BODY_LIMIT_BYTES, BODY_MEDIA_TYPE, jsonBodyParser } from '../shared/problem/json-body';
import { authenticateNow, routePolicy } from '../modules/identity/http/auth.guard';
import type { TokenVerifier } from '../modules/identity/token-verifier';
import { DashboardController } from '../modules/compliance/http/dashboard.controller';
import { IdentityModule } from '../modules/identity/http/identity.module';
import { TransparencyModule } from '../modules/transparency/transparency.module';
import { PROBLEM_CONTENT_TYPE, ProblemError } from '../shared/problem/problem';
import { featureModules } from './features';
import { installLimits } from './limits';
import { STORAGE_FAULTS } from './storage-faults';
import { acceptedTraceId } from '../shared/http/trace-ids';
import { CHANGE_FEEDS, ChangeFeeds } from '../shared/http/change-feeds';
import { STREAM_SLOTS, StreamSlots } from '../shared/http/stream-slots';

import { APP_CONFIG } from '../shared/config/config';
export { APP_CONFIG };
export const INFRASTRUCTURE = Symbol('INFRASTRUCTURE');

/** The Nest module of one process: the stores opened outside Nest are handed in as values. */
@Module({})
export class AppModule {
  static forInfrastructure(infra: Infrastructure, imports: ModuleMetadata['imports'] = []): DynamicModule {
    return {
      module: AppModule,
      global: true,
      imports,
      controllers: [HealthController],
      providers: [
        { provide: APP_CONFIG, useValue: infra.config },
        { provide: INFRASTRUCTURE, useValue: infra },
        { provide: EVENT_LOG, useValue: infra.eventLog },
        { provide: READ_STORE, useValue: infra.readStore },
        { provide: PROJECTION_STATUS, useValue: infra.projections },
        { provide: Metrics, useValue: infra.metrics },
        { provide: STORAGE_FAULTS, useValue: infra.storageFaults },
        // One watch of each changing value per process, shared by the live streams (Server-Sent Events).
        { provide: CHANGE_FEEDS, useValue: new ChangeFeeds() },
        // One count of open streams per process, across every stream route (STREAM_CLIENTS_MAX; four per caller).
        {
          provide: STREAM_SLOTS,
          useValue: new StreamSlots({
            total: infra.config.limits.streamClients,
            perCaller: Math.min(4, Math.max(1, infra.config.limits.streamClients)),
          }),
        },
      ],
      exports: [
        APP_CONFIG,
        INFRASTRUCTURE,
        EVENT_LOG,
        READ_STORE,
        PROJECTION_STATUS,
        Metrics,
        STORAGE_FAULTS,
        CHANGE_FEEDS,
        STREAM_SLOTS,
      ],
    };
  }
}

export interface RunningApp {
  app: NestFastifyApplication;
  infra: Infrastructure;
  url: string;
  /** Every route the HTTP server has, Nest's and those plugins registered themselves (the API docs): what a test of authentication must cover. */
  routes: readonly ServedRoute[];
  close(): Promise<void>;
}

export interface ServedRoute {
  method: string;
  url: string;
}

/** Builds and starts the API on the given config. Used by main.ts and by the end-to-end tests. */
export async function startApi(
  config: AppConfig,
  logger: Logger,
  options: {
    clock?: () => Date;
    /** `nest`: GET /api/cases/:caseId through Nest's pipeline, as every other route (the equivalence spec compares the two). */
    caseViewRoute?: 'direct' | 'nest';
    /** Modules mounted beside the features (the start-up checks' specs add an enhancer or a route this way). */
    modules?: NonNullable<ModuleMetadata['imports']>;
  } = {},
): Promise<RunningApp> {
  refuseMisplacedSecrets(config, 'service');
  // The API pins the regulation versions in use (the worker and the demo leave that to it).
  const infra = await openInfrastructure(config, logger, {
    projections: config.projections === 'inline' ? 'child' : 'none',
    writesLog: true,
    pinVersions: true,
    ...(options.clock ? { clock: options.clock } : {}),
  });
  let app: NestFastifyApplication | null = null;
  try {
    const adapter: ApiFastifyAdapter = new ApiFastifyAdapter({
      bodyLimit: BODY_LIMIT_BYTES,
      ...(config.trustedProxies.length > 0 ? { trustProxy: config.trustedProxies } : {}),
      // The caller's correlation id when it is a safe one, else ours; either way the answer's header says which.
      genReqId: (req: { headers: Record<string, unknown> }) =>
        acceptedTraceId(req.headers['x-correlation-id']) ?? randomUUID(),
      clientErrorHandler: connectionRefusal,
      frameworkErrors: (error: FastifyError, request: FastifyRequest, reply: FastifyReply) => {
        adapter.securityHeaders?.(request, reply.raw);
        routerRefusal(error, request, reply);
      },
    });
    const caseView =
      options.caseViewRoute === 'nest'
        ? null
        : directCaseViewRoute({
            deps: () => ({
              verifier: infra.identity,
              queries: app!.get<symbol, CaseQueries>(CASE_QUERIES, { strict: false }),
              answerProblem,
            }),
            app: () => app!,
            problemFilter: ProblemFilter,
          });
    adapter.directRoute = caseView;
    const routes = checkRoutes(adapter, new QueryChecks(() => app!, infra.identity));
    adapter.getInstance().addHook('onRoute', (route) => {
      if (route.url.startsWith(`/${API_DOCS_PATH}`)) route.onRequest = [route.onRequest ?? [], apiDocsPolicy].flat();
      // The case view's route, recognised by the handler Nest registers, answered by the same rules without Nest's
      // per-request machinery.
      caseView?.onRoute(route, adapter.registering);
    });
    app = await NestFactory.create<NestFastifyApplication>(
      AppModule.forInfrastructure(infra, [...(await featureModules(infra)), ...(options.modules ?? [])]),
      adapter,
      {
        logger: new PinoNestLogger(logger.child({ component: 'nest' })),
        bufferLogs: false,
        bodyParser: false,
      },
    );
    installBodyParser(app);
    app.useSecurityHeaders(SECURITY_HEADERS);
    if (config.corsOrigins.length > 0) app.enableCors(corsOptions(config.corsOrigins));
    installHttpObservability(app, infra);
    await installLimits(app, infra);
    app.useGlobalFilters(new ProblemFilter());
    app.useGlobalPipes(problemValidationPipe());
    const document = buildApiDocument(app);
    SwaggerModule.setup(API_DOCS_PATH, app, document, { jsonDocumentUrl: `${API_DOCS_PATH}-json` });
    await app.init();
    caseView?.assertInstalled();
    await app.listen(config.port, config.host);
    const url = await app.getUrl();
    const running = app;
    return {
      app,
      infra,
      url,
      routes,
      async close() {
        await running.close();
        await infra.close();
      },
    };
  } catch (error) {
    await app?.close().catch(() => undefined);
    await infra.close();
    throw error;
  }
}

const API_DOCS_PATH = 'api/docs';

/**
 * The security headers of every answer (helmet's set, through Nest's `useSecurityHeaders`, which also covers 404s,
 * errors and router refusals). The pages are served by this application alone, scripts and styles from files: no
 * inline code, no framing, no other origin.
 */
const CONTENT_SECURITY_POLICY = {
  'default-src': ["'self'"],
  'base-uri': ["'none'"],
  'connect-src': ["'self'"],
  'font-src': ["'self'"],
  'form-action': ["'self'"],
  'frame-ancestors': ["'none'"],
  'img-src': ["'self'", 'data:'],
  'object-src': ["'none'"],
  'script-src': ["'self'"],
  'script-src-attr': ["'none'"],
  'style-src': ["'self'"],
} as const;
const SECURITY_HEADERS: SecurityHeadersOptions = {
  contentSecurityPolicy: { useDefaults: false, directives: CONTENT_SECURITY_POLICY },
  xFrameOptions: { action: 'deny' },
  referrerPolicy: { policy: 'no-referrer' },
};
const serializePolicy = (directives: Record<string, readonly string[]>) =>
  Object.entries(directives)
    .map(([name, values]) => `${name} ${values.join(' ')}`)
    .join('; ');

/** Swagger UI's page holds inline style blocks; its routes alone may use them (scripts stay files). */
const API_DOCS_POLICY = serializePolicy({ ...CONTENT_SECURITY_POLICY, 'style-src': ["'self'", "'unsafe-inline'"] });
function apiDocsPolicy(_request: FastifyRequest, reply: FastifyReply, done: () => void): void {
  reply.raw.setHeader('content-security-policy', API_DOCS_POLICY);
  done();
}

/**
 * Nest's adapter, keeping the security-header hook so that the router refusals answered here carry the headers too,
 * and answering a known path asked with a method it does not serve with 405 and `Allow` instead of Nest's 404.
 */
class ApiFastifyAdapter extends FastifyAdapter {
  securityHeaders?: Parameters<FastifyAdapter['registerSecurityHook']>[0];
  routes: readonly ServedRoute[] = [];
  /** The handler Nest is registering a route for: the `onRoute` hook runs inside the registration. */
  registering: Function | undefined;
  private methods: string[] | null = null;

  /** The direct case view route, whose answers write the security headers with their own (`securityHook`). */
  directRoute: DirectCaseViewRoute | null = null;

  override registerSecurityHook(hook: Parameters<FastifyAdapter['registerSecurityHook']>[0]): void {
    this.securityHeaders = hook;
    super.registerSecurityHook(this.directRoute ? this.directRoute.securityHook(hook) : hook);
  }

  override get(...args: any[]) {
    return this.registered(args, () => super.get(...args));
  }
  override post(...args: any[]) {
    return this.registered(args, () => super.post(...args));
  }
  override put(...args: any[]) {
    return this.registered(args, () => super.put(...args));
  }
  override patch(...args: any[]) {
    return this.registered(args, () => super.patch(...args));
  }
  override delete(...args: any[]) {
    return this.registered(args, () => super.delete(...args));
  }
  override head(...args: any[]) {
    return this.registered(args, () => super.head(...args));
  }
  override options(...args: any[]) {
    return this.registered(args, () => super.options(...args));
  }
  override search(...args: any[]) {
    return this.registered(args, () => super.search(...args));
  }
  override all(...args: any[]) {
    return this.registered(args, () => super.all(...args));
  }

  private registered<T>(args: unknown[], register: () => T): T {
    const handler: unknown = args[args.length - 1];
    this.registering = typeof handler === 'function' ? handler : undefined;
    try {
      return register();
    } finally {
      this.registering = undefined;
    }
  }

  override setNotFoundHandler(handler: Parameters<FastifyAdapter['setNotFoundHandler']>[0]) {
    return super.setNotFoundHandler(((request: FastifyRequest, reply: FastifyReply) => {
      const allowed = this.methodsServing(request.url, request.method);
      if (allowed.length === 0)
        return (handler as (request: FastifyRequest, reply: FastifyReply) => unknown)(request, reply);
      const problem = new ProblemError(
        405,
        'method-not-allowed',
        'Method not allowed',
        `${request.method} is not served on this path; it serves ${allowed.join(', ')}`,
        [
          {
            field: 'method',
            problem: `${request.method.slice(0, 20)} is not served on this path`,
            allowed: allowed.join(' | '),
          },
        ],
      ).toProblem(request.url.split('?')[0]);
      return reply
        .status(405)
        .header('allow', allowed.join(', '))
        .header('content-type', PROBLEM_CONTENT_TYPE)
        .send(problem);
    }) as never);
  }

  /**
   * The methods whose routes the router matches this request's path to, when the request's own method is not one of
   * them: a 405. None (a 404) when the path is no route's, or is one for the request's own method and came here all
   * the same (Nest's adapter sends a route with an empty parameter here, a route serving files one it has no file
   * for). Asked of the router itself, which decodes and matches the path as it does for every request.
   */
  private methodsServing(url: string, own: string): string[] {
    // The route table is complete once the server listens, before any request can reach this.
    this.methods ??= [...new Set(this.routes.map(({ method }) => method))].sort();
    const fastify = this.getInstance();
    const serves = (method: string) => {
      const found = fastify.findRoute({ method: method as HTTPMethods, url });
      // A wildcard route (the API docs' files) serves only the paths it has a file for, which the router cannot say.
      return (
        found !== null && Object.entries(found.params ?? {}).every(([name, value]) => name !== '*' && value !== '')
      );
    };
    if (serves(own)) return [];
    return this.methods.filter(serves);
  }
}

/**
 * The routes Nest registers on the adapter, each recorded (what a 405 names as allowed) and given the query check its
 * handler needs; the API and the worker alike. The list fills as the application is created.
 */
function checkRoutes(adapter: ApiFastifyAdapter, queryChecks: QueryChecks): readonly ServedRoute[] {
  const routes: ServedRoute[] = [];
  adapter.routes = routes;
  adapter.getInstance().addHook('onRoute', (route) => {
    for (const method of [route.method].flat()) routes.push({ method, url: route.url });
    const queryCheck = queryChecks.of(adapter.registering);
    if (queryCheck) route.preHandler = [route.preHandler ?? [], queryCheck].flat();
  });
  return routes;
}

/** Request bodies are JSON, read by one parser of ours; any other media type (a form, multipart, text) is a 415. */
function installBodyParser(app: NestFastifyApplication): void {
  const fastify = app.getHttpAdapter().getInstance();
  fastify.removeAllContentTypeParsers();
  fastify.addContentTypeParser(BODY_MEDIA_TYPE, { parseAs: 'buffer' }, jsonBodyParser);
}

/**
 * Controllers whose routes ignore the query string: the dashboard's page and files, which a browser or a proxy may ask
 * for with a cache buster. The API docs' routes are the plugin's, not Nest's, and ignore it too.
 */
const QUERY_IGNORED: ReadonlySet<Function> = new Set([DashboardController]);

type Guard = CanActivate | (new (...args: never[]) => CanActivate);

/**
 * The refusal of query parameters a route does not take, for the routes whose handler declares no query DTO
 * (`@Query()` or `@PathAndQuery` refuse them themselves): decided on the handler Nest registers for the matched route,
 * as a `preHandler` of that route alone. A request without a query string costs one look at it. A request with an
 * unknown parameter is answered as the route's guards would answer it first (401, 403: the global guard's
 * `authenticate`, then the controller's and the handler's guards), then 400, before the handler runs.
 */
class QueryChecks {
  private controllers: Map<string, Function | null> | null = null;

  constructor(
    private readonly app: () => NestFastifyApplication,
    private readonly verifier: TokenVerifier,
  ) {}

  /** The check of the route Nest registers `nestHandler` for, or null where none is needed. */
  of(nestHandler: Function | undefined): preHandlerHookHandler | null {
    // A function without a route's metadata is a plugin's (the API docs'), not a controller's.
    if (!nestHandler || Reflect.getMetadata(METHOD_METADATA, nestHandler) === undefined) return null;
    // Nest names the function it registers `Controller.method`, and copies the method's metadata onto it.
    const dot = nestHandler.name.lastIndexOf('.');
    const controller = this.controllerNamed(nestHandler.name.slice(0, dot));
    const method = nestHandler.name.slice(dot + 1);
    const handler = (controller?.prototype as Record<string, unknown> | undefined)?.[method];
    if (!controller || typeof handler !== 'function')
      throw new Error(
        `${nestHandler.name}: the handler of a route is not known, so its query string cannot be checked`,
      );
    if (QUERY_IGNORED.has(controller)) return null;
    const taken = queryOfHandler(controller, method);
    if (taken === 'checked') return null;
    const policy = routePolicy(new Reflector(), handler, controller);
    const guards = [controller, handler].flatMap(
      (target) => (Reflect.getMetadata(GUARDS_METADATA, target) as Guard[] | undefined) ?? [],
    );
    const admit = async (request: FastifyRequest, reply: FastifyReply) => {
      await authenticateNow(request as never, policy, this.verifier);
      const context = new ExecutionContextHost([request, reply], controller as never, handler as never);
      for (const guard of guards) {
        const instance = typeof guard === 'function' ? this.app().get(guard, { strict: false }) : guard;
        if (!(await instance.canActivate(context)))
          throw new ProblemError(403, 'forbidden', 'Not allowed', 'a guard of this endpoint refused the request');
      }
    };
    return function refuseUnknownQuery(request, reply, done) {
      const refusal = unknownQueryParameters(request.query, taken);
      if (!refusal) return done();
      admit(request, reply).then(
        () => done(refusal),
        (error: Error) => done(error),
      );
    };
  }

  private controllerNamed(name: string): Function | null {
    if (!this.controllers) {
      this.controllers = new Map();
      for (const module of this.app().get(ModulesContainer).values())
        for (const wrapper of module.controllers.values()) {
          const type = wrapper.metatype as Function | null;
          if (!type) continue;
          // Two controllers of one name: their routes cannot be told apart by it, and neither is served unchecked.
          const known = this.controllers.get(type.name);
          this.controllers.set(type.name, known === undefined || known === type ? type : null);
        }
    }
    return this.controllers.get(name) ?? null;
  }
}

/** CORS for the configured origins only (CORS_ORIGINS): the headers a back office sends and reads, no cookies. */
function corsOptions(origins: readonly string[]) {
  return {
    origin: [...origins],
    methods: ['GET', 'HEAD', 'POST', 'DELETE'],
    allowedHeaders: [
      'Authorization',
      'Content-Type',
      'Idempotency-Key',
      'If-Match',
      'If-None-Match',
      'X-Correlation-Id',
      'X-Causation-Id',
      'Last-Event-ID',
    ],
    exposedHeaders: [
      'ETag',
      'Location',
      'Retry-After',
      'X-Correlation-Id',
      'X-Read-Position',
      'Idempotent-Replayed',
      'WWW-Authenticate',
    ],
    credentials: false,
    maxAge: 600,
  };
}

/**
 * What the router refuses before any route is matched (a malformed escape, a path parameter longer than it takes)
 * fastify answers with its own JSON unless handed here; these answers are problem+json like every other.
 */
function routerRefusal(error: FastifyError, request: FastifyRequest, reply: FastifyReply): void {
  const tooLong = {
    field: 'path',
    problem: 'has a segment that is too long',
    allowed: `segments of at most ${MAX_PARAM_LENGTH} characters`,
  };
  const badEscape = {
    field: 'path',
    problem: 'has a malformed percent-escape',
    allowed: 'percent-escapes of two hexadecimal digits (%2F)',
  };
  const problem =
    error.code === 'FST_ERR_MAX_PARAM_LENGTH'
      ? new ProblemError(
          414,
          'uri-too-long',
          'The address is too long',
          'a segment of the path is longer than the server takes',
          [tooLong],
        ).toProblem()
      : error.code === 'FST_ERR_BAD_URL'
        ? new ProblemError(
            400,
            'bad-url',
            'The address could not be read',
            'the path holds a malformed percent-escape',
            [badEscape],
          ).toProblem()
        : toProblem(error).problem;
  void reply
    .status(problem.status)
    .header('content-type', PROBLEM_CONTENT_TYPE)
    .header('x-correlation-id', request.id)
    .send(problem);
}

/**
 * What Node's HTTP parser refuses before fastify sees a request (headers or request line over 16 KiB, a malformed
 * request, a client too slow): written to the socket, as problem+json with the headers an error body needs.
 */
function connectionRefusal(error: Error & { code?: string }, socket: Duplex): void {
  if (error.code === 'ECONNRESET' || socket.destroyed) return;
  const [status, code, title, detail] =
    error.code === 'HPE_HEADER_OVERFLOW'
      ? [
          431,
          'headers-too-large',
          'The request head is too large',
          'the request line and headers together exceed 16 KiB',
        ]
      : error.code === 'ERR_HTTP_REQUEST_TIMEOUT'
        ? [408, 'request-timeout', 'The request came too slowly', 'the request was not received in time']
        : [400, 'bad-request', 'The request could not be read', 'the request is not well-formed HTTP'];
  const body = JSON.stringify(new ProblemError(status, code, title, detail).toProblem());
  if (socket.writable) {
    socket.write(
      `HTTP/1.1 ${status} ${STATUS_CODES[status]}\r\nContent-Type: ${PROBLEM_CONTENT_TYPE}\r\nContent-Length: ${Buffer.byteLength(body)}\r\n` +
        `Content-Security-Policy: default-src 'none'; frame-ancestors 'none'\r\nX-Content-Type-Options: nosniff\r\nConnection: close\r\n\r\n${body}`,
    );
  }
  socket.destroy(error);
}

/** fastify's default: the longest path parameter the router matches. */
const MAX_PARAM_LENGTH = 100;

/** Request log line, HTTP metrics, correlation id echo, and problem+json for unknown routes. */
function installHttpObservability(app: NestFastifyApplication, infra: Infrastructure): void {
  const fastify = app.getHttpAdapter().getInstance();
  const log = infra.logger.child({ component: 'http' });
  // Callback hooks, not async ones: each async hook costs every request a promise and a turn of the microtask queue.
  fastify.addHook('onRequest', (request, reply, done) => {
    void reply.header('x-correlation-id', request.id);
    // API answers carry personal data (a case's history decrypted, the feed, the overdue list) or read models that
    // change with every act: kept by no cache unless a route says otherwise (the case view: private, no-store).
    if (request.routeOptions.url?.startsWith('/api/')) void reply.header('cache-control', 'no-store');
    done();
  });
  // Unknown routes reach ProblemFilter as Nest's NotFoundException and leave as problem+json 404s.
  fastify.addHook('onResponse', (request, reply, done) => {
    const route = request.routeOptions?.url ?? 'unmatched';
    const elapsed = reply.elapsedTime;
    infra.metrics.httpSeconds.observe(
      { method: request.method, route, status: String(reply.statusCode) },
      elapsed / 1000,
    );
    // The line's fields are built only when it is written (LOG_LEVEL above info writes none).
    if (log.isLevelEnabled('info'))
      log.info({
        method: request.method,
        url: request.url,
        route,
        status: reply.statusCode,
        durationMs: Math.round(elapsed * 100) / 100,
        correlationId: request.id,
      });
    done();
  });
}

export interface RunningWorker {
  infra: Infrastructure;
  url: string | null;
  close(): Promise<void>;
}

/** The projection worker: runs every projection, and serves /health and /metrics on WORKER_PORT when set. */
export async function startWorker(config: AppConfig, logger: Logger): Promise<RunningWorker> {
  refuseMisplacedSecrets(config, 'service');
  const infra = await openInfrastructure(config, logger, { projections: 'here', writesLog: false });
  if (config.workerPort === null) return { infra, url: null, close: () => infra.close() };
  try {
    // A worker that keeps the log's tree (EventStoreDB) also serves its checkpoints and proofs.
    const serves =
      infra.config.eventStore.kind !== 'sqlite' && infra.transparency
        ? [
            IdentityModule.register(infra.identity),
            TransparencyModule.register(infra.transparency, infra.config.transparency.access, infra.eventLog),
          ]
        : [];
    // The API's adapter and route hook: the worker's routes (health, metrics, and on EventStoreDB the transparency
    // log's) answer an unknown path, an unknown method and an unknown query parameter as the API's do.
    const adapter = new ApiFastifyAdapter({ bodyLimit: BODY_LIMIT_BYTES });
    let created: NestFastifyApplication | null = null;
    checkRoutes(adapter, new QueryChecks(() => created!, infra.identity));
    const app = (created = await NestFactory.create<NestFastifyApplication>(
      AppModule.forInfrastructure(infra, serves),
      adapter,
      {
        logger: new PinoNestLogger(logger.child({ component: 'nest' })),
        bodyParser: false,
      },
    ));
    installBodyParser(app);
    app.useSecurityHeaders(SECURITY_HEADERS);
    app.useGlobalFilters(new ProblemFilter());
    if (serves.length) app.useGlobalPipes(problemValidationPipe());
    installHttpObservability(app, infra);
    // The worker's port is published for witnesses and, on EventStoreDB, serves proofs that sign checkpoints: the same
    // per-caller limits as the API's.
    if (serves.length) await installLimits(app, infra);
    await app.listen(config.workerPort, config.host);
    const url = await app.getUrl();
    return {
      infra,
      url,
      async close() {
        await app.close();
        await infra.close();
      },
    };
  } catch (error) {
    await infra.close();
    throw error;
  }
}
