import fc from 'fast-check';
import { checkIin, iinCheckDigit, maskIin } from './iin';

const validIin = fc
  .record({
    date: fc.date({
      min: new Date('1900-01-01T00:00:00Z'),
      max: new Date('2025-12-31T00:00:00Z'),
      noInvalidDate: true,
    }),
    female: fc.boolean(),
    serial: fc.integer({ min: 0, max: 9999 }),
  })
  .map(({ date, female, serial }) => {
    const iso = date.toISOString();
    const year = Number(iso.slice(0, 4));
    const century = (year < 2000 ? 3 : 5) + (female ? 1 : 0);
    return `${iso.slice(2, 4)}${iso.slice(5, 7)}${iso.slice(8, 10)}${century}${String(serial).padStart(4, '0')}`;
  })
  .filter((first11) => iinCheckDigit(first11) !== null)
  .map((first11) => `${first11}${iinCheckDigit(first11)}`);

describe('IIN', () => {
  it('accepts a well-formed IIN and reads its date of birth and sex', () => {
    const first11 = '88010130012';
    const iin = `${first11}${iinCheckDigit(first11)}`;
    expect(checkIin(iin)).toEqual({ valid: true, birthDate: '1988-01-01', sex: 'male' });
  });

  it.each([
    ['12345', 'length'],
    ['88010130012a', 'not-digits'],
    ['880101700123', 'century-digit'],
    ['880230300123', 'birth-date'],
  ])('%s is refused (%s)', (iin, code) => {
    const result = checkIin(iin);
    expect(result.valid).toBe(false);
    if (!result.valid) expect(result.problem.code).toBe(code);
  });

  it('every generated valid IIN validates', () => {
    fc.assert(fc.property(validIin, (iin) => checkIin(iin).valid));
  });

  const firstPass = (digits: string) =>
    [...digits.slice(0, 11)].reduce((sum, d, i) => sum + Number(d) * (i + 1), 0) % 11;

  it('changing any one of digits 1-10 or the check digit is caught while both numbers use the first pass', () => {
    // First-pass weights 1..10 are non-zero mod 11, so such a change always moves the sum mod 11. The
    // exceptions (below) are the 11th digit and a change that switches one number to the second pass.
    fc.assert(
      fc.property(
        validIin,
        fc.integer({ min: 0, max: 11 }).filter((p) => p !== 10),
        fc.integer({ min: 1, max: 9 }),
        (iin, position, delta) => {
          const changed = `${iin.slice(0, position)}${(Number(iin[position]) + delta) % 10}${iin.slice(position + 1)}`;
          fc.pre(firstPass(iin) !== 10 && firstPass(changed) !== 10);
          expect(checkIin(changed).valid).toBe(false);
        },
      ),
      { numRuns: 3000 },
    );
  });

  it('the exception: the 11th digit has weight 11 ≡ 0 (mod 11) in the first pass, so changing it alone can pass', () => {
    expect(checkIin('700101300005').valid).toBe(true);
    expect(checkIin('700101300015').valid).toBe(true);
    // And a change that moves one number to the second pass can land on the same check digit.
    expect(checkIin('380106376495').valid).toBe(true);
    expect(checkIin('380806376495').valid).toBe(true);
  });

  it('a wrong check digit names the expected one', () => {
    const first11 = '90050240017';
    const expected = iinCheckDigit(first11)!;
    const result = checkIin(`${first11}${(expected + 1) % 10}`);
    expect(result).toEqual({ valid: false, problem: expect.objectContaining({ code: 'check-digit', expected }) });
  });

  it('masks as the logs do', () => {
    expect(maskIin('880101300123')).toBe('8801******23');
  });
});
