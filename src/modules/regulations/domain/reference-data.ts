import type { WorkingCalendar } from '../../calendar/domain/working-calendar';
import type { Catalog } from './catalog';

/** The regulations and the working-day calendars a process serves by; app/ loads and validates them at start-up. */
export interface ReferenceData {
  catalog: Catalog;
  calendars: ReadonlyMap<string, WorkingCalendar>;
  /** The calendar the regulations' deadlines use. */
  calendar: WorkingCalendar;
}
