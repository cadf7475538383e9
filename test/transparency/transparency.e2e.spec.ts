/**
 * The verifiable log on the real server and SQLite files: signed checkpoints and proofs served without a token and
 * checked as an outside auditor would, bad parameters refused, and each attack of someone with write access to the
 * data files (a rewritten chain, a dropped event, a truncated log, a file replaced with a forked history) reported
 * by `verify` with the first checkpoint it contradicts, and refused at start-up.
 */
import { cpSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startApi } from '../../src/app/bootstrap';
import { loadConfig } from '../../src/shared/config/config';
import { createLogger } from '../../src/shared/logging/logger';
import { hashLeaf, verifyConsistency, verifyInclusion } from '../../src/modules/transparency/domain/merkle';
import {
  parseCheckpoint,
  parseVkey,
  verifyNote,
  type NoteVerifierKey,
} from '../../src/modules/transparency/domain/signed-note';
import { startHarness, type ApiHarness } from '../support/api-harness';
import { auditor, cli, fileCase, rewriteChain, sql } from './support';

let api: ApiHarness;
let caseIds: string[];
let trusted: NoteVerifierKey[];
const scratch: string[] = [];

function copyOf(dir: string): string {
  const copy = mkdtempSync(join(tmpdir(), 'reglament-attack-'));
  scratch.push(copy);
  cpSync(dir, copy, { recursive: true });
  return copy;
}

const b = (base64: string[]) => base64.map((p) => Buffer.from(p, 'base64'));

beforeAll(async () => {
  api = await startHarness();
  caseIds = [await fileCase(api, 1), await fileCase(api, 2)];
  const keys = await api.call('GET', '/api/transparency/keys');
  trusted = keys.body.keys.map((k: { vkey: string }) => {
    const parsed = parseVkey(k.vkey);
    if (!parsed.ok) throw new Error(parsed.problem);
    return parsed.value;
  });
});
afterAll(async () => {
  await api.close();
  for (const dir of scratch) rmSync(dir, { recursive: true, force: true });
});

async function latestCheckpoint() {
  const r = await fetch(`${api.url}/api/transparency/checkpoint`);
  const note = await r.text();
  const verified = verifyNote(note, trusted);
  if (!verified.ok) throw new Error(verified.problem);
  const body = parseCheckpoint(verified.body);
  if (!body.ok) throw new Error(body.problem);
  return { response: r, note, ...body.value };
}

describe('checkpoints and proofs over HTTP, checked as an outside auditor would', () => {
  it('200 without a token: the latest checkpoint is a C2SP signed note by a published key, covering the whole log', async () => {
    const issued = await api.call('POST', '/api/transparency/checkpoint', { as: auditor });
    expect(issued.status).toBe(201);
    const latest = await latestCheckpoint();
    expect(latest.response.headers.get('content-type')).toMatch(/^text\/plain/);
    expect(latest.origin).toBe('reglament.local/log');
    expect(latest.note).toMatch(
      /^reglament\.local\/log\n\d+\n[A-Za-z0-9+/]{43}=\ntime \d+\n\n— reglament\.local\/log [A-Za-z0-9+/]+=*\n$/,
    );
    // Everything but the record of the auditor's own request, which is appended after it is answered.
    expect(latest.size).toBe((await api.app.infra.eventLog.headPosition()) - 1);
    const keys = await api.call('GET', '/api/transparency/keys');
    expect(keys.body.keys).toEqual([
      expect.objectContaining({
        status: 'active',
        keyName: 'reglament.local/log',
        keyId: expect.stringMatching(/^[0-9a-f]{8}$/),
        fingerprint: expect.stringMatching(/^[0-9a-f]{64}$/),
        firstSigned: expect.any(String),
      }),
    ]);
    // The evidence key is the same key, published without a token as well.
    const evidenceKey = await api.call('GET', '/api/evidence/public-key');
    expect(evidenceKey.status).toBe(200);
    expect(evidenceKey.body.keyFingerprint).toBe(keys.body.keys[0].fingerprint);
  });

  it("200: an event's inclusion proof (by id or leaf index) leads from its sealed hash to the signed root", async () => {
    const latest = await latestCheckpoint();
    const [event] = await api.app.infra.eventLog.readStream(`case-${caseIds[1]}`, { maxCount: 1 });
    const byId = await api.call(
      'GET',
      `/api/transparency/proofs/inclusion?eventId=${event!.id}&treeSize=${latest.size}`,
    );
    expect(byId.status).toBe(200);
    expect(byId.body).toMatchObject({
      leafIndex: event!.position - 1,
      treeSize: latest.size,
      leaf: event!.metadata.hash,
      checkpoint: latest.note,
    });
    expect(
      verifyInclusion(
        hashLeaf(Buffer.from(String(event!.metadata.hash), 'hex')),
        byId.body.leafIndex,
        latest.size,
        b(byId.body.proof),
        latest.root,
      ),
    ).toEqual({ ok: true });
    const byIndex = await api.call('GET', `/api/transparency/proofs/inclusion?leafIndex=0`);
    expect(byIndex.status).toBe(200);
    expect(
      verifyInclusion(
        Buffer.from(byIndex.body.leafHash, 'hex'),
        0,
        byIndex.body.treeSize,
        b(byIndex.body.proof),
        (await latestCheckpoint()).root,
      ).ok,
    ).toBe(true);
  });

  it('200: every checkpoint in the history is consistent with the latest (the log only grew)', async () => {
    await fileCase(api, 3);
    const latest = (await api.call('POST', '/api/transparency/checkpoint', { as: auditor })).body as string;
    const head = parseCheckpoint(verifyNote(latest, trusted).ok ? latest.slice(0, latest.indexOf('\n\n') + 1) : '');
    if (!head.ok) throw new Error(head.problem);
    const history = await api.call('GET', '/api/transparency/checkpoints?limit=200');
    expect(history.status).toBe(200);
    expect(history.body.checkpoints.length).toBeGreaterThanOrEqual(3);
    for (const c of history.body.checkpoints) {
      expect(verifyNote(c.note, trusted).ok).toBe(true);
      const proof = await api.call(
        'GET',
        `/api/transparency/proofs/consistency?from=${c.treeSize}&to=${head.value.size}`,
      );
      expect(proof.status).toBe(200);
      expect(
        verifyConsistency(
          c.treeSize,
          head.value.size,
          b(proof.body.proof),
          Buffer.from(c.rootHash, 'base64'),
          head.value.root,
        ),
      ).toEqual({ ok: true });
    }
    const paged = await api.call('GET', '/api/transparency/checkpoints?limit=1');
    expect(paged.body.next).toBe(paged.body.checkpoints[0].seq);
    const older = await api.call('GET', `/api/transparency/checkpoints?limit=1&before=${paged.body.next}`);
    expect(older.body.checkpoints[0].seq).toBeLessThan(paged.body.next);
  });

  it.each([
    ['leafIndex=-1', 'query.leafIndex'],
    ['eventId=not-a-uuid', 'query.eventId'],
    ['leafIndex=abc', 'query.leafIndex'],
    ['', 'query.eventId'],
    ['leafIndex=0&eventId=0190f0f0-0000-7000-8000-000000000000', 'query.eventId'],
    ['leafIndex=0&treeSize=99999999', 'query.treeSize'],
    ['leafIndex=1e400', 'query.leafIndex'],
    ['leafIndex=0&leaf=1', 'query.leaf'],
  ])('400 problem+json for inclusion?%s, naming %s', async (query, field) => {
    const r = await api.call('GET', `/api/transparency/proofs/inclusion?${query}`);
    expect(r.status).toBe(400);
    expect(r.headers.get('content-type')).toMatch(/application\/problem\+json/);
    expect(r.body.errors.map((e: { field: string }) => e.field)).toContain(field);
    // Every problem says what is allowed, as on every other route.
    for (const e of r.body.errors as Array<{ allowed?: unknown }>) expect(e.allowed).toBeTruthy();
  });

  it.each([
    ['proofs/consistency?from=x&to=2', 'query.from'],
    ['proofs/consistency?from=1&to=2&size=3', 'query.size'],
    ['checkpoints?limit=0', 'query.limit'],
    ['checkpoints?before=-1', 'query.before'],
  ])('400 problem+json for %s, naming %s and what is allowed', async (path, field) => {
    const r = await api.call('GET', `/api/transparency/${path}`);
    expect(r.status).toBe(400);
    expect(r.body.errors).toEqual([expect.objectContaining({ field, allowed: expect.any(String) })]);
  });

  it('400 for a consistency proof between sizes out of order or beyond the log; 404 for an unknown event', async () => {
    expect((await api.call('GET', '/api/transparency/proofs/consistency?from=5&to=2')).status).toBe(400);
    expect((await api.call('GET', '/api/transparency/proofs/consistency?from=0&to=99999999')).status).toBe(400);
    expect((await api.call('GET', '/api/transparency/proofs/consistency?to=2')).status).toBe(400);
    expect((await api.call('GET', '/api/transparency/checkpoints?limit=0')).status).toBe(400);
    const unknown = await api.call(
      'GET',
      '/api/transparency/proofs/inclusion?eventId=0190f0f0-0000-7000-8000-000000000000',
    );
    expect(unknown.status).toBe(404);
  });

  it('401 for an on-demand checkpoint without a token', async () => {
    expect((await api.call('POST', '/api/transparency/checkpoint')).status).toBe(401);
  });

  it("verify: every stream is chained (the auditors' access log too) and every checkpoint reproduced", async () => {
    await api.call('GET', `/api/cases/${caseIds[0]}/verify`, { as: auditor });
    await api.call('POST', '/api/transparency/checkpoint', { as: auditor });
    const r = cli(['verify', '--json'], { DATA_DIR: api.dataDir });
    expect(r.code).toBe(0);
    const report = JSON.parse(r.stdout);
    expect(report).toMatchObject({
      valid: true,
      unsealedStreams: 0,
      tree: { contradicted: [], badSignatures: [], storedTree: null },
    });
    expect(report.tree.confirmed).toBe(report.tree.checkpoints);
    expect(report.streams).toBeGreaterThanOrEqual(4);
  });
});

describe('attacks on the data files are caught by verify and refused at start-up', () => {
  let dataDir: string;
  let firstCaseStream: string;
  beforeAll(async () => {
    await api.call('POST', '/api/transparency/checkpoint', { as: auditor });
    firstCaseStream = `case-${caseIds[0]}`;
    await api.app.close();
    dataDir = api.dataDir;
  });

  function expectContradicted(dir: string, problem: RegExp) {
    const r = cli(['verify', '--json'], { DATA_DIR: dir });
    expect(r.code).toBe(1);
    const report = JSON.parse(r.stdout);
    expect(report.valid).toBe(false);
    expect(report.tree.contradicted.length).toBeGreaterThan(0);
    expect(report.tree.contradicted[0].problem).toMatch(problem);
    const human = cli(['verify'], { DATA_DIR: dir });
    expect(human.stdout).toContain(`FIRST CONTRADICTED checkpoint #${report.tree.contradicted[0].seq}`);
    return report;
  }

  async function expectStartRefused(dir: string) {
    await expect(
      startApi(loadConfig({ DATA_DIR: dir, PORT: '0', LOG_LEVEL: 'silent' }), createLogger('silent')),
    ).rejects.toThrow(/npm run cli -- (verify|accept-log-loss)/);
  }

  it('an event edited and its chain recomputed (and the tree rebuilt to match): chains pass, the checkpoints do not', async () => {
    const dir = copyOf(dataDir);
    rewriteChain(dir, firstCaseStream, 1, (data) => (data.incomingNumber = '04-9999'));
    expect(cli(['rebuild-tree'], { DATA_DIR: dir }).code).toBe(0);
    const report = expectContradicted(dir, /changed, removed, inserted or reordered/);
    expect(report.broken).toEqual([]);
    expect(report.tree.storedTree).toBeNull();
    await expectStartRefused(dir);
  });

  it("a stream's last event dropped", async () => {
    const dir = copyOf(dataDir);
    expect(
      sql(
        dir,
        'DELETE FROM events WHERE stream_id = ? AND revision = (SELECT max(revision) FROM events WHERE stream_id = ?)',
        firstCaseStream,
        firstCaseStream,
      ),
    ).toBe(1);
    expectContradicted(dir, /./);
    await expectStartRefused(dir);
  });

  it('the log truncated (and its tree rebuilt)', async () => {
    const dir = copyOf(dataDir);
    expect(sql(dir, 'DELETE FROM events WHERE position > 5')).toBeGreaterThan(0);
    expect(cli(['rebuild-tree'], { DATA_DIR: dir }).code).toBe(0);
    expectContradicted(dir, /truncated/);
    await expectStartRefused(dir);
  });

  it("the log file replaced with a forked history (another service's events.db)", async () => {
    const other = await startHarness();
    await fileCase(other, 7);
    await fileCase(other, 8);
    await other.app.close();
    const dir = copyOf(dataDir);
    cpSync(join(other.dataDir, 'events.db'), join(dir, 'events.db'));
    rmSync(other.dataDir, { recursive: true, force: true });
    expectContradicted(dir, /./);
    await expectStartRefused(dir);
  });
});
