import { execSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomUUID } from 'node:crypto';
import { describeEventLogContract } from '../../src/modules/event-log/event-log.contract';
import {
  MAX_APPEND_BYTES,
  openEventStoreDbEventLog,
} from '../../src/modules/event-log/eventstoredb/eventstoredb-event-log';
import { openSqliteReadStore } from '../../src/modules/read-store/sqlite/sqlite-read-store';
import { ProjectionRuntime } from '../../src/projections/projection-runtime';
import { ReadModels } from '../../src/projections/read-models';
import type { Projection } from '../../src/projections/projection';
import { generateKeyPairSync } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { caseStreamId } from '../../src/modules/cases/domain/case-event';
import { verifyChain } from '../../src/modules/cases/domain/hash-chain';
import { makeIin, startHarness } from '../support/api-harness';
import { callerFor } from '../support/case-walk';

// Runs against a real EventStoreDB / KurrentDB when EVENTSTORE_URL is set (e.g. esdb://localhost:2113?tls=false, or the
// compose stack's: README "Runtime shapes", from the host).
// This is the test of the adapter against the server; eventstoredb-fault-harness.spec.ts only tests our handling of faults.
const url = process.env['EVENTSTORE_URL'];

if (url) {
  // The server's default MaxAppendSize is the adapter's limit (KurrentDB v25.0: 1 MiB).
  describeEventLogContract('eventstoredb', async () => openEventStoreDbEventLog({ connectionString: url }), {
    maxAppendBytes: MAX_APPEND_BYTES,
  });
} else {
  describe.skip('eventstoredb event log contract — skipped: EVENTSTORE_URL not set', () => {
    it('runs the event log contract against EventStoreDB', () => undefined);
  });
}

// A restart of the server during a subscription: needs a command that restarts it (e.g. `docker restart kurrentdb`),
// given as EVENTSTORE_RESTART_COMMAND beside EVENTSTORE_URL.
const restartCommand = process.env['EVENTSTORE_RESTART_COMMAND'];
if (url && restartCommand) {
  describe('eventstoredb: a restart during a subscription', () => {
    it('the projection runtime resubscribes after the server restarts and applies every event once', async () => {
      const log = openEventStoreDbEventLog({ connectionString: url });
      const store = openSqliteReadStore({
        file: join(mkdtempSync(join(tmpdir(), 'reglament-esdb-restart-')), 'read.db'),
      });
      const prefix = `restart-${randomUUID().slice(0, 8)}-`;
      const counter: Projection = {
        name: 'counts',
        version: 1,
        eventTypes: '*',
        collections: ['counts'],
        async apply(event, ctx) {
          if (!event.streamId.startsWith(prefix)) return;
          const doc = await ctx.get<{ _id: string; n: number }>('counts', event.streamId);
          ctx.upsert('counts', { _id: event.streamId, n: (doc?.n ?? 0) + 1 });
        },
      };
      const runtime = new ProjectionRuntime(log, store, [counter], { retry: { initialMs: 500, maxMs: 5_000 } });
      const models = new ReadModels(log, store, [counter]);
      try {
        for (let i = 0; i < 5; i++) await log.append(`${prefix}a`, [{ type: 'Step', data: { i } }], 'any');
        await runtime.start();
        await models.waitFor('counts', await log.headPosition(), 60_000);
        execSync(restartCommand, { stdio: 'inherit' });
        // Appends are retried until the restarted server takes them.
        for (let i = 0; i < 5; i++) {
          // One id per event, so an append the server took before its answer was lost is recognised on the retry.
          const id = randomUUID();
          for (let attempt = 0; ; attempt++) {
            try {
              await log.append(`${prefix}a`, [{ id, type: 'Step', data: { i: 5 + i } }], 4 + i);
              break;
            } catch (error) {
              if (attempt > 60) throw error;
              await new Promise((resolve) => setTimeout(resolve, 1000));
            }
          }
        }
        await models.waitFor('counts', await log.headPosition(), 120_000);
        const counts = await (await models.collection<{ _id: string; n: number }>('counts', 'counts')).find({});
        expect(counts.map((c) => c.n)).toEqual([10]);
      } finally {
        await runtime.stop();
        await store.close();
        await log.close();
      }
    }, 300_000);
  });
} else {
  describe.skip('eventstoredb: a restart during a subscription — skipped: EVENTSTORE_URL and EVENTSTORE_RESTART_COMMAND not both set', () => {
    it('resubscribes after the server restarts', () => undefined);
  });
}

// The real API on EventStoreDB: requests racing with one Idempotency-Key (one of them stored, the others answered
// with it), then a command decided on the API's cached fold of the case: the chain as stored must verify.
if (url) {
  describe('eventstoredb: concurrent same-key requests on the real API, then verify', () => {
    it('the losers fold nothing of their own: the next command continues the chain and verify is green', async () => {
      const keys = mkdtempSync(join(tmpdir(), 'reglament-esdb-keys-'));
      const keyFile = join(keys, 'evidence.pem');
      writeFileSync(keyFile, generateKeyPairSync('ed25519').privateKey.export({ type: 'pkcs8', format: 'pem' }), {
        mode: 0o600,
      });
      const api = await startHarness({
        EVENT_STORE: 'eventstoredb',
        EVENTSTORE_URL: url,
        AUTH_JWT_SECRET: 'reglament-contract-secret-of-at-least-32-bytes',
        EVIDENCE_KEY_FILE: keyFile,
      });
      try {
        const unit = 'astana';
        const iin = makeIin('910203', 4, Math.floor(Math.random() * 900));
        const filed = await api.call('POST', '/api/cases', {
          as: callerFor('applicant', unit, iin),
          body: {
            serviceId: 'personnel-reserve',
            trackId: 'competition-recommended',
            channel: 'portal',
            unit,
            applicant: { iin, fullName: 'Ахметов Ерлан' },
            occurredAt: '2015-10-05T09:00:00+06:00',
          },
        });
        expect(filed.status).toBe(201);
        const caseId = filed.body.caseId as string;
        const clerk = callerFor('registry-clerk', unit, iin);
        const key = `reg-${randomUUID()}`;
        const racers = await Promise.all(
          Array.from({ length: 8 }, () =>
            api.call('POST', `/api/cases/${caseId}/steps/documents-registered`, {
              as: clerk,
              body: { occurredAt: '2015-10-05T10:00:00+06:00', data: { incomingNumber: '04-race' } },
              headers: { 'idempotency-key': key },
            }),
          ),
        );
        expect(new Set(racers.map((r) => r.status))).toEqual(new Set([201]));
        const next = await api.call('POST', `/api/cases/${caseId}/steps/assigned-to-employee`, {
          as: callerFor('head', unit, iin),
          body: { occurredAt: '2015-10-05T11:00:00+06:00', data: { assigneeId: 'e1' } },
        });
        expect(next.status).toBe(201);
        const events = await api.app.infra.eventLog.readStream(caseStreamId(caseId));
        expect(events.map((e) => e.revision)).toEqual([0, 1, 2]);
        expect(verifyChain(events)).toMatchObject({ valid: true });
        expect(
          await api.call('GET', `/api/cases/${caseId}/verify`, { as: callerFor('auditor', unit, iin) }),
        ).toMatchObject({ status: 200, body: { valid: true } });
      } finally {
        await api.close();
      }
    }, 120_000);
  });
}
