import { ArgumentsHost, Catch, ExceptionFilter, HttpException, Logger } from '@nestjs/common';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { randomUUID } from 'node:crypto';
import { AppendTooLargeError, EventLogUnavailableError, InvalidEventError, StorageDamagedError, StorageFullError, WrongExpectedRevisionError } from '../../modules/event-log/event-log.errors';
import { PROBLEM_CONTENT_TYPE, ProblemDetails, ProblemError, problemType } from '../../shared/problem/problem';

/** Turns every error into problem+json; never leaks a stack trace, logs 5xx with a correlation id. */
@Catch()
export class ProblemFilter implements ExceptionFilter {
  private readonly logger = new Logger('http');

  catch(exception: unknown, host: ArgumentsHost): void {
    const http = host.switchToHttp();
    const reply = http.getResponse<FastifyReply>();
    const request = http.getRequest<FastifyRequest>();
    const { problem, headers } = toProblem(exception, request?.url);
    // Storage faults are logged once when they start (StorageFaults), not with a stack per request.
    if (problem.status >= 500 && !isStorageFault(exception)) {
      // The request's id is the correlation id its answer's header carries (the caller's, when it sent a safe one).
      const correlationId = String(request?.id ?? randomUUID());
      problem.correlationId = correlationId;
      this.logger.error({ msg: 'unhandled error', correlationId, err: exception instanceof Error ? { message: exception.message, stack: exception.stack } : String(exception) });
    }
    for (const [name, value] of Object.entries(headers)) void reply.header(name, value);
    void reply.status(problem.status).header('content-type', PROBLEM_CONTENT_TYPE).send(problem);
  }
}

/** Seconds a client is asked to wait after a full disk refused its write. */
export const STORAGE_FULL_RETRY_AFTER_S = 30;

const isStorageFault = (exception: unknown): boolean =>
  exception instanceof StorageFullError || exception instanceof StorageDamagedError || /^SQLITE_(CORRUPT|NOTADB|FULL)/.test(String((exception as { code?: unknown })?.code ?? ''));

export function toProblem(exception: unknown, instance?: string): { problem: ProblemDetails; headers: Record<string, string> } {
  if (exception instanceof ProblemError) return { problem: exception.toProblem(instance), headers: exception.headers };
  const sqliteCode = String((exception as { code?: unknown })?.code ?? '');
  if (exception instanceof StorageFullError || sqliteCode === 'SQLITE_FULL') {
    return {
      problem: new ProblemError(503, 'storage-full', 'The server\'s storage is full', 'Nothing was written: the disk holding the event log is full. Try again later; the operator has been told.').toProblem(instance),
      headers: { 'retry-after': String(STORAGE_FULL_RETRY_AFTER_S) },
    };
  }
  if (exception instanceof StorageDamagedError || /^SQLITE_(CORRUPT|NOTADB)/.test(sqliteCode)) {
    return {
      problem: new ProblemError(503, 'storage-damaged', 'The server\'s storage is damaged', 'Nothing was written: the event log file is damaged and the service refuses to write to it until an operator repairs it.').toProblem(instance),
      headers: {},
    };
  }
  if (exception instanceof WrongExpectedRevisionError) {
    return {
      problem: new ProblemError(409, 'stale-revision', 'The case changed since you read it', exception.message, undefined, {
        expectedRevision: exception.expected,
        currentRevision: exception.actual,
      }).toProblem(instance),
      headers: {},
    };
  }
  if (exception instanceof AppendTooLargeError) {
    return {
      problem: new ProblemError(413, 'append-too-large', 'The request would write more than the event log accepts at once', exception.message, [
        { field: 'body', problem: exception.bytes === null ? 'too large for one append' : `${exception.bytes} bytes as the event log counts them`, allowed: `at most ${exception.limit} bytes per append (data + metadata + 2 per type character)` },
      ]).toProblem(instance),
      headers: {},
    };
  }
  if (exception instanceof EventLogUnavailableError) {
    return {
      problem: new ProblemError(503, 'event-log-unavailable', 'The event log did not answer in time', exception.message).toProblem(instance),
      headers: { 'retry-after': '1' },
    };
  }
  if (exception instanceof InvalidEventError) {
    return { problem: ProblemError.badRequest([{ field: exception.path, problem: exception.problem }]).toProblem(instance), headers: {} };
  }
  if (exception instanceof HttpException) {
    const status = exception.getStatus();
    const body = exception.getResponse();
    if (typeof body === 'object' && body !== null && 'type' in body && 'title' in body) {
      return { problem: { ...(body as ProblemDetails), status, ...(instance ? { instance } : {}) }, headers: {} };
    }
    const message = typeof body === 'string' ? body : String((body as { message?: unknown }).message ?? exception.message);
    if (status === 404) {
      return { problem: { type: problemType('not-found'), title: 'Not found', status, detail: message, ...(instance ? { instance } : {}) }, headers: {} };
    }
    return { problem: { type: problemType(`http-${status}`), title: exception.name, status, detail: message, ...(instance ? { instance } : {}) }, headers: {} };
  }
  const fastifyError = exception as { statusCode?: number; code?: string; message?: string };
  if (typeof fastifyError?.statusCode === 'number' && fastifyError.statusCode >= 400 && fastifyError.statusCode < 500) {
    // Fastify's own refusals (malformed JSON, body too large, bad content type).
    return {
      problem: {
        type: problemType(fastifyError.code ? fastifyError.code.toLowerCase().replace(/_/g, '-') : 'bad-request'),
        title: 'The request could not be read',
        status: fastifyError.statusCode,
        detail: fastifyError.message,
        ...(instance ? { instance } : {}),
      },
      headers: {},
    };
  }
  return {
    problem: { type: problemType('internal'), title: 'Internal error', status: 500, detail: 'The server failed; the error is logged under the correlation id.', ...(instance ? { instance } : {}) },
    headers: {},
  };
}
