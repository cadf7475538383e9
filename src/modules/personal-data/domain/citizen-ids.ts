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
import { isEnvelope } from './envelope';
import { ERASED, personalFieldsOf, WITHHELD } from './personal-fields';

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
  return citizenNamed(metadata, WITHHELD);
}

/** An event's metadata once its case is erased: an applicant named as their token named them reads "erased". */
export function scrubClearCitizen(metadata: Record<string, unknown>): Record<string, unknown> {
  return citizenNamed(metadata, ERASED);
}

/** The metadata with a citizen named in clear as the actor named `word` instead (the same object when there is none). */
function citizenNamed(metadata: Record<string, unknown>, word: string): Record<string, unknown> {
  const actor = metadata.actor as CaseActor | undefined;
  return namesCitizenInClear(actor) ? { ...metadata, actor: { ...actor, id: word, name: word } } : metadata;
}

/**
 * Whether a stored act holds personal data in clear, which no key's destruction erases: a personal field stored as it
 * was written (before encryption began), or the citizen who acted named as their token named them.
 */
export function inClear(event: { type: string; data: unknown; metadata: Record<string, unknown> }): boolean {
  if (namesCitizenInClear(event.metadata.actor as CaseActor | undefined)) return true;
  const data = event.data as Record<string, unknown> | null;
  return Object.keys(personalFieldsOf(event.type)).some((field) => {
    const value = data?.[field];
    return value !== undefined && !isEnvelope(value);
  });
}
