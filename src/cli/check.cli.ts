/**
 * `npm run cli -- check [--data-dir DIR] [--json]`: the full check of the embedded event log that a start only
 * does cheaply: PRAGMA integrity_check of every page and index, the head's sanity, and the log against the witnesses
 * of what was acknowledged (the head record beside it, the read store's checkpoints). Read-only: it may run beside
 * the service. Exit 0 when all is well, 1 naming the file and what is wrong.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { AppConfig } from '../shared/config/config';
import { loadReferenceData } from '../app/reference-data';
import { acknowledgedBeyondLog } from '../app/startup-checks';
import { EVENT_LOG_FILE } from '../modules/event-log/open-event-log';
import { SqliteEventLog } from '../modules/event-log/sqlite/sqlite-event-log';
import { openReadStore } from '../modules/read-store/open-read-store';
import { allProjections } from '../app/projections';
import { commandArgs, configWithDataDir } from '../shared/cli/cli-command';

const USAGE = `usage: npm run cli -- check [--data-dir DIR] [--json]

Checks the embedded event log (DATA_DIR/events.db) in full: every page and index (PRAGMA integrity_check), that its
head is sane, and that it holds every event acknowledged (the head record events.head.json, the read store's
checkpoints). Read-only; it may run while the service runs. Exit code 1 names the file and what is wrong.`;

export async function run(argv: string[]): Promise<number> {
  const args = commandArgs('check', USAGE, argv, {
    options: { 'data-dir': { type: 'string' }, json: { type: 'boolean' }, help: { type: 'boolean', short: 'h' } },
  });
  if (typeof args === 'number') return args;
  const values = args.values;
  const config = configWithDataDir(values['data-dir']);
  if (config === 78) return config;
  if (config.eventStore.kind !== 'sqlite') {
    process.stderr.write(
      'check: EVENT_STORE is not sqlite; the embedded log is the one this command checks (EventStoreDB checks its own files)\n',
    );
    return 2;
  }
  const file = join(config.dataDir, EVENT_LOG_FILE);
  if (!existsSync(file)) {
    process.stderr.write(`check: there is no event log at ${file}\n`);
    return 1;
  }
  const { ok, lines, json } = await checkEmbeddedLog(config, file);
  if (values.json) process.stdout.write(`${JSON.stringify(json, null, 2)}\n`);
  else process.stdout.write(`${lines.join('\n')}\n`);
  return ok ? 0 : 1;
}

/** The checks of this command on one data directory's log: also run by `restore` on what it restored. */
export async function checkEmbeddedLog(
  config: AppConfig,
  file: string,
): Promise<{ ok: boolean; lines: string[]; json: Record<string, unknown> }> {
  const log = new SqliteEventLog(file, { checkpointer: false });
  try {
    const report = log.checkIntegrity({ mode: 'full' });
    const lines = [
      report.problems.length === 0
        ? `${file}: ok (integrity_check of ${report.bytes} bytes in ${report.ms} ms; head ${report.head.position}${report.head.eventId ? `, event ${report.head.eventId}` : ''})`
        : `${file}: DAMAGED (integrity_check):\n${report.problems.map((p) => `  ${p}`).join('\n')}`,
    ];
    let loss = null;
    if (report.problems.length === 0) {
      const store = await openReadStore(config.readStore);
      try {
        loss = await acknowledgedBeyondLog({
          log,
          readStore: store,
          projections: allProjections(loadReferenceData(config)),
          logFile: file,
        });
      } finally {
        await store.close();
      }
      lines.push(
        loss
          ? `acknowledged events: MISSING: ${loss.message}`
          : 'acknowledged events: all in the log (head record and read-store checkpoints)',
      );
    }
    const ok = report.problems.length === 0 && loss === null;
    return {
      ok,
      lines,
      json: {
        ok,
        integrity: report,
        loss: loss
          ? {
              message: loss.message,
              acknowledged: loss.acknowledged,
              head: loss.head,
              missingEvents: loss.missingEvents,
            }
          : null,
      },
    };
  } finally {
    await log.close();
  }
}
