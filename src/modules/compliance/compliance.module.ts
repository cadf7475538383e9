/** Compliance dashboards: summaries from rollups, the overdue list, worklists, live updates and the /dashboard page. */
import { Module, type DynamicModule } from '@nestjs/common';
import type { Infrastructure } from '../../app/infrastructure';
import { ModelAccess } from '../../projections/read-model-access';
import { COMPLIANCE_PROJECTION } from './compliance.projection';
import { ComplianceQueries } from './compliance.queries';
import { COMPLIANCE_MODEL, COMPLIANCE_QUERIES, COMPLIANCE_REFERENCE, ComplianceController, STREAM_LIMITS } from './http/compliance.controller';
import { DashboardController } from './http/dashboard.controller';

@Module({})
export class ComplianceModule {
  static register(infra: Infrastructure): DynamicModule {
    const model = new ModelAccess(infra.projections.readModels, COMPLIANCE_PROJECTION, infra.config.readYourWritesTimeoutMs, infra.eventLog);
    return {
      module: ComplianceModule,
      controllers: [ComplianceController, DashboardController],
      providers: [
        { provide: COMPLIANCE_MODEL, useValue: model },
        { provide: COMPLIANCE_QUERIES, useValue: new ComplianceQueries(model, { ...infra.reference, warnings: infra.config.deadlineWarnings }) },
        { provide: COMPLIANCE_REFERENCE, useValue: infra.reference },
        { provide: STREAM_LIMITS, useValue: { total: infra.config.limits.streamClients, perCaller: Math.min(4, Math.max(1, infra.config.limits.streamClients)) } },
      ],
    };
  }
}
