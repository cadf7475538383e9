/** Compliance dashboards: summaries from rollups, the overdue list, worklists, live updates and the /dashboard page. */
import { Module, type DynamicModule } from '@nestjs/common';
import type { EventLog } from '../event-log/event-log.port';
import type { ReadModels } from '../../projections/read-models';
import type { ReferenceData } from '../regulations/domain/reference-data';
import type { WarningPolicy } from '../deadline-alerts/domain/warning-instants';
import { ModelAccess } from '../../projections/read-model-access';
import { COMPLIANCE_PROJECTION } from './compliance.projection';
import { ComplianceQueries } from './compliance.queries';
import {
  COMPLIANCE_MODEL,
  COMPLIANCE_QUERIES,
  COMPLIANCE_REFERENCE,
  ComplianceController,
} from './http/compliance.controller';
import { DashboardController } from './http/dashboard.controller';

/** What the compliance module needs from the process that hosts it; app/ provides it. */
export interface ComplianceModuleDeps {
  eventLog: EventLog;
  projections: { readModels: ReadModels };
  reference: ReferenceData;
  config: { readYourWritesTimeoutMs: number; deadlineWarnings: WarningPolicy };
  /** The IIN's blind index, as the open steps store it. */
  personalData: { iinIndex(iin: string): string };
  /** The service's clock: the worklist's now, as every command's and every read's default asOf. */
  clock: () => Date;
}

@Module({})
export class ComplianceModule {
  static register(infra: ComplianceModuleDeps): DynamicModule {
    const model = new ModelAccess(
      infra.projections.readModels,
      COMPLIANCE_PROJECTION,
      infra.config.readYourWritesTimeoutMs,
      infra.eventLog,
    );
    return {
      module: ComplianceModule,
      controllers: [ComplianceController, DashboardController],
      providers: [
        { provide: COMPLIANCE_MODEL, useValue: model },
        {
          provide: COMPLIANCE_QUERIES,
          useValue: new ComplianceQueries(
            model,
            { ...infra.reference, warnings: infra.config.deadlineWarnings },
            infra.clock,
            (iin) => infra.personalData.iinIndex(iin),
          ),
        },
        { provide: COMPLIANCE_REFERENCE, useValue: infra.reference },
      ],
    };
  }
}
