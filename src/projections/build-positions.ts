import type { EventLog } from '../modules/event-log/event-log.port';
import type { ReadStore } from '../modules/read-store/read-store.port';
import { checkpointKey, type Build, type Projection } from './projection';
import { ProjectionRegistry } from './projection-registry';

/** Where one build of a projection stands: its checkpoint's position and the id of the event there, when recorded. */
export interface BuildPosition {
  projection: string;
  build: Build;
  which: 'active' | 'building';
  key: string;
  position: number;
  eventId?: string;
}

/** The checkpoints of every build readers use or that is being built, as the read store records them. */
export async function buildPositions(store: ReadStore, projections: readonly Projection[]): Promise<BuildPosition[]> {
  const registry = new ProjectionRegistry(store);
  const found: BuildPosition[] = [];
  for (const { name } of projections) {
    const entry = await registry.get(name);
    for (const which of ['active', 'building'] as const) {
      const build = entry?.[which];
      if (!build) continue;
      const key = checkpointKey(name, build);
      const checkpoint = await store.getCheckpoint(key);
      if (!checkpoint || checkpoint.position === 0) continue;
      found.push({
        projection: name,
        build: { version: build.version, generation: build.generation },
        which,
        key,
        position: checkpoint.position,
        ...(checkpoint.eventId ? { eventId: checkpoint.eventId } : {}),
      });
    }
  }
  return found;
}

/**
 * Why a position recorded against the log is not in the log as it is now, or null when it is: past the head (the
 * log lost events, or is an older copy), or a different event there (another history). The event is looked up only
 * where positions are gapless event numbers (the embedded log); elsewhere only the head is compared.
 */
export async function positionNotInLog(
  log: EventLog,
  recorded: { position: number; eventId?: string },
  head: number,
): Promise<string | null> {
  if (recorded.position > head) return `position ${recorded.position} is past the log's head ${head}`;
  if (!recorded.eventId || log.kind !== 'sqlite') return null;
  const [event] = await log.readAll({ after: recorded.position - 1, maxCount: 1 });
  if (!event || event.position !== recorded.position) return `the log has no event at position ${recorded.position}`;
  if (event.id !== recorded.eventId)
    return `the event at position ${recorded.position} is ${event.id}, not ${recorded.eventId} as recorded`;
  return null;
}
