import { WorkShare } from './work-share';

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
    sleep: async (ms) => {
      waits.push(ms);
    },
  });
  return { ws, waits, advance: (ms: number) => (monotonic += ms), recordedAgo: (ms: number) => ({ oldestRecordedAt: new Date(wall - ms), logGrew: true }) };
}

describe('WorkShare: how long projections wait after a batch of recent events', () => {
  it('at a quarter share, work of 10 ms is followed by 30 ms of rest', async () => {
    const { ws, waits, recordedAgo } = harness(0.25);
    await ws.after(10, recordedAgo(500));
    expect(waits).toEqual([30]);
    expect(ws.waitedMs).toBe(30);
  });

  it('is shared by every projection of the process: a second batch right after waits for the first one\'s rest too', async () => {
    const { ws, waits, recordedAgo } = harness(0.5);
    const first = ws.after(20, recordedAgo(100));
    const second = ws.after(10, recordedAgo(100));
    await Promise.all([first, second]);
    // 20 ms of rest for the first; the second starts its own 10 after that.
    expect(waits).toEqual([20, 30]);
  });

  it('does not wait after the time a batch\'s rest has already passed', async () => {
    const { ws, waits, advance, recordedAgo } = harness(0.5);
    await ws.after(10, recordedAgo(100));
    advance(50);
    await ws.after(10, recordedAgo(100));
    expect(waits).toEqual([10, 10]);
  });

  it('projects events recorded longer ago than the window at full speed: a long burst, a catch-up after a start, a rebuild', async () => {
    const { ws, waits, recordedAgo } = harness(0.25, 60_000);
    await ws.after(400, recordedAgo(60_000));
    await ws.after(400, recordedAgo(3_600_000));
    expect(waits).toEqual([]);
  });

  it('does not wait once the log has stopped growing: the burst is over, the read models catch up at full speed', async () => {
    const { ws, waits } = harness(0.25);
    await ws.after(100, { oldestRecordedAt: new Date(), logGrew: false });
    expect(waits).toEqual([]);
  });

  it('never waits at a share of 1, nor once stopped', async () => {
    const full = harness(1);
    await full.ws.after(100, full.recordedAgo(10));
    expect(full.waits).toEqual([]);
    const stopped = harness(0.1);
    stopped.ws.stop();
    await stopped.ws.after(100, stopped.recordedAgo(10));
    expect(stopped.waits).toEqual([]);
  });

  it('stopping wakes a projection that is resting', async () => {
    const ws = new WorkShare({ share: 0.01 });
    const resting = ws.after(1_000, { oldestRecordedAt: new Date(), logGrew: true });
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
