import { lazyCommand, type CliCommand } from '../../shared/cli/cli-command';

/** The identity module's commands (src/cli/main.ts lists them). */
export const identityCommands: CliCommand[] = [
  lazyCommand(
    'mint-token',
    'print a bearer token for local use, signed with the configured or generated secret',
    () => import('./mint-token.cli.js'),
  ),
];
