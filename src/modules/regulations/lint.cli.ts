/**
 * `npm run cli -- lint [--json] [--dir <regulations dir>]`: validates the catalog and prints, per
 * regulation, the contradictions inside its text and the reading applied. Exit 1 when the catalog
 * is invalid or a contradiction breaks the reading rule.
 */
import { resolve } from 'node:path';
import { commandArgs } from '../../shared/cli/cli-command';
import { configForCommand } from '../../shared/config/config';
import { CatalogError, loadCatalog } from './domain/catalog';
import { formatLintReport, lintCatalog } from './domain/lint';

const USAGE = `usage: npm run cli -- lint [--dir DIR] [--json]

Validates the regulation catalog (--dir, default REGULATIONS_DIR, else the shipped data/regulations) and prints, per
regulation, the contradictions inside its text and the reading applied. Exit code 1 when the catalog is invalid or a
contradiction breaks the reading rule.`;

export async function run(argv: string[]): Promise<number> {
  const args = commandArgs('lint', USAGE, argv, {
    options: { dir: { type: 'string' }, json: { type: 'boolean' }, help: { type: 'boolean', short: 'h' } },
  });
  if (typeof args === 'number') return args;
  const json = args.values.json === true;
  let dir: string;
  if (args.values.dir) dir = resolve(args.values.dir);
  else {
    const config = configForCommand();
    if (config === 78) return config;
    dir = config.regulationsDir;
  }
  let catalog;
  try {
    catalog = loadCatalog(dir);
  } catch (error) {
    if (error instanceof CatalogError) {
      process.stderr.write(`${error.message}\n`);
      if (json)
        process.stdout.write(
          `${JSON.stringify({ valid: false, failures: error.failures.map((f) => ({ file: f.file, problems: f.problems })) }, null, 2)}\n`,
        );
      return 1;
    }
    throw error;
  }
  const report = lintCatalog(catalog);
  process.stdout.write(
    json ? `${JSON.stringify({ valid: true, ...report }, null, 2)}\n` : `${formatLintReport(report)}\n`,
  );
  return report.errors > 0 ? 1 : 0;
}
