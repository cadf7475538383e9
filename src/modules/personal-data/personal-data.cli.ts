import { lazyCommand, type CliCommand } from '../../shared/cli/cli-command';

/**
 * The personal-data module's commands (src/cli/main.ts lists them); each loads its code only when it runs. `erase` and
 * `retention-report` open the whole data directory as the service does, so they live in src/cli/ with the composition.
 */
export const personalDataCommands: CliCommand[] = [
  lazyCommand(
    'rotate-master-key',
    're-wrap every personal-data key under a new master key',
    () => import('./rotate-master-key.cli.js'),
  ),
];
