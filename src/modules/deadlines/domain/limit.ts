/**
 * Time limits as the regulations state them. Data files carry these shapes; the deadline
 * engine turns one limit plus its anchor instant into a deadline instant with an explanation.
 * Pure types: no framework, no clock.
 */

/** A clause reference, e.g. order 184, appendix 2, p.7 pp.1, track A. */
export interface ClauseRef {
  act: string; // e.g. "order-184-2015"
  appendix?: number;
  paragraph: number; // пункт
  subparagraph?: number; // подпункт
  track?: string;
  /** The words of the regulation this comes from (Russian or Kazakh), short. */
  quote?: string;
}

/** What starts the clock: a step's completion, the case's submission, or a cohort date set later. */
export type Anchor =
  | { step: string } // the instant (occurredAt) the named step was completed
  | { stepStarted: string } // the instant the named step began (the completing event's startedAt), for limits on a step's own duration
  | { cohortDate: string } // a date set per cohort, e.g. "document-acceptance-end"
  /** A date recorded in the data of a step's completing event, e.g. the first testing day a published schedule names. */
  | { stepDataDate: { step: string; field: string } };

/** Month-day within a year, "MM-DD". */
export type MonthDay = string;

/** A day of the year named by rule, e.g. the second Friday of July. */
export interface NthWeekdayOfMonth {
  nth: 1 | 2 | 3 | 4 | -1; // -1: last
  weekday: 'monday' | 'tuesday' | 'wednesday' | 'thursday' | 'friday' | 'saturday' | 'sunday';
  month: number; // 1–12
}

export type AnnualDay = { monthDay: MonthDay } | NthWeekdayOfMonth;

export type LimitSpec =
  | { kind: 'minutes'; minutes: number }
  /** Civil Code art. 171–173: the anchor's day is not counted; ends at the end of the last working day. */
  | { kind: 'working-days'; days: number }
  | { kind: 'calendar-period'; months?: number; days?: number }
  /**
   * A fixed window each year: act between `from` and `until` (both inclusive, local time Asia/Almaty). With
   * `untilMovesToWorkingDay`, an `until` day that is not a working day moves to the next working day (the Civil Code's
   * rule for the last day of a period, read into a fixed date where the act is silent).
   */
  | {
      kind: 'annual-window';
      from?: AnnualDay;
      until: AnnualDay;
      untilTime?: string /* "HH:MM", default end of day */;
      untilMovesToWorkingDay?: boolean;
    }
  /** Set later per case or cohort (e.g. the curriculum); no deadline until it is set. */
  | { kind: 'by-programme'; maxMonths?: number }
  /**
   * "No later than N working days before" a later date (the anchor's date): the act must be done by 24:00 of the
   * N-th working day counted back from the day before that date.
   */
  | { kind: 'working-days-before'; days: number };

export interface Limit {
  id: string; // unique within its step
  spec: LimitSpec;
  anchor: Anchor;
  /** The clause; a clause with a `track` makes the limit apply on that track only. */
  clause: ClauseRef;
  /** When set, the limit applies only to cases that came in through one of these intake channels. */
  channels?: string[];
  /**
   * Where the regulation contradicts itself, or is silent on where a period starts: the reading applied is `spec` from
   * `anchor`; the other is kept here, counted from its own `anchor` where it gives one (else from the limit's).
   */
  alternative?: { spec: LimitSpec; clause: ClauseRef; anchor?: Anchor };
  /** Why `spec` was chosen when it is not the stricter reading. */
  appliedReason?: string;
}

/** What a limit counts from, as a key: limits (or readings) with one key count from one act or date. */
export function anchorKey(anchor: Anchor): string {
  if ('step' in anchor) return `step:${anchor.step}`;
  if ('stepStarted' in anchor) return `started:${anchor.stepStarted}`;
  if ('cohortDate' in anchor) return `cohort:${anchor.cohortDate}`;
  return `data:${anchor.stepDataDate.step}.${anchor.stepDataDate.field}`;
}
