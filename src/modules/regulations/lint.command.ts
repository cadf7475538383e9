/**
 * `npm run cli -- lint [--json] [--dir <regulations dir>]`: validates the catalog and prints, per
 * regulation, the contradictions inside its text and the reading applied. Exit 1 when the catalog
 * is invalid or a contradiction breaks the reading rule.
 */
import { resolve } from 'node:path';
import { loadConfig } from '../../shared/config/config';
import { CatalogError, loadCatalog } from './domain/catalog';
import { formatLintReport, lintCatalog } from './domain/lint';

export async function run(argv: string[]): Promise<number> {
  const json = argv.includes('--json');
  const dirIndex = argv.indexOf('--dir');
  const dir = dirIndex >= 0 && argv[dirIndex + 1] ? resolve(argv[dirIndex + 1]) : loadConfig(process.env).regulationsDir;
  let catalog;
  try {
    catalog = loadCatalog(dir);
  } catch (error) {
    if (error instanceof CatalogError) {
      process.stderr.write(`${error.message}\n`);
      if (json) process.stdout.write(`${JSON.stringify({ valid: false, failures: error.failures.map((f) => ({ file: f.file, problems: f.problems })) }, null, 2)}\n`);
      return 1;
    }
    throw error;
  }
  const report = lintCatalog(catalog);
  process.stdout.write(json ? `${JSON.stringify({ valid: true, ...report }, null, 2)}\n` : `${formatLintReport(report)}\n`);
  return report.errors > 0 ? 1 : 0;
}
