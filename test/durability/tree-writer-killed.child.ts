// A second writer on the event log beside a running API (as the projection process appends deadline warnings): opens
// the log file of DATA_DIR (argv[2]) itself and appends sealed events in rounds of four concurrent appends, ROUNDS
// (argv[3]) times; before the last one it prints "last" and waits for a line on stdin (the test lets the API's
// writer go quiet first, so nobody else stores the tree of that round). On the acknowledgement of its last round it takes the log's write lock at once, so its writer thread
// cannot store the tree of that round, prints what it saw and kills itself with SIGKILL: stopped between the events'
// commit and the tree's, with its leaves held only in its memory.
import Database from 'better-sqlite3';
import { join } from 'node:path';
import { EVENT_LOG_FILE } from '../../src/modules/event-log/open-event-log';
import { openSqliteEventLog } from '../../src/modules/event-log/sqlite/sqlite-event-log';
import { leavesOfNodeCount } from '../../src/modules/transparency/domain/merkle';
import { appendSealed } from '../../src/modules/transparency/sealed-append';

async function main(dataDir: string, rounds: number): Promise<void> {
  const file = join(dataDir, EVENT_LOG_FILE);
  // Its leaves wait for the tree's own transaction until 32 are held (4 rounds), not 10 ms: however slow this process
  // is to take the lock after the last round (a loaded machine), that round's tree is not stored before it.
  const log = openSqliteEventLog({ file, checkpointer: false, treeLagMs: 600_000 });
  const lock = new Database(file);
  lock.pragma('busy_timeout = 5000');
  let acknowledged = 0;
  const round = (r: number) =>
    Promise.all(
      Array.from({ length: 4 }, (_, i) =>
        appendSealed(log, `deadline-${r}-${i}`, [
          { type: 'DeadlineWarned', data: { r, i } },
          { type: 'DeadlineBreached', data: { r, i } },
        ]).then(() => acknowledged++),
      ),
    );
  for (let r = 0; r < rounds - 1; r++) await round(r);
  process.stdout.write('last\n');
  await new Promise((resolve) => process.stdin.once('data', resolve));
  await round(rounds - 1);
  // Acknowledged; its tree would be stored once 32 leaves wait or at close, neither of which comes.
  lock.exec('BEGIN IMMEDIATE');
  const seen = {
    acknowledged,
    head: lock.prepare('SELECT max(position) FROM events').pluck().get() as number,
    treeLeaves: leavesOfNodeCount(lock.prepare('SELECT count(*) FROM tree_nodes').pluck().get() as number),
  };
  process.stdout.write(`${JSON.stringify(seen)}\n`, () => process.kill(process.pid, 'SIGKILL'));
}

main(process.argv[2]!, Number(process.argv[3])).catch((error: unknown) => {
  process.stderr.write(`${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  process.exit(1);
});
