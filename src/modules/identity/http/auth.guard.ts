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
@Injectable()
export class AuthGuard implements CanActivate {
  constructor(
    @Inject(TOKEN_VERIFIER) private readonly verifier: TokenVerifier,
    private readonly reflector: Reflector,
  ) {}

  async canActivate(context: ExecutionContext): Promise<boolean> {
    if (context.getType() !== 'http') return true;
    const request = context
      .switchToHttp()
      .getRequest<{ headers: Record<string, string | undefined>; principal?: Principal }>();
    if (this.reflector.getAllAndOverride<boolean>(PUBLIC_ROUTE, [context.getHandler(), context.getClass()]))
      return true;
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
    const roles = this.reflector.getAllAndOverride<Role[] | undefined>(REQUIRED_ROLES, [
      context.getHandler(),
      context.getClass(),
    ]);
    if (roles) assertRoles(request.principal, roles);
    if (this.reflector.getAllAndOverride<boolean>(WRITES, [context.getHandler(), context.getClass()]))
      assertCanWrite(request.principal);
    return true;
  }
}
