import type { ReadDocument, WriteBatch } from './read-store.port';

/** A read-store call the store refuses before touching anything (bad collection name, document without _id…). */
export class InvalidReadStoreRequestError extends Error {
  override readonly name = 'InvalidReadStoreRequestError';
  constructor(
    readonly path: string,
    readonly problem: string,
  ) {
    super(`${path}: ${problem}`);
  }
}

// MongoDB's own rules: no '$', no NUL, not 'system.'-prefixed; short enough for every adapter.
export function checkCollectionName(name: unknown): asserts name is string {
  if (
    typeof name !== 'string' ||
    name.length === 0 ||
    name.length > 120 ||
    name.includes('$') ||
    name.includes('\u0000') ||
    name.startsWith('system.')
  ) {
    throw new InvalidReadStoreRequestError(
      'collection',
      `${JSON.stringify(name)} is not a valid collection name (1–120 characters, no "$", no NUL, not "system.")`,
    );
  }
}

export function checkDocument(doc: ReadDocument): void {
  if (doc === null || typeof doc !== 'object' || typeof doc._id !== 'string' || doc._id === '') {
    throw new InvalidReadStoreRequestError('doc._id', 'every document needs a non-empty string _id');
  }
}

/**
 * A batch's expectations (WriteBatch.expect): each a revision (an integer from 0) of a document the batch upserts once
 * and does not delete.
 */
export function checkExpectations(batch: Pick<WriteBatch, 'ops' | 'expect'>): void {
  for (const { collection, id, revision } of batch.expect ?? []) {
    if (!Number.isInteger(revision) || revision < 0)
      throw new InvalidReadStoreRequestError('expect.revision', `${JSON.stringify(revision)} is not a revision`);
    const writes = batch.ops.filter(
      (op) => op.collection === collection && (op.op === 'upsert' ? op.doc._id : op.id) === id,
    );
    if (writes.length !== 1 || writes[0]!.op !== 'upsert')
      throw new InvalidReadStoreRequestError(
        'expect',
        `${collection}/${id}: a batch expecting a document's revision upserts it once and does not delete it`,
      );
  }
}
