/**
 * Who reads what of a case, as the regulations imply: the rule the read side answers with and the command side checks
 * its refusals against (a refusal must not tell a caller what the read side would withhold from them). Pure.
 */
import type { Principal } from '../../identity/domain/principal';
import { EXTERNAL_ROLES } from './case-rules';

/** Auditors and administrators read every unit's cases. */
export function readsEverything(principal: Principal): boolean {
  return principal.roles.some((r) => r === 'auditor' || r === 'admin');
}

/** Roles of the provider's own staff: bound to the unit they act for (not the applicant, the portal or another state body). */
export function staffRoles(principal: Principal): string[] {
  return principal.roles.filter((r) => r !== 'applicant' && r !== 'auditor' && r !== 'admin' && !EXTERNAL_ROLES.has(r));
}

/**
 * What cases a caller may read: auditors and administrators every case; the provider's staff (heads included) their
 * own unit's cases; applicants the cases filed with their own IIN; the e-government portal and other state bodies,
 * which are bound to no unit, only a case they act on (see mayRead) and no list. A caller with several roles reads the
 * union.
 */
export interface ReadScope {
  all: boolean;
  unit: string | null;
  iin: string | null;
}

export function readScope(principal: Principal): ReadScope {
  return {
    all: readsEverything(principal),
    unit: staffRoles(principal).length > 0 ? (principal.unit ?? null) : null,
    iin: principal.roles.includes('applicant') && principal.iin ? principal.iin : null,
  };
}

/** The applicant themself, staff of the case's own unit, auditors and admins see the IIN; everyone else a masked one. */
export function seesFullIin(principal: Principal, kase: { applicant: { iin: string }; unit: string }): boolean {
  const scope = readScope(principal);
  return (
    scope.all ||
    (scope.iin !== null && scope.iin === kase.applicant.iin) ||
    (scope.unit !== null && scope.unit === kase.unit)
  );
}
