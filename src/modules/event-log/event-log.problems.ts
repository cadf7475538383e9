/**
 * The event log's typed errors as problem+json (RFC 9457): what a caller is told when the log refuses or fails a write.
 * Framework-free, so the edges that answer outside Nest's filter (the auditors' access log hook) give the same answer.
 */
import { ProblemError, type ProblemAnswer } from '../../shared/problem/problem';
import {
  AppendTooLargeError,
  EventLogUnavailableError,
  InvalidEventError,
  StorageDamagedError,
  StorageFullError,
  WrongExpectedRevisionError,
} from './event-log.errors';

/**
 * A read's `after` past the log's head: no command or read ever answered that position, so no wait can reach it (the
 * read models' read-your-writes and the feed refuse it alike).
 */
/**
 * Stored data that is not what was written: acts that no longer match their hashes, an envelope that no longer decrypts,
 * a key that no longer unwraps. Refused as what it is (a 500 problem saying so), never served as if whole, as "erased"
 * or as an unhandled error.
 */
export function storedDataDamaged(detail: string): ProblemError {
  return new ProblemError(
    500,
    'stored-data-damaged',
    'The stored data is damaged',
    `${detail}; nothing of it is answered. The operator checks the log with \`npm run cli -- verify\` and restores the damaged file from its backup`,
  );
}

export function positionPastHead(after: number, head: number): ProblemError {
  return ProblemError.badRequest([
    {
      field: 'query.after',
      problem: `${after} is past the log's head (${head}): no event has that position yet`,
      allowed: `a position a command or a read answered, at most ${head}`,
    },
  ]);
}

/** Seconds a client is asked to wait after a full disk refused its write. */
export const STORAGE_FULL_RETRY_AFTER_S = 30;

export const isStorageFault = (exception: unknown): boolean =>
  exception instanceof StorageFullError ||
  exception instanceof StorageDamagedError ||
  /^SQLITE_(CORRUPT|NOTADB|FULL)/.test(String((exception as { code?: unknown })?.code ?? ''));

/** An event-log error (or SQLite's own full/damaged codes) as its problem; anything else: null. */
export function eventLogProblem(exception: unknown, instance?: string): ProblemAnswer | null {
  const sqliteCode = String((exception as { code?: unknown })?.code ?? '');
  if (exception instanceof StorageFullError || sqliteCode === 'SQLITE_FULL') {
    return {
      problem: new ProblemError(
        503,
        'storage-full',
        "The server's storage is full",
        'Nothing was written: the disk holding the event log is full. Try again later; the operator has been told.',
      ).toProblem(instance),
      headers: { 'retry-after': String(STORAGE_FULL_RETRY_AFTER_S) },
    };
  }
  if (exception instanceof StorageDamagedError || /^SQLITE_(CORRUPT|NOTADB)/.test(sqliteCode)) {
    return {
      problem: new ProblemError(
        503,
        'storage-damaged',
        "The server's storage is damaged",
        'Nothing was written: the event log file is damaged and the service refuses to write to it until an operator repairs it.',
      ).toProblem(instance),
      headers: {},
    };
  }
  if (exception instanceof WrongExpectedRevisionError) {
    return {
      problem: new ProblemError(
        409,
        'stale-revision',
        'The case changed since you read it',
        exception.message,
        undefined,
        {
          expectedRevision: exception.expected,
          currentRevision: exception.actual,
        },
      ).toProblem(instance),
      headers: {},
    };
  }
  if (exception instanceof AppendTooLargeError) {
    return {
      problem: new ProblemError(
        413,
        'append-too-large',
        'The request would write more than the event log accepts at once',
        exception.message,
        [
          {
            field: 'body',
            problem:
              exception.bytes === null
                ? 'too large for one append'
                : `${exception.bytes} bytes as the event log counts them`,
            allowed: `at most ${exception.limit} bytes per append (data + metadata + 2 per type character)`,
          },
        ],
      ).toProblem(instance),
      headers: {},
    };
  }
  if (exception instanceof EventLogUnavailableError) {
    return {
      problem: new ProblemError(
        503,
        'event-log-unavailable',
        'The event log did not answer in time',
        exception.message,
      ).toProblem(instance),
      headers: { 'retry-after': '1' },
    };
  }
  if (exception instanceof InvalidEventError) {
    return {
      problem: ProblemError.badRequest([{ field: exception.path, problem: exception.problem }]).toProblem(instance),
      headers: {},
    };
  }
  return null;
}
