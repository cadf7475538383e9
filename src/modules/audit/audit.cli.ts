import { lazyCommand, type CliCommand } from '../../shared/cli/cli-command';

/** The audit module's commands (src/cli/main.ts lists them); each loads its code only when it runs. */
export const auditCommands: CliCommand[] = [
  lazyCommand(
    'verify',
    "verify every stream's hash chain and the log against every signed checkpoint, naming the first it contradicts",
    () => import('./verify-log.cli.js'),
  ),
  lazyCommand(
    'verify-evidence',
    'verify an evidence pack offline: hash chain, signature by a trusted key, inclusion proofs, readable page',
    () => import('./verify-evidence.cli.js'),
  ),
];
