import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openSqliteEventLog } from '../../src/modules/event-log/sqlite/sqlite-event-log';
import { openSqliteReadStore } from '../../src/modules/read-store/sqlite/sqlite-read-store';
import { ProjectionRuntime } from '../../src/projections/projection-runtime';
import { ReadModels } from '../../src/projections/read-models';
import { counterProjection } from './counter.projection';

/** Runs the writer child and kills it with SIGKILL once its projection has passed `killAfterPosition`. */
function runAndKill(dir: string, killAfterPosition: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(
      process.execPath,
      ['-r', join(__dirname, '../support/swc-register.js'), join(__dirname, 'projection-writer.child.ts'), dir],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let err = '';
    let out = '';
    child.stdout.on('data', (chunk: Buffer) => {
      out += chunk.toString();
      const lines = out.split('\n');
      out = lines.pop()!;
      for (const line of lines) if (Number(line.split(' ')[1]) >= killAfterPosition) child.kill('SIGKILL');
    });
    child.stderr.on('data', (chunk: Buffer) => (err += chunk.toString()));
    child.on('error', reject);
    child.on('exit', (_code, signal) =>
      signal === 'SIGKILL' ? resolve() : reject(new Error(`child exited on its own: ${err}`)),
    );
  });
}

describe('projection durability under SIGKILL', () => {
  it.each([150, 1000, 4000])(
    'after a kill once %i events are projected, resuming gives the same model as a rebuild from scratch',
    async (killAfterPosition) => {
      const dir = mkdtempSync(join(tmpdir(), 'reglament-projcrash-'));
      try {
        await runAndKill(dir, killAfterPosition);
        const log = openSqliteEventLog({ file: join(dir, 'events.db') });
        const store = openSqliteReadStore({ file: join(dir, 'read.db') });
        const models = new ReadModels(log, store, [counterProjection]);
        const runtime = new ProjectionRuntime(log, store, [counterProjection], { batchSize: 50 });
        await runtime.start();
        const head = await log.headPosition();
        expect(head).toBeGreaterThanOrEqual(killAfterPosition);
        await models.waitFor('counter', head, 20_000);
        const resumed = await (await models.collection('counter', 'counts')).find({}, { sort: { _id: 1 } });

        // The truth, straight from the log: events per stream.
        const truth = new Map<string, number>();
        for (const e of await log.readAll({ maxCount: 10_000_000 }))
          truth.set(e.streamId, (truth.get(e.streamId) ?? 0) + 1);
        expect(resumed).toEqual([...truth].sort(([a], [b]) => (a < b ? -1 : 1)).map(([_id, n]) => ({ _id, n })));

        await runtime.rebuild('counter');
        const rebuilt = await (await models.collection('counter', 'counts')).find({}, { sort: { _id: 1 } });
        expect(rebuilt).toEqual(resumed);
        await runtime.stop();
        await store.close();
        await log.close();
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    },
    60_000,
  );
});
