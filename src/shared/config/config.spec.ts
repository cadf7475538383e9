import { EventStoreDBClient } from '@eventstore/db-client';
import { createHash, generateKeyPairSync } from 'node:crypto';
import { ConfigError, loadConfig, secretPlacementProblems } from './config';

/** A verifier key as c2sp.org/signed-note publishes it: type 0x04 is a witness's cosigning key, 0x01 a log's. */
function vkey(name: string, type = 0x04, keyIdOf = name): string {
  const der = generateKeyPairSync('ed25519').publicKey.export({ type: 'spki', format: 'der' });
  const raw = der.subarray(der.length - 32);
  const id = createHash('sha256')
    .update(keyIdOf)
    .update(Buffer.from([0x0a, type]))
    .update(raw)
    .digest()
    .subarray(0, 4);
  return `${name}+${id.toString('hex')}+${Buffer.concat([Buffer.from([type]), raw]).toString('base64')}`;
}

describe('loadConfig', () => {
  it('defaults to the embedded store under ./var/data on 127.0.0.1:3000', () => {
    const config = loadConfig({}, '/srv/app');
    expect(config.eventStore).toEqual({ kind: 'sqlite', dataDir: '/srv/app/var/data' });
    expect(config.readStore).toEqual({ kind: 'sqlite', dataDir: '/srv/app/var/data' });
    expect(config).toMatchObject({
      host: '127.0.0.1',
      port: 3000,
      projections: 'inline',
      logLevel: 'info',
      caseCacheSize: 100_000,
      caseViewCacheMb: 128,
      projectionNice: 19,
      projectionShare: 0.1,
      startupCheckMaxMb: 1024,
    });
  });

  it('reads production settings', () => {
    const config = loadConfig({
      EVENT_STORE: 'eventstoredb',
      EVENTSTORE_URL: 'esdb://es:2113?tls=false',
      READ_STORE: 'mongodb',
      MONGODB_URL: 'mongodb://mongo:27017/?replicaSet=rs0',
      PORT: '8080',
      PROJECTIONS: 'off',
    });
    expect(config.eventStore).toEqual({ kind: 'eventstoredb', url: 'esdb://es:2113?tls=false' });
    expect(config.readStore).toEqual({
      kind: 'mongodb',
      url: 'mongodb://mongo:27017/?replicaSet=rs0',
      database: 'reglament',
    });
    expect(config.port).toBe(8080);
    expect(config.projections).toBe('off');
  });

  it.each([
    [{ EVENT_STORE: 'postgres' }, 'EVENT_STORE', 'sqlite | eventstoredb'],
    [{ READ_STORE: 'redis' }, 'READ_STORE', 'sqlite | mongodb'],
    [{ EVENT_STORE: 'eventstoredb' }, 'EVENTSTORE_URL', 'URL'],
    [{ READ_STORE: 'mongodb', MONGODB_URL: 'http://x' }, 'MONGODB_URL', 'mongodb'],
    [
      { EVENT_STORE: 'eventstoredb', EVENTSTORE_URL: 'kurrentdb://kurrentdb:2113?tls=false' },
      'EVENTSTORE_URL',
      'esdb:// or esdb+discover://',
    ],
    [
      { EVENT_STORE: 'eventstoredb', EVENTSTORE_URL: 'kurrentdb+discover://cluster:2113' },
      'EVENTSTORE_URL',
      'esdb:// or esdb+discover://',
    ],
    [{ EVENT_STORE: 'eventstoredb', EVENTSTORE_URL: 'localhost:2113' }, 'EVENTSTORE_URL', 'esdb://'],
    [{ PORT: '70000' }, 'PORT', '0–65535'],
    [{ PORT: 'abc' }, 'PORT', '0–65535'],
    [{ PROJECTIONS: 'maybe' }, 'PROJECTIONS', 'inline | off'],
    [{ LOG_LEVEL: 'loud' }, 'LOG_LEVEL', 'debug'],
    [{ CASE_CACHE_SIZE: '-5' }, 'CASE_CACHE_SIZE', '0–10000000'],
    [{ CASE_VIEW_CACHE_MB: 'lots' }, 'CASE_VIEW_CACHE_MB', '0–16384'],
    [{ PROJECTION_NICE: '20' }, 'PROJECTION_NICE', '0–19'],
    [{ PROJECTION_THREAD_NICE: '-1' }, 'PROJECTION_THREAD_NICE', '0–19'],
    [{ PROJECTION_SHARE: '0' }, 'PROJECTION_SHARE', '0.05–1'],
    [{ PROJECTION_SHARE: 'half' }, 'PROJECTION_SHARE', '0.05–1'],
    [{ STARTUP_CHECK_MAX_MB: '1GB' }, 'STARTUP_CHECK_MAX_MB', '0–1048576'],
  ])('refuses %j naming %s and what is allowed', (env, variable, allowed) => {
    expect(() => loadConfig(env)).toThrow(ConfigError);
    try {
      loadConfig(env);
    } catch (error) {
      const problems = (error as ConfigError).problems;
      expect(problems.map((p) => p.variable)).toContain(variable);
      expect((error as Error).message).toContain(variable);
      expect(problems.find((p) => p.variable === variable)!.allowed).toContain(allowed);
    }
  });

  it("reads the worker's URL on API instances beside EventStoreDB, as an origin, and refuses it where it cannot serve", () => {
    const esdb = { EVENT_STORE: 'eventstoredb', EVENTSTORE_URL: 'esdb://es:2113?tls=false', PROJECTIONS: 'off' };
    expect(loadConfig({ ...esdb, TRANSPARENCY_WORKER_URL: 'http://worker:3100/' }).transparency.workerUrl).toBe(
      'http://worker:3100',
    );
    expect(loadConfig(esdb).transparency.workerUrl).toBeUndefined();
    for (const [env, problem] of [
      [{ ...esdb, TRANSPARENCY_WORKER_URL: 'worker:3100' }, 'scheme'],
      [{ ...esdb, TRANSPARENCY_WORKER_URL: 'ftp://worker:3100' }, 'scheme'],
      [{ ...esdb, TRANSPARENCY_WORKER_URL: 'http://a:b@worker:3100' }, 'credentials'],
      [{ ...esdb, TRANSPARENCY_WORKER_URL: 'http://worker:3100/api?x=1' }, 'path'],
      [{ ...esdb, TRANSPARENCY_WORKER_URL: 'not a url' }, 'not a URL'],
      [{ TRANSPARENCY_WORKER_URL: 'http://worker:3100' }, 'embedded log keeps its own tree'],
    ] as const) {
      let refused: ConfigError | null = null;
      try {
        loadConfig(env);
      } catch (error) {
        refused = error as ConfigError;
      }
      expect(refused?.problems).toEqual(
        expect.arrayContaining([
          expect.objectContaining({ variable: 'TRANSPARENCY_WORKER_URL', problem: expect.stringContaining(problem) }),
        ]),
      );
    }
  });

  it("reads the projection process's nice value, under its earlier name too when the new one is unset", () => {
    expect(loadConfig({ PROJECTION_NICE: '5' }).projectionNice).toBe(5);
    expect(loadConfig({ PROJECTION_THREAD_NICE: '12' }).projectionNice).toBe(12);
    expect(loadConfig({ PROJECTION_NICE: '3', PROJECTION_THREAD_NICE: '12' }).projectionNice).toBe(3);
  });

  it("reads the projection process's share of the time for recent events as a decimal", () => {
    expect(loadConfig({ PROJECTION_SHARE: '0.5' }).projectionShare).toBe(0.5);
    expect(loadConfig({ PROJECTION_SHARE: '1' }).projectionShare).toBe(1);
  });

  it('accepts exactly the EventStoreDB schemes the client parses, which it then parses without throwing', () => {
    for (const url of [
      'esdb://es:2113?tls=false',
      'esdb+discover://cluster.example:2113',
      'esdb://admin:changeit@a:2113,b:2113?nodePreference=leader',
    ]) {
      const config = loadConfig({ EVENT_STORE: 'eventstoredb', EVENTSTORE_URL: url });
      expect(config.eventStore).toEqual({ kind: 'eventstoredb', url });
      expect(() => EventStoreDBClient.connectionString(url)).not.toThrow();
    }
    // What config now refuses is what the client would have thrown on at start-up.
    expect(() => EventStoreDBClient.connectionString('kurrentdb://kurrentdb:2113?tls=false')).toThrow(
      /esdb:\/\/ or esdb\+discover:\/\//,
    );
  });

  it('reports every problem at once', () => {
    expect(() => loadConfig({ EVENT_STORE: 'x', READ_STORE: 'y', PORT: '-1' })).toThrow(
      /EVENT_STORE[\s\S]*READ_STORE[\s\S]*PORT/,
    );
  });

  it('reads deadline warning shares as a list, or per service and version as JSON, and names what is allowed otherwise', () => {
    expect(loadConfig({}).deadlineWarnings).toEqual({ default: [50, 80] });
    expect(loadConfig({ DEADLINE_WARNINGS: '25, 75,90' }).deadlineWarnings).toEqual({ default: [25, 75, 90] });
    expect(loadConfig({ DEADLINE_WARNINGS: '{"byService":{"personnel-reserve":[70]}}' }).deadlineWarnings).toEqual({
      default: [50, 80],
      byService: { 'personnel-reserve': [70] },
      byVersion: {},
    });
    for (const bad of ['50,100', 'half', '{"default":[0]}', '{"every":[50]}', '{']) {
      expect(() => loadConfig({ DEADLINE_WARNINGS: bad })).toThrow(/DEADLINE_WARNINGS[\s\S]*allowed: percent shares/);
    }
    expect(loadConfig({ DEADLINE_SCHEDULER: 'off' }).deadlineScheduler).toBe(false);
    expect(() => loadConfig({ DEADLINE_POLL_MS: '0' })).toThrow(/DEADLINE_POLL_MS/);
    expect(loadConfig({ DEADLINE_RECORD_FROM: '2026-12-01T00:00:00+05:00' }).deadlineRecordFrom).toBe(
      '2026-11-30T19:00:00.000Z',
    );
    expect(() => loadConfig({ DEADLINE_RECORD_FROM: '2026-12-01' })).toThrow(
      /DEADLINE_RECORD_FROM[\s\S]*an ISO 8601 instant with an offset/,
    );
  });

  it("reads the witnesses' verifier keys, comma- or newline-separated; none by default", () => {
    expect(loadConfig({}).transparency).toMatchObject({ witnesses: [] });
    const [a, b] = [vkey('auditor.example/w1'), vkey('sigsum.org/w2')];
    expect(loadConfig({ TRANSPARENCY_WITNESSES: `${a}, ${b}` }).transparency.witnesses).toEqual([a, b]);
    expect(loadConfig({ TRANSPARENCY_WITNESSES: `${a}\n${b}\n${a}\n` }).transparency.witnesses).toEqual([a, b]);
    expect(loadConfig({ TRANSPARENCY_WITNESSES_FILE: 'witnesses.txt' }, '/srv').transparency).toMatchObject({
      witnesses: [],
      witnessesFile: '/srv/witnesses.txt',
    });
  });

  it.each([
    ['not a key', 'is not a verifier key'],
    [vkey('reglament.gov.kz/log', 0x01), "is a signing key (type 0x01), not a witness's cosigning key (type 0x04)"],
    [vkey('sigsum.org/witness-impersonated', 0x04, 'auditor.example/w1'), 'does not match the key'],
  ])('refuses TRANSPARENCY_WITNESSES=%s naming the variable, the value and what is allowed', (value, problem) => {
    const good = vkey('auditor.example/w1');
    try {
      loadConfig({ TRANSPARENCY_WITNESSES: `${good},${value}` });
      throw new Error('accepted');
    } catch (error) {
      expect(error).toBeInstanceOf(ConfigError);
      expect((error as ConfigError).problems).toEqual([
        {
          variable: 'TRANSPARENCY_WITNESSES',
          value: `${good},${value}`,
          problem: expect.stringContaining(problem),
          allowed: expect.stringContaining("witnesses' verifier keys <name>+<8 hex digits of key id>+<base64(0x04"),
        },
      ]);
    }
  });

  it('refuses TRANSPARENCY_WITNESSES and TRANSPARENCY_WITNESSES_FILE set together', () => {
    expect(() =>
      loadConfig({ TRANSPARENCY_WITNESSES: vkey('auditor.example/w1'), TRANSPARENCY_WITNESSES_FILE: '/etc/w.txt' }),
    ).toThrow(/TRANSPARENCY_WITNESSES_FILE="\/etc\/w.txt": set together with TRANSPARENCY_WITNESSES/);
  });

  it('reads the process environment itself, which is not a plain object', () => {
    const saved = process.env.PORT;
    process.env.PORT = '8123';
    try {
      expect(loadConfig(process.env).port).toBe(8123);
    } finally {
      if (saved === undefined) delete process.env.PORT;
      else process.env.PORT = saved;
    }
  });
});

describe('secretPlacementProblems', () => {
  const shape = { DATA_DIR: '/srv/data', NODE_ENV: 'production' };
  const named = (env: Record<string, string>, holder: 'service' | 'command') =>
    secretPlacementProblems(loadConfig({ ...shape, ...env }), holder).map((p) => p.variable);

  it('holds a command of the data directory to the master key and to where every key file lies, as the service is', () => {
    expect(named({}, 'service')).toEqual(['AUTH_JWT_SECRET', 'PERSONAL_DATA_MASTER_KEY', 'EVIDENCE_KEY_FILE']);
    // The token secret and the evidence key are asked for by the commands that use them.
    expect(named({}, 'command')).toEqual(['PERSONAL_DATA_MASTER_KEY']);
    const inside = {
      PERSONAL_DATA_MASTER_KEY_FILE: '/srv/data/personal-data-master-key',
      EVIDENCE_KEY_FILE: '/srv/data/evidence-signing-key.pem',
    };
    expect(named(inside, 'command')).toEqual(['PERSONAL_DATA_MASTER_KEY_FILE', 'EVIDENCE_KEY_FILE']);
    expect(named({ SIGNING_KEYS_DIR: '/srv/data/keys', PERSONAL_DATA_MASTER_KEY: 'ab'.repeat(32) }, 'command')).toEqual(
      ['SIGNING_KEYS_DIR'],
    );
    expect(secretPlacementProblems(loadConfig({ DATA_DIR: '/srv/data', ...inside }), 'command')).toEqual([]);
  });
});
