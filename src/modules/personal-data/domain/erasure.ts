/**
 * The recorded erasure of a data subject, and what it does to a folded case: the event names the subject by its
 * random id and the cases by id, and carries the legal basis; it holds no personal data. Pure.
 */
import type { CaseState } from '../../cases/domain/case-state';
import { ERASED, erasedValue, scrubData } from './personal-fields';
import { namesCitizenInClear } from './citizen-ids';

export const PERSONAL_DATA_ERASED = 'PersonalDataErased';
export const ERASURE_STREAM = 'personal-data-erasures';

export interface PersonalDataErasedData {
  subjectId: string;
  cases: string[];
  basis: string;
  reference: string;
  by: string;
  /**
   * Acts of these cases stored with personal data in clear: before encryption began, or naming the citizen who acted
   * as their token named them (before the case's applicant was recorded as such). The append-only log keeps them readable.
   */
  clearTextActs: number;
  /**
   * Those acts, each by its case, revision and stored (sealed) hash: what binds an evidence pack that shows them "erased"
   * (format 5's personalDataErased mark, whose hash cannot be recomputed from what the pack shows) to the very acts the
   * log holds. Absent from erasures recorded before it was written: such a pack's marks are then bound to nothing, and
   * its verifier says so.
   */
  clearActs?: ClearActHash[];
}

/**
 * The cases an event of the erasure stream erases: those a PersonalDataErased record names, none for any other event.
 * Read defensively (a list of strings, or nothing), as every reader of the stream reads it.
 */
export function casesErasedBy(event: { type: string; data: unknown }): string[] {
  return event.type === PERSONAL_DATA_ERASED ? casesNamedIn(event.data) : [];
}

/** The case ids an erasure record's data names. */
export function casesNamedIn(data: unknown): string[] {
  const cases = (data as Partial<PersonalDataErasedData> | null)?.cases;
  return Array.isArray(cases) ? cases.filter((c): c is string => typeof c === 'string') : [];
}

/** The subject an erasure record erased; null for a record of cases filed in clear only (`none`), or another event. */
export function subjectErasedBy(event: { type: string; data: unknown }): string | null {
  if (event.type !== PERSONAL_DATA_ERASED) return null;
  const subjectId = (event.data as Partial<PersonalDataErasedData> | null)?.subjectId;
  return typeof subjectId === 'string' && subjectId !== 'none' ? subjectId : null;
}

/** An act kept in clear, as an erasure names it. */
export interface ClearActHash {
  caseId: string;
  revision: number;
  hash: string;
}

/**
 * The case as a rebuild after the erasure folds it: applicant and every act's personal fields "erased", and so is the
 * actor of an act the applicant did themself as their token named them (subject and name), before the case's applicant was recorded as such.
 */
export function scrubCaseState<S extends Pick<CaseState, 'applicant' | 'acts'>>(state: S): S {
  return {
    ...state,
    applicant: erasedValue('person') as CaseState['applicant'],
    acts: state.acts.map((act) => ({
      ...act,
      data: scrubData(act.eventType, act.data),
      ...(namesCitizenInClear(act.actor) ? { actor: { ...act.actor, id: ERASED, name: ERASED } } : {}),
    })),
  };
}

export const ERASED_IIN_INDEX = ERASED;
