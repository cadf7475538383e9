// Appends as fast as it can and prints every acknowledged append as one JSON line; the test kills it with SIGKILL.
import { randomUUID } from 'node:crypto';
import { openSqliteEventLog } from '../../src/modules/event-log/sqlite/sqlite-event-log';

const file = process.argv[2]!;
const log = openSqliteEventLog({ file });
const revisions = new Map<string, number>();

async function writer(w: number): Promise<void> {
  for (let i = 0; ; i++) {
    const streamId = `case-${w}-${i % 7}`;
    const size = 1 + (i % 3);
    const events = Array.from({ length: size }, (_, k) => ({
      id: randomUUID(),
      type: 'Step',
      data: { w, i, k, of: size },
    }));
    const expected = revisions.has(streamId) ? revisions.get(streamId)! : 'no_stream';
    const result = await log.append(streamId, events, expected);
    revisions.set(streamId, result.nextRevision);
    process.stdout.write(
      JSON.stringify({
        streamId,
        ids: events.map((e) => e.id),
        nextRevision: result.nextRevision,
        position: result.position,
      }) + '\n',
    );
  }
}

process.stdout.write('ready\n');
void Promise.all([0, 1, 2, 3].map(writer));
