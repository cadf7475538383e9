/**
 * Signing keys: never generated beside the data outside the embedded single-machine shape; rotated with ids, a
 * retired key still verifying what it signed.
 */
import { generateKeyPairSync } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startApi } from '../../src/app/bootstrap';
import { loadConfig } from '../../src/shared/config/config';
import { createLogger } from '../../src/shared/logging/logger';
import { loadKeyRing } from '../../src/modules/transparency/signing-keys';
import { startHarness } from '../support/api-harness';
import { auditor, cli } from './support';

const dirs: string[] = [];
const temp = (prefix: string) => {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  dirs.push(dir);
  return dir;
};
afterAll(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

const pem = () => generateKeyPairSync('ed25519').privateKey.export({ type: 'pkcs8', format: 'pem' }) as string;

describe('signing keys', () => {
  it('start-up refuses to generate a signing key in production, naming what to provide', async () => {
    const config = loadConfig({
      DATA_DIR: temp('reglament-prod-'),
      PORT: '0',
      LOG_LEVEL: 'silent',
      NODE_ENV: 'production',
      AUTH_JWT_SECRET: 'x'.repeat(40),
    });
    expect(config.transparency.mayGenerateKey).toBe(false);
    await expect(startApi(config, createLogger('silent'))).rejects.toThrow(/NODE_ENV=production\).*SIGNING_KEYS_DIR/s);
  });

  it('only the embedded default may generate one: not with EventStoreDB or MongoDB', () => {
    expect(
      loadConfig({ EVENT_STORE: 'eventstoredb', EVENTSTORE_URL: 'esdb://localhost:2113?tls=false' }).transparency
        .mayGenerateKey,
    ).toBe(false);
    expect(
      loadConfig({ READ_STORE: 'mongodb', MONGODB_URL: 'mongodb://localhost:27017/?replicaSet=rs0' }).transparency
        .mayGenerateKey,
    ).toBe(false);
    expect(loadConfig({}).transparency.mayGenerateKey).toBe(true);
    expect(() =>
      loadKeyRing({
        origin: 'o',
        dataDir: temp('reglament-k-'),
        mayGenerateKey: false,
        shape: 'EVENT_STORE=eventstoredb',
      }),
    ).toThrow(/SIGNING_KEYS_DIR/);
  });

  it('a directory of several keys needs SIGNING_KEY_ACTIVE; a retired key (public part only) is listed', () => {
    const keys = temp('reglament-keys-');
    writeFileSync(join(keys, '2026a.pem'), pem());
    writeFileSync(join(keys, '2026b.pem'), pem());
    expect(() => loadKeyRing({ origin: 'o', dataDir: keys, keysDir: keys, mayGenerateKey: true, shape: '' })).toThrow(
      /SIGNING_KEY_ACTIVE/,
    );
    const ring = loadKeyRing({
      origin: 'o',
      dataDir: keys,
      keysDir: keys,
      activeKey: '2026b',
      mayGenerateKey: true,
      shape: '',
    });
    expect(ring.keys.map((k) => [k.label, k.status])).toEqual([
      ['2026a', 'retired'],
      ['2026b', 'active'],
    ]);
    expect(ring.generated).toBeNull();
  });

  it('after a rotation, checkpoints signed by the retired key still verify, and both keys are published with their validity', async () => {
    const keys = temp('reglament-rot-');
    mkdirSync(keys, { recursive: true });
    const old = generateKeyPairSync('ed25519');
    writeFileSync(join(keys, '2026a.pem'), old.privateKey.export({ type: 'pkcs8', format: 'pem' }));
    const dataDir = temp('reglament-rot-data-');
    const first = await startHarness({ DATA_DIR: dataDir, SIGNING_KEYS_DIR: keys });
    expect((await first.call('POST', '/api/transparency/checkpoint', { as: auditor })).status).toBe(201);
    await first.app.close();
    // Rotation: the old private key destroyed, its public part kept; a new key active.
    writeFileSync(join(keys, '2026a.pem'), old.publicKey.export({ type: 'spki', format: 'pem' }));
    writeFileSync(join(keys, '2026b.pem'), pem());
    const second = await startHarness({ DATA_DIR: dataDir, SIGNING_KEYS_DIR: keys, SIGNING_KEY_ACTIVE: '2026b' });
    await second.call('POST', '/api/transparency/checkpoint', { as: auditor });
    const listed = await second.call('GET', '/api/transparency/keys');
    expect(listed.body.keys).toEqual([
      expect.objectContaining({
        label: '2026a',
        status: 'retired',
        firstSigned: expect.any(String),
        lastSigned: expect.any(String),
      }),
      expect.objectContaining({ label: '2026b', status: 'active', firstSigned: expect.any(String) }),
    ]);
    expect(listed.body.keys[0].keyId).not.toBe(listed.body.keys[1].keyId);
    await second.app.close();
    const verified = cli(['verify', '--json'], {
      DATA_DIR: dataDir,
      SIGNING_KEYS_DIR: keys,
      SIGNING_KEY_ACTIVE: '2026b',
    });
    expect(verified.code).toBe(0);
    expect(JSON.parse(verified.stdout).tree.badSignatures).toEqual([]);
  });
});
