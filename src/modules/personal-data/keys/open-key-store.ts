/**
 * Opens the key store of a configuration: the master key from PERSONAL_DATA_MASTER_KEY or its _FILE, or (embedded
 * default only; config.ts refuses other shapes without one) DATA_DIR/personal-data-master-key generated on first use;
 * then DATA_DIR/keys.db or the MongoDB collections, refused (exit 78) when the master key is not the one in use.
 */
import { randomBytes } from 'node:crypto';
import { chmodSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseMasterKey } from '../domain/key-wrapping';
import type { PersonalKeyStore } from './key-store.port';
import { SqliteKeyStore } from './sqlite-key-store';

export const GENERATED_MASTER_KEY_FILE = 'personal-data-master-key';

export interface KeyStoreSettings {
  dataDir: string;
  readStore: { kind: 'sqlite' } | { kind: 'mongodb'; url: string; database: string };
  personalData: { masterKey?: string; masterKeyFile?: string };
}

export class MasterKeyError extends Error {
  override readonly name = 'MasterKeyError';
  readonly exitCode = 78;
}

/**
 * `embedded`: only the embedded single-user default keeps its key in DATA_DIR, generated there on first use. Any other
 * shape (a worker or a command of a shared deployment too) is refused without a configured key, even when DATA_DIR
 * holds one: a key there goes with every copy of the personal data it protects, and a process that read it would
 * keep a deployment running on it after its API refused to start.
 */
export function loadMasterKey(
  settings: Pick<KeyStoreSettings, 'dataDir' | 'personalData'>,
  embedded = true,
): { key: Buffer; source: string; generated: boolean } {
  const { masterKey, masterKeyFile } = settings.personalData;
  if (masterKey !== undefined) {
    const key = parseMasterKey(masterKey);
    if (!key)
      throw new MasterKeyError('PERSONAL_DATA_MASTER_KEY is not a 256-bit key (64 hex digits or 32 bytes base64)');
    return { key, source: 'PERSONAL_DATA_MASTER_KEY', generated: false };
  }
  if (masterKeyFile === undefined && !embedded)
    throw new MasterKeyError(
      `PERSONAL_DATA_MASTER_KEY or PERSONAL_DATA_MASTER_KEY_FILE is required outside the embedded single-user default (a ${GENERATED_MASTER_KEY_FILE} in DATA_DIR is not used there)`,
    );
  const file = masterKeyFile ?? join(settings.dataDir, GENERATED_MASTER_KEY_FILE);
  let generated = false;
  if (!existsSync(file)) {
    if (masterKeyFile) throw new MasterKeyError(`PERSONAL_DATA_MASTER_KEY_FILE ${masterKeyFile} does not exist`);
    try {
      writeFileSync(file, `${randomBytes(32).toString('hex')}\n`, { mode: 0o600, flag: 'wx' });
      chmodSync(file, 0o600);
      generated = true;
    } catch (error) {
      // Another process of this data directory generated it first: use theirs.
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    }
  }
  const key = parseMasterKey(readFileSync(file, 'utf8'));
  if (!key) throw new MasterKeyError(`${file} does not hold a 256-bit key (64 hex digits or 32 bytes base64)`);
  return { key, source: file, generated };
}

export async function openKeyStore(settings: KeyStoreSettings, master: Buffer): Promise<PersonalKeyStore> {
  if (settings.readStore.kind === 'mongodb') {
    // The driver is loaded only by a deployment that uses it, as the read store's is.
    const { MongoKeyStore } = await import('./mongodb-key-store.js');
    return MongoKeyStore.open(settings.readStore, master);
  }
  return SqliteKeyStore.open(settings.dataDir, master);
}
