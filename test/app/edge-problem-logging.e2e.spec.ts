/**
 * What the log says of a 5xx answer: a problem the code answers on purpose (a read model behind, a disclosure not
 * recorded) is a warning naming its type and correlation id, without a stack; only an error nothing expected is logged
 * as an error with its stack. On the real server, with routes that answer each.
 */
import { Controller, Get, Module } from '@nestjs/common';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { startApi, type RunningApp } from '../../src/app/bootstrap';
import { Public } from '../../src/modules/identity/http/identity.decorators';
import { loadConfig } from '../../src/shared/config/config';
import { createLogger } from '../../src/shared/logging/logger';
import { ProblemError } from '../../src/shared/problem/problem';
import { httpCall } from '../support/http-call';

@Public()
@Controller('edge-faults')
class FaultsController {
  @Get('behind')
  behind() {
    throw new ProblemError(
      503,
      'read-model-behind',
      'The read model has not caught up yet',
      'the cases read model reached log position 3, not 9',
      undefined,
      {},
      { 'retry-after': '1' },
    );
  }

  @Get('broken')
  broken() {
    throw new TypeError('nothing expected this');
  }
}

@Module({ controllers: [FaultsController] })
class FaultsModule {}

let app: RunningApp;
let dataDir: string;
const lines: Record<string, unknown>[] = [];
beforeAll(async () => {
  dataDir = mkdtempSync(join(tmpdir(), 'reglament-edge-logging-'));
  const sink = new Writable({
    write(chunk: Buffer, _encoding, done) {
      for (const line of chunk.toString().split('\n'))
        if (line) lines.push(JSON.parse(line) as Record<string, unknown>);
      done();
    },
  });
  app = await startApi(
    loadConfig({ DATA_DIR: dataDir, PORT: '0', LOG_LEVEL: 'warn', PROJECTIONS: 'off' }),
    createLogger('warn', sink),
    { modules: [FaultsModule] },
  );
}, 60_000);
afterAll(async () => {
  await app?.close();
  rmSync(dataDir, { recursive: true, force: true });
});

const loggedFor = (correlationId: string) => lines.filter((line) => line.correlationId === correlationId);

it('503 read-model-behind is logged at warn with its type and correlation id, without a stack', async () => {
  const r = await httpCall(`${app.url}/edge-faults/behind`, 'GET', { 'x-correlation-id': 'edge-behind-1' });
  expect({ status: r.status, type: r.body.type, correlationId: r.body.correlationId }).toEqual({
    status: 503,
    type: 'https://reglament.kz/problems/read-model-behind',
    correlationId: 'edge-behind-1',
  });
  expect(r.headers.get('retry-after')).toBe('1');
  const logged = loggedFor('edge-behind-1');
  expect(logged).toEqual([
    expect.objectContaining({ level: 'warn', type: 'https://reglament.kz/problems/read-model-behind', status: 503 }),
  ]);
  expect(JSON.stringify(logged)).not.toMatch(/stack|unhandled error|    at /);
});

it('500 for an unexpected error, logged as an error with its stack', async () => {
  const r = await httpCall(`${app.url}/edge-faults/broken`, 'GET', { 'x-correlation-id': 'edge-broken-1' });
  expect({ status: r.status, type: r.body.type }).toEqual({
    status: 500,
    type: 'https://reglament.kz/problems/internal',
  });
  expect(JSON.stringify(r.body)).not.toMatch(/nothing expected this/);
  expect(loggedFor('edge-broken-1')).toEqual([
    expect.objectContaining({
      level: 'error',
      msg: 'unhandled error',
      err: expect.objectContaining({ message: 'nothing expected this', stack: expect.stringContaining('TypeError') }),
    }),
  ]);
});
