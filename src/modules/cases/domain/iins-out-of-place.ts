/**
 * IINs out of place in an act's data. An act's personal fields are encrypted under its case's applicant's key and
 * erased with them: another person's IIN written into one (a reason, a note, a document's number, the applicant's
 * name) would outlive that person's erasure, encrypted under the wrong key, where no blind index finds it. A field
 * stored in clear (an incoming number, a place, a list of bodies) keeps any IIN for good, the applicant's own too. So
 * both are refused, naming the field; the applicant's own IIN may stand in their personal fields, written by a caller who
 * reads it in full (for any other, `applicantIin` is null and every IIN is refused alike). IINs are found as a
 * reader would still recognise them (iins-in-text.ts: any script's digits, groups, invisible characters between them);
 * names cannot be told from other words and are not looked for. Pure.
 */
import { iinsIn } from '../../../shared/iins-in-text';
import { maskIin } from '../../../shared/logging/mask-iins';
import { PERSONAL_FIELDS, type DataProblem } from './case-event-data';

const OTHERS_ALLOWED = "the text without another person's IIN (the applicant's own may be written)";
const NONE_ALLOWED =
  "the text without an IIN: the applicant's own is written only by a caller who reads it in full (the applicant, the staff of the case's unit)";
const CLEAR_ALLOWED = 'a value without an IIN: this field is stored in clear, and no erasure reaches it';

/** Every string inside the value, with its path below `field` (`bodies.1`, `venue.place`). */
function stringsIn(value: unknown, field: string, out: [string, string][] = [], depth = 0): [string, string][] {
  if (typeof value === 'string') out.push([field, value]);
  else if (depth < 8 && value !== null && typeof value === 'object')
    for (const [key, child] of Object.entries(value)) stringsIn(child, `${field}.${key}`, out, depth + 1);
  return out;
}

/** The fields of the act's data that hold an IIN they may not, each as a problem (`fieldPrefix`: `data.` for a step). */
export function iinsOutOfPlace(
  eventType: string,
  data: Record<string, unknown>,
  applicantIin: string | null,
  fieldPrefix: string,
): DataProblem[] {
  const personal = (PERSONAL_FIELDS as Record<string, Record<string, string>>)[eventType] ?? {};
  const problems: DataProblem[] = [];
  for (const [field, value] of Object.entries(data)) {
    const kind = personal[field];
    if (kind === 'number') continue;
    // The applicant's own object: their IIN is theirs; their name may not carry another's.
    const texts =
      kind === 'person'
        ? stringsIn((value as { fullName?: unknown })?.fullName, `${field}.fullName`)
        : stringsIn(value, field);
    for (const [name, text] of texts) {
      const found = iinsIn(text, 'prose').filter((iin) => kind === undefined || iin !== applicantIin);
      if (found.length === 0) continue;
      const masked = found.map(maskIin).join(', ');
      problems.push(
        kind === undefined
          ? {
              field: `${fieldPrefix}${name}`,
              problem: `holds an IIN (${masked}) in a field stored in clear, which the log keeps for good`,
              allowed: CLEAR_ALLOWED,
            }
          : applicantIin === null
            ? {
                field: `${fieldPrefix}${name}`,
                problem: `names an IIN (${masked}), which this caller may not write in the act`,
                allowed: NONE_ALLOWED,
              }
            : {
                field: `${fieldPrefix}${name}`,
                problem: `names another person's IIN (${masked}): the act's personal data are the applicant's, encrypted under their key and erased with them, so another person's would outlive that person's erasure`,
                allowed: OTHERS_ALLOWED,
              },
      );
    }
  }
  return problems;
}
