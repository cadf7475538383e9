/**
 * RFC 9457 problem details. Every error a client can see has this shape, served as
 * `application/problem+json`. `errors` names each bad field or parameter, what is wrong and what is allowed.
 */
export interface ProblemFieldError {
  /** A body field (`data.orderNumber`) or a parameter (`query.from`, `path.caseId`, `header.Idempotency-Key`). */
  field: string;
  problem: string;
  allowed?: string;
}

export interface ProblemDetails {
  type: string;
  title: string;
  status: number;
  detail?: string;
  instance?: string;
  errors?: ProblemFieldError[];
  [extension: string]: unknown;
}

/** A problem and the headers its answer carries (`retry-after`). */
export interface ProblemAnswer {
  problem: ProblemDetails;
  headers: Record<string, string>;
}

export const PROBLEM_CONTENT_TYPE = 'application/problem+json';
const TYPE_BASE = 'https://reglament.kz/problems/';

/** Throw from anywhere at the edge; the global filter renders it. */
export class ProblemError extends Error {
  override readonly name = 'ProblemError';
  constructor(
    readonly status: number,
    /** Stable kebab-case code, becomes the `type` URI. */
    readonly code: string,
    readonly title: string,
    readonly detail?: string,
    readonly errors?: ProblemFieldError[],
    readonly extensions: Record<string, unknown> = {},
    readonly headers: Record<string, string> = {},
  ) {
    super(detail ?? title);
  }

  toProblem(instance?: string): ProblemDetails {
    // Extensions come first so none of them can overwrite a member RFC 9457 defines.
    return {
      ...this.extensions,
      type: TYPE_BASE + this.code,
      title: this.title,
      status: this.status,
      ...(this.detail ? { detail: this.detail } : {}),
      ...(instance ? { instance } : {}),
      ...(this.errors && this.errors.length ? { errors: this.errors } : {}),
    };
  }

  static badRequest(errors: ProblemFieldError[], detail?: string): ProblemError {
    return new ProblemError(
      400,
      'bad-request',
      'The request is not valid',
      detail ?? errors.map((e) => `${e.field}: ${e.problem}`).join('; '),
      errors,
    );
  }

  static notFound(what: string, detail: string, field?: string): ProblemError {
    return new ProblemError(
      404,
      'not-found',
      `${what} not found`,
      detail,
      field ? [{ field, problem: 'no such ' + what }] : undefined,
    );
  }
}

export const problemType = (code: string): string => TYPE_BASE + code;
