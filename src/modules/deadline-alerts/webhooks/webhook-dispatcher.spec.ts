/**
 * Webhook delivery against a real receiving HTTP server on loopback, with the real SQLite event log and read store.
 * Time for backoff is an injected clock: retries become due by moving it, never by sleeping (the receiver's timeout
 * case waits for the dispatcher's own short timeout, which is what is under test).
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createTcpServer, type AddressInfo, type Socket } from 'node:net';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Webhook } from 'standardwebhooks';
import { loadCalendars } from '../../calendar/domain/load-calendar';
import { loadCatalog } from '../../regulations/domain/catalog';
import { CaseWalk, makeIin } from '../../../../test/support/case-specification';
import { caseStreamId } from '../../cases/domain/case-event';
import { openSqliteEventLog } from '../../event-log/sqlite/sqlite-event-log';
import { openSqliteReadStore } from '../../read-store/sqlite/sqlite-read-store';
import type { EventLog, RecordedEvent } from '../../event-log/event-log.port';
import type { ReadStore } from '../../read-store/read-store.port';
import {
  DELIVERIES,
  REQUESTS,
  SUBSCRIPTIONS,
  postDelivery,
  WebhookDispatcher,
  webhookPayload,
  type Delivery,
  type WebhookSubscription,
} from './webhook-dispatcher';
import { checkTarget, deliveryLookup, INTERNAL_TARGET, isInternalAddress } from './target-policy';
import { TimerStore } from '../scheduler/timer-store';

const DATA = join(__dirname, '../../../../data');
const catalog = loadCatalog(join(DATA, 'regulations'));
const calendar = loadCalendars(join(DATA, 'calendars')).get('KZ')!;
const version = catalog.byId.get('personnel-reserve/order-184-2015')!;
const SECRET = `whsec_${Buffer.from('a receiver-and-sender shared secret!').toString('base64')}`;

interface Received {
  path: string;
  id: string;
  caseId: string;
  position: number;
  type: string;
}

/** The receiver: verifies every request with its own Webhook instance; misbehaves as each path says. */
class Receiver {
  readonly accepted: Received[] = [];
  readonly refusedSignatures: string[] = [];
  private readonly seen = new Map<string, number>();
  private server!: Server;
  private readonly hanging = new Set<ServerResponse>();
  url = '';
  alwaysFail = new Set<string>();

  async start(): Promise<void> {
    this.server = createServer((request, response) => void this.handle(request, response));
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  private async handle(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const chunk of request) chunks.push(chunk as Buffer);
    const body = Buffer.concat(chunks).toString('utf8');
    let payload: { type: string; data: { caseId: string; position: number } };
    try {
      payload = new Webhook(SECRET).verify(body, request.headers as Record<string, string>) as typeof payload;
    } catch (error) {
      this.refusedSignatures.push(String(error));
      response.writeHead(401).end();
      return;
    }
    const id = String(request.headers['webhook-id']);
    const path = request.url ?? '/';
    const attempt = (this.seen.get(`${path}|${id}`) ?? 0) + 1;
    this.seen.set(`${path}|${id}`, attempt);
    const n = payload.data.position;
    if (this.alwaysFail.has(path)) return void response.writeHead(503).end();
    // /flaky: every third event fails its first attempt, every fifth hangs on its first, every second answers slowly.
    if (path === '/flaky' && attempt === 1 && n % 3 === 0) return void response.writeHead(500).end();
    if (path === '/flaky' && attempt === 1 && n % 5 === 0) {
      this.hanging.add(response);
      return;
    }
    if (path === '/flaky' && n % 2 === 0) await new Promise((resolve) => setTimeout(resolve, 30));
    this.accepted.push({ path, id, caseId: payload.data.caseId, position: n, type: payload.type });
    response.writeHead(204).end();
  }

  async close(): Promise<void> {
    for (const r of this.hanging) r.destroy();
    this.server.closeAllConnections();
    await new Promise((resolve) => this.server.close(resolve));
  }
}

let dir: string;
let log: EventLog;
let store: ReadStore;
let receiver: Receiver;
let now: Date;

beforeEach(async () => {
  dir = mkdtempSync(join(tmpdir(), 'webhooks-'));
  log = openSqliteEventLog({ file: join(dir, 'events.db'), checkpointer: false });
  store = openSqliteReadStore({ file: join(dir, 'read.db') });
  receiver = new Receiver();
  await receiver.start();
  now = new Date('2026-01-05T10:00:00Z');
});

afterEach(async () => {
  await receiver.close();
  await store.close();
  await log.close();
  rmSync(dir, { recursive: true, force: true });
});

function dispatcher(
  settings: Partial<{ allowPrivate: boolean; timeoutMs: number; maxAttempts: number; backoffMs: number }> = {},
  wallClock?: () => Date,
): WebhookDispatcher {
  return new WebhookDispatcher({
    log,
    store,
    clock: () => now,
    wallClock,
    // Long enough that an answering receiver is never taken for a hanging one on a loaded machine (a redelivery once
    // failed so under CI at 300 ms); the test of a hanging receiver sets its own, short, timeout.
    settings: { allowPrivate: true, timeoutMs: 10_000, maxAttempts: 8, backoffMs: 1_000, ...settings },
  });
}

async function subscribe(id: string, path: string, extra: Partial<WebhookSubscription> = {}): Promise<void> {
  const doc: WebhookSubscription = {
    _id: id,
    url: `${receiver.url}${path}`,
    eventTypes: null,
    units: null,
    secret: SECRET,
    active: true,
    createdAt: now.toISOString(),
    createdBy: 'admin',
    ...extra,
  };
  await store.write({ ops: [{ op: 'upsert', collection: SUBSCRIPTIONS, doc }] });
}

/** A case of the track walked through its first acts, appended to the log; `copy` tells apart cases of one track. */
async function walkCase(trackId: string, unit: string, steps: string[], copy?: string): Promise<string> {
  const walk = new CaseWalk(catalog, calendar.timeZone, version, trackId, {
    unit,
    iin: makeIin('880101', 3, 200),
    start: new Date('2016-03-01T10:00:00+06:00'),
  });
  walk.submit(undefined, { channel: 'portal' });
  for (const step of steps) walk.take(step);
  const caseId = copy ? `${walk.state.caseId}-${copy}` : walk.state.caseId;
  await log.append(
    caseStreamId(caseId),
    walk.events.map((e) => ({
      type: e.type,
      data: e.data,
      metadata: { ...(e.metadata as unknown as Record<string, unknown>), caseId },
    })),
    'no_stream',
  );
  return caseId;
}

/** Waits until the condition holds; a generous bound turns a hang into a failure that says what it waited for. */
async function until(what: string, condition: () => boolean | Promise<boolean>, boundMs = 30_000): Promise<void> {
  const started = Date.now();
  while (!(await condition())) {
    if (Date.now() - started > boundMs) throw new Error(`not within ${boundMs} ms: ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/** A receiver that accepts connections and never answers. */
async function blackHole(): Promise<{ url: string; accepted: () => number; closed: () => number; close(): void }> {
  const sockets = new Set<Socket>();
  let closed = 0;
  const server = createTcpServer((socket) => {
    sockets.add(socket);
    socket.on('error', () => {});
    socket.on('close', () => closed++);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/hole`,
    accepted: () => sockets.size,
    closed: () => closed,
    close() {
      server.close();
      for (const socket of sockets) socket.destroy();
    },
  };
}

async function deliveries(): Promise<Delivery[]> {
  return store.collection<Delivery>(DELIVERIES).find({}, { sort: { position: 1 } });
}

/** Ticks, moving the clock past each backoff, until nothing is pending (bounded: a stuck delivery fails the test). */
async function drain(d: WebhookDispatcher): Promise<void> {
  for (let round = 0; round < 40; round++) {
    await d.tick();
    if ((await d.stats()).pending === 0) return;
    now = new Date(now.getTime() + 3_600_000);
  }
  throw new Error('deliveries still pending after 40 rounds');
}

const steps = ['documents-registered', 'assigned-to-employee', 'documents-reviewed'];

describe('webhook delivery', () => {
  it('every event is delivered at least once, in order per case, through failures, a hanging receiver and slow answers, each signature verified by the receiver', async () => {
    const a = await walkCase('competition-recommended', 'astana', steps);
    const b = await walkCase('priority-graduates', 'astana', steps);
    await subscribe('s1', '/flaky');
    // The hanging receiver is given up on after this; the others answer within it even on a loaded machine.
    const d = dispatcher({ timeoutMs: 1_000 });
    await drain(d);
    expect(receiver.refusedSignatures).toEqual([]);
    const events = await log.readAll();
    const delivered = new Set(receiver.accepted.map((r) => r.id));
    expect(events.every((e) => delivered.has(e.id))).toBe(true);
    for (const caseId of [a, b]) {
      const positions = receiver.accepted.filter((r) => r.caseId === caseId).map((r) => r.position);
      expect(positions).toEqual([...positions].sort((x, y) => x - y));
      expect(positions).toHaveLength(4);
    }
    const stored = await deliveries();
    expect(stored.every((s) => s.status === 'delivered')).toBe(true);
    // Positions 3 and 6 failed once (500), position 5 hung once (the dispatcher gave up after its timeout).
    expect(stored.filter((s) => s.attempts > 1).map((s) => s.position)).toEqual([3, 5, 6]);
    expect(await d.stats()).toMatchObject({ pending: 0, delivered: 8, dead: 0, lagSeconds: 0 });
  });

  it('a send that straddles a second of the wall clock still carries the signed second in its header (it once did not, and the receiver refused it)', async () => {
    await walkCase('competition-recommended', 'astana', []);
    await subscribe('s1', '/plain');
    // Each reading of the wall clock is a millisecond later, starting at a second's last millisecond: any second reading
    // lands in the next second. It runs a minute behind the real clock (well within the receiver's tolerance), so a
    // header read from the real clock instead would not match the signed second either.
    let wall = Math.floor(Date.now() / 1000) * 1000 - 60_000 + 999;
    const d = dispatcher({}, () => new Date(wall++));
    await drain(d);
    expect(receiver.refusedSignatures).toEqual([]);
    expect(receiver.accepted).toHaveLength(1);
  });

  it('retries back off exponentially (up to a quarter more, at random) and dead-letter after the last attempt; a manual redelivery sends it again', async () => {
    const caseId = await walkCase('competition-recommended', 'astana', []);
    await subscribe('s1', '/down');
    receiver.alwaysFail.add('/down');
    const d = dispatcher({ maxAttempts: 3, backoffMs: 1_000 });
    await d.tick();
    let [delivery] = await deliveries();
    expect(delivery).toMatchObject({
      status: 'pending',
      attempts: 1,
      lastStatus: 503,
      lastError: 'the receiver answered 503',
    });
    expect(delivery!.nextAttemptAt - now.getTime()).toBeGreaterThanOrEqual(1_000);
    expect(delivery!.nextAttemptAt - now.getTime()).toBeLessThanOrEqual(1_250);
    now = new Date(delivery!.nextAttemptAt - 1);
    expect((await d.tick()).tried).toBe(0);
    now = new Date(delivery!.nextAttemptAt);
    await d.tick();
    [delivery] = await deliveries();
    expect(delivery).toMatchObject({ status: 'pending', attempts: 2 });
    expect(delivery!.nextAttemptAt - now.getTime()).toBeGreaterThanOrEqual(2_000);
    expect(delivery!.nextAttemptAt - now.getTime()).toBeLessThanOrEqual(2_500);
    now = new Date(delivery!.nextAttemptAt);
    await d.tick();
    [delivery] = await deliveries();
    expect(delivery).toMatchObject({ status: 'dead', attempts: 3 });
    expect(await d.stats()).toMatchObject({ pending: 0, dead: 1 });

    receiver.alwaysFail.clear();
    await store.write({
      ops: [{ op: 'upsert', collection: REQUESTS, doc: { _id: 'r1', kind: 'redeliver', deliveryId: delivery!._id } }],
    });
    await d.tick();
    [delivery] = await deliveries();
    // lastError too: were the attempt to fail again, the failure says why.
    expect(delivery).toMatchObject({ status: 'delivered', attempts: 1, lastError: null });
    expect(receiver.accepted.map((r) => r.caseId)).toEqual([caseId]);
  });

  it("a dead letter does not hold back the case's later events", async () => {
    await walkCase('competition-recommended', 'astana', ['documents-registered']);
    await subscribe('s1', '/down');
    receiver.alwaysFail.add('/down');
    const d = dispatcher({ maxAttempts: 1 });
    await d.tick();
    expect((await deliveries()).map((x) => x.status)).toEqual(['dead', 'dead']);
  });

  it('a replay from a position delivers those events again with the same webhook-id, so a receiver can de-duplicate', async () => {
    await walkCase('competition-recommended', 'astana', steps);
    await subscribe('s1', '/ok');
    const d = dispatcher();
    await drain(d);
    const second = (await log.readAll())[1]!.position;
    await store.write({
      ops: [
        { op: 'upsert', collection: REQUESTS, doc: { _id: 'r1', kind: 'replay', subscriptionId: 's1', after: second } },
      ],
    });
    await drain(d);
    const ids = receiver.accepted.map((r) => r.id);
    expect(ids).toHaveLength(6);
    expect(ids.slice(4)).toEqual(ids.slice(2, 4));
  });

  it('a subscription gets only its event types and its units', async () => {
    await walkCase('competition-recommended', 'astana', steps);
    await walkCase('priority-graduates', 'almaty', steps);
    await subscribe('astana-filings', '/ok', {
      units: ['astana'],
      eventTypes: ['ApplicationSubmitted', 'DocumentRegistered'],
    });
    await drain(dispatcher());
    expect(receiver.accepted.map((r) => r.type)).toEqual(['ApplicationSubmitted', 'DocumentRegistered']);
  });

  it('two dispatchers sharing a lease: one sends, each event once; the other takes over when the lease lapses', async () => {
    await walkCase('competition-recommended', 'astana', steps);
    await subscribe('s1', '/ok');
    const leases = new TimerStore(dir);
    try {
      const lease = (holder: string) => () => leases.acquire('webhook-dispatcher', holder, now.getTime(), 30_000).held;
      const a = new WebhookDispatcher({
        log,
        store,
        clock: () => now,
        settings: { allowPrivate: true },
        lease: lease('a'),
      });
      const b = new WebhookDispatcher({
        log,
        store,
        clock: () => now,
        settings: { allowPrivate: true },
        lease: lease('b'),
      });
      await a.tick();
      expect(await b.tick()).toEqual({ made: 0, tried: 0 });
      expect(receiver.accepted.map((r) => r.id)).toEqual((await log.readAll()).map((e) => e.id));
      await walkCase('priority-graduates', 'astana', []);
      now = new Date(now.getTime() + 30_001);
      expect((await b.tick()).tried).toBe(1);
      expect(new Set(receiver.accepted.map((r) => r.id)).size).toBe(receiver.accepted.length);
    } finally {
      leases.close();
    }
  });

  it('a loopback target is refused unless the setting allows it, and nothing is sent there', async () => {
    await walkCase('competition-recommended', 'astana', []);
    await subscribe('s1', '/ok');
    const d = dispatcher({ allowPrivate: false, maxAttempts: 1 });
    await d.tick();
    const [delivery] = await deliveries();
    expect(delivery).toMatchObject({
      status: 'dead',
      lastError: expect.stringMatching(/^target refused: the host 127\.0\.0\.1 is 127\.0\.0\.1, an internal address/),
    });
    expect(receiver.accepted).toEqual([]);
  });
});

describe('receivers outside our control', () => {
  it("a receiver that never answers delays only its own subscription: another's deliveries, old and new, are sent and stored while its sends hang", async () => {
    const hole = await blackHole();
    const almaty: string[] = [];
    for (let n = 0; n < 40; n++) almaty.push(await walkCase('competition-recommended', 'almaty', [], `almaty-${n}`));
    await subscribe('hole', '', { url: hole.url, units: ['almaty'] });
    await subscribe('ok', '/ok', { units: ['astana'] });
    const first = await walkCase('competition-recommended', 'astana', [], 'astana-1');
    // The hanging sends are given up on long after this test has ended.
    const d = new WebhookDispatcher({
      log,
      store,
      clock: () => now,
      pollMs: 50,
      settings: { allowPrivate: true, timeoutMs: 600_000 },
    });
    d.start();
    try {
      await until('the healthy receiver got its event, the black hole its connections', () => {
        return receiver.accepted.length === 1 && hole.accepted() > 0;
      });
      // Made while the black hole's sends hang: the outbox goes on between sends.
      const second = await walkCase('competition-recommended', 'astana', steps, 'astana-2');
      await until("the healthy receiver got the new case's four events", () => receiver.accepted.length === 5);
      expect(receiver.accepted.map((r) => r.caseId)).toEqual([first, second, second, second, second]);
      const positions = receiver.accepted.slice(1).map((r) => r.position);
      expect(positions).toEqual([...positions].sort((a, b) => a - b));
      // None of the black hole's sends has ended, and the healthy one's results are stored already (a crash now would
      // not send them again).
      // The last answer's result is stored right after it arrives: a loaded machine may take a moment.
      const okStatuses = async () => (await deliveries()).filter((x) => x.subscriptionId === 'ok').map((x) => x.status);
      await until("the healthy receiver's five results are stored", async () =>
        (await okStatuses()).every((status) => status === 'delivered'),
      );
      expect(hole.closed()).toBe(0);
      const stored = await deliveries();
      expect(stored.filter((x) => x.subscriptionId === 'ok').map((x) => x.status)).toEqual(Array(5).fill('delivered'));
      expect(stored.filter((x) => x.subscriptionId === 'hole')).toHaveLength(almaty.length);
      expect(stored.filter((x) => x.subscriptionId === 'hole' && x.attempts > 0)).toEqual([]);
      // An admin's request is carried out meanwhile too.
      const redelivered = stored.find((x) => x.subscriptionId === 'ok')!;
      await store.write({
        ops: [
          { op: 'upsert', collection: REQUESTS, doc: { _id: 'r1', kind: 'redeliver', deliveryId: redelivered._id } },
        ],
      });
      await until('the redelivery was sent', () => receiver.accepted.length === 6);
      expect(receiver.accepted[5]!.id).toBe(redelivered.eventId);
      expect(hole.closed()).toBe(0);
    } finally {
      const stopped = d.stop();
      hole.close();
      await stopped;
    }
  }, 60_000);

  it("a subscription with more than 10,000 deliveries waiting does not hide another's", async () => {
    await subscribe('backlog', '/down', { eventTypes: ['NoSuchEvent'] });
    receiver.alwaysFail.add('/down');
    const waiting = Array.from({ length: 10_001 }, (_, n): Delivery => ({
      _id: `backlog:e${n}`,
      subscriptionId: 'backlog',
      eventId: `e${n}`,
      streamId: `case-backlog-${n}`,
      revision: 0,
      position: 0,
      caseId: `backlog-${n}`,
      type: 'ApplicationSubmitted',
      orderKey: `backlog:backlog-${n}`,
      status: 'pending',
      attempts: 3,
      nextAttemptAt: now.getTime() + 3_600_000,
      createdAt: now.toISOString(),
    }));
    await store.write({ ops: waiting.map((doc) => ({ op: 'upsert' as const, collection: DELIVERIES, doc })) });
    const caseId = await walkCase('competition-recommended', 'astana', []);
    await subscribe('ok', '/ok');
    expect((await dispatcher().tick()).tried).toBe(1);
    expect(receiver.accepted.map((r) => r.caseId)).toEqual([caseId]);
  });

  it('deliveries a receiver failed together are retried at different instants', async () => {
    for (let n = 0; n < 20; n++) await walkCase('competition-recommended', 'astana', [], `c${n}`);
    await subscribe('s1', '/down');
    receiver.alwaysFail.add('/down');
    await dispatcher({ backoffMs: 1_000 }).tick();
    const retries = (await deliveries()).map((x) => x.nextAttemptAt - now.getTime());
    expect(retries).toHaveLength(20);
    expect(Math.min(...retries)).toBeGreaterThanOrEqual(1_000);
    expect(Math.max(...retries)).toBeLessThanOrEqual(1_250);
    expect(new Set(retries).size).toBeGreaterThan(1);
  });

  it('a 2xx whose body trickles or never ends is delivered once, with its status, and its connection is closed', async () => {
    const hits = new Map<string, number>();
    const closed = new Set<string>();
    const server = createServer((request, response) => {
      const path = request.url ?? '/';
      hits.set(path, (hits.get(path) ?? 0) + 1);
      request.resume();
      request.on('end', () => {
        response.on('error', () => {});
        response.on('close', () => closed.add(path));
        response.writeHead(200);
        if (path === '/trickle') {
          const trickle = setInterval(() => response.write('x'), 100);
          response.on('close', () => clearInterval(trickle));
        } else {
          const chunk = Buffer.alloc(64 * 1024);
          const more = () => {
            while (!response.destroyed && response.write(chunk));
          };
          response.on('drain', more);
          more();
        }
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    try {
      await walkCase('competition-recommended', 'astana', []);
      await subscribe('trickle', '', { url: `${url}/trickle` });
      await subscribe('endless', '', { url: `${url}/endless` });
      await dispatcher({ timeoutMs: 5_000, maxAttempts: 3 }).tick();
      const stored = await deliveries();
      expect(stored).toHaveLength(2);
      for (const delivery of stored)
        expect(delivery).toMatchObject({ status: 'delivered', attempts: 1, lastStatus: 200, lastError: null });
      expect(Object.fromEntries(hits)).toEqual({ '/trickle': 1, '/endless': 1 });
      // The endless body is cut off after a few kilobytes, the trickle at the send's timeout.
      await until('both answers closed by the dispatcher', () => closed.size === 2);
    } finally {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    }
  }, 60_000);
});

describe('webhook targets', () => {
  it.each([
    '127.0.0.1',
    '10.1.2.3',
    '172.20.0.1',
    '192.168.1.1',
    '169.254.169.254',
    '100.64.0.1',
    '0.0.0.0',
    '::1',
    '::',
    'fd00::1',
    'fe80::1',
    '::ffff:127.0.0.1',
    // IPv6 forms that carry an IPv4 address, which a blocklist let through (a review's finding): IPv4-compatible,
    // NAT64, 6to4, SIIT, Teredo; and documentation ranges, which no receiver has.
    '::127.0.0.1',
    '64:ff9b::7f00:1',
    '2002:7f00:1::',
    '::ffff:0:127.0.0.1',
    '2001::1',
    '2001:db8::1',
    '198.51.100.7',
  ])('%s is internal', (address) => {
    expect(isInternalAddress(address)).toBe(true);
  });

  it.each(['93.184.216.34', '2001:4860:4860::8888', '8.8.8.8', '::ffff:8.8.8.8'])('%s is not', (address) => {
    expect(isInternalAddress(address)).toBe(false);
  });

  // As a URL writes them: `[::127.0.0.1]` becomes `[::7f00:1]`, which ipaddr.js calls unicast (a re-test's finding).
  it.each([
    'http://[::127.0.0.1]/h',
    'http://[::7f00:1]/h',
    'http://[::169.254.169.254]/h',
    'http://[::ffff:0:0:7f00:1]/h',
    'http://[64:ff9b::7f00:1]/h',
  ])('refuses %s as internal', async (url) => {
    expect(await checkTarget(url, false)).toMatchObject({ problem: expect.stringMatching(/internal address/) });
  });

  it("the delivery's own connection refuses a name that resolves inside, whatever a check before it found (DNS rebinding)", async () => {
    const url = receiver.url.replace('127.0.0.1', 'localhost');
    const body = JSON.stringify({ ping: true });
    await expect(postDelivery(`${url}/ok`, {}, body, deliveryLookup(false), 5000)).rejects.toMatchObject({
      code: INTERNAL_TARGET,
      message: expect.stringMatching(/^the host localhost is .+, an internal address$/),
    });
    // The same request with private targets allowed reaches the receiver (which refuses its missing signature).
    expect(await postDelivery(`${url}/ok`, {}, body, deliveryLookup(true), 5000)).toBe(401);
  });

  it('refuses other schemes, credentials in the URL, and names that resolve to loopback', async () => {
    expect(await checkTarget('ftp://example.com/x', false)).toMatchObject({
      problem: 'the scheme ftp: is not delivered to',
    });
    expect(await checkTarget('https://u:p@example.com/', false)).toMatchObject({
      problem: expect.stringMatching(/credentials/),
    });
    expect(await checkTarget('http://localhost:9/', false)).toMatchObject({
      problem: expect.stringMatching(/internal address/),
    });
    expect(await checkTarget('http://[::1]:9/', false)).toMatchObject({
      problem: expect.stringMatching(/internal address/),
    });
    expect(await checkTarget('http://127.0.0.1:9/', true)).toBeNull();
  });
});

it("a webhook of an act the applicant recorded as their token named them (before the case's applicant was recorded as such) withholds the actor; an act on a citizen's behalf or by staff is sent as stored", () => {
  const event = (actor: Record<string, unknown>): RecordedEvent => ({
    id: 'e1',
    streamId: 'case-c1',
    type: 'ApplicationCancelled',
    revision: 1,
    position: 7,
    recordedAt: new Date('2026-01-01T00:00:00Z'),
    data: { reason: { $enc: 1, kid: 'k', iv: 'i', ct: 'c', tag: 't' } },
    metadata: { actor, caseId: 'c1' },
  });
  const clear = webhookPayload(event({ id: 'egov-880101300123', name: 'Сәрсенова Әлия', role: 'applicant' }), 'c1');
  expect(clear.data.metadata.actor).toEqual({ id: 'withheld', name: 'withheld', role: 'applicant' });
  expect(JSON.stringify(clear)).not.toContain('880101300123');
  for (const actor of [
    { id: 'applicant', name: 'Applicant', role: 'applicant' },
    { id: 'psc-1', name: 'Оператор', role: 'applicant', onBehalfOf: 'applicant' },
    { id: 'clerk-1', name: 'Клерк', role: 'registry-clerk', unit: 'hq' },
  ])
    expect(webhookPayload(event(actor), 'c1').data.metadata.actor).toEqual(actor);
});
