/**
 * Another person's IIN written into an act's free text. An act's personal fields are encrypted under its case's
 * applicant's key and erased with them; an IIN of someone else written into a reason or a note would stay readable
 * after that person's erasure (encrypted under the wrong person's key), and their blind index would never find it. So
 * such a text is refused, naming the field; the applicant's own IIN is theirs to write. Names cannot be told from
 * other words and are not looked for. Pure.
 */
import { hasIinShape } from '../../../shared/iin-shape';
import { maskIin } from '../../../shared/logging/mask-iins';
import { PERSONAL_FIELDS, type DataProblem } from './case-event-data';

/** Personal text fields that hold a document's number, not a person's words. */
const DOCUMENT_NUMBERS: ReadonlySet<string> = new Set(['documentNumber', 'identityDocument', 'studentCardNumber']);

/** Digits written together, or grouped by single spaces, dots or dashes as people write an IIN (`8801 0130 0123`). */
const DIGIT_RUN = /\d(?:[ .-]?\d)*/g;

function iinsIn(text: string): string[] {
  return (text.match(DIGIT_RUN) ?? []).map((run) => run.replace(/\D/g, '')).filter(hasIinShape);
}

/** The free-text fields of the act's data that name an IIN other than the applicant's, each as a problem. */
export function othersIins(
  eventType: string,
  data: Record<string, unknown>,
  applicantIin: string,
  fieldPrefix: string,
): DataProblem[] {
  const fields = (PERSONAL_FIELDS as Record<string, Record<string, string>>)[eventType] ?? {};
  const problems: DataProblem[] = [];
  for (const [field, kind] of Object.entries(fields)) {
    if ((kind !== 'text' && kind !== 'texts') || DOCUMENT_NUMBERS.has(field)) continue;
    const value = data[field];
    const texts: [string, unknown][] = Array.isArray(value)
      ? value.map((v, i): [string, unknown] => [`${field}.${i}`, v])
      : [[field, value]];
    for (const [name, text] of texts) {
      if (typeof text !== 'string') continue;
      const others = iinsIn(text).filter((iin) => iin !== applicantIin);
      if (others.length > 0)
        problems.push({
          field: `${fieldPrefix}${name}`,
          problem: `names another person's IIN (${others.map(maskIin).join(', ')}): the act's personal data are the applicant's, encrypted under their key and erased with them, so another person's would outlive that person's erasure`,
          allowed: "the text without another person's IIN (the applicant's own may be written)",
        });
    }
  }
  return problems;
}
