import { generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigError } from '../../shared/config/config';
import { COSIGNATURE_TYPE, formatVkey, signerKey } from './domain/signed-note';
import { loadWitnessKeys } from './witness-keys';

const witnessVkey = (name: string) =>
  formatVkey(signerKey(name, generateKeyPairSync('ed25519').privateKey, COSIGNATURE_TYPE));

describe('the witnesses whose cosignatures the log keeps', () => {
  let dir: string;
  beforeEach(() => (dir = mkdtempSync(join(tmpdir(), 'reglament-witness-keys-'))));
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('none configured: none', () => {
    expect(loadWitnessKeys({ witnesses: [] })).toEqual([]);
  });

  it('reads the listed keys, and a file of them with comments, CRLF and a BOM, each key once', () => {
    const [a, b] = [witnessVkey('auditor.example/w1'), witnessVkey('sigsum.org/w2')];
    expect(loadWitnessKeys({ witnesses: [a, b] }).map(formatVkey)).toEqual([a, b]);
    const file = join(dir, 'witnesses.txt');
    writeFileSync(
      file,
      `\uFEFF# witnesses of reglament.gov.kz/log\r\n${a}  # the audit chamber\r\n\r\n${b}\r\n${a}\r\n`,
    );
    expect(loadWitnessKeys({ witnesses: [], witnessesFile: file }).map(formatVkey)).toEqual([a, b]);
  });

  it('a bad line, or a file that does not exist, is a ConfigError naming TRANSPARENCY_WITNESSES_FILE, the line and what is allowed', () => {
    const file = join(dir, 'witnesses.txt');
    const logKey = formatVkey(signerKey('reglament.gov.kz/log', generateKeyPairSync('ed25519').privateKey));
    writeFileSync(file, `${witnessVkey('auditor.example/w1')}\n${logKey}\n`);
    for (const [settings, problem] of [
      [
        { witnesses: [], witnessesFile: file },
        "line 2: reglament.gov.kz/log is a signing key (type 0x01), not a witness's",
      ],
      [{ witnesses: [], witnessesFile: join(dir, 'absent.txt') }, 'the file does not exist'],
    ] as const) {
      try {
        loadWitnessKeys(settings);
        throw new Error('accepted');
      } catch (error) {
        expect(error).toBeInstanceOf(ConfigError);
        expect((error as ConfigError).problems).toEqual([
          {
            variable: 'TRANSPARENCY_WITNESSES_FILE',
            value: settings.witnessesFile,
            problem: expect.stringContaining(problem),
            allowed: expect.stringContaining("a readable file of witnesses' verifier keys"),
          },
        ]);
      }
    }
  });
});

it('a witnesses file that cannot be read (a directory) is a ConfigError naming TRANSPARENCY_WITNESSES_FILE, not a crash', () => {
  const dir = mkdtempSync(join(tmpdir(), 'reglament-witness-keys-dir-'));
  try {
    expect(() => loadWitnessKeys({ witnesses: [], witnessesFile: dir })).toThrow(ConfigError);
    expect(() => loadWitnessKeys({ witnesses: [], witnessesFile: dir })).toThrow(
      /TRANSPARENCY_WITNESSES_FILE[\s\S]*EISDIR/,
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
