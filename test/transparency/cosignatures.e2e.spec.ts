/**
 * Cosignatures on the real server, attacked as anyone without a token can: a fresh key per request under any name
 * (a real witness's included) and any time is refused and stores nothing; only the witnesses the operator configured
 * (TRANSPARENCY_WITNESSES) are kept, one line each per checkpoint, and only theirs are served with the checkpoint and
 * in evidence packs. With no witness configured every cosignature is refused; a bad setting stops the start (78).
 */
import Database from 'better-sqlite3';
import { spawnSync } from 'node:child_process';
import { generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  COSIGNATURE_TYPE,
  cosignatureLine,
  formatVkey,
  parseSignedNote,
  parseVkey,
  signerKey,
  verifyNote,
  withSignatureLines,
  type NoteSignerKey,
} from '../../src/modules/transparency/domain/signed-note';
import { startHarness, type ApiHarness } from '../support/api-harness';
import { auditor, fileCase } from './support';

const ROOT = join(__dirname, '../..');
const WITNESS_NAME = 'auditor.example/w1';
const witness = signerKey(WITNESS_NAME, generateKeyPairSync('ed25519').privateKey, COSIGNATURE_TYPE);
const stranger = (name: string) => signerKey(name, generateKeyPairSync('ed25519').privateKey, COSIGNATURE_TYPE);
const IN_2099 = new Date('2099-01-01T00:00:00Z');

/** The served checkpoint with one more cosignature line, as a witness (or an attacker) makes it. */
function cosign(note: string, signer: NoteSignerKey, time: Date): string {
  return withSignatureLines(note, [cosignatureLine(note.slice(0, note.lastIndexOf('\n\n') + 1), signer, time)]);
}

const submit = (api: ApiHarness, note: string, signer: NoteSignerKey) =>
  api.call('POST', '/api/transparency/cosignatures', { body: { note, witnessKey: formatVkey(signer) } });

/** What checkpoints.db holds, read as the file is: the cosignature lines of every checkpoint. */
function storedCosignatures(dataDir: string): string[] {
  const db = new Database(join(dataDir, 'checkpoints.db'), { readonly: true });
  try {
    return (db.prepare('SELECT cosignatures FROM checkpoints ORDER BY seq').all() as { cosignatures: string }[]).map(
      (row) => row.cosignatures,
    );
  } finally {
    db.close();
  }
}

const signerNames = (note: string) => {
  const parsed = parseSignedNote(note);
  return parsed.ok ? parsed.value.signatures.map((s) => s.name) : [];
};

async function freshCheckpoint(api: ApiHarness): Promise<string> {
  expect((await api.call('POST', '/api/transparency/checkpoint', { as: auditor })).status).toBe(201);
  const served = await api.call('GET', '/api/transparency/checkpoint');
  return served.body as string;
}

describe('with a witness configured (TRANSPARENCY_WITNESSES)', () => {
  let api: ApiHarness;
  let caseId: string;
  beforeAll(async () => {
    api = await startHarness({ TRANSPARENCY_WITNESSES: formatVkey(witness) });
    caseId = await fileCase(api, 1);
  });
  afterAll(async () => api.close());

  it("403 unknown-witness for a fresh key per request, under any name and time (a real witness's name included): nothing kept, the checkpoint served unchanged", async () => {
    const before = await freshCheckpoint(api);
    const stored = storedCosignatures(api.dataDir);
    const names = [WITNESS_NAME, 'sigsum.org/witness-impersonated', 'attacker.example/w'];
    for (let i = 0; i < 30; i++) {
      const attacker = stranger(names[i % names.length]!);
      const r = await submit(api, cosign(before, attacker, IN_2099), attacker);
      expect(r.status).toBe(403);
      expect(r.headers.get('content-type')).toMatch(/^application\/problem\+json/);
      expect(r.body).toMatchObject({
        type: expect.stringMatching(/\/unknown-witness$/),
        status: 403,
        errors: [
          {
            field: 'body.witnessKey',
            problem: expect.stringContaining(attacker.name),
            allowed: expect.stringContaining(`${WITNESS_NAME} (key id ${witness.keyId.toString('hex')})`),
          },
        ],
      });
      if (attacker.name === WITNESS_NAME)
        expect(r.body.errors[0].problem).toContain(`is not the key configured for the witness ${WITNESS_NAME}`);
    }
    expect(storedCosignatures(api.dataDir)).toEqual(stored);
    expect((await api.call('GET', '/api/transparency/checkpoint')).body).toBe(before);
  });

  it('201 for the configured witness, kept once: the same cosignature again changes nothing, a later one replaces it', async () => {
    const note = await freshCheckpoint(api);
    const now = Date.now();
    const first = cosign(note, witness, new Date(now));
    const added = await submit(api, first, witness);
    expect(added.status).toBe(201);
    expect(added.body).toMatchObject({ witness: WITNESS_NAME, outcome: 'added' });
    const again = await submit(api, first, witness);
    expect(again.status).toBe(201);
    expect(again.body.outcome).toBe('unchanged');
    const later = cosign(note, witness, new Date(now + 60_000));
    expect((await submit(api, later, witness)).body.outcome).toBe('replaced');
    // An older one (a replay of the first) does not bring the earlier time back.
    expect((await submit(api, first, witness)).body.outcome).toBe('unchanged');
    const laterLine = later.slice(note.length);
    expect(storedCosignatures(api.dataDir).at(-1)).toBe(laterLine);
    const served = (await api.call('GET', '/api/transparency/checkpoint')).body as string;
    expect(served).toBe(note + laterLine);
    expect(signerNames(served)).toEqual(['reglament.local/log', WITNESS_NAME]);
  });

  it("422 for the configured witness's cosignature dated beyond the clock's tolerance or before the checkpoint was signed: nothing kept", async () => {
    const note = await freshCheckpoint(api);
    const stored = storedCosignatures(api.dataDir);
    const signedAt = Number(/\ntime (\d+)\n/.exec(note)![1]) * 1000;
    // Whole seconds: a cosignature carries its time in POSIX seconds.
    const tenMinutesAhead = new Date(Math.ceil(Date.now() / 1000) * 1000 + 10 * 60_000);
    for (const time of [IN_2099, tenMinutesAhead, new Date(signedAt - 3600_000)]) {
      const r = await submit(api, cosign(note, witness, time), witness);
      expect(r.status).toBe(422);
      expect(r.body).toMatchObject({
        type: expect.stringMatching(/\/cosignature-time-out-of-range$/),
        errors: [{ field: 'body.note', problem: expect.stringContaining(time.toISOString()) }],
      });
    }
    expect(storedCosignatures(api.dataDir)).toEqual(stored);
    // Within the tolerance a witness's clock may be a little ahead.
    expect((await submit(api, cosign(note, witness, new Date(Date.now() + 60_000)), witness)).status).toBe(201);
  });

  it("an evidence pack carries the configured witness's cosignature and none of the attackers'", async () => {
    await fileCase(api, 2);
    const note = await freshCheckpoint(api);
    for (const name of [WITNESS_NAME, 'sigsum.org/witness-impersonated']) {
      const attacker = stranger(name);
      expect((await submit(api, cosign(note, attacker, new Date()), attacker)).status).toBe(403);
    }
    expect((await submit(api, cosign(note, witness, new Date()), witness)).status).toBe(201);
    const response = await fetch(`${api.url}/api/cases/${caseId}/evidence`, {
      headers: { authorization: `Bearer ${await api.token(auditor)}` },
    });
    expect(response.status).toBe(200);
    const pack = JSON.parse(
      /<script type="application\/json" id="reglament-evidence">([\s\S]*?)<\/script>/.exec(await response.text())![1]!,
    ) as { transparency: { checkpoint: string } };
    expect(signerNames(pack.transparency.checkpoint)).toEqual(['reglament.local/log', WITNESS_NAME]);
    const logKey = parseVkey((await api.call('GET', '/api/transparency/keys')).body.keys[0].vkey);
    const verified = verifyNote(pack.transparency.checkpoint, [logKey.ok ? logKey.value : (null as never), witness]);
    expect(verified.ok && verified.cosignedBy.map((c) => c.key.name)).toEqual([WITNESS_NAME]);
  });

  it('lines of other keys already in checkpoints.db (kept before witnesses had to be configured) are not served', async () => {
    const note = await freshCheckpoint(api);
    const seq = (await api.call('GET', '/api/transparency/checkpoints?limit=1')).body.checkpoints[0].seq as number;
    const planted = [stranger(WITNESS_NAME), stranger('sigsum.org/witness-impersonated')].map((attacker) =>
      cosign(note, attacker, IN_2099).slice(note.length),
    );
    const witnessLine = cosign(note, witness, new Date()).slice(note.length);
    const db = new Database(join(api.dataDir, 'checkpoints.db'));
    db.prepare('UPDATE checkpoints SET cosignatures = ? WHERE seq = ?').run(planted.join('') + witnessLine, seq);
    db.close();
    expect((await api.call('GET', '/api/transparency/checkpoint')).body).toBe(note + witnessLine);
    const history = await api.call('GET', '/api/transparency/checkpoints?limit=1');
    expect(history.body.checkpoints[0].note).toBe(note + witnessLine);
  });
});

describe('with no witness configured (the default)', () => {
  let api: ApiHarness;
  beforeAll(async () => {
    api = await startHarness();
    await fileCase(api, 1);
  });
  afterAll(async () => api.close());

  it('403 no-witnesses-configured for every cosignature, saying how to configure one: nothing kept', async () => {
    const note = await freshCheckpoint(api);
    const stored = storedCosignatures(api.dataDir);
    for (const signer of [stranger(WITNESS_NAME), stranger('sigsum.org/witness-impersonated'), witness]) {
      const r = await submit(api, cosign(note, signer, new Date()), signer);
      expect(r.status).toBe(403);
      expect(r.body).toMatchObject({
        type: expect.stringMatching(/\/no-witnesses-configured$/),
        detail: expect.stringContaining('TRANSPARENCY_WITNESSES'),
        errors: [{ field: 'body.witnessKey', allowed: expect.stringContaining(formatVkey(signer)) }],
      });
    }
    expect(storedCosignatures(api.dataDir)).toEqual(stored);
    expect((await api.call('GET', '/api/transparency/checkpoint')).body).toBe(note);
  });
});

describe('the setting at start-up', () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'reglament-witnesses-'));
  afterAll(() => rmSync(dataDir, { recursive: true, force: true }));
  const start = (env: Record<string, string>) =>
    spawnSync(process.execPath, ['-r', join(ROOT, 'test/support/swc-register.js'), join(ROOT, 'src/main.ts')], {
      env: { PATH: process.env.PATH ?? '', DATA_DIR: dataDir, PORT: '0', LOG_LEVEL: 'silent', ...env },
      encoding: 'utf8',
      timeout: 60_000,
    });

  it("exit 78 naming TRANSPARENCY_WITNESSES, the value and what is allowed, for a log's signing key given as a witness", () => {
    const logKey = formatVkey(signerKey('reglament.local/log', generateKeyPairSync('ed25519').privateKey));
    const run = start({ TRANSPARENCY_WITNESSES: `${formatVkey(witness)},${logKey}` });
    expect(run.status).toBe(78);
    expect(run.stderr).toContain(`TRANSPARENCY_WITNESSES="${formatVkey(witness)},${logKey}"`);
    expect(run.stderr).toMatch(/not a witness's cosigning key \(type 0x04\); allowed: witnesses' verifier keys/);
    expect(readdirSync(dataDir)).toEqual([]);
  }, 60_000);

  it('exit 78 naming TRANSPARENCY_WITNESSES_FILE when the file does not exist', () => {
    const file = join(dataDir, 'no-such-witnesses.txt');
    const run = start({ TRANSPARENCY_WITNESSES_FILE: file });
    expect(run.status).toBe(78);
    expect(run.stderr).toContain(`TRANSPARENCY_WITNESSES_FILE=${JSON.stringify(file)}: the file does not exist`);
    expect(run.stderr).toContain("allowed: a readable file of witnesses' verifier keys");
    expect(readdirSync(dataDir)).toEqual([]);
  }, 60_000);
});
