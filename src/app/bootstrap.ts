import 'reflect-metadata';
import { DynamicModule, Module, type ModuleMetadata } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { FastifyAdapter, type NestFastifyApplication } from '@nestjs/platform-fastify';
import { DocumentBuilder, SwaggerModule } from '@nestjs/swagger';
import { randomUUID } from 'node:crypto';
import type { Logger } from 'pino';
import { EVENT_LOG } from '../modules/event-log/event-log.port';
import { READ_STORE } from '../modules/read-store/read-store.port';
import type { AppConfig } from './config/config';
import { HealthController } from './health/health.controller';
import { PROJECTION_STATUS } from './health/projection-status';
import { Infrastructure, openInfrastructure } from './infrastructure';
import { PinoNestLogger } from './logging/logger';
import { Metrics } from './metrics/metrics';
import { ProblemFilter } from './problem/problem.filter';
import { problemValidationPipe } from './problem/validation';
import { IdentityModule } from '../modules/identity/http/identity.module';
import { TransparencyModule } from '../modules/transparency/transparency.module';
import { ProblemError } from './problem/problem';
import { featureModules } from './features';

export const APP_CONFIG = Symbol('APP_CONFIG');
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
      ],
      exports: [APP_CONFIG, INFRASTRUCTURE, EVENT_LOG, READ_STORE, PROJECTION_STATUS, Metrics],
    };
  }
}

export interface RunningApp {
  app: NestFastifyApplication;
  infra: Infrastructure;
  url: string;
  close(): Promise<void>;
}

/** Builds and starts the API on the given config. Used by main.ts and by the end-to-end tests. */
export async function startApi(config: AppConfig, logger: Logger): Promise<RunningApp> {
  const infra = await openInfrastructure(config, logger, { projections: config.projections === 'inline' ? 'child' : 'none' });
  try {
    const adapter = new FastifyAdapter({ bodyLimit: 1024 * 1024, genReqId: (req: { headers: Record<string, unknown> }) => String(req.headers['x-correlation-id'] ?? randomUUID()) });
    const app = await NestFactory.create<NestFastifyApplication>(AppModule.forInfrastructure(infra, await featureModules(infra)), adapter, {
      logger: new PinoNestLogger(logger.child({ component: 'nest' })),
      bufferLogs: false,
    });
    installHttpObservability(app, infra);
    app.useGlobalFilters(new ProblemFilter());
    app.useGlobalPipes(problemValidationPipe());
    const document = SwaggerModule.createDocument(
      app,
      new DocumentBuilder()
        .setTitle('reglament')
        .setDescription('Cases of regulated public services: commands, case views, SLA and audit. Errors are RFC 9457 problem+json.')
        .setVersion('0.1.0')
        .addBearerAuth()
        .build(),
    );
    SwaggerModule.setup('api/docs', app, document, { jsonDocumentUrl: 'api/docs-json' });
    await app.listen(config.port, config.host);
    const url = await app.getUrl();
    return {
      app,
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

/** Request log line, HTTP metrics, correlation id echo, and problem+json for unknown routes. */
function installHttpObservability(app: NestFastifyApplication, infra: Infrastructure): void {
  const fastify = app.getHttpAdapter().getInstance();
  const log = infra.logger.child({ component: 'http' });
  fastify.addHook('onRequest', async (request, reply) => {
    void reply.header('x-correlation-id', request.id);
  });
  // Unknown routes reach ProblemFilter as Nest's NotFoundException and leave as problem+json 404s.
  fastify.addHook('onResponse', async (request, reply) => {
    const route = request.routeOptions?.url ?? 'unmatched';
    const seconds = reply.elapsedTime / 1000;
    infra.metrics.httpSeconds.observe({ method: request.method, route, status: String(reply.statusCode) }, seconds);
    log.info({ method: request.method, url: request.url, route, status: reply.statusCode, durationMs: Math.round(reply.elapsedTime * 100) / 100, correlationId: request.id });
  });
}

export interface RunningWorker {
  infra: Infrastructure;
  url: string | null;
  close(): Promise<void>;
}

/** The projection worker: runs every projection, and serves /health and /metrics on WORKER_PORT when set. */
export async function startWorker(config: AppConfig, logger: Logger): Promise<RunningWorker> {
  const infra = await openInfrastructure(config, logger, { projections: 'here' });
  if (config.workerPort === null) return { infra, url: null, close: () => infra.close() };
  try {
    // A worker that keeps the log's tree (EventStoreDB) also serves its checkpoints and proofs.
    const serves = infra.config.eventStore.kind !== 'sqlite' && infra.transparency ? [IdentityModule.register(infra.identity), TransparencyModule.register(infra.transparency, infra.config.transparency.access)] : [];
    const app = await NestFactory.create<NestFastifyApplication>(AppModule.forInfrastructure(infra, serves), new FastifyAdapter(), {
      logger: new PinoNestLogger(logger.child({ component: 'nest' })),
    });
    app.useGlobalFilters(new ProblemFilter());
    if (serves.length) app.useGlobalPipes(problemValidationPipe());
    installHttpObservability(app, infra);
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
