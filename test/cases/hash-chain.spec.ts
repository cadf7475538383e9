import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadCalendars } from '../../src/modules/calendar/domain/load-calendar';
import type { RecordedEvent } from '../../src/modules/event-log/event-log.port';
import { openSqliteEventLog } from '../../src/modules/event-log/sqlite/sqlite-event-log';
import { loadCatalog } from '../../src/modules/regulations/domain/catalog';
import { CaseCommandService } from '../../src/modules/cases/commands/case-command-service';
import { caseStreamId } from '../../src/modules/cases/domain/case-event';
import { makeIin, principal, validData } from '../support/case-specification';
import canonicalize from 'canonicalize';
import fc from 'fast-check';
import { createHash } from 'node:crypto';
import {
  canonicalForm,
  eventHash,
  inCanonicalOrder,
  linkProblem,
  sealEvents,
  sealRecord,
  storedLinkProblem,
  verifyChain,
  type HashableEvent,
} from '../../src/modules/cases/domain/hash-chain';

const DATA = join(__dirname, '../../data');
const catalog = loadCatalog(join(DATA, 'regulations'));
const calendar = loadCalendars(join(DATA, 'calendars')).get('KZ')!;
const UNIT = 'astana-department';
const IIN = makeIin('880101', 3, 123);

const dirs: string[] = [];
afterAll(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

/**
 * A personnel-reserve case of five events written by the real command service to a real SQLite log, the
 * last two by a second service instance that reloads the stream (so the chain continues across a reload).
 */
async function recordedChain(): Promise<RecordedEvent[]> {
  const dir = mkdtempSync(join(tmpdir(), 'reglament-chain-'));
  dirs.push(dir);
  const log = openSqliteEventLog({ file: join(dir, 'events.db') });
  let now = new Date('2015-09-15T10:00:00+06:00');
  const clock = () => now;
  const tick = () => (now = new Date(now.getTime() + 3_600_000));
  try {
    const first = new CaseCommandService(log, catalog, calendar, { backDatedAfterMs: 86_400_000, clock });
    const submitted = await first.submit(principal('applicant', 'public', { iin: IIN }), {
      serviceId: 'personnel-reserve',
      trackId: 'competition-recommended',
      channel: 'portal',
      unit: UNIT,
      applicant: { iin: IIN, fullName: 'Әлия Сәрсенова' },
    });
    if (!submitted.ok) throw new Error(JSON.stringify(submitted.refusal));
    const caseId = submitted.accepted.caseId;
    const take = async (
      service: CaseCommandService,
      stepId: string,
      role: Parameters<typeof principal>[0],
      type: string,
    ) => {
      tick();
      const outcome = await service.takeStep(principal(role, UNIT), caseId, { stepId, data: validData(type) });
      if (!outcome.ok) throw new Error(JSON.stringify(outcome.refusal));
    };
    await take(first, 'documents-registered', 'registry-clerk', 'DocumentRegistered');
    await take(first, 'assigned-to-employee', 'head', 'AssignedToEmployee');
    const second = new CaseCommandService(log, catalog, calendar, { backDatedAfterMs: 86_400_000, clock });
    await take(second, 'documents-reviewed', 'employee', 'DocumentsReviewed');
    await take(second, 'order-drafted', 'employee', 'OrderDrafted');
    return await log.readStream(caseStreamId(caseId));
  } finally {
    await log.close();
  }
}

const clone = <T>(value: T): T => structuredClone(value);

const sha256Hex = (text: string): string => createHash('sha256').update(text).digest('hex');

describe('the hash chain of a case stream', () => {
  let chain: RecordedEvent[];
  beforeAll(async () => {
    chain = await recordedChain();
  });

  it('holds for the stream as the command service wrote it', () => {
    expect(chain.map((e) => [e.revision, e.type])).toEqual([
      [0, 'ApplicationSubmitted'],
      [1, 'DocumentRegistered'],
      [2, 'AssignedToEmployee'],
      [3, 'DocumentsReviewed'],
      [4, 'OrderDrafted'],
    ]);
    expect(chain[0]!.metadata.previousHash).toBeNull();
    for (let i = 1; i < chain.length; i++) expect(chain[i]!.metadata.previousHash).toBe(chain[i - 1]!.metadata.hash);
    expect(verifyChain(chain)).toEqual({ valid: true, events: 5 });
  });

  it('each hash is SHA-256 over the canonical form, which an auditor can recompute', () => {
    const event = chain[2]!;
    expect(event.metadata.hash).toBe(createHash('sha256').update(canonicalForm(event), 'utf8').digest('hex'));
    // The canonical form covers stream, revision, type, data and metadata, without the hash itself.
    expect(JSON.parse(canonicalForm(event))).toEqual({
      streamId: event.streamId,
      revision: 2,
      type: 'AssignedToEmployee',
      data: event.data,
      metadata: Object.fromEntries(Object.entries(event.metadata).filter(([k]) => k !== 'hash')),
    });
  });

  it('a changed data field breaks the chain at that event', () => {
    const tampered = clone(chain);
    (tampered[2]!.data as Record<string, unknown>).assigneeId = 'employee-2';
    expect(verifyChain(tampered)).toMatchObject({
      valid: false,
      firstBrokenRevision: 2,
      problem: expect.stringMatching(/does not match the content/),
    });
  });

  it('a changed metadata field breaks the chain at that event', () => {
    for (const change of [
      (m: Record<string, unknown>) => ((m.actor as Record<string, unknown>).role = 'head'),
      (m: Record<string, unknown>) => (m.occurredAt = '2015-09-15T03:00:00.000Z'),
      (m: Record<string, unknown>) => (m.backDated = true),
    ]) {
      const tampered = clone(chain);
      change(tampered[1]!.metadata);
      expect(verifyChain(tampered)).toMatchObject({ valid: false, firstBrokenRevision: 1 });
    }
  });

  it('an event rewritten together with its own hash breaks the link of the next event', () => {
    const tampered = clone(chain);
    (tampered[3]!.data as Record<string, unknown>).outcome = 'non-compliant';
    (tampered[3]!.data as Record<string, unknown>).reasons = ['нет диплома'];
    tampered[3]!.metadata.hash = eventHash(tampered[3]!);
    expect(verifyChain(tampered)).toMatchObject({
      valid: false,
      firstBrokenRevision: 4,
      problem: expect.stringMatching(/previousHash/),
    });
  });

  it('events out of order break the chain where the order first differs', () => {
    const swapped = [chain[0]!, chain[2]!, chain[1]!, chain[3]!, chain[4]!];
    expect(verifyChain(swapped)).toMatchObject({
      valid: false,
      firstBrokenRevision: 1,
      problem: expect.stringMatching(/missing or out of order/),
    });
    // Renumbering the swapped events to hide the swap breaks their hashes and links instead.
    const renumbered = clone(swapped).map((e, i) => ({ ...e, revision: i }));
    expect(verifyChain(renumbered)).toMatchObject({ valid: false, firstBrokenRevision: 1 });
  });

  it('a dropped event is named by its revision', () => {
    expect(verifyChain([chain[0]!, chain[1]!, chain[3]!, chain[4]!])).toMatchObject({
      valid: false,
      firstBrokenRevision: 2,
      problem: expect.stringMatching(/expected revision 2, found 3/),
    });
    expect(verifyChain(chain.slice(1))).toMatchObject({ valid: false, firstBrokenRevision: 0 });
    // Dropping the event and renumbering the rest breaks the link of the event that moved into its place.
    const renumbered = clone([chain[0]!, chain[1]!, chain[3]!, chain[4]!]).map((e, i) => ({ ...e, revision: i }));
    expect(verifyChain(renumbered)).toMatchObject({ valid: false, firstBrokenRevision: 2 });
  });

  it('a duplicated event is named where the duplicate stands', () => {
    expect(verifyChain([chain[0]!, chain[1]!, chain[1]!, chain[2]!])).toMatchObject({
      valid: false,
      firstBrokenRevision: 2,
    });
  });
});

describe('canonical form', () => {
  const event: HashableEvent = {
    streamId: 'case-1',
    revision: 3,
    type: 'DocumentsReviewed',
    data: { outcome: 'non-compliant', reasons: ['нет диплома', 'нет справки'] },
    metadata: {
      caseId: '1',
      actor: { id: 'e-1', role: 'employee', unit: UNIT },
      occurredAt: '2015-09-15T04:00:00.000Z',
      previousHash: 'ab',
      hash: 'ignored',
    },
  };

  it('does not depend on the order of keys at any depth', () => {
    const reordered: HashableEvent = {
      metadata: {
        previousHash: 'ab',
        occurredAt: '2015-09-15T04:00:00.000Z',
        actor: { unit: UNIT, role: 'employee', id: 'e-1' },
        caseId: '1',
        hash: 'ignored',
      },
      data: { reasons: ['нет диплома', 'нет справки'], outcome: 'non-compliant' },
      type: 'DocumentsReviewed',
      revision: 3,
      streamId: 'case-1',
    };
    expect(canonicalForm(reordered)).toBe(canonicalForm(event));
    expect(eventHash(reordered)).toBe(eventHash(event));
  });

  it('leaves the hash out and keeps the order of arrays', () => {
    expect(canonicalForm({ ...event, metadata: { ...event.metadata, hash: 'other' } })).toBe(canonicalForm(event));
    expect(canonicalForm(event)).not.toContain('ignored');
    const reversed = { ...event, data: { outcome: 'non-compliant', reasons: ['нет справки', 'нет диплома'] } };
    expect(eventHash(reversed)).not.toBe(eventHash(event));
  });

  it('is RFC 8785 JSON: sorted keys, no whitespace', () => {
    expect(
      canonicalForm({
        streamId: 's',
        revision: 0,
        type: 'T',
        data: { b: 1, a: [2, 1] },
        metadata: { z: null, hash: 'h' },
      }),
    ).toBe('{"data":{"a":[2,1],"b":1},"metadata":{"z":null},"revision":0,"streamId":"s","type":"T"}');
  });
});

describe('canonical key order', () => {
  // fast-check's JSON values: strings (any code points), finite numbers (incl. -0, large and tiny), booleans, null, nesting.
  const hasIndexKey = (v: unknown): boolean =>
    v !== null &&
    typeof v === 'object' &&
    (Array.isArray(v)
      ? v.some(hasIndexKey)
      : Object.keys(v).some((k) => /^(0|[1-9]\d{0,8})$/.test(k)) || Object.values(v).some(hasIndexKey));

  it('JSON.stringify of a value in canonical order is its RFC 8785 form, unless an object has array-index keys', () => {
    fc.assert(
      fc.property(fc.jsonValue(), (value) => {
        if (!hasIndexKey(value)) expect(JSON.stringify(inCanonicalOrder(value))).toBe(canonicalize(value));
        expect(canonicalize(inCanonicalOrder(value))).toBe(canonicalize(value));
      }),
      { numRuns: 2000 },
    );
    // JavaScript enumerates array-index keys first, whatever the insertion order: the fast path's one exception.
    expect(JSON.stringify(inCanonicalOrder({ '': '', '0': false }))).not.toBe(canonicalize({ '': '', '0': false }));
  });

  it('an event whose data has array-index keys still verifies (by the full canonical form)', async () => {
    const [event] = sealEvents(
      [
        {
          type: 'DocumentRegistered',
          data: { '': 'x', '0': false, incomingNumber: '1' },
          stepId: 'documents-registered',
          actor: { id: 'a', name: 'A', role: 'registry-clerk', unit: 'u' },
          occurredAt: new Date('2015-09-15T04:00:00Z'),
          startedAt: new Date('2015-09-15T04:00:00Z'),
          clause: { act: 'order-184-2015', paragraph: 7 },
        },
      ],
      {
        caseId: 'c-2',
        versionId: 'personnel-reserve/order-184-2015',
        previous: null,
        now: new Date('2015-09-15T04:05:00Z'),
        backDatedAfterMs: 86_400_000,
        correlationId: 'x',
        causationId: 'y',
      },
    );
    const stored = {
      streamId: 'case-c-2',
      revision: 0,
      type: event!.type,
      data: JSON.stringify(event!.data),
      metadata: JSON.stringify(event!.metadata),
    };
    expect(storedLinkProblem(stored, 0, null)).toEqual({ problem: null, hash: event!.metadata.hash });
    expect(verifyChain([{ ...stored, data: event!.data, metadata: event!.metadata }])).toEqual({
      valid: true,
      events: 1,
    });
  });

  it('any sealed event, whatever keys its data has, hashes to what the RFC 8785 definition gives', () => {
    fc.assert(
      fc.property(fc.dictionary(fc.string(), fc.jsonValue()), (data) => {
        const [event] = sealEvents(
          [
            {
              type: 'DocumentRegistered',
              data,
              stepId: 'documents-registered',
              actor: { id: 'a', name: 'A', role: 'registry-clerk', unit: 'u' },
              occurredAt: new Date('2015-09-15T04:00:00Z'),
              startedAt: new Date('2015-09-15T04:00:00Z'),
              clause: { act: 'order-184-2015', paragraph: 7 },
            },
          ],
          {
            caseId: 'c-3',
            versionId: 'personnel-reserve/order-184-2015',
            previous: null,
            now: new Date('2015-09-15T04:05:00Z'),
            backDatedAfterMs: 86_400_000,
            correlationId: 'x',
            causationId: 'y',
          },
        );
        const definition = sha256Hex(
          canonicalize({
            streamId: 'case-c-3',
            revision: 0,
            type: event!.type,
            data,
            metadata: Object.fromEntries(Object.entries(event!.metadata).filter(([k]) => k !== 'hash')),
          })!,
        );
        expect(event!.metadata.hash).toBe(definition);
        expect(JSON.parse(JSON.stringify(event!.data))).toEqual(JSON.parse(JSON.stringify(data)));
      }),
      { numRuns: 1000 },
    );
  });

  it('any record sealed as other streams are (disclosures, deadline warnings), whatever keys its data and metadata have, hashes to what the RFC 8785 definition gives', () => {
    // Keys that matter to sealing mixed in: the envelope's own, one JavaScript treats apart, array indexes.
    const key = fc.oneof(fc.constantFrom('hash', 'previousHash', '__proto__', '0', '17'), fc.string());
    fc.assert(
      fc.property(
        fc.dictionary(key, fc.jsonValue()),
        fc.dictionary(key, fc.jsonValue()),
        fc.option(fc.stringMatching(/^[0-9a-f]{64}$/)),
        (data, metadata, previousHash) => {
          const sealed = sealRecord({ streamId: 's-1', revision: 4, type: 'T', data, metadata }, previousHash);
          const { hash: _replaced, ...given } = metadata;
          const definition = sha256Hex(
            canonicalize({ streamId: 's-1', revision: 4, type: 'T', data, metadata: { ...given, previousHash } })!,
          );
          expect(sealed.hash).toBe(definition);
          expect(sealed.metadata.hash).toBe(definition);
          expect(JSON.parse(JSON.stringify(sealed.data))).toEqual(JSON.parse(JSON.stringify(data)));
          // And as stored (JSON text read back), it continues its chain for verification.
          const stored = JSON.parse(
            JSON.stringify({ streamId: 's-1', revision: 4, type: 'T', data: sealed.data, metadata: sealed.metadata }),
          ) as HashableEvent;
          expect(linkProblem(stored, 4, previousHash)).toBeNull();
        },
      ),
      { numRuns: 1000 },
    );
  });

  it('a sealed event hashes to what the RFC 8785 definition gives', () => {
    const catalog = loadCatalog('data/regulations');
    const version = catalog.byId.get('civil-service-testing/order-184-2015')!;
    const [event] = sealEvents(
      [
        {
          type: 'ApplicationSubmitted',
          data: { z: 1, a: { y: 'ж', b: [3, { d: 1, c: 2 }] } },
          stepId: 'application-submitted',
          actor: { id: 'a', name: 'Ә', role: 'applicant', unit: 'u' },
          occurredAt: new Date('2015-09-15T04:00:00Z'),
          startedAt: new Date('2015-09-15T04:00:00Z'),
          clause: { act: 'order-184-2015', paragraph: 7 },
        },
      ],
      {
        caseId: 'c-1',
        versionId: version.versionId,
        previous: null,
        now: new Date('2015-09-15T04:05:00Z'),
        backDatedAfterMs: 86_400_000,
        correlationId: 'x',
        causationId: 'y',
      },
    );
    expect(event!.metadata.hash).toBe(
      eventHash({ streamId: 'case-c-1', revision: 0, type: event!.type, data: event!.data, metadata: event!.metadata }),
    );
  });
});
