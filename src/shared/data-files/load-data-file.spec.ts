import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { z } from 'zod';
import { DataFileError, loadDataFile } from './load-data-file';

describe('loadDataFile', () => {
  const dir = mkdtempSync(join(tmpdir(), 'data-file-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const schema = z.strictObject({ dates: z.record(z.string().regex(/^\d{4}$/, 'must be a year'), z.string()) });

  it('names a bad record key with what its key rule says, not a generic "invalid key"', () => {
    const file = join(dir, 'bad-key.yaml');
    writeFileSync(file, 'dates:\n  "2019": a\n  "19": b\n');
    let error: unknown;
    try {
      loadDataFile(file, schema);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(DataFileError);
    expect((error as DataFileError).problems).toEqual([
      { path: 'dates.19', problem: 'is not an allowed key: must be a year' },
    ]);
    expect((error as DataFileError).message).toBe(`${file}: dates.19: is not an allowed key: must be a year`);
  });
});
