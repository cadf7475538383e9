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

/** The storage file is not a reglament database, or is corrupt. */
export class StorageOpenError extends Error {
  override readonly name = 'StorageOpenError';
  constructor(readonly file: string, readonly problem: string) {
    super(`${file}: ${problem}`);
  }
}

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
    super(`append to ${streamId}${bytes === null ? '' : ` totals ${bytes} bytes`}; the event log accepts at most ${limit} bytes per append`);
  }
}

/**
 * The event log did not answer in time, or answered in a way that cannot be trusted yet (a read-back from a node
 * behind the leader). Transient: the caller may retry; an append retried with the same event ids is recognised.
 */
export class EventLogUnavailableError extends Error {
  override readonly name = 'EventLogUnavailableError';
  constructor(readonly operation: string, readonly problem: string) {
    super(`event log ${operation}: ${problem}`);
  }
}
