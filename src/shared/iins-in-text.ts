/**
 * IINs written into a text or an id in a form a reader still recognises: in any script's digits (Arabic-Indic,
 * full-width, mathematical…), with invisible characters between them, or in groups (`9002 0240 0002`, `9002/0240/0002`,
 * `(900202)400002`, `9 0 0 2 …`). What the logs' masking looks for is narrower (mask-iins.ts): it runs on every log
 * line, this on what is about to be stored for good. Only 12 digits with an IIN's birth date and check digit count,
 * so ordinary numbers (dates, amounts, phone numbers) are not taken for one. Pure.
 */
import { hasIinShape } from './iin-shape';

const DECIMAL = /\p{Nd}/u;

/**
 * The text with every decimal digit as the ASCII digit it is and invisible format characters (zero-width spaces and
 * joiners, soft hyphens, direction marks, BOMs) removed. NFKC folds full-width, superscript, circled and mathematical
 * digits; another script's digits are read by their place in its block of ten (Unicode keeps every script's 0–9
 * contiguous and in order).
 */
export function withAsciiDigits(text: string): string {
  return text
    .normalize('NFKC')
    .replace(/\p{Cf}/gu, '')
    .replace(/\p{Nd}/gu, (digit) => {
      if (digit >= '0' && digit <= '9') return digit;
      const code = digit.codePointAt(0)!;
      let zero = code;
      while (DECIMAL.test(String.fromCodePoint(zero - 1))) zero--;
      return String((code - zero) % 10);
    });
}

/**
 * How digit groups may be joined into one number. `prose` (a reason, a note, a legal basis): by up to three spaces,
 * dots, commas, dashes, slashes, underscores, plus signs, brackets or quotes, the groups all of three digits or more
 * (`9002 0240 0002`) or all single digits (`9 0 0 2 …`), never by a colon, so dates and times are not joined into one.
 * `id` (a key, a trace id): by up to three of any characters but letters and digits, groups of any length.
 */
const JOINS = {
  prose: /^[\s.,\-\u2010-\u2015/_+()[\]'"«»]{1,3}$/u,
  id: /^[^\p{L}\p{N}]{1,3}$/u,
} as const;

/** The IINs the text holds (distinct, as 12 ASCII digits), in the forms `mode` reads. */
export function iinsIn(text: string, mode: 'prose' | 'id'): string[] {
  const ascii = withAsciiDigits(text);
  const groups = [...ascii.matchAll(/\d+/g)].map((m) => ({ digits: m[0], start: m.index, end: m.index + m[0].length }));
  const found = new Set<string>();
  for (let i = 0; i < groups.length; i++) {
    let digits = groups[i]!.digits;
    if (digits.length === 12 && hasIinShape(digits)) found.add(digits);
    const sizes = [digits.length];
    for (let j = i + 1; j < groups.length && digits.length < 12; j++) {
      if (!JOINS[mode].test(ascii.slice(groups[j - 1]!.end, groups[j]!.start))) break;
      digits += groups[j]!.digits;
      sizes.push(groups[j]!.digits.length);
      const grouped = mode === 'id' || sizes.every((n) => n >= 3) || sizes.every((n) => n === 1);
      if (digits.length === 12 && grouped && hasIinShape(digits)) found.add(digits);
    }
  }
  return [...found];
}
