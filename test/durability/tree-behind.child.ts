// Runs the service on DATA_DIR (argv[2]): appends 100 sealed events and signs a checkpoint of them, then makes every
// write of the tree fail (a trigger on tree_nodes), appends 40 more, which are acknowledged with their tree not stored,
// prints what it saw and kills itself with SIGKILL: the writer thread dies between the events' commit and the tree's.
import Database from 'better-sqlite3';
import { join } from 'node:path';
import { startApi } from '../../src/app/bootstrap';
import { loadConfig } from '../../src/shared/config/config';
import { createLogger } from '../../src/shared/logging/logger';
import { EVENT_LOG_FILE } from '../../src/modules/event-log/open-event-log';
import { appendSealed } from '../../src/modules/transparency/sealed-append';

async function main(dataDir: string): Promise<void> {
  const app = await startApi(
    loadConfig({
      DATA_DIR: dataDir,
      PORT: '0',
      LOG_LEVEL: 'silent',
      DEADLINE_SCHEDULER: 'off',
      WEBHOOK_DISPATCHER: 'off',
    }),
    createLogger('silent'),
  );
  const log = app.infra.eventLog;
  const append = (from: number, count: number) =>
    Promise.all(
      Array.from({ length: count }, (_, i) =>
        appendSealed(log, `case-crash-${from + i}`, [{ type: 'Step', data: { i: from + i } }]),
      ),
    );
  await append(0, 100);
  const checkpoint = app.infra.transparency!.issue(true);
  const raw = new Database(join(dataDir, EVENT_LOG_FILE));
  raw.exec(
    "CREATE TRIGGER tree_write_fails BEFORE INSERT ON tree_nodes BEGIN SELECT RAISE(ABORT, 'the disk failed'); END",
  );
  raw.close();
  await append(100, 40);
  // What the service serves meanwhile: checkpoints and evidence of the tree it holds, never beyond it.
  const transparency = app.infra.transparency!;
  const signedAfter = transparency.issue(true);
  let evidence: unknown;
  try {
    const [newest] = await log.readAll({ after: 139, maxCount: 1 });
    evidence = transparency.evidenceInclusion([newest!.id]);
  } catch (error) {
    evidence = { status: (error as { status?: number }).status, code: (error as { code?: string }).code };
  }
  const seen = {
    acknowledged: await log.headPosition(),
    signedAfter: signedAfter.size,
    evidence,
    checkpoint: { size: checkpoint.size, root: checkpoint.root.toString('base64') },
  };
  process.stdout.write(`${JSON.stringify(seen)}\n`, () => process.kill(process.pid, 'SIGKILL'));
}

main(process.argv[2]!).catch((error: unknown) => {
  process.stderr.write(`${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  process.exit(1);
});
