import 'reflect-metadata';

/**
 * `npm run cli -- <command> [args]`. Each capability keeps its command beside its code;
 * this file only names them, loaded lazily so one command does not pay for the others.
 */
type Command = { summary: string; load: () => Promise<{ run(argv: string[]): Promise<number> }> };

const commands: Record<string, Command> = {
  // capability commands are registered here, one line each (dynamic import needs the .js extension under node16 resolution)
  'accept-log-loss': { summary: 'record that acknowledged events missing from the log are accepted as lost, so the service starts again (--reason)', load: () => import('./accept-log-loss.cli.js') },
  backup: { summary: 'copy the embedded data directory (log, read store, keys and secrets) into --to DIR while the service runs, with a manifest of SHA-256s', load: () => import('./backup.cli.js') },
  check: { summary: 'check the embedded event log in full: every page and index, its head, and every acknowledged event', load: () => import('./check.cli.js') },
  erase: { summary: 'erase a data subject\'s personal data: destroy their key, record the erasure with its legal basis (--iin or --subject, --basis, --reference)', load: () => import('../modules/personal-data/erase.cli.js') },
  demo: { summary: 'seed demo cases of all six regulation versions through the command path (--cases, --seed, --data-dir, --force)', load: () => import('../demo/demo.command.js') },
  lint: { summary: 'validate the regulation catalog and report the contradictions in each text and the reading applied', load: () => import('../modules/regulations/lint.command.js') },
  migrate: { summary: 'copy the event log into another store (--to sqlite --data-dir NEW | --to eventstoredb), resumable, then rebuild the read models and verify', load: () => import('./migrate.cli.js') },
  'mint-token': { summary: 'print a bearer token for local use, signed with the configured or generated secret', load: () => import('../modules/identity/mint-token.command.js') },
  'retention-report': { summary: 'list the closed cases whose personal data is past its retention period, by data subject', load: () => import('../modules/personal-data/retention-report.cli.js') },
  'rotate-master-key': { summary: 're-wrap every personal-data key under a new master key (--new-key-file or PERSONAL_DATA_NEW_MASTER_KEY)', load: () => import('../modules/personal-data/rotate-master-key.cli.js') },
  restore: { summary: 'restore a backup (--from DIR) into an empty data directory, checked against its manifest, then check and verify it', load: () => import('./restore.cli.js') },
  'rebuild-tree': { summary: "rebuild the embedded event log's Merkle tree from its events (service stopped)", load: () => import('../modules/transparency/rebuild-tree.cli.js') },
  rebuild: { summary: 'rebuild a read model from the first event beside the live one, then switch readers to it', load: () => import('./rebuild.cli.js') },
  witness: { summary: "an auditor's witness: fetch the log's checkpoint, verify signature and consistency with the one held, report truncation, fork or rewrite; cosign", load: () => import('../modules/transparency/witness.cli.js') },
  verify: { summary: 'verify every stream\'s hash chain and the log against every signed checkpoint, naming the first it contradicts', load: () => import('../modules/audit/verify-log.command.js') },
  'verify-evidence': { summary: 'verify an evidence pack offline: hash chain, signature and readable page', load: () => import('../modules/audit/verify-evidence.command.js') },
};

async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  const command = name ? commands[name] : undefined;
  if (!command) {
    const width = Math.max(...Object.keys(commands).map((n) => n.length), 4);
    process.stderr.write(
      `${name ? `unknown command: ${name}\n` : ''}usage: npm run cli -- <command> [args]\n\n` +
        Object.entries(commands)
          .map(([n, c]) => `  ${n.padEnd(width)}  ${c.summary}`)
          .join('\n') +
        '\n',
    );
    return name ? 2 : 0;
  }
  return (await command.load()).run(rest);
}

/**
 * A failure an operator can act on (a damaged or missing file, a role another process holds, a bad setting) is one
 * line naming the file and what is wrong, with its exit code; only an error nobody foresaw, a bug, shows its stack.
 */
function describeFailure(command: string, error: unknown): { text: string; exitCode: number } {
  const e = error as { name?: string; code?: unknown; exitCode?: unknown; message?: string; stack?: string };
  const exitCode = typeof e?.exitCode === 'number' ? e.exitCode : 1;
  if (error instanceof Error && (typeof e.exitCode === 'number' || ['StorageOpenError', 'ConfigError', 'AuthConfigError', 'StorageFullError', 'BackupDamagedError', 'TargetNotEmptyError', 'MigrationTargetMismatchError', 'MigrationCopyMismatchError'].includes(error.name))) {
    return { text: `${command}: ${error.message}`, exitCode };
  }
  if (error instanceof Error && typeof e.code === 'string' && e.code.startsWith('SQLITE_')) {
    const damaged = /^SQLITE_(CORRUPT|NOTADB)/.test(e.code);
    return { text: `${command}: ${e.code}: ${error.message}${damaged ? ' — a database file in DATA_DIR is damaged; run `npm run cli -- check`' : ''}`, exitCode: damaged ? 65 : 1 };
  }
  if (error instanceof Error && typeof e.code === 'string' && /^E[A-Z]+$/.test(e.code)) return { text: `${command}: ${error.message}`, exitCode };
  return { text: `${command}: unexpected failure (a bug; please report it with this trace):\n${error instanceof Error ? (error.stack ?? error.message) : String(error)}`, exitCode: 1 };
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (error: unknown) => {
    const { text, exitCode } = describeFailure(`reglament ${process.argv[2] ?? ''}`.trim(), error);
    process.stderr.write(`${text}\n`);
    process.exit(exitCode);
  },
);
