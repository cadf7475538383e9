// Claims two new subjects in the key store at argv[2] with the journal's merge put off for good, prints their subject
// ids once both claims are committed, then waits: the test kills it with SIGKILL between the journal and its merge.
import { SqliteKeyStore } from '../../src/modules/personal-data/keys/sqlite-key-store';

const [dir, masterHex] = process.argv.slice(2) as [string, string];
const store = SqliteKeyStore.open(dir, Buffer.from(masterHex, 'hex'), { mergeIdleMs: 3_600_000 });

void (async () => {
  const [a, b] = await Promise.all([
    store.subjectForCase('idx-1', 'case-1', new Date('2026-01-01T00:00:00Z')),
    store.subjectForCase('idx-2', 'case-2', new Date('2026-01-02T00:00:00Z')),
  ]);
  process.stdout.write(JSON.stringify({ a: a.kid, b: b.kid }) + '\n');
  setInterval(() => undefined, 1000);
})();
