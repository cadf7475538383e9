/**
 * The Server-Sent Events streams (GET /api/feed/stream, GET /api/compliance/stream) on the real server: every event
 * has an id and a retry: field, a client resumes with Last-Event-ID, and a stream ends when the caller's token
 * expires, with a last `token-expired` event. (The 15 s heartbeat and the one shared watch per process are proven on
 * the components in src/shared/http/live-stream.spec.ts.)
 */
import { mintToken } from '../../src/modules/identity/token-verifier';
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
