/**
 * A citizen in what the log keeps of their own acts. As the act's actor they are the case's applicant
 * (CASE_APPLICANT_ACTOR), not their token's subject and name. The ids an Idempotency-Key gives their acts (the case's,
 * the acts', the key's reservation stream) are derived from their token's subject, which may carry their IIN
 * (`egov-880101300123`): a plain hash of it could be tested against the IINs by anyone who reads the log, after the
 * person is erased too. So it is keyed first, as the idempotency fingerprints are. Pure.
 */
import { createHmac } from 'node:crypto';
import type { Principal } from '../../identity/domain/principal';
import { isCaseApplicantActor, type CaseActor } from '../../cases/domain/case-event';
import { WITHHELD } from './personal-fields';

/**
 * What the ids an Idempotency-Key gives are derived from: the token's subject keyed when the token carries an IIN (a
 * citizen, or staff who are also an applicant: their acts as the case's applicant must not be told apart by a plain
 * hash of their subject); other staff's subject as it is.
 */
export function idBasis(key: Buffer, principal: Principal): string {
  return carriesIin(principal)
    ? `citizen:${createHmac('sha256', key).update(`citizen\n${principal.id}`).digest('hex')}`
    : principal.id;
}

export const carriesIin = (principal: Principal): boolean => principal.iin !== undefined;

/**
 * Whether an act's actor is the applicant as their token named them: an act of their own recorded before the case's
 * applicant was recorded as such. An erasure scrubs such an actor from the read models; the log keeps it.
 */
export function namesCitizenInClear(actor: CaseActor | undefined): actor is CaseActor {
  return (
    actor !== undefined && actor.role === 'applicant' && actor.onBehalfOf === undefined && !isCaseApplicantActor(actor)
  );
}

/**
 * An event's metadata as it may leave the service without the vault (the feed, webhooks), as its personal fields do
 * (withoutClearPersonalData): an applicant named as their token named them is withheld.
 */
export function metadataWithoutClearCitizen(metadata: Record<string, unknown>): Record<string, unknown> {
  const actor = metadata.actor as CaseActor | undefined;
  return namesCitizenInClear(actor) ? { ...metadata, actor: { ...actor, id: WITHHELD, name: WITHHELD } } : metadata;
}
