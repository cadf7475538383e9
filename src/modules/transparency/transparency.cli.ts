import { lazyCommand, type CliCommand } from '../../shared/cli/cli-command';

/** The transparency module's commands (src/cli/main.ts lists them); each loads its code only when it runs. */
export const transparencyCommands: CliCommand[] = [
  lazyCommand(
    'rebuild-tree',
    "rebuild the embedded event log's Merkle tree from its events (service stopped)",
    () => import('./rebuild-tree.cli.js'),
  ),
  lazyCommand(
    'witness',
    "an auditor's witness: check the log's checkpoint against the one held, report truncation, fork or rewrite; cosign",
    () => import('./witness.cli.js'),
  ),
];
