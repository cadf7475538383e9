/**
 * Deadline alerts, each figure beside a baseline of the same run:
 * - the scheduler's next-instant lookup p99 in an index of BENCH_EVENTS cases (default 1,000,000) vs in one of 1,000
 *   (a B-tree: O(log n), so the two stay close);
 * - firing, events/s: BENCH_TIMER_CASES cases (default 2,000) whose every instant is due, recorded through the
 *   scheduler (fold, instants, seal, append with expected revision) vs appending the same number of events directly;
 * - webhook delivery, deliveries/s to a loopback receiver, vs POSTing the same bodies to it directly, same concurrency;
 * - filings over HTTP per second with the scheduler and the dispatcher on (a subscription to a loopback receiver) vs
 *   both off, BENCH_OUTBOX_COMMANDS filings each (default 3,000), 16 clients.
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { BenchResult, BenchSuite } from '../../bench/bench-kit';
import { percentile } from '../../bench/bench-kit';
import { SHIPPED_DATA_DIR } from '../../shared/config/config';
import { loadReferenceData } from '../../app/reference-data';
import { openSqliteEventLog } from '../event-log/sqlite/sqlite-event-log';
import { openSqliteReadStore } from '../read-store/sqlite/sqlite-read-store';
import { decide } from '../cases/domain/decide';
import { sealEvents } from '../cases/domain/hash-chain';
import { startApi } from '../../app/bootstrap';
import { loadConfig } from '../../shared/config/config';
import { createLogger } from '../../shared/logging/logger';
import { mintToken } from '../identity/token-verifier';
import { iinCheckDigit } from '../identity/domain/iin';
import { DeadlineScheduler } from './scheduler/deadline-scheduler';
import { TimerStore } from './scheduler/timer-store';
import { SUBSCRIPTIONS, WebhookDispatcher, type WebhookSubscription } from './webhooks/webhook-dispatcher';

const SECRET = `whsec_${Buffer.from('bench secret bench secret bench!').toString('base64')}`;

export const deadlineAlertsBench: BenchSuite = {
  name: 'deadline-alerts',
  async run(ctx) {
    const results: BenchResult[] = [];
    const reference = loadReferenceData({
      regulationsDir: join(SHIPPED_DATA_DIR, 'regulations'),
      calendarsDir: join(SHIPPED_DATA_DIR, 'calendars'),
    });

    // 1. Next-instant lookup at scale vs a small index.
    const lookupP99 = (dir: string, n: number): number => {
      mkdirSync(dir, { recursive: true });
      const store = new TimerStore(dir);
      const progress = ctx.progress(`timer index ${n.toLocaleString('en-US')}`, n);
      const base = Date.parse('2026-01-01T00:00:00Z');
      for (let i = 0; i < n; i += 10_000) {
        const batch = [];
        for (let j = i; j < Math.min(n, i + 10_000); j++)
          batch.push({ caseId: `c${j}`, nextAt: base + ((j * 7919) % n) * 1000, asOf: j });
        store.update(batch);
        progress.tick(batch.length);
      }
      progress.done();
      const samples: number[] = [];
      for (let i = 0; i < ctx.samples; i++) {
        const started = process.hrtime.bigint();
        store.earliest();
        store.due(base + i, 1);
        samples.push(Number(process.hrtime.bigint() - started) / 1e6);
      }
      store.close();
      return percentile(
        samples.sort((a, b) => a - b),
        99,
      );
    };
    const small = lookupP99(join(ctx.workDir, 'index-small'), 1_000);
    const large = lookupP99(join(ctx.workDir, 'index-large'), ctx.events);
    results.push({
      name: `next-instant lookup p99, ${ctx.events.toLocaleString('en-US')} open cases`,
      value: large,
      unit: 'ms',
      better: 'lower',
      baseline: { name: '1,000 open cases', value: small },
      target: { op: '<=', value: small * 3, text: '≤ 3× the 1,000-case index (O(log n))' },
    });

    // 2. Firing rate through the scheduler vs plain appends.
    const cases = Number(process.env.BENCH_TIMER_CASES ?? 2_000);
    const log = openSqliteEventLog({ file: join(ctx.workDir, 'events.db') });
    const version = reference.catalog.byId.get('personnel-reserve/order-184-2015')!;
    // One filing decided and sealed by the domain, recorded as many cases (the scheduler reads each stream on its own).
    const filedAt = new Date('2016-03-06T11:00:00+06:00');
    const iin = '880101300010';
    const decision = decide(
      null,
      {
        kind: 'submit',
        caseId: 'bench',
        receiptNumber: 'RG-bench',
        serviceId: version.serviceId,
        trackId: 'competition-recommended',
        channel: 'portal',
        unit: 'astana',
        applicant: { iin, fullName: 'Applicant' },
        occurredAt: filedAt,
      },
      {
        catalog: reference.catalog,
        zone: reference.calendar.timeZone,
        calendar: reference.calendar,
        now: filedAt,
        principal: { id: `applicant-${iin}`, name: 'Applicant', roles: ['applicant'], iin },
      },
    );
    if (!decision.ok) throw new Error(`bench filing refused: ${JSON.stringify(decision.rejection)}`);
    const sealed = sealEvents(decision.events, {
      caseId: 'bench',
      versionId: version.versionId,
      previous: null,
      now: filedAt,
      backDatedAfterMs: 86_400_000,
      correlationId: 'bench',
      causationId: 'bench',
    });
    const submitted = sealed.map((e) => ({
      type: e.type,
      data: e.data,
      metadata: e.metadata as unknown as Record<string, unknown>,
    }));
    for (let i = 0; i < cases; i += 500)
      await Promise.all(
        Array.from({ length: Math.min(500, cases - i) }, (_, k) =>
          log.append(`case-bench-${i + k}`, submitted, 'no_stream'),
        ),
      );
    mkdirSync(join(ctx.workDir, 'fire'), { recursive: true });
    const timers = new TimerStore(join(ctx.workDir, 'fire'));
    let now = new Date('2016-03-06T12:00:00+06:00');
    const scheduler = new DeadlineScheduler({
      log,
      catalog: reference.catalog,
      calendar: reference.calendar,
      store: timers,
      clock: () => now,
    });
    await scheduler.sync();
    now = new Date('2016-04-01T00:00:00+06:00');
    let started = process.hrtime.bigint();
    const fired = await scheduler.fireDue();
    const fireSeconds = Number(process.hrtime.bigint() - started) / 1e9;
    const perCase = Math.max(1, Math.round(fired / cases));
    const plain = Array.from({ length: perCase }, (_, i) => ({ type: 'BenchEvent', data: { i }, metadata: {} }));
    started = process.hrtime.bigint();
    for (let i = 0; i < cases; i += 16)
      await Promise.all(
        Array.from({ length: Math.min(16, cases - i) }, (_, k) =>
          log.append(`plain-bench-${i + k}`, plain, 'no_stream'),
        ),
      );
    const plainSeconds = Number(process.hrtime.bigint() - started) / 1e9;
    timers.close();
    results.push({
      name: `deadline instants recorded (${fired.toLocaleString('en-US')} over ${cases.toLocaleString('en-US')} cases)`,
      value: fired / fireSeconds,
      unit: 'events/s',
      better: 'higher',
      baseline: { name: 'the same events appended directly', value: (perCase * cases) / plainSeconds },
      target: { op: '>=', value: 5_000, text: '≥ 5,000 events/s' },
    });

    // 3. Webhook delivery to a loopback receiver vs direct POSTs.
    const server = createServer((request, response) => {
      request.resume();
      request.on('end', () => response.writeHead(204).end());
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/in`;
    const store = openSqliteReadStore({ file: join(ctx.workDir, 'read.db') });
    try {
      const subscription: WebhookSubscription = {
        _id: 'bench',
        url,
        eventTypes: ['ApplicationSubmitted'],
        units: null,
        secret: SECRET,
        active: true,
        createdAt: now.toISOString(),
        createdBy: 'bench',
      };
      await store.write({ ops: [{ op: 'upsert', collection: SUBSCRIPTIONS, doc: subscription }] });
      const dispatcher = new WebhookDispatcher({ log, store, settings: { allowPrivate: true }, clock: () => now });
      await dispatcher.outbox();
      started = process.hrtime.bigint();
      const { tried } = await dispatcher.tick();
      const deliverSeconds = Number(process.hrtime.bigint() - started) / 1e9;
      const body = JSON.stringify({ type: 'ApplicationSubmitted', data: submitted[0] });
      started = process.hrtime.bigint();
      const queue = Array.from({ length: tried }, (_, i) => i);
      await Promise.all(
        Array.from({ length: 16 }, async () => {
          while (queue.shift() !== undefined)
            await (
              await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body })
            ).arrayBuffer();
        }),
      );
      const directSeconds = Number(process.hrtime.bigint() - started) / 1e9;
      results.push({
        name: `webhook deliveries (${tried.toLocaleString('en-US')}, signed, recorded)`,
        value: tried / deliverSeconds,
        unit: 'deliveries/s',
        better: 'higher',
        baseline: { name: 'unsigned POSTs, nothing recorded', value: tried / directSeconds },
        target: { op: '>=', value: 1_000, text: '≥ 1,000 deliveries/s' },
      });
    } finally {
      await store.close();
      await log.close();
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    }
    // 4. Command throughput with the outbox on vs off.
    const commands = Number(process.env.BENCH_OUTBOX_COMMANDS ?? 3_000);
    const off = await filingRate(join(ctx.workDir, 'api-off'), commands, false);
    const on = await filingRate(join(ctx.workDir, 'api-on'), commands, true);
    results.push({
      name: `filings over HTTP with the scheduler and webhooks on (${commands.toLocaleString('en-US')})`,
      value: on,
      unit: 'commands/s',
      better: 'higher',
      baseline: { name: 'both off', value: off },
      target: { op: '>=', value: off * 0.9, text: '≥ 0.9× both off' },
    });
    return results;
  },
};

/** Filings per second through a real API (projections inline), 16 clients, each applicant with their own token. */
async function filingRate(dataDir: string, count: number, outbox: boolean): Promise<number> {
  const receiver = createServer((request, response) => {
    request.resume();
    request.on('end', () => response.writeHead(204).end());
  });
  await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
  const env = {
    DATA_DIR: dataDir,
    PORT: '0',
    LOG_LEVEL: 'silent',
    DEADLINE_SCHEDULER: outbox ? 'on' : 'off',
    WEBHOOK_DISPATCHER: outbox ? 'on' : 'off',
    WEBHOOK_ALLOW_PRIVATE: 'on',
  };
  const api = await startApi(loadConfig(env), createLogger('silent'));
  try {
    const secret = api.infra.identity.signing!.secret;
    const auth = (token: string) => ({ authorization: `Bearer ${token}`, 'content-type': 'application/json' });
    if (outbox) {
      const admin = await mintToken(secret, { sub: 'bench-admin', name: 'admin', roles: ['admin'], unit: 'hq' }, '1h');
      const created = await fetch(`${api.url}/api/webhooks/subscriptions`, {
        method: 'POST',
        headers: auth(admin),
        body: JSON.stringify({ url: `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/in` }),
      });
      if (created.status !== 201) throw new Error(`subscription refused: ${created.status}`);
    }
    const filings: Array<{ token: string; body: string }> = [];
    for (let serial = 1; filings.length < count; serial++) {
      const first11 = `9005${String((serial % 28) + 1).padStart(2, '0')}4${String(serial).padStart(4, '0')}`;
      const check = iinCheckDigit(first11);
      if (check === null) continue;
      const iin = `${first11}${check}`;
      const token = await mintToken(
        secret,
        { sub: `bench-applicant-${serial}`, name: 'Applicant', roles: ['applicant'], iin },
        '1h',
      );
      filings.push({
        token,
        body: JSON.stringify({
          serviceId: 'personnel-reserve',
          trackId: 'competition-recommended',
          channel: 'portal',
          unit: 'astana',
          applicant: { iin, fullName: 'Applicant' },
          occurredAt: '2016-03-01T11:00:00+06:00',
        }),
      });
    }
    const queue = [...filings];
    const started = process.hrtime.bigint();
    await Promise.all(
      Array.from({ length: 16 }, async () => {
        for (let f = queue.shift(); f; f = queue.shift()) {
          const response = await fetch(`${api.url}/api/cases`, {
            method: 'POST',
            headers: auth(f.token),
            body: f.body,
          });
          await response.arrayBuffer();
          if (response.status !== 201) throw new Error(`filing answered ${response.status}`);
        }
      }),
    );
    return count / (Number(process.hrtime.bigint() - started) / 1e9);
  } finally {
    await api.close();
    receiver.closeAllConnections();
    await new Promise((resolve) => receiver.close(resolve));
  }
}
