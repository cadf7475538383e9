import { join } from 'node:path';
import type { EventLog } from './event-log.port';
import { openSqliteEventLog } from './sqlite/sqlite-event-log';

export type EventLogConfig = { kind: 'sqlite'; dataDir: string } | { kind: 'eventstoredb'; url: string };

/** The file name of the embedded event log inside DATA_DIR. */
export const EVENT_LOG_FILE = 'events.db';

/** `readerOnly`: this connection only reads (the projection process beside the API that writes), so it runs no WAL checkpointer of its own. */
export async function openEventLog(
  config: EventLogConfig,
  options: {
    readerOnly?: boolean;
    onHeadRecordError?: (error: unknown) => void;
    onTreeError?: (problem: string) => void;
  } = {},
): Promise<EventLog> {
  if (config.kind === 'sqlite') {
    return openSqliteEventLog({
      file: join(config.dataDir, EVENT_LOG_FILE),
      ...(options.readerOnly ? { checkpointer: false } : {}),
      ...(options.onHeadRecordError ? { onHeadRecordError: options.onHeadRecordError } : {}),
      ...(options.onTreeError ? { onTreeError: options.onTreeError } : {}),
    });
  }
  // The client is loaded only by a deployment that uses it (it is a sixth of the embedded default's start otherwise).
  const { openEventStoreDbEventLog } = await import('./eventstoredb/eventstoredb-event-log.js');
  const log = openEventStoreDbEventLog({ connectionString: config.url });
  // Fail at start-up, not on the first command, when the server is unreachable.
  await log.ping();
  return log;
}
