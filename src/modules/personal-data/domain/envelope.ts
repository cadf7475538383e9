/**
 * The envelope a personal field is stored in, in place of its clear value (format v1):
 *
 *   { "$enc": "v1", "kid": "<subject id>", "iv": "<12 bytes>", "ct": "<ciphertext>", "tag": "<16 bytes>" }
 *
 * AES-256-GCM under the data subject's key; iv, ct and tag are base64url; the plaintext is the field's JSON value.
 * The additional authenticated data binds the ciphertext to where it stands (case, event type, field), so an
 * envelope copied into another event or field does not decrypt. The kid names the subject, never the person: it is a
 * random id (UUID v7 from the embedded store: the time the key was made, then random bits) the key store maps to a key. One envelope per field keeps the event's shape (every other field stays
 * readable to auditors and projections) and lets each field be erased to its own placeholder. Pure.
 */
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';

export const ENVELOPE_VERSION = 'v1';

export interface Envelope {
  $enc: typeof ENVELOPE_VERSION;
  kid: string;
  iv: string;
  ct: string;
  tag: string;
}

export function isEnvelope(value: unknown): value is Envelope {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return false;
  const v = value as Record<string, unknown>;
  return (
    v.$enc === ENVELOPE_VERSION &&
    typeof v.kid === 'string' &&
    typeof v.iv === 'string' &&
    typeof v.ct === 'string' &&
    typeof v.tag === 'string'
  );
}

/** Where a field stands: what its ciphertext is bound to. */
export function fieldContext(caseId: string, eventType: string, field: string): Buffer {
  return Buffer.from(`reglament/personal-data/v1\n${caseId}\n${eventType}\n${field}`, 'utf8');
}

/**
 * Random IVs are taken from one CSPRNG draw of many at a time: a randomBytes call per field cost more than the field's
 * encryption. Each IV is 12 fresh random bytes, used once, as before.
 */
const IV_BYTES = 12;
const IVS_PER_DRAW = 1024;
let ivPool = Buffer.alloc(0);
let ivAt = 0;

function nextIv(): Buffer {
  if (ivAt + IV_BYTES > ivPool.length) {
    ivPool = randomBytes(IV_BYTES * IVS_PER_DRAW);
    ivAt = 0;
  }
  const iv = ivPool.subarray(ivAt, ivAt + IV_BYTES);
  ivAt += IV_BYTES;
  return iv;
}

export function sealValue(key: Buffer, kid: string, context: Buffer, value: unknown): Envelope {
  const iv = nextIv();
  const cipher = createCipheriv('aes-256-gcm', key, iv);
  cipher.setAAD(context);
  const ct = Buffer.concat([cipher.update(JSON.stringify(value), 'utf8'), cipher.final()]);
  return {
    $enc: ENVELOPE_VERSION,
    kid,
    iv: iv.toString('base64url'),
    ct: ct.toString('base64url'),
    tag: cipher.getAuthTag().toString('base64url'),
  };
}

/** The clear value; throws when the key, the context or the envelope does not match (a damaged or moved envelope). */
export function openValue(key: Buffer, context: Buffer, envelope: Envelope): unknown {
  const decipher = createDecipheriv('aes-256-gcm', key, Buffer.from(envelope.iv, 'base64url'));
  decipher.setAAD(context);
  decipher.setAuthTag(Buffer.from(envelope.tag, 'base64url'));
  const clear = Buffer.concat([decipher.update(Buffer.from(envelope.ct, 'base64url')), decipher.final()]);
  return JSON.parse(clear.toString('utf8'));
}
