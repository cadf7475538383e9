import { isoMs, isoText } from './instant-text';

describe('instant text', () => {
  it('formats and parses exactly as toISOString and Date.parse, the first time and again', () => {
    const instants = [0, -1, 1_450_000_000_123, 8.64e15, -8.64e15, Date.UTC(2016, 1, 29, 23, 59, 59, 999)];
    for (let round = 0; round < 2; round++)
      for (const ms of instants) {
        expect(isoText(ms)).toBe(new Date(ms).toISOString());
        expect(isoMs(isoText(ms))).toBe(ms);
      }
    for (const text of ['2016-04-13T03:55:00.000Z', '2016-04-13T09:55:00+06:00', '2016-04-13', 'not a date', ''])
      expect(Object.is(isoMs(text), Date.parse(text))).toBe(true);
  });

  it('parses every instant of the ISO form as Date.parse does, and text of nearly that form too', () => {
    let seed = 7;
    const next = () => (seed = (seed * 1_103_515_245 + 12_345) % 2_147_483_648) / 2_147_483_648;
    const wrong: string[] = [];
    for (let i = 0; i < 200_000; i++) {
      // Any millisecond of years 0000–9999, leap days and month ends included.
      const ms = Math.floor(-62_167_219_200_000 + next() * 315_537_897_600_000);
      const text = new Date(ms).toISOString();
      if (isoMs(text) !== ms) wrong.push(text);
    }
    expect(wrong).toEqual([]);
    const odd = [
      '2016-02-29T12:00:00.000Z',
      '2015-02-29T12:00:00.000Z',
      '2016-13-01T00:00:00.000Z',
      '2016-00-10T00:00:00.000Z',
      '2016-04-00T00:00:00.000Z',
      '2016-04-31T00:00:00.000Z',
      '2016-04-13T24:00:00.000Z',
      '2016-04-13T23:60:00.000Z',
      '2016-04-13T23:59:60.000Z',
      '2016-04-13T03:55:00.000+',
      '2016-04-13 03:55:00.000Z',
      '2016-04-13T03:55:00,000Z',
      '2016-04-1aT03:55:00.000Z',
      '+02016-04-13T03:55:00.00Z',
      '2016-04-13T03:55:00.00Zx',
    ];
    for (const text of odd) expect(Object.is(isoMs(text), Date.parse(text))).toBe(true);
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
