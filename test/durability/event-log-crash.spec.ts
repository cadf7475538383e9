import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openSqliteEventLog } from '../../src/modules/event-log/sqlite/sqlite-event-log';

interface Ack {
  streamId: string;
  ids: string[];
  nextRevision: number;
  position: number;
}

/**
 * Runs the writer child and kills it with SIGKILL once it has acknowledged `killAfterAcks` appends, returns the
 * appends it had acknowledged. Counting acknowledgements, not milliseconds, keeps the kill mid-work however loaded
 * the machine is; the writer keeps appending while the pipe is read, so the kill still lands at an arbitrary point.
 */
function runAndKill(file: string, killAfterAcks: number): Promise<Ack[]> {
  return new Promise((resolve, reject) => {
    const child = spawn(
      process.execPath,
      ['-r', join(__dirname, '../support/swc-register.js'), join(__dirname, 'event-log-writer.child.ts'), file],
      {
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    let out = '';
    let err = '';
    let lines = 0;
    child.stdout.on('data', (chunk: Buffer) => {
      const text = chunk.toString();
      out += text;
      for (let at = text.indexOf('\n'); at !== -1; at = text.indexOf('\n', at + 1)) lines++;
      // The first line is "ready"; every further line is one acknowledged append.
      if (lines - 1 >= killAfterAcks) child.kill('SIGKILL');
    });
    child.stderr.on('data', (chunk: Buffer) => (err += chunk.toString()));
    child.on('error', reject);
    child.on('exit', (_code, signal) => {
      if (signal !== 'SIGKILL') return reject(new Error(`writer exited on its own: ${err}`));
      // The last line may be cut mid-write: only complete lines were acknowledged to the writer.
      const lines = out.split('\n').slice(1, -1);
      resolve(lines.map((line) => JSON.parse(line) as Ack));
    });
  });
}

describe('event log durability under SIGKILL', () => {
  const dir = mkdtempSync(join(tmpdir(), 'reglament-crash-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it.each([25, 400, 3000])(
    'every acknowledged append survives a kill after %i acknowledgements, and none is half there',
    async (killAfterAcks) => {
      const file = join(dir, `events-${killAfterAcks}.db`);
      const acks = await runAndKill(file, killAfterAcks);
      expect(acks.length).toBeGreaterThanOrEqual(killAfterAcks);

      const log = openSqliteEventLog({ file });
      const all = await log.readAll({ maxCount: 10_000_000 });
      const byId = new Map(all.map((e) => [e.id, e]));
      for (const ack of acks) {
        for (const id of ack.ids) expect(byId.get(id)?.streamId).toBe(ack.streamId);
        expect(byId.get(ack.ids[ack.ids.length - 1]!)).toMatchObject({
          revision: ack.nextRevision,
          position: ack.position,
        });
      }
      // Multi-event appends are all-or-nothing: every stored event's append is complete.
      const appends = new Map<string, { stored: number; of: number }>();
      for (const event of all) {
        const { i, of } = event.data as { i: number; of: number };
        const key = `${event.streamId}#${i}`;
        appends.set(key, { stored: (appends.get(key)?.stored ?? 0) + 1, of });
      }
      for (const [key, { stored, of }] of appends) expect([key, stored]).toEqual([key, of]);
      // Positions are gapless and each stream's revisions run 0..n without holes.
      expect(all.map((e) => e.position)).toEqual(all.map((_, k) => k + 1));
      const streams = new Map<string, number[]>();
      for (const e of all) streams.set(e.streamId, [...(streams.get(e.streamId) ?? []), e.revision]);
      for (const revisions of streams.values()) expect(revisions).toEqual(revisions.map((_, k) => k));
      await log.close();
    },
    30_000,
  );
});
