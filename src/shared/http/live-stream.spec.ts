import type { MessageEvent } from '@nestjs/common';
import { firstValueFrom, NEVER, Subject, take, toArray } from 'rxjs';
import { ChangeFeeds } from './change-feeds';
import { liveStream } from './live-stream';

describe('liveStream', () => {
  beforeEach(() => jest.useFakeTimers());
  afterEach(() => jest.useRealTimers());

  it('adds retry: to every event and a heartbeat comment every 15 s', () => {
    const events = new Subject<MessageEvent>();
    const seen: MessageEvent[] = [];
    const subscription = liveStream(events, { closeAt: null }).subscribe((e) => seen.push(e));
    events.next({ id: '7', type: 'projected', data: { position: 7 } });
    jest.advanceTimersByTime(45_000);
    subscription.unsubscribe();
    expect(seen).toEqual([
      { id: '7', type: 'projected', data: { position: 7 }, retry: 5000 },
      { comment: 'heartbeat' },
      { comment: 'heartbeat' },
      { comment: 'heartbeat' },
    ]);
  });

  it("ends when the caller's token expires, with a last token-expired event", () => {
    const now = Date.parse('2026-12-03T10:00:00Z');
    const seen: MessageEvent[] = [];
    let completed = false;
    liveStream(NEVER, { closeAt: new Date(now + 20_000), now: () => now }).subscribe({
      next: (e) => seen.push(e),
      complete: () => (completed = true),
    });
    jest.advanceTimersByTime(19_999);
    expect(completed).toBe(false);
    jest.advanceTimersByTime(1);
    expect(completed).toBe(true);
    // With an id of its own: Nest numbers an event without one from 1, and a client resumes from the id it saw last.
    expect(seen).toEqual([
      { comment: 'heartbeat' },
      { type: 'token-expired', id: '0', data: expect.objectContaining({ expiredAt: '2026-12-03T10:00:20.000Z' }) },
    ]);
  });

  it("the token-expired event carries the last event's id, the client's own when none was sent, or where to resume", () => {
    const now = Date.parse('2026-12-03T10:00:00Z');
    const lastOf = (stream: ReturnType<typeof liveStream>) => {
      const seen: MessageEvent[] = [];
      stream.subscribe((e) => seen.push(e));
      jest.advanceTimersByTime(20_000);
      return seen.at(-1);
    };
    const events = new Subject<MessageEvent>();
    const sent = liveStream(events, { closeAt: new Date(now + 20_000), now: () => now, lastId: '3' });
    const last = (() => {
      const seen: MessageEvent[] = [];
      sent.subscribe((e) => seen.push(e));
      events.next({ id: '41', type: 'projected', data: {} });
      jest.advanceTimersByTime(20_000);
      return seen.at(-1);
    })();
    expect(last).toMatchObject({ type: 'token-expired', id: '41' });
    expect(lastOf(liveStream(NEVER, { closeAt: new Date(now + 20_000), now: () => now, lastId: '3' }))).toMatchObject({
      type: 'token-expired',
      id: '3',
    });
    expect(
      lastOf(liveStream(NEVER, { closeAt: new Date(now + 20_000), now: () => now, resumeId: () => '77' })),
    ).toMatchObject({ type: 'token-expired', id: '77' });
  });
});

describe('ChangeFeeds', () => {
  it('polls once per tick for all watchers of a key: two watchers see the same values of one probe', async () => {
    const feeds = new ChangeFeeds(1);
    let calls = 0;
    const probe = async () => ++calls;
    const [a, b] = await Promise.all([
      firstValueFrom(feeds.watch('head', probe).pipe(take(3), toArray())),
      firstValueFrom(feeds.watch('head', probe).pipe(take(3), toArray())),
    ]);
    // Each watcher polling on its own would share the counter and see every other value.
    expect(a).toEqual([1, 2, 3]);
    expect(b).toEqual([1, 2, 3]);
  });

  it('emits only changes, and skips a failed look instead of failing the watchers', async () => {
    const feeds = new ChangeFeeds(1);
    const answers: (number | Error)[] = [5, 5, new Error('store unavailable'), 5, 6];
    const probe = async () => {
      const next = answers.shift() ?? 6;
      if (next instanceof Error) throw next;
      return next;
    };
    expect(await firstValueFrom(feeds.watch('head', probe).pipe(take(2), toArray()))).toEqual([5, 6]);
  });
});
