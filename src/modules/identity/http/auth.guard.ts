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

/**
 * Deny by default: every route served by a controller needs a verified bearer token unless its handler or
 * controller is marked @Public(). Decided on the matched route only, never on the URL: the router decodes
 * and normalises paths (`/%61pi/…` reaches `/api/…`), so any test on the URL text can be walked around.
 */
/** What a route's decorators ask of its caller. */
interface RoutePolicy {
  isPublic: boolean;
  roles: Role[] | undefined;
  writes: boolean;
}

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
    if (!policy) {
      const targets = [handler, controller];
      policy = {
        isPublic: Boolean(this.reflector.getAllAndOverride<boolean>(PUBLIC_ROUTE, targets)),
        roles: this.reflector.getAllAndOverride<Role[] | undefined>(REQUIRED_ROLES, targets),
        writes: Boolean(this.reflector.getAllAndOverride<boolean>(WRITES, targets)),
      };
      byHandler.set(handler, policy);
    }
    return policy;
  }

  async canActivate(context: ExecutionContext): Promise<boolean> {
    if (context.getType() !== 'http') return true;
    const request = context
      .switchToHttp()
      .getRequest<{ headers: Record<string, string | undefined>; principal?: Principal }>();
    const policy = this.policyOf(context);
    if (policy.isPublic) return true;
    const header = request.headers['authorization'];
    if (!header)
      throw unauthenticated(
        'no Authorization header; send "Authorization: Bearer <token>" (npm run cli -- mint-token makes one locally)',
      );
    const match = /^Bearer\s+(\S+)$/i.exec(header);
    if (!match) throw unauthenticated('the Authorization header must be "Bearer <token>"');
    try {
      request.principal = await this.verifier.verify(match[1]);
    } catch (error) {
      if (error instanceof AuthenticationError) throw unauthenticated(error.reason);
      throw error;
    }
    if (policy.roles) assertRoles(request.principal, policy.roles);
    if (policy.writes) assertCanWrite(request.principal);
    return true;
  }
}
