/**
 * Per-caller request limits and connection caps of the API (issue 14.8: any applicant could file 500–1,000 cases/s
 * for ever). Requests are counted per verified principal (the bearer token's `sub`), never per address: callers
 * behind one gateway do not share a budget, and one caller cannot escape theirs by changing address. Requests
 * without a valid token are counted per address. Past the budget: 429 problem+json with Retry-After, before any
 * work is done. The counting is @fastify/rate-limit's (its in-memory store, per process).
 */
import rateLimit from '@fastify/rate-limit';
import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { PROBLEM_CONTENT_TYPE, ProblemError } from '../shared/problem/problem';
import type { Infrastructure } from './infrastructure';

type Limiter = (
  request: FastifyRequest,
) => Promise<{ isAllowed: boolean; isExceeded: boolean; max: number; ttlInSeconds: number }>;

/** The key a request is counted under: the verified principal, else the address. */
async function callerKey(infra: Infrastructure, request: FastifyRequest): Promise<string> {
  const match = /^Bearer\s+(\S+)$/i.exec(String(request.headers.authorization ?? ''));
  if (match) {
    try {
      // Verified tokens are remembered until they expire: this costs a map look-up, and the guard's check reuses it.
      return `principal:${(await infra.identity.verify(match[1]!)).id}`;
    } catch {
      /* not a valid token: the guard answers 401; count it by address */
    }
  }
  return `address:${request.ip}`;
}

export async function installLimits(app: NestFastifyApplication, infra: Infrastructure): Promise<void> {
  const { requestsPerMinute, maxConnections } = infra.config.limits;
  if (maxConnections > 0) app.getHttpServer().maxConnections = maxConnections;
  if (requestsPerMinute <= 0) return;
  await app.register(rateLimit as never, { global: false });
  const fastify = app.getHttpAdapter().getInstance() as unknown as {
    createRateLimit(options: object): Limiter;
    addHook: (name: 'onRequest', hook: (request: FastifyRequest, reply: FastifyReply) => Promise<unknown>) => void;
  };
  const limiter = fastify.createRateLimit({
    max: requestsPerMinute,
    timeWindow: 60_000,
    keyGenerator: (request: FastifyRequest) => callerKey(infra, request),
  });
  fastify.addHook('onRequest', async (request, reply) => {
    const outcome = await limiter(request);
    if (outcome.isAllowed || !outcome.isExceeded) return;
    const retryAfter = Math.max(1, outcome.ttlInSeconds);
    const problem = new ProblemError(
      429,
      'rate-limited',
      'Too many requests',
      `requests: at most ${outcome.max} per minute per caller; try again in ${retryAfter} s`,
      undefined,
      {
        limit: outcome.max,
        windowSeconds: 60,
        retryAfterSeconds: retryAfter,
      },
    ).toProblem(request.url.split('?')[0]);
    return reply
      .code(429)
      .header('retry-after', String(retryAfter))
      .header('content-type', PROBLEM_CONTENT_TYPE)
      .send(problem);
  });
}
