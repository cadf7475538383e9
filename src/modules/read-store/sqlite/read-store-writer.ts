import { Worker } from 'node:worker_threads';
import { runnableSource } from '../../../shared/runnable-source';
import { CheckpointAheadError, LeaseLostError, RevisionConflictError } from '../read-store.port';
import type { SerialisedBatch } from './sqlite-batch-write';
import type { WriterFailure, WriterReply, WriterRequest } from './read-store-writer-entry';

// Plain JS: the thread starts here, under `dist/` and under jest alike; it registers the compiler first where
// runnableSource says the entry is TypeScript.
const THREAD_SOURCE = `
const { workerData } = require('node:worker_threads');
if (workerData.register) require(workerData.register);
require(workerData.entry).runReadStoreWriter();
`;

/** The read store's writer thread, as its store sees it: batches sent in order, each answered when committed. */
export class ReadStoreWriter {
  private readonly worker: Worker;
  private nextId = 0;
  private readonly waiting = new Map<
    number,
    { batch: SerialisedBatch; resolve(): void; reject(error: unknown): void }
  >();
  private ended: Error | null = null;
  private stopping: Promise<void> | null = null;

  constructor(file: string, changesKept: number) {
    const { file: entry, register } = runnableSource(__filename, 'read-store-writer-entry');
    this.worker = new Worker(THREAD_SOURCE, { eval: true, workerData: { file, changesKept, entry, register } });
    this.worker.on('message', (reply: WriterReply) => {
      // Its connection is closed: the thread, whose port keeps it alive, is ended.
      if ('stopped' in reply) return void this.worker.terminate();
      const waiting = this.waiting.get(reply.id);
      this.waiting.delete(reply.id);
      if (this.waiting.size === 0) this.worker.unref();
      if (reply.ok) return waiting?.resolve();
      if (waiting) waiting.batch.text = reply.text;
      waiting?.reject(failureError(reply.failure));
    });
    this.worker.on('error', (error) => this.end(error));
    this.worker.on('exit', (code) => this.end(new Error(`the read store's writer thread exited (code ${code})`)));
    // Kept alive only while a batch is on its way: an idle thread does not hold the process open. After the listeners,
    // since adding a 'message' listener refs the thread again.
    this.worker.unref();
  }

  /** Whether the thread has ended (crashed or stopped): the store then starts another for its next batch. */
  get alive(): boolean {
    return this.ended === null;
  }

  /** Resolves once the batch is committed; rejects with what refused it (nothing of it is then stored). */
  write(batch: SerialisedBatch): Promise<void> {
    if (this.ended) return Promise.reject(this.ended);
    const id = this.nextId++;
    return new Promise<void>((resolve, reject) => {
      this.waiting.set(id, { batch, resolve, reject });
      this.worker.ref();
      // The text's memory moves to the thread (no copy); the batch's buffer is its own (serialiseBatch).
      this.worker.postMessage({ id, batch } satisfies WriterRequest, [batch.text.buffer as ArrayBuffer]);
    });
  }

  /** Lets the batches sent commit, then closes the thread's connection; idempotent. */
  stop(): Promise<void> {
    if (this.ended) return Promise.resolve();
    this.stopping ??= new Promise<void>((resolve) => {
      // Held open until the thread has closed its connection: an unreferenced thread's 'exit' keeps nothing alive, and
      // a process with nothing else to do would end in the middle of its owner's close (exit code 0 after a failure).
      this.worker.ref();
      this.worker.once('exit', () => resolve());
      this.worker.postMessage({ stop: true } satisfies WriterRequest);
    });
    return this.stopping;
  }

  private end(error: Error): void {
    this.ended ??= error;
    // A batch sent but not answered is not known to be stored: its writer hears it failed, and starts over from its
    // checkpoint as after any refused write.
    for (const waiting of this.waiting.values()) waiting.reject(this.ended);
    this.waiting.clear();
  }
}

function failureError(failure: WriterFailure): Error {
  if (failure.lease) return new LeaseLostError(failure.lease.lease, failure.lease.token, failure.lease.current);
  if (failure.checkpoint)
    return new CheckpointAheadError(
      failure.checkpoint.projection,
      failure.checkpoint.position,
      failure.checkpoint.stored,
    );
  if (failure.revision)
    return new RevisionConflictError(
      failure.revision.collection,
      failure.revision.id,
      failure.revision.expected,
      failure.revision.stored,
    );
  const error = new Error(failure.message) as Error & { code?: string };
  error.name = failure.name;
  if (failure.code !== undefined) error.code = failure.code;
  return error;
}
