import { ValidateIf } from 'class-validator';

/**
 * An optional field of a request body: absent, or valid. class-validator's @IsOptional skips null as well as a missing
 * field, so a body field sent as null passed every rule of its own: `"iin": null` reached the erasure's IIN check and
 * answered 500, and `"expectedRevision": null` answered 409 as a stale revision. A null is a value the caller sent: it
 * is validated, and refused by the field's own rules (400 naming the field). Query parameters arrive as strings or not
 * at all, so @IsOptional means the same there.
 */
export const Optional = (): PropertyDecorator => ValidateIf((_object: object, value: unknown) => value !== undefined);
