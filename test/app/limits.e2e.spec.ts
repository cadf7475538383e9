/**
 * Issue 14.8 on the real server: per-caller request limits keyed by the verified principal (429 problem+json with
 * Retry-After), a filing quota per applicant per day, and a cap on live-update streams.
 */
import { connect, type Socket } from 'node:net';
import { makeIin, startHarness, type ApiHarness, type TestCaller } from '../support/api-harness';

const applicant = (iin: string): TestCaller => ({ sub: `applicant-${iin}`, roles: ['applicant'], unit: 'public', iin });
const filing = (iin: string, occurredAt: string) => ({
  serviceId: 'personnel-reserve',
  trackId: 'competition-recommended',
  channel: 'portal',
  unit: 'astana',
  applicant: { iin, fullName: 'Тестов Тест' },
  occurredAt,
});

describe('per-caller request limit', () => {
  let api: ApiHarness;
  beforeAll(async () => {
    api = await startHarness({ RATE_LIMIT_PER_MINUTE: '5' });
  }, 30_000);
  afterAll(async () => api.close());

  it('the sixth request of a caller in a minute is 429 problem+json with Retry-After; another caller from the same address is not held back', async () => {
    const clerk: TestCaller = { sub: 'clerk-1', roles: ['registry-clerk'], unit: 'astana' };
    const statuses: number[] = [];
    let refused: Awaited<ReturnType<ApiHarness['call']>> | null = null;
    for (let i = 0; i < 7; i++) {
      const r = await api.call('GET', '/api/cases', { as: clerk });
      statuses.push(r.status);
      if (r.status === 429) refused ??= r;
    }
    expect(statuses).toEqual([200, 200, 200, 200, 200, 429, 429]);
    expect(refused!.headers.get('content-type')).toMatch(/^application\/problem\+json/);
    const retryAfter = Number(refused!.headers.get('retry-after'));
    expect(retryAfter).toBeGreaterThanOrEqual(1);
    expect(retryAfter).toBeLessThanOrEqual(60);
    expect(refused!.body).toMatchObject({
      status: 429,
      type: expect.stringMatching(/rate-limited$/),
      title: 'Too many requests',
      detail: expect.stringMatching(/at most 5 per minute per caller/),
    });
    // Same address (127.0.0.1), another principal: its own budget.
    expect(
      (await api.call('GET', '/api/cases', { as: { sub: 'clerk-2', roles: ['registry-clerk'], unit: 'astana' } }))
        .status,
    ).toBe(200);
  });
});

describe('filing quota per applicant per day', () => {
  let api: ApiHarness;
  let now = Date.parse('2015-09-15T10:00:00+06:00');
  beforeAll(async () => {
    api = await startHarness({ FILINGS_PER_DAY: '2' }, { clock: () => new Date(now) });
  }, 30_000);
  afterAll(async () => api.close());

  it("an applicant's third filing of the day is 429 with Retry-After until the next local day and writes nothing; the next day they file again", async () => {
    const iin = makeIin('850101', 3, 60);
    const at = () => new Date(now).toISOString();
    expect((await api.call('POST', '/api/cases', { as: applicant(iin), body: filing(iin, at()) })).status).toBe(201);
    // A refused filing (a bad body) does not use the quota.
    expect(
      (await api.call('POST', '/api/cases', { as: applicant(iin), body: { ...filing(iin, at()), channel: 'fax' } }))
        .status,
    ).toBe(400);
    expect((await api.call('POST', '/api/cases', { as: applicant(iin), body: filing(iin, at()) })).status).toBe(201);
    const head = await api.app.infra.eventLog.headPosition();
    const third = await api.call('POST', '/api/cases', { as: applicant(iin), body: filing(iin, at()) });
    expect(third.status).toBe(429);
    expect(third.headers.get('content-type')).toMatch(/^application\/problem\+json/);
    // 10:00 local: fourteen hours to midnight in Asia/Almaty.
    expect(third.headers.get('retry-after')).toBe(String(14 * 3600));
    expect(third.body.detail).toMatch(/filings by one applicant: at most 2 per day per caller/);
    expect(await api.app.infra.eventLog.headPosition()).toBe(head);
    // Staff file for many people: no quota.
    const clerk: TestCaller = { sub: 'responsible-1', roles: ['responsible-person'], unit: 'astana' };
    for (let i = 0; i < 3; i++)
      expect(
        (await api.call('POST', '/api/cases', { as: clerk, body: filing(makeIin('850101', 3, 61 + i), at()) })).status,
      ).toBe(201);
    now += 14 * 3600_000;
    expect((await api.call('POST', '/api/cases', { as: applicant(iin), body: filing(iin, at()) })).status).toBe(201);
  });
});

describe('live-update stream cap', () => {
  let api: ApiHarness;
  beforeAll(async () => {
    api = await startHarness({ STREAM_CLIENTS_MAX: '1' });
  }, 30_000);
  afterAll(async () => api.close());

  /** Opens a stream, asking again (up to 50 times) while the slot a closed stream held is not yet given back: the server sees the close a moment later. */
  async function openWhenSlotFree(
    path: string,
    headers: Record<string, string>,
  ): Promise<{ response: Response; controller: AbortController }> {
    for (let attempt = 1; ; attempt++) {
      const controller = new AbortController();
      const response = await fetch(`${api.url}${path}`, { headers, signal: controller.signal });
      if (response.status !== 429 || attempt === 50) return { response, controller };
      await response.text();
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  it('a stream beyond STREAM_CLIENTS_MAX is 429 problem+json; once the first closes, a new one opens', async () => {
    const auth = { authorization: `Bearer ${await api.token({ sub: 'auditor-1', roles: ['auditor'], unit: 'hq' })}` };
    const head = { authorization: `Bearer ${await api.token({ sub: 'head-1', roles: ['head'], unit: 'astana' })}` };
    const first = new AbortController();
    const open = await fetch(`${api.url}/api/compliance/stream`, { headers: auth, signal: first.signal });
    expect(open.status).toBe(200);
    const second = await fetch(`${api.url}/api/compliance/stream`, { headers: head });
    expect(second.status).toBe(429);
    expect(second.headers.get('content-type')).toMatch(/^application\/problem\+json/);
    expect(second.headers.get('retry-after')).toBe('30');
    expect(((await second.json()) as { type: string }).type).toMatch(/too-many-streams$/);
    first.abort();
    const again = await openWhenSlotFree('/api/compliance/stream', head);
    again.controller.abort();
    expect(again.response.status).toBe(200);
  });

  // Found in review: the feed's stream had no cap, so any signed-in caller (a citizen too) could hold any number.
  it('the feed stream counts against the same cap: 429 while another stream holds the only slot, 200 once it closes', async () => {
    const auditor = {
      authorization: `Bearer ${await api.token({ sub: 'auditor-2', roles: ['auditor'], unit: 'hq' })}`,
    };
    const citizen = { authorization: `Bearer ${await api.token(applicant('900502400172'))}` };
    // The test before gives its slot back when the server sees its connection close: wait for that.
    const held = await openWhenSlotFree('/api/compliance/stream', auditor);
    expect(held.response.status).toBe(200);
    const refused = await fetch(`${api.url}/api/feed/stream`, { headers: citizen });
    expect(refused.status).toBe(429);
    expect(((await refused.json()) as { type: string }).type).toMatch(/too-many-streams$/);
    held.controller.abort();
    const again = await openWhenSlotFree('/api/feed/stream', citizen);
    again.controller.abort();
    expect(again.response.status).toBe(200);
  });
});

describe('connection cap', () => {
  let api: ApiHarness;
  beforeAll(async () => {
    api = await startHarness({ MAX_CONNECTIONS: '2' });
  }, 30_000);
  afterAll(async () => api.close());

  it('a connection beyond MAX_CONNECTIONS is closed by the server at once; the ones within it are served', async () => {
    const { hostname, port } = new URL(api.url);
    const open = (): Promise<Socket> =>
      new Promise((resolve, reject) => {
        const socket = connect(Number(port), hostname, () => resolve(socket));
        socket.once('error', reject);
      });
    const first = await open();
    const second = await open();
    const third = await open();
    // The server drops the third without reading a byte: the socket ends with no answer.
    const answer = await new Promise<string>((resolve) => {
      let text = '';
      third.on('data', (chunk) => (text += chunk.toString()));
      third.on('close', () => resolve(text));
      third.on('error', () => undefined);
      third.write('GET /health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n');
    });
    expect(answer).toBe('');
    const served = await new Promise<string>((resolve) => {
      let text = '';
      first.on('data', (chunk) => (text += chunk.toString()));
      first.on('close', () => resolve(text));
      first.write('GET /health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n');
    });
    expect(served).toMatch(/^HTTP\/1.1 200/);
    second.destroy();
  });
});

// Found by attacking the running server: any signed-in citizen may follow the feed, so sixteen citizens' tokens (four
// streams each) took all 64 slots and the auditors' dashboards got 429.
describe('the citizens’ share of the live-update streams', () => {
  let api: ApiHarness;
  beforeAll(async () => {
    api = await startHarness({ STREAM_CLIENTS_MAX: '4' });
  }, 30_000);
  afterAll(async () => api.close());

  it('citizens hold at most half the cap together; the rest stays open to staff', async () => {
    const open: AbortController[] = [];
    const stream = async (path: string, caller: TestCaller) => {
      const controller = new AbortController();
      const response = await fetch(`${api.url}${path}`, {
        headers: { authorization: `Bearer ${await api.token(caller)}` },
        signal: controller.signal,
      });
      open.push(controller);
      return response;
    };
    try {
      expect((await stream('/api/feed/stream', applicant('900502400172'))).status).toBe(200);
      expect((await stream('/api/feed/stream', applicant('850101300005'))).status).toBe(200);
      const third = await stream('/api/feed/stream', applicant(makeIin('880808', 3, 7)));
      expect(third.status).toBe(429);
      expect(((await third.json()) as { detail: string }).detail).toMatch(
        /^2 live-update streams are open to citizens, the most this server gives them/,
      );
      const auditor = { sub: 'auditor-9', roles: ['auditor'], unit: 'hq' };
      expect((await stream('/api/compliance/stream', auditor)).status).toBe(200);
      expect((await stream('/api/feed/stream', auditor)).status).toBe(200);
    } finally {
      open.forEach((c) => c.abort());
    }
  });
});

// Found by attacking the running server: behind the load balancer the README asks for, every request without a valid
// token came from the balancer's address, so one anonymous client at the default rate held back the dashboard's page
// for everyone; and X-Forwarded-For from anyone would let a caller pick its own bucket.
describe('the client address behind a load balancer (TRUSTED_PROXIES)', () => {
  const anonymous = async (api: ApiHarness, forwardedFor: string) =>
    (await fetch(`${api.url}/dashboard`, { headers: { 'x-forwarded-for': forwardedFor } })).status;

  it('from a trusted proxy, each client its X-Forwarded-For names is counted on its own', async () => {
    const api = await startHarness({ RATE_LIMIT_PER_MINUTE: '3', TRUSTED_PROXIES: '127.0.0.1,::1' });
    try {
      const first = [];
      for (let i = 0; i < 4; i++) first.push(await anonymous(api, '203.0.113.5'));
      expect(first).toEqual([200, 200, 200, 429]);
      expect(await anonymous(api, '203.0.113.6')).toBe(200);
    } finally {
      await api.close();
    }
  });

  it('without it, X-Forwarded-For is ignored: a caller cannot pick its own bucket', async () => {
    const api = await startHarness({ RATE_LIMIT_PER_MINUTE: '3' });
    try {
      const statuses = [];
      for (let i = 0; i < 4; i++) statuses.push(await anonymous(api, `203.0.113.${10 + i}`));
      expect(statuses).toEqual([200, 200, 200, 429]);
    } finally {
      await api.close();
    }
  });

  it('a value that is no address or range stops the start (exit 78 naming it), and so does a range of every address', async () => {
    await expect(startHarness({ TRUSTED_PROXIES: '10.0.0.5,proxy.local' })).rejects.toThrow(
      /TRUSTED_PROXIES.*proxy\.local is not an IP address or range/s,
    );
    // Trusting 0.0.0.0/0 would let any caller name its own address (and fastify refused it with a bare error at start);
    // `10` would have been taken for 0.0.0.10.
    for (const value of ['0.0.0.0/0', '::/0', '10'])
      await expect(startHarness({ TRUSTED_PROXIES: value })).rejects.toThrow(
        /TRUSTED_PROXIES.*is not an IP address or range/s,
      );
  });
});
