/**
 * The Ed25519 key that signs evidence packs: EVIDENCE_KEY_FILE when set (shared by every API instance),
 * otherwise DATA_DIR/evidence-signing-key.pem, generated on first use with mode 0600.
 */
import { createPrivateKey, generateKeyPairSync, type KeyObject } from 'node:crypto';
import { chmodSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export const EVIDENCE_KEY_FILE = 'evidence-signing-key.pem';

export function loadEvidenceKey(dataDir: string, configuredFile?: string): { privateKey: KeyObject; file: string } {
  const file = configuredFile ?? join(dataDir, EVIDENCE_KEY_FILE);
  if (!existsSync(file)) {
    if (configuredFile) throw new Error(`EVIDENCE_KEY_FILE ${configuredFile} does not exist`);
    const { privateKey } = generateKeyPairSync('ed25519');
    writeFileSync(file, privateKey.export({ type: 'pkcs8', format: 'pem' }), { mode: 0o600, flag: 'wx' });
    chmodSync(file, 0o600);
  }
  const privateKey = createPrivateKey(readFileSync(file));
  if (privateKey.asymmetricKeyType !== 'ed25519') throw new Error(`${file} holds a ${privateKey.asymmetricKeyType} key; evidence packs are signed with Ed25519`);
  return { privateKey, file };
}
