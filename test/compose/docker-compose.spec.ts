import { execFileSync, spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { ConfigError, loadConfig } from '../../src/shared/config/config';
import { PROJECTION_PROCESS_V8_FLAGS } from '../../src/app/projection-process';
import { API_PROCESS_V8_FLAGS } from '../../src/app/api-process-flags';

const root = join(__dirname, '..', '..');
const hasDockerCompose = spawnSync('docker-compose', ['version'], { stdio: 'ignore' }).status === 0;
const describeIfCompose = hasDockerCompose ? describe : describe.skip;

interface Service {
  environment?: Record<string, string>;
  healthcheck?: { test: string[] };
  command?: string[];
  image?: string;
  ports?: Array<string | { target: number; published?: number | string }>;
  depends_on?: Record<string, { condition: string }>;
}

const SECRETS = [
  'MONGO_ROOT_PASSWORD',
  'MONGO_APP_PASSWORD',
  'KURRENTDB_ADMIN_PASSWORD',
  'KURRENTDB_OPS_PASSWORD',
  'KURRENTDB_APP_PASSWORD',
];

/** The resolved file, with the secrets set as an operator sets them (or unset). */
function resolved(env: Record<string, string> = {}): {
  services: Record<string, Service>;
  volumes: Record<string, unknown>;
} {
  const clean = Object.fromEntries(Object.entries(process.env).filter(([k]) => !SECRETS.includes(k)));
  return parse(
    execFileSync('docker-compose', ['-f', 'docker-compose.yml', 'config'], {
      cwd: root,
      encoding: 'utf8',
      env: { ...clean, ...env },
    }),
  );
}

/** A command as the container runs it: compose turns `$$` into `$` when it creates the container. */
const unescaped = (text: string) => text.replace(/\$\$/g, '$');

describeIfCompose(
  hasDockerCompose ? 'docker-compose.yml' : 'docker-compose.yml — skipped: the docker-compose command is not installed',
  () => {
    it('is a valid compose file (docker-compose config -q)', () => {
      expect(() =>
        execFileSync('docker-compose', ['-f', 'docker-compose.yml', 'config', '-q'], { cwd: root, stdio: 'pipe' }),
      ).not.toThrow();
    });

    it('wires the production shape: KurrentDB, MongoDB replica set, API without projections, one worker, each long-running service health-checked', () => {
      const { services, volumes } = resolved();
      expect(Object.keys(services).sort()).toEqual([
        'api',
        'kurrentdb',
        'kurrentdb-certs',
        'kurrentdb-setup',
        'mongo',
        'mongo-keyfile',
        'mongo-setup',
        'preflight',
        'worker',
      ]);
      for (const name of ['api', 'kurrentdb', 'mongo', 'worker']) expect(services[name]!.healthcheck).toBeDefined();
      expect(services.mongo!.command).toEqual(expect.arrayContaining(['--replSet', 'rs0', '--keyFile']));
      expect(services.api!.environment).toMatchObject({
        EVENT_STORE: 'eventstoredb',
        READ_STORE: 'mongodb',
        PROJECTIONS: 'off',
      });
      expect(services.worker!.command).toEqual(['node', ...PROJECTION_PROCESS_V8_FLAGS, 'dist/worker.js']);
      // The API runs the image's CMD, which carries the API's V8 flags (tested below).
      expect(services.api!.command).toBeUndefined();
      // The API keeps no tree: its evidence packs' proofs come from the worker, at the port it serves them on.
      expect(services.api!.environment!.TRANSPARENCY_WORKER_URL).toBe(
        `http://worker:${services.worker!.environment!.WORKER_PORT}`,
      );
      expect(Object.keys(volumes).length).toBeGreaterThanOrEqual(2);
    });

    it('gives the API an environment the app accepts, with an EventStoreDB URL the client can parse and credentials for both stores', () => {
      const { services } = resolved(
        Object.fromEntries(SECRETS.map((s) => [s, `${s.toLowerCase().replace(/_/g, '')}0123`])),
      );
      for (const name of ['api', 'worker']) {
        const env = services[name]!.environment!;
        // Only the store URLs are this test's concern: whatever else the app may require is asked of the operator elsewhere.
        let problems: string[] = [];
        try {
          loadConfig(env);
        } catch (error) {
          if (!(error instanceof ConfigError)) throw error;
          problems = error.problems.map((p) => p.variable);
        }
        expect(problems).not.toContain('EVENTSTORE_URL');
        expect(problems).not.toContain('MONGODB_URL');
        expect(problems).not.toContain('TRANSPARENCY_WORKER_URL');
        expect(env.EVENTSTORE_URL).toMatch(/^esdb:\/\/reglament:kurrentdbapppassword0123@kurrentdb:2113\?tls=true/);
        expect(env.MONGODB_URL).toMatch(/^mongodb:\/\/reglament:mongoapppassword0123@mongo:27017\/\?replicaSet=rs0/);
      }
    });

    it('starts nothing without the secrets: preflight exits 78 naming each missing one, and passes once they are set', () => {
      const script = unescaped(resolved().services.preflight!.command![2]!);
      const bare = spawnSync('sh', ['-c', script], { env: { PATH: process.env.PATH ?? '' }, encoding: 'utf8' });
      expect(bare.status).toBe(78);
      for (const secret of SECRETS) expect(bare.stderr).toContain(secret);
      const set = spawnSync('sh', ['-c', script], {
        env: { PATH: process.env.PATH ?? '', ...Object.fromEntries(SECRETS.map((s) => [s, 'abc123'])) },
        encoding: 'utf8',
      });
      expect(set.status).toBe(0);
      const unsafe = spawnSync('sh', ['-c', script], {
        env: { PATH: process.env.PATH ?? '', ...Object.fromEntries(SECRETS.map((s) => [s, 'p@ss/word'])) },
        encoding: 'utf8',
      });
      expect(unsafe.status).toBe(78);
      expect(unsafe.stderr).toMatch(/URL-safe/);
      for (const name of ['kurrentdb', 'mongo'])
        expect(resolved().services[name]!.depends_on).toMatchObject({
          preflight: { condition: 'service_completed_successfully' },
        });
    });

    it('lets the API scale: no fixed host port; the stores listen on the loopback interface only; MongoDB is healthy only as PRIMARY', () => {
      const { services } = resolved();
      for (const port of services.api!.ports ?? [])
        expect(typeof port === 'string' ? port : String(port.published ?? '')).not.toMatch(/3000:/);
      for (const name of ['kurrentdb', 'mongo'])
        for (const port of services[name]!.ports ?? [])
          expect(String(typeof port === 'string' ? port : (port as { host_ip?: string }).host_ip)).toMatch(
            /^127\.0\.0\.1/,
          );
      expect(services.mongo!.healthcheck!.test.join(' ')).toMatch(/isWritablePrimary/);
      // The applications get the CA certificate, never the node's or the CA's private key.
      for (const name of ['api', 'worker', 'kurrentdb-setup']) {
        expect(JSON.stringify((services[name] as { volumes?: unknown }).volumes ?? [])).not.toContain(
          'kurrentdb-certs',
        );
      }
      for (const name of ['api', 'worker'])
        expect(services[name]!.depends_on).toMatchObject({
          'kurrentdb-setup': { condition: 'service_completed_successfully' },
          'mongo-setup': { condition: 'service_completed_successfully' },
        });
    });
  },
);

describe('the API process', () => {
  it("runs with its V8 flags from npm start, the image (which the compose file's API runs) and npm run bench", () => {
    const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { scripts: Record<string, string> };
    const flags = API_PROCESS_V8_FLAGS.join(' ');
    expect(pkg.scripts.start).toBe(`node ${flags} dist/main.js`);
    expect(pkg.scripts.bench).toContain(`node ${flags} dist/bench/run.js`);
    const cmd = /^CMD (.+)$/m.exec(readFileSync(join(root, 'Dockerfile'), 'utf8'))![1]!;
    expect(JSON.parse(cmd)).toEqual(['node', ...API_PROCESS_V8_FLAGS, 'dist/main.js']);
  });
});

describe('the projection worker outside the compose file', () => {
  it('npm run start:worker runs it with the V8 flags of every projection process', () => {
    const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { scripts: Record<string, string> };
    expect(pkg.scripts['start:worker']).toContain(`node ${PROJECTION_PROCESS_V8_FLAGS.join(' ')} dist/worker.js`);
  });
});
