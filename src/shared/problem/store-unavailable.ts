/**
 * MongoDB not answering (a failover, a network fault, a server shutting down), told apart from MongoDB refusing what it
 * was asked: a read model or a key store that cannot be reached is the service unavailable for a moment, 503 with
 * Retry-After, not an unhandled error with its stack. Read against the driver's own classes and codes
 * (node_modules/mongodb/lib/error.js: RETRYABLE_READ_ERROR_CODES, which the driver retries once itself). Told by the
 * errors' names and labels, without importing the driver: the problem filter answers for the embedded default too,
 * which never loads it.
 */
import { ProblemError } from './problem';

/** The server codes of a node that cannot serve now (error.js MONGODB_ERROR_CODES), which the package does not export. */
const UNAVAILABLE_CODES = new Set([
  6, // HostUnreachable
  7, // HostNotFound
  89, // NetworkTimeout
  91, // ShutdownInProgress
  134, // ReadConcernMajorityNotAvailableYet
  189, // PrimarySteppedDown
  262, // ExceededTimeLimit
  9001, // SocketException
  10107, // NotWritablePrimary
  11600, // InterruptedAtShutdown
  11602, // InterruptedDueToReplStateChange
  13435, // NotPrimaryNoSecondaryOk
  13436, // NotPrimaryOrSecondary
]);

/** A transaction that wrote a document another transaction wrote first (the server's WriteConflict). */
export const WRITE_CONFLICT = 112;

/** The driver's errors of a server or connection that cannot serve now (each class's `name`, error.js, cmap/errors.js). */
const UNAVAILABLE_NAMES = new Set([
  'MongoNetworkError',
  'MongoNetworkTimeoutError',
  'MongoPoolClearedError',
  'PoolClearedOnNetworkError',
  'MongoWaitQueueTimeoutError',
  'MongoServerSelectionError',
  'MongoTopologyClosedError',
  'MongoNotConnectedError',
  'MongoServerClosedError',
]);

interface DriverError {
  name: string;
  code?: unknown;
  hasErrorLabel(label: string): boolean;
}

export function mongoUnavailable(error: unknown): boolean {
  if (!(error instanceof Error) || typeof (error as Partial<DriverError>).hasErrorLabel !== 'function') return false;
  const driverError = error as unknown as DriverError;
  return (
    UNAVAILABLE_NAMES.has(driverError.name) ||
    driverError.hasErrorLabel('RetryableWriteError') ||
    driverError.hasErrorLabel('TransientTransactionError') ||
    (typeof driverError.code === 'number' && UNAVAILABLE_CODES.has(driverError.code))
  );
}

/** Seconds a caller is told to wait: a replica set elects a new primary in about ten. */
const RETRY_AFTER_S = 5;

export class StoreUnavailableError extends ProblemError {
  constructor(what: string) {
    super(
      503,
      'store-unavailable',
      'A store the service needs is not answering',
      `${what} (MongoDB) did not answer: try again. A command sent again with the same Idempotency-Key is recorded once.`,
      undefined,
      {},
      { 'retry-after': String(RETRY_AFTER_S) },
    );
  }
}
