/**
 * What the command side guarantees under pressure, on the real server and SQLite file: one winner among
 * racing writers with the same expected revision, idempotent retries, and no 5xx nor any write for
 * whatever a client sends.
 */
import canonicalize from 'canonicalize';
import fc from 'fast-check';
import { createHash } from 'node:crypto';
import { caseStreamId } from '../../src/modules/cases/domain/case-event';
import { eventHash, verifyChain } from '../../src/modules/cases/domain/hash-chain';
import { makeIin, startHarness, type ApiHarness } from '../support/api-harness';
import { callerFor } from '../support/case-walk';

const UNIT = 'astana';
let api: ApiHarness;
beforeAll(async () => {
  api = await startHarness();
});
afterAll(async () => api.close());

let serial = 500;
const nextIin = () => makeIin('910203', 4, serial++);
const head = () => api.app.infra.eventLog.headPosition();
const submitBody = (iin: string) => ({
  serviceId: 'personnel-reserve',
  trackId: 'competition-recommended',
  channel: 'portal',
  unit: UNIT,
  applicant: { iin, fullName: 'Ахметов Ерлан' },
  occurredAt: '2015-10-05T09:00:00+06:00',
});

async function newCase(): Promise<{ caseId: string; iin: string }> {
  const iin = nextIin();
  const r = await api.call('POST', '/api/cases', { as: callerFor('applicant', UNIT, iin), body: submitBody(iin) });
  expect(r.status).toBe(201);
  return { caseId: r.body.caseId, iin };
}

describe('concurrency', () => {
  it('50 parallel commands with the same expected revision: exactly one wins, 49 get 409 with the current revision', async () => {
    const { caseId, iin } = await newCase();
    const clerks = Array.from({ length: 50 }, (_, i) => callerFor('registry-clerk', UNIT, iin, `-${i}`));
    const responses = await Promise.all(
      clerks.map((as, i) =>
        api.call('POST', `/api/cases/${caseId}/steps/documents-registered`, {
          as,
          body: { expectedRevision: 0, occurredAt: '2015-10-05T10:00:00+06:00', data: { incomingNumber: `04-${i}` } },
        }),
      ),
    );
    const statuses = responses.map((r) => r.status);
    expect(statuses.filter((s) => s === 201)).toHaveLength(1);
    expect(statuses.filter((s) => s === 409)).toHaveLength(49);
    for (const r of responses.filter((x) => x.status === 409)) {
      expect(r.body.type).toMatch(/stale-revision$|step-not-allowed$/);
      if (r.body.type.endsWith('stale-revision')) expect(r.body.currentRevision).toBe(1);
    }
    const events = await api.app.infra.eventLog.readStream(caseStreamId(caseId));
    expect(events.map((e) => e.revision)).toEqual([0, 1]);
    expect(verifyChain(events).valid).toBe(true);
  });

  it('without an expected revision, racing different steps are serialised by retry: all valid ones land, the chain holds', async () => {
    const { caseId, iin } = await newCase();
    // documents-registered, then the assignment and the applicant's cancellation race: the cancellation closes the case.
    const reg = await api.call('POST', `/api/cases/${caseId}/steps/documents-registered`, {
      as: callerFor('registry-clerk', UNIT, iin),
      body: { occurredAt: '2015-10-05T10:00:00+06:00', data: { incomingNumber: '1' } },
    });
    expect(reg.status).toBe(201);
    const racers = await Promise.all([
      api.call('POST', `/api/cases/${caseId}/steps/assigned-to-employee`, {
        as: callerFor('head', UNIT, iin),
        body: { occurredAt: '2015-10-05T11:00:00+06:00', data: { assigneeId: 'e1' } },
      }),
      api.call('POST', `/api/cases/${caseId}/cancel`, {
        as: callerFor('applicant', UNIT, iin),
        body: { reason: 'передумал' },
      }),
    ]);
    const events = await api.app.infra.eventLog.readStream(caseStreamId(caseId));
    expect(verifyChain(events).valid).toBe(true);
    expect(events.map((e) => e.revision)).toEqual(events.map((_, i) => i));
    // The cancellation closes the case; the assignment lands only if it came first.
    expect(racers[1]!.status).toBe(201);
    expect([201, 409]).toContain(racers[0]!.status);
    expect(events).toHaveLength(2 + racers.filter((r) => r.status === 201).length);
  });
});

/** A command without a key (decided on this process's cached fold) lands at revision 2, and the stored chain verifies. */
async function expectNextCommandContinuesTheChain(caseId: string, iin: string): Promise<void> {
  const next = await api.call('POST', `/api/cases/${caseId}/steps/assigned-to-employee`, {
    as: callerFor('head', UNIT, iin),
    body: { occurredAt: '2015-10-05T11:00:00+06:00', data: { assigneeId: 'e1' } },
  });
  expect(next.status).toBe(201);
  const events = await api.app.infra.eventLog.readStream(caseStreamId(caseId));
  expect(events.map((e) => e.revision)).toEqual([0, 1, 2]);
  expect(verifyChain(events)).toMatchObject({ valid: true });
  const verified = await api.call('GET', `/api/cases/${caseId}/verify`, { as: callerFor('auditor', UNIT, iin) });
  expect(verified).toMatchObject({ status: 200, body: { valid: true } });
}

describe('Idempotency-Key', () => {
  it('a repeat with the same key and body returns the first response and writes nothing', async () => {
    const iin = nextIin();
    const as = callerFor('applicant', UNIT, iin);
    const headers = { 'idempotency-key': 'submit-7f3a' };
    const first = await api.call('POST', '/api/cases', { as, body: submitBody(iin), headers });
    expect(first.status).toBe(201);
    const position = await head();
    const again = await api.call('POST', '/api/cases', { as, body: submitBody(iin), headers });
    expect(again.status).toBe(201);
    expect(again.body).toEqual(first.body);
    expect(again.headers.get('idempotent-replayed')).toBe('true');
    expect(await head()).toBe(position);
    // The request carries an IIN and a name: its stored fingerprint is keyed, so nobody who reads the log (or a webhook's
    // body) can test IINs against it, as a plain hash of the request allows (leak-hunt finding).
    const [filed] = await api.app.infra.eventLog.readStream(caseStreamId(first.body.caseId));
    const stored = (filed!.metadata as { idempotency?: { fingerprint: string } }).idempotency!.fingerprint;
    const plain = createHash('sha256')
      .update(canonicalize({ route: 'POST /api/cases', body: submitBody(iin) }) ?? '')
      .digest('hex');
    expect(stored).toMatch(/^[0-9a-f]{64}$/);
    expect(stored).not.toBe(plain);

    const clerk = callerFor('registry-clerk', UNIT, iin);
    const step = { occurredAt: '2015-10-05T10:00:00+06:00', data: { incomingNumber: '04-9' } };
    const s1 = await api.call('POST', `/api/cases/${first.body.caseId}/steps/documents-registered`, {
      as: clerk,
      body: step,
      headers: { 'idempotency-key': 'reg-1' },
    });
    const s2 = await api.call('POST', `/api/cases/${first.body.caseId}/steps/documents-registered`, {
      as: clerk,
      body: step,
      headers: { 'idempotency-key': 'reg-1' },
    });
    expect(s1.status).toBe(201);
    expect(s2).toMatchObject({ status: 201, body: s1.body });
    expect(await head()).toBe(position + 1);
  });

  it('the same key with another body is 422 and writes nothing; parallel repeats write once', async () => {
    const iin = nextIin();
    const as = callerFor('applicant', UNIT, iin);
    const headers = { 'idempotency-key': 'k-parallel' };
    const parallel = await Promise.all(
      Array.from({ length: 10 }, () => api.call('POST', '/api/cases', { as, body: submitBody(iin), headers })),
    );
    expect(new Set(parallel.map((r) => r.status))).toEqual(new Set([201]));
    expect(new Set(parallel.map((r) => r.body.caseId)).size).toBe(1);
    const position = await head();
    const other = await api.call('POST', '/api/cases', {
      as,
      body: { ...submitBody(iin), occurredAt: '2015-10-06T09:00:00+06:00' },
      headers,
    });
    expect(other.status).toBe(422);
    expect(other.body.errors[0].field).toBe('header.Idempotency-Key');
    // Reusing the key on another route is another request too.
    const step = await api.call('POST', `/api/cases/${parallel[0]!.body.caseId}/cancel`, { as, body: {}, headers });
    expect(step.status).toBe(422);
    const badKey = await api.call('POST', '/api/cases', {
      as,
      body: submitBody(iin),
      headers: { 'idempotency-key': 'has space' },
    });
    expect(badKey.status).toBe(400);
    expect(await head()).toBe(position);
    const events = await api.app.infra.eventLog.readStream(caseStreamId(parallel[0]!.body.caseId));
    expect(events).toHaveLength(1);
  });

  // Found by an attack: raced, different requests under one key were all answered 201 (the ids come from the key, and
  // the log took the second for a retry of the first): a filing for another applicant got the first's receipt, and a
  // cancellation was answered as recorded while only the other act was.
  it('different requests raced under one key: one is recorded and answered 201, every other 422, none told it was recorded', async () => {
    for (let round = 0; round < 3; round++) {
      const { caseId, iin } = await newCase();
      const clerk = callerFor('registry-clerk', UNIT, iin);
      const headers = { 'idempotency-key': `reg-other-${round}` };
      const racers = await Promise.all(
        Array.from({ length: 6 }, (_, i) =>
          api.call('POST', `/api/cases/${caseId}/steps/documents-registered`, {
            as: clerk,
            body: { occurredAt: '2015-10-05T10:00:00+06:00', data: { incomingNumber: `04-${round}-${i}` } },
            headers,
          }),
        ),
      );
      const statuses = racers.map((r) => r.status).sort();
      expect(statuses).toEqual([201, 422, 422, 422, 422, 422]);
      const winner = racers.findIndex((r) => r.status === 201);
      const events = await api.app.infra.eventLog.readStream(caseStreamId(caseId));
      expect(events).toHaveLength(2);
      expect((events[1]!.data as { incomingNumber: string }).incomingNumber).toBe(`04-${round}-${winner}`);
    }
    // A PSC operator files for two people under one key at once: one is filed, the other told the key is taken.
    const as = callerFor('psc-operator', UNIT, '');
    const filings = await Promise.all(
      [nextIin(), nextIin()].map((iin) =>
        api.call('POST', '/api/cases', {
          as,
          body: { ...submitBody(iin), serviceId: 'civil-service-testing', trackId: 'default', channel: 'psc' },
          headers: { 'idempotency-key': 'two-applicants' },
        }),
      ),
    );
    expect(filings.map((r) => r.status).sort()).toEqual([201, 422]);
  });

  it('racing requests with one key on a case: the losers fold nothing of their own, so the next command continues the chain as stored (verify green)', async () => {
    const { caseId, iin } = await newCase();
    const clerk = callerFor('registry-clerk', UNIT, iin);
    const step = { occurredAt: '2015-10-05T10:00:00+06:00', data: { incomingNumber: '04-race' } };
    // Each racer seals its own event (its own recording time and command id, so its own hash); one is stored.
    const racers = await Promise.all(
      Array.from({ length: 8 }, () =>
        api.call('POST', `/api/cases/${caseId}/steps/documents-registered`, {
          as: clerk,
          body: step,
          headers: { 'idempotency-key': 'reg-race' },
        }),
      ),
    );
    expect(new Set(racers.map((r) => r.status))).toEqual(new Set([201]));
    expect(new Set(racers.map((r) => r.body.revision))).toEqual(new Set([1]));
    await expectNextCommandContinuesTheChain(caseId, iin);
  });

  it("a keyed request that lost its race to another API instance (same event ids, its own hashes, stored first) does not leave its own events in this process's cache", async () => {
    const { caseId, iin } = await newCase();
    // Another instance on the same log stores its own sealing of the same request first, between this process's read
    // of the stream and its append: the same event ids (they follow from caller and key), another command id and hash.
    const log = api.app.infra.eventLog;
    let rivalStored = false;
    // One append intercepted (the log is wrapped by metrics and fault tracking: the patch lands on the log under them,
    // and removing it restores the log's own method).
    const patched = log as unknown as { append: typeof log.append };
    patched.append = async (streamId, events, expected) => {
      delete (patched as { append?: unknown }).append;
      if (streamId === caseStreamId(caseId) && typeof expected === 'number') {
        const rival = events.map((e, i) => {
          const metadata = {
            ...(e.metadata as Record<string, unknown>),
            correlationId: 'other-instance',
            causationId: 'other-instance',
          };
          return {
            ...e,
            metadata: {
              ...metadata,
              hash: eventHash({ streamId, revision: expected + 1 + i, type: e.type, data: e.data, metadata }),
            },
          };
        });
        await log.append(streamId, rival, expected);
        rivalStored = true;
      }
      return log.append(streamId, events, expected);
    };
    const lost = await api.call('POST', `/api/cases/${caseId}/steps/documents-registered`, {
      as: callerFor('registry-clerk', UNIT, iin),
      body: { occurredAt: '2015-10-05T10:00:00+06:00', data: { incomingNumber: '04-rival' } },
      headers: { 'idempotency-key': 'reg-rival' },
    });
    expect(lost).toMatchObject({ status: 201, body: { revision: 1 } });
    expect(rivalStored).toBe(true);
    const stored = await log.readStream(caseStreamId(caseId));
    expect((stored[1]!.metadata as { correlationId: string }).correlationId).toBe('other-instance');
    await expectNextCommandContinuesTheChain(caseId, iin);
  });

  it("keys are the caller's own: another caller with the same key makes their own case", async () => {
    const a = nextIin();
    const b = nextIin();
    const headers = { 'idempotency-key': 'shared-key' };
    const first = await api.call('POST', '/api/cases', {
      as: callerFor('applicant', UNIT, a),
      body: submitBody(a),
      headers,
    });
    const second = await api.call('POST', '/api/cases', {
      as: callerFor('applicant', UNIT, b),
      body: submitBody(b),
      headers,
    });
    expect([first.status, second.status]).toEqual([201, 201]);
    expect(second.body.caseId).not.toBe(first.body.caseId);
  });
});

describe('input fuzzing: no 5xx, nothing written on rejection', () => {
  const json = fc.jsonValue({ maxDepth: 3 });
  const anyString = fc.oneof(
    fc.string({ maxLength: 40 }),
    fc.constantFrom(
      '',
      ' ',
      '..',
      '%2e%2e',
      'case',
      '00000000-0000-4000-8000-000000000000',
      'documents-registered',
      '\u0000',
      'ü',
    ),
  );
  const instantish = fc.oneof(
    fc.constantFrom(
      '2015-10-05T10:00:00+06:00',
      '2015-13-45T10:00:00Z',
      '2999-01-01T00:00:00Z',
      '2015-10-05',
      'now',
      '',
    ),
    fc.string({ maxLength: 30 }),
  );

  async function rejectedWithoutWrite(method: string, path: string, body: unknown, raw?: string): Promise<void> {
    const before = await head();
    const { caseId, iin } = fuzzCase!;
    void caseId;
    const r = await api.call(method, path, {
      as: callerFor('registry-clerk', UNIT, iin),
      ...(raw !== undefined ? { rawBody: raw } : { body }),
    });
    expect(r.status).toBeLessThan(500);
    if (r.status >= 400) {
      expect(r.headers.get('content-type')).toMatch(/application\/problem\+json/);
      expect(await head()).toBe(before);
    }
  }

  let fuzzCase: { caseId: string; iin: string } | null = null;
  beforeAll(async () => {
    fuzzCase = await newCase();
  });

  it('POST /api/cases with arbitrary bodies', async () => {
    const body = fc.oneof(
      json,
      fc.record(
        {
          serviceId: anyString,
          trackId: anyString,
          channel: anyString,
          unit: anyString,
          applicant: fc.oneof(json, fc.record({ iin: anyString, fullName: anyString })),
          occurredAt: instantish,
          cohortDates: json,
        },
        { requiredKeys: [] },
      ),
    );
    await fc.assert(
      fc.asyncProperty(body, (b) => rejectedWithoutWrite('POST', '/api/cases', b)),
      { numRuns: 150 },
    );
  });

  it('POST /api/cases/:caseId/steps/:stepId with arbitrary paths and bodies', async () => {
    const stepBody = fc.oneof(
      json,
      fc.record(
        {
          occurredAt: instantish,
          startedAt: instantish,
          expectedRevision: fc.oneof(fc.integer(), fc.double(), anyString),
          data: json,
        },
        { requiredKeys: [] },
      ),
    );
    await fc.assert(
      fc.asyncProperty(
        fc.oneof(fc.constant(fuzzCase!.caseId), anyString),
        fc.oneof(fc.constantFrom('documents-registered', 'order-signed', 'application-submitted'), anyString),
        stepBody,
        (caseId, stepId, b) =>
          rejectedWithoutWrite(
            'POST',
            `/api/cases/${encodeURIComponent(caseId)}/steps/${encodeURIComponent(stepId)}`,
            b,
          ),
      ),
      { numRuns: 150 },
    );
  });

  // Found by an attack: the cancel route skipped the act's schema, so a reason with a right-to-left override, a zero-width
  // space, a control character or nothing but spaces went into the log as typed (the same text is 400 as a step's).
  it('a cancellation reason is checked as a step reason is: hidden characters and blank text are 400 naming reason', async () => {
    const { caseId, iin } = await newCase();
    const as = callerFor('applicant', UNIT, iin);
    const position = await head();
    for (const reason of ['\u202Eнаватса', 'пере\u200Bдумал', 'bell\u0007', '   ']) {
      const r = await api.call('POST', `/api/cases/${caseId}/cancel`, { as, body: { reason } });
      expect([r.status, r.body.errors?.[0]?.field]).toEqual([400, 'reason']);
    }
    expect(await head()).toBe(position);
    const ok = await api.call('POST', `/api/cases/${caseId}/cancel`, { as, body: { reason: 'передумал' } });
    expect(ok.status).toBe(201);
  });

  it('POST /api/cases/:caseId/cancel and malformed JSON', async () => {
    await fc.assert(
      fc.asyncProperty(fc.oneof(fc.constant(fuzzCase!.caseId), anyString), json, (caseId, b) =>
        rejectedWithoutWrite('POST', `/api/cases/${encodeURIComponent(caseId)}/cancel`, b),
      ),
      { numRuns: 80 },
    );
    for (const raw of ['{', '{"serviceId":', 'null', '[]', '"x"', '{"applicant":{"iin":1e400}}'])
      await rejectedWithoutWrite('POST', '/api/cases', undefined, raw);
  });
});
