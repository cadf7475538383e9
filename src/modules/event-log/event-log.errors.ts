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
