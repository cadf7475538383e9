/**
 * IINs written into a text or an id the way people write them: in any script's digits (Arabic-Indic, full-width,
 * mathematical…), with invisible characters or combining marks between them, whole or in even groups
 * (`9002 0240 0002`, `9002/0240/0002`, `(900202)400002`, `85 03 15 30 07 72`, `9 0 0 2 …`). What the logs' masking looks
 * for is broader (mask-iins.ts: any 11–13 digits) since a log line can be masked at no cost to anyone; this refuses what
 * is about to be stored for good, so it counts only what is an IIN of a person alive: 12 digits with a real birth date,
 * a century digit of the 20th or 21st century (3–6: a date and a year, `24102015/4582`, or a time, `150512 103045`,
 * gives 1 or 2 there) and the right check digit. Groups count when they are all as long and stand at the start or the
 * end of a run of groups joined by one and the same separator (a date's uneven groups make no IIN; an account number's
 * last three groups of four can, as any 12 digits can: about 1 in 700). Obfuscation on purpose (letters for digits,
 * uneven groups) is not chased. Pure.
 */
import { hasIinShape } from './iin-shape';

const DECIMAL = /\p{Nd}/u;

/**
 * The text with every decimal digit as the ASCII digit it is and invisible format characters and combining marks
 * removed. NFKC folds full-width, superscript, circled and mathematical digits; another script's digits are read by
 * their place in its block of ten (Unicode keeps every script's 0–9 contiguous and in order).
 */
export function withAsciiDigits(text: string): string {
  return text
    .normalize('NFKC')
    .replace(/[\p{Cf}\p{M}]/gu, '')
    .replace(/\p{Nd}/gu, (digit) => {
      if (digit >= '0' && digit <= '9') return digit;
      const code = digit.codePointAt(0)!;
      let zero = code;
      while (DECIMAL.test(String.fromCodePoint(zero - 1))) zero--;
      return String((code - zero) % 10);
    });
}

/** 12 digits that are the IIN of a person alive: an IIN's shape, born in the 20th or 21st century. */
export function isLivingPersonsIin(digits: string): boolean {
  return hasIinShape(digits) && digits[6]! >= '3';
}

/** What may join two groups of digits: up to three characters that are neither letters nor digits. */
const JOINER = /^[^\p{L}\p{N}]{1,3}$/u;

/**
 * The IINs the text holds (distinct, as 12 ASCII digits). `id`: the text is an identifier a caller chose (a key, a trace
 * id), read after its percent-escapes are decoded.
 */
export function iinsIn(text: string, mode: 'prose' | 'id' = 'prose'): string[] {
  let source = text;
  if (mode === 'id')
    try {
      source = decodeURIComponent(text);
    } catch {
      // Not percent-encoded as a whole: read as it is.
    }
  const ascii = withAsciiDigits(source);
  const groups = [...ascii.matchAll(/\d+/g)].map((m) => ({ digits: m[0], start: m.index, end: m.index + m[0].length }));
  const found = new Set<string>();
  for (const group of groups)
    if (group.digits.length === 12 && isLivingPersonsIin(group.digits)) found.add(group.digits);
  // Runs of groups joined by one separator: the even groups at the start of a run and at its end (an IIN followed or
  // preceded by another number written the same way: `8503 1530 0772 12 мая`, `п. 3 850315 300772`, two IINs in a row).
  for (let i = 0; i < groups.length;) {
    const joiner = i + 1 < groups.length ? ascii.slice(groups[i]!.end, groups[i + 1]!.start) : null;
    let j = i + 1;
    if (joiner !== null && JOINER.test(joiner))
      while (j < groups.length && ascii.slice(groups[j - 1]!.end, groups[j]!.start) === joiner) j++;
    const run = groups.slice(i, j).map((g) => g.digits);
    if (run.length > 1)
      for (const twelve of [evenTwelve(run), evenTwelve([...run].reverse(), true)])
        if (twelve !== null && isLivingPersonsIin(twelve)) found.add(twelve);
    i = j;
  }
  return [...found];
}

/**
 * The run's first groups (its last, `reversed`: given the run reversed, answered in the order written), all as long as
 * the first, when two or more of them make exactly 12 digits.
 */
function evenTwelve(run: readonly string[], reversed = false): string | null {
  const size = run[0]!.length;
  if (size >= 12 || 12 % size !== 0) return null;
  const taken = run.slice(0, 12 / size);
  if (taken.length !== 12 / size || !taken.every((g) => g.length === size)) return null;
  return (reversed ? [...taken].reverse() : taken).join('');
}
