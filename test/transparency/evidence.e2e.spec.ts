/**
 * Evidence packs an outside auditor checks offline with the real CLI: accepted only from a key the auditor trusts
 * (given explicitly), with each event's inclusion proof to a signed checkpoint; a forged pack re-signed with a
 * throwaway key fails; an intact pack still passes after CRLF conversion and after a real browser's "Save as".
 */
import { generateKeyPairSync } from 'node:crypto';
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { chromium } from 'playwright-core';
import { renderEvidenceFile, signPack, type SignedEvidencePack } from '../../src/modules/audit/domain/evidence-pack';
import { eventHash } from '../../src/modules/cases/domain/hash-chain';
import { startHarness, type ApiHarness } from '../support/api-harness';
import { auditor, cli, fileCase } from './support';

const CHROMIUM = '/usr/bin/chromium';
let api: ApiHarness;
let html: string;
let fingerprint: string;
let keysJson: string;

function embedded(page: string): SignedEvidencePack {
  return JSON.parse(
    /<script type="application\/json" id="reglament-evidence">([\s\S]*?)<\/script>/.exec(page)![1]!,
  ) as SignedEvidencePack;
}

function write(name: string, text: string): string {
  const file = join(api.dataDir, name);
  writeFileSync(file, text);
  return file;
}

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
