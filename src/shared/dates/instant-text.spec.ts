import { isoMs, isoText } from './instant-text';

describe('instant text, memoised', () => {
  it('formats and parses exactly as toISOString and Date.parse, the first time and again', () => {
    const instants = [0, -1, 1_450_000_000_123, 8.64e15, -8.64e15, Date.UTC(2016, 1, 29, 23, 59, 59, 999)];
    for (let round = 0; round < 2; round++)
      for (const ms of instants) {
        expect(isoText(ms)).toBe(new Date(ms).toISOString());
        expect(isoMs(isoText(ms))).toBe(ms);
      }
    for (const text of ['2016-04-13T03:55:00.000Z', '2016-04-13T09:55:00+06:00', '2016-04-13', 'not a date', ''])
      for (let round = 0; round < 2; round++) expect(Object.is(isoMs(text), Date.parse(text))).toBe(true);
  });

  it('refuses an instant outside the Date range as toISOString does, every time', () => {
    for (const ms of [8.64e15 + 1, Number.NaN])
      for (let round = 0; round < 2; round++) expect(() => isoText(ms)).toThrow(RangeError);
  });

  it('stays exact past the size of its tables', () => {
    for (let i = 0; i < 450_000; i += 1) {
      const ms = 1_400_000_000_000 + i * 60_000;
      if (i % 997 === 0) expect(isoText(ms)).toBe(new Date(ms).toISOString());
      else isoText(ms);
    }
    expect(isoText(1_400_000_000_000)).toBe(new Date(1_400_000_000_000).toISOString());
  });
});
