/**
 * `npm run cli -- backup --to DIR [--data-dir DIR]`: an online backup of the embedded DATA_DIR (see
 * data-dir-backup.ts for what is copied and in which order), while the service runs. Exit 0 with the manifest's
 * summary; 65 when the copy is not one the service would start on (no manifest written); 73 when DIR is not empty; 2
 * when the stores are not the embedded ones.
 */
import { resolve } from 'node:path';
import { backupDataDir } from '../app/backup/data-dir-backup';
import { consoleProgress } from '../shared/progress';
import { commandArgs, configWithDataDir } from '../shared/cli/cli-command';

const USAGE = `usage: npm run cli -- backup --to DIR [--data-dir DIR]

Copies the embedded data directory (DATA_DIR) into DIR, a new or empty directory, while the service runs: every
SQLite file through SQLite's backup API (the event log after the files that witness it, so no read-model checkpoint or
head record in the copy is past the copied log; the personal-data key store after the log, so it holds the key of every
act in the copy), every key and secret file as it is, and a manifest.json with each file's size and SHA-256.
Restore with: npm run cli -- restore --from DIR --data-dir NEW_DIR`;

export async function run(argv: string[]): Promise<number> {
  const args = commandArgs('backup', USAGE, argv, {
    options: { to: { type: 'string' }, 'data-dir': { type: 'string' }, help: { type: 'boolean', short: 'h' } },
  });
  if (typeof args === 'number') return args;
  const values = args.values;
  if (!values.to) {
    process.stderr.write(`backup: --to is required\n\n${USAGE}\n`);
    return 2;
  }
  const config = configWithDataDir(values['data-dir']);
  if (config === 78) return config;
  if (config.eventStore.kind !== 'sqlite' || config.readStore.kind !== 'sqlite') {
    process.stderr.write(
      'backup: backs up the embedded stores (EVENT_STORE=sqlite, READ_STORE=sqlite); back up EventStoreDB and MongoDB with their own tools\n',
    );
    return 2;
  }
  const to = resolve(values.to);
  let progress: ReturnType<typeof consoleProgress> | null = null;
  const manifest = await backupDataDir(config.dataDir, to, ({ done, total }) => {
    progress ??= consoleProgress('backup', Math.max(1, total));
    progress.update(done, Math.max(1, total));
  });
  (progress as ReturnType<typeof consoleProgress> | null)?.done();
  const bytes = manifest.files.reduce((sum, f) => sum + f.bytes, 0);
  process.stdout.write(
    `backed up ${manifest.files.length} files (${bytes} bytes) of ${config.dataDir} into ${to}:\n${manifest.files.map((f) => `  ${f.name} ${f.bytes} bytes sha256 ${f.sha256}`).join('\n')}\n`,
  );
  return 0;
}
