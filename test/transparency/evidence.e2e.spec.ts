/**
 * Evidence packs an outside auditor checks offline with the real CLI: accepted only from a key the auditor trusts
 * (given explicitly), with each event's inclusion proof to a signed checkpoint; a forged pack re-signed with a
 * throwaway key fails; an intact pack still passes after CRLF conversion and after a real browser's "Save as".
 */
import { createPrivateKey, generateKeyPairSync } from 'node:crypto';
import Database from 'better-sqlite3';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium } from 'playwright-core';
import {
  renderEvidenceFile,
  signPack,
  verifyEvidenceFile,
  type TrustedKeys,
} from '../../src/modules/audit/domain/evidence-pack';
import {
  COSIGNATURE_TYPE,
  formatVkey,
  parseSignedNote,
  parseVkey,
  signerKey,
  signNote,
} from '../../src/modules/transparency/domain/signed-note';
import { eventHash } from '../../src/modules/cases/domain/hash-chain';
import { startHarness, type ApiHarness } from '../support/api-harness';
import { auditor, cli, embeddedPack, fileCase, fileIn } from './support';

const CHROMIUM = '/usr/bin/chromium';
let api: ApiHarness;
let html: string;
let fingerprint: string;
let keysJson: string;

const embedded = embeddedPack;

const write = (name: string, text: string): string => fileIn(api.dataDir, name, text);

beforeAll(async () => {
  api = await startHarness();
  const caseId = await fileCase(api, 1);
  await fileCase(api, 2);
  const response = await fetch(`${api.url}/api/cases/${caseId}/evidence`, {
    headers: { authorization: `Bearer ${await api.token(auditor)}` },
  });
  html = await response.text();
  const keys = await fetch(`${api.url}/api/transparency/keys`);
  keysJson = await keys.text();
  fingerprint = JSON.parse(keysJson).keys[0].fingerprint;
});
afterAll(async () => api.close());

describe('verify-evidence', () => {
  it('an intact pack is VALID against the pinned fingerprint: signature, checkpoint and every inclusion proof', () => {
    const r = cli(['verify-evidence', write('pack.html', html), '--fingerprint', fingerprint, '--json']);
    expect(r.code).toBe(0);
    const checks = Object.fromEntries(
      JSON.parse(r.stdout).checks.map((c: { name: string; ok: boolean }) => [c.name, c.ok]),
    );
    expect(checks).toEqual({
      format: true,
      'hash chain': true,
      'head hash': true,
      case: true,
      signature: true,
      'signing key': true,
      checkpoint: true,
      witnesses: true,
      inclusion: true,
      'readable page': true,
    });
    expect(embedded(html).transparency!.events).toHaveLength(3);
  });

  it("the published keys (the keys endpoint's JSON, or verifier-key lines) serve as a trusted-keys file", () => {
    expect(
      cli(['verify-evidence', write('pack.html', html), '--trusted-keys', write('keys.json', keysJson)]).code,
    ).toBe(0);
    const vkeys = `# reglament keys, fetched 2026-12-03\r\n${JSON.parse(keysJson)
      .keys.map((k: { vkey: string }) => k.vkey)
      .join('\r\n')}\r\n`;
    expect(cli(['verify-evidence', write('pack.html', html), '--trusted-keys', write('keys.txt', vkeys)]).code).toBe(0);
  });

  it('without a trusted key it exits 1 and says why', () => {
    const r = cli(['verify-evidence', write('pack.html', html)]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/no trusted key given.*--fingerprint.*--trusted-keys/s);
  });

  it('a forged pack (event edited, hashes recomputed, re-signed with a throwaway key) fails: unknown key, proofs do not lead to the checkpoint', () => {
    const pack = embedded(html);
    const { signature: _s, ...forged } = pack;
    (forged.events[1]!.data as Record<string, unknown>).incomingNumber = '04-6666';
    let previous: string | null = null;
    for (const event of forged.events) {
      const { hash: _h, ...metadata } = event.metadata;
      metadata.previousHash = previous;
      const hash = eventHash({
        streamId: forged.case.streamId,
        revision: event.revision,
        type: event.type,
        data: event.data,
        metadata,
      });
      event.metadata = { ...metadata, hash };
      previous = hash;
    }
    forged.chain.headHash = previous;
    const throwaway = generateKeyPairSync('ed25519').privateKey;
    const file = write('forged.html', renderEvidenceFile(signPack(forged, throwaway)));
    const r = cli(['verify-evidence', file, '--fingerprint', fingerprint, '--json']);
    expect(r.code).toBe(1);
    const checks = Object.fromEntries(
      JSON.parse(r.stdout).checks.map((c: { name: string; ok: boolean; detail: string }) => [c.name, c]),
    );
    expect(checks['hash chain'].ok).toBe(true);
    expect(checks.signature.ok).toBe(true);
    expect(checks['signing key']).toMatchObject({
      ok: false,
      detail: expect.stringContaining('not among the keys you trust'),
    });
    expect(checks.inclusion).toMatchObject({ ok: false, detail: expect.stringContaining('revision 1') });
    const human = cli(['verify-evidence', file, '--fingerprint', fingerprint]);
    expect(human.stdout).toMatch(/^NOT VALID/);
    expect(human.stdout).toContain('✗ signing key: signed with key');
  });

  it('an intact pack passes after CRLF conversion; an edited word on the page still fails', () => {
    const crlf = html.replace(/\n/g, '\r\n');
    expect(cli(['verify-evidence', write('crlf.html', crlf), '--fingerprint', fingerprint]).code).toBe(0);
    const edited = crlf.replace('&quot;04-1001&quot;}</code>', '&quot;04-1999&quot;}</code>');
    expect(edited).not.toBe(crlf);
    const r = cli(['verify-evidence', write('edited.html', edited), '--fingerprint', fingerprint, '--json']);
    expect(r.code).toBe(1);
    expect(JSON.parse(r.stdout).checks.find((c: { name: string }) => c.name === 'readable page').ok).toBe(false);
  });

  (existsSync(CHROMIUM) ? it : it.skip)(
    'an intact pack passes after a real browser\'s "Save as" (Chromium re-serialises the page)',
    async () => {
      const browser = await chromium.launch({
        executablePath: CHROMIUM,
        args: ['--no-sandbox', '--disable-gpu', '--no-first-run'],
      });
      try {
        const page = await browser.newPage();
        await page.goto(`file://${write('open.html', html)}`);
        // What "Save as… Webpage, complete" writes: the DOM serialised, with the comment browsers add.
        const saved = `<!-- saved from url=(0014)about:internet -->\r\n${await page.content()}`;
        expect(saved).not.toBe(html);
        expect(cli(['verify-evidence', write('saved.html', saved), '--fingerprint', fingerprint]).code).toBe(0);
      } finally {
        await browser.close();
      }
    },
    60_000,
  );
});

/** Attacks an auditor's verifier must catch, each found once against the real server and its CLI (not the key's holder's word). */
describe('verify-evidence against a page, a witness or an operator that lies', () => {
  const operatorKey = () => createPrivateKey(readFileSync(join(api.dataDir, 'evidence-signing-key.pem')));
  const logVkeys = () => JSON.parse(keysJson).keys.map((k: { vkey: string }) => k.vkey) as string[];
  const failed = (file: string, trust: TrustedKeys = { fingerprints: [fingerprint], noteKeys: [] }) =>
    verifyEvidenceFile(file, trust)
      .checks.filter((c) => !c.ok)
      .map((c) => [c.name, c.detail]);

  it.each([
    [
      'a style rule that rewrites a status',
      (p: string) => p.replace('</style>', '.status-breached{font-size:0}</style>'),
    ],
    ['a style element of its own', (p: string) => p.replace('<body>', '<body><style>td{visibility:hidden}</style>')],
    ['an inline script', (p: string) => p.replace('<body>', '<body><script>document.title="ok"</script>')],
    ['an element with a handler', (p: string) => p.replace('<body>', '<body><img src=x onerror="alert(1)">')],
    ['a row hidden', (p: string) => p.replace('<tr><td>1</td>', '<tr hidden><td>1</td>')],
    ['a table wrapped in a template', (p: string) => p.replace('<table>', '<template><table>')],
    [
      'a redirect',
      (p: string) =>
        p.replace(
          '<meta charset="utf-8">',
          '<meta charset="utf-8"><meta http-equiv="refresh" content="0;url=https://example.org">',
        ),
    ],
    // A browser ends `<!-->` at once and shows what follows; a pattern ending comments at `-->` would hide it.
    ['text behind an abrupt comment', (p: string) => p.replace('<body>', '<body><!--><b>Нарушений нет</b><!-- -->')],
    // Found by the review of this change: a browser ends `</x a='…'>` at its closing quote, hiding what is inside.
    [
      "text hidden inside an end tag's quoted attribute",
      (p: string) => p.replace('<h1>', "</x c='><h1>").replace('</h1>', "</h1></x d='>"),
    ],
    [
      'a comment spelt inside end tags',
      (p: string) => p.replace('<body>', "<body></x a='<!--'><b>Нарушений нет</b></x b='-->'>"),
    ],
    ['text moved out of its cell', (p: string) => p.replace('<td>1</td>', '<td></td>1')],
    ['a "<" that opens no element', (p: string) => p.replace('<body>', '<body><— ЗАВЕРШЕНО в срок>')],
    ['a character reference the service does not write', (p: string) => p.replace('<body>', '<body>&#128;')],
    ['a reference without its semicolon', (p: string) => p.replace('<body>', '<body>&lt b')],
  ])('the page with %s, its text and data unchanged, is NOT VALID: its markup differs', (_, edit) => {
    const edited = edit(html);
    expect(edited).not.toBe(html);
    const problems = failed(edited);
    expect(problems).toEqual([
      ['readable page', expect.stringMatching(/(markup|text) differs|markup this service does not write/)],
    ]);
  });

  // Found by re-attacking: the embedded JSON was read by JSON.parse alone, so a member given twice (the last one signed,
  // the first one what another reader takes), members of the signature nothing signs, or a raw "<" that a browser reads
  // as the end of the script (and the rest as the page's text) all verified.
  it.each([
    [
      'a case member given twice',
      (json: string) => json.replace('"case":{', '"case":{"caseId":"x","status":"closed"},"case":{'),
    ],
    [
      'a member of the signature that nothing signs',
      (json: string) => json.replace('"signature":{', '"signature":{"note":"ok",'),
    ],
    [
      'a raw "<" that ends the script early for a browser',
      (json: string) => json.replace('"signature":{', '"signature":{"note":"</script x>Нарушений нет",'),
    ],
  ])('the embedded evidence with %s is NOT VALID', (_, edit) => {
    const edited = html.replace(
      /(<script type="application\/json" id="reglament-evidence">)([\s\S]*?)(<\/script>)/,
      (_m, open: string, json: string, close: string) => open + edit(json) + close,
    );
    expect(edited).not.toBe(html);
    const result = verifyEvidenceFile(edited, { fingerprints: [fingerprint], noteKeys: [] });
    expect(result.valid).toBe(false);
    expect(result.checks.filter((c) => !c.ok).map((c) => c.name)).toContain('format');
  });

  it('a pack signed with a witness key the auditor trusts as a witness is NOT VALID: a witness cosigns, it issues no packs', () => {
    const witness = generateKeyPairSync('ed25519').privateKey;
    const { signature: _s, ...unsigned } = embedded(html);
    const forged = renderEvidenceFile(signPack(unsigned, witness));
    const witnessVkey = formatVkey(signerKey('auditor.example/w9', witness, COSIGNATURE_TYPE));
    const trust = {
      fingerprints: [],
      noteKeys: [...logVkeys(), witnessVkey].map((v) => {
        const parsed = parseVkey(v);
        if (!parsed.ok) throw new Error(parsed.problem);
        return parsed.value;
      }),
    };
    expect(verifyEvidenceFile(forged, trust).checks.find((c) => c.name === 'signing key')).toEqual({
      name: 'signing key',
      ok: false,
      detail: expect.stringContaining("which you trust as a witness's (a cosigner key, type 0x04), not as the log's"),
    });
  });

  it("a pack the operator re-issued in format 1 (no checkpoint a witness could contradict) is NOT VALID, with the operator's own key", () => {
    const { signature: _s, transparency: _t, ...rest } = embedded(html);
    const downgraded = renderEvidenceFile(signPack({ ...rest, format: 'reglament-evidence/1' }, operatorKey()));
    const r = cli(['verify-evidence', write('format-1.html', downgraded), '--fingerprint', fingerprint]);
    expect(r.code).toBe(1);
    expect(r.stdout).toContain('✗ checkpoint: format 1 predates the verifiable log and carries no inclusion proofs');
  });

  it("a checkpoint of another log (another origin) signed with the same key is NOT VALID against the log's verifier key, and named unpinned against a fingerprint", () => {
    const pack = embedded(html);
    const { signature: _s, ...unsigned } = pack;
    const body = parseSignedNote(pack.transparency!.checkpoint);
    if (!body.ok) throw new Error(body.problem);
    const otherBody = body.value.body.replace(/^[^\n]+/, 'staging.reglament.local/log');
    const other = signNote(otherBody, [signerKey('staging.reglament.local/log', operatorKey())]);
    const file = renderEvidenceFile(
      signPack({ ...unsigned, transparency: { ...pack.transparency!, checkpoint: other } }, operatorKey()),
    );
    const trust = {
      fingerprints: [],
      noteKeys: logVkeys().map((v) => {
        const parsed = parseVkey(v);
        if (!parsed.ok) throw new Error(parsed.problem);
        return parsed.value;
      }),
    };
    expect(failed(file, trust)).toEqual([
      [
        'checkpoint',
        'the checkpoint is of the log staging.reglament.local/log, not of the log your key names (reglament.local/log)',
      ],
    ]);
    const byFingerprint = verifyEvidenceFile(file, { fingerprints: [fingerprint], noteKeys: [] });
    expect(byFingerprint.checks.find((c) => c.name === 'checkpoint')?.detail).toContain(
      "the log's name staging.reglament.local/log is not pinned by a fingerprint",
    );
  });

  it.each([
    ['its chain removed', (p: Record<string, unknown>) => ({ ...p, chain: null }), /chain is missing/],
    [
      'an event set to null',
      (p: Record<string, unknown>) => ({ ...p, events: [null, ...(p.events as unknown[]).slice(1)] }),
      /events\[0\] is not an event/,
    ],
    [
      'metadata set to null',
      (p: Record<string, unknown>) => ({
        ...p,
        events: (p.events as Record<string, unknown>[]).map((e) => ({ ...e, metadata: null })),
      }),
      /events\[0\] is not an event/,
    ],
  ])('a pack with %s is NOT VALID, said so, with no crash', (_, damage, problem) => {
    const damaged = html.replace(
      /(<script type="application\/json" id="reglament-evidence">)([\s\S]*?)(<\/script>)/,
      (_m, open: string, json: string, close: string) =>
        open + JSON.stringify(damage(JSON.parse(json))).replace(/</g, '\\u003c') + close,
    );
    const r = cli(['verify-evidence', write('damaged.html', damaged), '--fingerprint', fingerprint]);
    expect(r.code).toBe(1);
    expect(r.stderr).toBe('');
    expect(r.stdout).toMatch(/^NOT VALID/);
    expect(r.stdout).toMatch(problem);
  });
});

describe('verify against the keys the auditor trusts', () => {
  it("checks the checkpoints' signatures against --trusted-keys: the published keys hold, a key of the operator's own making does not", () => {
    const env = { DATA_DIR: api.dataDir };
    const own = cli(['verify'], env);
    expect(own.code).toBe(0);
    expect(own.stdout).toContain(
      "their signatures checked against the keys in DATA_DIR (the operator's own: pass --trusted-keys to check them against yours)",
    );
    const published = cli(['verify', '--trusted-keys', write('published.json', keysJson)], env);
    expect(published.code).toBe(0);
    expect(published.stdout).toContain('their signatures checked against the keys in');

    // What an operator who swapped in a key of their own and signed the history again would publish.
    const other = formatVkey(signerKey('reglament.local/log', generateKeyPairSync('ed25519').privateKey));
    const refused = cli(['verify', '--trusted-keys', write('other.txt', `${other}\n`), '--json'], env);
    expect(refused.code).toBe(1);
    const report = JSON.parse(refused.stdout) as {
      valid: boolean;
      signaturesCheckedWith: string;
      tree: { badSignatures: { seq: number; problem: string }[] };
    };
    expect(report.valid).toBe(false);
    expect(report.signaturesCheckedWith).toBe('trusted-keys');
    expect(report.tree.badSignatures.length).toBeGreaterThan(0);
    expect(report.tree.badSignatures[0]!.problem).toMatch(/no signature by a trusted key/);
  });

  // Found by the review: with checkpoints.db emptied or gone, a rewritten history verified against nothing.
  it('with no checkpoint signed by the trusted keys, the log is anchored to nothing: exit 1 saying so', () => {
    const copy = mkdtempSync(join(tmpdir(), 'reglament-no-checkpoints-'));
    try {
      const db = new Database(join(api.dataDir, 'events.db'), { readonly: true });
      db.prepare('VACUUM INTO ?').run(join(copy, 'events.db'));
      db.close();
      const r = cli(['verify', '--trusted-keys', write('published-2.json', keysJson)], { DATA_DIR: copy });
      expect(r.code).toBe(1);
      expect(r.stdout).toMatch(/no checkpoint signed by your keys holds this log's \d+ events/);
    } finally {
      rmSync(copy, { recursive: true, force: true });
    }
  });
});
