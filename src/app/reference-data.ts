import { loadCalendars } from '../modules/calendar/domain/load-calendar';
import { assertTimeZoneData } from '../modules/calendar/domain/time-zone';
import type { WorkingCalendar } from '../modules/calendar/domain/working-calendar';
import { loadCatalog, type Catalog } from '../modules/regulations/domain/catalog';
import type { AppConfig } from '../shared/config/config';

/** The regulations and calendars, validated at start-up: a bad file stops the process before it serves anything. */
export interface ReferenceData {
  catalog: Catalog;
  calendars: ReadonlyMap<string, WorkingCalendar>;
  /** The calendar the regulations' deadlines use. */
  calendar: WorkingCalendar;
}

export function loadReferenceData(config: Pick<AppConfig, 'regulationsDir' | 'calendarsDir'>): ReferenceData {
  assertTimeZoneData();
  const calendars = loadCalendars(config.calendarsDir);
  const calendar = calendars.get('KZ');
  if (!calendar) throw new Error(`CALENDARS_DIR ${config.calendarsDir} has no KZ.yaml; the Kazakhstan calendar is required`);
  return { catalog: loadCatalog(config.regulationsDir), calendars, calendar };
}
