/** Cases over HTTP: the command side on the @nestjs/cqrs bus and the read side from the case projections. */
import { Module, type DynamicModule } from '@nestjs/common';
import { CqrsModule } from '@nestjs/cqrs';
import type { Infrastructure } from '../../app/infrastructure';
import { CaseRepository } from './commands/case-repository';
import { CaseCommandService } from './commands/case-command-service';
import { CASE_COMMAND_HANDLERS, CASE_COMMANDS } from './commands/case-commands';
import { CaseCommandsController } from './http/case-commands.controller';
import { CaseQueriesController } from './http/case-queries.controller';
import { CASE_QUERIES, CaseQueries } from './queries/case-queries';

export const CASE_REFERENCE = Symbol('CASE_REFERENCE');

@Module({})
export class CasesModule {
  static register(infra: Infrastructure): DynamicModule {
    const commands = new CaseCommandService(
      infra.eventLog,
      infra.reference.catalog,
      infra.reference.calendar,
      { backDatedAfterMs: infra.config.backDatedAfterMinutes * 60_000 },
      new CaseRepository(infra.eventLog, infra.reference.catalog, infra.config.caseCacheSize),
    );
    const queries = new CaseQueries(infra.projections.readModels, infra.reference, infra.config.readYourWritesTimeoutMs, { viewCacheBytes: infra.config.caseViewCacheMb * 1024 * 1024 });
    return {
      module: CasesModule,
      imports: [CqrsModule.forRoot()],
      controllers: [CaseCommandsController, CaseQueriesController],
      providers: [{ provide: CASE_COMMANDS, useValue: commands }, { provide: CASE_QUERIES, useValue: queries }, { provide: CASE_REFERENCE, useValue: infra.reference }, ...CASE_COMMAND_HANDLERS],
      exports: [CASE_COMMANDS],
    };
  }
}
