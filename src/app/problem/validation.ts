import { ValidationError, ValidationPipe } from '@nestjs/common';
import { ProblemError, ProblemFieldError } from './problem';

function flatten(errors: ValidationError[], prefix = ''): ProblemFieldError[] {
  return errors.flatMap((error) => {
    const field = prefix ? `${prefix}.${error.property}` : error.property;
    const own = Object.values(error.constraints ?? {}).map((problem) => ({ field, problem }));
    return [...own, ...flatten(error.children ?? [], field)];
  });
}

/** class-validator failures become one 400 problem with an entry per field. Unknown fields are refused, not ignored. */
export function problemValidationPipe(): ValidationPipe {
  return new ValidationPipe({
    transform: true,
    whitelist: true,
    forbidNonWhitelisted: true,
    exceptionFactory: (errors) => ProblemError.badRequest(flatten(errors)),
  });
}
