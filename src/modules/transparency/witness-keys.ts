/**
 * The witnesses whose cosignatures the log takes: the verifier keys the operator lists in TRANSPARENCY_WITNESSES, or
 * in the file TRANSPARENCY_WITNESSES_FILE (one a line, '#' starts a comment, CRLF or LF). Anyone can make a key under
 * any name, so a cosignature proves a second party's view only when the operator chose that party; none listed, none
 * is taken. A bad entry stops the start (ConfigError, exit 78), naming the variable, the entry and what is allowed.
 */
import { existsSync, readFileSync } from 'node:fs';
import { ConfigError, WITNESSES_ALLOWED, witnessKeyProblem } from '../../shared/config/config';
import { COSIGNATURE_TYPE, parseVkey, sameKey, type NoteVerifierKey } from './domain/signed-note';

const WITNESSES_FILE_ALLOWED =
  "a readable file of witnesses' verifier keys <name>+<8 hex digits of key id>+<base64(0x04 || Ed25519 public key)>, one a line ('#' starts a comment)";

export interface WitnessSettings {
  witnesses: readonly string[];
  witnessesFile?: string;
}

export function loadWitnessKeys(settings: WitnessSettings): NoteVerifierKey[] {
  const file = settings.witnessesFile;
  const refused = (problem: string) =>
    new ConfigError([
      {
        variable: file ? 'TRANSPARENCY_WITNESSES_FILE' : 'TRANSPARENCY_WITNESSES',
        value: file ?? settings.witnesses.join(','),
        problem,
        allowed: file ? WITNESSES_FILE_ALLOWED : WITNESSES_ALLOWED,
      },
    ]);
  let entries: Array<{ vkey: string; where: string }>;
  if (file) {
    if (!existsSync(file)) throw refused('the file does not exist');
    let text: string;
    try {
      text = readFileSync(file, 'utf8');
    } catch (error) {
      // A directory, a file this process may not read: refused as a bad setting, not a crash.
      throw refused(`the file cannot be read (${(error as { code?: string }).code ?? String(error)})`);
    }
    entries = text
      .replace(/^\uFEFF/, '')
      .split(/\r?\n/)
      .map((line, i) => ({ vkey: line.replace(/#.*$/, '').trim(), where: `line ${i + 1}: ` }))
      .filter((entry) => entry.vkey !== '');
  } else entries = settings.witnesses.map((vkey) => ({ vkey, where: '' }));
  const keys: NoteVerifierKey[] = [];
  const problems: string[] = [];
  for (const { vkey, where } of entries) {
    const problem = witnessKeyProblem(vkey);
    const parsed = problem === null ? parseVkey(vkey) : null;
    if (problem !== null || !parsed?.ok || parsed.value.type !== COSIGNATURE_TYPE)
      problems.push(`${where}${problem ?? (parsed && !parsed.ok ? parsed.problem : 'not a cosigning key')}`);
    else if (!keys.some((key) => sameKey(key, parsed.value))) keys.push(parsed.value);
  }
  if (problems.length > 0) throw refused(problems.join('; '));
  return keys;
}
