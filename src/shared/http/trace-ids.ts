import { maskIinsDeep } from '../logging/mask-iins';

/**
 * Correlation and causation ids come from callers and are stored in chained events and written to logs, so only
 * short ids of a safe alphabet are taken (a UUID, a W3C trace id, `order-42:retry.1`); anything else is not used. Nor
 * is an id that holds a number the logs would mask as an IIN (`iin-880101300123`): the log keeps it for ever, and no
 * erasure reaches it.
 */
const TRACE_ID = /^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$/;

export const TRACE_ID_RULE = '1–128 characters: letters, digits and . _ : - (starting with a letter or digit)';

/** The header's value when it is an acceptable id, else undefined (the server then uses its own). */
export function acceptedTraceId(value: unknown): string | undefined {
  return typeof value === 'string' && TRACE_ID.test(value) && maskIinsDeep(value) === value ? value : undefined;
}
