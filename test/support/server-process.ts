/**
 * The real service as a process of its own (`src/main.ts` or `src/worker.ts`, compiled on load by swc as in the
 * durability tests) on a data directory a test prepares, damages or shares between processes: what an operator runs.
 * Resolves once it listens (or, for a worker, once it says it runs), or rejects with its exit code, stderr and logs.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { httpCall } from './http-call';
import { mintToken } from '../../src/modules/identity/token-verifier';
import { makeIin } from './case-specification';

/** A fixed secret, so tokens for a process can be minted before it starts and still verify after a restart. */
export const TEST_SECRET = 'reglament-process-test-secret-of-at-least-32-bytes';

const ROOT = join(__dirname, '../..');

export interface LogLine {
  level: number;
  msg: string;
  [field: string]: unknown;
}

export interface ServerProcess {
  child: ChildProcess;
  pid: number;
  url: string;
  logs: LogLine[];
  stderr(): string;
  call<T = any>(
    method: string,
    path: string,
    options?: { token?: string; body?: unknown },
  ): Promise<{ status: number; headers: Headers; body: T }>;
  /** Stops it with SIGTERM (a clean close), resolves with its exit code. */
  stop(): Promise<number | null>;
  /** Kills it and every process it started (its projection process) with SIGKILL, as a power loss would. */
  killAll(): Promise<void>;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

export class ProcessStartFailed extends Error {
  constructor(
    readonly code: number | null,
    readonly stderrText: string,
    readonly logs: LogLine[],
  ) {
    super(`the process exited with ${code} before it started: ${stderrText}`);
  }
}

export function startProcess(entry: 'main' | 'worker', env: Record<string, string>): Promise<ServerProcess> {
  // detached: its own process group, so killAll reaches the projection process it forks as well.
  const child = spawn(
    process.execPath,
    ['-r', join(ROOT, 'test/support/swc-register.js'), join(ROOT, `src/${entry}.ts`)],
    {
      cwd: ROOT,
      // The cases these tests file are of 2015–2019: a deadline scheduler would record every past warning and breach.
      env: {
        PATH: process.env.PATH ?? '',
        PORT: '0',
        LOG_LEVEL: 'info',
        AUTH_JWT_SECRET: TEST_SECRET,
        PROJECTION_NICE: '0',
        DEADLINE_SCHEDULER: 'off',
        WEBHOOK_DISPATCHER: 'off',
        ...env,
      },
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: true,
    },
  );
  const logs: LogLine[] = [];
  let stderr = '';
  let buffered = '';
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once('exit', (code, signal) => resolve({ code, signal })),
  );
  return new Promise((resolve, reject) => {
    let started = false;
    child.stdout!.on('data', (chunk: Buffer) => {
      buffered += chunk.toString();
      const lines = buffered.split('\n');
      buffered = lines.pop()!;
      for (const line of lines) {
        let parsed: LogLine;
        try {
          parsed = JSON.parse(line) as LogLine;
        } catch {
          continue;
        }
        logs.push(parsed);
        if (!started && (parsed.msg === 'reglament listening' || parsed.msg === 'reglament worker running')) {
          started = true;
          resolve(handle(child, String(parsed.url ?? ''), logs, () => stderr, exited));
        }
      }
    });
    child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    void exited.then(({ code }) => {
      if (!started) reject(new ProcessStartFailed(code, stderr, logs));
    });
  });
}

function handle(
  child: ChildProcess,
  url: string,
  logs: LogLine[],
  stderr: () => string,
  exited: ServerProcess['exited'],
): ServerProcess {
  return {
    child,
    pid: child.pid!,
    url,
    logs,
    stderr,
    exited,
    async call(method, path, options = {}) {
      const headers: Record<string, string> = {};
      if (options.token) headers.authorization = `Bearer ${options.token}`;
      if (options.body !== undefined) headers['content-type'] = 'application/json';
      return httpCall(
        `${url}${path}`,
        method,
        headers,
        options.body !== undefined ? JSON.stringify(options.body) : undefined,
      );
    },
    async stop() {
      child.kill('SIGTERM');
      return (await exited).code;
    },
    async killAll() {
      try {
        process.kill(-child.pid!, 'SIGKILL');
      } catch {
        /* already gone */
      }
      await exited;
    },
  };
}

export const token = (caller: { sub: string; roles: string[]; unit: string; iin?: string }): Promise<string> =>
  mintToken(
    new TextEncoder().encode(TEST_SECRET),
    {
      sub: caller.sub,
      name: caller.sub,
      roles: caller.roles as never,
      unit: caller.unit,
      ...(caller.iin ? { iin: caller.iin } : {}),
    },
    '1h',
  );

export const AUDITOR = { sub: 'auditor-1', roles: ['auditor'], unit: 'hq' };

/** Files `n` personnel-reserve cases as n applicants through the server; returns their ids and the last position. */
export async function fileCases(
  server: Pick<ServerProcess, 'call'>,
  n: number,
  offset = 0,
): Promise<{ caseIds: string[]; position: number }> {
  const caseIds: string[] = [];
  let position = 0;
  for (let i = 0; i < n; i++) {
    const iin = makeIin('850101', 3, (offset + i) % 1000);
    const r = await server.call('POST', '/api/cases', {
      token: await token({ sub: `applicant-${iin}`, roles: ['applicant'], unit: 'public', iin }),
      body: {
        serviceId: 'personnel-reserve',
        trackId: 'competition-recommended',
        channel: 'portal',
        unit: 'astana',
        applicant: { iin, fullName: 'Серикова Айгерим' },
        occurredAt: '2015-09-15T10:00:00+06:00',
      },
    });
    if (r.status !== 201) throw new Error(`filing case ${i} answered ${r.status}: ${JSON.stringify(r.body)}`);
    caseIds.push(r.body.caseId);
    position = r.body.position;
  }
  return { caseIds, position };
}

/** Runs `npm run cli -- <args>` from the sources on a data directory; its exit code and output. */
export function cli(args: string[], dataDir: string): { code: number | null; stdout: string; stderr: string } {
  const result = spawnSync(
    process.execPath,
    ['-r', join(ROOT, 'test/support/swc-register.js'), join(ROOT, 'src/cli/main.ts'), ...args],
    {
      cwd: ROOT,
      env: { PATH: process.env.PATH ?? '', DATA_DIR: dataDir, LOG_LEVEL: 'warn' },
      encoding: 'utf8',
    },
  );
  return { code: result.status, stdout: result.stdout, stderr: result.stderr };
}

/** As `cli`, without blocking this process: the test can keep a server busy while the command runs. */
export function cliAsync(
  args: string[],
  dataDir: string,
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const child = spawn(
    process.execPath,
    ['-r', join(ROOT, 'test/support/swc-register.js'), join(ROOT, 'src/cli/main.ts'), ...args],
    {
      cwd: ROOT,
      env: { PATH: process.env.PATH ?? '', DATA_DIR: dataDir, LOG_LEVEL: 'warn' },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  return new Promise((resolve) => child.once('close', (code) => resolve({ code, stdout, stderr })));
}

/**
 * The servers and temporary directories a spec makes, cleaned up after each test: servers killed first (with the
 * processes they started), then the directories removed.
 */
export function processFixtures(): { started: ServerProcess[]; tempDir(tag: string): string } {
  const started: ServerProcess[] = [];
  const dirs: string[] = [];
  afterEach(async () => {
    for (const server of started.splice(0)) await server.killAll();
    for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
  });
  return {
    started,
    tempDir(tag: string): string {
      const dir = mkdtempSync(join(tmpdir(), `reglament-${tag}-`));
      dirs.push(dir);
      return dir;
    },
  };
}
