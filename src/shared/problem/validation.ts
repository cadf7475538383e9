import type { ArgumentMetadata, PipeTransform } from '@nestjs/common';
import { plainToInstance } from 'class-transformer';
import { validateSync, type ValidationError } from 'class-validator';
import { ProblemError, type ProblemFieldError } from './problem';

function flatten(errors: ValidationError[], prefix = ''): ProblemFieldError[] {
  return errors.flatMap((error) => {
    const field = prefix ? `${prefix}.${error.property}` : error.property;
    const own = Object.values(error.constraints ?? {}).map((problem) => ({ field, problem }));
    return [...own, ...flatten(error.children ?? [], field)];
  });
}

/**
 * No request of this API nests deeper than a few levels; class-transformer and the event schemas walk a body
 * recursively, so a body nested thousands deep overflowed the stack (a 500) before anything could refuse it.
 */
export const MAX_BODY_DEPTH = 32;

/** Whether the value nests deeper than `max` objects or arrays; iterative, so no depth overflows it. */
function nestsDeeperThan(value: unknown, max: number): boolean {
  const stack: [unknown, number][] = [[value, 0]];
  while (stack.length > 0) {
    const [current, depth] = stack.pop()!;
    if (current === null || typeof current !== 'object') continue;
    if (depth >= max) return true;
    for (const child of Object.values(current)) if (child !== null && typeof child === 'object') stack.push([child, depth + 1]);
  }
  return false;
}

/**
 * Names of the object machinery: no field of this API is called so, and class-transformer throws on an object that
 * has one as its own key (a nested `{"constructor": " "}` answered 500).
 */
const RESERVED_KEYS: ReadonlySet<string> = new Set(['constructor', '__proto__', 'prototype']);

/** The dotted path of the first key named like the object machinery, or null. */
function reservedKeyPath(value: unknown): string | null {
  const stack: [unknown, string][] = [[value, '']];
  while (stack.length > 0) {
    const [current, path] = stack.pop()!;
    if (current === null || typeof current !== 'object') continue;
    for (const key of Object.keys(current)) {
      const at = path ? `${path}.${key}` : key;
      if (RESERVED_KEYS.has(key)) return at;
      stack.push([(current as Record<string, unknown>)[key], at]);
    }
  }
  return null;
}

/** A query parameter given more than once arrives as an array; every parameter of this API takes one value (lists are comma-separated). */
function refuseRepeatedParameters(value: unknown, name: string | undefined): void {
  const entries: [string, unknown][] = name !== undefined ? [[name, value]] : value && typeof value === 'object' ? Object.entries(value) : [];
  const errors = entries
    .filter(([, v]) => Array.isArray(v))
    .map(([key, v]) => ({ field: `query.${key}`, problem: `is given ${(v as unknown[]).length} times`, allowed: 'one value' }));
  if (errors.length > 0) throw ProblemError.badRequest(errors);
}

/** Parameter types that are not DTO classes: nothing to validate against. */
const PLAIN_TYPES: ReadonlySet<unknown> = new Set([String, Boolean, Number, Array, Object, Buffer, Date]);

/**
 * Request bodies typed with a class-validator DTO are turned into that class and validated; failures become one
 * 400 problem with an entry per field, and unknown fields are refused, not ignored. Validation runs
 * synchronously (no constraint here is asynchronous): Nest's ValidationPipe awaits every constraint through
 * promises, which took about a tenth of a command's time on the thread that answers requests.
 */
export class ProblemValidationPipe implements PipeTransform {
  transform(value: unknown, { metatype, type, data }: ArgumentMetadata): unknown {
    if (type === 'query') refuseRepeatedParameters(value, data);
    if (type === 'body' && nestsDeeperThan(value, MAX_BODY_DEPTH)) {
      const allowed = `JSON nested at most ${MAX_BODY_DEPTH} levels deep`;
      throw ProblemError.badRequest([{ field: 'body', problem: `is nested more than ${MAX_BODY_DEPTH} levels deep`, allowed }]);
    }
    const reserved = type === 'body' || type === 'query' ? reservedKeyPath(value) : null;
    if (reserved !== null) throw ProblemError.badRequest([{ field: `${type}.${reserved}`, problem: 'is not a field name this API takes', allowed: 'field names other than constructor, __proto__ and prototype' }]);
    if (type === 'custom' || !metatype || PLAIN_TYPES.has(metatype)) return value;
    // No body is an empty one: a DTO whose fields are all optional accepts it.
    const given = value ?? {};
    if (typeof given !== 'object' || Array.isArray(given)) {
      throw ProblemError.badRequest([{ field: type, problem: `must be a JSON object, not ${Array.isArray(given) ? 'an array' : `a ${typeof given}`}`, allowed: `a JSON object with the fields of ${metatype.name.replace(/Dto$/, '')}` }]);
    }
    const instance = plainToInstance(metatype, given) as object;
    const errors = validateSync(instance, { whitelist: true, forbidNonWhitelisted: true, forbidUnknownValues: true });
    if (errors.length > 0) throw ProblemError.badRequest(flatten(errors));
    return instance;
  }
}

export function problemValidationPipe(): ProblemValidationPipe {
  return new ProblemValidationPipe();
}
