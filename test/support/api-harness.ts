/**
 * A real API on a fresh data directory (real SQLite files, real HTTP server), tokens minted with its
 * generated secret, and a fetch helper that returns status, headers and parsed body.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import type { DestinationStream } from 'pino';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startApi, type RunningApp } from '../../src/app/bootstrap';
import { loadConfig } from '../../src/shared/config/config';
import { createLogger } from '../../src/shared/logging/logger';
import { mintToken } from '../../src/modules/identity/token-verifier';
import { httpCall } from './http-call';
import { makeIin as makeIinFor } from './case-specification';

export interface TestCaller {
  sub: string;
  name?: string;
  roles: string[];
  /** Staff only: a citizen's token carries none. */
  unit?: string;
  iin?: string;
}

export interface ApiResponse<T = any> {
  status: number;
  headers: Headers;
  body: T;
}

export interface ApiHarness {
  url: string;
  app: RunningApp;
  dataDir: string;
  token(caller: TestCaller): Promise<string>;
  call<T = any>(
    method: string,
    path: string,
    options?: { as?: TestCaller | string; body?: unknown; headers?: Record<string, string>; rawBody?: string },
  ): Promise<ApiResponse<T>>;
  close(): Promise<void>;
}

export async function startHarness(
  env: Record<string, string> = {},
  options: {
    clock?: () => Date;
    dataDir?: string;
    log?: DestinationStream;
    /** `nest`: GET /api/cases/:caseId through Nest's pipeline instead of its direct route. */
    caseViewRoute?: 'direct' | 'nest';
  } = {},
): Promise<ApiHarness> {
  // An existing DATA_DIR restarts a service on its files (close() still removes it).
  const dataDir = options.dataDir ?? env.DATA_DIR ?? mkdtempSync(join(tmpdir(), 'reglament-api-'));
  const app = await startApi(
    loadConfig({
      DATA_DIR: dataDir,
      PORT: '0',
      LOG_LEVEL: 'silent',
      DEADLINE_SCHEDULER: 'off',
      WEBHOOK_DISPATCHER: 'off',
      ...env,
    }),
    createLogger(env.LOG_LEVEL ?? 'silent', options.log),
    {
      ...(options.clock ? { clock: options.clock } : {}),
      ...(options.caseViewRoute ? { caseViewRoute: options.caseViewRoute } : {}),
    },
  );
  const secret = app.infra.identity.signing!.secret;
  const tokens = new Map<string, string>();
  const token = async (caller: TestCaller) => {
    const key = JSON.stringify(caller);
    let t = tokens.get(key);
    if (!t) {
      t = await mintToken(
        secret,
        {
          sub: caller.sub,
          name: caller.name ?? caller.sub,
          roles: caller.roles as never,
          ...(caller.unit !== undefined ? { unit: caller.unit } : {}),
          ...(caller.iin ? { iin: caller.iin } : {}),
        },
        '1h',
        app.infra.config.auth,
      );
      tokens.set(key, t);
    }
    return t;
  };
  return {
    url: app.url,
    app,
    dataDir,
    token,
    async call(method, path, options = {}) {
      const headers: Record<string, string> = { ...(options.headers ?? {}) };
      if (options.as)
        headers.authorization = `Bearer ${typeof options.as === 'string' ? options.as : await token(options.as)}`;
      const hasBody = options.body !== undefined || options.rawBody !== undefined;
      if (hasBody) headers['content-type'] ??= 'application/json';
      return httpCall(
        `${app.url}${path}`,
        method,
        headers,
        hasBody ? (options.rawBody ?? JSON.stringify(options.body)) : undefined,
      );
    },
    async close() {
      await app.close();
      // A directory the test handed in is the test's to remove (it may start the server on it again).
      if (!options.dataDir) rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

export { makeIin } from './case-specification';

/** The body of the sample filing: a personnel-reserve case in unit astana, filed on the portal on 2015-10-05. */
export const sampleFiling = (iin: string) => ({
  serviceId: 'personnel-reserve',
  trackId: 'competition-recommended',
  channel: 'portal',
  unit: 'astana',
  applicant: { iin, fullName: 'Ф' },
  occurredAt: '2015-10-05T09:00:00+06:00',
});

/**
 * Files one personnel-reserve case as an applicant of unit astana (IIN 870707…), for tests that read a case; `serial`
 * picks the applicant (a different one per case).
 */
export async function fileSampleCase(api: ApiHarness, serial = 12): Promise<{ caseId: string; position: number }> {
  const iin = makeIinFor('870707', 4, serial);
  const r = await api.call('POST', '/api/cases', {
    as: { sub: `applicant-${iin}`, roles: ['applicant'], iin },
    body: sampleFiling(iin),
  });
  if (r.status !== 201) throw new Error(`filing the sample case answered ${r.status}: ${JSON.stringify(r.body)}`);
  return { caseId: r.body.caseId, position: r.body.position };
}
