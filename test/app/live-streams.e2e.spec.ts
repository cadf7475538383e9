/**
 * The Server-Sent Events streams (GET /api/feed/stream, GET /api/compliance/stream) on the real server: every event
 * has an id and a retry: field, a client resumes with Last-Event-ID, and a stream ends when the caller's token
 * expires, with a last `token-expired` event. (The 15 s heartbeat and the one shared watch per process are proven on
 * the components in src/shared/http/live-stream.spec.ts.)
 */
import { connect } from 'node:net';
import { mintToken } from '../../src/modules/identity/token-verifier';
import { STREAM_SLOTS } from '../../src/shared/http/stream-slots';
import { FEED_QUERIES } from '../../src/modules/deadline-alerts/http/feed.controller';
import { fileSampleCase, startHarness, type ApiHarness } from '../support/api-harness';

let api: ApiHarness;
beforeAll(async () => {
  api = await startHarness();
});
afterAll(async () => api.close());

const auditor = { sub: 'auditor-streams', roles: ['auditor'], unit: 'audit' };

/** Reads a stream until `done` says the text so far is enough, or the server ends it. */
async function readStream(
  path: string,
  token: string,
  headers: Record<string, string>,
  done: (text: string) => boolean,
): Promise<{ text: string; ended: boolean }> {
  const controller = new AbortController();
  // Not an assertion: a stream that never answers is cut so the test fails on what it read instead of hanging the suite.
  const cut = setTimeout(() => controller.abort(), 15_000);
  const response = await fetch(`${api.url}${path}`, {
    headers: { authorization: `Bearer ${token}`, ...headers },
    signal: controller.signal,
  });
  expect(response.status).toBe(200);
  const reader = response.body!.getReader();
  const decoder = new TextDecoder();
  let text = '';
  try {
    for (;;) {
      const { value, done: ended } = await reader.read();
      if (ended) return { text, ended: true };
      text += decoder.decode(value, { stream: true });
      if (done(text)) return { text, ended: false };
    }
  } finally {
    clearTimeout(cut);
    controller.abort();
  }
}

const blocks = (text: string) => text.split('\n\n').filter((b) => b.trim() !== '');

it('gives every feed event an id and retry:, and resumes after Last-Event-ID with the events after it', async () => {
  const token = await api.token(auditor);
  const head = (await api.call('GET', '/api/feed?limit=1000', { as: auditor })).body.next as number;
  const first = await fileSampleCase(api);
  const second = await fileSampleCase(api);

  const live = await readStream(`/api/feed/stream?after=${head}`, token, {}, (t) =>
    t.includes(`id: ${second.position}\n`),
  );
  const events = blocks(live.text).filter((b) => !b.startsWith(':'));
  expect(events.length).toBeGreaterThanOrEqual(2);
  for (const event of events) {
    expect(event).toMatch(/^id: \d+$/m);
    expect(event).toMatch(/^retry: 5000$/m);
  }

  // A client that saw the first filing's events reconnects: the stream starts after them.
  const resumed = await readStream(
    `/api/feed/stream?after=${head}`,
    token,
    { 'last-event-id': String(first.position) },
    (t) => t.includes(`id: ${second.position}\n`),
  );
  const ids = blocks(resumed.text)
    .map((b) => /^id: (\d+)$/m.exec(b)?.[1])
    .filter((id): id is string => id !== undefined)
    .map(Number);
  expect(ids.length).toBeGreaterThan(0);
  expect(ids.every((id) => id > first.position)).toBe(true);
  expect(ids).toContain(second.position);
});

it("ends the compliance stream when the caller's token expires, with a last token-expired event", async () => {
  const config = api.app.infra.config.auth;
  const token = await mintToken(
    api.app.infra.identity.signing!.secret,
    { sub: 'auditor-expiring', name: 'A', roles: ['auditor'] as never, unit: 'audit' },
    '2s',
    config,
  );
  const { text, ended } = await readStream('/api/compliance/stream', token, {}, () => false);
  expect(ended).toBe(true);
  const last = blocks(text).at(-1)!;
  expect(last).toMatch(/^event: token-expired$/m);
  expect(last).toMatch(/^data: .*sign in again/m);
  // The first event came with its id and retry: before the end.
  expect(blocks(text)[0]!.trim()).toMatch(/^event: projected\nid: \d+\nretry: 5000\n/);
}, 20_000);

it('resumes the compliance stream after Last-Event-ID: a client that has seen the current position waits for a newer one', async () => {
  const token = await api.token(auditor);
  const first = await readStream('/api/compliance/stream', token, {}, (t) => /\n\n/.test(t));
  const seen = Number(/^id: (\d+)$/m.exec(first.text)![1]);
  const filed = await fileSampleCase(api);
  const resumed = await readStream('/api/compliance/stream', token, { 'last-event-id': String(seen) }, (t) =>
    /^id: \d+$/m.test(t),
  );
  const next = Number(/^id: (\d+)$/m.exec(resumed.text)![1]);
  expect(next).toBeGreaterThan(seen);
  expect(next).toBeGreaterThanOrEqual(filed.position);
});

// Found by attacking the running server (each a fault that once held): a slot kept for good, a resume id that replayed
// the whole feed, a Last-Event-ID that was no position taken as none, and a stream left a page behind.

it('a client that leaves before its stream starts gives its slot back, on both stream routes', async () => {
  const slots = api.app.app.get<{ openStreams: number }>(STREAM_SLOTS);
  const token = await api.token({ sub: 'auditor-leaving', roles: ['auditor'], unit: 'audit' });
  const { port } = new URL(api.url);
  for (const path of ['/api/compliance/stream', '/api/feed/stream'])
    for (const delay of [0, 0, 1, 1, 2, 2, 3, 3, 5, 5, 8, 8, 12, 12, 20, 20])
      await new Promise<void>((resolve) => {
        const socket = connect(Number(port), '127.0.0.1', () => {
          socket.write(
            `GET ${path} HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${token}\r\nAccept: text/event-stream\r\n\r\n`,
          );
          setTimeout(() => socket.destroy(), delay);
        });
        socket.on('error', () => undefined);
        socket.on('close', () => resolve());
      });
  const deadline = Date.now() + 5_000;
  while (slots.openStreams > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
  expect(slots.openStreams).toBe(0);
}, 30_000);

it("the feed's token-expired event carries the position to resume after, not a number of Nest's", async () => {
  const config = api.app.infra.config.auth;
  const filed = await fileSampleCase(api);
  const token = await mintToken(
    api.app.infra.identity.signing!.secret,
    { sub: 'auditor-expiring-feed', name: 'A', roles: ['auditor'] as never, unit: 'audit' },
    '2s',
    config,
  );
  const { text, ended } = await readStream(`/api/feed/stream?after=${filed.position - 1}`, token, {}, () => false);
  expect(ended).toBe(true);
  const last = blocks(text).at(-1)!;
  expect(last).toMatch(/^event: token-expired$/m);
  expect(Number(/^id: (\d+)$/m.exec(last)?.[1])).toBeGreaterThanOrEqual(filed.position);
}, 20_000);

it.each(['-1', 'abc', '50.5', '0x10', '1e3', '99999999999999999999'])(
  '400 naming header.Last-Event-ID for %s on both stream routes, and no stream',
  async (id) => {
    for (const path of ['/api/compliance/stream', '/api/feed/stream']) {
      const r = await api.call('GET', path, { as: auditor, headers: { 'last-event-id': id } });
      expect({ path, status: r.status, field: r.body.errors?.[0]?.field }).toEqual({
        path,
        status: 400,
        field: 'header.Last-Event-ID',
      });
    }
  },
);

it('a feed stream that starts more than a page behind is sent every event up to the head, with nothing appended since', async () => {
  const token = await api.token(auditor);
  const head = (await api.call('GET', '/api/feed?limit=1000', { as: auditor })).body.next as number;
  const filed = [];
  for (let i = 0; i < 4; i++) filed.push(await fileSampleCase(api));
  const last = filed.at(-1)!.position;
  const live = await readStream(`/api/feed/stream?after=${head}&limit=1`, token, {}, (t) =>
    t.includes(`id: ${last}\n`),
  );
  const ids = blocks(live.text)
    .map((b) => /^id: (\d+)$/m.exec(b)?.[1])
    .filter((id): id is string => id !== undefined)
    .map(Number);
  expect(ids).toEqual(expect.arrayContaining(filed.map((f) => f.position)));
}, 20_000);

// Found by the review: an append made while a stream was reading its pages woke the shared watch, which the busy stream
// dropped, and the event waited for the next append.
describe('an append while the feed stream reads', () => {
  // Its own server: no deadline scheduler, and the version pinned already, so the filing below is the log's last append
  // and nothing after it wakes the stream again.
  let quiet: ApiHarness;
  beforeAll(async () => {
    quiet = await startHarness({ DEADLINE_SCHEDULER: 'off' });
    await fileSampleCase(quiet, 76);
    await quiet.app.infra.catalogPins.settled();
  }, 30_000);
  afterAll(async () => quiet.close());

  it('an event appended while the feed stream reads its page is sent without waiting for another append', async () => {
    const api = quiet;
    const feed = api.app.app.get<{ page: (...args: unknown[]) => Promise<unknown> }>(FEED_QUERIES, { strict: false });
    const original = feed.page.bind(feed);
    let appended = null as { position: number } | null;
    feed.page = async (...args: unknown[]) => {
      const page = await original(...args);
      // Once, after the page has looked at the head: what a busy stream's dropped wake-up stood for.
      if (!appended) {
        appended = await fileSampleCase(api, 77);
        // Longer than the shared watch's look at the head: it sees the append while this stream is still busy.
        await new Promise((resolve) => setTimeout(resolve, 500));
      }
      return page;
    };
    try {
      const token = await api.token(auditor);
      const head = await api.app.infra.eventLog.headPosition();
      const controller = new AbortController();
      const cut = setTimeout(() => controller.abort(), 8_000);
      let text = '';
      try {
        const response = await fetch(`${api.url}/api/feed/stream?after=${head}`, {
          headers: { authorization: `Bearer ${token}` },
          signal: controller.signal,
        });
        const reader = response.body!.getReader();
        const decoder = new TextDecoder();
        while (!(appended && text.includes(`id: ${appended.position}\n`))) {
          const { value, done } = await reader.read();
          if (done) break;
          text += decoder.decode(value, { stream: true });
        }
      } catch {
        // Cut: what was read says what arrived.
      } finally {
        clearTimeout(cut);
        controller.abort();
      }
      expect(appended).not.toBeNull();
      expect(text).toContain(`id: ${appended!.position}\n`);
    } finally {
      feed.page = original;
    }
  }, 20_000);
});
