import { iinsIn } from './iins-in-text';

const iin = '850315300772';

describe('IINs in a text, as people write them', () => {
  it.each([
    ['whole', iin],
    ['in groups of four', '8503 1530 0772'],
    ['in pairs', '85 03 15 30 07 72'],
    ['a digit at a time', [...iin].join(' ')],
    ['birth date and serial', '(850315)300772'],
    ['joined by colons', '8503:1530:0772'],
    ['joined by bars', '8503|1530|0772'],
    ['joined by middle dots', '8503·1530·0772'],
    ['joined by minus signs', '8503−1530−0772'],
    ['on three lines', '8503\n1530\n0772'],
    ['with invisible marks after its digits', [...iin].join('\ufe0f')],
    ['in Arabic-Indic digits', [...iin].map((d) => String.fromCodePoint(0x0660 + Number(d))).join('')],
    ['in full-width digits', [...iin].map((d) => String.fromCodePoint(0xff10 + Number(d))).join('')],
  ])('found %s', (_how, written) => {
    expect(iinsIn(`ИИН супруга ${written}, тел. +7 701 123 45 67`)).toEqual([iin]);
  });

  it('found in an id percent-encoded', () => {
    expect(iinsIn('8503%3A1530%3A0772', 'id')).toEqual([iin]);
  });

  // A review's finding: the version before counted groups only when they were the whole run.
  it('found beside other numbers written the same way', () => {
    const other = '900202400002';
    expect(iinsIn('ИИН супругов: 8503 1530 0772 9002 0240 0002').sort()).toEqual([iin, other].sort());
    expect(iinsIn('ИИН 8503 1530 0772 12 мая')).toEqual([iin]);
    expect(iinsIn('п. 3 850315 300772')).toEqual([iin]);
    expect(iinsIn('submit-850315-300772-2', 'id')).toEqual([iin]);
    expect(iinsIn('req-8503-1530-0772-01', 'id')).toEqual([iin]);
  });

  // A re-test measured up to a tenth of such texts refused by the version before; each is none.
  it.each([
    ['an account number in groups', 'на счёт KZ13 6011 0428 4662 1563 (АО «Halyk Bank»)'],
    ['a date and a number', 'вх. 24102015/4582'],
    ['a date-time stamp', 'квитанция 150512 103045 не прошла'],
    ['dates and times', 'приказ № 184 от 12.05.2015 10:00, с 12/05/2015 по 2015-09-15'],
    ['a phone number', '+7 (701) 123-45-67, 8 701 123 45 67'],
    ['a company’s BIN', 'ТОО «Ромашка», БИН 150540012343'],
    ['a date in the 19th century’s shape', '241020 153045'],
  ])('not found in %s', (_what, text) => {
    expect(iinsIn(text)).toEqual([]);
  });

  it.each([
    ['a UUID', '79060150-6676-4ef0-a19a-616c09aca647'],
    ['another', '42071531-7435-4cd5-bd48-a9bedf008e77'],
    ['epoch milliseconds', '1717171717171'],
    ['a key with a date', 'req-10.02.2019-6801'],
  ])('not found in %s as an id', (_what, id) => {
    expect(iinsIn(id, 'id')).toEqual([]);
  });
});
