import { EventEmitter } from 'node:events';
import { performance } from 'node:perf_hooks';
import type { Statement } from 'better-sqlite3';
import { openSqliteFile, type SqliteDatabase } from '../../../shared/sqlite/open-sqlite-file';
import type {
  AllFilter,
  AppendResult,
  EventLog,
  EventSubscription,
  EventToAppend,
  ExpectedRevision,
  ReadAllOptions,
  ReadStreamOptions,
  RecordedEvent,
  UndecodedEventSubscription,
  RawRecordedEvent,
  SubscribeOptions,
} from '../event-log.port';
import {
  InvalidEventError,
  StorageDamagedError,
  StorageFullError,
  WrongExpectedRevisionError,
} from '../event-log.errors';
import { statSync } from 'node:fs';
import { HeadRecorder, headRecordFile } from './head-record';
import { checkStreamId, prepareAppend, type PreparedEvent } from '../event-validation';
import { DEFAULT_CHECKPOINTER, WalCheckpointer, type CheckpointerOptions } from './wal-checkpointer';
import { PollingSubscription } from '../polling-subscription';
import { CommitWriter, InlineCommitter, type AppendOutcome, type AppendRefusal } from './commit-writer';
import { SqliteMerkleTree } from './sqlite-merkle-tree';

/** The longest a read of the tree's size waits for the writer thread to store what was acknowledged. */
const TREE_WAIT_MS = 1000;
/**
 * A lone append is committed on the calling thread only while that thread is mostly idle: a commit there holds every
 * other callback of the thread (the requests it answers) until its fsync returns. The share of the event loop's time
 * spent on anything but this log's own work (its appends' preparation and its flushes, inline commits included), at
 * or above which a lone append goes to the writer thread. Half: a thread answering reads spends more (the case views'
 * bench: 68-75 %), and a caller that times its appends beside other synchronous disk writes (the event log bench's
 * raw inserts between them: about a third) keeps the inline commit; a thread a third to half busy whose fsyncs are
 * slow still holds its requests for them.
 */
const BUSY_SHARE = 0.5;
/** The shortest span of the event loop's history that share is read from; a shorter one keeps the last verdict. */
const BUSY_SPAN_MS = 20;

/** 'RGLE': marks a file as a reglament event log. */
export const EVENT_LOG_APPLICATION_ID = 0x52474c45;

const MIGRATIONS = [
  {
    version: 1,
    sql: `
      CREATE TABLE events (
        position    INTEGER PRIMARY KEY,  -- rowid: gapless global order, events are never deleted
        id          TEXT    NOT NULL,
        stream_id   TEXT    NOT NULL,
        revision    INTEGER NOT NULL,
        type        TEXT    NOT NULL,
        data        TEXT    NOT NULL,
        metadata    TEXT    NOT NULL,
        recorded_at INTEGER NOT NULL      -- epoch milliseconds
      );
      CREATE UNIQUE INDEX events_by_stream ON events (stream_id, revision);
      CREATE UNIQUE INDEX events_by_id ON events (id);
    `,
  },
  {
    // The log's Merkle tree (src/modules/transparency): the hash of every perfect subtree, numbered in post-order
    // (nodePosition in merkle.ts), so each commit appends rows at the end of one B-tree. Written by the writer
    // thread right behind the events it covers (commit-writer.ts). A log of version 1 gets its tree on the first append.
    version: 2,
    sql: `
      CREATE TABLE tree_nodes (
        pos  INTEGER PRIMARY KEY,
        hash BLOB    NOT NULL
      );
    `,
  },
];

export interface SqliteEventLogOptions {
  file: string;
  /** How often a subscription looks for events appended by another process (the worker reads the API's file). */
  pollIntervalMs?: number;
  checkpointer?: Partial<CheckpointerOptions> | false;
  /** false: the writer keeps no Merkle tree. Only the benchmark's baseline; a log written so must be caught up before it is served. */
  maintainTree?: boolean;
  /**
   * false: every append goes to the writer thread, a lone one too (the benchmark's comparison). 'regardless-of-load':
   * a lone append after another is committed inline even when the thread is busy with other work (threadBusyElsewhere
   * is not asked): the tests of the commit order, whose verdict must not depend on how loaded the machine is.
   */
  inlineCommits?: boolean | 'regardless-of-load';
  /** Told once when the head record beside the log cannot be written (it is tried again on the next commit). */
  onHeadRecordError?: (error: unknown) => void;
  /** Told once when the writer thread cannot store the tree behind its commits (it is tried again after the next). */
  onTreeError?: (problem: string) => void;
  /**
   * How long the writer thread lets a commit's leaves wait for the tree's own transaction when fewer than its batch
   * wait and no reader asks. Only a fault test sets it (a writer stopped between its commits, deterministically).
   * @defaultValue 10
   */
  treeLagMs?: number;
}

/** What an integrity check of the log file found. */
export interface LogIntegrityReport {
  file: string;
  /** `quick`: PRAGMA quick_check (pages and records, not index contents); `full`: PRAGMA integrity_check; `skipped`: too large to check on start. */
  check: 'quick' | 'full' | 'skipped';
  bytes: number;
  ms: number;
  problems: string[];
  head: { position: number; eventId: string | null };
}

export interface GroupCommitStats {
  /** Transactions committed (each one fsync). */
  commits: number;
  /** Groups formed (the appends of one turn of the event loop); groups waiting for the writer thread share a commit. */
  groups: number;
  /** Of the commits, those of a lone append made on the calling thread while the writer thread had nothing. */
  inlineCommits: number;
  /** Appends acknowledged. */
  appends: number;
  events: number;
  /** Most appends one commit carried. */
  largestGroup: number;
  /** Summed over groups: from handing a group to the writer thread until its outcomes are back on this thread. */
  commitRoundTripMs: number;
  /** Summed over commits: the writer thread's transaction, fsync included (the rest of a round trip is waiting and hand-off). */
  transactionMs: number;
  /** Summed over the writer thread's transactions storing the tree right behind its commits (not in transactionMs). */
  treeTransactionMs: number;
}

interface PendingAppend {
  streamId: string;
  expected: ExpectedRevision;
  events: PreparedEvent[];
  resolve(result: AppendResult): void;
  reject(error: unknown): void;
}

type Row = [
  position: number,
  id: string,
  streamId: string,
  revision: number,
  type: string,
  data: string,
  metadata: string,
  recordedAt: number,
];

const COLUMNS = 'position, id, stream_id, revision, type, data, metadata, recorded_at';

function toRaw(row: Row): RawRecordedEvent {
  return {
    position: row[0],
    id: row[1],
    streamId: row[2],
    revision: row[3],
    type: row[4],
    data: row[5],
    metadata: row[6],
    recordedAt: new Date(row[7]),
  };
}

function toRecorded(row: Row): RecordedEvent {
  return {
    position: row[0],
    id: row[1],
    streamId: row[2],
    revision: row[3],
    type: row[4],
    data: JSON.parse(row[5]),
    metadata: JSON.parse(row[6]),
    recordedAt: new Date(row[7]),
  };
}

/**
 * The embedded event log: one SQLite file, WAL, synchronous=FULL.
 *
 * Group commit: appends are validated and serialised on the caller's thread, then committed by a writer thread
 * in one transaction (one fsync) per group; appends arriving while a group commits form the next one. Each
 * append is checked and savepointed on its own, so a conflicting append fails alone while the others of its
 * group commit. The fsync never blocks the thread that answers requests; reads stay on this connection.
 */
export class SqliteEventLog implements EventLog {
  readonly kind = 'sqlite' as const;
  /** The writer thread's wait for another process's write lock (busy_timeout 5 s, commit-writer.ts), and a second. */
  readonly appendSettlesMs = 6_000;
  private readonly db: SqliteDatabase;
  private readonly committed = new EventEmitter();
  private readonly checkpointer: WalCheckpointer | null;
  private readonly subscriptions = new Set<PollingSubscription<{ position: number }>>();
  private queue: PendingAppend[] = [];
  private flushScheduled = false;
  /** Groups handed to the writer thread and not yet answered. */
  private committing = 0;
  private readonly allCommitted = new EventEmitter();
  private closed = false;
  private readonly stats: Pick<
    GroupCommitStats,
    'groups' | 'appends' | 'events' | 'commitRoundTripMs' | 'inlineCommits'
  > & { inlineTransactionMs: number } = {
    groups: 0,
    appends: 0,
    events: 0,
    commitRoundTripMs: 0,
    inlineCommits: 0,
    inlineTransactionMs: 0,
  };
  private readonly pollIntervalMs: number;
  private readonly maintainTree: boolean;
  private readonly inlineCommits: boolean;
  private readonly inlineRegardlessOfLoad: boolean;

  private readonly headStmt: Statement<[], { head: number | null }>;
  /** Started on the first append: a connection that only reads never starts one. */
  private writer: CommitWriter | null = null;
  /** Commits a lone append on this thread while nothing is with the writer thread (see flush). */
  private inline: InlineCommitter | null = null;
  private treeChecked = false;
  /** Groups of one append in a row, this one included. */
  private loneGroups = 0;
  /** The event loop's counters when its share of other work was last read (see threadBusyElsewhere). */
  private loopSeen = performance.eventLoopUtilization();
  /** Time this log's own work took on this thread since then (appends prepared, flushes): the loop's count includes it. */
  private ownMsSinceSeen = 0;
  private threadBusy = false;
  /**
   * The log's Merkle tree, read on this connection (proofs); the writer thread extends it right behind every commit.
   * Reading its size first waits for the tree of what this log has acknowledged (see awaitTree).
   */
  readonly tree: SqliteMerkleTree;
  /** The last position acknowledged to a caller of append. */
  private acknowledgedHead = 0;
  /** The last position committed on this thread, its tree in the same commit. */
  private inlineTreeThrough = 0;
  private headRecorder: HeadRecorder | null = null;
  private readonly onHeadRecordError: (error: unknown) => void;
  private readonly onTreeError: (problem: string) => void;
  private readonly treeLagMs: number | undefined;

  constructor(
    readonly file: string,
    options: Omit<SqliteEventLogOptions, 'file'> = {},
  ) {
    this.db = openSqliteFile({
      file,
      applicationId: EVENT_LOG_APPLICATION_ID,
      kind: 'event log',
      migrations: MIGRATIONS,
    });
    this.pollIntervalMs = options.pollIntervalMs ?? 20;
    this.maintainTree = options.maintainTree !== false;
    this.inlineCommits = options.inlineCommits !== false;
    this.inlineRegardlessOfLoad = options.inlineCommits === 'regardless-of-load';
    this.onHeadRecordError = options.onHeadRecordError ?? (() => undefined);
    this.onTreeError = options.onTreeError ?? (() => undefined);
    this.treeLagMs = options.treeLagMs;
    this.committed.setMaxListeners(0);
    this.headStmt = this.db.prepare('SELECT max(position) AS head FROM events');
    this.tree = new SqliteMerkleTree(this.db, () => this.awaitTree());
    this.checkpointer =
      options.checkpointer === false
        ? null
        : new WalCheckpointer(file, { ...DEFAULT_CHECKPOINTER, ...(options.checkpointer ?? {}) });
    // Opening the file is the log's own work too.
    this.loopSeen = performance.eventLoopUtilization();
  }

  append(streamId: string, events: readonly EventToAppend[], expected: ExpectedRevision): Promise<AppendResult> {
    if (this.closed) return Promise.reject(new Error(`event log ${this.file} is closed`));
    let prepared: PreparedEvent[];
    const preparing = performance.now();
    try {
      prepared = prepareAppend(streamId, events, expected, { leaves: this.maintainTree });
    } catch (error) {
      return Promise.reject(error);
    } finally {
      this.ownMsSinceSeen += performance.now() - preparing;
    }
    return new Promise<AppendResult>((resolve, reject) => {
      this.queue.push({ streamId, expected, events: prepared, resolve, reject });
      this.scheduleFlush();
    });
  }

  /** Group-commit counters, for tests and benchmarks. */
  groupCommitStats(): GroupCommitStats {
    const writer = this.writer?.stats ?? {
      transactions: 0,
      largestTransaction: 0,
      transactionMs: 0,
      treeTransactionMs: 0,
    };
    const { inlineTransactionMs, ...stats } = this.stats;
    return {
      ...stats,
      commits: writer.transactions + stats.inlineCommits,
      largestGroup: Math.max(writer.largestTransaction, stats.inlineCommits > 0 ? 1 : 0),
      transactionMs: writer.transactionMs + inlineTransactionMs,
      treeTransactionMs: writer.treeTransactionMs,
    };
  }

  /**
   * The writer thread stores the tree of a commit right after acknowledging it, so for a moment the stored tree may be
   * shorter than what this log has acknowledged. Whoever reads the tree's size here (checkpoints, proofs, evidence
   * packs) first waits for it, about one tree transaction, so an event appended a moment ago is in it; the wait ends
   * after a second, or at once if the writer failed to store the tree, and the size read is then what is stored
   * (never more: a proof is never served beyond it).
   */
  private awaitTree(): void {
    const head = this.acknowledgedHead;
    if (!this.writer || head <= this.inlineTreeThrough) return;
    this.writer.waitForTree(head, TREE_WAIT_MS);
  }

  get checkpointsCompleted(): number {
    return this.checkpointer?.completed ?? 0;
  }

  get lastCheckpoint(): { log: number; frames: number } | null {
    return this.checkpointer?.lastResult ?? null;
  }

  private scheduleFlush(): void {
    if (this.flushScheduled) return;
    this.flushScheduled = true;
    setImmediate(() => {
      this.flushScheduled = false;
      void this.flush();
    });
  }

  /**
   * Hands the appends queued in this turn of the event loop to the writer thread as one group, without
   * waiting for the groups before it: the writer commits every group waiting for it in one transaction (one
   * fsync), so the busier the log, the larger its commits.
   */
  private async flush(): Promise<void> {
    const flushStarted = performance.now();
    const group = this.queue;
    this.queue = [];
    if (group.length === 0) return;
    if (!this.treeChecked) {
      // A log written before it had a tree gets it now, before the writer extends it.
      try {
        if (this.maintainTree && this.tree.size() !== this.tree.logSize()) this.tree.catchUp();
      } catch (error) {
        for (const pending of group) pending.reject(error);
        return;
      }
      this.treeChecked = true;
    }
    this.headRecorder ??= new HeadRecorder(headRecordFile(this.file), undefined, this.onHeadRecordError);
    const appends = group.map((p) => ({ streamId: p.streamId, expected: p.expected, events: p.events }));
    this.stats.groups++;
    // A lone append while nothing is with the writer thread, after a lone one before it: nobody would share its commit,
    // so it is committed here, without the two hand-offs. Anything busier goes to the writer thread, where waiting
    // groups share one fsync and this thread keeps answering meanwhile (a group of several turns inline commits off
    // until two lone appends in a row say the log is quiet again). A thread busy with other work (threadBusyElsewhere)
    // hands even a lone append over: its requests would wait for the commit's fsync.
    this.loneGroups = group.length === 1 ? this.loneGroups + 1 : 0;
    // Read at every flush, so the verdict a lone append meets covers the moments just before it.
    const threadBusy = this.threadBusyElsewhere(performance.now() - flushStarted) && !this.inlineRegardlessOfLoad;
    if (this.loneGroups >= 2 && this.committing === 0 && this.inlineCommits && !threadBusy) {
      this.inline ??= new InlineCommitter(this.file, { maintainTree: this.maintainTree });
      // It extends the tree the writer thread stored right behind its last commit (a moment's wait at most).
      this.awaitTree();
      const started = performance.now();
      let committed: ReturnType<InlineCommitter['commit']>;
      try {
        committed = this.inline.commit(appends, Date.now());
      } catch (error) {
        this.ownMsSinceSeen += performance.now() - flushStarted;
        // The commit itself failed (disk full, I/O error): nothing of the append is durable.
        group[0]!.reject(storageError(this.file, error));
        return;
      }
      if (!('busy' in committed)) {
        const position = committed.outcomes[0] && 'ok' in committed.outcomes[0] ? committed.outcomes[0].ok.position : 0;
        this.inlineTreeThrough = Math.max(this.inlineTreeThrough, position);
        this.stats.inlineCommits++;
        const committedAt = performance.now();
        this.ownMsSinceSeen += committedAt - flushStarted;
        this.stats.commitRoundTripMs += committedAt - started;
        this.stats.inlineTransactionMs += committed.transactionMs;
        return this.settle(group, committed.outcomes);
      }
      // Another process holds the write lock: the writer thread waits for it (busy_timeout) instead of this thread.
    }
    this.writer ??= new CommitWriter(this.file, {
      maintainTree: this.maintainTree,
      onTreeError: this.onTreeError,
      ...(this.treeLagMs !== undefined ? { treeLagMs: this.treeLagMs } : {}),
    });
    this.committing++;
    const handedOver = performance.now();
    this.ownMsSinceSeen += handedOver - flushStarted;
    let outcomes: AppendOutcome[];
    try {
      outcomes = await this.writer.commit(appends, Date.now());
    } catch (error) {
      // The commit itself failed (disk full, I/O error): nothing of the group is durable.
      const typed = storageError(this.file, error);
      for (const pending of group) pending.reject(typed);
      return;
    } finally {
      if (--this.committing === 0) this.allCommitted.emit('idle');
    }
    this.stats.commitRoundTripMs += performance.now() - handedOver;
    this.settle(group, outcomes);
  }

  /**
   * Whether this thread spent BUSY_SHARE or more of its time on other work since this was last read (its event loop's
   * utilisation, read at every flush over BUSY_SPAN_MS at least): answering reads, say, while a lone append comes every
   * few of them (each first read of a case records its disclosure). Its lone appends then go to the writer thread,
   * which waits for the disk instead of the requests. The log's own work on the thread (preparing appends, its flushes:
   * opening the writer thread and the inline connection, the inline commits; `flushMs` is the current flush's so far)
   * is not other work.
   */
  private threadBusyElsewhere(flushMs: number): boolean {
    const now = performance.eventLoopUtilization();
    const { idle, active } = performance.eventLoopUtilization(now, this.loopSeen);
    const span = idle + active;
    if (span < BUSY_SPAN_MS) return this.threadBusy;
    // Of the whole span, not of what the log's own work left: a thread that only appends never waits (its commits are
    // inline), so the rest of its time is all busy, and small.
    this.threadBusy = (active - this.ownMsSinceSeen - flushMs) / span >= BUSY_SHARE;
    this.loopSeen = now;
    // The flush running now is counted in the next span, from its start.
    this.ownMsSinceSeen = -flushMs;
    return this.threadBusy;
  }

  private settle(group: PendingAppend[], outcomes: AppendOutcome[]): void {
    let head = 0;
    let headId = '';
    group.forEach((pending, i) => {
      const outcome = outcomes[i]!;
      if ('ok' in outcome) {
        this.stats.appends++;
        this.stats.events += pending.events.length;
        if (outcome.ok.position > head) {
          head = outcome.ok.position;
          headId = pending.events[pending.events.length - 1]!.id;
        }
        pending.resolve(outcome.ok);
      } else {
        pending.reject(refusalError(this.file, outcome.refused));
      }
    });
    if (head > 0) {
      this.acknowledgedHead = Math.max(this.acknowledgedHead, head);
      this.headRecorder!.note(head, headId);
      this.committed.emit('committed', head);
    }
  }

  async readStream(streamId: string, options: ReadStreamOptions = {}): Promise<RecordedEvent[]> {
    checkStreamId(streamId);
    const backwards = options.direction === 'backwards';
    const where = ['stream_id = ?'];
    const params: Array<string | number> = [streamId];
    if (options.fromRevision !== undefined) {
      where.push(backwards ? 'revision <= ?' : 'revision >= ?');
      params.push(options.fromRevision);
    }
    if (options.toRevision !== undefined) {
      where.push(backwards ? 'revision >= ?' : 'revision <= ?');
      params.push(options.toRevision);
    }
    if (options.until !== undefined) {
      where.push('recorded_at <= ?');
      params.push(options.until.getTime());
    }
    const limit = options.maxCount === undefined ? '' : ` LIMIT ${Math.max(0, Math.floor(options.maxCount))}`;
    const sql = `SELECT ${COLUMNS} FROM events WHERE ${where.join(' AND ')} ORDER BY revision ${backwards ? 'DESC' : 'ASC'}${limit}`;
    return (this.statement(sql).all(...params) as Row[]).map(toRecorded);
  }

  async readAll(options: ReadAllOptions = {}): Promise<RecordedEvent[]> {
    return this.readAllSync(options);
  }

  /** The stored JSON text of data and metadata, not parsed: verification hashes exactly what is stored. */
  async readAllRaw(options: ReadAllOptions = {}): Promise<RawRecordedEvent[]> {
    return this.readAllRows(options).map(toRaw);
  }

  /** Prepared statements by SQL text: a read shape is compiled once, not on every read. */
  private readonly statements = new Map<string, Statement>();

  private statement(sql: string): Statement {
    let stmt = this.statements.get(sql);
    if (!stmt) {
      stmt = this.db.prepare(sql).raw();
      this.statements.set(sql, stmt);
    }
    return stmt;
  }

  private readAllRows({ after = 0, maxCount = 1000, filter }: ReadAllOptions): Row[] {
    const { sql, params } = filterSql(filter);
    return this.statement(`SELECT ${COLUMNS} FROM events WHERE position > ?${sql} ORDER BY position LIMIT ?`).all(
      after,
      ...params,
      Math.max(0, Math.floor(maxCount)),
    ) as Row[];
  }

  private readAllSync(options: ReadAllOptions): RecordedEvent[] {
    return this.readAllRows(options).map(toRecorded);
  }

  subscribeToAll(options: SubscribeOptions & { undecoded: true }): UndecodedEventSubscription;
  subscribeToAll(options?: SubscribeOptions): EventSubscription;
  subscribeToAll(options: SubscribeOptions = {}): EventSubscription | UndecodedEventSubscription {
    const { filter } = options;
    // Undecoded: the rows' text as read, each event parsed by the consumer as it takes it.
    return options.undecoded
      ? this.subscribe<RecordedEvent | RawRecordedEvent>(options, (after, maxCount) =>
          this.readAllRows({ after, maxCount, filter }).map(toRaw),
        )
      : this.subscribe(options, (after, maxCount) => this.readAllSync({ after, maxCount, filter }));
  }

  private subscribe<E extends { position: number }>(
    options: SubscribeOptions,
    read: (after: number, maxCount: number) => E[],
  ): PollingSubscription<E> {
    const subscription = new PollingSubscription<E>({
      after: options.after ?? 0,
      maxBatchSize: options.maxBatchSize ?? 1000,
      read,
      head: () => this.headStmt.get()?.head ?? 0,
      wake: this.committed,
      pollIntervalMs: this.pollIntervalMs,
      onStop: () => this.subscriptions.delete(subscription),
    });
    this.subscriptions.add(subscription);
    return subscription;
  }

  async lastEvent(): Promise<RecordedEvent | null> {
    const row = this.statement(`SELECT ${COLUMNS} FROM events ORDER BY position DESC LIMIT 1`).get() as Row | undefined;
    return row ? toRecorded(row) : null;
  }

  async headPosition(): Promise<number> {
    return this.headStmt.get()?.head ?? 0;
  }

  async ping(): Promise<void> {
    this.headStmt.get();
  }

  /**
   * Checks the file: `quick` runs PRAGMA quick_check (every page and record, without comparing indexes with their
   * table) unless the file is larger than `maxQuickBytes`; `full` runs PRAGMA integrity_check. Both then check that
   * the head is sane: a position no larger than the file could hold, and a last event the id index finds at the
   * same position. Damage SQLite would only meet on some later read shows up here, before anything is written.
   */
  checkIntegrity(options: { mode: 'quick' | 'full'; maxQuickBytes?: number }): LogIntegrityReport {
    const started = Date.now();
    const bytes = fileBytes(this.file) + fileBytes(`${this.file}-wal`);
    const problems: string[] = [];
    let check: LogIntegrityReport['check'] = options.mode;
    if (options.mode === 'quick' && options.maxQuickBytes !== undefined && bytes > options.maxQuickBytes)
      check = 'skipped';
    const tryRead = <T>(what: string, read: () => T): T | null => {
      try {
        return read();
      } catch (error) {
        problems.push(`${what}: ${(error as Error).message}`);
        return null;
      }
    };
    if (check !== 'skipped') {
      const rows = tryRead(
        `${check === 'full' ? 'integrity_check' : 'quick_check'}`,
        () =>
          this.db
            .prepare(`PRAGMA ${check === 'full' ? 'integrity_check' : 'quick_check'}(100)`)
            .pluck()
            .all() as string[],
      );
      if (rows && !(rows.length === 1 && rows[0] === 'ok')) problems.push(...rows);
    }
    let head: LogIntegrityReport['head'] = { position: 0, eventId: null };
    const last = tryRead(
      'the last event',
      () =>
        this.db.prepare('SELECT position, id FROM events ORDER BY position DESC LIMIT 1').raw().get() as
          [number | bigint, string] | undefined,
    );
    if (last) {
      const position = last[0];
      const pageSize = Number(this.db.pragma('page_size', { simple: true }));
      const pages = Number(this.db.pragma('page_count', { simple: true }));
      // An event row takes well over 16 bytes, so a log of N pages cannot hold more than N·page_size/16 events.
      const most = Math.max(1, Math.floor((pages * pageSize) / 16));
      if (typeof position !== 'number' || !Number.isSafeInteger(position) || position < 1 || position > most) {
        problems.push(
          `the head position read is ${String(position)}, impossible for a file of ${pages} pages (at most ${most})`,
        );
      } else {
        head = { position, eventId: last[1] };
        const indexed = tryRead(
          'the id index',
          () => this.db.prepare('SELECT position FROM events WHERE id = ?').pluck().get(last[1]) as number | undefined,
        );
        if (indexed !== null && indexed !== position)
          problems.push(
            `the last event ${last[1]} is at position ${position}, but the id index finds it at ${String(indexed)}`,
          );
      }
    }
    return { file: this.file, check, bytes, ms: Date.now() - started, problems, head };
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    for (const subscription of [...this.subscriptions]) await subscription.stop();
    // Let queued appends commit: they were accepted before close (a queued append always has a flush scheduled).
    while (this.flushScheduled) await new Promise((resolve) => setImmediate(resolve));
    if (this.committing > 0) await new Promise((resolve) => this.allCommitted.once('idle', resolve));
    await this.writer?.stop();
    this.inline?.close();
    await this.headRecorder?.close();
    await this.checkpointer?.stop();
    try {
      this.db.pragma('wal_checkpoint(TRUNCATE)');
    } catch {
      // Another process still reads the file; its WAL is checkpointed later.
    }
    this.db.close();
  }
}

function refusalError(file: string, refusal: AppendRefusal): Error {
  if (refusal.kind === 'wrong-revision')
    return new WrongExpectedRevisionError(refusal.streamId, refusal.expected, refusal.actual);
  if (refusal.kind === 'invalid') return new InvalidEventError(refusal.path, refusal.problem);
  return storageError(file, Object.assign(new Error(refusal.message), { code: refusal.code }));
}

/** SQLite's result codes for a full disk and a damaged file become errors callers can answer as such. */
function storageError(file: string, error: unknown): Error {
  const code = String((error as { code?: unknown })?.code ?? '');
  const message = (error as Error)?.message ?? String(error);
  if (code === 'SQLITE_FULL' || /disk is full|ENOSPC/i.test(message)) return new StorageFullError(file, message);
  if (code.startsWith('SQLITE_CORRUPT') || code === 'SQLITE_NOTADB' || /malformed/i.test(message))
    return new StorageDamagedError(file, [message]);
  return error instanceof Error ? error : new Error(String(error));
}

function fileBytes(file: string): number {
  try {
    return statSync(file).size;
  } catch {
    return 0;
  }
}

/** SQL for an AllFilter; a stream prefix becomes a range so the (stream_id, revision) index can serve it. */
function filterSql(filter: AllFilter | undefined): { sql: string; params: string[] } {
  const clauses: string[] = [];
  const params: string[] = [];
  if (filter?.eventTypes && filter.eventTypes.length > 0) {
    clauses.push(`type IN (${filter.eventTypes.map(() => '?').join(', ')})`);
    params.push(...filter.eventTypes);
  }
  if (filter?.streamPrefixes && filter.streamPrefixes.length > 0) {
    clauses.push(`(${filter.streamPrefixes.map(() => '(stream_id >= ? AND stream_id < ?)').join(' OR ')})`);
    for (const prefix of filter.streamPrefixes) params.push(prefix, prefix + '\u{10ffff}');
  }
  return { sql: clauses.length ? ` AND ${clauses.join(' AND ')}` : '', params };
}

export function openSqliteEventLog(options: SqliteEventLogOptions): SqliteEventLog {
  const { file, ...rest } = options;
  return new SqliteEventLog(file, rest);
}
