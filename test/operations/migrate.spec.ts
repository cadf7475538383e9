/**
 * `migrate --to sqlite` end to end on a demo data directory: a run stopped part way (as a crash would) is continued by
 * the next run from the target's last event; the copy has the same ids, revisions and text in the same order, its read
 * models are built and its chains verify, and a server started on it serves the cases.
 */
import { existsSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { checkCopiedKeyStore } from '../../src/app/backup/copied-key-store-check';
import { openSqliteEventLog } from '../../src/modules/event-log/sqlite/sqlite-event-log';
import { processFixtures, AUDITOR, cli, startProcess, token, type ServerProcess } from '../support/server-process';

const { started, tempDir } = processFixtures();

async function rawEvents(dir: string) {
  const log = openSqliteEventLog({ file: join(dir, 'events.db'), checkpointer: false });
  try {
    return (await log.readAllRaw({ maxCount: 100_000 })).map(({ id, streamId, revision, type, data, metadata }) => ({
      id,
      streamId,
      revision,
      type,
      data,
      metadata,
    }));
  } finally {
    await log.close();
  }
}

it('migrate --to sqlite: interrupted, then resumed, gives the same log in a new directory that verifies and serves its cases', async () => {
  const source = join(tempDir('source'), 'data');
  expect(cli(['demo', '--cases', '25', '--data-dir', source], source).code).toBe(0);
  const target = join(tempDir('target'), 'data');

  const first = cli(['migrate', '--to', 'sqlite', '--data-dir', target, '--stop-after-appends', '7'], source);
  expect(first.code).toBe(75);
  const partial = await rawEvents(target);
  const all = await rawEvents(source);
  expect(partial.length).toBeGreaterThan(0);
  expect(partial.length).toBeLessThan(all.length);

  const second = cli(['migrate', '--to', 'sqlite', '--data-dir', target], source);
  expect(second.code).toBe(0);
  expect(second.stdout).toMatch(/^resumed after source position \d+: \d+ events copied/m);
  expect(second.stdout).toMatch(new RegExp(`copy compared with the source: ${all.length} events`));
  expect(second.stdout).toMatch(/read models rebuilt on the new store/);
  expect(second.stdout).toMatch(/hash chains in the copy: valid/);
  // The same ids, streams, revisions, types and stored text, in the same global order.
  expect(await rawEvents(target)).toEqual(all);
  expect(cli(['verify'], target).code).toBe(0);
  // A third run has nothing left to copy.
  expect(cli(['migrate', '--to', 'sqlite', '--data-dir', target], source).stdout).toMatch(
    /: 0 events copied in 0 appends/,
  );

  const server = await startProcess('main', { DATA_DIR: target });
  started.push(server);
  const auditor = await token(AUDITOR);
  const caseIds = [
    ...new Set(all.filter((e) => e.streamId.startsWith('case-')).map((e) => e.streamId.slice('case-'.length))),
  ].slice(0, 3);
  expect(caseIds.length).toBe(3);
  for (const caseId of caseIds) {
    const view = await server.call('GET', `/api/cases/${caseId}`, { token: auditor });
    expect(view.status).toBe(200);
    // The personal-data keys came along: the applicant is read, not "erased" or ciphertext.
    expect(typeof view.body.applicant.fullName === 'string' && view.body.applicant.fullName !== 'erased').toBe(true);
    expect((await server.call('GET', `/api/cases/${caseId}/verify`, { token: auditor })).body).toMatchObject({
      valid: true,
    });
  }
}, 120_000);

it('migrate into a directory holding another log is refused (exit 65) and adds nothing to it', async () => {
  const source = join(tempDir('source'), 'data');
  const other = join(tempDir('other'), 'data');
  expect(cli(['demo', '--cases', '3', '--data-dir', source], source).code).toBe(0);
  expect(cli(['demo', '--cases', '3', '--seed', '99', '--data-dir', other], other).code).toBe(0);
  const before = await rawEvents(other);
  const refused = cli(['migrate', '--to', 'sqlite', '--data-dir', other], source);
  expect(refused.code).toBe(65);
  expect(refused.stderr).toMatch(/the target holds other events/);
  expect(await rawEvents(other)).toEqual(before);
}, 60_000);

// Found by an attack: a run killed while it copied keys.db left an empty keys.db (and its journal); the next run kept
// it, reported the migration verified, and the service then refused to start on the copy. A symbolic link to the
// source was taken for a new directory and "migrated" onto the source itself.
it('a run killed while copying the keys is finished by the next one; a link to the source is the source', async () => {
  const source = join(tempDir('source'), 'data');
  expect(cli(['demo', '--cases', '4', '--data-dir', source], source).code).toBe(0);
  const target = join(tempDir('target'), 'data');
  expect(cli(['migrate', '--to', 'sqlite', '--data-dir', target], source).code).toBe(0);
  // What a kill in the middle of the copies leaves: an empty key store with its journal, a key file cut short.
  writeFileSync(join(target, 'keys.db'), '');
  writeFileSync(join(target, 'keys.db-journal'), 'x'.repeat(512));
  const masterKey = readFileSync(join(source, 'personal-data-master-key'));
  writeFileSync(join(target, 'personal-data-master-key'), masterKey.subarray(0, 5));

  const again = cli(['migrate', '--to', 'sqlite', '--data-dir', target], source);
  expect(again.code).toBe(0);
  expect(readFileSync(join(target, 'personal-data-master-key'))).toEqual(masterKey);
  expect(existsSync(join(target, 'keys.db-journal'))).toBe(false);
  await expect(checkCopiedKeyStore(target)).resolves.toBeUndefined();
  expect(cli(['check'], target).code).toBe(0);

  const link = join(tempDir('link'), 'to-source');
  symlinkSync(source, link);
  const onto = cli(['migrate', '--to', 'sqlite', '--data-dir', link], source);
  expect(onto.code).toBe(2);
  expect(onto.stderr).toMatch(/--data-dir is the source DATA_DIR/);
}, 120_000);
