/** The auditors' capability: case history, as-of state, deadline explanations, verification, evidence, access log. */
import { Module, type DynamicModule } from '@nestjs/common';
import { APP_INTERCEPTOR } from '@nestjs/core';
import type { Infrastructure } from '../../app/infrastructure';
import { AuditService } from './audit.service';
import { loadEvidenceKey } from './evidence-key';
import { AUDIT_SERVICE, AuditController } from './http/audit.controller';
import { AUDIT_LOGGER, AuditorAccessLog } from './http/auditor-access-log.interceptor';

@Module({})
export class AuditModule {
  static register(infra: Infrastructure): DynamicModule {
    const { privateKey } = loadEvidenceKey(infra.config.dataDir, infra.config.evidenceKeyFile);
    const audit = new AuditService(infra.eventLog, infra.reference.catalog, infra.reference.calendar, privateKey);
    return {
      module: AuditModule,
      controllers: [AuditController],
      providers: [
        { provide: AUDIT_SERVICE, useValue: audit },
        { provide: AUDIT_LOGGER, useValue: infra.logger.child({ component: 'audit' }) },
        { provide: APP_INTERCEPTOR, useClass: AuditorAccessLog },
      ],
    };
  }
}
