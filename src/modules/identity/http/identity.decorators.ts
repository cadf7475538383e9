import { createParamDecorator, SetMetadata, type ExecutionContext } from '@nestjs/common';
import { decodeJwt } from 'jose';
import { ProblemError } from '../../../shared/problem/problem';
import { ROLES, writeRefusal, type Principal, type Role } from '../domain/principal';

export const PUBLIC_ROUTE = 'identity:public';
export const REQUIRED_ROLES = 'identity:roles';
export const WRITES = 'identity:writes';

/** The route needs no token. */
export const Public = () => SetMetadata(PUBLIC_ROUTE, true);

/** The caller needs one of these roles; otherwise 403 naming them. */
export const RequireRoles = (...roles: Role[]) => SetMetadata(REQUIRED_ROLES, roles);

/** The route changes state: callers who may only read (auditors) get 403 before the body is even validated. */
export const Writes = () => SetMetadata(WRITES, true);

/** The verified caller of this request. */
export const CurrentPrincipal = createParamDecorator((_data: unknown, context: ExecutionContext): Principal => {
  const request = context.switchToHttp().getRequest<{ principal?: Principal }>();
  if (!request.principal)
    throw new ProblemError(401, 'unauthenticated', 'Authentication required', 'this route needs a bearer token');
  return request.principal;
});

/**
 * When the verified bearer token of this request expires (its `exp`; the verifier refuses a token that lives longer
 * than allowed), or null without one: a live stream ends then, as any later request would be refused.
 */
export const TokenExpiry = createParamDecorator((_data: unknown, context: ExecutionContext): Date | null => {
  const request = context
    .switchToHttp()
    .getRequest<{ headers: Record<string, string | undefined>; principal?: Principal }>();
  const match = /^Bearer\s+(\S+)$/i.exec(request.headers['authorization'] ?? '');
  if (!request.principal || !match) return null;
  const { exp } = decodeJwt(match[1]!);
  return typeof exp === 'number' ? new Date(exp * 1000) : null;
});

export function forbidden(detail: string, extensions: Record<string, unknown> = {}): ProblemError {
  return new ProblemError(403, 'forbidden', 'Not allowed', detail, undefined, extensions);
}

export function assertRoles(principal: Principal, roles: readonly Role[]): void {
  if (roles.length > 0 && !principal.roles.some((r) => roles.includes(r) || r === 'admin')) {
    throw forbidden(`needs one of the roles ${roles.join(', ')}; the caller has ${principal.roles.join(', ')}`, {
      requiredRoles: roles,
      callerRoles: principal.roles,
      requiredRoleLabels: roles.map((r) => ROLES[r]),
    });
  }
}

/** 403 unless the caller acts for this unit (auditors and admins are not bound to a unit). */
export function assertUnit(principal: Principal, unit: string): void {
  if (principal.unit !== unit && !principal.roles.some((r) => r === 'auditor' || r === 'admin')) {
    throw forbidden(`acts for unit "${principal.unit}"; this needs unit "${unit}"`, {
      requiredUnit: unit,
      callerUnit: principal.unit,
    });
  }
}

/** 403 for callers who may only read. */
export function assertCanWrite(principal: Principal): void {
  const refusal = writeRefusal(principal);
  if (refusal) throw forbidden(refusal, { callerRoles: principal.roles });
}
