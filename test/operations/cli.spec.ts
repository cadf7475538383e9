/**
 * The command-line interface as an operator meets it, run from the sources as `npm run cli` runs the build: one
 * list of commands, `--help` on each, one answer to a mistyped option, `--data-dir` over DATA_DIR for every command
 * that touches data, and a user's mistake told in one line without a stack trace.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openSqliteReadStore } from '../../src/modules/read-store/sqlite/sqlite-read-store';
import { READ_STORE_FILE } from '../../src/modules/read-store/open-read-store';
import { REGISTRY_COLLECTION, type RegistryEntry } from '../../src/projections/projection-registry';
import { physicalCollection } from '../../src/projections/projection';

const ROOT = join(__dirname, '../..');

function cli(
  args: string[],
  env: Record<string, string> = {},
): { code: number | null; stdout: string; stderr: string } {
  const result = spawnSync(
    process.execPath,
    ['-r', join(ROOT, 'test/support/swc-register.js'), join(ROOT, 'src/cli/main.ts'), ...args],
    {
      cwd: ROOT,
      env: { PATH: process.env.PATH ?? '', LOG_LEVEL: 'warn', CI: '1', ...env },
      encoding: 'utf8',
    },
  );
  return { code: result.status, stdout: result.stdout, stderr: result.stderr };
}

const COMMANDS = [
  'accept-log-loss',
  'backup',
  'check',
  'demo',
  'erase',
  'lint',
  'migrate',
  'mint-token',
  'rebuild',
  'rebuild-tree',
  'restore',
  'retention-report',
  'rotate-master-key',
  'verify',
  'verify-evidence',
  'witness',
];

const dirs: string[] = [];
const tempDir = (tag: string) => {
  const dir = mkdtempSync(join(tmpdir(), `reglament-cli-${tag}-`));
  dirs.push(dir);
  return dir;
};
afterAll(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

/** A stack trace's frames, which a user's mistake never shows. */
const STACK_FRAME = /^\s+at /m;

describe('npm run cli', () => {
  it('--help lists every command with a one-line summary, on stdout, exit 0', () => {
    const r = cli(['--help']);
    expect(r.code).toBe(0);
    const listed = r.stdout
      .split('\n')
      .filter((line) => /^ {2}\S/.test(line))
      .map((line) => /^ {2}(\S+) {2,}(\S.*)$/.exec(line));
    expect(listed.every((m) => m !== null)).toBe(true);
    expect(listed.map((m) => m![1])).toEqual(COMMANDS);
    expect(cli([]).stdout).toBe(r.stdout);
  });

  it('an unknown command is named on stderr with the list, exit 2', () => {
    const r = cli(['frobnicate']);
    expect(r.code).toBe(2);
    expect(r.stderr.split('\n')[0]).toBe('unknown command: frobnicate');
    expect(r.stderr).toContain('  verify-evidence  ');
  });

  it.each(COMMANDS)(
    '%s --help prints its usage on stdout and exits 0, touching no data',
    (command) => {
      const dataDir = join(tempDir('help'), 'data');
      const r = cli([command, '--help'], { DATA_DIR: dataDir });
      expect({ code: r.code, stderr: r.stderr }).toEqual({ code: 0, stderr: '' });
      expect(r.stdout).toMatch(new RegExp(`^usage: npm run (cli -- ${command}|demo --)`));
      expect(existsSync(dataDir)).toBe(false);
    },
    30_000,
  );

  it.each(COMMANDS)(
    '%s --no-such-option: one line naming it, then the usage; exit 2, no stack trace',
    (command) => {
      const r = cli([command, '--no-such-option']);
      expect(r.code).toBe(2);
      expect(r.stderr.split('\n')[0]).toMatch(new RegExp(`^${command}: Unknown option '--no-such-option'`));
      expect(r.stderr).toContain('usage: npm run ');
      expect(r.stderr).not.toMatch(STACK_FRAME);
    },
    30_000,
  );

  it('a file that cannot be read is one line naming it, not a stack trace', () => {
    const missing = join(tempDir('missing'), 'no-such-key');
    const r = cli(['rotate-master-key', '--new-key-file', missing, '--data-dir', tempDir('rotate')]);
    expect(r.code).not.toBe(0);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toContain(missing);
    expect(r.stderr).not.toMatch(STACK_FRAME);
  }, 30_000);

  it('every command that reads the data directory reads --data-dir over DATA_DIR', () => {
    const elsewhere = join(tempDir('env'), 'data');
    const dataDir = join(tempDir('flag'), 'data');
    const env = { DATA_DIR: elsewhere };
    const seeded = cli(['demo', '--cases', '3', '--data-dir', dataDir], env);
    expect(seeded.code).toBe(0);
    expect(readdirSync(dataDir)).toContain('events.db');

    const check = cli(['check', '--data-dir', dataDir], env);
    expect(check.code).toBe(0);
    expect(check.stdout).toContain(`${join(dataDir, 'events.db')}: ok`);
    const verify = cli(['verify', '--data-dir', dataDir], env);
    expect(verify.code).toBe(0);
    expect(cli(['rebuild-tree', '--data-dir', dataDir], env).code).toBe(0);
    const rebuild = cli(['rebuild', 'log-overview', '--data-dir', dataDir], env);
    expect(rebuild.code).toBe(0);
    expect(rebuild.stdout).toMatch(/^log-overview: rebuilt as v\d+/m);
    // The demo builds no read model: a report from one is refused in one line saying what to do.
    const early = cli(['retention-report', '--data-dir', dataDir], env);
    expect(early.code).toBe(1);
    expect(early.stderr.trim().split('\n')).toEqual([
      'reglament retention-report: the cases read model is still being built: start the service on this data directory, or run `npm run cli -- rebuild cases`',
    ]);
    expect(cli(['rebuild', 'cases', '--data-dir', dataDir], env).code).toBe(0);
    const report = cli(['retention-report', '--data-dir', dataDir], env);
    expect(report.code).toBe(0);
    expect(report.stdout).toMatch(/^(retention-report: no personal data is due|due: )/m);
    const token = cli(
      [
        'mint-token',
        '--sub',
        'u1',
        '--name',
        'Айгерим',
        '--roles',
        'registry-clerk',
        '--unit',
        'astana',
        '--data-dir',
        dataDir,
      ],
      env,
    );
    expect(token.code).toBe(0);
    const backup = join(tempDir('backup'), 'copy');
    expect(cli(['backup', '--to', backup, '--data-dir', dataDir], env).code).toBe(0);
    // Nothing was read from, or written to, the DATA_DIR of the environment.
    expect(existsSync(elsewhere)).toBe(false);
  }, 240_000);

  it('rebuild --all builds every read model side by side and they hold what rebuilding each alone builds', async () => {
    const dataDir = join(tempDir('rebuild-all'), 'data');
    expect(cli(['demo', '--cases', '4', '--data-dir', dataDir]).code).toBe(0);
    /** Every active build's documents, by projection and collection (generations left out). */
    const activeDocuments = async (): Promise<Record<string, unknown[]>> => {
      const store = openSqliteReadStore({ file: join(dataDir, READ_STORE_FILE) });
      try {
        const result: Record<string, unknown[]> = {};
        const collections = await store.listCollections();
        for (const entry of await store.collection<RegistryEntry>(REGISTRY_COLLECTION).find({})) {
          const prefix = physicalCollection(entry._id, entry.active!, '');
          for (const name of collections.filter((c) => c.startsWith(prefix)).sort()) {
            const docs = await store.collection(name).find({});
            result[`${entry._id}.${name.slice(prefix.length)}`] = docs.sort((a, b) => (a._id < b._id ? -1 : 1));
          }
        }
        return result;
      } finally {
        await store.close();
      }
    };
    const names = ['log-overview', 'cases', 'compliance', 'catalog-usage'];
    for (const name of names) expect(cli(['rebuild', name, '--data-dir', dataDir]).code).toBe(0);
    const separately = await activeDocuments();
    expect(Object.keys(separately).map((k) => k.split('.')[0])).toEqual(expect.arrayContaining(names));
    expect(Object.values(separately).some((docs) => docs.length > 0)).toBe(true);

    // On two threads whatever the machine (one is the default below four cores): the worker thread's builds too.
    const all = cli(['rebuild', '--all', '--data-dir', dataDir], { REBUILD_THREADS: '2' });
    expect(all.code).toBe(0);
    for (const name of names)
      expect(all.stdout).toMatch(new RegExp(`^${name}: rebuilt as v\\d+ generation 2 .*readers switched$`, 'm'));
    expect(await activeDocuments()).toEqual(separately);
    // A name given twice is rebuilt once.
    const twice = cli(['rebuild', 'log-overview', 'log-overview', '--data-dir', dataDir]);
    expect(twice.code).toBe(0);
    expect(twice.stdout.trim().split('\n')).toEqual([
      expect.stringMatching(/^log-overview: rebuilt as v\d+ generation 3 /),
    ]);
  }, 240_000);

  it('rebuild names the projections it knows when given none, exit 2', () => {
    const r = cli(['rebuild', '--data-dir', tempDir('rebuild')]);
    expect(r.code).toBe(2);
    expect(r.stderr.split('\n')[0]).toMatch(/^rebuild: name a projection \(.*log-overview.*\) or --all$/);
  }, 30_000);
});
