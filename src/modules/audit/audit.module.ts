/** The auditors' capability: case history, as-of state, deadline explanations, verification, evidence, access log. */
import { Inject, Module, type DynamicModule, type OnModuleInit } from '@nestjs/common';
import { HttpAdapterHost } from '@nestjs/core';
import type { Infrastructure } from '../../app/infrastructure';
import { AuditService } from './audit.service';
import { AUDIT_SERVICE, AuditController } from './http/audit.controller';
import { AuditorAccessLog, type HookHost } from './http/auditor-access-log';

const ACCESS_LOG = Symbol('ACCESS_LOG');

@Module({})
export class AuditModule implements OnModuleInit {
  constructor(
    private readonly adapterHost: HttpAdapterHost,
    @Inject(ACCESS_LOG) private readonly accessLog: AuditorAccessLog,
  ) {}

  static register(infra: Infrastructure): DynamicModule {
    const audit = new AuditService(infra.eventLog, infra.reference.catalog, infra.reference.calendar, infra.keys.active.privateKey, undefined, infra.transparency);
    return {
      module: AuditModule,
      controllers: [AuditController],
      providers: [
        { provide: AUDIT_SERVICE, useValue: audit },
        { provide: ACCESS_LOG, useValue: new AuditorAccessLog(infra.eventLog, infra.logger.child({ component: 'audit' })) },
      ],
    };
  }

  /** Before the server listens: fastify takes hooks until it is ready. */
  onModuleInit(): void {
    this.accessLog.install(this.adapterHost.httpAdapter.getInstance<HookHost>());
  }
}
