/**
 * What an erasure request must hold, whichever way it comes in (the HTTP body, the CLI's options): one set of rules, so
 * the two cannot drift apart. The basis, the reference and who erased are recorded trimmed, for good, with the erasure;
 * neither white space nor invisible characters (zero-width spaces survive a trim) state a legal ground or name anyone.
 * Whether they name an IIN is the command's check (erase-subject.ts), made for every caller. Pure.
 */

export type ErasureTextField = 'basis' | 'reference' | 'by';

/** Per field: the least letters or digits it holds, its most characters once trimmed, and what it is. */
export const ERASURE_TEXT: Readonly<Record<ErasureTextField, { letters: number; max: number; allowed: string }>> = {
  basis: {
    letters: 3,
    max: 2000,
    allowed: 'the legal ground, up to 2000 characters with at least 3 letters or digits; name no person in it',
  },
  reference: {
    letters: 3,
    max: 500,
    allowed: 'the law, article or request number, up to 500 characters with at least 3 letters or digits',
  },
  by: {
    letters: 1,
    max: 200,
    allowed: 'who erases, up to 200 characters with at least 1 letter or digit; no IIN',
  },
};

const LETTER_OR_DIGIT = /[\p{L}\p{N}]/gu;

/** Why the field's text cannot be recorded (missing, not text, too long, too few letters or digits), or null. */
export function erasureTextProblem(field: ErasureTextField, value: unknown): string | null {
  const rule = ERASURE_TEXT[field];
  if (value === undefined) return 'is required';
  if (typeof value !== 'string') return 'is not text';
  const text = value.trim();
  if (text.length > rule.max) return `has ${text.length} characters (at most ${rule.max})`;
  if ((text.match(LETTER_OR_DIGIT)?.length ?? 0) < rule.letters)
    return `must hold at least ${rule.letters} ${rule.letters === 1 ? 'letter or digit' : 'letters or digits'} (not only spaces, punctuation or invisible characters)`;
  return null;
}

/** A case id as POST /api/cases returns it (a lower-case UUID): how the applicant of a case with no key is named. */
export const CASE_ID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
export const CASE_ID_ALLOWED = 'a case id as POST /api/cases and the retention report give it (lower-case UUID)';
