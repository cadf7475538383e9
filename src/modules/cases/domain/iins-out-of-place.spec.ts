import { makeIin } from '../../../../test/support/case-specification';
import { iinsOutOfPlace } from './iins-out-of-place';

const applicant = makeIin('880101', 3, 123);
const other = makeIin('920315', 4, 456);
const masked = `${other.slice(0, 4)}******${other.slice(10)}`;
const [a, b, c] = [other.slice(0, 4), other.slice(4, 8), other.slice(8)];
const arabicIndic = [...other].map((d) => String.fromCodePoint(0x0660 + Number(d))).join('');
const fullWidth = [...other].map((d) => String.fromCodePoint(0xff10 + Number(d))).join('');

describe("another person's IIN in an act's personal fields", () => {
  // Each form a re-test of the first version got through, as a reader still recognises it.
  it.each([
    ['written together', `супруг ИИН ${other}`],
    ['grouped by spaces', `ИИН ${a} ${b} ${c}`],
    ['grouped by no-break spaces', `ИИН ${a}\u00a0${b}\u00a0${c}`],
    ['grouped by slashes', `ИИН ${a}/${b}/${c}`],
    ['grouped by commas', `ИИН ${a},${b},${c}`],
    ['grouped by double spaces', `ИИН ${a}  ${b}  ${c}`],
    ['grouped by spaced dashes', `ИИН ${a} - ${b} - ${c}`],
    ['on three lines', `ИИН\n${a}\n${b}\n${c}`],
    ['half in brackets', `(${other.slice(0, 6)})${other.slice(6)}`],
    ['a digit a space', [...other].join(' ')],
    ['with a zero-width space inside', `${other.slice(0, 3)}\u200b${other.slice(3)}`],
    ['in Arabic-Indic digits', arabicIndic],
    ['in full-width digits', fullWidth],
    ['after another number', `приказ № 12 ${other}`],
    ['beside another IIN', `дети: ${applicant} ${other}`],
  ])('is named, masked, when %s', (_how, reason) => {
    expect(iinsOutOfPlace('ApplicationCancelled', { reason }, applicant, '')).toEqual([
      {
        field: 'reason',
        problem: expect.stringContaining(`another person's IIN (${masked})`),
        allowed: expect.any(String),
      },
    ]);
  });

  it('each text of a list is named by its index, under the data prefix; a document number and the name are looked at too', () => {
    expect(
      iinsOutOfPlace('DocumentsReviewed', { reasons: ['нет диплома', `за ${other}`] }, applicant, 'data.').map(
        (p) => p.field,
      ),
    ).toEqual(['data.reasons.1']);
    expect(iinsOutOfPlace('TestResultIssued', { documentNumber: other }, applicant, 'data.')).toHaveLength(1);
    expect(
      iinsOutOfPlace(
        'ApplicationSubmitted',
        { applicant: { iin: applicant, fullName: `Сериков Нурлан (за соседа ${other})` } },
        applicant,
        '',
      ).map((p) => p.field),
    ).toEqual(['applicant.fullName']);
  });

  it("the applicant's own IIN stands in their personal fields; dates, times, phone numbers and other numbers are no IIN", () => {
    expect(iinsOutOfPlace('ApplicationCancelled', { reason: `мой ИИН ${applicant}` }, applicant, '')).toEqual([]);
    for (const reason of [
      'тел. +7 701 123 45 67, счёт 123456789012',
      'приказ от 12.05.2015 10:00, вх. 04-1/123',
      'с 12.05.2015, 10.06.2016 по 01.09.2016',
    ])
      expect(iinsOutOfPlace('ApplicationCancelled', { reason }, applicant, '')).toEqual([]);
  });
});

describe('an IIN in a field stored in clear', () => {
  it("is refused, the applicant's own too: the log keeps it for good, out of erasure's reach", () => {
    for (const iin of [other, applicant])
      expect(iinsOutOfPlace('DocumentRegistered', { incomingNumber: iin }, applicant, 'data.')).toEqual([
        {
          field: 'data.incomingNumber',
          problem: expect.stringContaining('in a field stored in clear'),
          allowed: expect.any(String),
        },
      ]);
    expect(
      iinsOutOfPlace('InformationRequested', { bodies: ['КНБ', `МВД по ${other}`] }, applicant, 'data.').map(
        (p) => p.field,
      ),
    ).toEqual(['data.bodies.1']);
    expect(iinsOutOfPlace('DocumentRegistered', { incomingNumber: '04-1/123' }, applicant, 'data.')).toEqual([]);
  });
});
