/**
 * Where an evidence pack's inclusion proofs come from: the tree this process keeps (the embedded log's, or the one
 * the worker follows), or, on an API instance beside EventStoreDB, which keeps no tree, the worker that does
 * (TRANSPARENCY_WORKER_URL), asked with the caller's own token. What comes back is checked before a pack carries it.
 */
import { ProblemError } from '../../shared/problem/problem';
import { treeBehind, type EvidenceInclusion, type TransparencyLog } from './transparency-log';

export type { EvidenceInclusion } from './transparency-log';

/** The proofs of a case's events, by id, to one signed checkpoint. */
export interface EvidenceProofs {
  /** `authorization`: the caller's own header, for a proofs service in another process; never stored. */
  evidenceInclusion(eventIds: readonly string[], caller: { authorization?: string }): Promise<EvidenceInclusion>;
}

/** The tree this process keeps. An event it does not hold yet (a followed tree trails its log) is a moment's wait. */
export function localEvidenceProofs(log: TransparencyLog): EvidenceProofs {
  return {
    async evidenceInclusion(eventIds) {
      const outcome = log.evidenceInclusion(eventIds);
      if (!outcome.ok) throw treeBehind(outcome.problem);
      return { checkpoint: outcome.checkpoint, events: outcome.events };
    },
  };
}

/** The route the worker serves them on (TransparencyController). */
export const EVIDENCE_PROOFS_PATH = '/api/transparency/evidence-proofs';

const HEX64 = /^[0-9a-f]{64}$/;
const BASE64_HASH = /^[A-Za-z0-9+/]{43}=$/;

/**
 * The worker's proofs, over HTTP. Every way it can fail has its own answer: not followed yet and a worker that is
 * down or slow are 503 with Retry-After (nothing is wrong with the request); a worker that refuses the caller's token,
 * fails, or answers something other than the proofs asked for is 502 (the deployment is wrong, not the request).
 */
export class RemoteEvidenceProofs implements EvidenceProofs {
  constructor(
    private readonly workerUrl: string,
    private readonly timeoutMs = 10_000,
  ) {}

  async evidenceInclusion(eventIds: readonly string[], caller: { authorization?: string }): Promise<EvidenceInclusion> {
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
        body: JSON.stringify({ eventIds }),
        redirect: 'error',
        signal: AbortSignal.timeout(this.timeoutMs),
      });
      text = await response.text();
    } catch (error) {
      throw new ProblemError(
        503,
        'transparency-unavailable',
        "The log's proofs cannot be had now",
        `the worker that keeps the log's tree (${this.workerUrl}) did not answer: ${reasonOf(error)}. Ask again in a moment.`,
        undefined,
        {},
        { 'retry-after': '5' },
      );
    }
    // The worker's tree trails the log: events this API has just read may not be in it yet.
    if (response.status === 404 || response.status === 503)
      throw treeBehind(
        `the worker that keeps the log's tree (${this.workerUrl}) does not hold this case's newest events yet (${problemText(text)})`,
      );
    if (response.status === 401 || response.status === 403)
      throw workerProblem(
        'transparency-refused',
        `the worker (${this.workerUrl}) refused this caller's token with ${response.status} (${problemText(text)}): the API instances and the worker must accept the same tokens (AUTH_*)`,
      );
    if (!response.ok)
      throw workerProblem(
        'transparency-failed',
        `the worker (${this.workerUrl}) answered ${response.status} (${problemText(text)})`,
      );
    const answer = readInclusionAnswer(text, eventIds);
    if (answer.ok) return answer.value;
    throw workerProblem(
      'transparency-mismatch',
      `the worker (${this.workerUrl}) answered something other than the proofs asked for: ${answer.problem}`,
    );
  }
}

function workerProblem(code: string, detail: string): ProblemError {
  return new ProblemError(502, code, "The log's proofs could not be had from the worker", detail);
}

function reasonOf(error: unknown): string {
  // fetch's own failures are TypeErrors with the socket's error as their cause; its time-out is a DOMException.
  const cause = (error as { cause?: { code?: string; message?: string; name?: string } } | null)?.cause;
  const name = (error as { name?: string } | null)?.name ?? cause?.name;
  if (name === 'TimeoutError' || name === 'AbortError' || cause?.name === 'TimeoutError') return 'no answer in time';
  return cause?.code ?? cause?.message ?? (error instanceof Error ? error.message : String(error));
}

/** A problem+json answer's detail (or its start), for the message that names what the worker said. */
function problemText(text: string): string {
  try {
    const body = JSON.parse(text) as { detail?: unknown; title?: unknown };
    const said = typeof body.detail === 'string' ? body.detail : typeof body.title === 'string' ? body.title : null;
    if (said) return said.slice(0, 300);
  } catch {
    // Not JSON: its start is named below.
  }
  return text.slice(0, 120) || 'no body';
}

/** The answer, checked member by member: one proof per event asked for, in that order, of the shapes a proof has. */
export function readInclusionAnswer(
  text: string,
  eventIds: readonly string[],
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
  if (!Array.isArray(answer.events) || answer.events.length !== eventIds.length)
    return { ok: false, problem: `${eventIds.length} events asked for, other than that many proofs given` };
  const events: EvidenceInclusion['events'] = [];
  for (const [i, item] of (answer.events as unknown[]).entries()) {
    const e = item as { eventId?: unknown; leafIndex?: unknown; leaf?: unknown; proof?: unknown };
    if (!e || typeof e !== 'object' || e.eventId !== eventIds[i])
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
    events.push({ eventId: e.eventId, leafIndex: e.leafIndex, leaf: e.leaf, proof: e.proof as string[] });
  }
  return { ok: true, value: { checkpoint: answer.checkpoint, events } };
}
