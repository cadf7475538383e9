import 'reflect-metadata';

/**
 * `npm run cli -- <command> [args]`. Each capability keeps its command beside its code;
 * this file only names them, loaded lazily so one command does not pay for the others.
 */
type Command = { summary: string; load: () => Promise<{ run(argv: string[]): Promise<number> }> };

const commands: Record<string, Command> = {
  // capability commands are registered here, one line each (dynamic import needs the .js extension under node16 resolution)
  demo: { summary: 'seed demo cases of all six regulation versions through the command path (--cases, --seed, --data-dir, --force)', load: () => import('../modules/cases/demo/demo.command.js') },
  lint: { summary: 'validate the regulation catalog and report the contradictions in each text and the reading applied', load: () => import('../modules/regulations/lint.command.js') },
  'mint-token': { summary: 'print a bearer token for local use, signed with the configured or generated secret', load: () => import('../modules/identity/mint-token.command.js') },
  'rebuild-tree': { summary: "rebuild the embedded event log's Merkle tree from its events (service stopped)", load: () => import('../modules/transparency/rebuild-tree.cli.js') },
  rebuild: { summary: 'rebuild a read model from the first event beside the live one, then switch readers to it', load: () => import('../projections/rebuild.command.js') },
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

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (error: unknown) => {
    process.stderr.write(`${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
    process.exit(1);
  },
);
