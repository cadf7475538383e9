/**
 * `npm run cli -- restore --from DIR --data-dir NEW_DIR`: checks a backup against its manifest, copies it into an
 * empty data directory, then runs what `check` and `verify` run on the result, and the service's start-up check that the
 * key store holds the keys of the log's newest acts. Exit 0 when all holds; 65 for a damaged backup, or one whose key
 * store lacks the log's keys (NEW_DIR is left empty); 73 when NEW_DIR is not empty; 1 when a check of the restored
 * directory fails.
 */
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { refuseRestoredWithoutKeys, restoreDataDir } from '../app/backup/data-dir-backup';
import { EVENT_LOG_FILE } from '../modules/event-log/open-event-log';
import { SqliteEventLog } from '../modules/event-log/sqlite/sqlite-event-log';
import { contradictionLines, storedTreeProblem, supersededLine, verifyLog } from '../modules/audit/verify-log.cli';
import { CHECKPOINT_STORE_FILE, readCheckpointFile } from '../modules/transparency/sqlite/sqlite-checkpoint-store';
import { consoleProgress } from '../shared/progress';
import { checkEmbeddedLog } from './check.cli';
import { commandArgs, configWithDataDir } from '../shared/cli/cli-command';

const USAGE = `usage: npm run cli -- restore --from DIR [--data-dir NEW_DIR]

Checks every file of the backup in DIR against its manifest (size and SHA-256), copies them into NEW_DIR (default
DATA_DIR), which must be new or empty, then checks the result as \`check\` and \`verify\` do: every page and index of the
log, every acknowledged event present, every hash chain, every signed checkpoint's root reproduced by the events, the
log's Merkle tree (the leaves of commits the backup caught before their tree was stored are added from the events);
and that the key store holds the keys of the log's newest acts,
as the service checks at start (if not: exit 65, NEW_DIR left empty). Start the service on NEW_DIR afterwards.`;

export async function run(argv: string[]): Promise<number> {
  const args = commandArgs('restore', USAGE, argv, {
    options: { from: { type: 'string' }, 'data-dir': { type: 'string' }, help: { type: 'boolean', short: 'h' } },
  });
  if (typeof args === 'number') return args;
  const values = args.values;
  if (!values.from) {
    process.stderr.write(`restore: --from is required\n\n${USAGE}\n`);
    return 2;
  }
  const config = configWithDataDir(values['data-dir']);
  if (config === 78) return config;
  if (config.eventStore.kind !== 'sqlite' || config.readStore.kind !== 'sqlite') {
    process.stderr.write('restore: restores the embedded stores (EVENT_STORE=sqlite, READ_STORE=sqlite)\n');
    return 2;
  }
  const from = resolve(values.from);
  const copying = consoleProgress('restore', 1);
  const manifest = restoreDataDir(from, config.dataDir, ({ done, total }) => copying.update(done, Math.max(1, total)));
  copying.done();
  process.stdout.write(
    `restored ${manifest.files.length} files of the backup of ${manifest.createdAt} into ${config.dataDir}\n`,
  );
  const file = join(config.dataDir, EVENT_LOG_FILE);
  const checked = await checkEmbeddedLog(config, file);
  process.stdout.write(`${checked.lines.join('\n')}\n`);
  if (!checked.ok) return 1;
  // After check: it reads the log, which is now known to be readable.
  await refuseRestoredWithoutKeys(from, config.dataDir);
  process.stdout.write("key store: holds the keys of the log's newest acts\n");
  const log = new SqliteEventLog(file, { checkpointer: false });
  try {
    const head = await log.headPosition();
    // The signed checkpoints copied with the log: a history rewritten under them does not reproduce their roots. Read
    // as the copy is, before anything of it is verified.
    const checkpointFile = join(config.dataDir, CHECKPOINT_STORE_FILE);
    let copied: ReturnType<typeof readCheckpointFile> = { checkpoints: [], superseded: 0 };
    if (existsSync(checkpointFile)) {
      try {
        copied = readCheckpointFile(checkpointFile);
      } catch (error) {
        process.stdout.write(`signed checkpoints: BROKEN: ${(error as Error).message}\n`);
        return 1;
      }
    }
    const report = await verifyLog(log, consoleProgress('verify hash chains', Math.max(1, head)), copied.checkpoints);
    const { contradicted } = report.tree;
    process.stdout.write(
      `hash chains: ${report.valid ? 'valid' : 'BROKEN'}: ${report.sealedEvents} sealed events in ${report.streams - report.unsealedStreams} chained streams\n` +
        report.broken.map((b) => `  ${b.streamId} revision ${b.revision}: ${b.problem}\n`).join('') +
        `signed checkpoints: ${report.tree.confirmed} of ${report.tree.checkpoints} reproduced by the log's events` +
        ' (their signatures: npm run cli -- verify)\n' +
        (report.tree.checkpoints === 0 && report.tree.leaves > 0
          ? '  no signed checkpoint came with the log: nothing here anchors its history to a signature\n'
          : '') +
        supersededLine(copied.superseded) +
        contradictionLines(contradicted),
    );
    if (!report.valid || contradicted.length > 0) return 1;
    // The service stores a commit's Merkle tree in a transaction right behind it, so a backup taken while it runs may
    // hold events whose leaves are not stored yet; the service would add them on its first append, but `verify` on the
    // restored directory would call the tree short. They are added here, from the events the chains just verified.
    let added = 0;
    let problem: string | null;
    try {
      added = log.tree.catchUp().added;
      problem = storedTreeProblem(log.tree, log.tree.size(), report.tree);
    } catch (error) {
      // A tree larger than the log, or not a whole tree: damaged, named as verify names it. The disk's own failures
      // (full, I/O) are not the tree's: they stay errors of their own.
      if (typeof (error as { code?: unknown }).code === 'string') throw error;
      problem = `the stored tree is damaged: ${(error as Error).message}`;
    }
    process.stdout.write(
      problem
        ? `Merkle tree: BROKEN: ${problem}; rebuild it with npm run cli -- rebuild-tree\n`
        : `Merkle tree: the one the events make, ${report.tree.leaves} leaves` +
            (added > 0 ? ` (${added} of them added now: the backup was taken between commits and their tree)` : '') +
            '\n',
    );
    return problem ? 1 : 0;
  } finally {
    await log.close();
  }
}
