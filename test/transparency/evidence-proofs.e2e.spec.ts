/**
 * Evidence packs where the API keeps no tree (API instances beside EventStoreDB): the proofs come from the worker that
 * follows the log, asked with the caller's own token on POST /api/transparency/evidence-proofs, which gives them to
 * whom the case's evidence pack is. Here the embedded service plays the worker (it serves the same route from its own
 * tree), and the API's audit service reads the same log through a view whose positions are not leaf numbers, as
 * EventStoreDB's prepare positions are not; the real CLI then checks the pack. A small fault harness (a plain node:http
 * server standing in for a misbehaving worker, not a worker) checks how each failure is answered.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { randomUUID } from 'node:crypto';
import { AuditService } from '../../src/modules/audit/audit.service';
import type { EventLog, RecordedEvent } from '../../src/modules/event-log/event-log.port';
import type { Principal } from '../../src/modules/identity/domain/principal';
import { RemoteEvidenceProofs } from '../../src/modules/transparency/evidence-proofs';
import { hashLeaf, verifyInclusion } from '../../src/modules/transparency/domain/merkle';
import { parseCheckpoint } from '../../src/modules/transparency/domain/signed-note';
import { renderEvidenceFile, signPack, type SignedEvidencePack } from '../../src/modules/audit/domain/evidence-pack';
import { signerKey, signNote } from '../../src/modules/transparency/domain/signed-note';
import { generateKeyPairSync } from 'node:crypto';
import { ProblemError } from '../../src/shared/problem/problem';
import { makeIin, startHarness, type ApiHarness } from '../support/api-harness';
import { callerFor } from '../support/case-walk';
import { auditor, cli, embeddedPack, fileCase, fileIn, UNIT } from './support';

let api: ApiHarness;
let caseId: string;
let eventIds: string[];
let keysFile: string;
const PROOFS = '/api/transparency/evidence-proofs';
const auditorPrincipal = { id: auditor.sub, name: auditor.name, roles: ['auditor'], unit: 'hq' } as Principal;

/** The same log, its positions spread as a store's own numbering is (EventStoreDB's prepare positions): no leaf numbers. */
function storePositions(log: EventLog): EventLog {
  const spread = (e: RecordedEvent): RecordedEvent => ({ ...e, position: e.position * 1_000 + 17 });
  return new Proxy(log, {
    get(target, name, receiver) {
      if (name === 'readStream')
        return async (...args: Parameters<EventLog['readStream']>) => (await target.readStream(...args)).map(spread);
      const value = Reflect.get(target, name, receiver) as unknown;
      return typeof value === 'function' ? (value as (...a: unknown[]) => unknown).bind(target) : value;
    },
  });
}

/** The audit service of an API instance that keeps no tree and asks `workerUrl` for the proofs. */
function apiBesideWorker(workerUrl: string, timeoutMs?: number): AuditService {
  const { infra } = api.app;
  return new AuditService(
    storePositions(infra.eventLog),
    infra.reference.catalog,
    infra.reference.calendar,
    infra.keys.active.privateKey,
    () => new Date(),
    new RemoteEvidenceProofs(
      workerUrl,
      infra.keys.keys.map((k) => k.note),
      { warn: () => undefined },
      timeoutMs,
    ),
  );
}

async function packFrom(audit: AuditService, authorization: string): Promise<string> {
  const history = await audit.load(caseId);
  return audit.evidence(history!, auditorPrincipal, { authorization });
}

const write = (name: string, text: string): string => fileIn(api.dataDir, name, text);

beforeAll(async () => {
  api = await startHarness();
  caseId = await fileCase(api, 1);
  await fileCase(api, 2);
  eventIds = (await api.app.infra.eventLog.readStream(`case-${caseId}`)).map((e) => e.id);
  keysFile = write('keys.json', await (await fetch(`${api.url}/api/transparency/keys`)).text());
});
afterAll(async () => api.close());

describe('POST /api/transparency/evidence-proofs (served where the tree is kept)', () => {
  it("gives an auditor each event's proof, in the order asked, to one signed checkpoint", async () => {
    const asked = [...eventIds].reverse();
    const r = await api.call('POST', PROOFS, { as: auditor, body: { caseId, eventIds: asked } });
    expect(r.status).toBe(200);
    const checkpoint = parseCheckpoint(r.body.checkpoint.slice(0, r.body.checkpoint.indexOf('\n\n') + 1));
    expect(checkpoint.ok).toBe(true);
    if (!checkpoint.ok) return;
    const { size, root } = checkpoint.value;
    expect(r.body.events.map((e: { eventId: string }) => e.eventId)).toEqual(asked);
    for (const e of r.body.events as { leafIndex: number; leaf: string; proof: string[] }[]) {
      const verified = verifyInclusion(
        hashLeaf(Buffer.from(e.leaf, 'hex')),
        e.leafIndex,
        size,
        e.proof.map((p) => Buffer.from(p, 'base64')),
        root,
      );
      expect(verified).toEqual({ ok: true });
    }
  });

  it("gives them to whom the case's evidence pack is: a token, a role that takes packs, the case's unit", async () => {
    const anonymous = await api.call('POST', PROOFS, { body: { caseId, eventIds } });
    expect(anonymous.status).toBe(401);
    const applicant = await api.call('POST', PROOFS, {
      as: callerFor('applicant', UNIT, makeIin('850315', 3, 41)),
      body: { caseId, eventIds },
    });
    expect(applicant.status).toBe(403);
    const otherHead = await api.call('POST', PROOFS, {
      as: callerFor('head', 'almaty', ''),
      body: { caseId, eventIds },
    });
    expect(otherHead.status).toBe(403);
    const ownHead = await api.call('POST', PROOFS, { as: callerFor('head', UNIT, ''), body: { caseId, eventIds } });
    expect(ownHead.status).toBe(200);
  });

  it("a case's events only: another case's event, or a case that does not exist, is a 404 and nothing is signed", async () => {
    const other = await fileCase(api, 4);
    const before = (await api.call('GET', '/api/transparency/checkpoints')).body.checkpoints[0]?.seq;
    const [otherEvent] = await api.app.infra.eventLog.readStream(`case-${other}`);
    const foreign = await api.call('POST', PROOFS, {
      as: auditor,
      body: { caseId, eventIds: [eventIds[0], otherEvent!.id] },
    });
    expect(foreign.status).toBe(404);
    expect(foreign.body).toMatchObject({
      type: expect.stringContaining('not-an-event-of-the-case'),
      errors: [{ field: 'eventIds[1]' }],
    });
    const unknown = await api.call('POST', PROOFS, { as: auditor, body: { caseId: randomUUID(), eventIds } });
    expect(unknown.status).toBe(404);
    expect(unknown.body.errors).toEqual([expect.objectContaining({ field: 'caseId' })]);
    expect((await api.call('GET', '/api/transparency/checkpoints')).body.checkpoints[0]?.seq).toBe(before);
  });

  it.each([
    ['no list', () => ({ caseId }), 'eventIds'],
    ['no case', () => ({ eventIds }), 'caseId'],
    ['an empty list', () => ({ caseId, eventIds: [] }), 'eventIds'],
    ['a text for a list', () => ({ caseId, eventIds: 'all' }), 'eventIds'],
    ['an id that is not a UUID', () => ({ caseId, eventIds: ['1; DROP'] }), 'eventIds'],
    ['an id twice', () => ({ caseId, eventIds: [eventIds[0], eventIds[0]] }), 'eventIds[1]'],
    [
      'an id twice, once in capitals',
      () => ({ caseId, eventIds: [eventIds[0]!.toUpperCase(), eventIds[0]] }),
      'eventIds[1]',
    ],
    [
      'more ids than a request takes',
      () => ({ caseId, eventIds: Array.from({ length: 10_001 }, () => randomUUID()) }),
      'eventIds',
    ],
  ])('refuses %s with a 400 naming the field', async (_name, body, field) => {
    const before = (await api.call('GET', '/api/transparency/checkpoints')).body.checkpoints[0]?.seq;
    const r = await api.call('POST', PROOFS, { as: auditor, body: body() });
    expect(r.status).toBe(400);
    expect(r.headers.get('content-type')).toMatch(/application\/problem\+json/);
    expect(r.body.errors.map((e: { field: string }) => e.field)).toContain(field);
    expect((await api.call('GET', '/api/transparency/checkpoints')).body.checkpoints[0]?.seq).toBe(before);
  });
});

describe('an API instance that keeps no tree takes the proofs from the worker', () => {
  it("the pack carries the worker's proofs, its positions the events' places in the verifiable log, and the real CLI finds it VALID", async () => {
    const html = await packFrom(apiBesideWorker(api.url), `Bearer ${await api.token(auditor)}`);
    const pack = embeddedPack(html);
    const stored = await api.app.infra.eventLog.readStream(`case-${caseId}`);
    // The store's own positions (spread, as EventStoreDB's are) are not what the pack gives: it gives the leaves + 1.
    expect(pack.events.map((e) => e.position)).toEqual(stored.map((e) => e.position));
    expect(pack.transparency!.events.map((e) => e.leafIndex + 1)).toEqual(stored.map((e) => e.position));
    const r = cli(['verify-evidence', write('remote.html', html), '--trusted-keys', keysFile, '--json']);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const inclusion = JSON.parse(r.stdout).checks.find((c: { name: string }) => c.name === 'inclusion');
    expect(inclusion).toMatchObject({ ok: true, detail: expect.stringContaining('at its position') });
  });

  it.each([
    [
      'whose positions are edited (positions stay proven)',
      (pack: Omit<SignedEvidencePack, 'signature'>) =>
        pack.events.forEach((e, i) => (e.position = [900, 7, 3][i] ?? e.position)),
    ],
    [
      'whose leaves do not follow its revisions',
      (pack: Omit<SignedEvidencePack, 'signature'>) => {
        const proofs = pack.transparency!.events;
        [proofs[0]!.leafIndex, proofs[1]!.leafIndex] = [proofs[1]!.leafIndex, proofs[0]!.leafIndex];
        [proofs[0]!.proof, proofs[1]!.proof] = [proofs[1]!.proof, proofs[0]!.proof];
      },
    ],
  ])("a pack %s and signed again by the service's key is NOT VALID", async (_name, forge) => {
    const html = await packFrom(apiBesideWorker(api.url), `Bearer ${await api.token(auditor)}`);
    const { signature: _signature, ...pack } = embeddedPack(html);
    forge(pack);
    const forged = renderEvidenceFile(signPack(pack, api.app.infra.keys.active.privateKey));
    const r = cli(['verify-evidence', write('forged.html', forged), '--trusted-keys', keysFile, '--json']);
    expect(r.code).toBe(1);
    const checks = JSON.parse(r.stdout).checks as { name: string; ok: boolean; detail: string }[];
    expect(checks.find((c) => c.name === 'signature')!.ok).toBe(true);
    expect(checks.find((c) => c.name === 'inclusion')).toMatchObject({
      ok: false,
      detail: expect.stringContaining('no proof for its place in the log'),
    });
  });

  it("the caller's own token goes to the worker: one the worker refuses gives a 502 naming the refusal", async () => {
    const applicantToken = await api.token(callerFor('applicant', UNIT, makeIin('850315', 3, 41)));
    await expect(packFrom(apiBesideWorker(api.url), `Bearer ${applicantToken}`)).rejects.toMatchObject({
      status: 502,
      code: 'transparency-refused',
    });
  });
});

describe('how the API answers a worker that fails (fault harness: a plain HTTP server, not a worker)', () => {
  let fault: Server;
  let faultUrl: string;
  let respond: (body: string) => {
    status: number;
    body: string;
    delayMs?: number;
    headers?: Record<string, string>;
  };
  let seenAuthorization: string | undefined;

  beforeAll(async () => {
    fault = createServer((request, response) => {
      seenAuthorization = request.headers.authorization;
      let text = '';
      request.on('data', (chunk) => (text += chunk));
      request.on('end', () => {
        const answer = respond(text);
        setTimeout(() => {
          if (response.destroyed) return;
          response.writeHead(answer.status, { 'content-type': 'application/json', ...answer.headers });
          response.end(answer.body);
        }, answer.delayMs ?? 0);
      });
    });
    await new Promise<void>((resolve) => fault.listen(0, '127.0.0.1', resolve));
    faultUrl = `http://127.0.0.1:${(fault.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    fault.closeAllConnections();
    await new Promise((resolve) => fault.close(resolve));
  });

  /** The worker's true answer, as the embedded service gives it, changed by `alter`. */
  async function trueAnswer(alter: (answer: { checkpoint: string; events: Record<string, unknown>[] }) => void) {
    const r = await api.call('POST', PROOFS, { as: auditor, body: { caseId, eventIds } });
    alter(r.body);
    return JSON.stringify(r.body);
  }

  it('a proof whose leaf is not the event is refused (502 transparency-mismatch): no pack for other events', async () => {
    const body = await trueAnswer((a) => (a.events[1]!.leaf = 'ab'.repeat(32)));
    respond = () => ({ status: 200, body });
    await expect(packFrom(apiBesideWorker(faultUrl), 'Bearer t')).rejects.toMatchObject({
      status: 502,
      code: 'transparency-mismatch',
      detail: expect.stringContaining('events[1]'),
    });
    expect(seenAuthorization).toBe('Bearer t');
  });

  it('a checkpoint another key signed (another log, a staging worker) is refused before a pack carries it', async () => {
    const body = await trueAnswer((a) => {
      const noteBody = a.checkpoint.slice(0, a.checkpoint.indexOf('\n\n') + 1);
      const other = generateKeyPairSync('ed25519');
      a.checkpoint = signNote(noteBody, [signerKey(noteBody.split('\n', 1)[0]!, other.privateKey)]);
    });
    respond = () => ({ status: 200, body });
    await expect(packFrom(apiBesideWorker(faultUrl), 'Bearer t')).rejects.toMatchObject({
      status: 502,
      code: 'transparency-mismatch',
      detail: expect.stringContaining("not signed by this log's keys"),
    });
  });

  it.each([
    ['proofs of other events', (a: { events: Record<string, unknown>[] }) => (a.events[0]!.eventId = randomUUID())],
    ['one proof too few', (a: { events: Record<string, unknown>[] }) => a.events.pop()],
    ['a proof that is not base64 hashes', (a: { events: Record<string, unknown>[] }) => (a.events[2]!.proof = ['x'])],
    [
      'a proof that does not lead to the root',
      (a: { events: Record<string, unknown>[] }) =>
        (a.events[2]!.proof = (a.events[2]!.proof as string[]).map(() => Buffer.alloc(32, 7).toString('base64'))),
    ],
    ['leaves out of order', (a: { events: Record<string, unknown>[] }) => a.events.reverse()],
  ])('an answer with %s is refused (502 transparency-mismatch)', async (_name, alter) => {
    const body = await trueAnswer(alter);
    respond = () => ({ status: 200, body });
    await expect(packFrom(apiBesideWorker(faultUrl), 'Bearer t')).rejects.toMatchObject({
      status: 502,
      code: 'transparency-mismatch',
    });
  });

  it("a worker that has not followed the events yet (its not-in-tree 404) is a 503 tree-behind; its own 503's Retry-After is kept", async () => {
    respond = () => ({
      status: 404,
      body: JSON.stringify({ type: 'https://reglament.kz/problems/not-in-tree', detail: 'no event … in the tree' }),
    });
    await expect(packFrom(apiBesideWorker(faultUrl), 'Bearer t')).rejects.toMatchObject({
      status: 503,
      code: 'tree-behind',
      headers: { 'retry-after': '1' },
    });
    respond = () => ({ status: 503, body: JSON.stringify({ type: 'x/tree-behind' }), headers: { 'retry-after': '7' } });
    await expect(packFrom(apiBesideWorker(faultUrl), 'Bearer t')).rejects.toMatchObject({
      status: 503,
      code: 'tree-behind',
      headers: { 'retry-after': '7' },
    });
  });

  it("a 404 that is not the tree's (a wrong TRANSPARENCY_WORKER_URL: no such route there) is a 502, not a wait for ever", async () => {
    respond = () => ({
      status: 404,
      body: JSON.stringify({ title: 'Not Found', detail: 'Cannot POST /api/transparency/evidence-proofs' }),
    });
    const refusal = await packFrom(apiBesideWorker(faultUrl), 'Bearer t').catch((e: unknown) => e);
    expect(refusal).toBeInstanceOf(ProblemError);
    expect(refusal).toMatchObject({ status: 502, code: 'transparency-failed' });
    expect((refusal as ProblemError).detail).not.toContain(faultUrl);
  });

  it('a worker that fails is a 502 naming its status; one that answers too late, or is not there, a 503 with Retry-After; its address is not told', async () => {
    respond = () => ({ status: 500, body: '{"title":"Internal error"}' });
    await expect(packFrom(apiBesideWorker(faultUrl), 'Bearer t')).rejects.toMatchObject({
      status: 502,
      code: 'transparency-failed',
      detail: expect.stringContaining('500'),
    });
    respond = () => ({ status: 200, body: '{}', delayMs: 2_000 });
    await expect(packFrom(apiBesideWorker(faultUrl, 200), 'Bearer t')).rejects.toMatchObject({
      status: 503,
      code: 'transparency-unavailable',
      detail: expect.stringContaining('no answer in time'),
      headers: { 'retry-after': '5' },
    });
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const closedUrl = `http://127.0.0.1:${(closed.address() as AddressInfo).port}`;
    await new Promise((resolve) => closed.close(resolve));
    const refusal = await packFrom(apiBesideWorker(closedUrl), 'Bearer t').catch((e: unknown) => e);
    expect(refusal).toMatchObject({ status: 503, code: 'transparency-unavailable' });
    expect((refusal as ProblemError).detail).not.toContain(closedUrl);
  });
});
