import { randomUUID } from 'node:crypto';
import type { EventLog, RecordedEvent } from './event-log.port';
import { AppendTooLargeError, InvalidEventError, WrongExpectedRevisionError } from './event-log.errors';
import { MAX_EVENT_BYTES } from './event-validation';

export interface EventLogLimits {
  /** The adapter refuses an append whose total size (as its store counts it) is over this many bytes. */
  maxAppendBytes?: number;
}

/**
 * The behaviour every EventLog adapter must have. Each test works in streams of its own (unique prefix),
 * so the suite also runs against a shared server holding other data. Positions are only ever ones the log handed
 * out (never computed: on EventStoreDB they are byte offsets, and `position − 1` is not a record).
 */
export function describeEventLogContract(
  name: string,
  open: () => Promise<EventLog>,
  limits: EventLogLimits = {},
): void {
  describe(`${name} event log contract`, () => {
    let log: EventLog;
    let prefix: string;
    const stream = (suffix: string) => `${prefix}${suffix}`;
    const ev = (type: string, data: unknown = {}) => ({ type, data });

    beforeAll(async () => {
      log = await open();
    });
    afterAll(async () => {
      await log.close();
    });
    beforeEach(() => {
      prefix = `c${randomUUID().slice(0, 8)}-`;
    });

    async function ownEvents(after = 0): Promise<RecordedEvent[]> {
      return log.readAll({ after, maxCount: 10_000, filter: { streamPrefixes: [prefix] } });
    }

    it('appends to a new stream and reads back every recorded field', async () => {
      const before = new Date(Date.now() - 1000);
      const id = randomUUID();
      const result = await log.append(
        stream('a'),
        [
          {
            id,
            type: 'ApplicationSubmitted',
            data: { iin: '880101300123', n: 1.5, list: [1, 'два'] },
            metadata: { actor: 'u1' },
          },
        ],
        'no_stream',
      );
      expect(result.nextRevision).toBe(0);
      expect(result.position).toBeGreaterThan(0);
      const [event] = await log.readStream(stream('a'));
      expect(event).toEqual({
        id,
        type: 'ApplicationSubmitted',
        data: { iin: '880101300123', n: 1.5, list: [1, 'два'] },
        metadata: { actor: 'u1' },
        streamId: stream('a'),
        revision: 0,
        position: result.position,
        recordedAt: expect.any(Date),
      });
      expect(event!.recordedAt.getTime()).toBeGreaterThanOrEqual(before.getTime());
      expect(event!.recordedAt.getTime()).toBeLessThanOrEqual(Date.now() + 1000);
    });

    it('generates UUID ids when the caller gives none', async () => {
      await log.append(stream('a'), [ev('X'), ev('Y')], 'no_stream');
      const events = await log.readStream(stream('a'));
      expect(events.map((e) => e.id)).toEqual([
        expect.stringMatching(/^[0-9a-f-]{36}$/),
        expect.stringMatching(/^[0-9a-f-]{36}$/),
      ]);
      expect(events[0]!.id).not.toBe(events[1]!.id);
    });

    it('a multi-event append takes consecutive revisions and increasing positions', async () => {
      const result = await log.append(stream('a'), [ev('A'), ev('B'), ev('C')], 'no_stream');
      expect(result.nextRevision).toBe(2);
      const events = await log.readStream(stream('a'));
      expect(events.map((e) => e.revision)).toEqual([0, 1, 2]);
      expect(events[2]!.position).toBe(result.position);
      expect(events[0]!.position).toBeLessThan(events[1]!.position);
      expect(events[1]!.position).toBeLessThan(events[2]!.position);
    });

    it('honours expected revisions: no_stream, any and exact', async () => {
      await log.append(stream('a'), [ev('A')], 'no_stream');
      await expect(log.append(stream('a'), [ev('B')], 0)).resolves.toMatchObject({ nextRevision: 1 });
      await expect(log.append(stream('a'), [ev('C')], 'any')).resolves.toMatchObject({ nextRevision: 2 });
      await expect(log.append(stream('b'), [ev('A')], 'any')).resolves.toMatchObject({ nextRevision: 0 });
    });

    it('a wrong expected revision is a typed conflict carrying expected and actual, and writes nothing', async () => {
      await log.append(stream('a'), [ev('A'), ev('B')], 'no_stream');
      const cases: Array<[string, Parameters<EventLog['append']>[2], number | 'no_stream']> = [
        [stream('a'), 'no_stream', 1],
        [stream('a'), 0, 1],
        [stream('a'), 5, 1],
        [stream('missing'), 0, 'no_stream'],
      ];
      for (const [id, expected, actual] of cases) {
        const error = await log.append(id, [ev('Z')], expected).catch((e: unknown) => e);
        expect(error).toBeInstanceOf(WrongExpectedRevisionError);
        expect(error).toMatchObject({ streamId: id, expected, actual });
      }
      expect((await log.readStream(stream('a'))).map((e) => e.type)).toEqual(['A', 'B']);
      expect(await log.readStream(stream('missing'))).toEqual([]);
    });

    it('of concurrent appends expecting the same revision exactly one wins', async () => {
      await log.append(stream('race'), [ev('Start')], 'no_stream');
      const outcomes = await Promise.allSettled(
        Array.from({ length: 8 }, (_, i) => log.append(stream('race'), [ev(`Attempt${i}`), ev(`Attempt${i}b`)], 0)),
      );
      expect(outcomes.filter((o) => o.status === 'fulfilled')).toHaveLength(1);
      for (const o of outcomes)
        if (o.status === 'rejected') expect(o.reason).toBeInstanceOf(WrongExpectedRevisionError);
      const events = await log.readStream(stream('race'));
      expect(events).toHaveLength(3);
      expect(events[1]!.type.replace(/b$/, '')).toBe(events[2]!.type.replace(/b$/, ''));
    });

    it('concurrent appends to different streams all succeed with distinct positions', async () => {
      const results = await Promise.all(
        Array.from({ length: 20 }, (_, i) => log.append(stream(`s${i}`), [ev('A'), ev('B')], 'no_stream')),
      );
      expect(new Set(results.map((r) => r.position)).size).toBe(20);
      expect(await ownEvents()).toHaveLength(40);
    });

    it('a retried append with the same event ids is recognised: same answer, nothing written twice', async () => {
      const events = [
        { id: randomUUID(), type: 'A', data: {} },
        { id: randomUUID(), type: 'B', data: {} },
      ];
      const first = await log.append(stream('a'), events, 'no_stream');
      const again = await log.append(stream('a'), events, 'no_stream');
      expect(again).toEqual(first);
      expect(await log.readStream(stream('a'))).toHaveLength(2);
    });

    describe('reading one stream', () => {
      beforeEach(async () => {
        await log.append(
          stream('r'),
          Array.from({ length: 10 }, (_, i) => ev(`E${i}`, { i })),
          'no_stream',
        );
      });

      it('reads forwards from and to a revision, with a maximum count', async () => {
        expect((await log.readStream(stream('r'), { fromRevision: 3, toRevision: 6 })).map((e) => e.revision)).toEqual([
          3, 4, 5, 6,
        ]);
        expect((await log.readStream(stream('r'), { fromRevision: 8 })).map((e) => e.revision)).toEqual([8, 9]);
        expect((await log.readStream(stream('r'), { maxCount: 2 })).map((e) => e.revision)).toEqual([0, 1]);
      });

      it('reads backwards from the end or from a revision', async () => {
        expect(
          (await log.readStream(stream('r'), { direction: 'backwards', maxCount: 3 })).map((e) => e.revision),
        ).toEqual([9, 8, 7]);
        expect(
          (await log.readStream(stream('r'), { direction: 'backwards', fromRevision: 4, toRevision: 2 })).map(
            (e) => e.revision,
          ),
        ).toEqual([4, 3, 2]);
      });

      it('reads up to an instant', async () => {
        const events = await log.readStream(stream('r'));
        const cut = events[9]!.recordedAt;
        await new Promise((r) => setTimeout(r, 20));
        await log.append(stream('r'), [ev('Later')], 9);
        const upToCut = await log.readStream(stream('r'), { until: cut });
        expect(upToCut.map((e) => e.type)).not.toContain('Later');
        expect(upToCut).toHaveLength(10);
        expect(await log.readStream(stream('r'), { until: new Date(cut.getTime() - 60_000) })).toEqual([]);
      });

      it('a stream that does not exist reads as empty', async () => {
        expect(await log.readStream(stream('nothing'))).toEqual([]);
      });
    });

    describe('reading all', () => {
      it('returns events in global order, strictly after a position, up to a count', async () => {
        const start = await log.headPosition();
        await log.append(stream('x'), [ev('A'), ev('B')], 'no_stream');
        await log.append(stream('y'), [ev('C')], 'no_stream');
        await log.append(stream('x'), [ev('D')], 1);
        const all = await ownEvents();
        expect(all.map((e) => e.type)).toEqual(['A', 'B', 'C', 'D']);
        const positions = all.map((e) => e.position);
        expect([...positions].sort((a, b) => a - b)).toEqual(positions);
        expect((await ownEvents(all[1]!.position)).map((e) => e.type)).toEqual(['C', 'D']);
        const firstTwo = await log.readAll({ after: start, maxCount: 2, filter: { streamPrefixes: [prefix] } });
        expect(firstTwo.map((e) => e.type)).toEqual(['A', 'B']);
      });

      it('filters by event type and by stream prefix', async () => {
        await log.append(stream('case-1'), [ev('ApplicationSubmitted'), ev('DocumentRegistered')], 'no_stream');
        await log.append(stream('other-1'), [ev('ApplicationSubmitted')], 'no_stream');
        const submitted = await log.readAll({
          maxCount: 10_000,
          filter: { eventTypes: ['ApplicationSubmitted'], streamPrefixes: [prefix] },
        });
        expect(submitted.map((e) => e.streamId)).toEqual([stream('case-1'), stream('other-1')]);
        const cases = await log.readAll({ maxCount: 10_000, filter: { streamPrefixes: [stream('case-')] } });
        expect(cases.map((e) => e.type)).toEqual(['ApplicationSubmitted', 'DocumentRegistered']);
      });

      it('the head position is the position of the last appended event', async () => {
        const result = await log.append(stream('h'), [ev('A')], 'no_stream');
        expect(await log.headPosition()).toBeGreaterThanOrEqual(result.position);
      });

      it('the last event is the one last appended, with its id, stream and revision (where a migration resumes)', async () => {
        await log.append(stream('last'), [ev('A'), ev('B')], 'no_stream');
        const appended = await log.readStream(stream('last'));
        const last = await log.lastEvent();
        expect(last).toMatchObject({
          id: appended[1]!.id,
          streamId: stream('last'),
          revision: 1,
          type: 'B',
          position: appended[1]!.position,
        });
      });

      it('150 reads left early, of $all and of a stream, then an append completes', async () => {
        await log.append(
          stream('many'),
          Array.from({ length: 20 }, (_, i) => ev(`E${i}`)),
          'no_stream',
        );
        // Each read stops before the end of what it could read; a call left open each time would exhaust the
        // connection's concurrent streams and the append below would never complete.
        for (let i = 0; i < 75; i++) {
          expect(await log.readAll({ maxCount: 1, filter: { streamPrefixes: [prefix] } })).toHaveLength(1);
          expect(await log.readStream(stream('many'), { maxCount: 2 })).toHaveLength(2);
        }
        await expect(log.append(stream('many'), [ev('After')], 19)).resolves.toMatchObject({ nextRevision: 20 });
      });
    });

    describe('subscribing to all', () => {
      it('catches up from a position, then delivers live appends, then stops cleanly', async () => {
        const start = await log.headPosition();
        await log.append(stream('sub'), [ev('A'), ev('B')], 'no_stream');
        const subscription = log.subscribeToAll({
          after: start,
          filter: { streamPrefixes: [prefix] },
          maxBatchSize: 1,
        });
        const seen: string[] = [];
        const consumed = (async () => {
          for await (const batch of subscription) {
            expect(batch.length).toBeLessThanOrEqual(1);
            for (const event of batch) seen.push(event.type);
            if (seen.length === 4) break;
          }
        })();
        await waitUntil(() => seen.length >= 2);
        expect(seen).toEqual(['A', 'B']);
        await log.append(stream('sub'), [ev('C')], 1);
        await log.append(stream('sub2'), [ev('D')], 'no_stream');
        await consumed;
        expect(seen).toEqual(['A', 'B', 'C', 'D']);
        await subscription.stop();
      });

      it('stop() ends an idle subscription', async () => {
        const subscription = log.subscribeToAll({
          after: await log.headPosition(),
          filter: { streamPrefixes: [prefix] },
        });
        const iteration = (async () => {
          let batches = 0;
          for await (const _ of subscription) batches++;
          return batches;
        })();
        await new Promise((r) => setTimeout(r, 50));
        await subscription.stop();
        await expect(iteration).resolves.toBe(0);
      });

      it('filters by event type', async () => {
        const start = await log.headPosition();
        await log.append(stream('f'), [ev('Keep'), ev('Drop'), ev('Keep')], 'no_stream');
        const subscription = log.subscribeToAll({
          after: start,
          filter: { eventTypes: ['Keep'], streamPrefixes: [prefix] },
        });
        const seen: RecordedEvent[] = [];
        for await (const batch of subscription) {
          seen.push(...batch);
          if (seen.length >= 2) break;
        }
        expect(seen.map((e) => [e.type, e.revision])).toEqual([
          ['Keep', 0],
          ['Keep', 2],
        ]);
      });
    });

    describe('refusing bad events, writing nothing', () => {
      const cyclic: Record<string, unknown> = { a: 1 };
      cyclic['self'] = cyclic;
      // Each bad event follows a good one: the whole append is refused, not just the bad event.
      const bad: Array<[string, unknown, RegExp]> = [
        ['an empty type', { type: '', data: {} }, /events\[1\]\.type/],
        ['a blank type', { type: '   ', data: {} }, /events\[1\]\.type/],
        ['a cycle in data', { type: 'A', data: cyclic }, /events\[1\]\.data\.self.*cycle/],
        ['a BigInt in data', { type: 'A', data: { n: 10n } }, /events\[1\]\.data\.n.*bigint/],
        ['a function in data', { type: 'A', data: { f: () => 1 } }, /events\[1\]\.data\.f/],
        ['undefined in data', { type: 'A', data: { u: undefined } }, /events\[1\]\.data\.u/],
        ['NaN in metadata', { type: 'A', data: {}, metadata: { x: NaN } }, /events\[1\]\.metadata\.x/],
        ['a Date in data', { type: 'A', data: { at: new Date() } }, /ISO-8601/],
        ['an oversized event', { type: 'A', data: { blob: 'x'.repeat(MAX_EVENT_BYTES) } }, /limit is 1048576 bytes/],
        [
          'an event oversized only in UTF-8 bytes (two per Cyrillic letter)',
          { type: 'A', data: { blob: 'ж'.repeat(MAX_EVENT_BYTES / 2) } },
          /limit is 1048576 bytes/,
        ],
        [
          'Infinity inside an array',
          { type: 'A', data: { xs: [1, { y: Infinity }] } },
          /events\[1\]\.data\.xs\[1\]\.y.*not representable/,
        ],
        ['a malformed id', { id: 'not-a-uuid', type: 'A', data: {} }, /events\[1\]\.id/],
      ];
      it.each(bad)('refuses %s', async (_label, badEvent, message) => {
        await log.append(stream('ok'), [ev('Good')], 'no_stream');
        const error = await log.append(stream('ok'), [ev('AlsoGood'), badEvent as never], 0).catch((e: unknown) => e);
        expect(error).toBeInstanceOf(InvalidEventError);
        expect((error as Error).message).toMatch(message);
        expect((await log.readStream(stream('ok'))).map((e) => e.type)).toEqual(['Good']);
      });

      const maxAppendBytes = limits.maxAppendBytes;
      (maxAppendBytes === undefined ? it.skip : it)(
        'refuses an append over its total size limit whole, each event being under the per-event limit',
        async () => {
          await log.append(stream('ok'), [ev('Good')], 'no_stream');
          const chunk = 'x'.repeat(Math.ceil((maxAppendBytes ?? 0) / 2));
          const error = await log
            .append(stream('ok'), [ev('Big1', { chunk }), ev('Big2', { chunk })], 0)
            .catch((e: unknown) => e);
          expect(error).toBeInstanceOf(AppendTooLargeError);
          expect((await log.readStream(stream('ok'))).map((e) => e.type)).toEqual(['Good']);
        },
      );

      it('refuses an append without events', async () => {
        await expect(log.append(stream('ok'), [], 'any')).rejects.toThrow(/events: must be a non-empty array/);
      });

      it('refuses an empty stream id', async () => {
        await expect(log.append('', [ev('A')], 'any')).rejects.toThrow(/streamId/);
      });
    });
  });
}

export async function waitUntil(condition: () => boolean, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 5));
  }
}
