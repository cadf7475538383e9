// Appends and projects at once, in one process, until the test kills it with SIGKILL.
import { join } from 'node:path';
import { openSqliteEventLog } from '../../src/modules/event-log/sqlite/sqlite-event-log';
import { openSqliteReadStore } from '../../src/modules/read-store/sqlite/sqlite-read-store';
import { ProjectionRuntime, type ProjectedEvent } from '../../src/projections/projection-runtime';
import { counterProjection } from './counter.projection';

async function main(): Promise<void> {
  const dir = process.argv[2]!;
  const log = openSqliteEventLog({ file: join(dir, 'events.db') });
  const store = openSqliteReadStore({ file: join(dir, 'read.db') });
  const runtime = new ProjectionRuntime(log, store, [counterProjection], { batchSize: 50 });
  await runtime.start();
  // Tells the test how far the projection has got, so it can kill it at a point measured in work, not time.
  runtime.events.on('projected', ({ position }: ProjectedEvent) => process.stdout.write(`projected ${position}\n`));
  for (let i = 0; ; i++) {
    await Promise.all(
      Array.from({ length: 8 }, (_, k) =>
        log.append(`case-${(i * 8 + k) % 37}`, [{ type: 'Step', data: { i } }], 'any'),
      ),
    );
  }
}

void main();
