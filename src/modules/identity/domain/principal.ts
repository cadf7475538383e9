/** The authenticated caller and the roles the regulations name. Pure. */
import { checkIin } from './iin';
import { UNIT_ID, UNIT_ID_ALLOWED } from '../../../shared/unit-id';

export const ROLES = {
  applicant: { ru: 'Услугополучатель', kk: 'Көрсетілетін қызметті алушы' },
  'psc-operator': { ru: 'Оператор ЦОН', kk: 'ХҚКО операторы' },
  'registry-clerk': { ru: 'Сотрудник канцелярии', kk: 'Кеңсе қызметкері' },
  head: { ru: 'Руководитель', kk: 'Басшы' },
  employee: { ru: 'Сотрудник', kk: 'Қызметкер' },
  signatory: { ru: 'Уполномоченное лицо', kk: 'Уәкілетті тұлға' },
  'technical-secretary': { ru: 'Технический секретарь', kk: 'Техникалық хатшы' },
  'executive-secretary': { ru: 'Ответственный секретарь', kk: 'Жауапты хатшы' },
  'test-administrator': { ru: 'Администратор тестирования', kk: 'Тестілеу әкімшісі' },
  'test-operator': { ru: 'Оператор тестирования', kk: 'Тестілеу операторы' },
  'subject-commission': { ru: 'Предметная комиссия', kk: 'Пәндік комиссия' },
  'exam-commission': { ru: 'Экзаменационная комиссия', kk: 'Емтихан комиссиясы' },
  'admission-commission': { ru: 'Приемная комиссия', kk: 'Қабылдау комиссиясы' },
  'appeal-commission': { ru: 'Апелляционная комиссия', kk: 'Апелляциялық комиссия' },
  methodologist: { ru: 'Методист', kk: 'Әдіскер' },
  'institute-employee': { ru: 'Сотрудник Института', kk: 'Институт қызметкері' },
  'responsible-person': {
    ru: 'Ответственное лицо услугодателя',
    kk: 'Көрсетілетін қызметті берушінің жауапты тұлғасы',
  },
  'academic-programmes-centre': { ru: 'Центр академических программ', kk: 'Академиялық бағдарламалар орталығы' },
  department: { ru: 'Кафедра', kk: 'Кафедра' },
  institute: { ru: 'Институт услугодателя', kk: 'Көрсетілетін қызметті берушінің институты' },
  'international-office': { ru: 'Служба международного сотрудничества', kk: 'Халықаралық ынтымақтастық қызметі' },
  'teaching-staff': { ru: 'Профессорско-преподавательский состав', kk: 'Профессор-оқытушылар құрамы' },
  'state-body': { ru: 'Государственный орган', kk: 'Мемлекеттік орган' },
  'e-government-portal': { ru: 'Портал «электронного правительства»', kk: '«Электрондық үкімет» веб-порталы' },
  auditor: { ru: 'Аудитор', kk: 'Аудитор' },
  admin: { ru: 'Администратор системы', kk: 'Жүйе әкімшісі' },
} as const;

export type Role = keyof typeof ROLES;

export function isRole(value: string): value is Role {
  return Object.prototype.hasOwnProperty.call(ROLES, value);
}

export interface Principal {
  id: string;
  name: string;
  roles: Role[];
  /**
   * The provider's unit the caller acts for, e.g. a territorial department. Staff only: citizens signing in
   * through the e-government identity provider belong to no unit.
   */
  unit?: string;
  /** Applicants only. */
  iin?: string;
}

/**
 * A citizen: a caller who holds no role but `applicant` (signed in through the e-government identity provider), who
 * sees only cases filed with their own IIN, belongs to no unit, and whose token's subject may carry their IIN.
 */
export function isCitizen(principal: Pick<Principal, 'roles'>): boolean {
  return principal.roles.every((r) => r === 'applicant');
}

/**
 * The actor id acts record for the case's applicant acting on their own case (CASE_APPLICANT_ACTOR): no token may
 * carry it as its subject, or its acts and the applicant's would be one actor.
 */
export const APPLICANT_ACTOR_ID = 'applicant';

export type PrincipalResult = { ok: true; principal: Principal } | { ok: false; problem: string };

/** Checks the claims of a verified token and turns them into a principal, or says which claim is wrong. */
export function principalFromClaims(claims: Record<string, unknown>): PrincipalResult {
  const { sub, name, roles, unit, iin } = claims;
  if (typeof sub !== 'string' || sub === '') return { ok: false, problem: 'claim "sub" is missing' };
  if (sub === APPLICANT_ACTOR_ID)
    return {
      ok: false,
      problem: `claim "sub" is "${APPLICANT_ACTOR_ID}", which acts record for a case's applicant; the identity provider must name the caller otherwise`,
    };
  if (typeof name !== 'string' || name === '') return { ok: false, problem: 'claim "name" is missing' };
  if (!Array.isArray(roles) || roles.length === 0)
    return { ok: false, problem: 'claim "roles" must be a non-empty array of roles' };
  const unknown = roles.filter((r) => typeof r !== 'string' || !isRole(r));
  if (unknown.length > 0)
    return {
      ok: false,
      problem: `unknown role(s) ${unknown.map((r) => JSON.stringify(r)).join(', ')}; known: ${Object.keys(ROLES).join(', ')}`,
    };
  if (unit !== undefined && (typeof unit !== 'string' || unit === ''))
    return { ok: false, problem: 'claim "unit" must be a non-empty string' };
  if (typeof unit === 'string' && !UNIT_ID.test(unit))
    return { ok: false, problem: `claim "unit" is not a unit id: ${UNIT_ID_ALLOWED}` };
  // A citizen (only the applicant role) has no unit; everyone else acts for one of the provider's units.
  if (unit === undefined && !isCitizen({ roles: roles as Role[] }))
    return {
      ok: false,
      problem: `claim "unit" is missing: roles other than applicant (${(roles as string[]).filter((r) => r !== 'applicant').join(', ')}) act for a unit of the provider`,
    };
  if (iin !== undefined && typeof iin !== 'string') return { ok: false, problem: 'claim "iin" must be a string' };
  if ((roles as string[]).includes('applicant') && !iin)
    return { ok: false, problem: 'claim "iin" is required for the applicant role' };
  // Any token's IIN is checked, a staff member's too: a case's applicant is told from its staff by it, and an IIN
  // written another way (" 8801…", full-width digits, groups) let a civil servant act as staff on their own case.
  if (iin !== undefined) {
    const check = checkIin(iin);
    if (!check.valid) return { ok: false, problem: `claim "iin" is not a valid IIN: ${check.problem.message}` };
  }
  return {
    ok: true,
    principal: {
      id: sub,
      name,
      roles: roles as Role[],
      ...(unit !== undefined ? { unit } : {}),
      ...(iin ? { iin } : {}),
    },
  };
}

/** Why a principal may not act here, or null. Auditors read everything and write nothing. */
export function writeRefusal(principal: Principal): string | null {
  return principal.roles.every((r) => r === 'auditor') ? 'auditors read and never write' : null;
}

/** The reader as a record of their read names them (the auditors' access log, personal-data disclosures). */
export function readerOf(principal: Principal): { id: string; name: string; roles: string[]; unit?: string } {
  return {
    id: principal.id,
    name: principal.name,
    roles: principal.roles,
    ...(principal.unit !== undefined ? { unit: principal.unit } : {}),
  };
}
