/**
 * Outside the embedded single-user default the token secret and the evidence key are configuration kept out of
 * DATA_DIR (issue 14.15: a stolen copy of the data directory held the generated secret and minted an admin token).
 */
import { spawn, spawnSync } from 'node:child_process';
import { generateKeyPairSync } from 'node:crypto';
import { cpSync, existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startApi } from '../../src/app/bootstrap';
import { ConfigError, loadConfig } from '../../src/shared/config/config';
import { createLogger } from '../../src/shared/logging/logger';

const ROOT = join(__dirname, '../..');
const REGISTER = join(ROOT, 'test/support/swc-register.js');
const SECRET = 'a-configured-secret-of-at-least-32-bytes!';
const dirs: string[] = [];
const tempDir = (prefix: string) => {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  dirs.push(dir);
  return dir;
};
afterAll(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

function keyFileIn(dir: string): string {
  const file = join(dir, 'evidence.pem');
  writeFileSync(file, generateKeyPairSync('ed25519').privateKey.export({ type: 'pkcs8', format: 'pem' }), {
    mode: 0o600,
  });
  return file;
}

async function refusal(env: Record<string, string>, dataDir = tempDir('reglament-secrets-')): Promise<string[]> {
  const before = readdirSync(dataDir);
  try {
    const api = await startApi(
      loadConfig({ DATA_DIR: dataDir, PORT: '0', LOG_LEVEL: 'silent', ...env }),
      createLogger('silent'),
    );
    await api.close();
    return [];
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    // Refused before anything was generated or opened.
    expect(readdirSync(dataDir)).toEqual(before);
    return error.problems.map((p) => p.variable);
  }
}

describe.each([
  ['EVENT_STORE=eventstoredb', { EVENT_STORE: 'eventstoredb', EVENTSTORE_URL: 'esdb://127.0.0.1:1?tls=false' }],
  ['READ_STORE=mongodb', { READ_STORE: 'mongodb', MONGODB_URL: 'mongodb://127.0.0.1:1/?replicaSet=rs0' }],
  ['NODE_ENV=production', { NODE_ENV: 'production' }],
  ['HOST=0.0.0.0', { HOST: '0.0.0.0' }],
  ['HOST=::', { HOST: '::' }],
])('with %s', (_, shape) => {
  it('start-up is refused naming AUTH_JWT_SECRET, PERSONAL_DATA_MASTER_KEY and EVIDENCE_KEY_FILE when none is given', async () => {
    expect(await refusal(shape)).toEqual(['AUTH_JWT_SECRET', 'PERSONAL_DATA_MASTER_KEY', 'EVIDENCE_KEY_FILE']);
  });

  it('start-up is refused naming EVIDENCE_KEY_FILE and PERSONAL_DATA_MASTER_KEY_FILE when the keys lie inside DATA_DIR', async () => {
    const dataDir = tempDir('reglament-secrets-');
    const key = keyFileIn(dataDir);
    const master = join(dataDir, 'master-key');
    writeFileSync(master, 'ab'.repeat(32));
    expect(
      await refusal(
        { AUTH_JWT_SECRET: SECRET, EVIDENCE_KEY_FILE: key, PERSONAL_DATA_MASTER_KEY_FILE: master, ...shape },
        dataDir,
      ),
    ).toEqual(['PERSONAL_DATA_MASTER_KEY_FILE', 'EVIDENCE_KEY_FILE']);
  });
});

it('exit 78 from the real process, naming the variables, and nothing generated in DATA_DIR', () => {
  const dataDir = tempDir('reglament-secrets-');
  const run = spawnSync(process.execPath, ['-r', REGISTER, join(ROOT, 'src/main.ts')], {
    env: { PATH: process.env.PATH ?? '', DATA_DIR: dataDir, PORT: '0', NODE_ENV: 'production', LOG_LEVEL: 'silent' },
    encoding: 'utf8',
    timeout: 60_000,
  });
  expect(run.status).toBe(78);
  expect(run.stderr).toMatch(
    /AUTH_JWT_SECRET=\(unset\): AUTH_JWT_SECRET or AUTH_JWKS_URL is required outside the embedded single-user default \(NODE_ENV=production\)/,
  );
  expect(run.stderr).toMatch(/EVIDENCE_KEY_FILE=\(unset\)/);
  expect(run.stderr).toMatch(
    /PERSONAL_DATA_MASTER_KEY=\(unset\): PERSONAL_DATA_MASTER_KEY or PERSONAL_DATA_MASTER_KEY_FILE is required/,
  );
  expect(readdirSync(dataDir)).toEqual([]);
}, 60_000);

it('in production with both secrets configured, a stolen copy of DATA_DIR mints no token the server accepts', async () => {
  const dataDir = tempDir('reglament-secrets-');
  const keys = tempDir('reglament-keys-');
  const api = await startApi(
    loadConfig({
      DATA_DIR: dataDir,
      PORT: '0',
      LOG_LEVEL: 'silent',
      NODE_ENV: 'production',
      AUTH_JWT_SECRET: SECRET,
      EVIDENCE_KEY_FILE: keyFileIn(keys),
      PERSONAL_DATA_MASTER_KEY: 'cd'.repeat(32),
    }),
    createLogger('silent'),
  );
  try {
    expect(existsSync(join(dataDir, 'auth-secret'))).toBe(false);
    expect(existsSync(join(dataDir, 'evidence-signing-key.pem'))).toBe(false);
    expect(existsSync(join(dataDir, 'personal-data-master-key'))).toBe(false);
    const stolen = tempDir('reglament-stolen-');
    cpSync(dataDir, stolen, { recursive: true });
    const minted = spawnSync(
      process.execPath,
      [
        '-r',
        REGISTER,
        join(ROOT, 'src/cli/main.ts'),
        'mint-token',
        '--data-dir',
        stolen,
        '--sub',
        'intruder',
        '--name',
        'X',
        '--roles',
        'admin',
        '--unit',
        'astana',
      ],
      {
        env: { PATH: process.env.PATH ?? '' },
        encoding: 'utf8',
      },
    );
    expect(minted.status).toBe(0);
    const r = await fetch(`${api.url}/api/cases`, { headers: { authorization: `Bearer ${minted.stdout.trim()}` } });
    expect(r.status).toBe(401);
    expect(((await r.json()) as { detail: string }).detail).toMatch(/signature is not valid/);
  } finally {
    await api.close();
  }
}, 60_000);

it('the embedded default on loopback still generates both in DATA_DIR, so npm start needs no setup', async () => {
  const dataDir = tempDir('reglament-secrets-');
  const api = await startApi(loadConfig({ DATA_DIR: dataDir, PORT: '0', LOG_LEVEL: 'silent' }), createLogger('silent'));
  try {
    expect(existsSync(join(dataDir, 'auth-secret'))).toBe(true);
    expect(existsSync(join(dataDir, 'evidence-signing-key.pem'))).toBe(true);
    expect(existsSync(join(dataDir, 'personal-data-master-key'))).toBe(true);
  } finally {
    await api.close();
  }
});

it('mint-token refuses, exit 78, to generate a secret in DATA_DIR outside the embedded default', () => {
  const dataDir = tempDir('reglament-secrets-');
  const run = spawnSync(
    process.execPath,
    [
      '-r',
      REGISTER,
      join(ROOT, 'src/cli/main.ts'),
      'mint-token',
      '--data-dir',
      dataDir,
      '--sub',
      'a',
      '--name',
      'A',
      '--roles',
      'admin',
      '--unit',
      'astana',
    ],
    {
      // The master key configured: without it every command of the data directory is refused first (exit 78 too).
      env: { PATH: process.env.PATH ?? '', NODE_ENV: 'production', PERSONAL_DATA_MASTER_KEY: 'cd'.repeat(32) },
      encoding: 'utf8',
    },
  );
  expect(run.status).toBe(78);
  expect(run.stderr).toMatch(
    /AUTH_JWT_SECRET is required outside the embedded single-user default \(NODE_ENV=production\)/,
  );
  expect(readdirSync(dataDir)).toEqual([]);
}, 30_000);

it('a projection worker verifies no token, so it generates no token secret in DATA_DIR', async () => {
  const dataDir = tempDir('reglament-secrets-');
  const worker = spawn(process.execPath, ['-r', REGISTER, join(ROOT, 'src/worker.ts')], {
    env: { PATH: process.env.PATH ?? '', DATA_DIR: dataDir },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  try {
    await new Promise<void>((resolve, reject) => {
      let output = '';
      worker.stdout.on(
        'data',
        (chunk: Buffer) => ((output += chunk.toString()), /reglament worker running/.test(output) && resolve()),
      );
      worker.on('exit', (code) => reject(new Error(`the worker left with ${code}: ${output}`)));
    });
    expect(existsSync(join(dataDir, 'events.db'))).toBe(true);
    expect(existsSync(join(dataDir, 'auth-secret'))).toBe(false);
  } finally {
    worker.kill('SIGKILL');
  }
}, 60_000);

it('outside the embedded default a projection worker and a rebuild are refused (exit 78) without a configured master key, though DATA_DIR holds one', () => {
  // A copy of an embedded data directory, with the key it generated, run in production.
  const dataDir = tempDir('reglament-secrets-');
  writeFileSync(join(dataDir, 'personal-data-master-key'), `${'ab'.repeat(32)}\n`, { mode: 0o600 });
  const env = {
    PATH: process.env.PATH ?? '',
    DATA_DIR: dataDir,
    NODE_ENV: 'production',
    LOG_LEVEL: 'silent',
    EVIDENCE_KEY_FILE: keyFileIn(tempDir('reglament-secrets-')),
  };
  for (const args of [[join(ROOT, 'src/worker.ts')], [join(ROOT, 'src/cli/main.ts'), 'rebuild', 'cases']]) {
    const run = spawnSync(process.execPath, ['-r', REGISTER, ...args], { env, encoding: 'utf8', timeout: 30_000 });
    expect([args.at(-1), run.status]).toEqual([args.at(-1), 78]);
    expect(run.stdout + run.stderr).toMatch(
      /PERSONAL_DATA_MASTER_KEY or PERSONAL_DATA_MASTER_KEY_FILE is required outside the embedded single-user default/,
    );
    expect(existsSync(join(dataDir, 'keys.db'))).toBe(false);
  }
}, 90_000);

it("outside the embedded default a rotation to a new master key file inside DATA_DIR is refused (exit 78) before anything is re-wrapped (a review's finding: it ran)", () => {
  const dataDir = tempDir('reglament-secrets-');
  const keys = tempDir('reglament-secrets-');
  writeFileSync(join(keys, 'master-key'), `${'ab'.repeat(32)}\n`, { mode: 0o600 });
  writeFileSync(join(dataDir, 'new-master-key'), `${'cd'.repeat(32)}\n`, { mode: 0o600 });
  const env = {
    PATH: process.env.PATH ?? '',
    DATA_DIR: dataDir,
    NODE_ENV: 'production',
    LOG_LEVEL: 'silent',
    PERSONAL_DATA_MASTER_KEY_FILE: join(keys, 'master-key'),
  };
  const run = spawnSync(
    process.execPath,
    [
      '-r',
      REGISTER,
      join(ROOT, 'src/cli/main.ts'),
      'rotate-master-key',
      '--new-key-file',
      join(dataDir, 'new-master-key'),
    ],
    { env, encoding: 'utf8', timeout: 30_000 },
  );
  expect([run.status, run.stderr]).toEqual([78, expect.stringContaining('--new-key-file=')]);
  expect(run.stderr).toContain(`is inside DATA_DIR (${dataDir}) outside the embedded single-user default`);
  expect(readdirSync(dataDir)).toEqual(['new-master-key']);
}, 60_000);

describe.each([
  ['NODE_ENV=production', { NODE_ENV: 'production' }],
  [
    'EVENT_STORE=eventstoredb, READ_STORE=mongodb',
    {
      EVENT_STORE: 'eventstoredb',
      EVENTSTORE_URL: 'esdb://127.0.0.1:1?tls=false',
      READ_STORE: 'mongodb',
      MONGODB_URL: 'mongodb://127.0.0.1:1/?replicaSet=rs0',
    },
  ],
])('with %s and the master key file inside DATA_DIR', (_, shape) => {
  /**
   * The process's exit code and output; 'running' when it started instead of leaving, 'waiting' when it neither left
   * nor started in 40 s (a store it cannot reach): either is stopped then.
   */
  function outcome(
    args: string[],
    env: Record<string, string>,
  ): Promise<{ code: number | 'running' | 'waiting'; output: string }> {
    const child = spawn(process.execPath, ['-r', REGISTER, ...args], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    return new Promise((resolve) => {
      let output = '';
      const stop = (code: 'running' | 'waiting') => {
        clearTimeout(timer);
        child.kill('SIGKILL');
        resolve({ code, output });
      };
      const timer = setTimeout(() => stop('waiting'), 40_000);
      const read = (chunk: Buffer) => {
        output += chunk.toString();
        if (/reglament worker running/.test(output)) stop('running');
      };
      child.stdout.on('data', read);
      child.stderr.on('data', read);
      child.on('exit', (code) => {
        clearTimeout(timer);
        resolve({ code: code ?? -1, output });
      });
    });
  }

  /** A shared deployment's settings with every secret outside DATA_DIR but the master key, left in DATA_DIR's copy. */
  function deployment() {
    const dataDir = tempDir('reglament-secrets-');
    writeFileSync(join(dataDir, 'personal-data-master-key'), `${'ab'.repeat(32)}\n`, { mode: 0o600 });
    const env = {
      PATH: process.env.PATH ?? '',
      DATA_DIR: dataDir,
      // Not silent: the worker says it is running in its log.
      LOG_LEVEL: 'info',
      AUTH_JWT_SECRET: SECRET,
      EVIDENCE_KEY_FILE: keyFileIn(tempDir('reglament-secrets-')),
      PERSONAL_DATA_MASTER_KEY_FILE: join(dataDir, 'personal-data-master-key'),
      ...shape,
    };
    return { dataDir, env };
  }

  const refusedAsTheApiIs = async (
    run: { code: number | 'running' | 'waiting'; output: string },
    dataDir: string,
    apiRefusal: string[],
  ) => {
    expect(run.code).toBe(78);
    expect(apiRefusal).toEqual(['PERSONAL_DATA_MASTER_KEY_FILE']);
    expect(run.output).toContain(
      `PERSONAL_DATA_MASTER_KEY_FILE=${JSON.stringify(join(dataDir, 'personal-data-master-key'))}: is inside DATA_DIR (${dataDir}) outside the embedded single-user default`,
    );
    // Refused before anything was opened.
    expect(readdirSync(dataDir)).toEqual(['personal-data-master-key']);
  };

  it('the projection worker is refused (exit 78) as the API is, with the same message', async () => {
    const { dataDir, env } = deployment();
    const apiRefusal = await refusal(env, dataDir);
    await refusedAsTheApiIs(await outcome([join(ROOT, 'src/worker.ts')], env), dataDir, apiRefusal);
  }, 60_000);

  it('a command (erase) is refused (exit 78) as the API is, with the same message', async () => {
    const { dataDir, env } = deployment();
    const apiRefusal = await refusal(env, dataDir);
    const erase = [
      join(ROOT, 'src/cli/main.ts'),
      'erase',
      '--subject',
      '00000000-0000-7000-8000-000000000000',
      '--basis',
      'retention ended',
      '--reference',
      'Law 94-V art. 12',
    ];
    await refusedAsTheApiIs(await outcome(erase, env), dataDir, apiRefusal);
  }, 60_000);
});
