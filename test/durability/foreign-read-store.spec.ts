/**
 * Another installation's read.db beside this log (found by the crash tester): the start is refused, as it must be, but
 * its message said acknowledged events were missing and offered accept-log-loss, which would record a false loss in the
 * append-only log. The message now says only the read store disagrees, and what to do first.
 */
import { copyFileSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileSampleCase, startHarness } from '../support/api-harness';

const dirs: string[] = [];
const newDir = () => {
  const dir = mkdtempSync(join(tmpdir(), 'reglament-foreign-read-'));
  dirs.push(dir);
  return dir;
};
afterAll(() => dirs.forEach((dir) => rmSync(dir, { recursive: true, force: true })));

it("a read store that is not the log's is refused with the advice to move it aside, not only to accept a loss", async () => {
  const ours = newDir();
  const theirs = newDir();
  const a = await startHarness({}, { dataDir: ours });
  await fileSampleCase(a, 51);
  await a.close();
  const b = await startHarness({}, { dataDir: theirs });
  for (let i = 0; i < 4; i++) await fileSampleCase(b, 52 + i);
  await b.app.infra.projections.readModels.waitFor('cases', await b.app.infra.eventLog.headPosition(), 10_000);
  await b.close();
  for (const file of readdirSync(ours).filter((f) => f.startsWith('read.db'))) rmSync(join(ours, file));
  for (const file of readdirSync(theirs).filter((f) => f.startsWith('read.db')))
    copyFileSync(join(theirs, file), join(ours, file));

  await expect(startHarness({}, { dataDir: ours })).rejects.toThrow(
    /Only the read store says so, and the log holds what its own head record says was acknowledged: if the read store is not this log's .* move it aside and start/,
  );
}, 120_000);
