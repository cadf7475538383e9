/**
 * `npm run cli -- verify-evidence <file> (--fingerprint <hex> | --trusted-keys <file>) [--json]`: verifies an
 * evidence pack offline, with no server and no data directory, against keys the auditor trusts: embedded data,
 * hash chain, signature by a trusted key, the log checkpoint, each event's inclusion proof, and the readable page.
 */
import { readFileSync } from 'node:fs';
import { commandArgs, usageError } from '../../shared/cli/cli-command';
import { verifyEvidenceFile, type TrustedKeys } from './domain/evidence-pack';
import { readTrustedKeysFile } from '../transparency/trusted-keys';

const USAGE = `usage: npm run cli -- verify-evidence <evidence-file.html> (--fingerprint <hex> | --trusted-keys <file>) [--witnesses <n>] [--json]

Checks an evidence pack without a server: every event hash is recomputed and linked, the head hash matches, the
Ed25519 signature holds AND is by a key you trust, the log checkpoint in the pack is signed by that key under the
log's name, cosigned by the witnesses you trust, every event's inclusion proof leads to that checkpoint's root, and
the readable page (its text and its markup) says what the data holds.

A key to trust is required, obtained from the agency by a channel you trust (not from the pack itself):
  --fingerprint <hex>     SHA-256 of the service's public key (SPKI), as GET /api/transparency/keys lists it; repeatable
                          (it pins the key, not the log's name: a verifier key pins both)
  --trusted-keys <file>   one key per line: a verifier key (<name>+<key id>+<base64 key>) or a fingerprint;
                          '#' starts a comment; the JSON answer of GET /api/transparency/keys is read as well.
                          The log's verifier keys (type 0x01) sign packs and checkpoints; a witness's (type 0x04,
                          as its operator publishes it) only cosigns checkpoints
  --witnesses <n>         how many of the trusted witnesses must have cosigned the pack's checkpoint (default: 1 when
                          the file trusts any witness key, else 0, and the report says the checkpoint is the log's
                          own word: a history its operator rewrote and signed again would check out too)
Exit code 1 when any check fails or no trusted key is given.`;

const HEX64 = /^[0-9a-f]{64}$/;

export async function run(argv: string[]): Promise<number> {
  const parsed = commandArgs('verify-evidence', USAGE, argv, {
    allowPositionals: true,
    options: {
      fingerprint: { type: 'string', multiple: true },
      'trusted-keys': { type: 'string' },
      witnesses: { type: 'string' },
      json: { type: 'boolean' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (typeof parsed === 'number') return parsed;
  const file = parsed.positionals[0];
  if (!file) return usageError('verify-evidence', USAGE, 'the evidence file is required');
  const fingerprints = (parsed.values.fingerprint ?? []).map((f) => f.trim().toLowerCase());
  const bad = fingerprints.filter((f) => !HEX64.test(f));
  if (bad.length) {
    process.stderr.write(`--fingerprint ${bad.join(', ')}: not a SHA-256 fingerprint (64 hex digits)\n`);
    return 1;
  }
  const witnesses = parsed.values.witnesses;
  if (witnesses !== undefined && !/^\d{1,3}$/.test(witnesses))
    return usageError('verify-evidence', USAGE, `--witnesses ${witnesses}: not a number of witnesses (0–999)`);
  const trust: TrustedKeys = {
    fingerprints,
    noteKeys: [],
    ...(witnesses !== undefined ? { witnesses: Number(witnesses) } : {}),
  };
  const keysFile = parsed.values['trusted-keys'];
  if (keysFile) {
    const keys = readTrustedKeysFile(keysFile);
    if (!keys) return 1;
    trust.fingerprints = [...trust.fingerprints, ...keys.fingerprints];
    trust.noteKeys = keys.noteKeys;
  }
  if (trust.fingerprints.length === 0 && trust.noteKeys.length === 0) {
    process.stderr.write(
      "NOT VERIFIED: no trusted key given. A pack carries its own public key, so a forged pack re-signed with a key of its forger's " +
        "would check out against it; pass the agency's key with --fingerprint <hex> or --trusted-keys <file> (see --help).\n",
    );
    return 1;
  }
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    process.stderr.write(`${file}: cannot be read (${(error as NodeJS.ErrnoException).code})\n`);
    return 2;
  }
  const result = verifyEvidenceFile(text, trust);
  if (parsed.values.json) process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
  else {
    process.stdout.write(`${result.valid ? 'VALID' : 'NOT VALID'}: evidence pack of case ${result.caseId ?? '?'}\n`);
    for (const c of result.checks)
      process.stdout.write(`  ${c.ok ? (c.warning ? '!' : '✓') : '✗'} ${c.name}: ${c.detail}\n`);
  }
  return result.valid ? 0 : 1;
}
