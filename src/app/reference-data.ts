import { loadCalendars } from '../modules/calendar/domain/load-calendar';
import { assertTimeZoneData } from '../modules/calendar/domain/time-zone';
import { loadCatalog } from '../modules/regulations/domain/catalog';
import type { ReferenceData } from '../modules/regulations/domain/reference-data';
import type { AppConfig } from '../shared/config/config';

export type { ReferenceData };

/** The regulations and calendars, validated at start-up: a bad file stops the process before it serves anything. */
export function loadReferenceData(config: Pick<AppConfig, 'regulationsDir' | 'calendarsDir'>): ReferenceData {
  assertTimeZoneData();
  const calendars = loadCalendars(config.calendarsDir);
  const calendar = calendars.get('KZ');
  if (!calendar)
    throw new Error(`CALENDARS_DIR ${config.calendarsDir} has no KZ.yaml; the Kazakhstan calendar is required`);
  return { catalog: loadCatalog(config.regulationsDir), calendars, calendar };
}
