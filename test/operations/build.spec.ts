/**
 * The build as `npm start` and the Dockerfile run it (package.json's `build` script), then the built service: every
 * other spec runs the sources, so only this one sees what the build ships. The dashboard's script is browser code that
 * the build once compiled to CommonJS with the server's code: its `import()` of the event-stream parser became a
 * `require` the browser does not have, and the served dashboard never followed the live stream.
 */
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const ROOT = join(__dirname, '../..');
const PAGE_FILES = ['dashboard.js', 'dashboard.css', 'index.html'];

describe('the built service', () => {
  // Beside dist, so the built code finds the shipped regulations where dist's does (../../../data from its config).
  const out = join(ROOT, `.build-check-${process.pid}`);
  const dataDir = mkdtempSync(join(tmpdir(), 'reglament-build-'));
  afterAll(() => {
    rmSync(out, { recursive: true, force: true });
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('ships the dashboard page and its script as written, and serves them so', async () => {
    const script = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')).scripts.build as string;
    expect(script).toMatch(/\bdist\b/);
    const built = spawnSync('sh', ['-c', script.replace(/\bdist\b/g, out)], { cwd: ROOT, encoding: 'utf8' });
    expect({ code: built.status, stderr: built.stderr }).toEqual({ code: 0, stderr: '' });
    for (const file of PAGE_FILES)
      expect(readFileSync(join(out, 'modules/compliance/dashboard', file), 'utf8')).toBe(
        readFileSync(join(ROOT, 'src/modules/compliance/dashboard', file), 'utf8'),
      );

    const port = 40_000 + (process.pid % 10_000);
    const server = spawn(process.execPath, [join(out, 'main.js')], {
      cwd: ROOT,
      env: { PATH: process.env.PATH ?? '', DATA_DIR: dataDir, PORT: String(port), LOG_LEVEL: 'info' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    try {
      let output = '';
      await new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`the built service did not start: ${output}`)), 30_000);
        const seen = (chunk: Buffer) => {
          output += chunk.toString();
          if (output.includes('reglament listening')) (clearTimeout(timer), resolve());
        };
        server.stdout.on('data', seen);
        server.stderr.on('data', seen);
        server.on('exit', (code) => reject(new Error(`the built service exited with ${code}: ${output}`)));
      });
      for (const [path, file] of [
        ['/dashboard/dashboard.js', 'dashboard.js'],
        ['/dashboard', 'index.html'],
      ] as const) {
        const answer = await fetch(`http://127.0.0.1:${port}${path}`);
        expect({ path, status: answer.status }).toEqual({ path, status: 200 });
        expect(await answer.text()).toBe(readFileSync(join(ROOT, 'src/modules/compliance/dashboard', file), 'utf8'));
      }
    } finally {
      server.kill('SIGTERM');
    }
  }, 120_000);
});
