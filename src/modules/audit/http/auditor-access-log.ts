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
import { WrongExpectedRevisionError } from '../../event-log/event-log.errors';
import { sealRecord } from '../../cases/domain/hash-chain';
import { sealedHashOf } from '../../transparency/domain/log-leaf';
import { readerOf, type Principal } from '../../identity/domain/principal';
import { PROBLEM_CONTENT_TYPE, ProblemError } from '../../../shared/problem/problem';
import { StorageDamagedError, StorageFullError } from '../../event-log/event-log.errors';
import { eventLogProblem } from '../../event-log/event-log.problems';
import { maskIinsDeep } from '../../../shared/logging/mask-iins';

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

interface PendingAccess {
  streamId: string;
  data: Record<string, unknown>;
  metadata: Record<string, unknown>;
  resolve(): void;
  reject(error: unknown): void;
}

/** Attempts at appending a batch when another writer (another API instance) extended the day's stream meanwhile. */
const MAX_ATTEMPTS = 5;

export class AuditorAccessLog {
  private pending: PendingAccess[] = [];
  private writing = false;
  /** The day stream's last revision and hash as this process last wrote it; read from the log when unknown. */
  private head: { streamId: string; revision: number; hash: string | null } | null = null;

  constructor(
    private readonly log: EventLog,
    private readonly logger: Logger,
  ) {}

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
        { err: error, auditor: principal.id, path: request.url, correlationId: request.id },
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
    // The log keeps what it records for ever: an IIN in the query (a list by applicantIin) is recorded masked.
    const entry = {
      method: request.method,
      path: maskIinsDeep(request.url) as string,
      route: request.routeOptions?.url ?? null,
      status,
    };
    await new Promise<void>((resolve, reject) => {
      this.pending.push({
        streamId: `${ACCESS_LOG_PREFIX}${at.toISOString().slice(0, 10)}`,
        data: entry,
        metadata: {
          actor: readerOf(principal),
          occurredAt: at.toISOString(),
          recordedAt: at.toISOString(),
          correlationId: request.id,
        },
        resolve,
        reject,
      });
      void this.drain();
    });
    this.logger.info({ auditor: principal.id, ...entry, correlationId: request.id }, 'auditor access');
  }

  private async drain(): Promise<void> {
    if (this.writing) return;
    this.writing = true;
    try {
      while (this.pending.length > 0) {
        const batch = this.pending;
        this.pending = [];
        const byStream = new Map<string, PendingAccess[]>();
        for (const access of batch) byStream.set(access.streamId, [...(byStream.get(access.streamId) ?? []), access]);
        for (const [streamId, accesses] of byStream) {
          try {
            await this.appendChained(streamId, accesses);
            for (const access of accesses) access.resolve();
          } catch (error) {
            for (const access of accesses) access.reject(error);
          }
        }
      }
    } finally {
      this.writing = false;
    }
  }

  private async appendChained(streamId: string, accesses: PendingAccess[]): Promise<void> {
    for (let attempt = 1; ; attempt++) {
      let head = this.head?.streamId === streamId ? this.head : null;
      if (!head) {
        const [last] = await this.log.readStream(streamId, { direction: 'backwards', maxCount: 1 });
        head = { streamId, revision: last ? last.revision : -1, hash: last ? sealedHashOf(last.metadata) : null };
      }
      let revision = head.revision;
      let previous = head.hash;
      const events = accesses.map((access) => {
        revision++;
        const sealed = sealRecord(
          { streamId, revision, type: AUDITOR_ACCESS, data: access.data, metadata: access.metadata },
          previous,
        );
        previous = sealed.hash;
        return { type: AUDITOR_ACCESS, data: sealed.data, metadata: sealed.metadata };
      });
      try {
        await this.log.append(streamId, events, head.revision < 0 ? 'no_stream' : head.revision);
        this.head = { streamId, revision, hash: previous };
        return;
      } catch (error) {
        this.head = null;
        if (!(error instanceof WrongExpectedRevisionError) || attempt >= MAX_ATTEMPTS) throw error;
      }
    }
  }
}
