/**
 * The arithmetic of a Kazakhstan IIN (ИИН / ЖСН: YYMMDD, a century-and-sex digit, four serial digits, a check digit),
 * below the modules so the logger's masking can tell an IIN from another number. Identity's domain checks IINs with it.
 * Pure.
 */

const FIRST_WEIGHTS = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11];
const SECOND_WEIGHTS = [3, 4, 5, 6, 7, 8, 9, 10, 11, 1, 2];

/** The check digit of the first 11 digits, or null when both passes give 10 (such numbers are not issued). */
export function iinCheckDigit(first11: string): number | null {
  const digits = [...first11].map(Number);
  const first = digits.reduce((sum, d, i) => sum + d * FIRST_WEIGHTS[i]!, 0) % 11;
  if (first !== 10) return first;
  const second = digits.reduce((sum, d, i) => sum + d * SECOND_WEIGHTS[i]!, 0) % 11;
  return second === 10 ? null : second;
}

/** Whether 12 digits could be an issued IIN: a real birth date, a century digit 1–6 and the right check digit. */
export function hasIinShape(digits: string): boolean {
  if (!/^\d{12}$/.test(digits)) return false;
  const centuryDigit = Number(digits[6]);
  if (centuryDigit < 1 || centuryDigit > 6) return false;
  const year = [1800, 1800, 1900, 1900, 2000, 2000][centuryDigit - 1]! + Number(digits.slice(0, 2));
  const month = Number(digits.slice(2, 4));
  const day = Number(digits.slice(4, 6));
  const date = new Date(Date.UTC(year, month - 1, day));
  if (month < 1 || month > 12 || date.getUTCMonth() !== month - 1 || date.getUTCDate() !== day) return false;
  return iinCheckDigit(digits.slice(0, 11)) === Number(digits[11]);
}

/**
 * Whether twelve digits of an IIN's shape stand anywhere among the digits of a text joined by characters other than
 * letters (separators dropped: `c-85031-5400114`, `00850315400114`). Linear in the text, twelve checks a digit at most.
 */
export function iinShapedWithin(text: string): boolean {
  for (const stretch of text.split(/\p{L}+/u)) {
    const digits = stretch.replace(/[^0-9]/g, '');
    for (let at = 0; at + 12 <= digits.length; at++) if (hasIinShape(digits.slice(at, at + 12))) return true;
  }
  return false;
}
