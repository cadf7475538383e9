/**
 * What a process checks before it serves or projects anything: that the embedded log file is intact, and that the
 * log still holds everything acknowledged. A damaged or shortened log is refused, never served quietly.
 */
import { existsSync } from 'node:fs';
import type { Logger } from 'pino';
import type { EventLog } from '../modules/event-log/event-log.port';
import { EventLogLossError, StorageDamagedError } from '../modules/event-log/event-log.errors';
import { latestAcceptedLoss } from '../modules/event-log/log-loss';
import { headRecordFile, readHeadRecord, writeHeadRecordSync } from '../modules/event-log/sqlite/head-record';
import { SqliteEventLog, type LogIntegrityReport } from '../modules/event-log/sqlite/sqlite-event-log';
import type { ReadStore } from '../modules/read-store/read-store.port';
import { buildPositions, positionNotInLog } from '../projections/build-positions';
import type { Projection } from '../projections/projection';

/** What was acknowledged, by whom it is witnessed, and what the log holds now. */
export interface AcknowledgedWitness {
  position: number;
  eventId: string | null;
  witness: string;
}

/** PRAGMA quick_check of the log, bounded by its size; throws StorageDamagedError naming the file and the damage. */
export function checkLogIntegrityOnStart(
  log: SqliteEventLog,
  maxQuickBytes: number,
  logger: Pick<Logger, 'info' | 'warn'>,
): LogIntegrityReport {
  const report = log.checkIntegrity({ mode: 'quick', maxQuickBytes });
  if (report.problems.length > 0) throw new StorageDamagedError(log.file, report.problems);
  if (report.check === 'skipped') {
    logger.warn(
      { file: log.file, bytes: report.bytes, maxBytes: maxQuickBytes },
      'the event log is larger than STARTUP_CHECK_MAX_MB: its pages were not checked on this start (the head was); run `npm run cli -- check` for a full check',
    );
  } else {
    logger.info(
      { file: log.file, check: report.check, bytes: report.bytes, ms: report.ms, head: report.head.position },
      'event log checked',
    );
  }
  return report;
}

/**
 * Compares the log with the witnesses of what was acknowledged: the head record beside an embedded log (written
 * after commits) and the read store's checkpoints (each the position and id of the last event projected). A witness
 * the log does not hold — past its head, or another event at its position — means acknowledged events are gone: the
 * start is refused (EventLogLossError) unless an operator recorded the loss with `accept-log-loss`.
 */
export async function checkAcknowledgedHead(options: {
  log: EventLog;
  readStore: ReadStore;
  projections: readonly Projection[];
  logFile: string | null;
  writesLog?: boolean;
}): Promise<void> {
  const { log, readStore, projections, logFile } = options;
  const head = await log.headPosition();
  const [last] = head > 0 ? await log.readAll({ after: head - 1, maxCount: 1 }) : [];
  const headEvent = { position: head, eventId: last?.position === head ? last.id : null };
  const accepted = await latestAcceptedLoss(log);
  const found: Array<AcknowledgedWitness & { problem: string }> = [];

  const recordFile = logFile ? headRecordFile(logFile) : null;
  const record = recordFile ? readHeadRecord(recordFile) : null;
  if (record && recordFile) {
    const problem = await positionNotInLog(log, record, head);
    if (problem)
      found.push({
        position: record.position,
        eventId: record.eventId,
        witness: `the head record ${recordFile}`,
        problem,
      });
  }
  for (const built of await buildPositions(readStore, projections)) {
    if (accepted && built.position <= accepted.acknowledgedPosition) continue;
    const problem = await positionNotInLog(log, built, head);
    if (problem)
      found.push({
        position: built.position,
        eventId: built.eventId ?? null,
        witness: `the read store's checkpoint of ${built.projection} (${built.which} build)`,
        problem,
      });
  }
  if (found.length > 0) {
    const furthest = found.reduce((a, b) => (b.position > a.position ? b : a));
    throw new EventLogLossError(
      logFile ?? 'the event log',
      {
        position: furthest.position,
        eventId: furthest.eventId ?? '(not recorded)',
        witness: found.map((f) => f.witness).join(', '),
      },
      headEvent,
      Math.max(0, furthest.position - head),
      [...new Set(found.map((f) => f.problem))].join('; '),
      // The log's own witness (its head record) is satisfied: it is the read store that may be another's.
      record !== null && found.every((f) => f.witness !== `the head record ${recordFile}`),
    );
  }
  // A log that never had a record (created before there was one) gets one now from its writer, so the next start has a witness.
  if (options.writesLog && recordFile && !existsSync(recordFile) && headEvent.eventId)
    writeHeadRecordSync(recordFile, { position: head, eventId: headEvent.eventId });
}

/** Every position and event the log would have to hold, for `accept-log-loss` to say what it accepts. */
export async function acknowledgedBeyondLog(options: {
  log: EventLog;
  readStore: ReadStore;
  projections: readonly Projection[];
  logFile: string | null;
}): Promise<EventLogLossError | null> {
  try {
    await checkAcknowledgedHead(options);
    return null;
  } catch (error) {
    if (error instanceof EventLogLossError) return error;
    throw error;
  }
}
