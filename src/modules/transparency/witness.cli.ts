/**
 * `npm run cli -- witness --url <server> --state <file> (--fingerprint <hex> | --trusted-keys <file>)`: an
 * auditor's witness. It fetches the log's latest checkpoint, checks its signature against the keys the auditor
 * trusts and its consistency with the checkpoint the witness last accepted (and with a peer witness's, given
 * --peer-state), then stores it. Truncation, a fork or a rewrite is reported with both checkpoints (and the proof
 * that failed) as evidence, written beside the state file, and the stored checkpoint is kept: exit 1.
 * With --cosign-key it cosigns what it accepted (c2sp.org/tlog-cosignature) and prints the cosigned note.
 */
import { createPrivateKey } from 'node:crypto';
import { chmodSync, existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { commandArgs, usageError } from '../../shared/cli/cli-command';
import { fetchFailureReason } from '../../shared/http/fetch-failure';
import { isCaught, judge, type WitnessVerdict } from './domain/witness';
import {
  COSIGNATURE_TYPE,
  cosignatureLine,
  formatVkey,
  parseCheckpoint,
  parseVkey,
  signerKey,
  verifyNote,
  withSignatureLines,
  type Checkpoint,
  type NoteVerifierKey,
} from './domain/signed-note';
import { readTrustedKeysFile } from './trusted-keys';

const USAGE = `usage: npm run cli -- witness --url <server> --state <file> (--fingerprint <hex> | --trusted-keys <file>)
                              [--peer-state <file>] [--cosign-key <pem> --cosign-name <name> [--submit]] [--json]

Fetches <server>/api/transparency/checkpoint, verifies its signature by a key you trust and that it extends the
checkpoint held in --state (created on first use), then stores it. Exit 1, with both checkpoints as evidence
(also written to <state>.evidence-<time>.txt), when the log was truncated, forked or rewritten; the held
checkpoint is then kept. Exit 65 when a state file does not read or its checkpoint is not signed by a key you trust
(the witness's own damage: nothing is accused); exit 69 when the server cannot be reached (no verdict).
--peer-state: another witness's state file; its checkpoint must be consistent too
(two witnesses shown two histories). --cosign-key: an Ed25519 PKCS#8 key to cosign accepted checkpoints;
--submit hands the cosignature to the server, whose evidence packs then carry it; the server takes it only from a
witness whose verifier key its operator configured (a refusal prints the key to give them).
With TRANSPARENCY_ACCESS=auditor on the server, set WITNESS_TOKEN to an auditor's bearer token.`;

interface WitnessState {
  format: 'reglament-witness/1';
  url: string;
  checkpoint: string;
  acceptedAt: string;
  cosigned?: string;
}

type Fetched = { ok: true; note: string; checkpoint: Checkpoint } | { ok: false; problem: string };

/**
 * The witness's own files, refused by name when they do not read: a damaged state is the witness's problem, never
 * evidence against the log (whose signature it does not carry). Exit 65, as a damaged data file anywhere.
 */
class WitnessStateError extends Error {
  override readonly name = 'WitnessStateError';
}

/** The log's server could not be asked: no verdict on the log either way. Exit 69 (service unavailable). */
class ServerUnreachableError extends Error {
  override readonly name = 'ServerUnreachableError';
}

function readState(file: string, which: string): WitnessState | null {
  if (!existsSync(file)) return null;
  let state: unknown;
  try {
    state = JSON.parse(readFileSync(file, 'utf8'));
  } catch (error) {
    throw new WitnessStateError(`the ${which} state file ${file} does not read: ${(error as Error).message}`);
  }
  const s = state as Partial<WitnessState> | null;
  if (typeof s !== 'object' || s === null || s.format !== 'reglament-witness/1' || typeof s.checkpoint !== 'string')
    throw new WitnessStateError(
      `the ${which} state file ${file} is not a witness's state (format reglament-witness/1)`,
    );
  return s as WitnessState;
}

async function fetchText(url: string, init: RequestInit = {}): Promise<{ status: number; text: string }> {
  const token = process.env.WITNESS_TOKEN;
  try {
    const response = await fetch(url, {
      ...init,
      headers: { ...(token ? { authorization: `Bearer ${token}` } : {}), ...(init.headers as Record<string, string>) },
    });
    return { status: response.status, text: await response.text() };
  } catch (error) {
    throw new ServerUnreachableError(`${url}: ${fetchFailureReason(error)}`);
  }
}

function readCheckpoint(note: string, trusted: readonly NoteVerifierKey[]): Fetched {
  const verified = verifyNote(note, trusted);
  if (!verified.ok) return { ok: false, problem: verified.problem };
  const checkpoint = parseCheckpoint(verified.body);
  return checkpoint.ok
    ? { ok: true, note: note.replace(/\r\n/g, '\n'), checkpoint: checkpoint.value }
    : { ok: false, problem: checkpoint.problem };
}

async function consistencyProof(base: string, from: number, to: number): Promise<Uint8Array[] | null> {
  const r = await fetchText(`${base}/api/transparency/proofs/consistency?from=${from}&to=${to}`);
  if (r.status !== 200) return null;
  try {
    const proof = (JSON.parse(r.text) as { proof?: unknown }).proof;
    return Array.isArray(proof) && proof.every((p) => typeof p === 'string')
      ? proof.map((p: string) => Buffer.from(p, 'base64'))
      : null;
  } catch {
    return null;
  }
}

/** Pinned fingerprints become note keys through the server's key list, each checked against its pin. */
async function trustedNoteKeys(
  base: string,
  fingerprints: readonly string[],
  noteKeys: readonly NoteVerifierKey[],
): Promise<NoteVerifierKey[]> {
  if (fingerprints.length === 0) return [...noteKeys];
  const r = await fetchText(`${base}/api/transparency/keys`);
  const listed = r.status === 200 ? ((JSON.parse(r.text) as { keys?: Array<{ vkey?: string }> }).keys ?? []) : [];
  const { createHash } = await import('node:crypto');
  const pinned: NoteVerifierKey[] = [];
  for (const entry of listed) {
    const key = entry.vkey ? parseVkey(entry.vkey) : null;
    if (!key?.ok) continue;
    const fingerprint = createHash('sha256')
      .update(key.value.publicKey.export({ type: 'spki', format: 'der' }))
      .digest('hex');
    if (fingerprints.includes(fingerprint)) pinned.push(key.value);
  }
  return [...noteKeys, ...pinned];
}

export async function run(argv: string[]): Promise<number> {
  const parsed = commandArgs('witness', USAGE, argv, {
    options: {
      url: { type: 'string' },
      state: { type: 'string' },
      fingerprint: { type: 'string', multiple: true },
      'trusted-keys': { type: 'string' },
      'peer-state': { type: 'string' },
      'cosign-key': { type: 'string' },
      'cosign-name': { type: 'string' },
      submit: { type: 'boolean' },
      json: { type: 'boolean' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (typeof parsed === 'number') return parsed;
  const args = parsed.values;
  if (!args.url || !args.state) return usageError('witness', USAGE, '--url and --state are required');
  const base = args.url.replace(/\/+$/, '');
  let fingerprints = (args.fingerprint ?? []).map((f) => f.trim().toLowerCase());
  let noteKeys: NoteVerifierKey[] = [];
  if (args['trusted-keys']) {
    const keys = readTrustedKeysFile(args['trusted-keys']);
    if (!keys) return 1;
    fingerprints = [...fingerprints, ...keys.fingerprints];
    noteKeys = keys.noteKeys;
  }
  if (fingerprints.length === 0 && noteKeys.length === 0) {
    process.stderr.write(
      "no trusted key given: a witness must know the log's key from elsewhere than the log (--fingerprint or --trusted-keys)\n",
    );
    return 1;
  }
  const out = (lines: string[], json: unknown) =>
    process.stdout.write(args.json ? `${JSON.stringify(json, null, 2)}\n` : `${lines.join('\n')}\n`);
  try {
    const trusted = await trustedNoteKeys(base, fingerprints, noteKeys);
    if (trusted.length === 0) {
      out([`NOT ACCEPTED: none of the pinned fingerprints is among the keys ${base} lists`], {
        accepted: false,
        problem: 'no trusted key',
      });
      return 1;
    }
    const latest = await fetchText(`${base}/api/transparency/checkpoint`);
    if (latest.status !== 200) {
      out([`NOT ACCEPTED: ${base}/api/transparency/checkpoint answered ${latest.status}`], {
        accepted: false,
        status: latest.status,
      });
      return 1;
    }
    const fetched = readCheckpoint(latest.text, trusted);
    if (!fetched.ok) {
      out([`NOT ACCEPTED: the checkpoint's signature: ${fetched.problem}`, latest.text], {
        accepted: false,
        problem: fetched.problem,
        checkpoint: latest.text,
      });
      return 1;
    }
    const held = readState(args.state, 'held');
    const peer = args['peer-state'] ? readState(args['peer-state'], 'peer') : null;
    if (args['peer-state'] && !peer)
      throw new WitnessStateError(`the peer state file ${args['peer-state']} is missing`);
    const checks: Array<{ against: string; note: string | null; verdict: WitnessVerdict }> = [];
    const compare = async (against: string, note: string | null, file: string) => {
      const previous = note ? readCheckpoint(note, trusted) : null;
      // Not signed by a key trusted now: the file was changed, or the keys are not those it was accepted with. The log's
      // signature is not on it, so it accuses nothing.
      if (previous && !previous.ok)
        throw new WitnessStateError(
          `the ${against} checkpoint in ${file} is not signed by a key you trust (${previous.problem}): the file was changed, or the trusted keys are not the ones it was accepted with`,
        );
      const before = previous?.checkpoint ?? null;
      // Order the two trees by size: the proof always runs from the smaller to the larger.
      let verdict: WitnessVerdict;
      if (before && before.size > fetched.checkpoint.size && against !== 'held') {
        const proof = await consistencyProof(base, fetched.checkpoint.size, before.size);
        verdict = judge(fetched.checkpoint, before, proof);
      } else {
        const proof =
          before && fetched.checkpoint.size > before.size
            ? await consistencyProof(base, before.size, fetched.checkpoint.size)
            : null;
        verdict = judge(before, fetched.checkpoint, proof);
      }
      return checks.push({ against, note, verdict });
    };
    await compare('held', held?.checkpoint ?? null, args.state);
    if (peer) await compare(`peer ${args['peer-state']}`, peer.checkpoint, args['peer-state']!);
    const caught = checks.filter((c) => isCaught(c.verdict));
    if (caught.length > 0) {
      const evidence = caught
        .map(
          (c) =>
            `${c.verdict.kind.toUpperCase()}: ${c.verdict.detail}\n\n--- checkpoint held (${c.against}) ---\n${c.note ?? ''}\n--- checkpoint served by ${base} now ---\n${fetched.note}`,
        )
        .join('\n');
      const file = `${args.state}.evidence-${new Date().toISOString().replace(/[:.]/g, '-')}.txt`;
      writePublic(file, evidence);
      out(
        [
          `CAUGHT: ${caught.map((c) => `${c.verdict.kind} (against the ${c.against} checkpoint): ${c.verdict.detail}`).join('; ')}`,
          `evidence written to ${file}`,
          '',
          evidence,
        ],
        {
          accepted: false,
          caught: caught.map((c) => ({ against: c.against, ...c.verdict, held: c.note, served: fetched.note })),
          evidenceFile: file,
        },
      );
      return 1;
    }
    let cosigned: string | undefined;
    if (args['cosign-key']) {
      if (!args['cosign-name']) {
        process.stderr.write("--cosign-key needs --cosign-name (the witness's key name, e.g. auditor.example/w1)\n");
        return 2;
      }
      const witness = signerKey(
        args['cosign-name'],
        createPrivateKey(readFileSync(args['cosign-key'])),
        COSIGNATURE_TYPE,
      );
      const body = fetched.note.slice(0, fetched.note.lastIndexOf('\n\n') + 1);
      cosigned = withSignatureLines(fetched.note, [cosignatureLine(body, witness, new Date())]);
      if (args.submit) {
        const r = await fetchText(`${base}/api/transparency/cosignatures`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ note: cosigned, witnessKey: formatVkey(witness) }),
        });
        if (r.status !== 201)
          process.stderr.write(
            `the server did not take the cosignature: ${r.status} ${r.text}\n` +
              (r.status === 403
                ? `the log keeps cosignatures only of the witnesses its operator configured: give the operator this witness's verifier key, for TRANSPARENCY_WITNESSES: ${formatVkey(witness)}\n`
                : ''),
          );
      }
    }
    const state: WitnessState = {
      format: 'reglament-witness/1',
      url: base,
      checkpoint: fetched.note,
      acceptedAt: new Date().toISOString(),
      ...(cosigned ? { cosigned } : {}),
    };
    // Written whole, then renamed: a crash never leaves a half-written state.
    writePublic(`${args.state}.tmp`, JSON.stringify(state, null, 2));
    renameSync(`${args.state}.tmp`, args.state);
    const { size, root } = fetched.checkpoint;
    out(
      [
        `ACCEPTED: ${fetched.checkpoint.origin} at ${size} events, root ${root.toString('base64')} (${checks.map((c) => `${c.against}: ${c.verdict.detail}`).join('; ')})`,
        ...(cosigned ? ['', cosigned] : []),
      ],
      {
        accepted: true,
        size,
        root: root.toString('base64'),
        checks: checks.map((c) => ({ against: c.against, ...c.verdict })),
        ...(cosigned ? { cosigned } : {}),
      },
    );
    return 0;
  } catch (error) {
    if (error instanceof WitnessStateError) {
      out([`STATE DAMAGED: ${error.message}; nothing is accused and the state is left as it is`], {
        accepted: false,
        stateDamaged: error.message,
      });
      return 65;
    }
    if (error instanceof ServerUnreachableError) {
      out([`UNREACHABLE: ${error.message}; no verdict on the log, ask again later`], {
        accepted: false,
        unreachable: error.message,
      });
      return 69;
    }
    out([`NOT ACCEPTED: ${(error as Error).message}`], { accepted: false, problem: (error as Error).message });
    return 1;
  }
}

/**
 * A witness's state and evidence hold only the log's public checkpoints, and are for exchanging with other witnesses
 * (`--peer-state`): readable by all (0644), whatever the CLI's umask (0077, which keeps DATA_DIR's files private).
 */
function writePublic(file: string, text: string): void {
  writeFileSync(file, text);
  chmodSync(file, 0o644);
}
