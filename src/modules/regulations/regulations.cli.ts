import { lazyCommand, type CliCommand } from '../../shared/cli/cli-command';

/** The regulations module's commands (src/cli/main.ts lists them). */
export const regulationsCommands: CliCommand[] = [
  lazyCommand(
    'lint',
    'validate the regulation catalog and report the contradictions in each text and the reading applied',
    () => import('./lint.cli.js'),
  ),
];
