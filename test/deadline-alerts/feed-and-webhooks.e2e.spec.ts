/**
 * The pull feed and the webhook admin API over HTTP, against a real API on a fresh data directory; the end-to-end
 * delivery runs through the API's own projection process to a real receiving server on loopback.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Webhook } from 'standardwebhooks';
import { startHarness, makeIin, type ApiHarness } from '../support/api-harness';
import { callerFor } from '../support/case-walk';

let api: ApiHarness;
const astanaIin = makeIin('880101', 3, 601);
const almatyIin = makeIin('900502', 4, 17);
let astanaCase: string;
let almatyCase: string;
const admin = { sub: 'admin-1', roles: ['admin'], unit: 'hq' };
const auditor = callerFor('auditor', 'audit', astanaIin);

async function file(unit: string, iin: string): Promise<string> {
  const filed = await api.call('POST', '/api/cases', {
    as: callerFor('applicant', unit, iin),
    body: {
      serviceId: 'personnel-reserve',
      trackId: 'competition-recommended',
      channel: 'portal',
      unit,
      applicant: { iin, fullName: 'Жумабаева Дана' },
      occurredAt: '2016-03-01T11:00:00+06:00',
    },
  });
  expect(filed.status).toBe(201);
  return filed.body.caseId;
}

beforeAll(async () => {
  api = await startHarness();
  astanaCase = await file('astana', astanaIin);
  almatyCase = await file('almaty', almatyIin);
  const registered = await api.call('POST', `/api/cases/${astanaCase}/steps/documents-registered`, {
    as: callerFor('registry-clerk', 'astana', astanaIin),
    body: { occurredAt: '2016-03-01T15:00:00+06:00', data: { incomingNumber: '04-1' } },
  });
  expect(registered.status).toBe(201);
});

afterAll(async () => {
  await api.close();
});

type Item = { position: number; caseId: string; type: string; unit: string };

describe('GET /api/feed', () => {
  it('401 without a token', async () => {
    expect((await api.call('GET', '/api/feed')).status).toBe(401);
  });

  it('200: pages follow each other by `next` with nothing missed or repeated', async () => {
    const all = await api.call('GET', '/api/feed?limit=1000', { as: auditor });
    expect(all.status).toBe(200);
    expect(all.body.items.map((i: Item) => i.type)).toEqual([
      'ApplicationSubmitted',
      'ApplicationSubmitted',
      'DocumentRegistered',
    ]);
    const paged: Item[] = [];
    let after = 0;
    for (let page = 0; page < 10; page++) {
      const r = await api.call('GET', `/api/feed?after=${after}&limit=1`, { as: auditor });
      paged.push(...r.body.items);
      if (r.body.items.length === 0) break;
      after = r.body.next;
    }
    expect(paged).toEqual(all.body.items);
    expect(all.body.next).toBe(all.body.head);
  });

  it("200: staff read only their unit's cases, an applicant only their own; 403 for another unit", async () => {
    const clerk = callerFor('registry-clerk', 'almaty', almatyIin);
    const staff = await api.call('GET', '/api/feed', { as: clerk });
    expect(staff.body.items.map((i: Item) => i.caseId)).toEqual([almatyCase]);
    const own = await api.call('GET', '/api/feed', { as: callerFor('applicant', 'astana', astanaIin) });
    expect(new Set(own.body.items.map((i: Item) => i.caseId))).toEqual(new Set([astanaCase]));
    const other = await api.call('GET', '/api/feed?unit=astana', { as: clerk });
    expect(other.status).toBe(403);
  });

  it('200: filters by type and unit; 400 names a bad type and a bad limit', async () => {
    const typed = await api.call('GET', '/api/feed?types=DocumentRegistered', { as: auditor });
    expect(typed.body.items.map((i: Item) => i.caseId)).toEqual([astanaCase]);
    const unit = await api.call('GET', '/api/feed?unit=almaty', { as: auditor });
    expect(unit.body.items.map((i: Item) => i.unit)).toEqual(['almaty']);
    const bad = await api.call('GET', '/api/feed?types=Nope&limit=0', { as: auditor });
    expect(bad.status).toBe(400);
    expect(bad.body.errors.map((e: { field: string }) => e.field).sort()).toEqual(['query.limit', 'query.types']);
    for (const e of bad.body.errors as Array<{ allowed?: unknown }>) expect(e.allowed).toBeTruthy();
  });

  // A re-test's finding: a page after a position past the head answered 200, empty, with `next` that same position,
  // so a client with a mistyped position waited for ever; a Last-Event-ID past the safe integers was taken.
  it('400 naming query.after for a page after a position past the log’s head; 400 for a Last-Event-ID that is no position', async () => {
    const head = await api.app.infra.eventLog.headPosition();
    const r = await api.call('GET', `/api/feed?after=${head + 100_000}`, { as: auditor });
    expect(r.status).toBe(400);
    expect(r.body.errors).toEqual([
      expect.objectContaining({ field: 'query.after', problem: expect.stringContaining(`head (${head})`) }),
    ]);
    expect((await api.call('GET', `/api/feed?after=${head}`, { as: auditor })).status).toBe(200);
    const stream = await api.call('GET', '/api/feed/stream', {
      as: auditor,
      headers: { 'last-event-id': '99999999999999999999' },
    });
    expect(stream.status).toBe(400);
    expect(stream.body.errors[0].field).toBe('header.Last-Event-ID');
  });

  it('SSE: a new act arrives on the live feed, with its position as the event id', async () => {
    const head = (await api.call('GET', '/api/feed?limit=1000', { as: auditor })).body.next;
    const controller = new AbortController();
    const response = await fetch(`${api.url}/api/feed/stream?after=${head}`, {
      headers: { authorization: `Bearer ${await api.token(auditor)}` },
      signal: controller.signal,
    });
    expect(response.status).toBe(200);
    const assigned = await api.call('POST', `/api/cases/${astanaCase}/steps/assigned-to-employee`, {
      as: callerFor('head', 'astana', astanaIin),
      body: { occurredAt: '2016-03-01T16:00:00+06:00', data: { assigneeId: 'employee-7' } },
    });
    expect(assigned.status).toBe(201);
    const reader = response.body!.getReader();
    let text = '';
    while (!text.includes('\n\n')) text += new TextDecoder().decode((await reader.read()).value);
    controller.abort();
    expect(text).toContain('event: AssignedToEmployee');
    expect(text).toContain(`id: ${assigned.body.position}`);
  });
});

describe('webhook subscriptions (admin)', () => {
  it('401 without a token, 403 for anyone but an admin', async () => {
    expect((await api.call('GET', '/api/webhooks/subscriptions')).status).toBe(401);
    const r = await api.call('POST', '/api/webhooks/subscriptions', {
      as: callerFor('head', 'astana', astanaIin),
      body: { url: 'https://93.184.216.34/hook' },
    });
    expect(r.status).toBe(403);
  });

  it('400 for a loopback or private target (not allowed by default), an unknown type, a weak secret; nothing is stored', async () => {
    for (const url of [
      'http://127.0.0.1:8080/hook',
      'http://10.0.0.5/hook',
      'http://[::1]/hook',
      'http://169.254.169.254/latest/meta-data',
    ]) {
      const r = await api.call('POST', '/api/webhooks/subscriptions', { as: admin, body: { url } });
      expect(r.status).toBe(400);
      expect(r.body.errors[0]).toMatchObject({
        field: 'url',
        problem: expect.stringMatching(/internal address/),
        allowed: expect.stringMatching(/WEBHOOK_ALLOW_PRIVATE=on/),
      });
    }
    const bad = await api.call('POST', '/api/webhooks/subscriptions', {
      as: admin,
      body: { url: 'https://93.184.216.34/hook', eventTypes: ['Nope'], secret: 'short' },
    });
    expect(bad.status).toBe(400);
    expect(bad.body.errors.map((e: { field: string }) => e.field).sort()).toEqual(['eventTypes', 'secret']);
    expect((await api.call('GET', '/api/webhooks/subscriptions', { as: admin })).body.subscriptions).toEqual([]);
  });

  it('201 shows the generated secret once; the list never does; DELETE stops it', async () => {
    const created = await api.call('POST', '/api/webhooks/subscriptions', {
      as: admin,
      body: { url: 'https://93.184.216.34/hook', eventTypes: ['DeadlineBreached'], units: ['astana'] },
    });
    expect(created.status).toBe(201);
    expect(created.body.secret).toMatch(/^whsec_/);
    const listed = await api.call('GET', '/api/webhooks/subscriptions', { as: admin });
    expect(listed.body.subscriptions).toEqual([
      {
        id: created.body.id,
        url: 'https://93.184.216.34/hook',
        eventTypes: ['DeadlineBreached'],
        units: ['astana'],
        active: true,
        createdAt: expect.any(String),
        createdBy: 'admin-1',
      },
    ]);
    expect(JSON.stringify(listed.body)).not.toContain(created.body.secret);
    expect((await api.call('DELETE', `/api/webhooks/subscriptions/${created.body.id}`, { as: admin })).status).toBe(
      204,
    );
    expect(
      (
        await api.call('POST', `/api/webhooks/subscriptions/${created.body.id}/replay`, {
          as: admin,
          body: { after: 0 },
        })
      ).status,
    ).toBe(409);
    expect((await api.call('DELETE', '/api/webhooks/subscriptions/nope', { as: admin })).status).toBe(404);
    expect((await api.call('POST', '/api/webhooks/deliveries/nope/redeliver', { as: admin })).status).toBe(404);
  });
});

describe('delivery through the running API', () => {
  it('acts reach a loopback receiver (allowed by the setting), verified with its own library; the history says whom it told; a redelivery sends one again', async () => {
    const received: Array<{ id: string; type: string }> = [];
    let secret = '';
    const server: Server = createServer((request, response) => {
      const chunks: Buffer[] = [];
      request.on('data', (c: Buffer) => chunks.push(c));
      request.on('end', () => {
        try {
          const payload = new Webhook(secret).verify(
            Buffer.concat(chunks).toString('utf8'),
            request.headers as Record<string, string>,
          ) as { type: string };
          received.push({ id: String(request.headers['webhook-id']), type: payload.type });
          response.writeHead(204).end();
        } catch {
          response.writeHead(401).end();
        }
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const live = await startHarness({ WEBHOOK_DISPATCHER: 'on', WEBHOOK_ALLOW_PRIVATE: 'on' });
    try {
      const created = await live.call('POST', '/api/webhooks/subscriptions', {
        as: admin,
        body: { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/in` },
      });
      expect(created.status).toBe(201);
      secret = created.body.secret;
      const iin = makeIin('880101', 3, 999);
      const filed = await live.call('POST', '/api/cases', {
        as: callerFor('applicant', 'astana', iin),
        body: {
          serviceId: 'personnel-reserve',
          trackId: 'competition-recommended',
          channel: 'portal',
          unit: 'astana',
          applicant: { iin, fullName: 'Омарова Сауле' },
          occurredAt: '2016-03-01T11:00:00+06:00',
        },
      });
      expect(filed.status).toBe(201);
      // Waits for the projection process, however long it takes (the test's timeout bounds it).
      while (received.length === 0) await new Promise((resolve) => setTimeout(resolve, 50));
      expect(received).toEqual([{ id: expect.any(String), type: 'ApplicationSubmitted' }]);
      // The receiver answers before the dispatcher records the delivery: wait for the record.
      let listed = await live.call('GET', '/api/webhooks/deliveries?status=delivered', { as: admin });
      while (listed.body.deliveries.length === 0) {
        await new Promise((resolve) => setTimeout(resolve, 50));
        listed = await live.call('GET', '/api/webhooks/deliveries?status=delivered', { as: admin });
      }
      expect(listed.body.deliveries).toHaveLength(1);
      expect(listed.body.stats).toMatchObject({ delivered: 1, pending: 0, dead: 0 });
      const history = await live.call('GET', `/api/cases/${filed.body.caseId}/history`, { as: auditor });
      expect(history.body.events[0].told).toEqual([
        {
          subscriptionId: created.body.id,
          url: created.body.url,
          status: 'delivered',
          attempts: 1,
          deliveredAt: expect.any(String),
          lastError: null,
        },
      ]);
      const metrics = await live.call('GET', '/metrics');
      expect(metrics.body).toMatch(/^reglament_webhook_deliveries\{status="delivered"\} 1$/m);
      expect(metrics.body).toMatch(/^reglament_webhook_lag_seconds 0$/m);
      const again = await live.call('POST', `/api/webhooks/deliveries/${listed.body.deliveries[0].id}/redeliver`, {
        as: admin,
      });
      expect(again.status).toBe(202);
      while (received.length < 2) await new Promise((resolve) => setTimeout(resolve, 50));
      expect(received[1]!.id).toBe(received[0]!.id);
    } finally {
      await live.close();
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    }
  });
});
