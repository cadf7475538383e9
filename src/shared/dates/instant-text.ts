/**
 * Instants as ISO 8601 text (`Date.prototype.toISOString`) and back (`Date.parse`), memoised. Read models compute SLA
 * rows in bulk: every row's deadline is formatted, every completion, start and close parsed, and the same instants
 * recur across cases (the end of a working day, a window's edge, a case's acts parsed again at every batch). Formatting
 * an instant cost about as much as the rest of a row, and parsing one a fifth of that; a look-up is a fraction.
 * Results are exactly those of the built-ins.
 */

/** Entries kept per table; a full table is emptied and filled again (what recurs comes back at once). */
const LIMIT = 200_000;

const texts = new Map<number, string>();
const instants = new Map<string, number>();

/** `new Date(ms).toISOString()`; throws the same RangeError for an instant outside the Date range. */
export function isoText(ms: number): string {
  let text = texts.get(ms);
  if (text === undefined) {
    text = new Date(ms).toISOString();
    if (texts.size >= LIMIT) texts.clear();
    texts.set(ms, text);
  }
  return text;
}

/** `Date.parse(text)` (NaN for text that is not a date). */
export function isoMs(text: string): number {
  let ms = instants.get(text);
  if (ms === undefined) {
    ms = Date.parse(text);
    if (instants.size >= LIMIT) instants.clear();
    instants.set(text, ms);
  }
  return ms;
}
