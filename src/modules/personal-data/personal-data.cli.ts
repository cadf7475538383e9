import { lazyCommand, type CliCommand } from '../../shared/cli/cli-command';

/** The personal-data module's commands (src/cli/main.ts lists them); each loads its code only when it runs. */
export const personalDataCommands: CliCommand[] = [
  lazyCommand('erase', "erase a data subject's personal data: destroy their key, record the erasure with its legal basis", () => import('./erase.cli.js')),
  lazyCommand('retention-report', 'list the closed cases whose personal data is past its retention period, by data subject', () => import('./erase.cli.js').then((m) => ({ run: m.runReport }))),
  lazyCommand('rotate-master-key', 're-wrap every personal-data key under a new master key', () => import('./rotate-master-key.cli.js')),
];
