/**
 * `npm run cli -- rebuild-tree`: drops the embedded log's stored Merkle tree and builds it again from the events,
 * in one transaction (with the service stopped: its writer refuses to append while the tree disagrees with the log).
 * It does not touch the signed checkpoints: a log that contradicts them still fails `verify` afterwards.
 */
import { commandArgs, configWithDataDir } from '../../shared/cli/cli-command';
import { openEventLog } from '../event-log/open-event-log';
import type { SqliteEventLog } from '../event-log/sqlite/sqlite-event-log';
import { rootAt } from './domain/merkle';

const USAGE = `usage: npm run cli -- rebuild-tree [--data-dir DIR]

Rebuilds the Merkle tree of the embedded event log (DATA_DIR/events.db) from its events. Stop the service first.`;

export async function run(argv: string[]): Promise<number> {
  const args = commandArgs('rebuild-tree', USAGE, argv, {
    options: { 'data-dir': { type: 'string' }, help: { type: 'boolean', short: 'h' } },
  });
  if (typeof args === 'number') return args;
  const config = configWithDataDir(args.values['data-dir']);
  if (config === 78) return config;
  if (config.eventStore.kind !== 'sqlite') {
    process.stderr.write('rebuild-tree: only the embedded event log (EVENT_STORE=sqlite) keeps its tree beside it\n');
    return 2;
  }
  const log = (await openEventLog(
    { kind: 'sqlite', dataDir: config.eventStore.dataDir },
    { readerOnly: true },
  )) as SqliteEventLog;
  try {
    const started = Date.now();
    const { leaves } = log.tree.rebuild();
    const seconds = (Date.now() - started) / 1000;
    process.stdout.write(
      `rebuilt: ${leaves} leaves in ${seconds.toFixed(1)} s (${Math.round(leaves / Math.max(seconds, 0.001))} leaves/s), root ${Buffer.from(rootAt(log.tree, leaves)).toString('base64')}\n`,
    );
    return 0;
  } finally {
    await log.close();
  }
}
