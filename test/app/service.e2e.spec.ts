import { spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig } from '../../src/shared/config/config';
import { createLogger } from '../../src/shared/logging/logger';
import { startApi, type RunningApp } from '../../src/app/bootstrap';
import { allProjections } from '../../src/app/projections';

const ROOT = join(__dirname, '../..');
const REGISTER = join(ROOT, 'test/support/swc-register.js');

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
  /** stdout and stderr so far (the process may still be running). */
  output(): string;
  kill(signal?: NodeJS.Signals): void;
}

function run(entry: string, env: Record<string, string>, until?: RegExp): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['-r', REGISTER, join(ROOT, entry)], {
      env: { PATH: process.env['PATH'] ?? '', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    const check = () => {
      if (until && until.test(stdout + stderr))
        resolve({
          code: null,
          stdout,
          stderr,
          output: () => stdout + stderr,
          kill: (signal = 'SIGTERM') => child.kill(signal),
        });
    };
    child.stdout.on('data', (c: Buffer) => ((stdout += c.toString()), check()));
    child.stderr.on('data', (c: Buffer) => ((stderr += c.toString()), check()));
    child.on('error', reject);
    child.on('exit', (code) => resolve({ code, stdout, stderr, output: () => stdout + stderr, kill: () => undefined }));
  });
}

async function eventually<T>(probe: () => Promise<T>, ok: (value: T) => boolean, timeoutMs = 10_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (ok(value)) return value;
    if (Date.now() > deadline) throw new Error(`not reached in time; last: ${JSON.stringify(value)}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

describe('the service on the embedded default', () => {
  let dataDir: string;
  let api: RunningApp;

  beforeAll(async () => {
    dataDir = mkdtempSync(join(tmpdir(), 'reglament-app-'));
    api = await startApi(loadConfig({ DATA_DIR: dataDir, PORT: '0', LOG_LEVEL: 'silent' }), createLogger('silent'));
  });
  afterAll(async () => {
    await api.close();
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('GET /health reports the event log, the read store and each projection with its lag', async () => {
    // Each projection's version as its definition gives it: a change of a model's rows moves it.
    const versionOf = (name: string) => allProjections(api.infra.reference).find((p) => p.name === name)!.version;
    const { position } = await api.infra.eventLog.append(
      'probe-1',
      [{ type: 'ApplicationSubmitted', data: {} }],
      'no_stream',
    );
    const body = await eventually(
      async () => (await fetch(`${api.url}/health`)).json() as Promise<{ projections: Array<{ checkpoint: number }> }>,
      (b) => b.projections.every((p) => p.checkpoint === position),
    );
    expect(body).toEqual({
      status: 'up',
      eventLog: { status: 'up', kind: 'sqlite', headPosition: position },
      readStore: { status: 'up', kind: 'sqlite' },
      projections: [
        expect.objectContaining({
          name: 'log-overview',
          version: 1,
          state: 'live',
          checkpoint: position,
          lagEvents: 0,
          lagSeconds: 0,
          error: null,
        }),
        // Not a case stream: the case projections pass it by.
        expect.objectContaining({
          name: 'cases',
          version: versionOf('cases'),
          state: 'live',
          checkpoint: position,
          lagEvents: 0,
          lagSeconds: 0,
          error: null,
        }),
        expect.objectContaining({
          name: 'compliance',
          version: versionOf('compliance'),
          state: 'live',
          checkpoint: position,
          lagEvents: 0,
          lagSeconds: 0,
          error: null,
        }),
        expect.objectContaining({
          name: 'catalog-usage',
          version: 1,
          state: 'live',
          checkpoint: position,
          lagEvents: 0,
          lagSeconds: 0,
          error: null,
        }),
      ],
    });
  });

  it('GET /metrics speaks Prometheus: append latency, projection lag, HTTP', async () => {
    await api.infra.eventLog.append('probe-2', [{ type: 'DocumentRegistered', data: {} }], 'no_stream');
    await fetch(`${api.url}/health`);
    const response = await fetch(`${api.url}/metrics`);
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toMatch(/^text\/plain/);
    const text = await response.text();
    expect(text).toMatch(/^reglament_event_append_seconds_count\{outcome="ok"\} [1-9]/m);
    expect(text).toMatch(/^reglament_projection_lag_events\{projection="log-overview"\} \d+/m);
    expect(text).toMatch(/^reglament_projection_lag_seconds\{projection="log-overview"\} /m);
    expect(text).toMatch(
      /^reglament_http_request_duration_seconds_count\{method="GET",route="\/health",status="200"\} [1-9]/m,
    );
  });

  it('serves the OpenAPI document and its UI under /api/docs', async () => {
    const ui = await fetch(`${api.url}/api/docs`);
    expect(ui.status).toBe(200);
    expect(await ui.text()).toContain('swagger');
    const doc = (await (await fetch(`${api.url}/api/docs-json`)).json()) as {
      openapi: string;
      paths: Record<string, unknown>;
    };
    expect(doc.openapi).toMatch(/^3\./);
    expect(Object.keys(doc.paths)).toEqual(expect.arrayContaining(['/health', '/metrics']));
  });

  it('answers an unknown route with a problem+json 404 and echoes the correlation id', async () => {
    const response = await fetch(`${api.url}/api/nothing-here`, { headers: { 'x-correlation-id': 'abc-123' } });
    expect(response.status).toBe(404);
    expect(response.headers.get('content-type')).toMatch(/^application\/problem\+json/);
    expect(response.headers.get('x-correlation-id')).toBe('abc-123');
    expect(await response.json()).toMatchObject({ status: 404, title: 'Not found', instance: '/api/nothing-here' });
  });
});

describe('the projection process of an API in inline mode', () => {
  const onLinux = process.platform === 'linux' ? it : it.skip;
  const alive = (pid: number) => {
    try {
      process.kill(pid, 0);
      return true;
    } catch {
      return false;
    }
  };

  onLinux('runs every one of its threads at PROJECTION_NICE, below the API, and still follows the log', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'reglament-app-'));
    const api = await startApi(
      loadConfig({ DATA_DIR: dataDir, PORT: '0', LOG_LEVEL: 'silent', PROJECTION_NICE: '7' }),
      createLogger('silent'),
    );
    try {
      const niceOf = (pid: number, tid: number) => {
        const stat = readFileSync(`/proc/${pid}/task/${tid}/stat`, 'utf8');
        // Fields after the command name: state is field 3, nice is field 19.
        return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[16]);
      };
      const child = api.infra.projections.process!;
      expect(child.pid).not.toBe(process.pid);
      expect(child.priority).toMatchObject({ pid: child.pid, nice: 7 });
      // V8's garbage-collection helpers included: threads started before the process lowered itself.
      const threads = readdirSync(`/proc/${child.pid}/task`).map(Number);
      expect(threads.length).toBeGreaterThan(1);
      expect(threads.map((tid) => niceOf(child.pid!, tid))).toEqual(threads.map(() => 7));
      expect(niceOf(process.pid, process.pid)).toBe(0);
      const { position } = await api.infra.eventLog.append(
        'probe-1',
        [{ type: 'ApplicationSubmitted', data: {} }],
        'no_stream',
      );
      expect(await api.infra.projections.readModels.waitFor('cases', position, 10_000)).toBeGreaterThanOrEqual(
        position,
      );
    } finally {
      await api.close();
      rmSync(dataDir, { recursive: true, force: true });
    }
  });

  it('is started again when it dies, and the read models go on from their checkpoints', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'reglament-app-'));
    const api = await startApi(
      loadConfig({ DATA_DIR: dataDir, PORT: '0', LOG_LEVEL: 'silent' }),
      createLogger('silent'),
    );
    try {
      const child = api.infra.projections.process!;
      const first = child.pid!;
      const before = (
        await api.infra.eventLog.append('probe-1', [{ type: 'ApplicationSubmitted', data: {} }], 'no_stream')
      ).position;
      await api.infra.projections.readModels.waitFor('log-overview', before, 10_000);
      process.kill(first, 'SIGKILL');
      // Appended while no process projects: the next one finds them after its checkpoint.
      const after = (
        await api.infra.eventLog.append('probe-2', [{ type: 'ApplicationSubmitted', data: {} }], 'no_stream')
      ).position;
      await eventually(
        async () => child.restarts,
        (n) => n === 1,
        20_000,
      );
      expect(child.pid).not.toBe(first);
      expect(alive(first)).toBe(false);
      expect(await api.infra.projections.readModels.waitFor('log-overview', after, 10_000)).toBeGreaterThanOrEqual(
        after,
      );
      expect(await (await api.infra.projections.readModels.collection('log-overview', 'streams')).count()).toBe(2);
    } finally {
      await api.close();
      rmSync(dataDir, { recursive: true, force: true });
    }
  }, 30_000);

  it('leaves when the API is killed outright, holding no file open for nobody', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'reglament-app-'));
    const api = await run('src/main.ts', { DATA_DIR: dataDir, PORT: '0', LOG_LEVEL: 'info' }, /reglament listening/);
    try {
      // Logged before the API listens, with the child's pid.
      const line = api
        .output()
        .split('\n')
        .find((l) => l.includes('projection process started'))!;
      const { projectionPid } = JSON.parse(line) as { projectionPid: number };
      expect(alive(projectionPid)).toBe(true);
      api.kill('SIGKILL');
      await eventually(
        async () => alive(projectionPid),
        (stillAlive) => !stillAlive,
        10_000,
      );
    } finally {
      api.kill('SIGKILL');
      rmSync(dataDir, { recursive: true, force: true });
    }
  }, 30_000);
});

describe('start-up failures', () => {
  it('a bad setting stops the start with exit 78, naming the variable and what is allowed', async () => {
    const result = await run('src/main.ts', {
      EVENT_STORE: 'postgres',
      PORT: 'eighty',
      DATA_DIR: join(tmpdir(), 'reglament-unused'),
    });
    expect(result.code).toBe(78);
    expect(result.stderr).toMatch(/EVENT_STORE.*postgres.*sqlite.*eventstoredb/s);
    expect(result.stderr).toMatch(/PORT.*eighty/s);
  }, 30_000);

  it('a corrupt event log file in DATA_DIR stops the start with exit 1, naming the file', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'reglament-corrupt-'));
    writeFileSync(join(dataDir, 'events.db'), 'not a database at all');
    const result = await run('src/main.ts', { DATA_DIR: dataDir, PORT: '0' });
    expect(result.code).toBe(1);
    expect(result.stderr).toContain(`${join(dataDir, 'events.db')}: is not a SQLite database`);
    rmSync(dataDir, { recursive: true, force: true });
  }, 30_000);
});

describe('API and projection worker as separate processes', () => {
  it('with PROJECTIONS=off the API does not project; the worker process does, and the API reports its progress', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'reglament-split-'));
    mkdirSync(dataDir, { recursive: true });
    const api = await startApi(
      loadConfig({ DATA_DIR: dataDir, PORT: '0', PROJECTIONS: 'off', LOG_LEVEL: 'silent' }),
      createLogger('silent'),
    );
    const worker = await run('src/worker.ts', { DATA_DIR: dataDir, WORKER_PORT: '0' }, /reglament worker running/);
    try {
      let last = 0;
      for (let i = 0; i < 30; i++)
        last = (
          await api.infra.eventLog.append(`probe-${i}`, [{ type: 'ApplicationSubmitted', data: { i } }], 'no_stream')
        ).position;
      const health = await eventually(
        async () =>
          (await fetch(`${api.url}/health`)).json() as Promise<{
            projections: Array<{ checkpoint: number; state: string }>;
          }>,
        (b) => b.projections[0]?.checkpoint === last,
      );
      expect(health.projections[0]).toMatchObject({ name: 'log-overview', state: 'live', lagEvents: 0 });
      const workerUrl = /"url":"([^"]+)"/.exec(worker.output())![1];
      const workerHealth = await fetch(`${workerUrl}/health`);
      expect(workerHealth.status).toBe(200);
      expect(workerHealth.headers.get('content-security-policy')).toMatch(/frame-ancestors 'none'/);
      expect(workerHealth.headers.get('x-content-type-options')).toBe('nosniff');
      // The worker's routes answer as the API's do (a review's finding: it had none of the API's route checks).
      const unknownParameter = await fetch(`${workerUrl}/health?zzz=1`);
      expect(unknownParameter.status).toBe(400);
      expect(((await unknownParameter.json()) as { errors: Array<{ field: string }> }).errors[0]!.field).toBe(
        'query.zzz',
      );
      expect((await fetch(`${workerUrl}/health/`)).status).toBe(404);
      const otherMethod = await fetch(`${workerUrl}/health`, { method: 'DELETE' });
      expect([otherMethod.status, otherMethod.headers.get('allow')]).toEqual([405, 'GET, HEAD']);
      const streams = await (await api.infra.projections.readModels.collection('log-overview', 'streams')).count();
      expect(streams).toBe(30);
    } finally {
      worker.kill();
      await api.close();
      rmSync(dataDir, { recursive: true, force: true });
    }
  }, 60_000);
});
