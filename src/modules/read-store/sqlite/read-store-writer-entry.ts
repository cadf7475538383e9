import Database from 'better-sqlite3';
import { parentPort, workerData } from 'node:worker_threads';
import { CheckpointAheadError, LeaseLostError, RevisionConflictError } from '../read-store.port';
import {
  BatchStatements,
  setUpWriterConnection,
  writeBatchInTransaction,
  type SerialisedBatch,
} from './sqlite-batch-write';

/** What the store sends its writer thread: a batch to commit (answered by id, in order), or the stop. */
export type WriterRequest = { id: number; batch: SerialisedBatch } | { stop: true };

/** A refusal as it crosses back: enough to rebuild the error its caller handles (a lease lost, a full disk). */
export interface WriterFailure {
  name: string;
  message: string;
  code?: string;
  lease?: { lease: string; token: number; current: { holder: string; token: number } | null };
  checkpoint?: { projection: string; position: number; stored: number };
  revision?: { collection: string; id: string; expected: number; stored: number | null };
}

export type WriterReply =
  { id: number; ok: true } | { id: number; ok: false; failure: WriterFailure; text: Uint8Array } | { stopped: true };

/**
 * The read store's writer thread: its own connection to the file, the same statements as the store's, one IMMEDIATE
 * transaction per batch, in the order the batches came. Connection settings as the store's own: openSqliteFile's
 * lock wait and cache, then setUpWriterConnection (the file exists and is migrated already).
 */
export function runReadStoreWriter(): void {
  const { file, changesKept } = workerData as { file: string; changesKept: number };
  const db = new Database(file, { fileMustExist: true });
  db.pragma('busy_timeout = 5000');
  db.pragma('cache_size = -65536');
  setUpWriterConnection(db);
  const statements = new BatchStatements(db);
  const write = db.transaction((batch: SerialisedBatch) => writeBatchInTransaction(statements, batch, changesKept));
  parentPort!.on('message', (request: WriterRequest) => {
    if ('stop' in request) {
      db.close();
      parentPort!.postMessage({ stopped: true } satisfies WriterReply);
      return;
    }
    try {
      write.immediate(request.batch);
      parentPort!.postMessage({ id: request.id, ok: true } satisfies WriterReply);
    } catch (error) {
      const failure: WriterFailure = {
        name: error instanceof Error ? error.name : 'Error',
        message: error instanceof Error ? error.message : String(error),
        ...(typeof (error as { code?: unknown }).code === 'string' ? { code: (error as { code: string }).code } : {}),
        ...(error instanceof LeaseLostError
          ? { lease: { lease: error.lease, token: error.token, current: error.current } }
          : {}),
        ...(error instanceof CheckpointAheadError
          ? { checkpoint: { projection: error.projection, position: error.position, stored: error.stored } }
          : {}),
        ...(error instanceof RevisionConflictError
          ? { revision: { collection: error.collection, id: error.id, expected: error.expected, stored: error.stored } }
          : {}),
      };
      // The text goes back with the refusal: a batch refused for a full disk is written again as it was serialised.
      const { text } = request.batch;
      parentPort!.postMessage({ id: request.id, ok: false, failure, text } satisfies WriterReply, [
        text.buffer as ArrayBuffer,
      ]);
    }
  });
}
