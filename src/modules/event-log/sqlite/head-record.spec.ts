import { spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readHeadRecord, writeHeadRecordSync } from './head-record';

const REGISTER = join(__dirname, '../../../../test/support/swc-register.js');

describe('the head record written by two processes at once (the API and its projection process both append)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'reglament-head-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('is always whole when read: each writer renames a temporary file of its own', async () => {
    const file = join(dir, 'events.head.json');
    writeHeadRecordSync(file, { position: 1, eventId: 'e-1' });
    const writer = (from: number) =>
      new Promise<number | null>((resolve) => {
        const child = spawn(
          process.execPath,
          [
            '-r',
            REGISTER,
            '-e',
            `const { writeHeadRecordSync } = require(${JSON.stringify(join(__dirname, 'head-record.ts'))});
             for (let i = 0; i < 400; i++) writeHeadRecordSync(${JSON.stringify(file)}, { position: ${from} + i, eventId: 'e-' + i });`,
          ],
          { stdio: 'ignore' },
        );
        child.on('exit', resolve);
      });
    const writers = Promise.all([writer(1000), writer(5000)]);
    let done = false;
    void writers.then(() => (done = true));
    const torn: string[] = [];
    let reads = 0;
    while (!done) {
      try {
        readHeadRecord(file);
      } catch (error) {
        torn.push((error as Error).message);
      }
      reads++;
      await new Promise((r) => setImmediate(r));
    }
    expect(await writers).toEqual([0, 0]);
    expect(reads).toBeGreaterThan(10);
    expect(torn).toEqual([]);
    expect(readdirSync(dir).filter((f) => f.endsWith('.tmp'))).toEqual([]);
  }, 60_000);

  it('a record that is not one names its file, not a bare SyntaxError', () => {
    const file = join(dir, 'torn.head.json');
    writeFileSync(file, '{"position":12,"eventId":"e"}}');
    expect(() => readHeadRecord(file)).toThrow(
      new RegExp(`^${file.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')} is not a head record`),
    );
  });
});
