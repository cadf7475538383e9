/**
 * A keyed blind index of an IIN: HMAC-SHA-256 under a key the key store keeps (wrapped like the subject keys).
 * Read models store and query it instead of the clear IIN; without the key nobody can test the 10^11 possible IINs
 * against it, as anyone could against a plain hash. Pure.
 */
import { createHmac } from 'node:crypto';
import { ERASED } from './personal-fields';

export function blindIndex(key: Buffer, iin: string): string {
  return createHmac('sha256', key).update(`iin\n${iin}`).digest('hex');
}

/**
 * A key for another keyed digest of personal data (an idempotency fingerprint of a request that carries an IIN and a
 * name), derived from the blind-index key: a plain hash of such a request is tested against the IINs by anyone who
 * reads it (the log, a webhook's receiver), and outlives an erasure.
 */
export function derivedKey(blindIndexKey: Buffer, purpose: string): Buffer {
  return createHmac('sha256', blindIndexKey).update(`derived key\n${purpose}`).digest();
}

/**
 * What a read model stores for an applicant's IIN: its blind index (`iinIndex`, the vault's), "erased" for an erased
 * applicant, the IIN itself only where no vault is configured (a bare model in tests).
 */
export function applicantIndexer(personalData?: { iinIndex(iin: string): string }): (iin: string) => string {
  return (iin) => (iin === ERASED ? ERASED : personalData ? personalData.iinIndex(iin) : iin);
}
