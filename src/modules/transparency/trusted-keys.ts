/**
 * The keys an auditor trusts, from a file they keep: one per line, a signed-note verifier key
 * (`<name>+<key id>+<base64 key>`) or a SHA-256 SPKI fingerprint; '#' starts a comment; the JSON answer of
 * GET /api/transparency/keys is read as well. CRLF or LF.
 */
import { readFileSync } from 'node:fs';
import { parseVkey, type NoteVerifierKey } from './domain/signed-note';

export interface TrustedKeySet {
  fingerprints: string[];
  noteKeys: NoteVerifierKey[];
}

const HEX64 = /^[0-9a-f]{64}$/;

/** Keys from a trusted-keys file: lines of verifier keys or fingerprints, or the keys endpoint's JSON. */
export function parseTrustedKeys(text: string): { keys: TrustedKeySet; problems: string[] } {
  const fingerprints: string[] = [];
  const noteKeys: NoteVerifierKey[] = [];
  const problems: string[] = [];
  const add = (entry: string, where: string) => {
    const value = entry.trim();
    if (HEX64.test(value.toLowerCase())) return void fingerprints.push(value.toLowerCase());
    const vkey = parseVkey(value);
    if (vkey.ok) noteKeys.push(vkey.value);
    else problems.push(`${where}: ${vkey.problem}`);
  };
  const trimmed = text.replace(/^\uFEFF/, '').trim();
  if (trimmed.startsWith('{')) {
    try {
      const json = JSON.parse(trimmed) as { keys?: Array<{ vkey?: string; fingerprint?: string }> };
      (json.keys ?? []).forEach((k, i) => add(k.vkey ?? k.fingerprint ?? '', `keys[${i}]`));
    } catch (error) {
      problems.push(`not JSON: ${(error as Error).message}`);
    }
  } else {
    trimmed.split(/\r?\n/).forEach((line, i) => {
      const content = line.replace(/#.*$/, '').trim();
      if (content) add(content, `line ${i + 1}`);
    });
  }
  return { keys: { fingerprints, noteKeys }, problems };
}

/**
 * The keys of a trusted-keys file the commands take (`--trusted-keys`), or null once what is wrong with it (unreadable,
 * a line that is no key) has been written to stderr, naming the file.
 */
export function readTrustedKeysFile(file: string): TrustedKeySet | null {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    process.stderr.write(`${file}: cannot be read (${(error as NodeJS.ErrnoException).code})\n`);
    return null;
  }
  const { keys, problems } = parseTrustedKeys(text);
  if (problems.length === 0) return keys;
  process.stderr.write(`${file}: ${problems.join('; ')}\n`);
  return null;
}
