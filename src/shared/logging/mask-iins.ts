/**
 * IIN masking for what leaves the process in clear text: log lines, the auditors' access log, case views for callers
 * who may not see a whole IIN. Here, below identity's domain, so the logger in shared/ can use it.
 */

import { hasIinShape } from '../iin-shape';

/** Shows the first 4 and last 2 digits, as the logs do: 880101300123 → 8801******23. */
export function maskIin(iin: string): string {
  return iin.length === 12 ? `${iin.slice(0, 4)}******${iin.slice(10)}` : '************';
}

/**
 * IINs are personal data: a number of 11 to 13 digits in a log line (an IIN, or one with a digit too many or too few)
 * is masked to its first 4 and last 2 digits, also when some digits are percent-encoded (`%38%38…` in a logged URL is
 * the same IIN to whoever reads the log) or split by spaces, dashes, dots, plus signs or underscores (`8801 0130 0123`,
 * as people write them). A number joined to a word by a dash, a dot or an underscore, or written against letters, is
 * part of an id (a UUID's groups, `RG-20151005-1234ABCD`): masked only when its 12 digits have an IIN's birth date and
 * check digit (`scan_880101300123.pdf`). Within a longer run of digit groups (a list of IINs), each group of 11 to 13
 * digits is masked on the same terms.
 *
 * Found with one linear pattern (no lookaround, nothing to backtrack: a crafted URL cannot make it slow) and decided in
 * code from the characters around the run.
 */
const SEPARATOR = String.raw`(?:[ +._-]|%2[0BbDdEe]|%5[Ff])`;
const DIGIT = String.raw`(?:\d|%3\d)`;
const DIGIT_RUN = new RegExp(String.raw`${DIGIT}(?:${SEPARATOR}{0,3}${DIGIT})*`, 'g');
const DIGIT_GROUP = new RegExp(String.raw`${DIGIT}+`, 'g');
const JOINERS = new Set(['-', '.', '_']);
const WORD = /^[0-9A-Za-z]$/;
const MIN_DIGITS = 11;
const MAX_DIGITS = 13;

const digitsOf = (text: string) =>
  text
    .replace(/%3(\d)/g, '$1')
    .replace(/%[0-9A-Fa-f]{2}/g, '')
    .replace(/\D/g, '');
const masked = (digits: string) => `${digits.slice(0, 4)}${'*'.repeat(digits.length - 6)}${digits.slice(-2)}`;

/** The character before `at` (a percent-escape decoded) and where it starts; null at the start. */
function charBefore(text: string, at: number): { char: string; at: number } | null {
  if (at <= 0) return null;
  const escape = at >= 3 ? /^%([0-9A-Fa-f]{2})$/.exec(text.slice(at - 3, at)) : null;
  return escape
    ? { char: String.fromCharCode(parseInt(escape[1]!, 16)), at: at - 3 }
    : { char: text[at - 1]!, at: at - 1 };
}

/** The character at `at` (a percent-escape decoded) and where the next one starts; null at the end. */
function charAt(text: string, at: number): { char: string; next: number } | null {
  if (at >= text.length) return null;
  const escape = /^%([0-9A-Fa-f]{2})/.exec(text.slice(at, at + 3));
  return escape
    ? { char: String.fromCharCode(parseInt(escape[1]!, 16)), next: at + 3 }
    : { char: text[at]!, next: at + 1 };
}

/** Whether the run from `start` to `end` is written against a word, or joined to one by a dash, dot or underscore. */
function joinedToWord(text: string, start: number, end: number): boolean {
  const before = charBefore(text, start);
  if (before && WORD.test(before.char)) return true;
  if (before && JOINERS.has(before.char)) {
    const beyond = charBefore(text, before.at);
    if (beyond && WORD.test(beyond.char)) return true;
  }
  const after = charAt(text, end);
  if (after && WORD.test(after.char)) return true;
  if (after && JOINERS.has(after.char)) {
    const beyond = charAt(text, after.next);
    if (beyond && WORD.test(beyond.char)) return true;
  }
  return false;
}

/** Characters of an id around a run, looked at no further than an id's length either way (linear however long). */
const ID_CHAR = /[0-9A-Za-z._-]/;
const ID_REACH = 72;
const UUID_OR_HEX = /^(?:[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}|[0-9a-f]{16,})$/i;

/** Whether the run is part of a UUID or a hexadecimal id (a hash), whose digits are never an IIN. */
function inHexId(text: string, start: number, end: number): boolean {
  let from = start;
  while (from > 0 && start - from < ID_REACH && ID_CHAR.test(text[from - 1]!)) from--;
  let to = end;
  while (to < text.length && to - end < ID_REACH && ID_CHAR.test(text[to]!)) to++;
  return UUID_OR_HEX.test(text.slice(from, to));
}

const iinSized = (digits: string) => digits.length >= MIN_DIGITS && digits.length <= MAX_DIGITS;

/** Each group of digits written together in the run masked where `isIin` says so. */
const maskGroups = (run: string, isIin: (digits: string) => boolean) =>
  run.replace(DIGIT_GROUP, (group) => {
    const digits = digitsOf(group);
    return isIin(digits) ? masked(digits) : group;
  });

function maskRun(run: string, offset: number, text: string): string {
  const digits = digitsOf(run);
  if (digits.length < MIN_DIGITS) return run;
  // A UUID or a hex id whose characters all happen to be digits is still an id (one in a few million UUIDs).
  if (inHexId(text, offset, offset + run.length)) return run;
  // Part of an id: only 12 digits written together, with an IIN's birth date and check digit.
  if (joinedToWord(text, offset, offset + run.length)) return maskGroups(run, hasIinShape);
  if (digits.length <= MAX_DIGITS) return masked(digits);
  // A longer run: each of its groups that is itself IIN-sized (a list of IINs).
  return maskGroups(run, iinSized);
}

/**
 * A query parameter that carries an IIN (`applicantIin=`): its value masked whatever way it is written, `(800101)303219`,
 * `800101/303219`, full-width or zero-width-split digits too. A request refused for its spelling is still logged, and
 * the auditors' access log keeps it for good; the run of digits alone (DIGIT_RUN) knows only a few separators.
 */
const IIN_PARAMETER = /([?&][A-Za-z]*iin=)([^&#\s"']*)/gi;

function maskedParameter(_match: string, name: string, value: string): string {
  let text = value;
  try {
    text = decodeURIComponent(value.replace(/\+/g, ' '));
  } catch {
    // A malformed escape: its digits as written.
  }
  const digits = text.normalize('NFKC').replace(/\D/g, '');
  if (digits.length === 0) return name + value;
  return name + (digits.length >= 7 ? masked(digits) : '*'.repeat(digits.length));
}

export function maskIinsDeep(value: unknown, depth = 0): unknown {
  if (typeof value === 'string') return value.replace(IIN_PARAMETER, maskedParameter).replace(DIGIT_RUN, maskRun);
  if (depth > 6 || value === null || typeof value !== 'object') return value;
  if (Array.isArray(value)) return value.map((v) => maskIinsDeep(v, depth + 1));
  if (value instanceof Error)
    return { name: value.name, message: maskIinsDeep(value.message, depth + 1), stack: value.stack };
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) out[k] = maskIinsDeep(v, depth + 1);
  return out;
}
