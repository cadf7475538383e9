import { Worker } from 'node:worker_threads';

export interface CheckpointerOptions {
  /** How often the WAL size is looked at. */
  intervalMs: number;
  /** A PASSIVE checkpoint runs once the WAL file is at least this big. */
  thresholdBytes: number;
  /** Above this size the checkpointer waits briefly for writers (TRUNCATE) so the WAL cannot grow without bound. */
  hardLimitBytes: number;
}

export const DEFAULT_CHECKPOINTER: CheckpointerOptions = {
  intervalMs: 50,
  thresholdBytes: 4 * 1024 * 1024,
  hardLimitBytes: 256 * 1024 * 1024,
};

// Runs in a worker thread with its own connection: a checkpoint copies WAL pages into the database file and
// fsyncs it, which on a large log takes tens of milliseconds. Off the commit path, writers never wait for it.
const WORKER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
const fs = require('node:fs');
const Database = require(workerData.driver);
const db = new Database(workerData.file, { fileMustExist: true });
db.pragma('busy_timeout = 0');
let busy = false;
function walSize() { try { return fs.statSync(workerData.file + '-wal').size; } catch { return 0; } }
const timer = setInterval(() => {
  if (busy) return;
  busy = true;
  try {
    const size = walSize();
    if (size >= workerData.hardLimitBytes) {
      db.pragma('busy_timeout = 200');
      db.pragma('wal_checkpoint(TRUNCATE)');
      db.pragma('busy_timeout = 0');
      parentPort.postMessage({ checkpointed: 'truncate', size });
    } else if (size >= workerData.thresholdBytes) {
      const [result] = db.pragma('wal_checkpoint(PASSIVE)');
      parentPort.postMessage({ checkpointed: 'passive', size, log: result.log, frames: result.checkpointed });
    }
  } catch (error) {
    // SQLITE_BUSY: a writer or another checkpointer holds the lock; the next tick tries again.
  } finally { busy = false; }
}, workerData.intervalMs);
parentPort.on('message', (message) => {
  if (message === 'stop') { clearInterval(timer); db.close(); parentPort.postMessage({ stopped: true }); }
});
`;

/** Background WAL checkpointing for one SQLite file; `stop()` waits for the thread to close its connection. */
export class WalCheckpointer {
  private readonly worker: Worker;
  private checkpoints = 0;
  private last: { log: number; frames: number } | null = null;

  constructor(file: string, options: CheckpointerOptions = DEFAULT_CHECKPOINTER) {
    this.worker = new Worker(WORKER_SOURCE, {
      eval: true,
      workerData: { file, driver: require.resolve('better-sqlite3'), ...options },
    });
    this.worker.unref();
    this.worker.once('exit', () => {
      this.exited = true;
    });
    this.worker.on('message', (message: { checkpointed?: string; log?: number; frames?: number }) => {
      if (message.checkpointed) this.checkpoints++;
      if (message.log !== undefined && message.frames !== undefined)
        this.last = { log: message.log, frames: message.frames };
    });
  }

  get completed(): number {
    return this.checkpoints;
  }

  /** The last PASSIVE checkpoint: WAL frames in the log, and how many of them are copied into the database. */
  get lastResult(): { log: number; frames: number } | null {
    return this.last;
  }

  private stopping: Promise<void> | null = null;
  private exited = false;

  /** Idempotent: a second stop (two owners closing one store) waits for the same exit instead of for one that already happened. */
  stop(): Promise<void> {
    if (this.exited) return Promise.resolve();
    this.stopping ??= new Promise<void>((resolve) => {
      const done = () => {
        this.exited = true;
        resolve();
      };
      this.worker.once('exit', done);
      this.worker.on('message', (message: { stopped?: boolean }) => {
        if (message.stopped) void this.worker.terminate().then(done, done);
      });
      this.worker.postMessage('stop');
    });
    return this.stopping;
  }
}
