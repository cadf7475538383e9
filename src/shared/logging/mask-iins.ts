/**
 * IIN masking for what leaves the process in clear text: log lines, the auditors' access log, case views for callers
 * who may not see a whole IIN. Here, below identity's domain, so the logger in shared/ can use it.
 */

import { hasIinShape } from '../iin-shape';
import { iinsIn, withAsciiDigits } from '../iins-in-text';

/** Shows the first 4 and last 2 digits, as the logs do: 880101300123 → 8801******23. */
export function maskIin(iin: string): string {
  return iin.length === 12 ? `${iin.slice(0, 4)}******${iin.slice(10)}` : '************';
}

/**
 * IINs are personal data: a number of 11 to 13 digits in a log line (an IIN, or one with a digit too many or too few)
 * is masked to its first 4 and last 2 digits, also when some digits are percent-encoded (`%38%38…` in a logged URL is
 * the same IIN to whoever reads the log) or split by spaces, dashes, dots, plus signs or underscores (`8801 0130 0123`,
 * as people write them), commas, or a run of up to eight such separators (`8503    15400114`). A number joined to a word by a dash, a dot or an underscore, or written against letters, is
 * part of an id (a UUID's groups, `RG-20151005-1234ABCD`): masked only when its 12 digits have an IIN's birth date and
 * check digit (`scan_880101300123.pdf`). Within a longer run of digit groups (a list of IINs), each group of 11 to 13
 * digits is masked on the same terms.
 *
 * Found with one linear pattern (no lookaround, nothing to backtrack: a crafted URL cannot make it slow) and decided in
 * code from the characters around the run. Digits of other scripts and invisible characters between digits are read
 * as ASCII digits first (anyDigitsMasked), percent-encoded or not.
 */
const SEPARATOR = String.raw`(?:[ +._,-]|%2[0BbCcDdEe]|%5[Ff])`;
const DIGIT = String.raw`(?:\d|%3\d)`;
const DIGIT_RUN = new RegExp(String.raw`${DIGIT}(?:${SEPARATOR}{0,8}${DIGIT})*`, 'g');
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
 * One character of a logged text as whoever reads it sees it: a percent-encoded UTF-8 sequence (`%EF%BC%98`) decoded,
 * a surrogate pair whole. `end`: where the next one starts. An escape of an ASCII byte is left as written (the
 * patterns above read `%3X` and the separators' escapes), as is a malformed sequence.
 */
function unitAt(text: string, at: number): { char: string; end: number; decoded: boolean } {
  const code = text.charCodeAt(at);
  if (code === 0x25 /* % */) {
    const lead = hexByte(text, at);
    const length = lead >= 0xf0 && lead <= 0xf4 ? 4 : lead >= 0xe0 ? 3 : lead >= 0xc2 && lead < 0xe0 ? 2 : 0;
    if (length > 0) {
      let point = lead & (0xff >> (length + 1));
      for (let k = 1; k < length; k++) {
        const next = hexByte(text, at + 3 * k);
        if (next < 0x80 || next > 0xbf) return { char: '%', end: at + 1, decoded: false };
        point = (point << 6) | (next & 0x3f);
      }
      if (point <= 0x10ffff) return { char: String.fromCodePoint(point), end: at + 3 * length, decoded: true };
    }
    return { char: '%', end: at + 1, decoded: false };
  }
  const char = String.fromCodePoint(text.codePointAt(at)!);
  return { char, end: at + char.length, decoded: false };
}

/** The byte a `%XX` at `at` escapes, or -1. */
function hexByte(text: string, at: number): number {
  if (text.charCodeAt(at) !== 0x25 || at + 2 >= text.length) return -1;
  const byte = parseInt(text.slice(at + 1, at + 3), 16);
  return Number.isNaN(byte) || !/^[0-9A-Fa-f]{2}$/.test(text.slice(at + 1, at + 3)) ? -1 : byte;
}

/** Percent-escapes decoded where they are well formed (ASCII bytes and UTF-8 sequences), `+` as a space. */
function decodedLeniently(text: string): string {
  if (!text.includes('%') && !text.includes('+')) return text;
  let out = '';
  for (let at = 0; at < text.length;) {
    const byte = hexByte(text, at);
    if (byte >= 0 && byte < 0x80) {
      out += String.fromCharCode(byte);
      at += 3;
      continue;
    }
    const unit = unitAt(text, at);
    out += unit.char === '+' ? ' ' : unit.char;
    at = unit.end;
  }
  return out;
}

/** Invisible characters and combining marks: read as nothing between two digits. */
const INVISIBLE = /^[\p{Cf}\p{M}]+$/u;
const ASCII_DIGITS = /^[0-9]+$/;
const SEPARATORS = new Set([' ', '+', '.', '_', ',', '-']);

/**
 * What a character outside ASCII reads as here: '' (invisible), ASCII digits (another script's digit, a full-width
 * or circled one), one of the separators (a full-width comma, a no-break or ideographic space), or itself.
 */
function readAs(char: string): string {
  if (INVISIBLE.test(char)) return '';
  const folded = withAsciiDigits(char);
  if (ASCII_DIGITS.test(folded) || SEPARATORS.has(folded)) return folded;
  return char;
}

/**
 * Whether a text may hold a digit, an invisible character or a separator outside ASCII, written or percent-encoded:
 * only such a text is read character by character (anyDigitsMasked).
 */
const BEYOND_ASCII =
  /[^\P{Nd}0-9]|[^\P{Zs} ]|[\p{No}\p{Cf}\p{M}\uFF0B-\uFF0E\uFF3F\u060C\u066B\u066C]|%[C-Fc-f][0-9A-Fa-f]/u;

/**
 * IINs written in another script's digits (full-width `８５０３…`, Arabic-Indic, mathematical…), percent-encoded or
 * not, or with invisible characters or combining marks between the digits (`8%E2%80%8B5…`): the text is read as ASCII
 * digits, the same runs are looked for in that reading (DIGIT_RUN, on the same terms), and each run to mask is replaced
 * where it is written. Texts without such characters are returned at once (the usual log line, every URL of ASCII).
 */
function anyDigitsMasked(text: string): string {
  if (!BEYOND_ASCII.test(text)) return text;
  let view = '';
  const from: number[] = [];
  const to: number[] = [];
  let read = false;
  for (let at = 0; at < text.length;) {
    const unit = unitAt(text, at);
    const code = unit.char.codePointAt(0)!;
    let shown = unit.decoded || code >= 0x80 ? readAs(unit.char) : unit.char;
    if (shown !== unit.char) read = true;
    else if (unit.decoded) shown = text.slice(at, unit.end);
    for (let k = 0; k < shown.length; k++) {
      from.push(at);
      to.push(unit.end);
    }
    view += shown;
    at = unit.end;
  }
  if (!read) return text;
  const replaced: Array<{ start: number; end: number; with: string }> = [];
  for (const match of view.matchAll(DIGIT_RUN)) {
    const run = match[0];
    const start = match.index;
    const maskedRun = maskRun(run, start, view);
    if (maskedRun !== run) replaced.push({ start: from[start]!, end: to[start + run.length - 1]!, with: maskedRun });
  }
  if (replaced.length === 0) return text;
  let out = '';
  let at = 0;
  for (const r of replaced) {
    out += text.slice(at, r.start) + r.with;
    at = r.end;
  }
  return out + text.slice(at);
}

/**
 * A query parameter that carries an IIN (`applicantIin=`): its value masked whatever way it is written, `(800101)303219`,
 * `800101/303219`, full-width or zero-width-split digits too. A request refused for its spelling is still logged, and
 * the auditors' access log keeps it for good; the run of digits alone (DIGIT_RUN) knows only a few separators. The
 * name is read as the server reads it (percent-escapes decoded, `+` a space: `applicant%49in` is `applicantIin`) and
 * then folded (NFKC, invisible characters dropped, any case): every name holding `iin` is such a parameter.
 */
const PARAMETER = /([?&])([^?&=\s"']*)=([^&\s"']*)/g;

/** A value masked already (a line masked twice, the access log's path logged): kept, its 6 digits are no IIN. */
const MASKED_VALUE = /^[0-9]{0,4}\*+[0-9]{0,2}$/;

function maskedParameter(match: string, lead: string, name: string, value: string): string {
  if (!carriesIin(name) || MASKED_VALUE.test(value)) return match;
  const digits = withAsciiDigits(decodedLeniently(value)).replace(/[^0-9]/g, '');
  if (digits.length === 0) return match;
  return `${lead}${name}=${digits.length >= 7 ? masked(digits) : '*'.repeat(digits.length)}`;
}

const PLAIN_NAME = /^[0-9A-Za-z_.-]*$/;

function carriesIin(name: string): boolean {
  if (PLAIN_NAME.test(name)) return /iin/i.test(name);
  return withAsciiDigits(decodedLeniently(name)).toLowerCase().includes('iin');
}

/** A text may hold an IIN only with a digit: an ASCII one, a percent-escape, or a character beyond ASCII. */
const MAY_HOLD_DIGITS = /[0-9%\u0080-\uffff]/;

function maskText(text: string): string {
  if (!MAY_HOLD_DIGITS.test(text)) return text;
  const parameters = text.includes('=') ? text.replace(PARAMETER, maskedParameter) : text;
  return anyDigitsMasked(parameters.replace(DIGIT_RUN, maskRun));
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const UUIDS = /[0-9a-f]{8}-([0-9a-f]{4})-([0-9a-f]{4})-([0-9a-f]{4})-([0-9a-f]{12})/gi;
const ASCII_TEXT = /^[\x20-\x24\x26-\x7E]*$/;

/**
 * Whether a masked URL may still hold an IIN. Read as a whole, decoded until it stops changing (three rounds at most,
 * `%uXXXX` too: `%2538` is `%38` is `8`), any script's digits folded: it may when iinsIn finds one, or when eleven
 * digits or more stand joined only by characters other than letters (`85031/5400114`, tabs or spaces repeated between
 * groups, fourteen digits in a row), however they are grouped: a URL of the API holds no such run but in an IIN, so
 * the whole of it is scrubbed rather than the groups judged. A UUID that cannot hold an IIN (neither its middle groups
 * nor its last are 12 digits of an IIN's shape) and an ISO date or instant are set aside first. Cheap for the usual URL
 * of ASCII without escapes: fewer than 11 digits left hold none.
 */
function mayStillHoldIin(masked: string): boolean {
  const rest = masked.replace(UUIDS, (uuid, second: string, third: string, fourth: string, last: string) =>
    hasIinShape(second + third + fourth) || hasIinShape(last) ? uuid : '/',
  );
  if (ASCII_TEXT.test(rest)) {
    let digits = 0;
    for (let i = 0; i < rest.length && digits < LONG_DIGIT_RUN; i++) {
      const code = rest.charCodeAt(i);
      if (code >= 48 && code <= 57) digits++;
    }
    if (digits < LONG_DIGIT_RUN) return false;
  }
  const read = withAsciiDigits(decodedUntilStable(rest)).replace(ISO_DATES, '/');
  return longDigitRun(read) || iinsIn(read).length > 0;
}

/** Eleven digits: an IIN (twelve) with one of its digits written in a way none of the readings here knows. */
const LONG_DIGIT_RUN = 11;
const ISO_DATES =
  /[0-9]{4}-[0-9]{2}-[0-9]{2}(?:T[0-9]{2}:[0-9]{2}(?::[0-9]{2}(?:[.,][0-9]+)?)?(?:Z|[+-][0-9]{2}:?[0-9]{2})?)?/g;
const LETTER = /\p{L}/u;

/** Whether LONG_DIGIT_RUN digits or more stand joined by characters other than letters. Linear. */
function longDigitRun(text: string): boolean {
  let digits = 0;
  for (const char of text) {
    const code = char.charCodeAt(0);
    if (code >= 48 && code <= 57) {
      if (++digits >= LONG_DIGIT_RUN) return true;
    } else if (code < 0x80 ? (code | 0x20) >= 0x61 && (code | 0x20) <= 0x7a : LETTER.test(char)) digits = 0;
  }
  return false;
}

const PERCENT_U = /%u([0-9a-f]{4})/gi;

/** Percent-escapes (and `%uXXXX`) decoded again while that changes the text, three rounds at most. */
function decodedUntilStable(text: string): string {
  let read = text;
  for (let round = 0; round < 3 && read.includes('%'); round++) {
    const next = decodedLeniently(read.replace(PERCENT_U, (_, hex: string) => String.fromCharCode(parseInt(hex, 16))));
    if (next === read) break;
    read = next;
  }
  return decodedLeniently(read);
}
const ANY_DIGIT = /[\p{Nd}\p{No}]/u;
const ORIGIN = /^[a-z][a-z0-9+.-]*:\/\/[^/?#]*/i;

/**
 * A request's URL as the log lines and the auditors' access log keep it: masked as every logged text is, then read once
 * more as a whole (mayStillHoldIin: escapes decoded again, any script's digits, groups joined by a slash, a colon,
 * brackets, runs of tabs: `850315/400114`, which the masking above leaves, a path's numbers being no IIN as a rule):
 * should an IIN still be found, every path segment and query name or value holding a digit is written `*`, but for
 * UUIDs that hold none (a case's id), so the route and the case read stay. A URL without a digit is returned at once.
 */
export function maskUrl(url: string): string {
  // An absolute URL's origin (the service's own listening address, `http://127.0.0.1:3000`) is no caller's text.
  const origin = ORIGIN.exec(url)?.[0];
  if (origin !== undefined) return origin + maskUrl(url.slice(origin.length));
  const masked = maskText(url);
  if (!mayStillHoldIin(masked)) return masked;
  const scrubbed = (part: string) => {
    const read = decodedUntilStable(part);
    if (!ANY_DIGIT.test(withAsciiDigits(read))) return part;
    return UUID.test(part) && iinsIn(read).length === 0 ? part : '*';
  };
  const query = masked.indexOf('?');
  const path = (query < 0 ? masked : masked.slice(0, query)).split('/').map(scrubbed).join('/');
  if (query < 0) return path;
  const parameters = masked
    .slice(query + 1)
    .split('&')
    .map((pair) => {
      const equals = pair.indexOf('=');
      return equals < 0 ? scrubbed(pair) : `${scrubbed(pair.slice(0, equals))}=${scrubbed(pair.slice(equals + 1))}`;
    });
  return `${path}?${parameters.join('&')}`;
}

/** A log line's fields that hold a request's URL (the request line's `url`, the access line's `path`): maskUrl. */
const URL_FIELDS = new Set(['url', 'path', 'instance']);

export function maskIinsDeep(value: unknown, depth = 0): unknown {
  if (typeof value === 'string') return maskText(value);
  if (depth > 6 || value === null || typeof value !== 'object') return value;
  if (Array.isArray(value)) return value.map((v) => maskIinsDeep(v, depth + 1));
  if (value instanceof Error)
    return { name: value.name, message: maskIinsDeep(value.message, depth + 1), stack: value.stack };
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value))
    out[k] = typeof v === 'string' && URL_FIELDS.has(k) ? maskUrl(v) : maskIinsDeep(v, depth + 1);
  return out;
}
