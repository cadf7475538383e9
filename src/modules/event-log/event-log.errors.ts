import type { ExpectedRevision } from './event-log.port';

/** The stream's revision is not the one the writer expected; nothing was written. */
export class WrongExpectedRevisionError extends Error {
  override readonly name = 'WrongExpectedRevisionError';
  constructor(
    readonly streamId: string,
    readonly expected: ExpectedRevision,
    /** The stream's current last revision, or `no_stream`. */
    readonly actual: number | 'no_stream',
  ) {
    super(`stream ${streamId}: expected revision ${String(expected)}, actual ${String(actual)}`);
  }
}

/** An event was refused before anything was written (empty type, not JSON, too large…). */
export class InvalidEventError extends Error {
  override readonly name = 'InvalidEventError';
  constructor(
    /** Which part of the append is wrong, e.g. `events[2].data`. */
    readonly path: string,
    readonly problem: string,
  ) {
    super(`${path}: ${problem}`);
  }
}

// Opening a store's file is shared by every SQLite file (shared/sqlite); the log's callers still find it here.
export { StorageOpenError } from '../../shared/sqlite/open-sqlite-file';

/**
 * A whole append is larger than the log accepts in one write (KurrentDB: data + metadata + 2 bytes per type character,
 * summed over the append, at most `MaxAppendSize`, 1 MiB by default); nothing was written.
 */
export class AppendTooLargeError extends Error {
  override readonly name = 'AppendTooLargeError';
  constructor(
    readonly streamId: string,
    /** The append's size as the store counts it; null when only the store's refusal is known. */
    readonly bytes: number | null,
    readonly limit: number,
  ) {
    super(
      `append to ${streamId}${bytes === null ? '' : ` totals ${bytes} bytes`}; the event log accepts at most ${limit} bytes per append`,
    );
  }
}

/** A failure the operator must act on, with the process exit code it ends a start or a command with. */
export interface OperatorFailure {
  readonly exitCode: number;
}

/** EX_DATAERR: the data a store holds is damaged or inconsistent. */
export const EXIT_DATA_ERROR = 65;

/** The log file's pages, index or head are damaged: nothing may be written to it, nothing it says can be trusted. */
export class StorageDamagedError extends Error implements OperatorFailure {
  override readonly name = 'StorageDamagedError';
  readonly exitCode = EXIT_DATA_ERROR;
  constructor(
    readonly file: string,
    readonly problems: readonly string[],
  ) {
    super(
      `${file} is damaged: ${problems.slice(0, 5).join('; ')}${problems.length > 5 ? `; and ${problems.length - 5} more` : ''}`,
    );
  }
}

/**
 * The event log did not answer in time, or answered in a way that cannot be trusted yet (a read-back from a node
 * behind the leader). Transient: the caller may retry; an append retried with the same event ids is recognised.
 */
export class EventLogUnavailableError extends Error {
  override readonly name = 'EventLogUnavailableError';
  constructor(
    readonly operation: string,
    readonly problem: string,
  ) {
    super(`event log ${operation}: ${problem}`);
  }
}

/**
 * The log holds fewer events than were acknowledged (lost after a power loss, or replaced by an older copy), or
 * another history than the one acknowledged: serving it would quietly deny acts that were confirmed to callers.
 */
export class EventLogLossError extends Error implements OperatorFailure {
  override readonly name = 'EventLogLossError';
  readonly exitCode = EXIT_DATA_ERROR;
  constructor(
    readonly file: string,
    readonly acknowledged: { position: number; eventId: string; witness: string },
    readonly head: { position: number; eventId: string | null },
    readonly missingEvents: number,
    readonly problem: string,
    /** Only the read store's checkpoints disagree with the log: the read store may be the one that is not the log's. */
    readStoreOnly = false,
  ) {
    super(
      `${file}: ${problem}. Acknowledged up to position ${acknowledged.position} (event ${acknowledged.eventId}, per ${acknowledged.witness}); ` +
        `the log's head is ${head.position}${head.eventId ? ` (event ${head.eventId})` : ''}` +
        `${missingEvents > 0 ? `: ${missingEvents} acknowledged event(s) are missing` : ''}. ` +
        (readStoreOnly
          ? 'Only the read store says so, and the log holds what its own head record says was acknowledged: if the read store is not this log\'s (another installation\'s, or a copy from another time), move it aside and start, and the read models are rebuilt from the log; if the log is the one that was replaced, restore it from a copy that holds them; accept the loss only if neither: npm run cli -- accept-log-loss --reason "<why>"'
          : `Restore the log from a copy that holds them, or accept the loss: npm run cli -- accept-log-loss --reason "<why>"`),
    );
  }
}

/** The disk (or the file's size limit) is full: the append was not written; it may succeed once space is freed. */
export class StorageFullError extends Error {
  override readonly name = 'StorageFullError';
  constructor(
    readonly file: string,
    readonly detail: string,
  ) {
    super(`${file}: no space left to write (${detail})`);
  }
}
