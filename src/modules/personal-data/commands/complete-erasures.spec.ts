import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openSqliteEventLog } from '../../event-log/sqlite/sqlite-event-log';
import { appendSealed } from '../../transparency/sealed-append';
import { ERASURE_STREAM, PERSONAL_DATA_ERASED } from '../domain/erasure';
import { newDataKey } from '../domain/key-wrapping';
import { SqliteKeyStore } from '../keys/sqlite-key-store';
import { completeRecordedErasures } from './erase-subject';

describe('an erasure recorded in the log whose key a stopped process did not destroy', () => {
  const dir = mkdtempSync(join(tmpdir(), 'reglament-erasure-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('is completed at start: the key destroyed with the recorded basis, the others kept, and once only', async () => {
    const log = openSqliteEventLog({ file: join(dir, 'events.db') });
    const keys = SqliteKeyStore.open(dir, newDataKey());
    try {
      const erased = await keys.subjectForCase('idx-erased', 'case-1', new Date());
      const kept = await keys.subjectForCase('idx-kept', 'case-2', new Date());
      // What eraseSubject does first, and a kill before its second step left as it was.
      await appendSealed(log, ERASURE_STREAM, [
        {
          type: PERSONAL_DATA_ERASED,
          data: {
            subjectId: erased.kid,
            cases: ['case-1'],
            basis: 'request of the data subject',
            reference: 'Law 94-V art. 17',
            by: 'admin-1',
            clearTextActs: 0,
          },
          metadata: { recordedAt: '2026-12-05T10:00:00.000Z' },
        },
      ]);
      expect((await keys.keysOf([erased.kid])).get(erased.kid)).toBeTruthy();

      expect(await completeRecordedErasures(log, keys)).toEqual([erased.kid]);
      const after = await keys.keysOf([erased.kid, kept.kid]);
      expect(after.get(erased.kid)).toBeFalsy();
      expect(after.get(kept.kid)).toEqual(kept.key);
      // No longer found by the IIN's blind index; the other subject still is.
      expect(await keys.subjectsOf('idx-erased')).toEqual([]);
      expect(await keys.subjectsOf('idx-kept')).toEqual([expect.objectContaining({ subjectId: kept.kid })]);
      expect(await completeRecordedErasures(log, keys)).toEqual([]);
    } finally {
      await keys.close();
      await log.close();
    }
  });
});
