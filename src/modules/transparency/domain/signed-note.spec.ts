import { generateKeyPairSync } from 'node:crypto';
import {
  COSIGNATURE_TYPE,
  cosignatureLine,
  formatCheckpoint,
  formatVkey,
  parseCheckpoint,
  parseVkey,
  signerKey,
  signNote,
  verifyNote,
  withSignatureLines,
} from './signed-note';

const newKey = () => generateKeyPairSync('ed25519').privateKey;

describe('signed notes (c2sp.org/signed-note)', () => {
  it("verifies the example note of Go's golang.org/x/mod/sumdb/note with its published verifier key", () => {
    const vkey = parseVkey('PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW');
    expect(vkey.ok).toBe(true);
    const note =
      "If you think cryptography is the answer to your problem,\nthen you don't know what your problem is.\n\n" +
      '— PeterNeumann x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM=\n';
    expect(verifyNote(note, [vkey.ok ? vkey.value : (null as never)]).ok).toBe(true);
  });

  it('a checkpoint round-trips: origin, size, root and time, signed and verified', () => {
    const key = signerKey('reglament.example/log', newKey());
    const body = formatCheckpoint({
      origin: 'reglament.example/log',
      size: 42,
      root: Buffer.alloc(32, 7),
      time: new Date('2026-12-03T10:00:00Z'),
    });
    expect(body).toBe(`reglament.example/log\n42\n${Buffer.alloc(32, 7).toString('base64')}\ntime 1796292000\n`);
    const note = signNote(body, [key]);
    const verified = verifyNote(note, [key]);
    expect(verified.ok && verified.body).toBe(body);
    expect(parseCheckpoint(body)).toEqual({
      ok: true,
      value: {
        origin: 'reglament.example/log',
        size: 42,
        root: Buffer.alloc(32, 7),
        time: new Date('2026-12-03T10:00:00Z'),
      },
    });
    expect(parseVkey(formatVkey(key))).toMatchObject({ ok: true, value: { name: key.name, keyId: key.keyId } });
  });

  it('a note survives CRLF conversion, and a changed body or an unknown key is refused with the reason', () => {
    const key = signerKey('reglament.example/log', newKey());
    const note = signNote(
      formatCheckpoint({ origin: 'reglament.example/log', size: 3, root: Buffer.alloc(32, 1), time: new Date(0) }),
      [key],
    );
    expect(verifyNote(note.replace(/\n/g, '\r\n'), [key]).ok).toBe(true);
    expect(verifyNote(note.replace('\n3\n', '\n4\n'), [key])).toMatchObject({
      ok: false,
      problem: expect.stringContaining('does not hold'),
    });
    const throwaway = signerKey('reglament.example/log', newKey());
    const forged = signNote(
      formatCheckpoint({ origin: 'reglament.example/log', size: 3, root: Buffer.alloc(32, 2), time: new Date(0) }),
      [throwaway],
    );
    expect(verifyNote(forged, [key])).toMatchObject({
      ok: false,
      problem: expect.stringContaining('none of which is trusted'),
    });
  });

  it('a witness cosignature verifies with the witness key and carries its time', () => {
    const log = signerKey('reglament.example/log', newKey());
    const witness = signerKey('auditor.example/w1', newKey(), COSIGNATURE_TYPE);
    const body = formatCheckpoint({
      origin: 'reglament.example/log',
      size: 9,
      root: Buffer.alloc(32, 3),
      time: new Date(0),
    });
    const cosigned = withSignatureLines(signNote(body, [log]), [
      cosignatureLine(body, witness, new Date('2026-12-03T12:00:00Z')),
    ]);
    const verified = verifyNote(cosigned, [log, witness]);
    expect(verified.ok && verified.cosignedBy.map((c) => [c.key.name, c.time.toISOString()])).toEqual([
      ['auditor.example/w1', '2026-12-03T12:00:00.000Z'],
    ]);
    // Only the log's own signature makes a note trusted; a cosignature alone does not.
    expect(verifyNote(cosigned, [witness]).ok).toBe(false);
  });

  it('malformed checkpoints are refused with what is wrong', () => {
    expect(parseCheckpoint('o\n01\nAAAA\ntime 1\n')).toMatchObject({
      ok: false,
      problem: expect.stringContaining('tree size'),
    });
    expect(parseCheckpoint(`o\n1\n${Buffer.alloc(31).toString('base64')}\ntime 1\n`)).toMatchObject({
      ok: false,
      problem: expect.stringContaining('root hash'),
    });
    expect(parseCheckpoint(`o\n1\n${Buffer.alloc(32).toString('base64')}\n`)).toMatchObject({
      ok: false,
      problem: expect.stringContaining('time'),
    });
  });
});
