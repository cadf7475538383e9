/**
 * The query parameters of the case read endpoints, each checked with what is wrong and what is allowed;
 * every error of a request is collected and answered once (400). The list cursor is opaque to clients:
 * base64url of the last row's sort key.
 */
import { checkIin } from '../../identity/domain/iin';
import { localDateProblem } from '../../calendar/domain/local-date';
import type { TimeZone } from '../../calendar/domain/time-zone';
import { dayNumber } from '../../calendar/domain/local-date';
import { parseInstantParam, parseIntegerParam, type ParamError, optionalParam, parseAfterParam } from '../../../shared/http/query-params';
import type { CaseStatus } from '../domain/case-state';

export type RawQuery = Record<string, string | string[] | undefined>;

export const DEFAULT_LIMIT = 50;
export const MAX_LIMIT = 500;
const STATUSES: readonly CaseStatus[] = ['open', 'completed', 'refused', 'cancelled'];
const CASE_ID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const ISO_UTC = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;

/** The newest-first sort key of the last row served. */
export interface CaseCursor {
  submittedAt: string;
  caseId: string;
}

export function encodeCursor(cursor: CaseCursor): string {
  return Buffer.from(JSON.stringify([cursor.submittedAt, cursor.caseId])).toString('base64url');
}

export function decodeCursor(value: string): CaseCursor | null {
  if (value.length > 200 || !/^[A-Za-z0-9_-]+$/.test(value)) return null;
  try {
    const parsed: unknown = JSON.parse(Buffer.from(value, 'base64url').toString('utf8'));
    if (!Array.isArray(parsed) || parsed.length !== 2) return null;
    const [submittedAt, caseId] = parsed as unknown[];
    if (typeof submittedAt !== 'string' || !ISO_UTC.test(submittedAt) || Number.isNaN(Date.parse(submittedAt))) return null;
    if (typeof caseId !== 'string' || !CASE_ID.test(caseId)) return null;
    return { submittedAt, caseId };
  } catch {
    return null;
  }
}

/** One value of a parameter; a parameter given twice is an error, not a silent pick. */
function single(query: RawQuery, name: string, errors: ParamError[]): string | undefined {
  const value = query[name];
  if (Array.isArray(value)) {
    errors.push({ field: `query.${name}`, problem: `is given ${value.length} times`, allowed: 'one value' });
    return undefined;
  }
  return value;
}

function unknownParams(query: RawQuery, known: readonly string[], errors: ParamError[]): void {
  for (const name of Object.keys(query)) {
    if (!known.includes(name)) errors.push({ field: `query.${name}`, problem: 'is not a parameter of this endpoint', allowed: known.join(', ') });
  }
}

/** `after`: the log position a client wrote at, to read its own writes. */
function parseAfter(query: RawQuery, errors: ParamError[]): number | undefined {
  return optionalParam(single(query, 'after', errors), parseAfterParam, errors);
}

export interface CaseReadParams {
  after?: number;
}

export function parseCaseReadParams(query: RawQuery): { params: CaseReadParams; errors: ParamError[] } {
  const errors: ParamError[] = [];
  unknownParams(query, ['after'], errors);
  const after = parseAfter(query, errors);
  return { params: { ...(after !== undefined ? { after } : {}) }, errors };
}

export interface CaseSlaParams {
  after?: number;
  asOf?: Date;
}

export function parseCaseSlaParams(query: RawQuery): { params: CaseSlaParams; errors: ParamError[] } {
  const errors: ParamError[] = [];
  unknownParams(query, ['after', 'asOf'], errors);
  const after = parseAfter(query, errors);
  const asOf = optionalParam(single(query, 'asOf', errors), (v) => parseInstantParam('query.asOf', v), errors);
  return { params: { ...(after !== undefined ? { after } : {}), ...(asOf ? { asOf } : {}) }, errors };
}

export interface CaseListParams {
  after?: number;
  serviceId?: string;
  status?: CaseStatus;
  unit?: string;
  assignee?: string;
  applicantIin?: string;
  submittedFrom?: Date;
  submittedTo?: Date;
  limit: number;
  cursor?: CaseCursor;
}

const LIST_PARAMS = ['after', 'serviceId', 'status', 'unit', 'assignee', 'applicantIin', 'submittedFrom', 'submittedTo', 'limit', 'cursor'] as const;

/**
 * `submittedFrom` / `submittedTo` take an instant with an offset, or a date (YYYY-MM-DD, Asia/Almaty)
 * meaning the whole day: from its start, to its end. Both ends are inclusive.
 */
function parseBound(field: string, value: string, end: 'from' | 'to', zone: TimeZone, errors: ParamError[]): Date | undefined {
  if (/^\d{4}-\d{2}-\d{2}$/.test(value)) {
    const problem = localDateProblem(value);
    if (problem) {
      errors.push({ field, problem, allowed: 'a real calendar date YYYY-MM-DD (Asia/Almaty), or an ISO 8601 instant with an offset' });
      return undefined;
    }
    // The end of a day is the instant the next one starts; `to` is inclusive, so one millisecond before.
    return end === 'from' ? zone.toInstant(value) : new Date(zone.endOfDay(dayNumber(value)).getTime() - 1);
  }
  const parsed = parseInstantParam(field, value);
  if (!parsed.ok) {
    errors.push({ ...parsed.error, allowed: `${parsed.error.allowed}, or a date YYYY-MM-DD (Asia/Almaty, the whole day)` });
    return undefined;
  }
  return parsed.value;
}

function parseText(query: RawQuery, name: string, maxLength: number, errors: ParamError[]): string | undefined {
  const value = single(query, name, errors);
  if (value === undefined) return undefined;
  if (value.length === 0 || value.length > maxLength) {
    errors.push({ field: `query.${name}`, problem: value.length === 0 ? 'is empty' : `has ${value.length} characters`, allowed: `1 to ${maxLength} characters` });
    return undefined;
  }
  return value;
}

export function parseCaseListParams(query: RawQuery, services: readonly string[], zone: TimeZone): { params: CaseListParams; errors: ParamError[] } {
  const errors: ParamError[] = [];
  unknownParams(query, LIST_PARAMS, errors);
  const params: CaseListParams = { limit: DEFAULT_LIMIT };
  const after = parseAfter(query, errors);
  if (after !== undefined) params.after = after;

  const serviceId = single(query, 'serviceId', errors);
  if (serviceId !== undefined) {
    if (services.includes(serviceId)) params.serviceId = serviceId;
    else errors.push({ field: 'query.serviceId', problem: `unknown service "${serviceId.slice(0, 100)}"`, allowed: services.join(', ') });
  }

  const status = single(query, 'status', errors);
  if (status !== undefined) {
    if ((STATUSES as readonly string[]).includes(status)) params.status = status as CaseStatus;
    else errors.push({ field: 'query.status', problem: `"${status.slice(0, 100)}" is not a case status`, allowed: STATUSES.join(', ') });
  }

  const unit = parseText(query, 'unit', 100, errors);
  if (unit !== undefined) params.unit = unit;
  const assignee = parseText(query, 'assignee', 200, errors);
  if (assignee !== undefined) params.assignee = assignee;

  const iin = single(query, 'applicantIin', errors);
  if (iin !== undefined) {
    const check = checkIin(iin);
    if (check.valid) params.applicantIin = iin;
    else errors.push({ field: 'query.applicantIin', problem: `is not a valid IIN: ${check.problem.message}`, allowed: '12 digits with a valid check digit' });
  }

  const from = single(query, 'submittedFrom', errors);
  if (from !== undefined) {
    const bound = parseBound('query.submittedFrom', from, 'from', zone, errors);
    if (bound) params.submittedFrom = bound;
  }
  const to = single(query, 'submittedTo', errors);
  if (to !== undefined) {
    const bound = parseBound('query.submittedTo', to, 'to', zone, errors);
    if (bound) params.submittedTo = bound;
  }
  if (params.submittedFrom && params.submittedTo && params.submittedFrom.getTime() > params.submittedTo.getTime()) {
    errors.push({ field: 'query.submittedTo', problem: `${params.submittedTo.toISOString()} is before submittedFrom ${params.submittedFrom.toISOString()}`, allowed: 'an instant or date not before submittedFrom' });
  }

  const limit = single(query, 'limit', errors);
  if (limit !== undefined) {
    const parsed = parseIntegerParam('query.limit', limit, 1, MAX_LIMIT);
    if (parsed.ok) params.limit = parsed.value;
    else errors.push(parsed.error);
  }

  const cursor = single(query, 'cursor', errors);
  if (cursor !== undefined) {
    const decoded = decodeCursor(cursor);
    if (decoded) params.cursor = decoded;
    else errors.push({ field: 'query.cursor', problem: 'is not a cursor this endpoint issued', allowed: 'the nextCursor of a previous page, unchanged' });
  }
  return { params, errors };
}
