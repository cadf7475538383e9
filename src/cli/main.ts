import 'reflect-metadata';

import { lazyCommand, type CliCommand } from '../shared/cli/cli-command';
import { keepCreatedFilesPrivate } from '../shared/data-dir';
import { auditCommands } from '../modules/audit/audit.cli';
import { identityCommands } from '../modules/identity/identity.cli';
import { personalDataCommands } from '../modules/personal-data/personal-data.cli';
import { regulationsCommands } from '../modules/regulations/regulations.cli';
import { transparencyCommands } from '../modules/transparency/transparency.cli';

/**
 * `npm run cli -- <command> [args]`. Each module exports its commands beside its code; this file assembles the list,
 * with the commands of the whole data directory (backup, check, migrate...) that belong to no one module. Every
 * command loads its code only when it runs (dynamic import needs the .js extension under node16 resolution).
 */
const commands: CliCommand[] = [
  lazyCommand(
    'accept-log-loss',
    'record that acknowledged events missing from the log are accepted as lost, so the service starts again',
    () => import('./accept-log-loss.cli.js'),
  ),
  lazyCommand(
    'backup',
    'copy the embedded data directory into --to DIR while the service runs, with a manifest of SHA-256s',
    () => import('./backup.cli.js'),
  ),
  lazyCommand(
    'check',
    'check the embedded event log in full: every page and index, its head, and every acknowledged event',
    () => import('./check.cli.js'),
  ),
  lazyCommand(
    'erase',
    "erase a data subject's personal data: destroy their key, record the erasure with its legal basis",
    () => import('./erase.cli.js'),
  ),
  lazyCommand(
    'retention-report',
    'list the closed cases whose personal data is past its retention period, by data subject',
    () => import('./erase.cli.js').then((m) => ({ run: m.runReport })),
  ),
  lazyCommand(
    'demo',
    'seed demo cases of all six regulation versions through the command path',
    () => import('../demo/demo.command.js'),
  ),
  lazyCommand(
    'migrate',
    'copy the event log into another store, resumable, then rebuild the read models and verify',
    () => import('./migrate.cli.js'),
  ),
  lazyCommand(
    'rebuild',
    'rebuild a read model from the first event beside the live one, then switch readers to it',
    () => import('./rebuild.cli.js'),
  ),
  lazyCommand(
    'restore',
    'restore a backup (--from DIR) into an empty data directory, checked against its manifest, then check and verify it',
    () => import('./restore.cli.js'),
  ),
  ...auditCommands,
  ...identityCommands,
  ...personalDataCommands,
  ...regulationsCommands,
  ...transparencyCommands,
].sort((a, b) => a.name.localeCompare(b.name));

function usage(): string {
  const width = Math.max(...commands.map((c) => c.name.length));
  return (
    'usage: npm run cli -- <command> [options]      (npm run cli -- <command> --help: its options)\n\n' +
    commands.map((c) => `  ${c.name.padEnd(width)}  ${c.summary}`).join('\n') +
    '\n\nEvery command that reads or writes data takes --data-dir DIR (default: DATA_DIR, else ./var/data).'
  );
}

async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
    process.stdout.write(`${usage()}\n`);
    return 0;
  }
  const command = commands.find((c) => c.name === name);
  if (!command) {
    process.stderr.write(`unknown command: ${name}\n\n${usage()}\n`);
    return 2;
  }
  return command.run(rest);
}

/**
 * A failure an operator can act on (a damaged or missing file, a role another process holds, a bad setting) is one
 * line naming the file and what is wrong, with its exit code; only an error nobody foresaw, a bug, shows its stack.
 */
function describeFailure(command: string, error: unknown): { text: string; exitCode: number } {
  const e = error as { name?: string; code?: unknown; exitCode?: unknown; message?: string; stack?: string };
  const exitCode = typeof e?.exitCode === 'number' ? e.exitCode : 1;
  if (
    error instanceof Error &&
    (typeof e.exitCode === 'number' ||
      [
        'StorageOpenError',
        'ConfigError',
        'AuthConfigError',
        'StorageFullError',
        'BackupDamagedError',
        'TargetNotEmptyError',
        'MigrationTargetMismatchError',
        'MigrationCopyMismatchError',
      ].includes(error.name))
  ) {
    return { text: `${command}: ${error.message}`, exitCode };
  }
  if (error instanceof Error && error.name === 'ReadModelNotReadyError') {
    // A command run on a data directory whose read models nothing has built yet (the service never ran on it).
    const projection = (error as Error & { projection?: string }).projection ?? '<projection>';
    return {
      text: `${command}: ${error.message}: start the service on this data directory, or run \`npm run cli -- rebuild ${projection}\``,
      exitCode: 1,
    };
  }
  if (error instanceof Error && typeof e.code === 'string' && e.code.startsWith('SQLITE_')) {
    const damaged = /^SQLITE_(CORRUPT|NOTADB)/.test(e.code);
    return {
      text: `${command}: ${e.code}: ${error.message}${damaged ? ' — a database file in DATA_DIR is damaged; run `npm run cli -- check`' : ''}`,
      exitCode: damaged ? 65 : 1,
    };
  }
  if (error instanceof Error && typeof e.code === 'string' && /^E[A-Z]+$/.test(e.code))
    return { text: `${command}: ${error.message}`, exitCode };
  return {
    text: `${command}: unexpected failure (a bug; please report it with this trace):\n${error instanceof Error ? (error.stack ?? error.message) : String(error)}`,
    exitCode: 1,
  };
}

// Whatever a command creates (a data directory, its files, a backup, a report of personal data) is its user's alone.
keepCreatedFilesPrivate();
main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (error: unknown) => {
    const { text, exitCode } = describeFailure(`reglament ${process.argv[2] ?? ''}`.trim(), error);
    process.stderr.write(`${text}\n`);
    process.exit(exitCode);
  },
);
