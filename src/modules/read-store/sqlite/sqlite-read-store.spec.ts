import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describeReadStoreContract } from '../read-store.contract';
import { openSqliteReadStore } from './sqlite-read-store';
import { openSqliteEventLog } from '../../event-log/sqlite/sqlite-event-log';

const dir = mkdtempSync(join(tmpdir(), 'reglament-read-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describeReadStoreContract('sqlite', async () => openSqliteReadStore({ file: join(dir, `read-${Math.random()}.db`) }));

describe('sqlite read store', () => {
  it('a second connection (another process) sees writes, updates and deletes made after its first query', async () => {
    const file = join(dir, 'shared.db');
    const writer = openSqliteReadStore({ file });
    const reader = openSqliteReadStore({ file });
    await writer.write({ ops: [{ op: 'upsert', collection: 'cases', doc: { _id: 'a', n: 1 } }, { op: 'upsert', collection: 'cases', doc: { _id: 'b', n: 2 } }] });
    expect(await reader.collection('cases').count()).toBe(2);
    await writer.write({ ops: [{ op: 'upsert', collection: 'cases', doc: { _id: 'a', n: 10 } }, { op: 'delete', collection: 'cases', id: 'b' }, { op: 'upsert', collection: 'cases', doc: { _id: 'c', n: 3 } }] });
    expect(await reader.collection('cases').find({}, { sort: { _id: 1 } })).toEqual([{ _id: 'a', n: 10 }, { _id: 'c', n: 3 }]);
    await writer.close();
    await reader.close();
  });

  it('keeps documents and checkpoints across a reopen', async () => {
    const file = join(dir, 'reopen.db');
    const first = openSqliteReadStore({ file });
    await first.write({ ops: [{ op: 'upsert', collection: 'cases', doc: { _id: 'a' } }], checkpoint: { projection: 'p', position: 5 } });
    await first.close();
    const second = openSqliteReadStore({ file });
    expect(await second.collection('cases').get('a')).toEqual({ _id: 'a' });
    expect((await second.getCheckpoint('p'))!.position).toBe(5);
    await second.close();
  });

  it('refuses the event log file as a read store, naming it', async () => {
    const file = join(dir, 'events.db');
    await openSqliteEventLog({ file, checkpointer: false }).close();
    expect(() => openSqliteReadStore({ file })).toThrow(new RegExp(`${file}: is a reglament file of another kind`));
  });
});
