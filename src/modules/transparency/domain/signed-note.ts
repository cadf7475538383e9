/**
 * Checkpoints as C2SP defines them, so existing transparency tooling (Go's sumdb/note, the witness network,
 * Tessera) reads them:
 * - c2sp.org/tlog-checkpoint: `<origin>\n<tree size>\n<base64 root hash>\n` and extension lines; ours has one,
 *   `time <POSIX seconds>`, the instant the log signed it (signed by the log's key with the rest of the body);
 * - c2sp.org/signed-note: the body, a blank line, then `— <key name> <base64(key id || signature)>` lines;
 *   Ed25519 key id = SHA-256(name || 0x0A || 0x01 || 32-byte public key)[:4];
 * - c2sp.org/tlog-cosignature: a witness's Ed25519 signature (type 0x04) over
 *   `cosignature/v1\ntime <t>\n<body>`, carrying the time as 8 big-endian bytes before the signature.
 * Pure: keys are passed in.
 */
import { createHash, createPublicKey, sign, verify, type KeyObject } from 'node:crypto';

export const ED25519_TYPE = 0x01;
export const COSIGNATURE_TYPE = 0x04;
const EM_DASH = '\u2014';
const MAX_SIGNATURES = 64;

/** A public key as a note verifier knows it: name, algorithm byte, key id. */
export interface NoteVerifierKey {
  name: string;
  type: typeof ED25519_TYPE | typeof COSIGNATURE_TYPE;
  publicKey: KeyObject;
  /** 4 bytes, big-endian, as on the signature line. */
  keyId: Buffer;
}

export interface NoteSignerKey extends NoteVerifierKey {
  privateKey: KeyObject;
}

export function rawEd25519(publicKey: KeyObject): Buffer {
  if (publicKey.asymmetricKeyType !== 'ed25519')
    throw new TypeError(`an Ed25519 key is needed, not ${String(publicKey.asymmetricKeyType)}`);
  const der = publicKey.export({ type: 'spki', format: 'der' });
  return der.subarray(der.length - 32);
}

export function publicKeyFromRaw(raw: Uint8Array): KeyObject {
  return createPublicKey({
    key: { kty: 'OKP', crv: 'Ed25519', x: Buffer.from(raw).toString('base64url') },
    format: 'jwk',
  });
}

export function checkKeyName(name: string): string | null {
  if (name.length === 0) return 'a key name must not be empty';
  if (/[\s+]/u.test(name) || /[\u0000-\u001f]/.test(name))
    return `key name ${JSON.stringify(name)} must not contain spaces, "+" or control characters`;
  return null;
}

export function keyIdOf(name: string, type: number, publicKey: KeyObject): Buffer {
  return createHash('sha256')
    .update(name, 'utf8')
    .update(Buffer.from([0x0a, type]))
    .update(rawEd25519(publicKey))
    .digest()
    .subarray(0, 4);
}

export function verifierKey(
  name: string,
  publicKey: KeyObject,
  type: NoteVerifierKey['type'] = ED25519_TYPE,
): NoteVerifierKey {
  const problem = checkKeyName(name);
  if (problem) throw new TypeError(problem);
  return { name, type, publicKey, keyId: keyIdOf(name, type, publicKey) };
}

export function signerKey(
  name: string,
  privateKey: KeyObject,
  type: NoteVerifierKey['type'] = ED25519_TYPE,
): NoteSignerKey {
  return { ...verifierKey(name, createPublicKey(privateKey), type), privateKey };
}

/** `<name>+<hex key id>+<base64(type || public key)>`: the one-line form in which a verifier key is published. */
export function formatVkey(key: NoteVerifierKey): string {
  return `${key.name}+${key.keyId.toString('hex')}+${Buffer.concat([Buffer.from([key.type]), rawEd25519(key.publicKey)]).toString('base64')}`;
}

export type Parsed<T> = { ok: true; value: T } | { ok: false; problem: string };

export function parseVkey(text: string): Parsed<NoteVerifierKey> {
  // The base64 key may itself contain "+": only the first two separate the parts.
  const match = /^([^+]+)\+([0-9a-fA-F]{8})\+([A-Za-z0-9+/]+={0,2})$/.exec(text.trim());
  if (!match) return { ok: false, problem: 'a verifier key is <name>+<8 hex digits of key id>+<base64 key>' };
  const [, name, id, material] = match as unknown as [string, string, string, string];
  const nameProblem = checkKeyName(name);
  if (nameProblem) return { ok: false, problem: nameProblem };
  const bytes = Buffer.from(material, 'base64');
  if (bytes.length !== 33 || (bytes[0] !== ED25519_TYPE && bytes[0] !== COSIGNATURE_TYPE))
    return { ok: false, problem: 'only Ed25519 verifier keys (type 0x01 or 0x04, 32 bytes) are supported' };
  const key = verifierKey(name, publicKeyFromRaw(bytes.subarray(1)), bytes[0] as NoteVerifierKey['type']);
  if (key.keyId.toString('hex') !== id.toLowerCase())
    return { ok: false, problem: `key id ${id} does not match the key (computed ${key.keyId.toString('hex')})` };
  return { ok: true, value: key };
}

export interface Checkpoint {
  origin: string;
  size: number;
  root: Buffer;
  /** The instant the log signed it, from its `time` extension line. */
  time: Date;
}

export function formatCheckpoint(checkpoint: Checkpoint): string {
  return `${checkpoint.origin}\n${checkpoint.size}\n${checkpoint.root.toString('base64')}\ntime ${Math.floor(checkpoint.time.getTime() / 1000)}\n`;
}

const DECIMAL = /^(0|[1-9][0-9]{0,15})$/;
const BASE64_HASH = /^[A-Za-z0-9+/]{43}=$/;

export function parseCheckpoint(body: string): Parsed<Checkpoint> {
  if (!body.endsWith('\n')) return { ok: false, problem: 'a checkpoint ends with a newline' };
  const lines = body.slice(0, -1).split('\n');
  if (lines.length < 3) return { ok: false, problem: 'a checkpoint has an origin, a tree size and a root hash line' };
  const [origin, size, root, ...extensions] = lines as [string, string, string, ...string[]];
  if (origin.length === 0) return { ok: false, problem: 'the origin line is empty' };
  if (!DECIMAL.test(size) || !Number.isSafeInteger(Number(size)))
    return { ok: false, problem: `tree size ${JSON.stringify(size)} is not a decimal integer` };
  if (!BASE64_HASH.test(root)) return { ok: false, problem: 'the root hash line is not the base64 of 32 bytes' };
  const time = extensions.find((line) => line.startsWith('time '));
  const seconds = time?.slice(5);
  if (!seconds || !DECIMAL.test(seconds))
    return { ok: false, problem: 'the checkpoint has no "time <POSIX seconds>" line' };
  if (extensions.some((line) => line.length === 0)) return { ok: false, problem: 'extension lines must not be empty' };
  return {
    ok: true,
    value: { origin, size: Number(size), root: Buffer.from(root, 'base64'), time: new Date(Number(seconds) * 1000) },
  };
}

export interface NoteSignature {
  name: string;
  keyId: Buffer;
  /** The signature bytes after the key id (for a cosignature: 8-byte timestamp, then the Ed25519 signature). */
  signature: Buffer;
  line: string;
}

export interface SignedNote {
  body: string;
  signatures: NoteSignature[];
}

function signatureLine(key: NoteVerifierKey, signature: Buffer): string {
  return `${EM_DASH} ${key.name} ${Buffer.concat([key.keyId, signature]).toString('base64')}\n`;
}

export function signNote(body: string, keys: readonly NoteSignerKey[]): string {
  if (!body.endsWith('\n')) throw new TypeError('a note text ends with a newline');
  return `${body}\n${keys.map((key) => signatureLine(key, sign(null, Buffer.from(body, 'utf8'), key.privateKey))).join('')}`;
}

/**
 * Reads a signed note. Text that went through a Windows editor or mail gateway (CRLF) is read as its LF form,
 * the only form that can have been signed; anything else outside the format is refused.
 */
export function parseSignedNote(input: string): Parsed<SignedNote> {
  const text = input.replace(/\r\n/g, '\n');
  if (/[\u0000-\u0009\u000b-\u001f]/.test(text))
    return { ok: false, problem: 'a signed note must not contain control characters other than newline' };
  if (!text.endsWith('\n')) return { ok: false, problem: 'a signed note ends with a newline' };
  const split = text.lastIndexOf('\n\n');
  if (split < 0) return { ok: false, problem: 'no blank line separates the note text from its signatures' };
  const body = text.slice(0, split + 1);
  const lines = text.slice(split + 2, -1).split('\n');
  if (lines.length > MAX_SIGNATURES) return { ok: false, problem: `more than ${MAX_SIGNATURES} signatures` };
  const signatures: NoteSignature[] = [];
  for (const line of lines) {
    const signature = parseSignatureLine(line);
    if (!signature.ok) return signature;
    signatures.push(signature.value);
  }
  if (signatures.length === 0) return { ok: false, problem: 'the note has no signature' };
  return { ok: true, value: { body, signatures } };
}

/** One signature line, `— <key name> <base64(key id || signature)>`, without or with its newline. */
export function parseSignatureLine(text: string): Parsed<NoteSignature> {
  const line = text.endsWith('\n') ? text.slice(0, -1) : text;
  const match = /^\u2014 (\S+) ([A-Za-z0-9+/]+={0,2})$/u.exec(line);
  if (!match) return { ok: false, problem: `not a signature line: ${JSON.stringify(line.slice(0, 120))}` };
  const bytes = Buffer.from(match[2]!, 'base64');
  if (bytes.length < 5) return { ok: false, problem: `signature of ${match[1]} is too short` };
  return {
    ok: true,
    value: { name: match[1]!, keyId: bytes.subarray(0, 4), signature: bytes.subarray(4), line: `${line}\n` },
  };
}

/** Whether a signature line names this key (its name and key id; the signature itself is not checked). */
export const signedWith = (signature: Pick<NoteSignature, 'name' | 'keyId'>, key: NoteVerifierKey): boolean =>
  signature.name === key.name && signature.keyId.equals(key.keyId);

/** The same published key: name, algorithm and public key (the key id follows from them). */
export const sameKey = (a: NoteVerifierKey, b: NoteVerifierKey): boolean =>
  a.name === b.name && a.type === b.type && rawEd25519(a.publicKey).equals(rawEd25519(b.publicKey));

export type NoteVerification =
  | { ok: true; body: string; verifiedBy: NoteVerifierKey[]; cosignedBy: Array<{ key: NoteVerifierKey; time: Date }> }
  | { ok: false; problem: string; signers: string[] };

const signersOf = (note: SignedNote) => note.signatures.map((s) => `${s.name} (key id ${s.keyId.toString('hex')})`);

/**
 * signed-note verification: signatures from unknown keys are ignored, a known key's signature must hold, and at
 * least one known (non-cosigner) key must have signed. Cosignatures of known witnesses are verified and returned.
 */
export function verifyNote(input: string, trusted: readonly NoteVerifierKey[]): NoteVerification {
  const parsed = parseSignedNote(input);
  if (!parsed.ok) return { ok: false, problem: parsed.problem, signers: [] };
  const note = parsed.value;
  const verifiedBy: NoteVerifierKey[] = [];
  const cosignedBy: Array<{ key: NoteVerifierKey; time: Date }> = [];
  for (const s of note.signatures) {
    const key = trusted.find((k) => signedWith(s, k));
    if (!key) continue;
    if (key.type === ED25519_TYPE) {
      if (!verify(null, Buffer.from(note.body, 'utf8'), key.publicKey, s.signature))
        return {
          ok: false,
          problem: `the signature of trusted key ${key.name} (${key.keyId.toString('hex')}) does not hold: the note was changed after it was signed`,
          signers: signersOf(note),
        };
      verifiedBy.push(key);
    } else {
      const time = verifyCosignature(note.body, key, s.signature);
      if (!time)
        return {
          ok: false,
          problem: `the cosignature of witness ${key.name} (${key.keyId.toString('hex')}) does not hold`,
          signers: signersOf(note),
        };
      cosignedBy.push({ key, time });
    }
  }
  if (verifiedBy.length === 0) {
    return {
      ok: false,
      problem: `no signature by a trusted key: the note is signed by ${signersOf(note).join(', ')}, none of which is trusted`,
      signers: signersOf(note),
    };
  }
  return { ok: true, body: note.body, verifiedBy, cosignedBy };
}

function cosignedMessage(body: string, seconds: bigint): Buffer {
  return Buffer.from(`cosignature/v1\ntime ${seconds}\n${body}`, 'utf8');
}

/** A witness's cosignature line over a checkpoint body it has verified (c2sp.org/tlog-cosignature, Ed25519). */
export function cosignatureLine(body: string, witness: NoteSignerKey, time: Date): string {
  if (witness.type !== COSIGNATURE_TYPE) throw new TypeError('a cosigner key has signature type 0x04');
  const seconds = BigInt(Math.floor(time.getTime() / 1000));
  const stamp = Buffer.alloc(8);
  stamp.writeBigUInt64BE(seconds);
  return signatureLine(witness, Buffer.concat([stamp, sign(null, cosignedMessage(body, seconds), witness.privateKey)]));
}

/** The time a witness's cosignature (the bytes after the key id) of this note body states, or null when it does not hold. */
export function verifyCosignature(body: string, key: NoteVerifierKey, bytes: Buffer): Date | null {
  if (bytes.length !== 72) return null;
  const seconds = bytes.readBigUInt64BE(0);
  if (seconds >= 2n ** 63n) return null;
  return verify(null, cosignedMessage(body, seconds), key.publicKey, bytes.subarray(8))
    ? new Date(Number(seconds) * 1000)
    : null;
}

/** Adds signature lines (cosignatures) to a signed note. */
export function withSignatureLines(note: string, lines: readonly string[]): string {
  return note + lines.join('');
}
