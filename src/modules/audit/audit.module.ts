/** The auditors' capability: case history, as-of state, deadline explanations, verification, evidence, access log. */
import { Inject, Module, type DynamicModule, type OnModuleInit } from '@nestjs/common';
import { HttpAdapterHost } from '@nestjs/core';
import type { KeyObject } from 'node:crypto';
import type { Logger } from 'pino';
import type { EventLog } from '../event-log/event-log.port';
import type { PersonalDataVault } from '../personal-data/personal-data-vault';
import type { ReferenceData } from '../regulations/domain/reference-data';
import type { EvidenceProofs } from '../transparency/evidence-proofs';
import { AuditService } from './audit.service';
import { AUDIT_SERVICE, AuditController } from './http/audit.controller';
import { AuditorAccessLog, type HookHost } from './http/auditor-access-log';

const ACCESS_LOG = Symbol('ACCESS_LOG');

/** What the auditors' module needs from the process that hosts it; app/ provides it. */
export interface AuditModuleDeps {
  eventLog: EventLog;
  reference: Pick<ReferenceData, 'catalog' | 'calendar'>;
  /** The key that signs evidence packs. */
  keys: { active: { privateKey: KeyObject } };
  clock: () => Date;
  /** The verifiable log's proofs for evidence packs: this process's tree, or the worker's; null where neither is. */
  evidenceProofs: EvidenceProofs | null;
  personalData: PersonalDataVault;
  logger: Logger;
}

@Module({})
export class AuditModule implements OnModuleInit {
  constructor(
    private readonly adapterHost: HttpAdapterHost,
    @Inject(ACCESS_LOG) private readonly accessLog: AuditorAccessLog,
  ) {}

  static register(infra: AuditModuleDeps): DynamicModule {
    // Said once, by the process that serves evidence packs (not by every command that opens the stores).
    if (!infra.evidenceProofs)
      infra.logger.warn(
        {},
        'evidence packs carry no inclusion proofs: this process keeps no tree of the log and TRANSPARENCY_WORKER_URL names no worker that does; verify-evidence will call them not valid',
      );
    const audit = new AuditService(
      infra.eventLog,
      infra.reference.catalog,
      infra.reference.calendar,
      infra.keys.active.privateKey,
      infra.clock,
      infra.evidenceProofs,
      infra.personalData,
    );
    return {
      module: AuditModule,
      controllers: [AuditController],
      providers: [
        { provide: AUDIT_SERVICE, useValue: audit },
        {
          provide: ACCESS_LOG,
          useValue: new AuditorAccessLog(infra.eventLog, infra.logger.child({ component: 'audit' })),
        },
      ],
    };
  }

  /** Before the server listens: fastify takes hooks until it is ready. */
  onModuleInit(): void {
    this.accessLog.install(this.adapterHost.httpAdapter.getInstance<HookHost>());
  }
}
