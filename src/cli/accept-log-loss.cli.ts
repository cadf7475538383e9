/**
 * `npm run cli -- accept-log-loss --reason "<why>" [--by NAME] [--data-dir DIR]`: the operator's way out when the
 * service refuses to start because the log holds fewer events than were acknowledged (a damaged WAL, an older copy
 * restored). The loss is recorded in the log itself (an EventLogLossAccepted event in the log-integrity stream: what
 * was acknowledged, what the log holds, how many events are missing, who accepted it and why) and the head record is
 * moved to the log's head; read models ahead of the log are rebuilt on the next start.
 */
import { userInfo } from 'node:os';
import { join } from 'node:path';
import { openInfrastructure } from '../app/infrastructure';
import { createLogger } from '../shared/logging/logger';
import { acknowledgedBeyondLog } from '../app/startup-checks';
import { LOG_INTEGRITY_STREAM, LOG_LOSS_ACCEPTED, type LogLossAccepted } from '../modules/event-log/log-loss';
import { EVENT_LOG_FILE } from '../modules/event-log/open-event-log';
import { allProjections } from '../app/projections';
import { appendSealed } from '../modules/transparency/sealed-append';
import { commandArgs, configWithDataDir } from '../shared/cli/cli-command';

const USAGE = `usage: npm run cli -- accept-log-loss --reason "<why>" [--by NAME] [--data-dir DIR]

When the service refuses to start because acknowledged events are missing from the log, records in the log that an
operator accepts the loss (what is missing, who, why) so the service starts again. Stop the service first.`;

export async function run(argv: string[]): Promise<number> {
  const args = commandArgs('accept-log-loss', USAGE, argv, {
    options: {
      reason: { type: 'string' },
      by: { type: 'string' },
      'data-dir': { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (typeof args === 'number') return args;
  const values = args.values;
  const reason = values.reason?.trim() ?? '';
  if (reason.length < 3 || reason.length > 1000) {
    process.stderr.write(
      `accept-log-loss: --reason is required (3–1000 characters): it is recorded with the acceptance\n\n${USAGE}\n`,
    );
    return 2;
  }
  const config = configWithDataDir(values['data-dir']);
  if (config === 78) return config;
  // Takes the log writer's role (so refuses while the API runs) and checks the file; the acknowledged-head check
  // itself is what this command answers, so it is run here rather than refusing the start.
  const infra = await openInfrastructure(config, createLogger(process.env.LOG_LEVEL || 'warn'), {
    projections: 'none',
    writesLog: true,
    acknowledgedHead: 'skip',
    acceptLogLoss: `accept-log-loss: ${reason}`,
  });
  try {
    const loss = await acknowledgedBeyondLog({
      log: infra.eventLog,
      readStore: infra.readStore,
      projections: allProjections(infra.reference),
      logFile: config.eventStore.kind === 'sqlite' ? join(config.dataDir, EVENT_LOG_FILE) : null,
    });
    if (!loss) {
      process.stdout.write(
        `accept-log-loss: nothing to accept: the log holds every acknowledged event; nothing recorded\n`,
      );
      return 0;
    }
    const data: LogLossAccepted = {
      acknowledgedPosition: loss.acknowledged.position,
      acknowledgedEventId: loss.acknowledged.eventId,
      witnesses: loss.acknowledged.witness.split(', '),
      headPosition: loss.head.position,
      headEventId: loss.head.eventId,
      missingEvents: loss.missingEvents,
      reason,
      acceptedBy: values.by?.trim() || userInfo().username,
    };
    const recorded = await appendSealed(infra.eventLog, LOG_INTEGRITY_STREAM, [
      { type: LOG_LOSS_ACCEPTED, data, metadata: { recordedAt: new Date().toISOString(), problem: loss.problem } },
    ]);
    process.stdout.write(
      `accept-log-loss: recorded at position ${recorded.position}: ${data.missingEvents} acknowledged event(s) up to position ${data.acknowledgedPosition} are accepted as lost ` +
        `(the log's head was ${data.headPosition}); read models ahead of the log are rebuilt on the next start\n`,
    );
    return 0;
  } finally {
    await infra.close();
  }
}
