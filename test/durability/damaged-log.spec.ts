/**
 * Issue 14.3: a damaged page of events.db. The server checks the log on every start and refuses a damaged one
 * (exit 65, naming the file and the damage) instead of serving and writing to it; `cli check` checks it in full and
 * `cli verify` says what is wrong in one line instead of dying with a stack.
 */
import { closeSync, mkdtempSync, openSync, rmSync, statSync, truncateSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { cli, fileCases, ProcessStartFailed, startProcess, type ServerProcess } from '../support/server-process';

const PAGE = 4096;

describe('a damaged page in the event log', () => {
  const dir = mkdtempSync(join(tmpdir(), 'reglament-damaged-'));
  const file = join(dir, 'events.db');
  let server: ServerProcess | null = null;

  beforeAll(async () => {
    server = await startProcess('main', { DATA_DIR: dir });
    await fileCases(server, 60);
    // A clean stop checkpoints the WAL into events.db: every page the test damages is in the file itself.
    expect(await server.stop()).toBe(0);
    server = null;
    expect(statSync(`${file}-wal`, { throwIfNoEntry: false })?.size ?? 0).toBe(0);
    const pages = statSync(file).size / PAGE;
    expect(pages).toBeGreaterThan(10);
    // The header of a page in the middle of the file, as a torn write or a bad sector would leave it.
    const fd = openSync(file, 'r+');
    writeSync(fd, Buffer.alloc(48, 0xa5), 0, 48, Math.floor(pages / 2) * PAGE);
    closeSync(fd);
  }, 120_000);

  afterAll(async () => {
    await server?.killAll();
    rmSync(dir, { recursive: true, force: true });
  });

  it('the server refuses to start (exit 65), naming the file and what is damaged; nothing is served or written', async () => {
    const size = statSync(file).size;
    const outcome = await startProcess('main', { DATA_DIR: dir }).then(
      (s) => (server = s),
      (error: unknown) => error,
    );
    expect(outcome).toBeInstanceOf(ProcessStartFailed);
    const failed = outcome as ProcessStartFailed;
    expect(failed.code).toBe(65);
    expect(failed.stderrText).toContain(`${file} is damaged`);
    expect(failed.stderrText).toMatch(/page|btree|Tree|malformed/i);
    expect(failed.stderrText).not.toMatch(/\n\s+at /);
    expect(statSync(file).size).toBe(size);
  }, 60_000);

  it('`cli check` finds the damage in full and exits 1 naming the file', () => {
    const result = cli(['check'], dir);
    expect(result.code).toBe(1);
    expect(result.stdout).toContain(`${file}: DAMAGED`);
  }, 60_000);

  it('`cli verify` ends with one line naming the file and the damage, not a stack (exit 65)', () => {
    const result = cli(['verify'], dir);
    expect({ code: result.code, stderr: result.stderr }).toEqual({
      code: 65,
      stderr: expect.stringContaining(`${file}`),
    });
    expect(result.stderr).toMatch(/damaged|malformed/);
    expect(result.stderr).not.toMatch(/\n\s+at /);
  }, 60_000);

  it('`cli check` on an intact log says so and exits 0', async () => {
    const intact = mkdtempSync(join(tmpdir(), 'reglament-intact-'));
    try {
      const s = await startProcess('main', { DATA_DIR: intact });
      await fileCases(s, 3);
      await s.stop();
      const result = cli(['check'], intact);
      expect({ code: result.code, stdout: result.stdout }).toEqual({
        code: 0,
        stdout: expect.stringContaining(`${join(intact, 'events.db')}: ok (integrity_check`),
      });
      expect(result.stdout).toContain('acknowledged events: all in the log');
    } finally {
      rmSync(intact, { recursive: true, force: true });
    }
  }, 120_000);
});

// Found by the crash tester: a log cut short (a copy interrupted, a disk that lost its tail) stopped the start with exit 1
// and "cannot open the event log: database disk image is malformed", as a file that could not be opened, not damage.
describe('an event log cut short', () => {
  const dir = mkdtempSync(join(tmpdir(), 'reglament-truncated-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('is refused as damaged: exit 65 naming the file, no stack', async () => {
    const s = await startProcess('main', { DATA_DIR: dir });
    await fileCases(s, 20);
    expect(await s.stop()).toBe(0);
    const file = join(dir, 'events.db');
    truncateSync(file, Math.floor(statSync(file).size / PAGE / 2) * PAGE);
    const outcome = await startProcess('main', { DATA_DIR: dir }).then(
      async (started) => (await started.killAll(), started),
      (error: unknown) => error,
    );
    expect(outcome).toBeInstanceOf(ProcessStartFailed);
    const failed = outcome as ProcessStartFailed;
    expect(failed.code).toBe(65);
    expect(failed.stderrText).toContain(`${file} is damaged`);
    expect(failed.stderrText).not.toMatch(/\n\s+at /);
  }, 120_000);
});
