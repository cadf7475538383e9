/** Cases over HTTP: the command side on the @nestjs/cqrs bus and the read side from the case projections. */
import { Module, type DynamicModule } from '@nestjs/common';
import { CqrsModule } from '@nestjs/cqrs';
import type { EventLog } from '../event-log/event-log.port';
import type { ReadModels } from '../../projections/read-models';
import type { PersonalDataVault } from '../personal-data/personal-data-vault';
import type { ReferenceData } from '../regulations/domain/reference-data';
import type { CatalogPins } from '../regulations/usage/catalog-guard';
import { CaseRepository } from './commands/case-repository';
import { CaseCommandService } from './commands/case-command-service';
import { CASE_COMMAND_HANDLERS, CASE_COMMANDS } from './commands/case-commands';
import { CaseCommandsController, FINGERPRINT_KEY } from './http/case-commands.controller';
import { CaseQueriesController } from './http/case-queries.controller';
import { CASE_QUERIES, CaseQueries } from './queries/case-queries';
import { CallerRateLimiter } from '../../shared/http/caller-rate-limiter';
import type { TimeZone } from '../calendar/domain/time-zone';

const DAY_MS = 86_400_000;

/** When the Asia/Almaty day of an instant began: a filing quota counts local days. */
function localDayStart(zone: TimeZone, now: number): number {
  return zone.toInstant(zone.toLocal(new Date(now)).date).getTime();
}

export const CASE_REFERENCE = Symbol('CASE_REFERENCE');

/** What the cases module needs from the process that hosts it; app/ provides it. */
export interface CasesModuleDeps {
  eventLog: EventLog;
  projections: { readModels: ReadModels };
  reference: ReferenceData;
  catalogPins: Pick<CatalogPins, 'versionUsed'>;
  personalData: PersonalDataVault;
  /** The recording clock: every command's "now" and every read's default asOf. */
  clock: () => Date;
  config: {
    backDatedAfterMinutes: number;
    occurredAtToleranceMs: number;
    caseCacheSize: number;
    caseViewCacheMb: number;
    readYourWritesTimeoutMs: number;
    limits: { filingsPerDay: number; iinLookupsPerMinute: number };
  };
}

@Module({})
export class CasesModule {
  static register(infra: CasesModuleDeps): DynamicModule {
    const commands = new CaseCommandService(
      infra.eventLog,
      infra.reference.catalog,
      infra.reference.calendar,
      {
        backDatedAfterMs: infra.config.backDatedAfterMinutes * 60_000,
        occurredAtToleranceMs: infra.config.occurredAtToleranceMs,
        clock: infra.clock,
        onVersionUsed: (versionId) => infra.catalogPins.versionUsed(versionId),
        personalData: infra.personalData,
        filings: new CallerRateLimiter({
          max: infra.config.limits.filingsPerDay,
          windowMs: DAY_MS,
          windowStart: (now) => localDayStart(infra.reference.calendar.timeZone, now),
          clock: () => infra.clock().getTime(),
        }),
      },
      new CaseRepository(infra.eventLog, infra.reference.catalog, infra.config.caseCacheSize, infra.personalData),
    );
    const queries = new CaseQueries(
      infra.projections.readModels,
      infra.reference,
      infra.config.readYourWritesTimeoutMs,
      {
        viewCacheBytes: infra.config.caseViewCacheMb * 1024 * 1024,
        clock: infra.clock,
        iinLookups: new CallerRateLimiter({ max: infra.config.limits.iinLookupsPerMinute, windowMs: 60_000 }),
        iinIndex: (iin) => infra.personalData.iinIndex(iin),
        recordRead: (principal, cases, purpose) => infra.personalData.recordRead(principal, cases, purpose),
      },
    );
    return {
      module: CasesModule,
      imports: [CqrsModule.forRoot()],
      controllers: [CaseCommandsController, CaseQueriesController],
      providers: [
        { provide: CASE_COMMANDS, useValue: commands },
        {
          provide: FINGERPRINT_KEY,
          useValue: infra.personalData.derivedKey('idempotency fingerprint'),
        },
        { provide: CASE_QUERIES, useValue: queries },
        { provide: CASE_REFERENCE, useValue: infra.reference },
        ...CASE_COMMAND_HANDLERS,
      ],
      exports: [CASE_COMMANDS],
    };
  }
}
