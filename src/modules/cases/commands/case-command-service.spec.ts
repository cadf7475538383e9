/**
 * The command service over a real SQLite log, as two API processes would use it: each service keeps its own
 * cache of folded cases, so one decides on a fold the other has overtaken. What it answers must rest on the
 * stream as stored.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadCalendars } from '../../calendar/domain/load-calendar';
import type { EventLog } from '../../event-log/event-log.port';
import { openSqliteEventLog, type SqliteEventLog } from '../../event-log/sqlite/sqlite-event-log';
import { loadCatalog } from '../../regulations/domain/catalog';
import { caseStreamId } from '../domain/case-event';
import { makeIin, principal, validData } from '../../../../test/support/case-specification';
import { verifyChain } from '../domain/hash-chain';
import { CaseCommandService, idempotentId, type CommandOutcome } from './case-command-service';

const DATA = join(__dirname, '../../../../data');
const catalog = loadCatalog(join(DATA, 'regulations'));
const calendar = loadCalendars(join(DATA, 'calendars')).get('KZ')!;
const UNIT = 'astana-department';
const IIN = makeIin('880101', 3, 321);
const clerk = principal('registry-clerk', UNIT);
const head = principal('head', UNIT);
const employee = principal('employee', UNIT);

let dir: string;
let log: SqliteEventLog;
/** The log as one service sees it, counting its stream reads. */
let reads: number;
let countedLog: EventLog;
let a: CaseCommandService;
let b: CaseCommandService;

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'reglament-commands-'));
  log = openSqliteEventLog({ file: join(dir, 'events.db') });
  reads = 0;
  countedLog = new Proxy(log, {
    get(target, property, receiver) {
      if (property === 'readStream')
        return (...args: Parameters<EventLog['readStream']>) => (reads++, target.readStream(...args));
      const value = Reflect.get(target, property, receiver);
      return typeof value === 'function' ? value.bind(target) : value;
    },
  });
  const clock = () => new Date('2015-09-20T12:00:00+06:00');
  a = new CaseCommandService(countedLog, catalog, calendar, { backDatedAfterMs: 86_400_000, clock });
  b = new CaseCommandService(log, catalog, calendar, { backDatedAfterMs: 86_400_000, clock });
});
afterEach(async () => {
  await log.close();
  rmSync(dir, { recursive: true, force: true });
});

function accepted(outcome: CommandOutcome) {
  if (!outcome.ok) throw new Error(`refused: ${JSON.stringify(outcome.refusal)}`);
  return outcome.accepted;
}

const at = (time: string) => new Date(`2015-09-15T${time}+06:00`);

async function fileWithA(): Promise<string> {
  const filed = accepted(
    await a.submit(principal('applicant', 'public', { iin: IIN }), {
      serviceId: 'personnel-reserve',
      trackId: 'competition-recommended',
      channel: 'portal',
      unit: UNIT,
      applicant: { iin: IIN, fullName: 'Әлия Сәрсенова' },
      occurredAt: at('09:00'),
    }),
  );
  accepted(
    await a.takeStep(clerk, filed.caseId, {
      stepId: 'documents-registered',
      occurredAt: at('09:30'),
      data: validData('DocumentRegistered'),
    }),
  );
  return filed.caseId;
}

describe('a case folded by this service', () => {
  it('is decided on without reading its stream again', async () => {
    const caseId = await fileWithA();
    const before = reads;
    const stats = a.repository.stats();
    const step = accepted(
      await a.takeStep(head, caseId, {
        stepId: 'assigned-to-employee',
        occurredAt: at('10:00'),
        data: validData('AssignedToEmployee'),
      }),
    );
    expect(step.revision).toBe(2);
    expect(reads).toBe(before);
    expect(a.repository.stats()).toMatchObject({ hits: stats.hits + 1, reads: stats.reads });
  });

  it('is kept without its acts, which commands never read, and decided on as well', async () => {
    const caseId = await fileWithA();
    const folded = a.repository.cached(caseId)!;
    expect(folded.state.revision).toBe(1);
    expect(folded.state.acts).toEqual([]);
    expect(Object.keys(folded.state.completed)).toEqual(['application-submitted', 'documents-registered']);
    accepted(
      await a.takeStep(head, caseId, {
        stepId: 'assigned-to-employee',
        occurredAt: at('10:00'),
        data: validData('AssignedToEmployee'),
      }),
    );
    // The stored stream has every act: the view and the audit fold it themselves.
    expect((await log.readStream(caseStreamId(caseId))).map((e) => e.type)).toEqual([
      'ApplicationSubmitted',
      'DocumentRegistered',
      'AssignedToEmployee',
    ]);
  });

  it("overtaken by another process: a step that needs the other's act is accepted, decided again on the stream as stored", async () => {
    const caseId = await fileWithA();
    accepted(
      await b.takeStep(head, caseId, {
        stepId: 'assigned-to-employee',
        occurredAt: at('10:00'),
        data: validData('AssignedToEmployee'),
      }),
    );
    // a's fold still lacks the assignment that documents-reviewed follows.
    const step = accepted(
      await a.takeStep(employee, caseId, {
        stepId: 'documents-reviewed',
        occurredAt: at('11:00'),
        data: validData('DocumentsReviewed'),
      }),
    );
    expect(step.revision).toBe(3);
    const stored = await log.readStream(caseStreamId(caseId));
    expect(stored.map((e) => e.type)).toEqual([
      'ApplicationSubmitted',
      'DocumentRegistered',
      'AssignedToEmployee',
      'DocumentsReviewed',
    ]);
    expect(verifyChain(stored).valid).toBe(true);
  });

  it('closed by another process: a step decided on this memory of the case as open is refused, and nothing is appended (an erasure, which needs every case of its subject closed, meets no act after its checks)', async () => {
    const caseId = await fileWithA();
    accepted(await b.cancel(principal('applicant', 'public', { iin: IIN }), caseId, { occurredAt: at('09:45') }));
    expect(a.repository.cached(caseId)!.state.status).toBe('open');
    const late = await a.takeStep(head, caseId, {
      stepId: 'assigned-to-employee',
      occurredAt: at('10:00'),
      data: validData('AssignedToEmployee'),
    });
    expect(late).toMatchObject({ ok: false, refusal: { kind: 'step-not-allowed', caseStatus: 'cancelled' } });
    expect((await log.readStream(caseStreamId(caseId))).map((e) => e.type)).toEqual([
      'ApplicationSubmitted',
      'DocumentRegistered',
      'ApplicationCancelled',
    ]);
  });

  it("overtaken: the caller's expected revision is checked against the stream, not the fold", async () => {
    const caseId = await fileWithA();
    accepted(
      await b.takeStep(head, caseId, {
        stepId: 'assigned-to-employee',
        occurredAt: at('10:00'),
        data: validData('AssignedToEmployee'),
      }),
    );
    const current = accepted(
      await a.takeStep(
        employee,
        caseId,
        { stepId: 'documents-reviewed', occurredAt: at('11:00'), data: validData('DocumentsReviewed') },
        2,
      ),
    );
    expect(current.revision).toBe(3);
    const stale = await a.takeStep(
      employee,
      caseId,
      { stepId: 'order-drafted', occurredAt: at('12:00'), data: validData('OrderDrafted') },
      2,
    );
    expect(stale).toEqual({ ok: false, refusal: { kind: 'stale-revision', caseId, expected: 2, actual: 3 } });
    expect((await log.readStream(caseStreamId(caseId))).length).toBe(4);
  });

  it('overtaken: a repeat of a command the other process recorded is answered from it, writing nothing', async () => {
    const caseId = await fileWithA();
    const key = { key: 'assign-1', fingerprint: 'f1' };
    const first = accepted(
      await b.takeStep(
        head,
        caseId,
        { stepId: 'assigned-to-employee', occurredAt: at('10:00'), data: validData('AssignedToEmployee') },
        undefined,
        { idempotency: key },
      ),
    );
    const repeat = accepted(
      await a.takeStep(
        head,
        caseId,
        { stepId: 'assigned-to-employee', occurredAt: at('10:00'), data: validData('AssignedToEmployee') },
        undefined,
        { idempotency: key },
      ),
    );
    expect(repeat).toEqual({ ...first, replayed: true });
    expect((await log.readStream(caseStreamId(caseId))).length).toBe(3);
  });

  it('a retry of a request first made before fingerprints were keyed is still the same request; the former fingerprint is never stored', async () => {
    const caseId = await fileWithA();
    const take = (idempotency: { key: string; fingerprint: string; formerly?: string }) =>
      a.takeStep(
        head,
        caseId,
        { stepId: 'assigned-to-employee', occurredAt: at('10:00'), data: validData('AssignedToEmployee') },
        undefined,
        { idempotency },
      );
    // As stored before: the plain hash of the request (what it is compared with is never stored beside it).
    const first = accepted(await take({ key: 'assign-2', fingerprint: 'plain-sha256', formerly: 'never-stored' }));
    const retry = accepted(await take({ key: 'assign-2', fingerprint: 'hmac', formerly: 'plain-sha256' }));
    expect(retry).toEqual({ ...first, replayed: true });
    const other = await take({ key: 'assign-2', fingerprint: 'hmac-2', formerly: 'another-plain-sha256' });
    expect(other).toMatchObject({ ok: false, refusal: { kind: 'idempotency-key-reused' } });
    const [stored] = await log.readStream(caseStreamId(caseId), { direction: 'backwards', maxCount: 1 });
    expect(stored!.revision).toBe(first.revision);
    expect(stored!.metadata.idempotency).toEqual({ key: 'assign-2', fingerprint: 'plain-sha256' });
  });
});

describe('an Idempotency-Key reused on another case, on a log that refuses a repeated event id only within a stream (as EventStoreDB does)', () => {
  /** The real log, with each event id made unique per stream: a repeated id in another stream is then accepted. */
  const perStreamIds = (inner: EventLog): EventLog =>
    new Proxy(inner, {
      get(target, property, receiver) {
        if (property === 'kind') return 'eventstoredb';
        if (property === 'append')
          return (
            streamId: string,
            events: Parameters<EventLog['append']>[1],
            expected: Parameters<EventLog['append']>[2],
          ) =>
            target.append(
              streamId,
              events.map((e) => ({ ...e, ...(e.id ? { id: idempotentId('event', streamId, e.id) } : {}) })),
              expected,
            );
        const value = Reflect.get(target, property, receiver);
        return typeof value === 'function' ? value.bind(target) : value;
      },
    });
  const key = { key: 'assign-1', fingerprint: 'sha256-of-the-first-request' };
  const assign = (service: CaseCommandService, caseId: string) =>
    service.takeStep(
      head,
      caseId,
      { stepId: 'assigned-to-employee', occurredAt: at('10:00'), data: validData('AssignedToEmployee') },
      undefined,
      { idempotency: key },
    );

  it('is taken for a new request when keys are not reserved: the bug the reservation closes', async () => {
    const plain = new CaseCommandService(perStreamIds(log), catalog, calendar, {
      backDatedAfterMs: 86_400_000,
      clock: () => new Date('2015-09-20T12:00:00+06:00'),
      reserveIdempotencyKeys: false,
    });
    const [first, second] = [await fileWithA(), await fileWithA()];
    accepted(await assign(plain, first));
    expect((await assign(plain, second)).ok).toBe(true);
  });

  it('is refused (idempotency-key-reused, naming the case it was used on) when the log is not the embedded one, and nothing is written to the second case', async () => {
    const reserving = new CaseCommandService(perStreamIds(log), catalog, calendar, {
      backDatedAfterMs: 86_400_000,
      clock: () => new Date('2015-09-20T12:00:00+06:00'),
    });
    const [first, second] = [await fileWithA(), await fileWithA()];
    accepted(await assign(reserving, first));
    const before = (await log.readStream(caseStreamId(second))).length;
    const refused = await assign(reserving, second);
    expect(refused).toMatchObject({
      ok: false,
      refusal: { kind: 'idempotency-key-reused', detail: expect.stringContaining(`on case ${first}`) },
    });
    expect((await log.readStream(caseStreamId(second))).length).toBe(before);
    // The same request again on its own case is still the same request: answered from the first, nothing written.
    expect(accepted(await assign(reserving, first)).replayed).toBe(true);
  });
});
