/**
 * Auditors' witnesses against real servers: each holds the last checkpoint it accepted and catches the operator
 * who truncates the log, replaces it with a forked history, or shows two witnesses two histories; a witness
 * cosigns what it accepted, and the cosignature verifies with its key.
 */
import { generateKeyPairSync } from 'node:crypto';
import { cpSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import {
  COSIGNATURE_TYPE,
  formatVkey,
  parseVkey,
  signerKey,
  verifyNote,
} from '../../src/modules/transparency/domain/signed-note';
import { startHarness, type ApiHarness } from '../support/api-harness';
import { auditor, cli, cliAsync, fileCase, rewriteChain } from './support';

const work = mkdtempSync(join(tmpdir(), 'reglament-witness-'));
let api: ApiHarness;
let fingerprint: string;
let caseId: string;
const running: ApiHarness[] = [];
/** The witness the operator configured: its cosignatures are the ones the service keeps. */
const w2Key = generateKeyPairSync('ed25519').privateKey;
const W2_VKEY = formatVkey(signerKey('auditor.example/w2', w2Key, COSIGNATURE_TYPE));

async function serve(dataDir: string): Promise<ApiHarness> {
  const h = await startHarness({ DATA_DIR: dataDir, TRANSPARENCY_WITNESSES: W2_VKEY });
  running.push(h);
  return h;
}

async function stop(h: ApiHarness): Promise<void> {
  await h.app.close();
  running.splice(running.indexOf(h), 1);
}

const witness = (url: string, state: string, ...more: string[]) =>
  cliAsync(['witness', '--url', url, '--state', join(work, state), '--fingerprint', fingerprint, '--json', ...more]);

beforeAll(async () => {
  api = await serve(mkdtempSync(join(tmpdir(), 'reglament-api-')));
  caseId = await fileCase(api, 1);
  fingerprint = (await api.call('GET', '/api/transparency/keys')).body.keys[0].fingerprint;
});
afterAll(async () => {
  for (const h of [...running]) await h.close();
  rmSync(work, { recursive: true, force: true });
});

/**
 * What an operator who rewrites the log also removes, so the service starts on it: the signed checkpoints, the head
 * record beside the log and the read models (whose checkpoints witness the acknowledged head). Only an outside
 * witness is left to catch the rewrite.
 */
function removeLocalWitnesses(dir: string): void {
  for (const file of ['checkpoints.db', 'events.head.json', 'read.db', 'read.db-wal', 'read.db-shm'])
    rmSync(join(dir, file), { force: true });
}

describe('witness', () => {
  it('accepts the first checkpoint, then one that grew with a valid consistency proof, and cosigns it', async () => {
    await api.call('POST', '/api/transparency/checkpoint', { as: auditor });
    const first = await witness(api.url, 'w1.json');
    expect(first.code).toBe(0);
    expect(JSON.parse(first.stdout)).toMatchObject({ accepted: true, checks: [{ against: 'held', kind: 'first' }] });
    // The state is for other witnesses to read (--peer-state): readable by all, whatever the CLI's private umask.
    expect((statSync(join(work, 'w1.json')).mode & 0o777).toString(8)).toBe('644');
    await fileCase(api, 2);
    await api.call('POST', '/api/transparency/checkpoint', { as: auditor });
    const key = generateKeyPairSync('ed25519').privateKey;
    writeFileSync(join(work, 'w1.pem'), key.export({ type: 'pkcs8', format: 'pem' }));
    const second = await witness(
      api.url,
      'w1.json',
      '--cosign-key',
      join(work, 'w1.pem'),
      '--cosign-name',
      'auditor.example/w1',
    );
    expect(second.code).toBe(0);
    const report = JSON.parse(second.stdout);
    expect(report.checks).toEqual([
      { against: 'held', kind: 'grown', detail: expect.stringContaining('consistency proof verified') },
    ]);
    const logKey = parseVkey((await api.call('GET', '/api/transparency/keys')).body.keys[0].vkey);
    const cosigned = verifyNote(report.cosigned, [
      logKey.ok ? logKey.value : (null as never),
      signerKey('auditor.example/w1', key, COSIGNATURE_TYPE),
    ]);
    expect(cosigned.ok && cosigned.cosignedBy.map((c) => c.key.name)).toEqual(['auditor.example/w1']);
    expect((await witness(api.url, 'w1.json')).stdout).toContain('"kind": "unchanged"');
  });

  it("a configured witness's submitted cosignature is kept with its checkpoint and carried by evidence packs, verifiable with the witness key", async () => {
    const key = w2Key;
    writeFileSync(join(work, 'w2.pem'), key.export({ type: 'pkcs8', format: 'pem' }));
    const r = await witness(
      api.url,
      'w2.json',
      '--cosign-key',
      join(work, 'w2.pem'),
      '--cosign-name',
      'auditor.example/w2',
      '--submit',
    );
    expect(r.code).toBe(0);
    expect(r.stderr).toBe('');
    const response = await fetch(`${api.url}/api/cases/${caseId}/evidence`, {
      headers: { authorization: `Bearer ${await api.token(auditor)}` },
    });
    const pack = join(work, 'pack.html');
    writeFileSync(pack, await response.text());
    const keys = (await api.call('GET', '/api/transparency/keys')).body.keys.map((k: { vkey: string }) => k.vkey);
    writeFileSync(
      join(work, 'trusted.txt'),
      [...keys, formatVkey(signerKey('auditor.example/w2', key, COSIGNATURE_TYPE))].join('\n'),
    );
    const verified = await cliAsync(['verify-evidence', pack, '--trusted-keys', join(work, 'trusted.txt'), '--json']);
    expect(verified.code).toBe(0);
    expect(JSON.parse(verified.stdout).checks.find((c: { name: string }) => c.name === 'witnesses')).toEqual({
      name: 'witnesses',
      ok: true,
      detail: 'cosigned by auditor.example/w2 (1 of the 1 witness(es) you trust; 1 required)',
    });
    // Two cosigners asked for, one given: not valid.
    const two = await cliAsync([
      'verify-evidence',
      pack,
      '--trusted-keys',
      join(work, 'trusted.txt'),
      '--witnesses',
      '2',
    ]);
    expect(two.code).toBe(1);
    expect(two.stdout).toContain(
      '✗ witnesses: cosigned by auditor.example/w2 (1 of the 1 witness(es) you trust; 2 required)',
    );
    // Only the log's keys trusted: valid, and the report says no witness vouches for the checkpoint.
    writeFileSync(join(work, 'log-only.txt'), keys.join('\n'));
    const logOnly = await cliAsync(['verify-evidence', pack, '--trusted-keys', join(work, 'log-only.txt')]);
    expect(logOnly.code).toBe(0);
    expect(logOnly.stdout).toMatch(/^ {2}! witnesses: no witness key given: the checkpoint is the log's own word/m);
    // 400 for a cosignature that is not one, naming the field.
    const bad = await api.call('POST', '/api/transparency/cosignatures', {
      body: { note: 'nonsense', witnessKey: keys[0] },
    });
    expect(bad.status).toBe(400);
    expect(bad.body.errors[0].field).toBe('body.witnessKey');
    const missing = await api.call('POST', '/api/transparency/cosignatures', { body: { note: 'x' } });
    expect(missing.status).toBe(400);
  });

  it("a witness the operator did not configure is told the server refused (403) and given its key to hand the operator; the pack keeps only the configured witness's line", async () => {
    const key = generateKeyPairSync('ed25519').privateKey;
    writeFileSync(join(work, 'w3.pem'), key.export({ type: 'pkcs8', format: 'pem' }));
    const r = await witness(
      api.url,
      'w3.json',
      '--cosign-key',
      join(work, 'w3.pem'),
      '--cosign-name',
      'auditor.example/w2',
      '--submit',
    );
    expect(r.code).toBe(0);
    expect(r.stderr).toContain('the server did not take the cosignature: 403');
    expect(r.stderr).toContain(
      `for TRANSPARENCY_WITNESSES: ${formatVkey(signerKey('auditor.example/w2', key, COSIGNATURE_TYPE))}`,
    );
    // Every cosignature line checkpoints.db holds is the configured witness's (the same name, its key id).
    const db = new Database(join(api.dataDir, 'checkpoints.db'), { readonly: true });
    const lines = (db.prepare('SELECT cosignatures FROM checkpoints').all() as { cosignatures: string }[])
      .flatMap((row) => row.cosignatures.split('\n'))
      .filter((line) => line !== '');
    db.close();
    const w2KeyId = signerKey('auditor.example/w2', w2Key, COSIGNATURE_TYPE).keyId;
    expect(lines.length).toBeGreaterThan(0);
    expect(lines.filter((line) => !Buffer.from(line.split(' ')[2]!, 'base64').subarray(0, 4).equals(w2KeyId))).toEqual(
      [],
    );
  });

  it('an unknown key is refused: a checkpoint signed by another key is not accepted', async () => {
    const r = await cliAsync([
      'witness',
      '--url',
      api.url,
      '--state',
      join(work, 'other.json'),
      '--fingerprint',
      'ab'.repeat(32),
    ]);
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(/NOT ACCEPTED: none of the pinned fingerprints/);
  });

  it('exit 1 with both checkpoints when the log is truncated (and its checkpoints deleted so the server starts)', async () => {
    await witness(api.url, 'w-trunc.json');
    const dir = api.dataDir;
    await stop(api);
    const copy = mkdtempSync(join(tmpdir(), 'reglament-trunc-'));
    cpSync(dir, copy, { recursive: true });
    const db = new Database(join(copy, 'events.db'));
    db.prepare('DELETE FROM events WHERE position > 3').run();
    db.prepare('DELETE FROM tree_nodes').run();
    db.close();
    removeLocalWitnesses(copy);
    const truncated = await serve(copy);
    const r = await witness(truncated.url, 'w-trunc.json');
    expect(r.code).toBe(1);
    const report = JSON.parse(r.stdout);
    expect(report.caught).toEqual([
      expect.objectContaining({
        kind: 'truncated',
        held: expect.stringMatching(/^reglament\.local\/log\n\d+\n/),
        served: expect.stringMatching(/^reglament\.local\/log\n3\n/),
      }),
    ]);
    expect(readFileSync(report.evidenceFile, 'utf8')).toContain('TRUNCATED');
    await stop(truncated);
    api = await serve(dir);
  });

  it('exit 1 when an event was edited and its chain recomputed (tree rebuilt, checkpoints deleted so the server starts)', async () => {
    await api.call('POST', '/api/transparency/checkpoint', { as: auditor });
    expect((await witness(api.url, 'w-edit.json')).code).toBe(0);
    const dir = api.dataDir;
    await stop(api);
    const copy = mkdtempSync(join(tmpdir(), 'reglament-edit-'));
    cpSync(dir, copy, { recursive: true });
    rewriteChain(copy, `case-${caseId}`, 1, (data) => (data.incomingNumber = '04-9999'));
    expect(cli(['rebuild-tree'], { DATA_DIR: copy }).code).toBe(0);
    removeLocalWitnesses(copy);
    const edited = await serve(copy);
    const r = await witness(edited.url, 'w-edit.json');
    expect(r.code).toBe(1);
    expect(JSON.parse(r.stdout).caught).toEqual([
      expect.objectContaining({ kind: expect.stringMatching(/forked|rewritten/) }),
    ]);
    await stop(edited);
    rmSync(copy, { recursive: true, force: true });
    api = await serve(dir);
  });

  it('two witnesses shown two histories (a forked copy of the log served to one) are caught when they compare, and the fork is caught by the other', async () => {
    await api.call('POST', '/api/transparency/checkpoint', { as: auditor });
    const dir = api.dataDir;
    await stop(api);
    const forkDir = mkdtempSync(join(tmpdir(), 'reglament-fork-'));
    cpSync(dir, forkDir, { recursive: true });
    api = await serve(dir);
    const fork = await serve(forkDir);
    // The same key signs both: the operator controls both copies.
    await fileCase(api, 3);
    await fileCase(fork, 4);
    await api.call('POST', '/api/transparency/checkpoint', { as: auditor });
    await fork.call('POST', '/api/transparency/checkpoint', { as: auditor });
    expect((await witness(api.url, 'honest.json')).code).toBe(0);
    expect((await witness(fork.url, 'misled.json')).code).toBe(0);
    const compared = await witness(fork.url, 'misled.json', '--peer-state', join(work, 'honest.json'));
    expect(compared.code).toBe(1);
    expect(JSON.parse(compared.stdout).caught).toEqual([
      expect.objectContaining({
        against: `peer ${join(work, 'honest.json')}`,
        kind: expect.stringMatching(/forked|rewritten/),
      }),
    ]);
    // The honest witness, pointed at the fork (the operator swapped the file behind the same service), sees a rewrite.
    const swapped = await witness(fork.url, 'honest.json');
    expect(swapped.code).toBe(1);
    expect(JSON.parse(swapped.stdout).caught[0].kind).toMatch(/forked|rewritten/);
    await stop(fork);
    rmSync(forkDir, { recursive: true, force: true });
  });

  // Damage to the witness's own file was reported as CAUGHT (other-log) with an evidence file, and a server that could
  // not be reached as NOT ACCEPTED: accusations the auditor would file against the log on their own machine's fault.
  it("a damaged state file is the witness's problem (exit 65, no evidence), an unreachable server no verdict (exit 69)", async () => {
    await api.call('POST', '/api/transparency/checkpoint', { as: auditor });
    expect((await witness(api.url, 'damaged.json')).code).toBe(0);
    const file = join(work, 'damaged.json');
    const state = JSON.parse(readFileSync(file, 'utf8')) as { checkpoint: string };
    const evidenceBefore = readdirSync(work).filter((f) => f.startsWith('damaged.json.evidence')).length;
    const signature = state.checkpoint.lastIndexOf('\n\u2014 ') + 40;
    const flipped =
      state.checkpoint.slice(0, signature) +
      (state.checkpoint[signature] === 'A' ? 'B' : 'A') +
      state.checkpoint.slice(signature + 1);
    for (const damage of [
      JSON.stringify({ ...state, checkpoint: flipped }),
      JSON.stringify({ checkpoint: 'x' }),
      '{"format":"reglament-witness/1",',
    ]) {
      writeFileSync(file, damage);
      const r = await witness(api.url, 'damaged.json');
      expect(r.code).toBe(65);
      expect(JSON.parse(r.stdout)).toMatchObject({
        accepted: false,
        stateDamaged: expect.stringContaining('damaged.json'),
      });
      expect(readFileSync(file, 'utf8')).toBe(damage);
    }
    expect(readdirSync(work).filter((f) => f.startsWith('damaged.json.evidence'))).toHaveLength(evidenceBefore);
    const gone = await witness('http://127.0.0.1:9', 'w1.json');
    expect(gone.code).toBe(69);
    expect(JSON.parse(gone.stdout)).toMatchObject({
      accepted: false,
      unreachable: expect.stringContaining('127.0.0.1:9'),
    });
  });
});
