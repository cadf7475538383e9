/**
 * GET /api/cases/:caseId is answered without Nest's pipeline (case-view.route.ts): the server must refuse to start
 * when anything that pipeline would run on the route is not run by the direct handler (a security review's finding:
 * an interceptor, guard, pipe or filter added later would have been skipped in silence), and when the route at the
 * case view's path is not the controller handler whose policy the direct handler applies.
 */
import {
  Body,
  Controller,
  Get,
  Injectable,
  Module,
  type ArgumentsHost,
  type CallHandler,
  type CanActivate,
  type ExceptionFilter,
  type NestInterceptor,
  type PipeTransform,
} from '@nestjs/common';
import { HEADERS_METADATA, HTTP_CODE_METADATA, PATH_METADATA, ROUTE_ARGS_METADATA } from '@nestjs/common/constants';
import { APP_FILTER, APP_GUARD, APP_INTERCEPTOR, APP_PIPE, NestFactory } from '@nestjs/core';
import { FastifyAdapter, type NestFastifyApplication } from '@nestjs/platform-fastify';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startApi } from '../../src/app/bootstrap';
import { ProblemFilter } from '../../src/app/problem/problem.filter';
import { CaseQueriesController } from '../../src/modules/cases/http/case-queries.controller';
import { skippedByDirectRoute } from '../../src/modules/cases/http/case-view.route';
import { CASE_QUERIES } from '../../src/modules/cases/queries/case-queries';
import { loadConfig } from '../../src/shared/config/config';
import { createLogger } from '../../src/shared/logging/logger';
import { problemValidationPipe } from '../../src/shared/problem/validation';

@Injectable()
class TimingInterceptor implements NestInterceptor {
  intercept(_context: unknown, next: CallHandler) {
    return next.handle();
  }
}
@Injectable()
class OfficeHoursGuard implements CanActivate {
  canActivate() {
    return true;
  }
}
@Injectable()
class TrimmingPipe implements PipeTransform {
  transform(value: unknown) {
    return value;
  }
}
@Injectable()
class AuditFilter implements ExceptionFilter {
  catch(_error: unknown, _host: ArgumentsHost) {}
}

/** Another controller's handler on the case view's path. */
@Controller('api/cases')
class ImpostorController {
  @Get(':caseId')
  read() {
    return {};
  }
}

const dirs: string[] = [];
afterAll(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

async function start(modules: NonNullable<Parameters<typeof startApi>[2]>['modules'] = []) {
  const dataDir = mkdtempSync(join(tmpdir(), 'reglament-view-startup-'));
  dirs.push(dataDir);
  const config = loadConfig({ DATA_DIR: dataDir, PORT: '0', LOG_LEVEL: 'silent', PROJECTIONS: 'off' });
  const api = await startApi(config, createLogger('silent'), { modules });
  await api.close();
}

/** Metadata put on the controller's handler for one test, and taken off again. */
async function withMetadata(
  key: string,
  value: unknown,
  target: object,
  property: string | undefined,
  run: () => Promise<void>,
) {
  const before: unknown = Reflect.getMetadata(key, target, property as string);
  Reflect.defineMetadata(key, value, target, property as string);
  try {
    await run();
  } finally {
    if (before === undefined) Reflect.deleteMetadata(key, target, property as string);
    else Reflect.defineMetadata(key, before, target, property as string);
  }
}

describe('start-up with GET /api/cases/:caseId answered directly', () => {
  it('starts with the global guard, filter and pipe the direct handler runs itself', async () => {
    await expect(start()).resolves.toBeUndefined();
  });

  it.each([
    [APP_INTERCEPTOR, TimingInterceptor, 'the global interceptor TimingInterceptor'],
    [APP_GUARD, OfficeHoursGuard, 'the global guard OfficeHoursGuard'],
    [APP_PIPE, TrimmingPipe, 'the global pipe TrimmingPipe'],
    [APP_FILTER, AuditFilter, 'the global filter AuditFilter'],
  ])('refuses to start with a %s provider the direct handler would skip, naming it', async (token, type, named) => {
    @Module({ providers: [{ provide: token, useClass: type }] })
    class EnhancerModule {}
    await expect(start([EnhancerModule])).rejects.toThrow(
      `GET /api/cases/:caseId is answered directly (CaseQueriesController.get) and would skip ${named}`,
    );
  });

  it('refuses to start when the handler declares @Header or @HttpCode', async () => {
    const handler = CaseQueriesController.prototype.get;
    await withMetadata(HEADERS_METADATA, [{ name: 'x-extra', value: '1' }], handler, undefined, () =>
      expect(start()).rejects.toThrow("would skip the handler's __headers__ metadata"),
    );
    await withMetadata(HTTP_CODE_METADATA, 203, handler, undefined, () =>
      expect(start()).rejects.toThrow("would skip the handler's __httpCode__ metadata"),
    );
  });

  it('refuses to start when a parameter of the handler has its own pipe', async () => {
    const args = Reflect.getMetadata(ROUTE_ARGS_METADATA, CaseQueriesController, 'get') as Record<string, object>;
    const piped = Object.fromEntries(
      Object.entries(args).map(([key, arg], i) => [key, i === 0 ? { ...arg, pipes: [TrimmingPipe] } : arg]),
    );
    await withMetadata(ROUTE_ARGS_METADATA, piped, CaseQueriesController, 'get', () =>
      expect(start()).rejects.toThrow(/would skip parameter \d's pipe TrimmingPipe/),
    );
  });

  it('refuses to start when a parameter of the handler is swapped for another kind (the reply for the body)', async () => {
    class Swapped {
      get(_principal: unknown, _input: unknown, _body: unknown): void {}
    }
    Body()(Swapped.prototype, 'get', 2);
    const args = Reflect.getMetadata(ROUTE_ARGS_METADATA, CaseQueriesController, 'get') as Record<
      string,
      { index: number }
    >;
    const swapped = {
      ...Object.fromEntries(Object.entries(args).filter(([, arg]) => arg.index !== 2)),
      ...(Reflect.getMetadata(ROUTE_ARGS_METADATA, Swapped, 'get') as object),
    };
    await withMetadata(ROUTE_ARGS_METADATA, swapped, CaseQueriesController, 'get', () =>
      expect(start()).rejects.toThrow(/would skip the handler's parameters/),
    );
  });

  it('refuses to start when another handler is registered on the case view path', async () => {
    @Module({ controllers: [ImpostorController] })
    class ImpostorModule {}
    await expect(start([ImpostorModule])).rejects.toThrow(
      'GET /api/cases/:caseId is answered directly as CaseQueriesController.get, but the route is registered by ImpostorController.read:',
    );
  });

  it('refuses to start when the handler is registered on another path', async () => {
    await withMetadata(PATH_METADATA, ':caseId/view', CaseQueriesController.prototype.get, undefined, () =>
      expect(start()).rejects.toThrow(
        'CaseQueriesController.get is answered directly on GET, HEAD /api/cases/:caseId, but Nest registers it on GET /api/cases/:caseId/view',
      ),
    );
  });

  it('names an enhancer added with useGlobalInterceptors or useGlobalPipes', async () => {
    @Module({ controllers: [CaseQueriesController], providers: [{ provide: CASE_QUERIES, useValue: {} }] })
    class ViewModule {}
    const app = await NestFactory.create<NestFastifyApplication>(ViewModule, new FastifyAdapter(), { logger: false });
    try {
      app.useGlobalFilters(new ProblemFilter());
      app.useGlobalPipes(problemValidationPipe());
      expect(skippedByDirectRoute(app, ProblemFilter)).toEqual([]);
      app.useGlobalInterceptors(new TimingInterceptor());
      app.useGlobalPipes(new TrimmingPipe());
      expect(skippedByDirectRoute(app, ProblemFilter)).toEqual([
        'the global pipe TrimmingPipe',
        'the global interceptor TimingInterceptor',
      ]);
    } finally {
      await app.close();
    }
  });
});
