import type { ModuleMetadata } from '@nestjs/common';
import { AuditModule } from '../modules/audit/audit.module';
import { CasesModule } from '../modules/cases/cases.module';
import { ComplianceModule } from '../modules/compliance/compliance.module';
import { PersonalDataModule } from '../modules/personal-data/personal-data.module';
import { CalendarModule } from '../modules/calendar/http/calendar.module';
import { IdentityModule } from '../modules/identity/http/identity.module';
import { RegulationsModule } from '../modules/regulations/http/regulations.module';
import { DeadlineAlertsModule } from '../modules/deadline-alerts/deadline-alerts.module';
import { TransparencyModule } from '../modules/transparency/transparency.module';
import type { Infrastructure } from './infrastructure';

/**
 * The capability modules served by the API. Each capability owns its folder under src/modules/;
 * this is the one list that mounts them.
 */
export async function featureModules(infra: Infrastructure): Promise<NonNullable<ModuleMetadata['imports']>> {
  return [
    IdentityModule.register(infra.identity),
    CalendarModule.register(infra.reference.calendars),
    RegulationsModule.register(infra.reference.catalog, infra.reference.calendar),
    CasesModule.register(infra),
    AuditModule.register(infra),
    ComplianceModule.register(infra),
    TransparencyModule.register(infra.transparency, infra.config.transparency.access, infra.eventLog),
    DeadlineAlertsModule.register(infra),
    PersonalDataModule.register(infra),
  ];
}
