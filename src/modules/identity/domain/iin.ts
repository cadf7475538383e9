/**
 * Kazakhstan individual identification number (ИИН / ЖСН): YYMMDD, a century-and-sex digit, four
 * serial digits and a check digit (two-pass weighted sum modulo 11). Pure.
 */
import { iinCheckDigit } from '../../../shared/iin-shape';

export { iinCheckDigit };

export type IinProblem =
  | { code: 'length'; message: string }
  | { code: 'not-digits'; message: string }
  | { code: 'century-digit'; message: string }
  | { code: 'birth-date'; message: string }
  | { code: 'unissuable'; message: string }
  | { code: 'check-digit'; message: string; expected: number };

export type IinCheck =
  { valid: true; birthDate: string; sex: 'male' | 'female' } | { valid: false; problem: IinProblem };

export function checkIin(value: string): IinCheck {
  if (value.length !== 12)
    return {
      valid: false,
      problem: { code: 'length', message: `must have 12 digits, has ${value.length} characters` },
    };
  if (!/^\d{12}$/.test(value))
    return { valid: false, problem: { code: 'not-digits', message: 'must be 12 digits 0-9' } };
  const centuryDigit = Number(value[6]);
  if (centuryDigit < 1 || centuryDigit > 6) {
    return {
      valid: false,
      problem: { code: 'century-digit', message: `7th digit must be 1-6 (century and sex), is ${centuryDigit}` },
    };
  }
  const century = [1800, 1800, 1900, 1900, 2000, 2000][centuryDigit - 1];
  const year = century + Number(value.slice(0, 2));
  const month = Number(value.slice(2, 4));
  const day = Number(value.slice(4, 6));
  const date = new Date(Date.UTC(year, month - 1, day));
  if (month < 1 || month > 12 || date.getUTCMonth() !== month - 1 || date.getUTCDate() !== day) {
    return {
      valid: false,
      problem: {
        code: 'birth-date',
        message: `digits 1-6 (${value.slice(0, 6)}) with century digit ${centuryDigit} are not a real date of birth`,
      },
    };
  }
  const expected = iinCheckDigit(value.slice(0, 11));
  if (expected === null)
    return {
      valid: false,
      problem: {
        code: 'unissuable',
        message: 'no check digit exists for these 11 digits; such numbers are not issued',
      },
    };
  if (expected !== Number(value[11])) {
    return {
      valid: false,
      problem: { code: 'check-digit', message: `check digit is ${value[11]}, expected ${expected}`, expected },
    };
  }
  return { valid: true, birthDate: date.toISOString().slice(0, 10), sex: centuryDigit % 2 === 1 ? 'male' : 'female' };
}

export { maskIin } from '../../../shared/logging/mask-iins';

/** A valid IIN: YYMMDD, the century-and-sex digit, a four-digit serial (the first issuable one from `serial`) and its check digit. */
export function makeIin(yymmdd: string, centuryDigit: number, serial: number): string {
  for (let s = serial; s < serial + 100; s++) {
    const first11 = `${yymmdd}${centuryDigit}${String(s % 10_000).padStart(4, '0')}`;
    const check = iinCheckDigit(first11);
    if (check !== null) return `${first11}${check}`;
  }
  throw new Error('no issuable IIN near this serial');
}
