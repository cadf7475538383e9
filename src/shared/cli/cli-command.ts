/**
 * The command-line interface's parts every command shares: the descriptor a module exports for each of its commands
 * (`src/cli/main.ts` assembles the list), one argument parser (node:util parseArgs) with `--help` and the same answer
 * to a mistyped argument everywhere, and the DATA_DIR a command reads (`--data-dir` over the environment).
 */
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { configForCommand, type AppConfig } from '../config/config';

export interface CliCommand {
  name: string;
  /** One line for `npm run cli -- --help`. */
  summary: string;
  run(argv: string[]): Promise<number>;
}

/** A command whose code is loaded only when it runs, so one command does not pay for the others' imports. */
export function lazyCommand(
  name: string,
  summary: string,
  load: () => Promise<{ run(argv: string[]): Promise<number> }>,
): CliCommand {
  return { name, summary, run: async (argv) => (await load()).run(argv) };
}

/** Exit code of a command line that cannot be read (an unknown option, a missing value): the shells' usage code. */
export const USAGE_EXIT = 2;

/**
 * The command's arguments, strictly: an unknown option or a missing value is one line naming it, then the usage, on
 * stderr, exit 2; `--help` is the usage on stdout, exit 0. Either exit code is returned instead of the arguments.
 */
export function commandArgs<const T extends Omit<ParseArgsConfig, 'args' | 'strict'>>(
  command: string,
  usage: string,
  argv: string[],
  config: T,
): ReturnType<typeof parseArgs<T & { args: string[]; strict: true }>> | number {
  let parsed: ReturnType<typeof parseArgs<T & { args: string[]; strict: true }>>;
  try {
    parsed = parseArgs({ ...config, args: argv, strict: true });
  } catch (error) {
    return usageError(command, usage, (error as Error).message);
  }
  if ((parsed.values as { help?: boolean }).help) {
    process.stdout.write(`${usage}\n`);
    return 0;
  }
  return parsed;
}

/** A mistake in the command line: one line saying what, then the usage; exit 2. */
export function usageError(command: string, usage: string, problem: string): number {
  process.stderr.write(`${command}: ${problem}\n\n${usage}\n`);
  return USAGE_EXIT;
}

/**
 * The configuration a command runs on: the environment's, with `--data-dir` over DATA_DIR; or exit 78 with every
 * problem printed: outside the embedded default, a master key missing or any key file inside DATA_DIR too, as the API
 * and its worker are refused (refuseMisplacedSecrets).
 */
export function configWithDataDir(
  dataDir: string | undefined,
  env: Record<string, string | undefined> = process.env,
): AppConfig | 78 {
  return configForCommand(dataDir ? { ...env, DATA_DIR: dataDir } : env, { data: true });
}
