/**
 * Where an evidence pack's inclusion proofs come from: the tree this process keeps (the embedded log's, or the one
 * the worker follows), or, on an API instance beside EventStoreDB, which keeps no tree, the worker that does
 * (TRANSPARENCY_WORKER_URL), asked with the caller's own token for the case's events and erasure records. What comes
 * back is checked (signed by this log's keys, every proof leading to its root) before a pack carries it.
 */
import type { Logger } from 'pino';
import { ProblemError } from '../../shared/problem/problem';
import { fetchFailureReason } from '../../shared/http/fetch-failure';
import { hashLeaf, verifyInclusion } from './domain/merkle';
import { parseCheckpoint, verifyNote, type NoteVerifierKey } from './domain/signed-note';
import { treeBehind, type EvidenceInclusion, type TransparencyLog } from './transparency-log';

export type { EvidenceInclusion } from './transparency-log';

/** The proofs of a case's events, and of the erasure records that name the case, by id, to one signed checkpoint. */
export interface EvidenceProofs {
  /**
   * `eventIds`: the case's events, then its erasure records (PersonalDataErased events of the `personal-data-erasures`
   * stream that name it). `authorization`: the caller's own header, for a proofs service in another process; never
   * stored.
   */
  evidenceInclusion(
    caseId: string,
    eventIds: readonly string[],
    caller: { authorization?: string },
  ): Promise<EvidenceInclusion>;
}

/** The tree this process keeps. An event it does not hold yet (a followed tree trails its log) is a moment's wait. */
export function localEvidenceProofs(log: TransparencyLog): EvidenceProofs {
  return {
    async evidenceInclusion(_caseId, eventIds) {
      const outcome = log.evidenceInclusion(eventIds);
      if (!outcome.ok) throw treeBehind(outcome.problem);
      return { checkpoint: outcome.checkpoint, events: outcome.events };
    },
  };
}

/** The route the worker serves them on (TransparencyController). */
export const EVIDENCE_PROOFS_PATH = '/api/transparency/evidence-proofs';

/** The most an answer may hold: 10,000 events' proofs are about 10 MB. */
const ANSWER_MAX_BYTES = 32 << 20;

const HEX64 = /^[0-9a-f]{64}$/;
const BASE64_HASH = /^[A-Za-z0-9+/]{43}=$/;

/**
 * The worker's proofs, over HTTP. Every way it can fail has its own answer: not followed yet, and a worker that is down
 * or slow, are 503 with Retry-After (nothing is wrong with the request); a worker that refuses the caller's token,
 * fails, or answers other proofs than asked for is 502 (the deployment is wrong, not the request). Callers are told
 * what kind of failure it was; the worker's address and its words go to this process's log only.
 */
export class RemoteEvidenceProofs implements EvidenceProofs {
  constructor(
    private readonly workerUrl: string,
    /** This log's verifier keys (the key ring's): the worker's checkpoint must be signed by one of them. */
    private readonly logKeys: readonly NoteVerifierKey[],
    private readonly logger: Pick<Logger, 'warn'>,
    private readonly timeoutMs = 10_000,
  ) {}

  async evidenceInclusion(
    caseId: string,
    eventIds: readonly string[],
    caller: { authorization?: string },
  ): Promise<EvidenceInclusion> {
    let response: Response;
    let text: string;
    try {
      response = await fetch(new URL(EVIDENCE_PROOFS_PATH, this.workerUrl), {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          accept: 'application/json',
          ...(caller.authorization ? { authorization: caller.authorization } : {}),
        },
        body: JSON.stringify({ caseId, eventIds }),
        redirect: 'error',
        signal: AbortSignal.timeout(this.timeoutMs),
      });
      text = await boundedText(response, ANSWER_MAX_BYTES);
    } catch (error) {
      const reason = fetchFailureReason(error);
      this.logger.warn({ worker: this.workerUrl, reason }, "the worker that keeps the log's tree did not answer");
      throw new ProblemError(
        503,
        'transparency-unavailable',
        "The log's proofs cannot be had now",
        `the worker that keeps the log's tree did not answer (${reason === 'no answer in time' ? reason : 'not reachable'}). Ask again in a moment.`,
        undefined,
        {},
        { 'retry-after': '5' },
      );
    }
    const said = problemOf(text);
    // The worker's tree trails the log: events this API has just read may not be in it yet.
    if ((response.status === 404 && said.type?.endsWith('/not-in-tree')) || response.status === 503) {
      const retryAfter = response.headers.get('retry-after');
      throw treeBehind(
        "the worker that keeps the log's tree does not hold this case's newest events yet",
        undefined,
        retryAfter && /^\d{1,5}$/.test(retryAfter) ? retryAfter : '1',
      );
    }
    if (!response.ok) {
      this.logger.warn(
        { worker: this.workerUrl, status: response.status, said: said.detail ?? text.slice(0, 200) },
        'the worker refused or failed a request for evidence proofs',
      );
      if (response.status === 401 || response.status === 403)
        throw workerProblem(
          'transparency-refused',
          `the worker that keeps the log's tree refused this caller's token (${response.status}): the API instances and the worker must accept the same tokens (AUTH_*)`,
        );
      throw workerProblem(
        'transparency-failed',
        `the worker that keeps the log's tree answered ${response.status}: see this service's log`,
      );
    }
    const answer = readInclusionAnswer(text, eventIds, this.logKeys);
    if (answer.ok) return answer.value;
    this.logger.warn(
      { worker: this.workerUrl, problem: answer.problem },
      'the worker answered other proofs than asked for',
    );
    throw workerProblem(
      'transparency-mismatch',
      `the worker that keeps the log's tree answered other proofs than asked for: ${answer.problem}`,
    );
  }
}

function workerProblem(code: string, detail: string): ProblemError {
  return new ProblemError(502, code, "The log's proofs could not be had from the worker", detail);
}

/** The body's text, refused past `limit` bytes (a worker gone wrong must not fill this process's memory). */
async function boundedText(response: Response, limit: number): Promise<string> {
  if (!response.body) return '';
  const chunks: Uint8Array[] = [];
  let size = 0;
  for await (const chunk of response.body as AsyncIterable<Uint8Array>) {
    size += chunk.byteLength;
    if (size > limit) throw new Error(`an answer of more than ${limit} bytes`);
    chunks.push(chunk);
  }
  return Buffer.concat(chunks).toString('utf8');
}

/** A problem+json answer's type and detail, when it is one. */
function problemOf(text: string): { type?: string; detail?: string } {
  try {
    const body = JSON.parse(text) as { type?: unknown; detail?: unknown };
    return {
      ...(typeof body.type === 'string' ? { type: body.type } : {}),
      ...(typeof body.detail === 'string' ? { detail: body.detail.slice(0, 300) } : {}),
    };
  } catch {
    return {};
  }
}

/**
 * The answer, checked member by member: one proof per event asked for, in that order, of the shapes a proof has, to a
 * checkpoint signed by one of this log's keys, each proof leading from its leaf to that checkpoint's root.
 */
export function readInclusionAnswer(
  text: string,
  eventIds: readonly string[],
  logKeys: readonly NoteVerifierKey[],
): { ok: true; value: EvidenceInclusion } | { ok: false; problem: string } {
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    return { ok: false, problem: 'not JSON' };
  }
  const answer = body as { checkpoint?: unknown; events?: unknown };
  if (!answer || typeof answer !== 'object') return { ok: false, problem: 'not an object' };
  if (typeof answer.checkpoint !== 'string' || answer.checkpoint === '') return { ok: false, problem: 'no checkpoint' };
  const note = verifyNote(answer.checkpoint, logKeys);
  if (!note.ok) return { ok: false, problem: `a checkpoint not signed by this log's keys (${note.problem})` };
  const checkpoint = parseCheckpoint(note.body);
  if (!checkpoint.ok) return { ok: false, problem: `a checkpoint that does not read (${checkpoint.problem})` };
  const { size, root } = checkpoint.value;
  if (!Array.isArray(answer.events) || answer.events.length !== eventIds.length)
    return { ok: false, problem: `${eventIds.length} events asked for, other than that many proofs given` };
  const events: EvidenceInclusion['events'] = [];
  for (const [i, item] of (answer.events as unknown[]).entries()) {
    const e = item as { eventId?: unknown; leafIndex?: unknown; leaf?: unknown; proof?: unknown };
    if (
      !e ||
      typeof e !== 'object' ||
      typeof e.eventId !== 'string' ||
      e.eventId.toLowerCase() !== eventIds[i]!.toLowerCase()
    )
      return { ok: false, problem: `events[${i}] is not the proof of ${eventIds[i]}` };
    if (typeof e.leafIndex !== 'number' || !Number.isSafeInteger(e.leafIndex) || e.leafIndex < 0)
      return { ok: false, problem: `events[${i}].leafIndex is not a leaf number` };
    if (typeof e.leaf !== 'string' || !HEX64.test(e.leaf))
      return { ok: false, problem: `events[${i}].leaf is not a SHA-256 hash in hex` };
    if (
      !Array.isArray(e.proof) ||
      e.proof.length > 64 ||
      !e.proof.every((h) => typeof h === 'string' && BASE64_HASH.test(h))
    )
      return { ok: false, problem: `events[${i}].proof is not a list of base64 SHA-256 hashes` };
    const proof = e.proof as string[];
    const verified = verifyInclusion(
      hashLeaf(Buffer.from(e.leaf, 'hex')),
      e.leafIndex,
      size,
      proof.map((p) => Buffer.from(p, 'base64')),
      root,
    );
    if (!verified.ok) return { ok: false, problem: `events[${i}]: ${verified.problem}` };
    events.push({ eventId: eventIds[i]!, leafIndex: e.leafIndex, leaf: e.leaf, proof });
  }
  return { ok: true, value: { checkpoint: answer.checkpoint, events } };
}
