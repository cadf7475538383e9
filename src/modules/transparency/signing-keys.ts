/**
 * The service's Ed25519 signing keys: they sign the log's checkpoints (as signed-note keys named by the log's
 * origin) and the evidence packs. Several keys may be kept, one active: a retired key signs nothing new, but what
 * it signed still verifies, because its public key stays published with its id.
 *
 * - SIGNING_KEYS_DIR: one PEM file per key, named `<label>.pem`: PKCS#8 private keys, or SPKI public keys for
 *   retired keys whose private part is destroyed; SIGNING_KEY_ACTIVE names the active label (needed when more
 *   than one private key is there).
 * - Otherwise EVIDENCE_KEY_FILE, or DATA_DIR/evidence-signing-key.pem, generated on first start (mode 0600) only
 *   in the embedded single-machine shape: anywhere else a key generated beside the data would prove nothing, so
 *   start-up refuses and asks for one.
 */
import { createHash, createPrivateKey, createPublicKey, generateKeyPairSync, type KeyObject } from 'node:crypto';
import { chmodSync, existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { formatVkey, signerKey, verifierKey, type NoteSignerKey, type NoteVerifierKey } from './domain/signed-note';

export const DEFAULT_KEY_FILE = 'evidence-signing-key.pem';

export interface SigningKey {
  label: string;
  status: 'active' | 'retired';
  publicKey: KeyObject;
  /** SHA-256 of the SPKI DER public key, hex: what auditors pin with --fingerprint. */
  fingerprint: string;
  note: NoteVerifierKey;
  vkey: string;
}

export interface KeyRing {
  origin: string;
  active: SigningKey & { signer: NoteSignerKey; privateKey: KeyObject };
  keys: SigningKey[];
  /** The file generated on this start, if one was. */
  generated: string | null;
}

export class SigningKeyError extends Error {
  override readonly name = 'SigningKeyError';
}

export function spkiFingerprint(publicKey: KeyObject): string {
  return createHash('sha256')
    .update(publicKey.export({ type: 'spki', format: 'der' }))
    .digest('hex');
}

export interface KeyRingOptions {
  origin: string;
  dataDir: string;
  keysDir?: string;
  activeKey?: string;
  evidenceKeyFile?: string;
  mayGenerateKey: boolean;
  /** For the refusal message: the shape that is not the embedded default. */
  shape: string;
}

function describe(label: string, origin: string, publicKey: KeyObject, status: SigningKey['status']): SigningKey {
  const note = verifierKey(origin, publicKey);
  return { label, status, publicKey, fingerprint: spkiFingerprint(publicKey), note, vkey: formatVkey(note) };
}

function ed25519(key: KeyObject, file: string): KeyObject {
  if (key.asymmetricKeyType !== 'ed25519')
    throw new SigningKeyError(
      `${file} holds a ${String(key.asymmetricKeyType)} key; checkpoints and evidence are signed with Ed25519`,
    );
  return key;
}

export function loadKeyRing(options: KeyRingOptions): KeyRing {
  if (options.keysDir) return fromDirectory(options);
  const file = options.evidenceKeyFile ?? join(options.dataDir, DEFAULT_KEY_FILE);
  let generated: string | null = null;
  if (!existsSync(file)) {
    if (options.evidenceKeyFile) throw new SigningKeyError(`EVIDENCE_KEY_FILE ${file} does not exist`);
    if (!options.mayGenerateKey) {
      throw new SigningKeyError(
        `no signing key is configured and none is generated in this shape (${options.shape}): a key created beside the data proves nothing to an outside auditor. ` +
          'Provide one: SIGNING_KEYS_DIR (a directory of Ed25519 PKCS#8 PEM files, SIGNING_KEY_ACTIVE naming the active one) or EVIDENCE_KEY_FILE',
      );
    }
    const { privateKey } = generateKeyPairSync('ed25519');
    writeFileSync(file, privateKey.export({ type: 'pkcs8', format: 'pem' }), { mode: 0o600, flag: 'wx' });
    chmodSync(file, 0o600);
    generated = file;
  }
  const privateKey = ed25519(createPrivateKey(readFileSync(file)), file);
  const key = describe(basename(file, '.pem'), options.origin, createPublicKey(privateKey), 'active');
  return {
    origin: options.origin,
    active: { ...key, privateKey, signer: signerKey(options.origin, privateKey) },
    keys: [key],
    generated,
  };
}

function fromDirectory(options: KeyRingOptions): KeyRing {
  const dir = options.keysDir!;
  let files: string[];
  try {
    files = readdirSync(dir)
      .filter((f) => f.endsWith('.pem'))
      .sort();
  } catch (error) {
    throw new SigningKeyError(`SIGNING_KEYS_DIR ${dir} cannot be read (${(error as NodeJS.ErrnoException).code})`);
  }
  const privateKeys = new Map<string, KeyObject>();
  const publicKeys = new Map<string, KeyObject>();
  for (const f of files) {
    const label = basename(f, '.pem');
    const pem = readFileSync(join(dir, f), 'utf8');
    if (pem.includes('PRIVATE KEY')) {
      const key = ed25519(createPrivateKey(pem), f);
      privateKeys.set(label, key);
      publicKeys.set(label, createPublicKey(key));
    } else {
      publicKeys.set(label, ed25519(createPublicKey(pem), f));
    }
  }
  const activeLabel = options.activeKey ?? (privateKeys.size === 1 ? [...privateKeys.keys()][0] : undefined);
  if (!activeLabel)
    throw new SigningKeyError(
      `SIGNING_KEYS_DIR ${dir} holds ${privateKeys.size} private keys (${[...privateKeys.keys()].join(', ') || 'none'}); set SIGNING_KEY_ACTIVE to the label of the one that signs`,
    );
  const privateKey = privateKeys.get(activeLabel);
  if (!privateKey)
    throw new SigningKeyError(`SIGNING_KEY_ACTIVE ${activeLabel}: no private key ${activeLabel}.pem in ${dir}`);
  const keys = [...publicKeys].map(([label, key]) =>
    describe(label, options.origin, key, label === activeLabel ? 'active' : 'retired'),
  );
  const active = keys.find((k) => k.label === activeLabel)!;
  return {
    origin: options.origin,
    active: { ...active, privateKey, signer: signerKey(options.origin, privateKey) },
    keys,
    generated: null,
  };
}
