/**
 * Walks of a regulation version's track, generated from the catalog: the non-optional steps in an order
 * that respects `after`, each with a caller holding its role and valid data for its event type.
 */
import type { RegulationVersion } from '../../src/modules/regulations/domain/catalog';
import type { TestCaller } from './api-harness';

export { mainPath, validStepData } from './case-specification';
import { VALID_DATA as TYPED_VALID_DATA } from './case-specification';

/** Valid data for each event type a step can record (the domain specification's table). */
export const VALID_DATA: Record<string, Record<string, unknown>> = TYPED_VALID_DATA;

/**
 * A caller holding exactly this role, acting for the unit; the applicant is a citizen as the e-government
 * identity provider signs them in: the case's IIN and no unit.
 */
export function callerFor(role: string, unit: string, applicantIin: string, suffix = ''): TestCaller {
  if (role === 'applicant') return { sub: `applicant-${applicantIin}`, roles: ['applicant'], iin: applicantIin };
  return { sub: `${role}-${unit}${suffix}`, roles: [role], unit };
}

/** Every version × track of a catalog. */
export function versionTracks(versions: readonly RegulationVersion[]): [string, RegulationVersion, string][] {
  return versions.flatMap((v) =>
    v.tracks.map((t) => [`${v.versionId} / ${t.id}`, v, t.id] as [string, RegulationVersion, string]),
  );
}

/** A business day inside the version's period, for its submissions (postgraduate intake: before July). */
export function filingDay(version: RegulationVersion): string {
  return version.effective.from.startsWith('2019') ? '2019-04-15' : '2015-09-15';
}

/** The body of a filing of this version's case: its first track, the portal where the version offers it (else the office). */
export function filingBody(
  version: RegulationVersion,
  unit: string,
  applicant: { iin: string; fullName: string },
  occurredAt: string,
) {
  return {
    serviceId: version.serviceId,
    trackId: version.tracks[0]!.id,
    channel: version.channels.some((c) => c.id === 'portal') ? 'portal' : 'office',
    unit,
    applicant,
    occurredAt,
  };
}
