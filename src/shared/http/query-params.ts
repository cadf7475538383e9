/**
 * Parsing of query and path parameters at the HTTP edge. Each parser returns the value or a
 * field error naming the parameter, what is wrong and what is allowed; callers collect every
 * error and answer 400 once.
 */
import { localDateProblem } from '../dates/local-date';

export interface ParamError {
  field: string;
  problem: string;
  allowed?: string;
}

export type Parsed<T> = { ok: true; value: T } | { ok: false; error: ParamError };

const INSTANT = /^(\d{4}-\d{2}-\d{2})T([01]\d|2[0-3]):[0-5]\d(:[0-5]\d(\.\d{1,9})?)?(Z|[+-]([01]\d|2[0-3]):[0-5]\d)$/;

export function parseLocalDateParam(field: string, value: string | undefined): Parsed<string> {
  if (value === undefined || value === '') return { ok: false, error: { field, problem: 'is required', allowed: 'a date YYYY-MM-DD' } };
  const problem = localDateProblem(value);
  return problem ? { ok: false, error: { field, problem, allowed: 'a real calendar date YYYY-MM-DD' } } : { ok: true, value };
}

/** An ISO 8601 instant with an explicit offset (Z or ±HH:MM): a local time without one is ambiguous. */
export function parseInstantParam(field: string, value: string | undefined): Parsed<Date> {
  const allowed = 'an ISO 8601 instant with an offset, e.g. 2024-05-03T10:00:00+05:00 or 2024-05-03T05:00:00Z';
  if (value === undefined || value === '') return { ok: false, error: { field, problem: 'is required', allowed } };
  const match = INSTANT.exec(value);
  if (!match) {
    const problem = /^\d{4}-\d{2}-\d{2}T[\d:.]+$/.test(value) ? 'has no offset, so the instant is ambiguous' : 'is not an ISO 8601 instant';
    return { ok: false, error: { field, problem, allowed } };
  }
  const dateProblem = localDateProblem(match[1]);
  if (dateProblem) return { ok: false, error: { field, problem: dateProblem, allowed } };
  return { ok: true, value: new Date(value) };
}

export function parseIntegerParam(field: string, value: string | undefined, min: number, max: number): Parsed<number> {
  const allowed = `a whole number from ${min} to ${max}`;
  if (value === undefined || value === '') return { ok: false, error: { field, problem: 'is required', allowed } };
  if (!/^-?\d+$/.test(value)) return { ok: false, error: { field, problem: `"${value}" is not a whole number`, allowed } };
  const n = Number(value);
  if (n < min) return { ok: false, error: { field, problem: `${n} is less than ${min}`, allowed } };
  if (n > max) return { ok: false, error: { field, problem: `${n} is more than ${max}`, allowed } };
  return { ok: true, value: n };
}

/** `after`: the log position a client wrote at, to read its own writes. */
export function parseAfterParam(value: string | undefined): Parsed<number> {
  const parsed = parseIntegerParam('query.after', value, 0, Number.MAX_SAFE_INTEGER);
  return parsed.ok ? parsed : { ok: false, error: { ...parsed.error, allowed: `${parsed.error.allowed}: the position returned by a command (POST /api/cases…)` } };
}

/** An optional parameter: absent gives undefined; a bad value adds its error to the list and gives undefined. */
export function optionalParam<T>(value: string | undefined, parse: (value: string) => Parsed<T>, errors: ParamError[]): T | undefined {
  if (value === undefined) return undefined;
  const parsed = parse(value);
  if (parsed.ok) return parsed.value;
  errors.push(parsed.error);
  return undefined;
}
