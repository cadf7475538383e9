import { makeIin } from '../../../../test/support/case-specification';
import { othersIins } from './others-iins';

const applicant = makeIin('880101', 3, 123);
const other = makeIin('920315', 4, 456);

describe("another person's IIN in an act's free text", () => {
  it.each([
    ['written together', `супруг ИИН ${other}`],
    ['grouped by spaces', `ИИН ${other.slice(0, 4)} ${other.slice(4, 8)} ${other.slice(8)}`],
    ['grouped by dashes', `${other.slice(0, 6)}-${other.slice(6)}`],
  ])('is named, masked, when %s', (_how, reason) => {
    expect(othersIins('ApplicationCancelled', { reason }, applicant, '')).toEqual([
      {
        field: 'reason',
        problem: expect.stringContaining(`another person's IIN (${other.slice(0, 4)}******${other.slice(10)})`),
        allowed: expect.any(String),
      },
    ]);
  });

  it('each text of a list is named by its index, under the data prefix', () => {
    expect(
      othersIins('DocumentsReviewed', { reasons: ['нет диплома', `за ${other}`] }, applicant, 'data.').map(
        (p) => p.field,
      ),
    ).toEqual(['data.reasons.1']);
  });

  it("the applicant's own IIN, numbers that are no IIN, and document numbers are let through", () => {
    expect(othersIins('ApplicationCancelled', { reason: `мой ИИН ${applicant}` }, applicant, '')).toEqual([]);
    expect(
      othersIins('ApplicationCancelled', { reason: 'тел. +7 701 123 45 67, счёт 123456789012' }, applicant, ''),
    ).toEqual([]);
    expect(othersIins('TestResultIssued', { documentNumber: other }, applicant, 'data.')).toEqual([]);
    expect(othersIins('DocumentRegistered', { incomingNumber: other }, applicant, 'data.')).toEqual([]);
  });
});
