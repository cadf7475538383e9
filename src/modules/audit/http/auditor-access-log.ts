/**
 * Every request of a caller with the auditor role is itself recorded, durably, before its answer leaves:
 * who (id, name, roles, unit), what (method, path, status) and when, as an `AuditorAccess` event in the
 * day's `access-log-YYYY-MM-DD` stream, and as a log line.
 *
 * The access log is chained like a case: each day's stream is sealed event by event (previousHash, hash), so
 * `verify` checks it and every access is a leaf of the log's Merkle tree under its sealed hash. Accesses that
 * arrive while one is being written are sealed together and appended as one (one commit).
 *
 * It is a fastify onSend hook rather than a Nest interceptor: a global interceptor puts an rxjs pipeline
 * around every request of every caller, while this costs other callers one property read. It also sees
 * the status actually sent, refusals by guards included.
 */
import type { Logger } from 'pino';
import type { EventLog } from '../../event-log/event-log.port';
import { SealedStreamWriter } from '../../transparency/sealed-stream-writer';
import { readerOf, type Principal } from '../../identity/domain/principal';
import { PROBLEM_CONTENT_TYPE, ProblemError } from '../../../shared/problem/problem';
import { StorageDamagedError, StorageFullError } from '../../event-log/event-log.errors';
import { eventLogProblem } from '../../event-log/event-log.problems';
import { maskUrl } from '../../../shared/logging/mask-iins';

export const ACCESS_LOG_PREFIX = 'access-log-';
export const AUDITOR_ACCESS = 'AuditorAccess';

interface RequestLike {
  id: string;
  method: string;
  url: string;
  routeOptions?: { url?: string };
  principal?: Principal;
}

interface ReplyLike {
  statusCode: number;
  code(status: number): unknown;
  header(name: string, value: string): unknown;
}

/** The part of a fastify instance the access log needs. */
export interface HookHost {
  addHook(
    name: 'onSend',
    hook: (
      request: RequestLike,
      reply: ReplyLike,
      payload: unknown,
      done: (error: Error | null, payload?: unknown) => void,
    ) => void,
  ): unknown;
}

export class AuditorAccessLog {
  private readonly writer: SealedStreamWriter;

  constructor(
    log: EventLog,
    private readonly logger: Logger,
  ) {
    this.writer = new SealedStreamWriter(log);
  }

  install(fastify: HookHost): void {
    // A callback hook: every other caller's answer passes on at once, without a promise and a turn of the queue each.
    fastify.addHook('onSend', (request, reply, payload, done) => {
      const principal = request.principal;
      if (!principal?.roles.includes('auditor')) return done(null, payload);
      this.recorded(request, reply, principal, payload).then(
        (answer) => done(null, answer),
        (error: Error) => done(error),
      );
    });
  }

  /** The auditor's answer once the access is recorded, or the refusal that replaces it. */
  private async recorded(request: RequestLike, reply: ReplyLike, principal: Principal, payload: unknown) {
    try {
      await this.record(request, principal, reply.statusCode);
      return payload;
    } catch (error) {
      // An auditor's read that cannot be recorded is not answered.
      if (error instanceof StorageFullError || error instanceof StorageDamagedError) {
        // Logged once by the storage fault monitor; the auditor is told to come back, not that the server failed.
        const { problem, headers } = eventLogProblem(error, request.url)!;
        reply.code(problem.status);
        for (const [name, value] of Object.entries(headers)) reply.header(name, value);
        reply.header('content-type', PROBLEM_CONTENT_TYPE);
        return JSON.stringify({ ...problem, correlationId: request.id });
      }
      this.logger.error(
        { err: error, auditor: principal.id, path: maskUrl(request.url), correlationId: request.id },
        'auditor access could not be recorded; the answer is withheld',
      );
      const problem = new ProblemError(
        500,
        'access-not-recorded',
        'The access could not be recorded',
        "the auditors' access log could not record this request, so it is not answered; the error is logged under the correlation id",
      );
      reply.code(500);
      reply.header('content-type', PROBLEM_CONTENT_TYPE);
      return JSON.stringify({ ...problem.toProblem(request.url), correlationId: request.id });
    }
  }

  private async record(request: RequestLike, principal: Principal, status: number): Promise<void> {
    const at = new Date();
    // The log keeps what it records for ever: an IIN in the URL (a list by applicantIin, however its name and digits are
    // written, or one typed as a path segment) is recorded masked (maskUrl). The URL is kept, not only the route: it
    // says which case was read and by which filters.
    const entry = {
      method: request.method,
      path: maskUrl(request.url),
      route: request.routeOptions?.url ?? null,
      status,
    };
    await this.writer.append(`${ACCESS_LOG_PREFIX}${at.toISOString().slice(0, 10)}`, {
      type: AUDITOR_ACCESS,
      data: entry,
      metadata: {
        actor: readerOf(principal),
        occurredAt: at.toISOString(),
        recordedAt: at.toISOString(),
        correlationId: request.id,
      },
    });
    this.logger.info({ auditor: principal.id, ...entry, correlationId: request.id }, 'auditor access');
  }
}
