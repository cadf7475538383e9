/**
 * `npm run cli -- verify [--json]`: checks the hash chain of every stream in the event log, one pass in
 * global order, with a progress bar. Exits 1 and names each broken stream and revision when any is.
 */
import { commandConfig } from '../../app/config/config';
import { openEventLog } from '../event-log/open-event-log';
import type { EventLog, RawRecordedEvent, RecordedEvent } from '../event-log/event-log.port';
import { consoleProgress, type Progress } from '../../shared/progress';
import { LogChainVerifier, type LogVerificationReport } from './domain/log-verification';
import { SqliteEventLog } from '../event-log/sqlite/sqlite-event-log';
import { StorageDamagedError } from '../event-log/event-log.errors';

const USAGE = `usage: npm run cli -- verify [--json]

Recomputes the SHA-256 hash chain of every stream in the event log (EVENT_STORE / DATA_DIR as for the service)
and reports each stream whose chain is broken, with the first broken revision. Exit code 1 when any is.`;

const PAGE = 2000;

/** Reads the whole log once and verifies every sealed stream; `progress` gets the position reached. */
export async function verifyLog(log: EventLog, progress?: Progress): Promise<LogVerificationReport> {
  const verifier = new LogChainVerifier();
  let after = 0;
  // Where the log can hand out the stored text, the hashes are recomputed over exactly what is stored.
  const readRaw = log.readAllRaw?.bind(log);
  for (let read = 0; ; ) {
    const page = readRaw ? await readRaw({ after, maxCount: PAGE }) : await log.readAll({ after, maxCount: PAGE });
    if (page.length === 0) break;
    if (readRaw) for (const event of page as RawRecordedEvent[]) verifier.addStored(event);
    else for (const event of page as RecordedEvent[]) verifier.add(event);
    after = page[page.length - 1]!.position;
    read += page.length;
    progress?.update(read);
  }
  progress?.done();
  return verifier.report();
}

export async function run(argv: string[]): Promise<number> {
  const config = commandConfig(argv, USAGE);
  if (typeof config === 'number') return config;
  const log = await openEventLog(config.eventStore.kind === 'sqlite' ? { kind: 'sqlite', dataDir: config.eventStore.dataDir } : { kind: 'eventstoredb', url: config.eventStore.url }, { readerOnly: true });
  try {
    const started = Date.now();
    if (log instanceof SqliteEventLog) {
      // A head read from a damaged page (5.4e18, say) is refused before a progress bar is sized on it.
      const sanity = log.checkIntegrity({ mode: 'quick', maxQuickBytes: 0 });
      if (sanity.problems.length > 0) throw new StorageDamagedError(log.file, sanity.problems);
    }
    const total = await log.headPosition();
    let report: LogVerificationReport;
    try {
      report = await verifyLog(log, consoleProgress('verify hash chains', Math.max(1, log.kind === 'sqlite' ? total : 1)));
    } catch (error) {
      // A page SQLite cannot read is named with its file, not thrown as a driver's stack.
      if (log instanceof SqliteEventLog && /^SQLITE_(CORRUPT|NOTADB)/.test(String((error as { code?: unknown }).code ?? ''))) {
        throw new StorageDamagedError(log.file, [`${(error as Error).message} (while reading the log); run \`npm run cli -- check\``]);
      }
      throw error;
    }
    const seconds = (Date.now() - started) / 1000;
    if (argv.includes('--json')) process.stdout.write(`${JSON.stringify({ ...report, seconds }, null, 2)}\n`);
    else {
      process.stdout.write(
        `${report.valid ? 'valid' : 'BROKEN'}: ${report.sealedEvents} sealed events in ${report.streams - report.unsealedStreams} chained streams verified` +
          ` (${report.events} events read, ${report.unsealedStreams} streams without a chain) in ${seconds.toFixed(1)} s\n` +
          report.broken.map((b) => `  ${b.streamId} revision ${b.revision}: ${b.problem}\n`).join(''),
      );
    }
    return report.valid ? 0 : 1;
  } finally {
    await log.close();
  }
}
