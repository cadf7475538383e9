/** Which version of a service governs a case filed at a given instant. */
import type { TimeZone } from '../../calendar/domain/time-zone';
import type { Catalog, RegulationVersion } from './catalog';

export class UnknownServiceError extends Error {
  constructor(
    readonly serviceId: string,
    readonly known: string[],
  ) {
    super(`unknown service "${serviceId}"; the catalog has: ${known.join(', ')}`);
    this.name = 'UnknownServiceError';
  }
}

export class NoVersionInForceError extends Error {
  constructor(
    readonly serviceId: string,
    readonly instant: Date,
    readonly localDate: string,
    readonly versions: { versionId: string; from: string; until: string | null }[],
  ) {
    super(
      `no version of "${serviceId}" was in force at ${instant.toISOString()} (${localDate} in Asia/Almaty); its versions: ` +
        versions.map((v) => `${v.versionId} ${v.from} to ${v.until ?? 'open-ended'}`).join('; '),
    );
    this.name = 'NoVersionInForceError';
  }
}

/** The version in force on the local date of `instant` (Asia/Almaty): effective.from ≤ date ≤ effective.until. */
export function resolveVersion(catalog: Catalog, serviceId: string, instant: Date, zone: TimeZone): RegulationVersion {
  const versions = catalog.byService.get(serviceId);
  if (!versions) throw new UnknownServiceError(serviceId, [...catalog.byService.keys()]);
  const date = zone.toLocal(instant).date;
  const found = versions.find(
    (v) => v.effective.from <= date && (v.effective.until === null || date <= v.effective.until),
  );
  if (!found) {
    throw new NoVersionInForceError(
      serviceId,
      instant,
      date,
      versions.map((v) => ({ versionId: v.versionId, from: v.effective.from, until: v.effective.until })),
    );
  }
  return found;
}
