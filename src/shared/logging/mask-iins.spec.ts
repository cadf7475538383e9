import { randomUUID } from 'node:crypto';
import { maskIinsDeep } from './mask-iins';

describe('IINs masked in what is logged', () => {
  it.each([
    ['880101300123', '8801******23'],
    ['%38%38%30101300123', '8801******23'],
    ['8801 0130 0123', '8801******23'],
    ['8801-0130-0123', '8801******23'],
    ['8801 - 0130 - 0123', '8801******23'],
    ['8801,0130,0123', '8801******23'],
    ['8801/0130/0123', '8801******23'],
    ['8801%200130%200123', '8801******23'],
    ['8801%2C0130%2C0123', '8801******23'],
    ['8801013001230', '8801*******30'],
    ['/api/cases?applicantIin=880101300123&limit=5', '/api/cases?applicantIin=8801******23&limit=5'],
    ['IIN 880101300123 refused', 'IIN 8801******23 refused'],
    ['x 12345678901234567890 y', 'x 1234**************90 y'],
  ])('%s is logged as %s', (value, masked) => {
    expect(maskIinsDeep(value)).toBe(masked);
  });

  // Ids whose digit groups are joined to letters are not IINs: masking them lost which case an auditor read.
  it.each([
    '/api/cases/019a3f1c-4b2e-7000-8000-123456789012/steps/x',
    'RG-20151005-1234ABCD',
    'RG-20151005-12345678',
    '2015-10-05T10:00:00+06:00',
    '/api/cases?after=123456&limit=20',
  ])('%s is left as it is', (value) => {
    expect(maskIinsDeep(value)).toBe(value);
  });

  it('leaves a random UUID as it is (100,000 of them)', () => {
    const changed = Array.from({ length: 100_000 }, () => randomUUID()).filter((id) => maskIinsDeep(id) !== id);
    expect(changed).toEqual([]);
  });
});
