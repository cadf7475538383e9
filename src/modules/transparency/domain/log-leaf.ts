/**
 * What the tree commits to for each event: its sealed hash (SHA-256 over the canonical event, see the cases'
 * hash-chain.ts), as 32 bytes. The sealed hash already binds the stream, revision, type, data and metadata; the
 * leaf's place in the tree binds the event's position in the log. An event written without a hash (by a tool
 * that does not seal) is committed to by SHA-256 over its id, stream, type and stored JSON text instead, so
 * every event is a leaf and none can change unseen. Pure.
 */
import { createHash } from 'node:crypto';
import { storedLinks } from '../../cases/domain/hash-chain';
import { hashLeaf } from './merkle';

export interface LeafSource {
  id: string;
  streamId: string;
  type: string;
  /** Stored JSON text. */
  data: string;
  metadata: string;
}

const HEX64 = /^[0-9a-f]{64}$/;

/** The sealed hash from metadata given as an object (the append path, before it is stored). */
export function sealedHashOf(metadata: unknown): string | null {
  const hash = metadata && typeof metadata === 'object' ? (metadata as Record<string, unknown>).hash : undefined;
  return typeof hash === 'string' && HEX64.test(hash) ? hash : null;
}

export function unsealedLeaf(event: LeafSource): Buffer {
  return createHash('sha256')
    .update(
      JSON.stringify(['reglament-unsealed-event/1', event.id, event.streamId, event.type, event.data, event.metadata]),
    )
    .digest();
}

/** The leaf data of a stored event. */
export function leafData(event: LeafSource): Buffer {
  const sealed = storedLinks(event.metadata)?.hash ?? sealedHashOf(safeParse(event.metadata));
  return sealed ? Buffer.from(sealed, 'hex') : unsealedLeaf(event);
}

export function leafHashOf(event: LeafSource): Buffer {
  return hashLeaf(leafData(event));
}

function safeParse(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return null;
  }
}
