/**
 * What an operator's tools read from the real server: the Prometheus exposition (parsed, not pattern-matched line by
 * line), liveness and readiness.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileSampleCase, startHarness, type ApiHarness } from '../support/api-harness';
import { startProcess } from '../support/server-process';

interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

/** The text exposition format: `# TYPE name kind` lines and `name{label="value",...} number` samples. */
function parseExposition(text: string): { types: Map<string, string>; samples: Sample[] } {
  const types = new Map<string, string>();
  const samples: Sample[] = [];
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('# HELP ')) continue;
    const type = /^# TYPE (\S+) (\S+)$/.exec(line);
    if (type) {
      types.set(type[1]!, type[2]!);
      continue;
    }
    const sample = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!sample) throw new Error(`not an exposition line: ${line}`);
    const labels: Record<string, string> = {};
    for (const [, key, value] of (sample[2] ?? '').matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g))
      labels[key!] = value!;
    samples.push({ name: sample[1]!, labels, value: Number(sample[3]) });
  }
  return { types, samples };
}

/** The family a sample belongs to: a histogram's `_bucket`, `_sum` and `_count` series are its family's. */
function familyOf(name: string, types: Map<string, string>): string | undefined {
  if (types.has(name)) return name;
  const base = name.replace(/_(bucket|sum|count)$/, '');
  return types.get(base) === 'histogram' ? base : undefined;
}

async function scrape(api: ApiHarness) {
  const response = await fetch(`${api.url}/metrics`);
  expect(response.status).toBe(200);
  return parseExposition(await response.text());
}

async function eventually<T>(probe: () => Promise<T>, ok: (value: T) => boolean, timeoutMs = 15_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (ok(value)) return value;
    if (Date.now() > deadline) throw new Error(`not reached in time; last: ${JSON.stringify(value)}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

const AUDITOR = { sub: 'auditor-1', roles: ['auditor'], unit: 'hq' };

describe('/metrics and the health probes of an API running its projections', () => {
  let api: ApiHarness;
  beforeAll(async () => {
    api = await startHarness();
  });
  afterAll(() => api.close());

  it('keeps the standard process_* and nodejs_* names, names no gauge like a counter, and every sample belongs to a declared family', async () => {
    await fetch(`${api.url}/health`);
    const { types, samples } = await scrape(api);
    for (const name of [
      'process_cpu_seconds_total',
      'process_resident_memory_bytes',
      'process_start_time_seconds',
      'nodejs_heap_size_used_bytes',
      'nodejs_eventloop_lag_seconds',
      'nodejs_version_info',
    ]) {
      expect(samples.some((s) => s.name === name)).toBe(true);
    }
    expect([...types.keys()].filter((name) => /^reglament_(process|nodejs)_/.test(name))).toEqual([]);
    expect(
      [...types].filter(([name, type]) => type === 'gauge' && name.endsWith('_total')).map(([name]) => name),
    ).toEqual([]);
    expect(samples.filter((s) => familyOf(s.name, types) === undefined).map((s) => s.name)).toEqual([]);
  });

  it('feeds every histogram of its own: append latency and HTTP durations have observations once a case is filed', async () => {
    await fileSampleCase(api);
    const { types, samples } = await scrape(api);
    const ours = [...types]
      .filter(([name, type]) => type === 'histogram' && name.startsWith('reglament_'))
      .map(([name]) => name);
    expect(ours.sort()).toEqual(['reglament_event_append_seconds', 'reglament_http_request_duration_seconds']);
    for (const histogram of ours)
      expect(samples.filter((s) => s.name === `${histogram}_count`).reduce((n, s) => n + s.value, 0)).toBeGreaterThan(
        0,
      );
  });

  it('counts overdue steps by regulation, as many as the overdue list has, and names no unit (the route is public)', async () => {
    const filed = await fileSampleCase(api);
    const overdue = await api.call(
      'GET',
      `/api/compliance/overdue?serviceId=personnel-reserve&limit=1&after=${filed.position}`,
      { as: AUDITOR },
    );
    expect(overdue.status).toBe(200);
    // The sample case was filed in 2015: its first step's limits are long past.
    expect(overdue.body.total).toBeGreaterThan(0);
    const { types, samples } = await scrape(api);
    expect(types.get('reglament_overdue_steps')).toBe('gauge');
    expect(samples.filter((s) => s.name === 'reglament_overdue_steps')).toEqual([
      {
        name: 'reglament_overdue_steps',
        labels: { regulation: 'personnel-reserve' },
        value: overdue.body.total,
      },
    ]);
  });

  it('answers liveness and readiness', async () => {
    const live = await fetch(`${api.url}/health/live`);
    expect({ status: live.status, body: await live.json() }).toEqual({ status: 200, body: { status: 'up' } });
    const ready = await eventually(
      async () => {
        const r = await fetch(`${api.url}/health/ready`);
        return { status: r.status, body: await r.json() };
      },
      (r) => r.status === 200,
    );
    expect(ready.body).toEqual({ status: 'ready', reasons: [] });
  });
});

describe('an API whose read models nobody builds (PROJECTIONS=off, no worker)', () => {
  let api: ApiHarness;
  beforeAll(async () => {
    api = await startHarness({ PROJECTIONS: 'off', PROJECTION_STALE_SECONDS: '1' });
  });
  afterAll(() => api.close());

  it('reports each read model as many events behind as the log head, and is alive but not ready once they are older than PROJECTION_STALE_SECONDS', async () => {
    await fileSampleCase(api);
    const { samples } = await scrape(api);
    const head = samples.find((s) => s.name === 'reglament_event_log_head_position')!.value;
    expect(head).toBeGreaterThan(0);
    const lag = samples.filter((s) => s.name === 'reglament_projection_lag_events');
    expect(lag.map((s) => s.labels.projection)).toEqual(expect.arrayContaining(['cases', 'compliance']));
    expect(lag.every((s) => s.value === head)).toBe(true);

    const ready = await eventually(
      async () => {
        const r = await fetch(`${api.url}/health/ready`);
        return { status: r.status, body: (await r.json()) as { status: string; reasons: string[] } };
      },
      (r) => r.status === 503,
    );
    expect(ready.body.status).toBe('not-ready');
    expect(ready.body.reasons).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^projection compliance is \d+ s behind the log \(more than 1 s\)$/),
      ]),
    );
    expect((await fetch(`${api.url}/health/live`)).status).toBe(200);
    expect((await fetch(`${api.url}/health`)).status).toBe(503);
  });
});

describe('start-up log of the real process at LOG_LEVEL=info', () => {
  it('has no line per route or module mapped, and one "listening" line with the address and the shape', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'reglament-startup-log-'));
    const server = await startProcess('main', { DATA_DIR: dataDir });
    try {
      // Nest's narration is written at debug, below the level.
      expect(
        server.logs.filter(
          (l) =>
            String(l.level) !== 'debug' &&
            /^(InstanceLoader|RoutesResolver|RouterExplorer|NestFactory|NestApplication)$/.test(String(l.context)),
        ),
      ).toEqual([]);
      expect(server.logs.filter((l) => /Mapped \{/.test(l.msg))).toEqual([]);
      const listening = server.logs.filter((l) => l.msg === 'reglament listening');
      expect(listening).toHaveLength(1);
      const port = Number(new URL(server.url).port);
      expect(listening[0]).toMatchObject({
        level: 'info',
        url: server.url,
        address: { address: '127.0.0.1', family: 'IPv4', port },
        eventStore: 'sqlite',
        readStore: 'sqlite',
        projections: 'inline',
        dataDir,
      });
    } finally {
      await server.stop();
      rmSync(dataDir, { recursive: true, force: true });
    }
  }, 60_000);
});

describe('the projection process of an inline API', () => {
  it('is restarted when it dies, after 1 s, then 2 s when the restarted one dies before it ran steadily: each logged with its delay', async () => {
    const lines: Array<{ msg: string; restartInMs?: number }> = [];
    const api = await startHarness(
      { LOG_LEVEL: 'info' },
      { log: { write: (line: string) => void lines.push(JSON.parse(line)) } },
    );
    try {
      const projections = api.app.infra.projections.process!;
      process.kill(projections.pid!, 'SIGKILL');
      await eventually(
        async () => projections.restarts,
        (n) => n === 1,
      );
      process.kill(projections.pid!, 'SIGKILL');
      await eventually(
        async () => projections.restarts,
        (n) => n === 2,
      );
      expect(lines.filter((l) => /^the projection process exited/.test(l.msg)).map((l) => l.restartInMs)).toEqual([
        1000, 2000,
      ]);
    } finally {
      await api.close();
    }
  }, 60_000);
});

describe('the projection worker beside an API with PROJECTIONS=off', () => {
  it('serves the probes and metrics, without the append histogram of a process that never appends, and counts overdue steps from the model it builds', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'reglament-worker-metrics-'));
    const api = await startHarness({ PROJECTIONS: 'off' }, { dataDir });
    const worker = await startProcess('worker', { DATA_DIR: dataDir, WORKER_PORT: '0' }).catch(async (error) => {
      await api.close();
      throw error;
    });
    try {
      await fileSampleCase(api);
      const ready = await eventually(
        async () => (await fetch(`${worker.url}/health/ready`)).status,
        (status) => status === 200,
      );
      expect(ready).toBe(200);
      expect((await fetch(`${worker.url}/health/live`)).status).toBe(200);
      const overdue = await eventually(
        async () => parseExposition(await (await fetch(`${worker.url}/metrics`)).text()),
        ({ samples }) => samples.some((s) => s.name === 'reglament_overdue_steps' && s.value > 0),
      );
      expect(
        [...overdue.types.keys()].filter(
          (name) => name.startsWith('reglament_event_append') || name === 'reglament_events_appended_total',
        ),
      ).toEqual([]);
      expect(
        overdue.samples
          .filter((s) => s.name === 'reglament_http_request_duration_seconds_count')
          .reduce((n, s) => n + s.value, 0),
      ).toBeGreaterThan(0);
    } finally {
      await worker.stop();
      await api.close();
      rmSync(dataDir, { recursive: true, force: true });
    }
  }, 90_000);
});
