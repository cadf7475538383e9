/**
 * Subject keys are kept wrapped (AES-256-GCM) under the master key from configuration, each bound to its subject
 * id, so the key store alone (a copied keys.db, a MongoDB dump) opens nothing. The store keeps a key check value:
 * an HMAC of a fixed text under the master key, so a wrong master key is refused at start rather than found later
 * as undecryptable events. Rotation re-wraps the subject keys; the events are never re-encrypted. Pure.
 */
import { createCipheriv, createDecipheriv, createHmac, randomBytes, timingSafeEqual } from 'node:crypto';

export const KEY_BYTES = 32;

export function newDataKey(): Buffer {
  return randomBytes(KEY_BYTES);
}

/** The master key from its configured text: 64 hex digits or 32 bytes in base64/base64url. */
export function parseMasterKey(text: string): Buffer | null {
  const t = text.trim();
  if (/^[0-9a-fA-F]{64}$/.test(t)) return Buffer.from(t, 'hex');
  if (/^[A-Za-z0-9+/_-]{43}=?$/.test(t)) {
    const key = Buffer.from(t.replace(/\+/g, '-').replace(/\//g, '_').replace(/=$/, ''), 'base64url');
    if (key.length === KEY_BYTES) return key;
  }
  return null;
}

export function keyCheckValue(master: Buffer): string {
  return createHmac('sha256', master).update('reglament/personal-data/master-key-check/v1').digest('hex');
}

export function masterKeyMatches(master: Buffer, checkValue: string): boolean {
  const expected = Buffer.from(keyCheckValue(master), 'hex');
  const stored = Buffer.from(checkValue, 'hex');
  return stored.length === expected.length && timingSafeEqual(stored, expected);
}

const wrapContext = (id: string) => Buffer.from(`reglament/personal-data/wrapped-key/v1\n${id}`, 'utf8');

export const WRAP_IV_BYTES = 12;

/**
 * iv (12) ‖ tag (16) ‖ wrapped key (32). `iv`: 12 fresh random bytes, used once; a caller wrapping a group of keys passes
 * slices of one draw (a CSPRNG call per key cost more than its wrapping).
 */
export function wrapKey(master: Buffer, id: string, key: Buffer, iv: Buffer = randomBytes(WRAP_IV_BYTES)): Buffer {
  const cipher = createCipheriv('aes-256-gcm', master, iv);
  cipher.setAAD(wrapContext(id));
  const ct = Buffer.concat([cipher.update(key), cipher.final()]);
  return Buffer.concat([iv, cipher.getAuthTag(), ct]);
}

export function unwrapKey(master: Buffer, id: string, wrapped: Buffer): Buffer {
  const decipher = createDecipheriv('aes-256-gcm', master, wrapped.subarray(0, 12));
  decipher.setAAD(wrapContext(id));
  decipher.setAuthTag(wrapped.subarray(12, 28));
  return Buffer.concat([decipher.update(wrapped.subarray(28)), decipher.final()]);
}
