// Rebuilds the log's Merkle tree and kills itself with SIGKILL once it has read `killAt` events (argv[3]): the
// builder thread is then storing nodes in its open transaction. The test checks what a later start finds.
import { openSqliteEventLog } from '../../src/modules/event-log/sqlite/sqlite-event-log';

const file = process.argv[2]!;
const killAt = Number(process.argv[3]);
const log = openSqliteEventLog({ file });
log.tree.rebuild((leaves) => {
  if (leaves >= killAt) process.kill(process.pid, 'SIGKILL');
});
process.stdout.write('finished without being killed\n');
