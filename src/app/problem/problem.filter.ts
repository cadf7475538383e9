import { ArgumentsHost, Catch, ExceptionFilter, HttpException, Logger } from '@nestjs/common';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { randomUUID } from 'node:crypto';
import { eventLogProblem, isStorageFault } from '../../modules/event-log/event-log.problems';
import {
  PROBLEM_CONTENT_TYPE,
  ProblemDetails,
  ProblemError,
  problemType,
  type ProblemAnswer,
} from '../../shared/problem/problem';

/** Turns every error into problem+json; never leaks a stack trace, logs 5xx with a correlation id. */
@Catch()
export class ProblemFilter implements ExceptionFilter {
  catch(exception: unknown, host: ArgumentsHost): void {
    const http = host.switchToHttp();
    answerProblem(exception, http.getRequest<FastifyRequest>(), http.getResponse<FastifyReply>());
  }
}

const logger = new Logger('http');

/** Answers an error as problem+json: the filter's work, shared with the routes answered outside Nest's pipeline. */
export function answerProblem(exception: unknown, request: FastifyRequest | undefined, reply: FastifyReply): void {
  const { problem, headers } = toProblem(exception, request?.url);
  // Storage faults are logged once when they start (StorageFaults), not with a stack per request.
  if (problem.status >= 500 && !isStorageFault(exception)) {
    // The request's id is the correlation id its answer's header carries (the caller's, when it sent a safe one).
    const correlationId = String(request?.id ?? randomUUID());
    problem.correlationId = correlationId;
    logger.error({
      msg: 'unhandled error',
      correlationId,
      err: exception instanceof Error ? { message: exception.message, stack: exception.stack } : String(exception),
    });
  }
  for (const [name, value] of Object.entries(headers)) void reply.header(name, value);
  void reply.status(problem.status).header('content-type', PROBLEM_CONTENT_TYPE).send(problem);
}

export function toProblem(exception: unknown, instance?: string): ProblemAnswer {
  if (exception instanceof ProblemError) return { problem: exception.toProblem(instance), headers: exception.headers };
  const known = eventLogProblem(exception, instance);
  if (known) return known;
  if (exception instanceof HttpException) {
    const status = exception.getStatus();
    const body = exception.getResponse();
    if (typeof body === 'object' && body !== null && 'type' in body && 'title' in body) {
      return { problem: { ...(body as ProblemDetails), status, ...(instance ? { instance } : {}) }, headers: {} };
    }
    const message =
      typeof body === 'string' ? body : String((body as { message?: unknown }).message ?? exception.message);
    if (status === 404) {
      return {
        problem: {
          type: problemType('not-found'),
          title: 'Not found',
          status,
          detail: message,
          ...(instance ? { instance } : {}),
        },
        headers: {},
      };
    }
    return {
      problem: {
        type: problemType(`http-${status}`),
        title: exception.name,
        status,
        detail: message,
        ...(instance ? { instance } : {}),
      },
      headers: {},
    };
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
    problem: {
      type: problemType('internal'),
      title: 'Internal error',
      status: 500,
      detail: 'The server failed; the error is logged under the correlation id.',
      ...(instance ? { instance } : {}),
    },
    headers: {},
  };
}
