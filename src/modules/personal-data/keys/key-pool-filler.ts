/**
 * Makes the embedded key store's new subject keys on a thread of its own: each key drawn, wrapped by the master key
 * (AES-256-GCM) and inserted, the group committed and the WAL file fsynced (on disk before any key is handed out), then
 * handed back in clear over the thread's port, in memory only. With most filings by a person not seen before,
 * making a key cost the thread that answers commands about 11 µs of CPU per filing; one message per group of keys
 * costs it nearly nothing. The thread loads the same key-wrapping and id modules as the store (never a copy of them).
 */
import { Worker } from 'node:worker_threads';
import { runnableSource } from '../../../shared/runnable-source';

export interface PoolKey {
  kid: string;
  key: Buffer;
}

type FillerReply =
  | { id: number; keys: Array<{ kid: string; key: Uint8Array }> }
  | { id: number; error: string; code?: string }
  | { stopped: true };

// Plain JS: the thread starts here, under `dist/` and under jest alike; it registers the compiler first where
// runnableSource says the modules are TypeScript.
const FILLER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
const fs = require('node:fs');
if (workerData.register) require(workerData.register);
const { newDataKey, wrapKey } = require(workerData.wrapping);
const { newId } = require(workerData.ids);
const Database = require(workerData.driver);
const db = new Database(workerData.file, { fileMustExist: true });
db.pragma('busy_timeout = 5000');
// Committed without waiting for the disk, then the WAL file fsynced (syncWal) once the write lock is released: with
// synchronous=FULL the fsync ran under the lock, and the thread answering commands, committing the filings' claims,
// waited for it (and, under a profiler's signals, which cut SQLite's busy waits short, failed with SQLITE_BUSY).
db.pragma('synchronous = NORMAL');
db.pragma('wal_autocheckpoint = 0');
db.pragma('secure_delete = ON');
const insert = db.prepare("INSERT INTO subjects (subject_id, iin_index, wrapped_key, created_at) VALUES (?, '', ?, ?)");
let master = Buffer.from(workerData.master);
const insertAll = db.transaction((rows) => { for (const row of rows) insert.run(row[0], row[1], row[2]); });
const pause = new Int32Array(new SharedArrayBuffer(4));
// The claims' commit on the other thread holds the write lock now and then. SQLite's busy handler counts its sleeps, not
// the time: a profiler's signals cut them short and it gave up in about a millisecond; this waits five seconds by the
// clock, a millisecond at a time.
function insertWhenFree(rows) {
  const deadline = Date.now() + 5000;
  for (;;) {
    try {
      return insertAll.immediate(rows);
    } catch (error) {
      if (error.code !== 'SQLITE_BUSY' || Date.now() > deadline) throw error;
      Atomics.wait(pause, 0, 0, 1);
    }
  }
}
let wal = null;
function syncWal() {
  try {
    if (wal === null) wal = fs.openSync(workerData.file + '-wal', 'r');
    fs.fdatasyncSync(wal);
  } catch (error) {
    // No WAL file: SQLite wrote the commit to the database file itself (and synced it, as a checkpoint does).
    if (error.code !== 'ENOENT') throw error;
  }
}
parentPort.on('message', (message) => {
  if (message === 'stop') {
    if (wal !== null) fs.closeSync(wal);
    db.close();
    parentPort.postMessage({ stopped: true });
    return;
  }
  if (message.master) { master = Buffer.from(message.master); return; }
  try {
    const made = Array.from({ length: message.count }, () => ({ kid: newId(), key: newDataKey() }));
    const at = new Date().toISOString();
    // IMMEDIATE takes the write lock first, waiting on busy_timeout, as the log's writer does.
    // Wrapped before the transaction, so the write lock is held only for the inserts (the claims' commit waits for it).
    const rows = made.map((k) => [k.kid, wrapKey(master, k.kid, k.key), at]);
    insertWhenFree(rows);
    syncWal();
    parentPort.postMessage({ id: message.id, keys: made });
  } catch (error) {
    parentPort.postMessage({ id: message.id, error: String((error && error.message) || error), code: error && error.code });
  }
});
`;

export class KeyPoolFiller {
  private worker: Worker | null = null;
  private readonly inFlight = new Map<number, { resolve(keys: PoolKey[]): void; reject(error: Error): void }>();
  private nextId = 1;
  private stopped: (() => void) | null = null;

  constructor(
    private readonly file: string,
    private master: Buffer,
  ) {}

  /** `count` new keys, committed to the store and on disk. */
  make(count: number): Promise<PoolKey[]> {
    const worker = (this.worker ??= this.start());
    const id = this.nextId++;
    worker.ref();
    return new Promise<PoolKey[]>((resolve, reject) => {
      this.inFlight.set(id, { resolve, reject });
      worker.postMessage({ id, count });
    });
  }

  /** Keys made from now on are wrapped by this master key (after a rotation, which waits for a group under way). */
  setMaster(master: Buffer): void {
    this.master = master;
    this.worker?.postMessage({ master });
  }

  async stop(): Promise<void> {
    const worker = this.worker;
    if (!worker) return;
    this.worker = null;
    const stopped = new Promise<void>((resolve) => (this.stopped = resolve));
    worker.ref();
    worker.postMessage('stop');
    await stopped;
    await worker.terminate();
  }

  /** Started with the first group: a process that files nothing (a projection worker, the CLI) never starts it. */
  private start(): Worker {
    const wrapping = runnableSource(__filename, '../domain/key-wrapping');
    const worker = new Worker(FILLER_SOURCE, {
      eval: true,
      workerData: {
        file: this.file,
        driver: require.resolve('better-sqlite3'),
        master: this.master,
        wrapping: wrapping.file,
        ids: runnableSource(__filename, '../../../shared/ids/new-id').file,
        register: wrapping.register,
      },
    });
    worker.unref();
    worker.on('message', (reply: FillerReply) => this.received(worker, reply));
    // A thread that failed or ended rejects what it was making; the next group starts a new one.
    worker.on('error', (error) => this.ended(worker, error));
    worker.on('exit', (code) =>
      this.ended(worker, new Error(`${this.file}: the key pool's thread exited (code ${code})`)),
    );
    return worker;
  }

  private received(worker: Worker, reply: FillerReply): void {
    if ('stopped' in reply) return this.stopped?.();
    const pending = this.inFlight.get(reply.id);
    this.inFlight.delete(reply.id);
    if (this.inFlight.size === 0) worker.unref();
    if (!pending) return;
    if ('error' in reply) return pending.reject(Object.assign(new Error(reply.error), { code: reply.code }));
    // Buffers come over the port as plain Uint8Arrays.
    pending.resolve(
      reply.keys.map(({ kid, key }) => ({ kid, key: Buffer.from(key.buffer, key.byteOffset, key.byteLength) })),
    );
  }

  private ended(worker: Worker, error: Error): void {
    this.stopped?.();
    if (this.worker !== worker) return;
    this.worker = null;
    for (const pending of this.inFlight.values()) pending.reject(error);
    this.inFlight.clear();
  }
}
