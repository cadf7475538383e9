/**
 * class-validator constraints for query and path parameters (which arrive as text), each one constraint per
 * parameter so a bad value gets one problem, with what is allowed (`context.allowed`, read by the validation pipe).
 * The wording is the API's: tests and clients match on it.
 */
import { Transform } from 'class-transformer';
import { ValidateBy, type ValidationArguments } from 'class-validator';
import { dayNumber, localDateProblem } from '../dates/local-date';
import { UNIT_ID, UNIT_ID_ALLOWED } from '../unit-id';

const INSTANT = /^(\d{4}-\d{2}-\d{2})T([01]\d|2[0-3]):[0-5]\d(:[0-5]\d(\.\d{1,9})?)?(Z|[+-]([01]\d|2[0-3]):[0-5]\d)$/;
const LOCAL_DATE = /^\d{4}-\d{2}-\d{2}$/;
export const INSTANT_ALLOWED =
  'an ISO 8601 instant with an offset, e.g. 2024-05-03T10:00:00+05:00 or 2024-05-03T05:00:00Z';
/** What a bare date means wherever a parameter takes one: the working calendar's zone (data/calendars/KZ.yaml). */
export const DATE_ZONE_NOTE = "a date YYYY-MM-DD means that day in Asia/Almaty, the working calendar's zone";

const text = (value: unknown) => String(value).slice(0, 100);
/** A required parameter left out reads as missing, whatever the constraint. */
const missing = (value: unknown): string | null => (value === undefined ? 'is required' : null);

/** The problem with an instant-with-offset parameter, or null. */
export function instantProblem(value: string): string | null {
  const match = INSTANT.exec(value);
  if (!match)
    return /^\d{4}-\d{2}-\d{2}T[\d:.]+$/.test(value)
      ? 'has no offset, so the instant is ambiguous'
      : 'is not an ISO 8601 instant';
  return localDateProblem(match[1]!);
}

/** The problem with a parameter that takes a date (YYYY-MM-DD) or an instant with an offset, or null. */
export function dateOrInstantProblem(value: string): string | null {
  return LOCAL_DATE.test(value) ? localDateProblem(value) : instantProblem(value);
}

export const isLocalDate = (value: string): boolean => LOCAL_DATE.test(value);

/** A whole number from min to max; the text is turned into a number when it is one (class-transformer). */
export function WholeNumber(min: number, max: number, allowedNote = ''): PropertyDecorator {
  const allowed = `a whole number from ${min} to ${max}${allowedNote}`;
  const validate = ValidateBy(
    {
      name: 'wholeNumber',
      validator: {
        validate: (value: unknown) =>
          typeof value === 'number' && Number.isSafeInteger(value) && value >= min && value <= max,
        defaultMessage: ({ value }: ValidationArguments) =>
          missing(value) ??
          (typeof value !== 'number'
            ? `"${text(value)}" is not a whole number`
            : value < min
              ? `${value} is less than ${min}`
              : `${value} is more than ${max}`),
      },
    },
    { context: { allowed } },
  );
  const transform = Transform(({ value }: { value: unknown }) =>
    typeof value === 'string' && /^-?\d{1,16}$/.test(value) ? Number(value) : value,
  );
  return (target, key) => {
    transform(target, key as string);
    validate(target, key as string);
  };
}

/** Text of 1 to max characters. */
export function Text(max: number): PropertyDecorator {
  return ValidateBy(
    {
      name: 'text',
      validator: {
        validate: (value: unknown) => typeof value === 'string' && value.length >= 1 && value.length <= max,
        defaultMessage: ({ value }: ValidationArguments) =>
          missing(value) ??
          (typeof value !== 'string'
            ? 'is not text'
            : value.length === 0
              ? 'is empty'
              : `has ${value.length} characters`),
      },
    },
    { context: { allowed: `1 to ${max} characters` } },
  );
}

/** One of the values, named (`is not a case status`); `allowed` words them otherwise than comma-separated. */
export function OneOf(values: readonly string[], what: string, allowed = values.join(', ')): PropertyDecorator {
  return ValidateBy(
    {
      name: 'oneOf',
      validator: {
        validate: (value: unknown) => typeof value === 'string' && values.includes(value),
        defaultMessage: ({ value }: ValidationArguments) => missing(value) ?? `"${text(value)}" is not ${what}`,
      },
    },
    { context: { allowed } },
  );
}

/** Text matching a pattern, with its own problem and what is allowed. */
export function Pattern(pattern: RegExp, problem: (value: string) => string, allowed: string): PropertyDecorator {
  return ValidateBy(
    {
      name: 'pattern',
      validator: {
        validate: (value: unknown) => typeof value === 'string' && pattern.test(value),
        defaultMessage: ({ value }: ValidationArguments) => missing(value) ?? problem(text(value)),
      },
    },
    { context: { allowed } },
  );
}

/** A unit of the provider, as filings and filters name it (unit-id.ts). */
export const UnitId = (): PropertyDecorator => Pattern(UNIT_ID, () => 'is not a unit id', UNIT_ID_ALLOWED);

/** A check of the whole value that names its own problem (null: fine). */
export function Checked(
  check: (value: string) => string | null,
  allowed: string | ((value: unknown) => string),
): PropertyDecorator {
  return ValidateBy(
    {
      name: 'checked',
      validator: {
        validate: (value: unknown) => typeof value === 'string' && check(value) === null,
        defaultMessage: ({ value }: ValidationArguments) =>
          missing(value) ?? (typeof value === 'string' ? check(value)! : 'is not text'),
      },
    },
    { context: { allowed } },
  );
}

/** A calendar date YYYY-MM-DD. */
export const LocalDate = (): PropertyDecorator =>
  Checked(
    (value) => (LOCAL_DATE.test(value) ? localDateProblem(value) : `"${text(value)}" is not a date YYYY-MM-DD`),
    'a real calendar date YYYY-MM-DD',
  );

/** An instant with an explicit offset (Z or ±HH:MM): a local time without one is ambiguous. */
export const Instant = (): PropertyDecorator => Checked(instantProblem, INSTANT_ALLOWED);

/** The start and end of a local day in the working calendar's zone (its TimeZone). */
export interface DayBounds {
  toInstant(date: string): Date;
  endOfDay(day: number): Date;
}

/**
 * The instant a DateOrInstant parameter names: an instant with an offset as it is; a date as the start or the
 * inclusive end of that day in the calendar's zone (the instant the next day starts, less one millisecond).
 */
export function instantOfParameter(value: string, zone: DayBounds, end: 'start' | 'end'): Date {
  if (!LOCAL_DATE.test(value)) return new Date(value);
  return end === 'start' ? zone.toInstant(value) : new Date(zone.endOfDay(dayNumber(value)).getTime() - 1);
}

/** A date (that day in Asia/Almaty) or an instant with an offset. */
export const DateOrInstant = (): PropertyDecorator =>
  Checked(dateOrInstantProblem, (value) =>
    typeof value === 'string' && LOCAL_DATE.test(value)
      ? 'a real calendar date YYYY-MM-DD (Asia/Almaty), or an ISO 8601 instant with an offset'
      : `${INSTANT_ALLOWED}, or a date YYYY-MM-DD (Asia/Almaty, the whole day)`,
  );
