/**
 * `npm run cli -- verify-evidence <file> [--fingerprint <hex>] [--json]`: verifies an evidence pack offline,
 * with no server and no data directory: embedded data, hash chain, signature and readable page.
 */
import { readFileSync } from 'node:fs';
import { verifyEvidenceFile } from './domain/evidence-pack';

const USAGE = `usage: npm run cli -- verify-evidence <evidence-file.html> [--fingerprint <sha256 of the service's public key>] [--json]

Checks an evidence pack without a server: every event hash is recomputed and linked, the head hash matches,
the Ed25519 signature holds for the embedded public key (compare its fingerprint with GET /api/evidence/public-key,
or pass --fingerprint), and the readable page is exactly a rendering of the embedded data. Exit code 1 when any check fails.`;

export async function run(argv: string[]): Promise<number> {
  const file = argv.find((a, i) => !a.startsWith('--') && argv[i - 1] !== '--fingerprint');
  if (argv.includes('--help') || !file) {
    process.stderr.write(`${USAGE}\n`);
    return file ? 0 : 2;
  }
  const fpIndex = argv.indexOf('--fingerprint');
  const fingerprint = fpIndex >= 0 ? argv[fpIndex + 1] : undefined;
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    process.stderr.write(`${file}: cannot be read (${(error as NodeJS.ErrnoException).code})\n`);
    return 2;
  }
  const result = verifyEvidenceFile(text, fingerprint);
  if (argv.includes('--json')) process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
  else {
    process.stdout.write(`${result.valid ? 'VALID' : 'NOT VALID'}: evidence pack of case ${result.caseId ?? '?'}\n`);
    for (const c of result.checks) process.stdout.write(`  ${c.ok ? '✓' : '✗'} ${c.name}: ${c.detail}\n`);
  }
  return result.valid ? 0 : 1;
}
