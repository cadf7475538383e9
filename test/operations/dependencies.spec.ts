/**
 * What an operator installs and runs: `npm ci` on the Node the tests run on warns of no unsupported engine, the
 * Dockerfile's images are that Node line, and the health checks ask the right question (the image: is the process
 * alive; the compose services: is it ready for traffic).
 */
import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse } from 'yaml';

const ROOT = join(__dirname, '../..');
const hasNpm = spawnSync('npm', ['--version'], { stdio: 'ignore' }).status === 0;

(hasNpm ? it : it.skip)(
  `npm ci on Node ${process.version} prints no EBADENGINE warning (the lock as it is, resolved without installing)`,
  () => {
    const dir = mkdtempSync(join(tmpdir(), 'reglament-npm-ci-'));
    try {
      copyFileSync(join(ROOT, 'package.json'), join(dir, 'package.json'));
      copyFileSync(join(ROOT, 'package-lock.json'), join(dir, 'package-lock.json'));
      const r = spawnSync('npm', ['ci', '--dry-run', '--ignore-scripts', '--offline', '--no-audit', '--no-fund'], {
        cwd: dir,
        encoding: 'utf8',
        env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? dir },
      });
      expect(r.status).toBe(0);
      expect(`${r.stdout}${r.stderr}`.split('\n').filter((line) => line.includes('EBADENGINE'))).toEqual([]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  },
  120_000,
);

it("the Dockerfile's images are the Node line the tests run on, and its HEALTHCHECK is liveness", () => {
  const dockerfile = readFileSync(join(ROOT, 'Dockerfile'), 'utf8');
  const [major, minor] = process.versions.node.split('.');
  const images = [...dockerfile.matchAll(/^FROM (\S+)/gm)].map((m) => m[1]);
  expect(images).toEqual([`node:${major}.${minor}-bookworm`, `node:${major}.${minor}-bookworm-slim`]);
  expect(dockerfile).toMatch(/^HEALTHCHECK .*\/health\/live/m);
});

it('the compose services of the API and the worker are healthy when ready for traffic', () => {
  const compose = parse(readFileSync(join(ROOT, 'docker-compose.yml'), 'utf8')) as {
    services: Record<string, { healthcheck?: { test: string[] } }>;
  };
  expect(compose.services.api!.healthcheck!.test.join(' ')).toContain('http://127.0.0.1:3000/health/ready');
  expect(compose.services.worker!.healthcheck!.test.join(' ')).toContain('http://127.0.0.1:3100/health/ready');
});
