import { ArgumentsHost, Catch, ExceptionFilter, HttpException, Logger } from '@nestjs/common';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { randomUUID } from 'node:crypto';
import { STATUS_CODES } from 'node:http';
import { eventLogProblem, isStorageFault } from '../../modules/event-log/event-log.problems';
import { mongoUnavailable, StoreUnavailableError } from '../../shared/problem/store-unavailable';
import {
  bodyTooLarge,
  contentLengthMismatch,
  emptyBody,
  invalidJson,
  unsupportedMediaType,
} from '../../shared/problem/json-body';
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
  const { problem, headers } = toProblem(exception, request?.url, request?.headers);
  // Storage faults are logged once when they start (StorageFaults), not with a stack per request.
  if (problem.status >= 500 && !isStorageFault(exception)) {
    // The request's id is the correlation id its answer's header carries (the caller's, when it sent a safe one).
    const correlationId = String(request?.id ?? randomUUID());
    problem.correlationId = correlationId;
    // A 5xx the code answers on purpose (a read model behind, a disclosure not recorded) says what it is; only what
    // nothing expected is an error with its stack.
    if (exception instanceof ProblemError)
      logger.warn({ msg: 'refused with a server problem', type: problem.type, status: problem.status, correlationId });
    else if (mongoUnavailable(exception))
      logger.warn({
        msg: 'MongoDB did not answer',
        type: problem.type,
        status: problem.status,
        correlationId,
        err: { name: (exception as Error).name, message: (exception as Error).message },
      });
    else
      logger.error({
        msg: 'unhandled error',
        correlationId,
        err: exception instanceof Error ? { message: exception.message, stack: exception.stack } : String(exception),
      });
  }
  for (const [name, value] of Object.entries(headers)) void reply.header(name, value);
  void reply.status(problem.status).header('content-type', PROBLEM_CONTENT_TYPE).send(problem);
}

/** The refusals of fastify's request reading (the body's media type, size and JSON), as the problems they are. */
function readingProblem(
  error: { code?: string; statusCode?: number },
  headers: Record<string, string | string[] | undefined> | undefined,
): ProblemError | null {
  switch (error.code) {
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE': {
      const type = headers?.['content-type'];
      return unsupportedMediaType(Array.isArray(type) ? type.join(', ') : type);
    }
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return bodyTooLarge();
    case 'FST_ERR_CTP_INVALID_CONTENT_LENGTH':
      return contentLengthMismatch();
    // fastify's own JSON parser (the API reads JSON with parseJsonBody; a server without it still answers these).
    case 'FST_ERR_CTP_EMPTY_JSON_BODY':
      return emptyBody();
    case 'FST_ERR_CTP_INVALID_JSON_BODY':
      return invalidJson('or it holds a __proto__ or constructor.prototype key');
    default:
      return null;
  }
}

/** What an error answers: `headers` are the request's, for the refusals that name one (the body's media type). */
export function toProblem(
  exception: unknown,
  instance?: string,
  headers?: Record<string, string | string[] | undefined>,
): ProblemAnswer {
  if (exception instanceof ProblemError) return { problem: exception.toProblem(instance), headers: exception.headers };
  const known = eventLogProblem(exception, instance);
  if (known) return known;
  // A failover or a network fault under a read model or the key store: the service is unavailable for a moment.
  if (mongoUnavailable(exception)) {
    const unavailable = new StoreUnavailableError('The read store or the personal-data key store');
    return { problem: unavailable.toProblem(instance), headers: unavailable.headers };
  }
  // Nest's adapter hands fastify's 4xx refusals to the filters as HttpExceptions, the refusal as their cause.
  const reading = readingProblem(
    ((exception instanceof HttpException ? exception.cause : exception) ?? {}) as { code?: string },
    headers,
  );
  if (reading) return { problem: reading.toProblem(instance), headers: reading.headers };
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
    // Any other: titled by its status, never by the class that carried it.
    return {
      problem: {
        type: problemType(`http-${status}`),
        title: STATUS_CODES[status] ?? 'Error',
        status,
        detail: message,
        ...(instance ? { instance } : {}),
      },
      headers: {},
    };
  }
  const fastifyError = exception as { statusCode?: number; code?: string; message?: string };
  if (typeof fastifyError?.statusCode === 'number' && fastifyError.statusCode >= 400 && fastifyError.statusCode < 500) {
    // Fastify's other refusals, by their code.
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
