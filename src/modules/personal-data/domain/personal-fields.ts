/**
 * Encrypting, decrypting and scrubbing the personal fields an event type declares (PERSONAL_FIELDS beside the event
 * data schemas). Pure: keys are passed in.
 */
import { PERSONAL_FIELDS, type PersonalFieldKind } from '../../cases/domain/case-event-data';
import { fieldContext, isEnvelope, openValue, sealValue } from './envelope';

export const ERASED = 'erased';

/** The personal fields of an event type, by name; empty for a type that declares none or is not a case act. */
export function personalFieldsOf(eventType: string): Readonly<Record<string, PersonalFieldKind>> {
  return (PERSONAL_FIELDS as Record<string, Record<string, PersonalFieldKind>>)[eventType] ?? {};
}

/** A personal field's value replaced by `word`, of the field's type, so every reader keeps working. */
function placeholder(kind: PersonalFieldKind, word: string): unknown {
  switch (kind) {
    case 'person':
      return { iin: word, fullName: word };
    case 'text':
      return word;
    case 'texts':
      return [word];
    case 'number':
      return null;
  }
}

/** What a personal field reads as once its subject is erased. */
export function erasedValue(kind: PersonalFieldKind): unknown {
  return placeholder(kind, ERASED);
}

export const WITHHELD = 'withheld';

/**
 * The data as it may leave the service without the vault (the feed, webhooks): each personal field as stored, an
 * envelope; one stored in clear (an act recorded before encryption began) withheld, of its type, since no right is
 * checked and no disclosure recorded there. The event's hash no longer verifies for such an act: the log has it.
 */
export function withoutClearPersonalData(eventType: string, data: Record<string, unknown>): Record<string, unknown> {
  let out = data;
  for (const [field, kind] of Object.entries(personalFieldsOf(eventType))) {
    const value = data?.[field];
    if (value === undefined || isEnvelope(value)) continue;
    if (out === data) out = { ...data };
    out[field] = placeholder(kind, WITHHELD);
  }
  return out;
}

export interface SubjectKey {
  kid: string;
  key: Buffer;
}

/** The data as stored: each personal field present replaced by its envelope under the subject's key. */
export function protectData(
  caseId: string,
  eventType: string,
  data: Record<string, unknown>,
  subject: SubjectKey,
): Record<string, unknown> {
  const fields = personalFieldsOf(eventType);
  let out: Record<string, unknown> | null = null;
  for (const field of Object.keys(fields)) {
    const value = data[field];
    if (value === undefined || isEnvelope(value)) continue;
    out ??= { ...data };
    out[field] = sealValue(subject.key, subject.kid, fieldContext(caseId, eventType, field), value);
  }
  return out ?? data;
}

/** Stored personal data that does not open: an envelope that does not decrypt, or a key that does not unwrap. */
export class StoredDataDamaged extends Error {
  override readonly name = 'StoredDataDamaged';
}

export interface OpenedData {
  data: Record<string, unknown>;
  /** Envelopes found (0 for an event stored in clear, before encryption began). */
  encrypted: number;
  /** Envelopes whose key is destroyed, read as their erased placeholder. */
  erased: number;
}

/**
 * The data with every envelope opened, or its placeholder where the subject's key is gone. `keyOf` answers null for
 * an erased subject. An envelope that does not open under a key the store has is damage and throws.
 */
export function openData(
  caseId: string,
  eventType: string,
  data: Record<string, unknown>,
  keyOf: (kid: string) => Buffer | null,
): OpenedData {
  const fields = personalFieldsOf(eventType);
  let out: Record<string, unknown> | null = null;
  let encrypted = 0;
  let erased = 0;
  for (const [field, kind] of Object.entries(fields)) {
    const value = data[field];
    if (!isEnvelope(value)) continue;
    encrypted++;
    out ??= { ...data };
    const key = keyOf(value.kid);
    if (key === null) {
      erased++;
      out[field] = erasedValue(kind);
      continue;
    }
    try {
      out[field] = openValue(key, fieldContext(caseId, eventType, field), value);
    } catch {
      throw new StoredDataDamaged(
        `the ${eventType} field "${field}" of case ${caseId} does not decrypt under its subject's key (${value.kid}): the envelope or the key store is damaged`,
      );
    }
  }
  return { data: out ?? data, encrypted, erased };
}

/**
 * The data with every personal field present replaced by its erased placeholder: what a read model keeps after erasure,
 * and what an evidence pack shows of an erased case's act that the log keeps in clear (envelopes included: their key is
 * destroyed, and the act's hash is not recomputed from the pack anyway).
 */
export function scrubData(eventType: string, data: Record<string, unknown>): Record<string, unknown> {
  const fields = personalFieldsOf(eventType);
  let out: Record<string, unknown> | null = null;
  for (const [field, kind] of Object.entries(fields)) {
    if (data[field] === undefined) continue;
    out ??= { ...data };
    out[field] = erasedValue(kind);
  }
  return out ?? data;
}
