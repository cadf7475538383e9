/**
 * The verifiable log: signs checkpoints of the event log's Merkle tree (when it has grown, on a timer in the
 * process that writes the log, and on demand), keeps every one, and answers inclusion and consistency proofs
 * from the stored tree. Before signing it proves the new tree consistent with the last checkpoint, so a log
 * rewritten or replaced under a running service is refused, never signed. Framework-free.
 */
import type { Logger } from 'pino';
import { LRUCache } from 'lru-cache';
import {
  consistencyProof,
  hashLeaf,
  inclusionProof,
  rootAt,
  verifyConsistency,
  type NodeSource,
} from './domain/merkle';
import {
  COSIGNATURE_TYPE,
  formatCheckpoint,
  parseCheckpoint,
  parseSignatureLine,
  parseSignedNote,
  parseVkey,
  sameKey,
  signedWith,
  signNote,
  verifyCosignature,
  verifyNote,
  type NoteVerifierKey,
} from './domain/signed-note';
import { ProblemError } from '../../shared/problem/problem';
import type { CheckpointStore, StoredCheckpoint } from './sqlite/sqlite-checkpoint-store';
import type { KeyRing } from './signing-keys';

export interface MerkleTreeReader extends NodeSource {
  size(): number;
  leafOfEvent(eventId: string): { index: number; data: Buffer } | null;
  leafAt(index: number): Buffer | null;
}

export type Refusal = { ok: false; status: 400 | 404 | 409; field: string; problem: string; allowed: string };
export type Outcome<T> = ({ ok: true } & T) | Refusal;

export interface InclusionAnswer {
  leafIndex: number;
  treeSize: number;
  /** The leaf data: the event's sealed hash, hex. */
  leaf: string;
  leafHash: string;
  proof: string[];
  /** The signed checkpoint of that tree size, when one was issued. */
  checkpoint: string | null;
}

/** Inclusion proofs of a case's events to one checkpoint, in the order the events were asked for. */
export interface EvidenceInclusion {
  /** The checkpoint every proof leads to, as served (with the configured witnesses' cosignatures). */
  checkpoint: string;
  events: Array<{
    eventId: string;
    leafIndex: number;
    /** The leaf data: the event's sealed hash, hex. */
    leaf: string;
    proof: string[];
  }>;
}

/** The tree does not hold these events yet: a moment's wait (`retryAfter` seconds), not the caller's fault. */
export function treeBehind(detail: string, extensions?: Record<string, unknown>, retryAfter = '1'): ProblemError {
  return new ProblemError(
    503,
    'tree-behind',
    "The log's Merkle tree does not hold these events yet",
    `${detail}. Ask again in a moment.`,
    undefined,
    extensions,
    { 'retry-after': retryAfter },
  );
}

export interface ConsistencyAnswer {
  from: number;
  to: number;
  proof: string[];
  fromCheckpoint: string | null;
  toCheckpoint: string | null;
}

/**
 * How far a witness's clock may be from this server's: a cosignature dated further ahead than this, or this long before
 * the checkpoint it cosigns was signed, is refused (a witness cannot have seen a checkpoint before it existed).
 */
export const COSIGNATURE_CLOCK_SKEW_SECONDS = 300;

/**
 * Why a cosignature is not kept: `bad-request` (malformed, or not verifying), `no-witnesses` (none configured: every
 * one is refused), `unknown-witness` (a key the operator did not configure), `no-such-checkpoint` (not one this log
 * issued), `time-out-of-range` (dated in the future, or before the checkpoint was signed).
 */
export type CosignatureRefusal = {
  ok: false;
  reason: 'bad-request' | 'no-witnesses' | 'unknown-witness' | 'no-such-checkpoint' | 'time-out-of-range';
  field: 'note' | 'witnessKey';
  problem: string;
  allowed: string;
};
/** `replaced`: the witness had cosigned this checkpoint before, with an earlier time; its line was replaced. */
export type CosignatureOutcome =
  { ok: true; seq: number; witness: string; outcome: 'added' | 'replaced' | 'unchanged' } | CosignatureRefusal;

export interface TransparencyLogOptions {
  /** The witnesses whose cosignatures are kept and served. @defaultValue none: every cosignature is refused */
  witnesses?: readonly NoteVerifierKey[];
  /** @defaultValue the system clock */
  clock?: () => Date;
}

const keyLabel = (key: NoteVerifierKey) => `${key.name} (key id ${key.keyId.toString('hex')})`;
const noteBody = (note: string) => note.slice(0, note.lastIndexOf('\n\n') + 1);

const b64 = (hashes: Uint8Array[]) => hashes.map((h) => Buffer.from(h).toString('base64'));

export class CheckpointRefusedError extends Error {
  override readonly name = 'CheckpointRefusedError';
}

export class TransparencyLog {
  private timer: NodeJS.Timeout | null = null;
  private readonly clock: () => Date;
  readonly witnesses: readonly NoteVerifierKey[];

  constructor(
    private readonly tree: MerkleTreeReader,
    private readonly checkpoints: CheckpointStore,
    readonly keys: KeyRing,
    private readonly logger: Logger,
    options: TransparencyLogOptions = {},
  ) {
    this.clock = options.clock ?? (() => new Date());
    this.witnesses = options.witnesses ?? [];
  }

  /**
   * Signs a checkpoint of the tree as it stands, when it has grown since the last one (or always, `force`).
   * Refuses (CheckpointRefusedError) a tree smaller than, or inconsistent with, the last checkpoint.
   */
  issue(force = false): StoredCheckpoint {
    const size = this.tree.size();
    const last = this.checkpoints.latest();
    if (last && size < last.size)
      throw new CheckpointRefusedError(
        `the log's tree has ${size} leaves, fewer than the ${last.size} of checkpoint #${last.seq}: the log was truncated or replaced`,
      );
    if (last && size === last.size && !force) return last;
    const root = Buffer.from(rootAt(this.tree, size));
    if (last) {
      const consistent = verifyConsistency(
        last.size,
        size,
        consistencyProof(this.tree, last.size, size),
        last.root,
        root,
      );
      if (!consistent.ok)
        throw new CheckpointRefusedError(
          `the log's tree at ${size} leaves is not an extension of checkpoint #${last.seq} (${last.size} leaves): ${consistent.problem}`,
        );
    }
    const signedAt = new Date(Math.floor(this.clock().getTime() / 1000) * 1000);
    const note = signNote(formatCheckpoint({ origin: this.keys.origin, size, root, time: signedAt }), [
      this.keys.active.signer,
    ]);
    return this.checkpoints.add({ size, root, signedAt, keyId: this.keys.active.note.keyId.toString('hex'), note });
  }

  latest(): StoredCheckpoint | null {
    return this.checkpoints.latest();
  }

  /**
   * The checkpoint as served: its note with the cosignatures of configured witnesses that verify, one per witness
   * (its latest). Lines of other keys, kept before witnesses had to be configured or from a witness since removed, are
   * not served.
   */
  served(checkpoint: StoredCheckpoint): string {
    return (
      checkpoint.note +
      this.witnessLines(checkpoint)
        .map((c) => c.line)
        .join('')
    );
  }

  /**
   * The witnesses' lines found per checkpoint, kept while its stored cosignatures are the same text: the public routes
   * serve up to 200 checkpoints a request, and each line is an Ed25519 verification.
   */
  private readonly verifiedLines = new LRUCache<
    number,
    { text: string; lines: Array<{ witness: NoteVerifierKey; line: string; time: Date }> }
  >({ max: 1000 });

  private witnessLines(checkpoint: StoredCheckpoint): Array<{ witness: NoteVerifierKey; line: string; time: Date }> {
    if (this.witnesses.length === 0 || checkpoint.cosignatures === '') return [];
    const known = this.verifiedLines.get(checkpoint.seq);
    if (known?.text === checkpoint.cosignatures) return known.lines;
    const lines = this.verifyWitnessLines(checkpoint);
    this.verifiedLines.set(checkpoint.seq, { text: checkpoint.cosignatures, lines });
    return lines;
  }

  private verifyWitnessLines(
    checkpoint: StoredCheckpoint,
  ): Array<{ witness: NoteVerifierKey; line: string; time: Date }> {
    const body = noteBody(checkpoint.note);
    const kept = new Map<NoteVerifierKey, { witness: NoteVerifierKey; line: string; time: Date }>();
    for (const text of checkpoint.cosignatures.split('\n')) {
      const signature = text === '' ? null : parseSignatureLine(text);
      if (!signature?.ok) continue;
      const witness = this.witnesses.find((w) => signedWith(signature.value, w));
      const time = witness ? verifyCosignature(body, witness, signature.value.signature) : null;
      if (!witness || !time) continue;
      const held = kept.get(witness);
      if (!held || time > held.time) kept.set(witness, { witness, line: signature.value.line, time });
    }
    return [...kept.values()];
  }

  /** The newest checkpoint holding at least `size` leaves that a configured witness cosigned. */
  private newestWitnessed(size: number): StoredCheckpoint | null {
    if (this.witnesses.length === 0) return null;
    for (const checkpoint of this.checkpoints.cosignedNewestFirst(size))
      if (this.witnessLines(checkpoint).length > 0) return checkpoint;
    return null;
  }

  history(options: { before?: number; limit: number }): StoredCheckpoint[] {
    return this.checkpoints.page(options);
  }

  /** The signing keys with their ids and when each signed its first and last checkpoint. */
  publicKeys() {
    const use = this.checkpoints.keyUse();
    return this.keys.keys.map((key) => {
      const used = use.get(key.note.keyId.toString('hex'));
      return {
        label: key.label,
        status: key.status,
        keyName: key.note.name,
        keyId: key.note.keyId.toString('hex'),
        vkey: key.vkey,
        fingerprint: key.fingerprint,
        publicKey: key.publicKey.export({ type: 'spki', format: 'pem' }).toString(),
        firstSigned: used?.first.toISOString() ?? null,
        lastSigned: used?.last.toISOString() ?? null,
        checkpoints: used?.checkpoints ?? 0,
      };
    });
  }

  /** Issues when the log has grown, at most once per interval; a refusal is logged at error level every time. */
  start(intervalMs: number): void {
    const tick = () => {
      try {
        this.issue();
      } catch (error) {
        this.logger.error({ err: error }, 'no checkpoint signed: the log contradicts its last checkpoint');
      }
    };
    tick();
    this.timer = setInterval(tick, intervalMs);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    // The last appends get their checkpoint before the process leaves.
    try {
      this.issue();
    } catch (error) {
      this.logger.error({ err: error }, 'no checkpoint signed at shutdown');
    }
  }

  inclusion(leaf: { eventId: string } | { leafIndex: number }, treeSizeParam?: number): Outcome<InclusionAnswer> {
    const current = this.tree.size();
    let index: number;
    let data: Buffer | null;
    if ('eventId' in leaf) {
      const found = this.tree.leafOfEvent(leaf.eventId);
      if (!found)
        return {
          ok: false,
          status: 404,
          field: 'eventId',
          problem: `no event ${leaf.eventId} in the log`,
          allowed: 'the id of a recorded event',
        };
      index = found.index;
      data = found.data;
    } else {
      index = leaf.leafIndex;
      if (index >= current)
        return {
          ok: false,
          status: 404,
          field: 'leafIndex',
          problem: `the log has ${current} leaves`,
          allowed: `0–${current - 1}`,
        };
      data = this.tree.leafAt(index);
    }
    const treeSize = treeSizeParam ?? this.latest()?.size ?? current;
    if (treeSize > current)
      return {
        ok: false,
        status: 400,
        field: 'treeSize',
        problem: `the log has ${current} leaves`,
        allowed: `${index + 1}–${current}`,
      };
    if (index >= treeSize)
      return {
        ok: false,
        status: 409,
        field: 'treeSize',
        problem: `leaf ${index} is not in the tree of ${treeSize} leaves (the latest checkpoint predates it; ask again after the next one)`,
        allowed: `${index + 1}–${current}`,
      };
    if (!data)
      return {
        ok: false,
        status: 404,
        field: 'leafIndex',
        problem: `no event at leaf ${index}`,
        allowed: `0–${current - 1}`,
      };
    return {
      ok: true,
      leafIndex: index,
      treeSize,
      leaf: data.toString('hex'),
      leafHash: hashLeaf(data).toString('hex'),
      proof: b64(inclusionProof(this.tree, index, treeSize)),
      checkpoint: this.checkpoints.ofSize(treeSize)?.note ?? null,
    };
  }

  /**
   * Inclusion proofs of these events, found by id, to a checkpoint: the newest one a witness cosigned that holds them
   * all (so a second party's view is in the pack), else the latest, signed now if the log has grown since it. By id,
   * not by the log's position: a log whose positions are not leaf numbers (EventStoreDB's) has its tree followed
   * into a file of its own, whose leaves are numbered in the order it read them. An event the tree does not hold is
   * a 404 refusal naming it (the API asking for events it has just read turns that into "ask again in a moment").
   */
  evidenceInclusion(eventIds: readonly string[]): Outcome<EvidenceInclusion> {
    const leaves: { eventId: string; index: number; data: Buffer }[] = [];
    for (const [i, eventId] of eventIds.entries()) {
      const found = this.tree.leafOfEvent(eventId);
      if (!found)
        return {
          ok: false,
          status: 404,
          field: `eventIds[${i}]`,
          problem: `no event ${eventId} in the log's tree of ${this.tree.size()} leaves (an event recorded in the last moments may not be followed yet)`,
          allowed: 'the ids of recorded events',
        };
      leaves.push({ eventId, ...found });
    }
    const needed = leaves.reduce((most, leaf) => Math.max(most, leaf.index + 1), 0);
    const checkpoint = this.newestWitnessed(needed) ?? this.issue();
    // The tree is stored right behind the log's commits: an event it does not hold yet gets no proof, nor a wrong one.
    if (checkpoint.size < needed)
      throw treeBehind(
        `the newest events of this case are at leaf ${needed - 1}; the tree holds ${checkpoint.size} leaves`,
        { treeSize: checkpoint.size, neededTreeSize: needed },
      );
    return {
      ok: true,
      checkpoint: this.served(checkpoint),
      events: leaves.map((leaf) => ({
        eventId: leaf.eventId,
        leafIndex: leaf.index,
        leaf: leaf.data.toString('hex'),
        proof: b64(inclusionProof(this.tree, leaf.index, checkpoint.size)),
      })),
    };
  }

  /**
   * Keeps a configured witness's cosignature of one of our checkpoints: the note must carry our own valid signature
   * over a checkpoint we issued, and a cosignature by that witness's key, dated neither in the future nor before the
   * checkpoint was signed (within COSIGNATURE_CLOCK_SKEW_SECONDS). A witness keeps one line per checkpoint: a later
   * cosignature replaces its earlier one, an earlier or the same one changes nothing. The signature is the
   * authentication, as in c2sp.org/tlog-witness: only the holder of a configured witness's private key gets a line kept.
   */
  addCosignature(cosignedNote: string, witnessVkey: string): CosignatureOutcome {
    const key = parseVkey(witnessVkey);
    if (!key.ok || key.value.type !== COSIGNATURE_TYPE)
      return {
        ok: false,
        reason: 'bad-request',
        field: 'witnessKey',
        problem: key.ok ? 'not a cosigner key (signature type 0x04)' : key.problem,
        allowed: '<name>+<key id>+<base64(0x04 || Ed25519 public key)>',
      };
    // Before any signature is verified: a caller who is not a configured witness costs a comparison, not a verification.
    if (this.witnesses.length === 0)
      return {
        ok: false,
        reason: 'no-witnesses',
        field: 'witnessKey',
        problem: `this log takes cosignatures only from the witnesses its operator configured, and none is; ${keyLabel(key.value)} is not one`,
        allowed: `none until the operator adds the witness's verifier key (${witnessVkey.trim()}) to TRANSPARENCY_WITNESSES or TRANSPARENCY_WITNESSES_FILE and restarts the service`,
      };
    const witness = this.witnesses.find((w) => sameKey(w, key.value));
    if (!witness) {
      const namesake = this.witnesses.find((w) => w.name === key.value.name);
      return {
        ok: false,
        reason: 'unknown-witness',
        field: 'witnessKey',
        problem: namesake
          ? `${keyLabel(key.value)} is not the key configured for the witness ${namesake.name} (${namesake.keyId.toString('hex')})`
          : `${keyLabel(key.value)} is not a witness of this log`,
        allowed: `the key of a configured witness: ${this.witnesses.map(keyLabel).join(', ')}`,
      };
    }
    const verified = verifyNote(cosignedNote, [...this.keys.keys.map((k) => k.note), witness]);
    if (!verified.ok)
      return {
        ok: false,
        reason: 'bad-request',
        field: 'note',
        problem: verified.problem,
        allowed: 'a checkpoint of this log, as served, with the witness cosignature line added',
      };
    const cosigned = verified.cosignedBy.find((c) => c.key === witness);
    if (!cosigned)
      return {
        ok: false,
        reason: 'bad-request',
        field: 'note',
        problem: `no cosignature by ${keyLabel(witness)} in the note`,
        allowed: 'the note with the witness cosignature line added',
      };
    const now = this.clock();
    const skew = COSIGNATURE_CLOCK_SKEW_SECONDS * 1000;
    if (cosigned.time.getTime() > now.getTime() + skew)
      return {
        ok: false,
        reason: 'time-out-of-range',
        field: 'note',
        problem: `the cosignature is dated ${cosigned.time.toISOString()}, more than ${COSIGNATURE_CLOCK_SKEW_SECONDS} s after this server's clock (${now.toISOString()})`,
        allowed: `a cosignature dated at most ${COSIGNATURE_CLOCK_SKEW_SECONDS} s after this server's clock: check the witness's clock`,
      };
    const body = parseCheckpoint(verified.body);
    const stored = body.ok ? this.checkpoints.withBody(body.value.size, verified.body) : null;
    if (!body.ok || !stored)
      return {
        ok: false,
        reason: 'no-such-checkpoint',
        field: 'note',
        problem: 'this log issued no such checkpoint',
        allowed: 'a checkpoint served by GET /api/transparency/checkpoint',
      };
    const earliest = new Date(stored.signedAt.getTime() - skew);
    if (cosigned.time < earliest)
      return {
        ok: false,
        reason: 'time-out-of-range',
        field: 'note',
        problem: `the cosignature is dated ${cosigned.time.toISOString()}, before checkpoint #${stored.seq} was signed (${stored.signedAt.toISOString()})`,
        allowed: `a cosignature dated from ${earliest.toISOString()} on (the checkpoint's time less ${COSIGNATURE_CLOCK_SKEW_SECONDS} s)`,
      };
    const note = parseSignedNote(cosignedNote);
    const line = note.ok ? note.value.signatures.find((s) => signedWith(s, witness))?.line : undefined;
    const held = this.witnessLines(stored).find((c) => c.witness === witness);
    if (held && held.time >= cosigned.time)
      return { ok: true, seq: stored.seq, witness: witness.name, outcome: 'unchanged' };
    // What else the row holds stays as it was (lines kept before witnesses were configured are simply not served).
    const others = stored.cosignatures
      .split('\n')
      .filter((text) => text !== '')
      .filter((text) => {
        const signature = parseSignatureLine(text);
        return !signature.ok || !signedWith(signature.value, witness);
      })
      .map((text) => `${text}\n`);
    this.checkpoints.setCosignatures(stored.seq, [...others, line!].join(''));
    return { ok: true, seq: stored.seq, witness: witness.name, outcome: held ? 'replaced' : 'added' };
  }

  consistency(from: number, to: number): Outcome<ConsistencyAnswer> {
    const current = this.tree.size();
    if (to > current)
      return {
        ok: false,
        status: 400,
        field: 'to',
        problem: `the log has ${current} leaves`,
        allowed: `${from}–${current}`,
      };
    if (from > to)
      return {
        ok: false,
        status: 400,
        field: 'from',
        problem: `${from} is larger than to (${to})`,
        allowed: `0–${to}`,
      };
    return {
      ok: true,
      from,
      to,
      proof: b64(consistencyProof(this.tree, from, to)),
      fromCheckpoint: this.checkpoints.ofSize(from)?.note ?? null,
      toCheckpoint: this.checkpoints.ofSize(to)?.note ?? null,
    };
  }

  /**
   * The start-up check, cheap (O(log n)): the last leaf matches its event as stored, and the newest checkpoint's
   * root is the stored tree's root at its size. Returns what is wrong, or null.
   */
  stateProblem(recomputedLeafHash: ((position: number) => Buffer | null) | null): string | null {
    const size = this.tree.size();
    if (recomputedLeafHash) {
      const problem = lastLeafProblem(this.tree, size, recomputedLeafHash);
      if (problem) return problem;
    }
    const last = this.latest();
    if (last) {
      if (last.size > size)
        return `checkpoint #${last.seq} signed ${last.size} leaves; the log's tree has ${size}: the log was truncated or replaced`;
      if (!Buffer.from(rootAt(this.tree, last.size)).equals(last.root))
        return `the log's tree at ${last.size} leaves has another root than checkpoint #${last.seq} signed: the log was rewritten or replaced`;
    }
    return null;
  }
}

/**
 * The tree's leaf at `size` (its last, when `size` is its size) against the event at that position as stored: what is
 * wrong, or null. A tree of no leaves has none to check.
 */
export function lastLeafProblem(
  tree: NodeSource,
  size: number,
  recomputedLeafHash: (position: number) => Buffer | null,
): string | null {
  if (size === 0) return null;
  const expected = recomputedLeafHash(size);
  if (!expected || !expected.equals(tree.node(0, size - 1)))
    return `the tree's last leaf (${size - 1}) does not match the event at position ${size}: the log was changed under its tree`;
  return null;
}
