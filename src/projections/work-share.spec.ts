import { WorkShare, type BatchDone } from './work-share';

/** A WorkShare on clocks the test moves, recording the waits it asks for (which take no time). */
function harness(share: number, recentMs = 60_000) {
  let monotonic = 1_000;
  const wall = Date.parse('2026-11-30T10:00:00Z');
  const waits: number[] = [];
  const ws = new WorkShare({
    share,
    recentMs,
    monotonic: () => monotonic,
    wallClock: () => wall,
    sleep: async (ms) => void waits.push(ms),
  });
  let head = 0;
  /** A batch of `events` that took `workMs`, `ms` after the last one, while the log grew by `grew`. */
  const batch = (over: Partial<BatchDone> & { after?: number; grew?: number } = {}): BatchDone => {
    monotonic += over.after ?? 0;
    head += over.grew ?? 0;
    return { projection: 'p', events: 100, workMs: 40, oldestRecordedAt: new Date(wall - 1_000), head, ...over };
  };
  return { ws, waits, batch, advance: (ms: number) => (monotonic += ms) };
}

describe('WorkShare: when projections rest, and for how long', () => {
  it('while the log grows faster than they can follow (here 10,000 events/s at 0.4 ms each), at a quarter share, 40 ms of work is followed by 120 ms of rest', async () => {
    const { ws, waits, batch } = harness(0.25);
    await ws.after(batch());
    await ws.after(batch({ after: 500, grew: 5_000 }));
    expect(ws.fallingBehind()).toBe(true);
    expect(waits).toEqual([120]);
    expect(ws.waitedMs).toBe(120);
  });

  it('keeps up at full speed when the log grows slower than that (1,000 events/s at 0.4 ms each: 40 % of the time)', async () => {
    const { ws, waits, batch } = harness(0.25);
    await ws.after(batch());
    await ws.after(batch({ after: 1_000, grew: 1_000 }));
    await ws.after(batch({ after: 1_000, grew: 1_000 }));
    expect(ws.fallingBehind()).toBe(false);
    expect(waits).toEqual([]);
  });

  it('counts what every projection of the process costs: two of 0.3 ms per event cannot follow 2,000 events/s, one could', async () => {
    const one = harness(0.5);
    await one.ws.after(one.batch({ workMs: 30 }));
    await one.ws.after(one.batch({ workMs: 30, after: 1_000, grew: 2_000 }));
    expect(one.waits).toEqual([]);
    const two = harness(0.5);
    await two.ws.after(two.batch({ projection: 'a', workMs: 30 }));
    await two.ws.after(two.batch({ projection: 'b', workMs: 30, after: 1_000, grew: 2_000 }));
    expect(two.ws.fallingBehind()).toBe(true);
    expect(two.waits).toEqual([30]);
  });

  it("rests are shared by every projection of the process: a batch right after another waits for the first one's rest too", async () => {
    const { ws, waits, batch } = harness(0.5);
    await ws.after(batch());
    await ws.after(batch({ after: 500, grew: 50_000 }));
    await ws.after(batch({ projection: 'q', workMs: 10 }));
    expect(waits).toEqual([40, 50]);
  });

  it('catches up at full speed once the log has stopped growing: the burst is over', async () => {
    const { ws, waits, batch } = harness(0.25);
    await ws.after(batch());
    await ws.after(batch({ after: 500, grew: 5_000 }));
    await ws.after(batch({ after: 500, grew: 0 }));
    await ws.after(batch({ after: 10 }));
    expect(ws.fallingBehind()).toBe(false);
    expect(waits).toEqual([120]);
  });

  it('ends a rest as soon as the log stops growing, for every projection resting: a burst over is not waited out', async () => {
    let monotonic = 1_000;
    let head = 0;
    const waits: number[] = [];
    const ws = new WorkShare({
      share: 0.1,
      monotonic: () => monotonic,
      sleep: async (ms) => {
        waits.push(ms);
        monotonic += ms;
      },
    });
    const headNow = async () => head;
    // A burst: 20,000 events a second for 0.5 s; a batch of 1,000 events took 1 s, so it rests 9 s.
    const done = (over: Partial<BatchDone> = {}): BatchDone => ({
      projection: 'p',
      events: 1_000,
      workMs: 1_000,
      oldestRecordedAt: new Date(),
      head,
      headNow,
      ...over,
    });
    await ws.after(done());
    monotonic += 500;
    head += 10_000;
    // The log goes on growing for the first two slices of the rest, then the burst ends.
    let slices = 0;
    const resting = ws.after(
      done({
        headNow: async () => {
          slices += 1;
          if (slices <= 2) head += 5_000;
          return head;
        },
      }),
    );
    await resting;
    expect(waits).toEqual([250, 250, 250]);
    expect(ws.fallingBehind()).toBe(false);
    // Another projection's batch right after it starts at once: the shared rest ended with the burst.
    await ws.after(done({ projection: 'q', workMs: 10 }));
    expect(waits).toEqual([250, 250, 250]);
  });

  it("does not count the process's own appends (its deadline scheduler's) as growth to rest for", async () => {
    let appended = 0;
    const waits: number[] = [];
    let monotonic = 1_000;
    const ws = new WorkShare({
      share: 0.25,
      monotonic: () => monotonic,
      sleep: async (ms) => void waits.push(ms),
      ownAppends: () => appended,
    });
    const done = (head: number): BatchDone => ({
      projection: 'p',
      events: 100,
      workMs: 40,
      oldestRecordedAt: new Date(),
      head,
    });
    await ws.after(done(0));
    // 5,000 events in 0.5 s, all of them appended by this process: nothing to rest for.
    monotonic += 500;
    appended += 5_000;
    await ws.after(done(5_000));
    expect(ws.fallingBehind()).toBe(false);
    expect(waits).toEqual([]);
    // The same growth from commands coming in: it rests.
    monotonic += 500;
    await ws.after(done(10_000));
    expect(waits).toEqual([120]);
  });

  it('never rests on events recorded before its window (a burst longer than that, a catch-up after a start, a rebuild): the lag stays bounded', async () => {
    const { ws, waits, batch } = harness(0.25, 60_000);
    await ws.after(batch());
    await ws.after(
      batch({ after: 500, grew: 5_000, oldestRecordedAt: new Date(Date.parse('2026-11-30T10:00:00Z') - 60_000) }),
    );
    expect(ws.fallingBehind()).toBe(true);
    expect(waits).toEqual([]);
  });

  it('never rests at a share of 1, nor once stopped', async () => {
    const full = harness(1);
    await full.ws.after(full.batch());
    await full.ws.after(full.batch({ after: 500, grew: 50_000 }));
    expect(full.waits).toEqual([]);
    const stopped = harness(0.1);
    await stopped.ws.after(stopped.batch());
    stopped.ws.stop();
    await stopped.ws.after(stopped.batch({ after: 500, grew: 50_000 }));
    expect(stopped.waits).toEqual([]);
  });

  it('stopping wakes a projection that is resting', async () => {
    let now = 0;
    const ws = new WorkShare({ share: 0.01, monotonic: () => now });
    await ws.after({ projection: 'p', events: 10, workMs: 100, oldestRecordedAt: new Date(), head: 0 });
    now = 1_000;
    const resting = ws.after({ projection: 'p', events: 10, workMs: 100, oldestRecordedAt: new Date(), head: 100_000 });
    let woke = false;
    void resting.then(() => (woke = true));
    await new Promise((resolve) => setImmediate(resolve));
    expect(woke).toBe(false);
    ws.stop();
    await resting;
    expect(woke).toBe(true);
  });

  it('refuses a share outside (0, 1]', () => {
    expect(() => new WorkShare({ share: 0 })).toThrow(RangeError);
    expect(() => new WorkShare({ share: 1.5 })).toThrow(RangeError);
  });
});
