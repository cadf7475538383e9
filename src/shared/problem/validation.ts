import {
  applyDecorators,
  createParamDecorator,
  type ArgumentMetadata,
  type ExecutionContext,
  type PipeTransform,
} from '@nestjs/common';
import { ROUTE_ARGS_METADATA } from '@nestjs/common/constants';
import { RouteParamtypes } from '@nestjs/common/enums/route-paramtypes.enum';
import { ApiParam, ApiQuery } from '@nestjs/swagger';
import { plainToInstance, TransformationType } from 'class-transformer';
import { defaultMetadataStorage } from 'class-transformer/cjs/storage';
import { getMetadataStorage, validateSync, ValidationTypes, type ValidationError } from 'class-validator';
import { ProblemError, type ProblemFieldError } from './problem';
import { firstKeyPath } from './json-body';

/**
 * What a constraint of a parameter DTO can say besides its message: what is allowed instead, given as the
 * constraint's validation option `context: { allowed }`.
 */
export interface ConstraintContext {
  /** Fixed, or from the value refused (what is allowed can depend on which form the value took). */
  allowed?: string | ((value: unknown) => string);
}

const LOCATIONS = Symbol('problem:parameter-location');

/**
 * Marks a DTO class as the query string (`query`) or the path parameters (`path`) of a route: its field errors are
 * named `query.x` / `path.x`, and a parameter it does not declare is refused naming those it does.
 */
export const ParameterDto =
  (location: 'query' | 'path'): ClassDecorator =>
  (target) =>
    Reflect.defineMetadata(LOCATIONS, location, target);

function locationOf(metatype: Function): 'query' | 'path' | null {
  return (Reflect.getMetadata(LOCATIONS, metatype) as 'query' | 'path' | undefined) ?? null;
}

const NOT_A_PARAMETER = 'is not a parameter of this endpoint';
const NO_PARAMETERS = 'none: this endpoint takes no parameters';

/** The query string of a route that takes no parameters: any one given is refused, as on the routes that take some. */
@ParameterDto('query')
export class NoQueryDto {}

/** The parameters each DTO declares: fixed once its module is loaded, and looked up on every request. */
const declaredOf = new WeakMap<Function, string[]>();

/** The parameters a DTO declares, in declaration order, those of the class it extends first. */
function declared(metatype: Function): string[] {
  let known = declaredOf.get(metatype);
  if (!known) declaredOf.set(metatype, (known = declaredNow(metatype)));
  return known;
}

function declaredNow(metatype: Function): string[] {
  const chain: Function[] = [];
  for (
    let c: Function | null = metatype;
    c && c !== Object && c !== Function.prototype;
    c = Object.getPrototypeOf(c) as Function | null
  )
    chain.unshift(c);
  const all = getMetadataStorage().getTargetValidationMetadatas(metatype, '', true, false);
  return [...new Set(chain.flatMap((c) => all.filter((m) => m.target === c).map((m) => m.propertyName)))];
}

function flatten(errors: ValidationError[], prefix = '', parameters: string[] | null = null): ProblemFieldError[] {
  return errors.flatMap((error) => {
    const field = prefix ? `${prefix}.${error.property}` : error.property;
    // A null fails every rule of its field, most with words that do not fit it ("must not be less than 0"): one entry
    // says what was sent, and the rules say what is taken.
    if (error.value === null && error.constraints && !error.constraints.whitelistValidation)
      return [{ field, problem: 'is null', allowed: Object.values(error.constraints).join('; ') }];
    const own = Object.entries(error.constraints ?? {}).map(([constraint, problem]): ProblemFieldError => {
      if (parameters && constraint === 'whitelistValidation')
        return { field, problem: NOT_A_PARAMETER, allowed: parameters.join(', ') };
      const given = (error.contexts?.[constraint] as ConstraintContext | undefined)?.allowed;
      const allowed = typeof given === 'function' ? given(error.value) : given;
      return allowed ? { field, problem, allowed } : { field, problem };
    });
    return [...own, ...flatten(error.children ?? [], field)];
  });
}

/** One property's rules as class-validator would run them: its conditions (@IsOptional), then its constraints. */
interface PropertyCheck {
  property: string;
  conditions: ((object: object, value: unknown) => boolean)[];
  constraints: {
    constraints: unknown[];
    validate: (value: unknown, args: object) => unknown;
  }[];
}

/**
 * A DTO's rules read once from class-validator's metadata, or null where a rule is of a kind this does not run
 * (nested, promised, `each`, a constraint's `validateIf` option, asynchronous, @IsDefined): such classes always go
 * through validateSync. @ValidateIf and @IsOptional are conditions, run here as class-validator runs them.
 */
const passChecks = new WeakMap<Function, PropertyCheck[] | null>();

function passChecksOf(metatype: Function): PropertyCheck[] | null {
  if (passChecks.has(metatype)) return passChecks.get(metatype)!;
  const storage = getMetadataStorage();
  // The arguments validateSync's executor passes for the options validateInput gives it (no groups, not `always`).
  const metadatas = storage.getTargetValidationMetadatas(metatype, '', false, false, undefined);
  const byProperty = new Map<string, PropertyCheck>();
  let checks: PropertyCheck[] | null = metadatas.length > 0 ? [] : null;
  for (const metadata of metadatas) {
    let check = byProperty.get(metadata.propertyName);
    if (!check) {
      check = { property: metadata.propertyName, conditions: [], constraints: [] };
      byProperty.set(metadata.propertyName, check);
    }
    if (metadata.type === ValidationTypes.CONDITIONAL_VALIDATION) {
      check.conditions.push(metadata.constraints[0] as (object: object, value: unknown) => boolean);
      continue;
    }
    const constraints =
      metadata.type === ValidationTypes.CUSTOM_VALIDATION && !metadata.each && !metadata.validateIf
        ? storage.getTargetValidatorConstraints(metadata.constraintCls)
        : null;
    if (!constraints || constraints.length === 0 || constraints.some((c) => c.async)) {
      checks = null;
      break;
    }
    for (const constraint of constraints) {
      const instance = constraint.instance;
      check.constraints.push({
        constraints: metadata.constraints,
        validate: (value, args) => instance.validate(value, args as never),
      });
    }
  }
  if (checks) checks.push(...byProperty.values());
  passChecks.set(metatype, checks);
  return checks;
}

/**
 * Whether the instance passes every rule of its class, run as class-validator runs them (unknown properties refused,
 * a property's conditions before its constraints, the same arguments) without looking its metadata up again: that
 * look-up walks every validated class and was most of a case read's validation. False means "not known to pass",
 * and validateSync then gives the answer and its errors, so a refusal reads exactly as before.
 */
function passes(instance: object, checks: readonly PropertyCheck[]): boolean {
  for (const key of Object.keys(instance)) if (!checks.some((check) => check.property === key)) return false;
  for (const check of checks) {
    const value = (instance as Record<string, unknown>)[check.property];
    if (!check.conditions.every((condition) => condition(instance, value))) continue;
    for (const constraint of check.constraints) {
      const args = {
        targetName: instance.constructor.name,
        property: check.property,
        object: instance,
        value,
        constraints: constraint.constraints,
      };
      const valid = constraint.validate(value, args);
      if (valid !== true) return false;
    }
  }
  return true;
}

/**
 * Validates one input of a request against its DTO class: the instance, or every field error named as the class's
 * location says. Used by the pipe, and where one route's path and query must be answered in one 400.
 */
export function validateInput<T extends object>(
  metatype: new () => T,
  value: object,
): { instance: T; errors: ProblemFieldError[] } {
  const location = locationOf(metatype);
  const instance =
    location && copiedAsGiven(metatype, value)
      ? Object.assign(new metatype(), value)
      : (plainToInstance(metatype, value) as T);
  // A route that takes no parameters declares an empty DTO; class-validator refuses a class it has no rules for.
  if (location && declared(metatype).length === 0) {
    return {
      instance,
      errors: Object.keys(value).map((key) => ({
        field: `${location}.${key}`,
        problem: NOT_A_PARAMETER,
        allowed: NO_PARAMETERS,
      })),
    };
  }
  // Unknown parameters are named from the request itself: class-transformer drops a key that names a method of the
  // instance (`toString`, `hasOwnProperty`, …) before class-validator's whitelist could see it.
  const parameters = location ? declared(metatype) : null;
  const unknown = parameters ? Object.keys(value).filter((key) => !parameters.includes(key)) : [];
  const checks = passChecksOf(metatype);
  if (unknown.length === 0 && checks && passes(instance, checks)) return { instance, errors: [] };
  const errors = validateSync(instance, { whitelist: true, forbidNonWhitelisted: true, forbidUnknownValues: true });
  const fieldErrors = errors.length ? flatten(errors, location ?? '', parameters) : [];
  for (const key of unknown) {
    const field = `${location}.${key}`;
    if (!fieldErrors.some((e) => e.field === field))
      fieldErrors.push({ field, problem: NOT_A_PARAMETER, allowed: parameters!.join(', ') });
  }
  return { instance, errors: fieldErrors };
}

/** Per parameter DTO, its parameters that class-transformer assigns as given (no @Type, @Transform, @Expose, @Exclude). */
const givenAsIs = new WeakMap<Function, ReadonlySet<string>>();

/**
 * Whether class-transformer would make the parameters' instance by assigning each value as it is: every key a declared
 * parameter without a conversion, every value a string. Then the instance is made so, without class-transformer's walk
 * of its metadata (about a microsecond of a case read); any other input still goes through it.
 */
function copiedAsGiven(metatype: Function, value: object): boolean {
  let plain = givenAsIs.get(metatype);
  if (!plain) {
    const storage = defaultMetadataStorage;
    const exposes = storage.getExposedMetadatas(metatype).length + storage.getExcludedMetadatas(metatype).length;
    plain = new Set(
      exposes > 0
        ? []
        : declared(metatype).filter(
            (key) =>
              !(key in metatype.prototype) &&
              storage.findTypeMetadata(metatype, key) === undefined &&
              storage.findTransformMetadatas(metatype, key, TransformationType.PLAIN_TO_CLASS).length === 0,
          ),
    );
    givenAsIs.set(metatype, plain);
  }
  for (const key of Object.keys(value))
    if (!plain.has(key) || typeof (value as Record<string, unknown>)[key] !== 'string') return false;
  return true;
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
    for (const child of Object.values(current))
      if (child !== null && typeof child === 'object') stack.push([child, depth + 1]);
  }
  return false;
}

/**
 * Names of the object machinery: no field of this API is called so. class-transformer throws on an object that has
 * `constructor` as its own key (a nested `{"constructor": " "}` answered 500), and skips one named like a method of
 * Object.prototype (`{"valueOf": …}`, `{"toString": …}` vanished from a nested body, and the act was recorded without it).
 */
const RESERVED_KEYS: ReadonlySet<string> = new Set([...Object.getOwnPropertyNames(Object.prototype), 'prototype']);
const RESERVED_ALLOWED =
  'field names other than those of Object.prototype (constructor, __proto__, toString, valueOf, …) and prototype';

/** The dotted path of the first key named like the object machinery, or null. */
function reservedKeyPath(value: unknown): string | null {
  return firstKeyPath(value, (key, _child, at) => (RESERVED_KEYS.has(key) ? at : null));
}

/** A query parameter given more than once arrives as an array; every parameter of this API takes one value (lists are comma-separated). */
function refuseRepeatedParameters(value: unknown, name: string | undefined): void {
  const entries: [string, unknown][] =
    name !== undefined ? [[name, value]] : value && typeof value === 'object' ? Object.entries(value) : [];
  const errors = entries
    .filter(([, v]) => Array.isArray(v))
    .map(([key, v]) => ({
      field: `query.${key}`,
      problem: `is given ${(v as unknown[]).length} times`,
      allowed: 'one value',
    }));
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
      throw ProblemError.badRequest([
        { field: 'body', problem: `is nested more than ${MAX_BODY_DEPTH} levels deep`, allowed },
      ]);
    }
    const reserved = type === 'body' || type === 'query' ? reservedKeyPath(value) : null;
    if (reserved !== null)
      throw ProblemError.badRequest([
        {
          field: `${type}.${reserved}`,
          problem: 'is not a field name this API takes',
          allowed: RESERVED_ALLOWED,
        },
      ]);
    if (type === 'custom' || !metatype || PLAIN_TYPES.has(metatype)) return value;
    // No body is an empty one: a DTO whose fields are all optional accepts it. A JSON `null` is a value, not an object.
    const given = value === undefined ? {} : value;
    if (given === null || typeof given !== 'object' || Array.isArray(given)) {
      throw ProblemError.badRequest([
        {
          field: type,
          problem: `must be a JSON object, not ${given === null ? 'null' : Array.isArray(given) ? 'an array' : `a ${typeof given}`}`,
          allowed: `a JSON object with the fields of ${metatype.name.replace(/Dto$/, '')}`,
        },
      ]);
    }
    const { instance, errors } = validateInput(metatype as new () => object, given);
    if (errors.length > 0) throw ProblemError.badRequest(errors);
    return instance;
  }
}

export function problemValidationPipe(): ProblemValidationPipe {
  return new ProblemValidationPipe();
}

type ParameterClass = new () => object;

/** The checks every query string gets before its DTO: no parameter twice, no key named like the object machinery. */
function precheckQuery(value: unknown): void {
  refuseRepeatedParameters(value, undefined);
  const reserved = reservedKeyPath(value);
  if (reserved !== null)
    throw ProblemError.badRequest([
      {
        field: `query.${reserved}`,
        problem: 'is not a field name this API takes',
        allowed: RESERVED_ALLOWED,
      },
    ]);
}

/**
 * A route's path parameters and query string validated together, so a request wrong in both learns both in one
 * 400 (`path.caseId` and `query.after`), with the same DTO classes and checks as the pipe. Pair with
 * `@ApiPathAndQuery` for the document.
 */
export const PathAndQuery = createParamDecorator(pathAndQuery);

function pathAndQuery(classes: { path: ParameterClass; query: ParameterClass }, context: ExecutionContext) {
  return validatePathAndQuery(classes, context.switchToHttp().getRequest<{ params?: object; query?: object }>());
}

/** What `@PathAndQuery` gives a handler: the request's path and query as instances of the classes, or the 400. */
export function validatePathAndQuery<P extends object, Q extends object>(
  classes: { path: new () => P; query: new () => Q },
  request: { params?: object; query?: object },
): { path: P; query: Q } {
  precheckQuery(request.query ?? {});
  const path = validateInput(classes.path, request.params ?? {});
  const query = validateInput(classes.query, request.query ?? {});
  const errors = [...path.errors, ...query.errors];
  if (errors.length > 0) throw ProblemError.badRequest(errors);
  return { path: path.instance, query: query.instance };
}

/** The document's parameters of a `@PathAndQuery` route, read from the same DTO classes' @ApiProperty metadata. */
export function ApiPathAndQuery(classes: { path: ParameterClass; query: ParameterClass }): MethodDecorator {
  const of = (type: ParameterClass) =>
    ((Reflect.getMetadata('swagger/apiModelPropertiesArray', type.prototype) as string[] | undefined) ?? []).map(
      (key) => {
        const name = key.replace(/^:/, '');
        const {
          type: schemaType,
          required,
          ...options
        } = (Reflect.getMetadata('swagger/apiModelProperties', type.prototype, name) ?? {}) as Record<string, unknown>;
        return { name, required: required !== false, options, schemaType };
      },
    );
  return applyDecorators(
    ...of(classes.path).map(({ name, options }) => ApiParam({ name, ...options, required: true, type: String })),
    ...of(classes.query).map(({ name, required, options, schemaType }) =>
      ApiQuery({
        name,
        ...options,
        required,
        ...(schemaType === 'integer' ? { type: 'integer' } : { type: String }),
      } as never),
    ),
  );
}

/**
 * What a handler declares of its query string: `checked` when a `@Query()` DTO or `@PathAndQuery` takes it (their own
 * checks refuse a parameter they do not declare), else the parameters it names one by one with `@Query('name')`
 * (none on most: commands, and reads without parameters). Read from the handler's parameter decorators, as Nest
 * reads them to call it.
 */
export function queryOfHandler(controller: Function, method: string): 'checked' | readonly string[] {
  const args = (Reflect.getMetadata(ROUTE_ARGS_METADATA, controller, method) ?? {}) as Record<
    string,
    { data?: unknown; factory?: unknown }
  >;
  const named: string[] = [];
  for (const [key, argument] of Object.entries(args)) {
    if (argument.factory === pathAndQuery) return 'checked';
    if (key.split(':')[0] !== String(RouteParamtypes.QUERY)) continue;
    if (typeof argument.data !== 'string') return 'checked';
    named.push(argument.data);
  }
  return named;
}

/**
 * The 400 for the query parameters a route does not take (null when it takes each one given), named as the DTOs'
 * refusals name them: `query.x`, not a parameter of this endpoint, and what it takes (or none).
 */
export function unknownQueryParameters(query: unknown, taken: readonly string[]): ProblemError | null {
  if (query === null || typeof query !== 'object') return null;
  const unknown = Object.keys(query).filter((key) => !taken.includes(key));
  if (unknown.length === 0) return null;
  const allowed = taken.length > 0 ? taken.join(', ') : NO_PARAMETERS;
  return ProblemError.badRequest(unknown.map((key) => ({ field: `query.${key}`, problem: NOT_A_PARAMETER, allowed })));
}
