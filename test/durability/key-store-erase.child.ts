// Another process's erasure: opens the key store at argv[2] with the master key argv[3], destroys the subject argv[4]
// and closes, as the CLI's `erase` does.
import { SqliteKeyStore } from '../../src/modules/personal-data/keys/sqlite-key-store';

const [dir, masterHex, subjectId] = process.argv.slice(2) as [string, string, string];

void (async () => {
  const store = SqliteKeyStore.open(dir, Buffer.from(masterHex, 'hex'));
  await store.destroy(subjectId, { at: new Date().toISOString(), basis: 'spec', reference: 'spec', by: 'spec' });
  await store.close();
})();
