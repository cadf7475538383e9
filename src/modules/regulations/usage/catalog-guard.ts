/**
 * Start-up check of the regulation catalog against the stored cases (issue 14.10: a renamed step started fine and
 * stranded cases in progress; a removed file gave 500s). Every event pins its regulation version; the versions in
 * use, with the tracks and steps their cases use, come from the `catalog-usage` read model plus the log after its
 * checkpoint (the whole log when that model is not built yet). Each version in use is also pinned in the log
 * (stream `catalog-pins`) with its content hashes when first used, so a changed file is seen.
 *
 * Refused, naming the version and its cases (the first few and a count): a version in use that is gone; a track
 * or step in use that is gone; a structural change to a version in use (a published version is immutable: changes
 * are new versions). Allowed, and pinned again: a change to the words only (labels, titles, notes, quotes). The
 * override CATALOG_CHANGE_ALLOWED=<versionId>[,…] (or `*`) lets a deliberate correction start; a version that is
 * gone is never allowed (its cases could not be read at all).
 */
import type { Logger } from 'pino';
import type { EventLog } from '../../event-log/event-log.port';
import type { ReadStore } from '../../read-store/read-store.port';
import { ProjectionRegistry } from '../../../projections/projection-registry';
import { checkpointKey, physicalCollection } from '../../../projections/projection';
import type { Catalog } from '../domain/catalog';
import { fingerprintOf, type VersionFingerprint } from '../domain/version-fingerprint';
import {
  applyUsage,
  CATALOG_USAGE_PROJECTION,
  VERSIONS_IN_USE,
  type UsageCount,
  type VersionUsage,
} from './catalog-usage.projection';
import { CASE_STREAM_PREFIX } from '../../cases/domain/case-event';
import { appendSealed } from '../../transparency/sealed-append';

export const CATALOG_PINS_STREAM = 'catalog-pins';
export const VERSION_PINNED = 'RegulationVersionPinned';

export interface VersionPin extends VersionFingerprint {
  versionId: string;
  /** Why it was pinned again: a change to its words only, or an operator's override. */
  reason: 'first-use' | 'words-changed' | 'override';
}

export class CatalogChangedError extends Error {
  override readonly name = 'CatalogChangedError';
  constructor(readonly problems: string[]) {
    super(
      `the regulation catalog no longer matches the stored cases:\n${problems.map((p) => `  - ${p}`).join('\n')}\n` +
        'A published version is immutable: put a change in a new version file (a new act, its own effective period) and restore the old file as it was. ' +
        'For a deliberate correction of a version in use, start once with CATALOG_CHANGE_ALLOWED=<versionId>[,<versionId>…] (the change is then pinned in the log, catalog-pins stream).',
    );
  }
}

const cases = (use: UsageCount) => `${use.cases} case(s), e.g. ${use.sample.join(', ')}`;

/** The versions the stored cases use, from the read model and the log's tail after it (or the whole log). */
async function versionsInUse(log: EventLog, store: ReadStore): Promise<Map<string, VersionUsage>> {
  const usage = new Map<string, VersionUsage>();
  const entry = await new ProjectionRegistry(store).get(CATALOG_USAGE_PROJECTION);
  let after = 0;
  if (entry?.active) {
    for (const doc of await store
      .collection<VersionUsage>(physicalCollection(CATALOG_USAGE_PROJECTION, entry.active, VERSIONS_IN_USE))
      .find({}))
      usage.set(doc._id, doc);
    after = (await store.getCheckpoint(checkpointKey(CATALOG_USAGE_PROJECTION, entry.active)))?.position ?? 0;
  }
  for (;;) {
    const batch = await log.readAll({ after, maxCount: 5_000, filter: { streamPrefixes: [CASE_STREAM_PREFIX] } });
    if (batch.length === 0) break;
    for (const event of batch) {
      const versionId = (event.metadata as { regulation?: { versionId?: unknown } }).regulation?.versionId;
      if (typeof versionId !== 'string') continue;
      const next = applyUsage(usage.get(versionId) ?? null, event);
      if (next) usage.set(versionId, next);
    }
    after = batch[batch.length - 1]!.position;
  }
  return usage;
}

async function readPins(log: EventLog): Promise<Map<string, VersionPin>> {
  const pins = new Map<string, VersionPin>();
  for (const event of await log.readStream(CATALOG_PINS_STREAM)) {
    const pin = event.data as VersionPin;
    if (event.type === VERSION_PINNED && typeof pin?.versionId === 'string') pins.set(pin.versionId, pin);
  }
  return pins;
}

/** What start-up found and the pins it keeps: used by the command side to pin a version at its first use. */
export class CatalogPins {
  private readonly pending = new Map<string, Promise<void>>();

  constructor(
    private readonly log: EventLog,
    private readonly catalog: Catalog,
    private readonly pinned: Map<string, VersionPin>,
    private readonly logger: Logger,
  ) {}

  /** Pins a version at its first use (once per process; a repeat by another process is harmless). */
  versionUsed(versionId: string): Promise<void> {
    if (this.pinned.has(versionId)) return Promise.resolve();
    const pending = this.pending.get(versionId);
    if (pending) return pending;
    const version = this.catalog.byId.get(versionId);
    if (!version) return Promise.resolve();
    const pin: VersionPin = { versionId, ...fingerprintOf(version), reason: 'first-use' };
    const done = appendSealed(this.log, CATALOG_PINS_STREAM, [{ type: VERSION_PINNED, data: pin }])
      .then(() => void this.pinned.set(versionId, pin))
      .catch((error: unknown) =>
        this.logger.warn(
          { versionId, err: String(error) },
          'could not pin a regulation version; it is pinned at the next start',
        ),
      )
      .finally(() => this.pending.delete(versionId));
    this.pending.set(versionId, done);
    return done;
  }

  async settled(): Promise<void> {
    await Promise.all(this.pending.values());
  }
}

/**
 * Compares every version in use with the catalog; throws CatalogChangedError naming what breaks stored cases.
 * `pinVersions`: whether this process pins (the API; the worker and the demo leave it to the API's next start).
 */
export async function checkCatalog(options: {
  log: EventLog;
  store: ReadStore;
  catalog: Catalog;
  allowed: readonly string[];
  logger: Logger;
  pinVersions: boolean;
}): Promise<CatalogPins> {
  const { log, store, catalog, allowed, logger } = options;
  const usage = await versionsInUse(log, store);
  const pins = await readPins(log);
  const problems: string[] = [];
  const repin: VersionPin[] = [];
  const overridden = (versionId: string) => allowed.includes('*') || allowed.includes(versionId);
  for (const [versionId, use] of usage) {
    const version = catalog.byId.get(versionId);
    if (!version) {
      problems.push(
        `version ${versionId} is used by ${cases(use)} but is no longer in the catalog (its file was removed or its id changed); restore the file`,
      );
      continue;
    }
    const breaks: string[] = [];
    const tracks = new Set(version.tracks.map((t) => t.id));
    const steps = new Set(version.steps.map((s) => s.id));
    for (const [trackId, trackUse] of Object.entries(use.tracks))
      if (!tracks.has(trackId))
        breaks.push(`track ${trackId}, used by ${cases(trackUse)}, is no longer in ${versionId}`);
    for (const [stepId, stepUse] of Object.entries(use.steps))
      if (!steps.has(stepId))
        breaks.push(`step ${stepId}, recorded on ${cases(stepUse)}, is no longer in ${versionId} (renamed or removed)`);
    const now = fingerprintOf(version);
    const pin = pins.get(versionId);
    if (pin && pin.structuralHash !== now.structuralHash)
      breaks.push(
        `${versionId} (${version.file}) changed since its cases were recorded under it (${cases(use)}): a published version is immutable`,
      );
    if (breaks.length > 0 && overridden(versionId)) {
      logger.warn(
        { versionId, changes: breaks },
        'regulation version changed under stored cases; started anyway because CATALOG_CHANGE_ALLOWED names it',
      );
      repin.push({ versionId, ...now, reason: 'override' });
    } else if (breaks.length > 0) {
      problems.push(...breaks);
    } else if (!pin) {
      repin.push({ versionId, ...now, reason: 'first-use' });
    } else if (pin.hash !== now.hash) {
      logger.info(
        { versionId },
        'regulation version in use changed in its words only (labels, notes, quotes); pinned again',
      );
      repin.push({ versionId, ...now, reason: 'words-changed' });
    }
  }
  if (problems.length > 0) throw new CatalogChangedError(problems);
  if (options.pinVersions && repin.length > 0) {
    await appendSealed(
      log,
      CATALOG_PINS_STREAM,
      repin.map((pin) => ({ type: VERSION_PINNED, data: pin })),
    );
    for (const pin of repin) pins.set(pin.versionId, pin);
  }
  return new CatalogPins(log, catalog, pins, logger);
}
