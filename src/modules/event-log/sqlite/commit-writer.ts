import { Worker } from 'node:worker_threads';
import type { AppendResult, ExpectedRevision } from '../event-log.port';

/** One append of a group, as the writer thread receives it: events already validated and serialised. */
export interface GroupAppend {
  streamId: string;
  expected: ExpectedRevision;
  events: { id: string; type: string; data: string; metadata: string }[];
}

/** Why one append of a group was refused, in a shape that crosses the thread boundary. */
export type AppendRefusal =
  | { kind: 'wrong-revision'; streamId: string; expected: ExpectedRevision; actual: number | 'no_stream' }
  | { kind: 'invalid'; path: string; problem: string }
  | { kind: 'failed'; message: string };

export type AppendOutcome = { ok: AppendResult } | { refused: AppendRefusal };

// Runs in a worker thread with its own connection: the group's transaction and its fsync (synchronous=FULL)
// block this thread, not the one answering requests. One group at a time; each append savepointed on its own.
const WRITER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
const Database = require(workerData.driver);
const db = new Database(workerData.file, { fileMustExist: true });
db.pragma('journal_mode = WAL');
db.pragma('synchronous = FULL');
db.pragma('wal_autocheckpoint = 0');
db.pragma('busy_timeout = 5000');
const lastRevision = db.prepare('SELECT revision FROM events WHERE stream_id = ? ORDER BY revision DESC LIMIT 1');
const byId = db.prepare('SELECT stream_id, revision, position FROM events WHERE id = ?');
const insert = db.prepare('INSERT INTO events (id, stream_id, revision, type, data, metadata, recorded_at) VALUES (?, ?, ?, ?, ?, ?, ?)');
class Refused extends Error { constructor(refusal) { super(refusal.kind); this.refusal = refusal; } }

// An append whose event ids are already recorded, in the same stream and order, is a retry of an acknowledged
// append (the client lost the response): answered as the first time, nothing written.
function recognisedRetry(streamId, events) {
  const first = byId.get(events[0].id);
  if (!first) {
    for (let i = 1; i < events.length; i++) {
      if (byId.get(events[i].id)) throw new Refused({ kind: 'invalid', path: 'events[' + i + '].id', problem: events[i].id + ' is already recorded in the log' });
    }
    return null;
  }
  let last = first;
  for (let i = 0; i < events.length; i++) {
    const found = byId.get(events[i].id);
    if (!found || found.stream_id !== streamId || found.revision !== first.revision + i) {
      throw new Refused({ kind: 'invalid', path: 'events[' + i + '].id', problem: events[i].id + ' is already recorded in the log as part of another append' });
    }
    last = found;
  }
  return { nextRevision: last.revision, position: last.position };
}

function write(append, recordedAt) {
  const { streamId, expected, events } = append;
  const retried = recognisedRetry(streamId, events);
  if (retried) return retried;
  const row = lastRevision.get(streamId);
  const actual = row === undefined ? 'no_stream' : row.revision;
  if ((expected === 'no_stream' && actual !== 'no_stream') || (typeof expected === 'number' && expected !== actual)) {
    throw new Refused({ kind: 'wrong-revision', streamId, expected, actual });
  }
  let revision = row === undefined ? -1 : row.revision;
  let position = 0;
  for (const e of events) {
    revision++;
    position = Number(insert.run(e.id, streamId, revision, e.type, e.data, e.metadata, recordedAt).lastInsertRowid);
  }
  return { nextRevision: revision, position };
}
// A nested better-sqlite3 transaction is a SAVEPOINT: one append's failure rolls back only its own rows.
const appendOne = db.transaction(write);

parentPort.on('message', (message) => {
  if (message === 'stop') { db.close(); parentPort.postMessage({ stopped: true }); return; }
  const { batch, group, recordedAt } = message;
  const outcomes = [];
  try {
    // IMMEDIATE takes the write lock first (waiting on busy_timeout): a deferred transaction that read before
    // writing could fail with SQLITE_BUSY_SNAPSHOT when a checkpoint reset the WAL meanwhile.
    db.transaction(() => {
      for (const append of group) {
        try { outcomes.push({ ok: appendOne(append, recordedAt) }); }
        catch (error) { outcomes.push({ refused: error instanceof Refused ? error.refusal : { kind: 'failed', message: String(error && error.message || error) } }); }
      }
    }).immediate();
  } catch (error) {
    // The commit itself failed (disk full, I/O error): nothing of the group is durable.
    parentPort.postMessage({ batch, commitError: String(error && error.message || error) });
    return;
  }
  parentPort.postMessage({ batch, outcomes });
});
`;

/**
 * The committing thread of the embedded event log. It is started on the first append (a process that only
 * reads the log never starts one) and keeps the process alive only while a group is in flight.
 */
export class CommitWriter {
  private readonly worker: Worker;
  private readonly inFlight = new Map<number, { resolve(outcomes: AppendOutcome[]): void; reject(error: Error): void }>();
  private nextBatch = 1;
  private failure: Error | null = null;

  constructor(file: string) {
    this.worker = new Worker(WRITER_SOURCE, { eval: true, workerData: { file, driver: require.resolve('better-sqlite3') } });
    this.worker.unref();
    this.worker.on('message', (message: { batch: number; outcomes?: AppendOutcome[]; commitError?: string }) => {
      const pending = this.inFlight.get(message.batch);
      if (!pending) return;
      this.inFlight.delete(message.batch);
      if (this.inFlight.size === 0) this.worker.unref();
      if (message.commitError !== undefined) pending.reject(new Error(message.commitError));
      else pending.resolve(message.outcomes!);
    });
    this.worker.on('error', (error) => this.fail(error));
    this.worker.on('exit', (code) => this.fail(new Error(`the event log's writer thread exited (code ${code})`)));
  }

  /** Commits one group in one transaction; resolves once it is durable, with one outcome per append. */
  commit(group: GroupAppend[], recordedAt: number): Promise<AppendOutcome[]> {
    if (this.failure) return Promise.reject(this.failure);
    const batch = this.nextBatch++;
    this.worker.ref();
    return new Promise((resolve, reject) => {
      this.inFlight.set(batch, { resolve, reject });
      this.worker.postMessage({ batch, group, recordedAt });
    });
  }

  async stop(): Promise<void> {
    if (this.failure) return;
    const stopped = new Promise<void>((resolve) => {
      this.worker.on('message', (message: { stopped?: boolean }) => message.stopped && resolve());
      this.worker.once('exit', () => resolve());
    });
    this.worker.ref();
    this.worker.postMessage('stop');
    await stopped;
    this.failure = new Error('the event log is closed');
    await this.worker.terminate();
  }

  private fail(error: Error): void {
    if (this.failure) return;
    this.failure = error;
    for (const pending of this.inFlight.values()) pending.reject(error);
    this.inFlight.clear();
  }
}
