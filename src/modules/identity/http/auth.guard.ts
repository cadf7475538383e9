import { Inject, Injectable, type CanActivate, type ExecutionContext } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { ProblemError } from '../../../shared/problem/problem';
import type { Principal, Role } from '../domain/principal';
import { AuthenticationError, type TokenVerifier } from '../token-verifier';
import { assertCanWrite, assertRoles, PUBLIC_ROUTE, REQUIRED_ROLES, WRITES } from './identity.decorators';

export const TOKEN_VERIFIER = Symbol('TOKEN_VERIFIER');

/**
 * A header value may hold visible ASCII only (RFC 9110 quoted-string; Node refuses anything outside Latin-1 and the
 * answer became a 500): the reason can quote a claim in any script, so the header gets an ASCII rendering and the
 * problem body the reason as it is.
 */
function headerSafe(text: string): string {
  return text.replace(/["\\]/g, "'").replace(/[^\x20-\x7e]/g, '?');
}

function unauthenticated(detail: string): ProblemError {
  return new ProblemError(
    401,
    'unauthenticated',
    'Authentication required',
    detail,
    undefined,
    {},
    { 'www-authenticate': `Bearer error="invalid_token", error_description="${headerSafe(detail)}"` },
  );
}

/** What a route's decorators ask of its caller. */
export interface RoutePolicy {
  isPublic: boolean;
  roles: Role[] | undefined;
  writes: boolean;
}

/** A route's policy as its handler's and controller's decorators declare it (the handler's win). */
export function routePolicy(reflector: Reflector, handler: Function, controller: Function): RoutePolicy {
  const targets = [handler, controller];
  return {
    isPublic: Boolean(reflector.getAllAndOverride<boolean>(PUBLIC_ROUTE, targets)),
    roles: reflector.getAllAndOverride<Role[] | undefined>(REQUIRED_ROLES, targets),
    writes: Boolean(reflector.getAllAndOverride<boolean>(WRITES, targets)),
  };
}

/**
 * Deny by default: the caller of a route that is not public must present a verified bearer token, and hold what
 * the route's policy asks. Sets the request's `principal` once the token is verified; throws the 401 or 403 problem.
 * The guard runs it for every controller route, and a route answered outside Nest's pipeline runs the same.
 */
export async function authenticate(
  request: { headers: Record<string, string | string[] | undefined>; principal?: Principal },
  policy: RoutePolicy,
  verifier: TokenVerifier,
): Promise<void> {
  return authenticateNow(request, policy, verifier);
}

/**
 * `authenticate` without a promise when the token was verified before and is still within its times (the verifier's
 * kept principals, each use checked against "exp" and "nbf"), so a caller that sends the same token with every
 * request pays no turn of the microtask queue for it; a promise otherwise. Throws (not rejects) a refusal it can
 * decide at once: the caller catches both.
 */
export function authenticateNow(
  request: { headers: Record<string, string | string[] | undefined>; principal?: Principal },
  policy: RoutePolicy,
  verifier: TokenVerifier,
): void | Promise<void> {
  if (policy.isPublic) return;
  const header = request.headers['authorization'];
  if (!header)
    throw unauthenticated(
      'no Authorization header; send "Authorization: Bearer <token>" (npm run cli -- mint-token makes one locally)',
    );
  const match = /^Bearer\s+(\S+)$/i.exec(header as string);
  if (!match) throw unauthenticated('the Authorization header must be "Bearer <token>"');
  const known = verifier.verifyKnown?.(match[1]!);
  if (known) return admit(request, known, policy);
  return verifier.verify(match[1]!).then(
    (principal) => admit(request, principal, policy),
    (error: unknown) => {
      throw error instanceof AuthenticationError ? unauthenticated(error.reason) : error;
    },
  );
}

function admit(request: { principal?: Principal }, principal: Principal, policy: RoutePolicy): void {
  // Known before the role checks: a refused caller is still who they are (an auditor's 403 is recorded).
  request.principal = principal;
  if (policy.roles) assertRoles(principal, policy.roles);
  if (policy.writes) assertCanWrite(principal);
}

/**
 * Deny by default: every route served by a controller needs a verified bearer token unless its handler or
 * controller is marked @Public(). Decided on the matched route only, never on the URL: the router decodes
 * and normalises paths (`/%61pi/…` reaches `/api/…`), so any test on the URL text can be walked around.
 */
@Injectable()
export class AuthGuard implements CanActivate {
  /**
   * Each route's policy, by controller and handler, read from the decorators' metadata the first time the route is
   * asked for: the metadata is fixed once the classes are loaded, and three look-ups of it on every request were a
   * few per cent of a small read.
   */
  private readonly policies = new WeakMap<Function, WeakMap<Function, RoutePolicy>>();

  constructor(
    @Inject(TOKEN_VERIFIER) private readonly verifier: TokenVerifier,
    private readonly reflector: Reflector,
  ) {}

  private policyOf(context: ExecutionContext): RoutePolicy {
    const handler = context.getHandler();
    const controller = context.getClass();
    let byHandler = this.policies.get(controller);
    if (!byHandler) this.policies.set(controller, (byHandler = new WeakMap()));
    let policy = byHandler.get(handler);
    if (!policy) byHandler.set(handler, (policy = routePolicy(this.reflector, handler, controller)));
    return policy;
  }

  async canActivate(context: ExecutionContext): Promise<boolean> {
    if (context.getType() !== 'http') return true;
    const request = context
      .switchToHttp()
      .getRequest<{ headers: Record<string, string | undefined>; principal?: Principal }>();
    await authenticate(request, this.policyOf(context), this.verifier);
    return true;
  }
}
