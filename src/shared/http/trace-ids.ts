import { iinShapedWithin } from '../iin-shape';
import { iinsIn } from '../iins-in-text';

/**
 * Whether an id a caller chose (a correlation id, an Idempotency-Key) carries an IIN, whole or in even groups
 * (`iin-880101300123`, `9002:0240:0002`). Such an id is stored with the acts in the log, which keeps it for ever and
 * which no erasure reaches. (The logs' masking of any 11–13 digits is not the rule here: it refused a UUID now and then
 * and every epoch-milliseconds key.)
 */
export function idCarriesIin(value: string): boolean {
  return iinsIn(value, 'id').length > 0;
}

/**
 * Correlation and causation ids come from callers and are stored in chained events and written to logs, so only
 * short ids of a safe alphabet are taken (a UUID, a W3C trace id, `order-42:retry.1`); anything else is not used. Nor
 * is an id that may carry an IIN (idCarriesIin).
 */
const TRACE_ID = /^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$/;

export const TRACE_ID_RULE = '1–128 characters: letters, digits and . _ : - (starting with a letter or digit)';

/**
 * The header's value when it is an acceptable id, else undefined (the server then uses its own). Stricter than
 * idCarriesIin, since nothing is lost when a caller's correlation id is set aside: twelve digits of an IIN's shape
 * anywhere among digits joined by characters other than letters (`00850315400114`, `c-85031-5400114`,
 * `c-850315....400114`) refuse it too. Such an id was logged in clear and kept in the access record's metadata.
 */
export function acceptedTraceId(value: unknown): string | undefined {
  return typeof value === 'string' && TRACE_ID.test(value) && !idCarriesIin(value) && !iinShapedWithin(value)
    ? value
    : undefined;
}
