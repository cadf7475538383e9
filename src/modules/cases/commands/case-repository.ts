/**
 * Loads case streams from the event log and folds them into state. Keeps recently used cases in memory: a
 * command decides on the cached fold without reading the log (`cached`), and the append's expected revision
 * guards against any writer the cache has not seen; `load` reads only the events after the cached revision.
 */
import { LRUCache } from 'lru-cache';
import type { EventLog, RecordedEvent } from '../../event-log/event-log.port';
import { caseVersion, type Catalog, type RegulationVersion } from '../../regulations/domain/catalog';
import type { CaseEvent, CaseEventMetadata } from '../domain/case-event';
import { caseStreamId } from '../domain/case-event';
import { upcasters } from '../domain/case-event-data';
import { evolve, openingOf, type CaseState } from '../domain/case-state';
import type { PersonalDataProtection } from './case-command-service';

/** What a command with an Idempotency-Key answered, found again from the event it wrote. */
export interface IdempotentAnswer {
  fingerprint: string;
  revision: number;
  position: number;
  stepId: string;
  eventType: string;
}

export interface LoadedCase {
  state: CaseState;
  version: RegulationVersion;
  /** Keyed by `${actorId}\n${key}`. */
  idempotency: ReadonlyMap<string, IdempotentAnswer>;
}

export const idempotencyIndexKey = (actorId: string, key: string): string => `${actorId}\n${key}`;

const NO_KEYS: ReadonlyMap<string, IdempotentAnswer> = new Map();

/** A stored event as the domain reads it: current schema (upcast), typed metadata. */
export function toCaseEvent(event: RecordedEvent): CaseEvent {
  const metadata = event.metadata as CaseEventMetadata;
  const data = upcasters.upcast(event.type, metadata.schemaVersion ?? 1, event.data as Record<string, unknown>);
  // The data was parsed with its type's schema when it was written, and the upcasters bring it to the current one.
  return { type: event.type, data, metadata, revision: event.revision, position: event.position } as CaseEvent;
}

/** How the repository found the cases commands asked for: folded already, or read from the log. */
export interface CaseCacheStats {
  hits: number;
  reads: number;
  size: number;
}

export class CaseRepository {
  /** Least recently used out first; none with a size of 0 (every command folds its case from the log). */
  private readonly cache: LRUCache<string, LoadedCase> | null;
  private hits = 0;
  private reads = 0;

  constructor(
    private readonly log: EventLog,
    private readonly catalog: Catalog,
    private readonly cacheSize = 10_000,
    /** Opens stored acts' personal fields (the command side reads the applicant's IIN); absent: acts are read as stored. */
    private readonly personalData?: Pick<PersonalDataProtection, 'open'>,
  ) {
    this.cache = cacheSize > 0 ? new LRUCache({ max: cacheSize }) : null;
  }

  async load(caseId: string): Promise<LoadedCase | null> {
    this.reads++;
    const cached = this.cache?.get(caseId);
    const stored = await this.log.readStream(
      caseStreamId(caseId),
      cached ? { fromRevision: cached.state.revision + 1 } : {},
    );
    const events = this.personalData
      ? await this.personalData.open(stored, { kind: 'system', purpose: 'commands' })
      : stored;
    if (!cached && events.length === 0) return null;
    let loaded = cached ?? null;
    for (const recorded of events) loaded = this.fold(loaded, recorded);
    this.remember(caseId, loaded!);
    return loaded;
  }

  /** The case as last folded here, asking the log nothing: it may be behind a writer in another process. */
  cached(caseId: string): LoadedCase | null {
    const loaded = this.cache?.get(caseId);
    if (!loaded) return null;
    this.hits++;
    return loaded;
  }

  stats(): CaseCacheStats {
    return { hits: this.hits, reads: this.reads, size: this.cache?.size ?? 0 };
  }

  /** Folds events the caller has just appended, so the next command does not re-read them. */
  applyAppended(caseId: string, events: readonly RecordedEvent[]): void {
    let loaded = this.cache?.get(caseId) ?? null;
    if (loaded === null && events[0]?.revision !== 0) return;
    for (const event of events) {
      if (loaded && event.revision !== loaded.state.revision + 1) {
        this.cache?.delete(caseId);
        return;
      }
      loaded = this.fold(loaded, event);
    }
    if (loaded) this.remember(caseId, loaded);
  }

  forget(caseId: string): void {
    this.cache?.delete(caseId);
  }

  private fold(loaded: LoadedCase | null, recorded: RecordedEvent): LoadedCase {
    const event = toCaseEvent(recorded);
    const version = loaded?.version ?? this.versionOf(openingOf(event).data.versionId);
    // Commands never read a case's acts (decide looks at what is done, signed and assigned), and the acts are most
    // of a folded case's memory: the command side keeps none, so more cases stay folded in the same memory.
    const state: CaseState = { ...evolve(loaded?.state ?? null, event, version), acts: [] };
    const key = event.metadata.idempotency;
    // Shared until a command with a key adds to it: most cases never see one.
    let idempotency = loaded?.idempotency ?? NO_KEYS;
    if (key) {
      const withKey = new Map(idempotency);
      withKey.set(idempotencyIndexKey(event.metadata.actor.id, key.key), {
        fingerprint: key.fingerprint,
        revision: event.revision,
        position: recorded.position,
        stepId: event.metadata.stepId,
        eventType: event.type,
      });
      idempotency = withKey;
    }
    return { state, version, idempotency };
  }

  private versionOf(versionId: string): RegulationVersion {
    return caseVersion(this.catalog, versionId);
  }

  private remember(caseId: string, loaded: LoadedCase): void {
    this.cache?.set(caseId, loaded);
  }
}
