/**
 * Content hashes of a regulation version: `hash` over the whole definition, and `structuralHash` over what stored
 * cases depend on (ids, tracks, steps and their order, roles, event types, limits and anchors, channels, clause
 * references, the effective period) — without the words: labels, titles, notes, quotes, readings, sources and
 * condition texts. A published version is immutable in structure; its words may be corrected. Pure.
 */
import { createHash } from 'node:crypto';
import canonicalize from 'canonicalize';
import type { RegulationVersion } from './catalog';

/**
 * Members that carry words for people, not structure a case relies on; and the retention period of personal data,
 * a policy applied after a case is closed that no stored act depends on.
 */
const WORDS = new Set([
  'personalDataRetention',
  'label',
  'title',
  'note',
  'notes',
  'quote',
  'reading',
  'source',
  'condition',
  'appliedReason',
  'description',
  'kkNeedsTranslation',
  'ruNeedsTranslation',
]);

function withoutWords(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(withoutWords);
  if (value === null || typeof value !== 'object') return value;
  return Object.fromEntries(
    Object.entries(value as Record<string, unknown>)
      .filter(([k]) => !WORDS.has(k))
      .map(([k, v]) => [k, withoutWords(v)]),
  );
}

const sha256 = (value: unknown): string =>
  createHash('sha256')
    .update(canonicalize(value) ?? '')
    .digest('hex');

export interface VersionFingerprint {
  hash: string;
  structuralHash: string;
}

export function fingerprintOf(version: RegulationVersion): VersionFingerprint {
  // The file it was loaded from is where it lives, not what it says.
  const { file: _file, ...definition } = version;
  return { hash: sha256(definition), structuralHash: sha256(withoutWords(definition)) };
}
