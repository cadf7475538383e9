import { Module, type DynamicModule } from '@nestjs/common';
import type { WorkingCalendar } from '../../calendar/domain/working-calendar';
import type { Catalog } from '../domain/catalog';
import { CATALOG, REGULATION_CALENDAR, RegulationsController } from './regulations.controller';

/** The regulation catalog over HTTP; the catalog is loaded and validated before Nest starts. */
@Module({})
export class RegulationsModule {
  static register(catalog: Catalog, calendar: WorkingCalendar): DynamicModule {
    return {
      module: RegulationsModule,
      controllers: [RegulationsController],
      providers: [
        { provide: CATALOG, useValue: catalog },
        { provide: REGULATION_CALENDAR, useValue: calendar },
      ],
      exports: [CATALOG, REGULATION_CALENDAR],
    };
  }
}
