/**
 * `npm run cli -- rotate-master-key --new-key-file <file>` (or PERSONAL_DATA_NEW_MASTER_KEY): re-wraps every subject
 * key and the blind-index key under the new master key and records its check value; events are not touched. Stop
 * the service first (it holds the old key in memory), then start it with the new key configured.
 */
import { readFileSync } from 'node:fs';
import { isInside, sharedDeployment } from '../../shared/config/config';
import { acquireRoleLock, type RoleLock } from '../../shared/sqlite/role-lock';
import { parseMasterKey } from './domain/key-wrapping';
import { loadMasterKey, openKeyStore } from './keys/open-key-store';
import { commandArgs, configWithDataDir } from '../../shared/cli/cli-command';

const USAGE = `usage: npm run cli -- rotate-master-key (--new-key-file <file> | PERSONAL_DATA_NEW_MASTER_KEY=<key>) [--data-dir DIR]

Re-wraps every personal-data key under the new master key (the current one is PERSONAL_DATA_MASTER_KEY or its
_FILE). Stop the service first; start it again with the new key configured.`;

export async function run(argv: string[]): Promise<number> {
  const args = commandArgs('rotate-master-key', USAGE, argv, {
    options: {
      'new-key-file': { type: 'string' },
      'data-dir': { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (typeof args === 'number') return args;
  const values = args.values;
  const text = values['new-key-file']
    ? readFileSync(values['new-key-file'], 'utf8')
    : process.env.PERSONAL_DATA_NEW_MASTER_KEY;
  const newMaster = text ? parseMasterKey(text) : null;
  if (!newMaster) {
    process.stderr.write(
      `rotate-master-key: the new master key is required: 64 hex digits or 32 bytes base64, in --new-key-file or PERSONAL_DATA_NEW_MASTER_KEY\n\n${USAGE}\n`,
    );
    return 2;
  }
  const config = configWithDataDir(values['data-dir']);
  if (config === 78) return config;
  // The new key becomes the configured one, which the next start refuses inside DATA_DIR outside the embedded default:
  // refused here first, before anything is re-wrapped under a key that travels with every copy of the data.
  const shared = sharedDeployment(config);
  const newKeyFile = values['new-key-file'];
  if (newKeyFile && shared !== null && isInside(config.dataDir, newKeyFile)) {
    process.stderr.write(
      `rotate-master-key: --new-key-file=${JSON.stringify(newKeyFile)}: is inside DATA_DIR (${config.dataDir}) outside the embedded single-user default (${shared}): keep the new master key outside DATA_DIR, which every copy of the data carries\n`,
    );
    return 78;
  }
  // The API and whatever runs the projections (the API itself, its projection process or the worker) hold the old key
  // in memory: rotating under either leaves it refusing every filing and read of personal data until it is restarted
  // (the key stores refuse a process whose key is no longer the stored check value's, MasterKeyRotatedError), so with
  // the embedded stores, whose role locks are in DATA_DIR, the rotation waits for them to stop. Beside EventStoreDB or
  // MongoDB no lock reaches them: they are refused from the rotation on, and store no key under the retired one.
  const locks: RoleLock[] = [];
  const release = () => locks.splice(0).forEach((lock) => lock.release());
  try {
    if (config.eventStore.kind === 'sqlite') locks.push(acquireRoleLock(config.dataDir, 'log-writer'));
    if (config.readStore.kind === 'sqlite') locks.push(acquireRoleLock(config.dataDir, 'projections'));
  } catch (error) {
    release();
    throw error;
  }
  try {
    const current = loadMasterKey(config, sharedDeployment(config) === null);
    const store = await openKeyStore(config, current.key);
    try {
      const count = await store.rotate(newMaster);
      process.stdout.write(
        `rotate-master-key: re-wrapped ${count} key(s) in ${store.location} under the new master key; configure it (PERSONAL_DATA_MASTER_KEY or _FILE) before the next start` +
          (current.generated || current.source.endsWith('personal-data-master-key')
            ? `, or write it to ${current.source}`
            : '') +
          '\n',
      );
      return 0;
    } finally {
      await store.close();
    }
  } finally {
    release();
  }
}
