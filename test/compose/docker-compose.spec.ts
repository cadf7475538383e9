import { execFileSync, spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { parse } from 'yaml';

const root = join(__dirname, '..', '..');
const hasDockerCompose = spawnSync('docker-compose', ['version'], { stdio: 'ignore' }).status === 0;
const describeIfCompose = hasDockerCompose ? describe : describe.skip;

describeIfCompose(hasDockerCompose ? 'docker-compose.yml' : 'docker-compose.yml — skipped: the docker-compose command is not installed', () => {
  it('is a valid compose file (docker-compose config -q)', () => {
    expect(() => execFileSync('docker-compose', ['-f', 'docker-compose.yml', 'config', '-q'], { cwd: root, stdio: 'pipe' })).not.toThrow();
  });

  it('wires the production shape: KurrentDB, MongoDB replica set, API without projections, one worker', () => {
    const resolved = parse(execFileSync('docker-compose', ['-f', 'docker-compose.yml', 'config'], { cwd: root, encoding: 'utf8' })) as {
      services: Record<string, { environment?: Record<string, string>; healthcheck?: unknown; command?: string[]; image?: string }>;
      volumes: Record<string, unknown>;
    };
    expect(Object.keys(resolved.services).sort()).toEqual(['api', 'kurrentdb', 'mongo', 'worker']);
    for (const service of Object.values(resolved.services)) expect(service.healthcheck).toBeDefined();
    expect(resolved.services.mongo.command).toEqual(expect.arrayContaining(['--replSet', 'rs0']));
    expect(resolved.services.api.environment).toMatchObject({ EVENT_STORE: 'eventstoredb', READ_STORE: 'mongodb', PROJECTIONS: 'off' });
    expect(resolved.services.worker.command).toEqual(['node', 'dist/worker.js']);
    expect(Object.keys(resolved.volumes).length).toBeGreaterThanOrEqual(2);
  });
});
