import { dayNumber, daysInMonth, fromDayNumber, localDateProblem } from './local-date';

describe('local dates of any four-digit year', () => {
  // Date.UTC reads years 0–99 as 1900–1999: "asOf=0099-12-31" was answered as of 1999-12-31, and 0004-02-29 passed as
  // 1904's leap day while 0000-02-29, a leap day in ISO 8601's proleptic calendar, was refused.
  it.each([
    '0000-01-01',
    '0000-02-29',
    '0004-02-29',
    '0016-03-09',
    '0099-12-31',
    '0100-03-01',
    '1999-12-31',
    '2016-02-29',
  ])('%s is that day, and back', (date) => {
    expect(localDateProblem(date)).toBeNull();
    expect(fromDayNumber(dayNumber(date))).toBe(date);
  });

  it('counts the days between years 0099 and 0100 as days, not a century', () => {
    expect(dayNumber('0100-01-01') - dayNumber('0099-12-31')).toBe(1);
    expect(dayNumber('1900-01-01') - dayNumber('0099-12-31')).toBeGreaterThan(365 * 1800);
  });

  it('knows the leap years of the first century: 0000 and 0004 are, 0100 is not', () => {
    expect(daysInMonth(0, 2)).toBe(29);
    expect(daysInMonth(4, 2)).toBe(29);
    expect(daysInMonth(99, 2)).toBe(28);
    expect(daysInMonth(100, 2)).toBe(28);
    expect(localDateProblem('0100-02-29')).toMatch(/has 28 days/);
  });
});
