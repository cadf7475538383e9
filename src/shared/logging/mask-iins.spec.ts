import { randomUUID } from 'node:crypto';
import { maskIinsDeep } from './mask-iins';

/** 880101300123 is an IIN's shape (born 1988-01-01, century digit 3, check digit 3): checked below. */
const IIN = '880101300123';

describe('IINs masked in what is logged', () => {
  it.each([
    [IIN, '8801******23'],
    ['%38%38%30101300123', '8801******23'],
    ['8801 0130 0123', '8801******23'],
    ['8801-0130-0123', '8801******23'],
    ['8801 - 0130 - 0123', '8801******23'],
    ['8801%200130%200123', '8801******23'],
    ['8801013001230', '8801*******30'],
    ['/api/cases?applicantIin=880101300123&limit=5', '/api/cases?applicantIin=8801******23&limit=5'],
    // An auditor's lookup refused for its spelling is logged and kept in the access log for good: the IIN as typed was.
    ['/api/cases?applicantIin=(880101)300123', '/api/cases?applicantIin=8801******23'],
    ['/api/cases?applicantIin=880101%2F300123&limit=5', '/api/cases?applicantIin=8801******23&limit=5'],
    ['/api/cases?applicantIin=880101%3A300123', '/api/cases?applicantIin=8801******23'],
    ['/api/cases?applicantIin=8801%20%20%20%200130%200123', '/api/cases?applicantIin=8801******23'],
    [
      '/api/cases?applicantIin=%EF%BC%98%EF%BC%98%EF%BC%90%EF%BC%91%EF%BC%90%EF%BC%91%EF%BC%93%EF%BC%90%EF%BC%90%EF%BC%91%EF%BC%92%EF%BC%93',
      '/api/cases?applicantIin=8801******23',
    ],
    ['/api/cases?applicantIin=8%E2%80%8B8%E2%80%8B0101300123', '/api/cases?applicantIin=8801******23'],
    ['/api/cases?limit=5&applicantIin=%ZZ880101300123', '/api/cases?limit=5&applicantIin=8801******23'],
    ['q%3D880101300123', 'q%3D8801******23'],
    ['/a%2F880101300123', '/a%2F8801******23'],
    ['IIN 880101300123 refused', 'IIN 8801******23 refused'],
    ['880101300123,900101300456', '8801******23,9001******56'],
    ['880101300123 900101300456', '8801******23 9001******56'],
    // Joined to a word, masked only with an IIN's birth date and check digit.
    ['iin-880101300123', 'iin-8801******23'],
    ['scan_880101300123.pdf', 'scan_8801******23.pdf'],
    ['iin880101300123', 'iin8801******23'],
  ])('%s is logged as %s', (value, masked) => {
    expect(maskIinsDeep(value)).toBe(masked);
  });

  // Ids whose digit groups are joined to letters are not IINs: masking them lost which case an auditor read.
  it.each([
    '/api/cases/019a3f1c-4b2e-7000-8000-123456789012/steps/x',
    'RG-20151005-1234ABCD',
    'RG-20151005-12345678',
    '2015-10-05T10:00:00+06:00',
    '2024-01-01, 2024-02-01',
    '/api/cases?after=123456&limit=20',
    'x 12345678901234567890 y',
    // A UUID whose every character is a digit (found once in 500,000 random ones).
    '01043139-7879-4373-8525-353803083968',
  ])('%s is left as it is', (value) => {
    expect(maskIinsDeep(value)).toBe(value);
  });

  it('leaves a random UUID as it is (100,000 of them)', () => {
    const changed = Array.from({ length: 100_000 }, () => randomUUID()).filter((id) => maskIinsDeep(id) !== id);
    expect(changed).toEqual([]);
  });

  // A pattern that backtracked took 23 s over 300 KB of `%31` before a letter, in every request's log line.
  it.each([
    ['%31', 'a'],
    ['1-', 'a'],
    ['1 ', 'x'],
    ['%3', '1'],
  ])('masks 300 KB of %p… then %p in linear time (crafted URLs)', (unit, end) => {
    const crafted = `${unit.repeat(100_000)}${end}`;
    const small = `${unit.repeat(1_000)}${end}`;
    const time = (text: string) => {
      const started = process.hrtime.bigint();
      maskIinsDeep(text);
      return Number(process.hrtime.bigint() - started);
    };
    time(small);
    // 100 times the text, not 10,000 times the time: within 1,000 times (linear, with room for a slow machine).
    expect(time(crafted) / Math.max(time(small), 1)).toBeLessThan(1_000);
  });
});
