import { Module, type DynamicModule } from '@nestjs/common';
import type { WorkingCalendar } from '../domain/working-calendar';
import { CALENDARS, CalendarController } from './calendar.controller';

/** Working-day calendars over HTTP; the calendars are loaded and validated before Nest starts. */
@Module({})
export class CalendarModule {
  static register(calendars: ReadonlyMap<string, WorkingCalendar>): DynamicModule {
    return {
      module: CalendarModule,
      controllers: [CalendarController],
      providers: [{ provide: CALENDARS, useValue: calendars }],
      exports: [CALENDARS],
    };
  }
}
