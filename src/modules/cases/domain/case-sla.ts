/**
 * The SLA of a case, computed from its acts and the regulation, never typed in: one row per step and
 * limit whose clock has started. A row is met or breached once its step is done, and open or overdue
 * before. A row whose clock counts from a date the case does not know yet (the end of document acceptance a
 * portal filing cannot give) is not left out: it waits for that date. Where the regulation contradicts itself,
 * the other reading's deadline and status come along. Pure.
 */
import type { WorkingCalendar } from '../../calendar/domain/working-calendar';
import { dayNumber } from '../../calendar/domain/local-date';
import { isoMs, isoText } from '../../../shared/dates/instant-text';
import { sequenceYear, type AnnualWindowSpec } from '../../deadlines/domain/annual-window';
import { computeDeadline, type DeadlineResult } from '../../deadlines/domain/compute-deadline';
import { anchorKey, type Anchor, type ClauseRef, type Limit, type LimitSpec } from '../../deadlines/domain/limit';
import type { RegulationVersion } from '../../regulations/domain/catalog';
import { duenessOf, limitsCount, negativeAt } from './case-due';
import { prerequisitesOn } from './case-rules';
import type { RegulationStep } from '../../regulations/domain/regulation-schema';
import { stepsOnTrack, type CaseState } from './case-state';

/** `not-applicable`: the step never became due in this case (its condition did not arise, or the case took another branch). */
/** What dashboards group a case's SLA rows by. */
export interface SlaGrouping {
  serviceId: string;
  versionId: string;
  trackId: string;
  unit: string;
  assignee: string | null;
  channel: string;
}

export function slaGroupingOf(state: CaseState): SlaGrouping {
  return {
    serviceId: state.serviceId,
    versionId: state.versionId,
    trackId: state.trackId,
    unit: state.unit,
    assignee: state.assignee,
    channel: state.channel,
  };
}

/**
 * `waiting`: the step is due but its clock cannot start: the date it counts from (the row's anchor, a cohort date) is
 * not known yet. No deadline, in no compliance rate, until the date is recorded.
 */
export type SlaStatus = 'met' | 'breached' | 'open' | 'overdue' | 'not-applicable' | 'waiting';

export interface SlaRow {
  stepId: string;
  limitId: string;
  clause: ClauseRef;
  kind: LimitSpec['kind'];
  spec: LimitSpec;
  /** What started the clock: a step's completion or start, or a cohort date; while `waiting`, what it waits for. */
  anchor: Limit['anchor'];
  /** When the clock started; null while it waits for the date it counts from. */
  startedAt: string | null;
  /**
   * Set where the applied reading counts from an act's own start (anchor stepStarted) that the act has not recorded
   * (not done yet, or done without a start of its own): the row then counts from the other reading's start, the end of
   * the act before, which is the earliest the act can have started.
   */
  startNotRecorded?: true;
  /** The first instant at which the limit is exceeded; null while a by-programme limit has no programme. */
  deadline: string | null;
  /** For annual windows: when acting became possible. */
  opensAt?: string;
  completedAt: string | null;
  status: SlaStatus;
  /**
   * The other reading where the text contradicts itself or reads two ways; with its own anchor and start where it
   * counts from another act or date than the applied one (waiting while that is not known).
   */
  alternative: {
    spec: LimitSpec;
    clause: ClauseRef;
    anchor?: Limit['anchor'];
    startedAt?: string | null;
    deadline: string | null;
    status: SlaStatus;
  } | null;
}

/** Whether a limit applies to this case: its clause's track, and its intake channels. */
export function limitApplies(limit: Limit, state: Pick<CaseState, 'trackId' | 'channel'>): boolean {
  return (
    (!limit.clause.track || limit.clause.track === state.trackId) &&
    (!limit.channels || limit.channels.includes(state.channel))
  );
}

/**
 * The completions that had occurred by asOf, parsed once per computation: stepId → when (ms and as stored). When the
 * step started is parsed only by the rare limit that counts from it.
 */
type Done = Map<
  string,
  {
    occurred: number;
    occurredIso: string;
    startedIso: string;
    negative: boolean;
    dates: Record<string, string> | undefined;
  }
>;

function doneBy(state: CaseState, asOf: Date): Done {
  const done: Done = new Map();
  const at = asOf.getTime();
  const completed = state.completed;
  for (const stepId in completed) {
    const c = completed[stepId]!;
    const occurred = isoMs(c.occurredAt);
    if (occurred <= at)
      done.set(stepId, {
        occurred,
        occurredIso: c.occurredAt,
        startedIso: c.startedAt,
        negative: negativeAt(c, at),
        dates: c.dates,
      });
  }
  return done;
}

/**
 * A cohort date as it was known at asOf: given at the filing, or recorded by a step done by then (setsCohortDate).
 * Undefined while it was not.
 */
function cohortDateBy(state: CaseState, version: RegulationVersion, id: string, done: Done): string | undefined {
  const date = state.cohortDates[id];
  if (date === undefined) return undefined;
  for (const step of version.steps)
    if (step.setsCohortDate === id && state.completed[step.id] && !done.has(step.id)) return undefined;
  return date;
}

const notBeforeFiling = (version: RegulationVersion, id: string): boolean =>
  version.cohortDates.some((c) => c.id === id && c.notBeforeFiling === true);
const maxDate = (a: string, b: string): string => (a < b ? b : a);

/** Whether a limit's clock counts from a date the case did not know at asOf (and so cannot start yet). */
function waitsForDate(anchor: Limit['anchor'], state: CaseState, version: RegulationVersion, done: Done): boolean {
  return 'cohortDate' in anchor && cohortDateBy(state, version, anchor.cohortDate, done) === undefined;
}

/** Whether a limit counts from an act's own start that the act has not recorded (as of `asOf`): not done, or done without a start of its own. */
function ownStartUnknown(limit: Pick<Limit, 'anchor'>, done: Done): boolean {
  if (!('stepStarted' in limit.anchor)) return false;
  const d = done.get(limit.anchor.stepStarted);
  return !d || d.startedIso === d.occurredIso;
}

/** The instant a limit's clock started (ms, and as an ISO string), or null while it has not (as of `asOf`). */
function anchorOf(
  limit: Pick<Limit, 'anchor'>,
  state: CaseState,
  version: RegulationVersion,
  calendar: WorkingCalendar,
  asOf: Date,
  done: Done,
): { ms: number; iso: string } | null {
  const anchor = limit.anchor;
  let found: { ms: number; iso: string } | null = null;
  if ('step' in anchor) {
    const d = done.get(anchor.step);
    found = d ? { ms: d.occurred, iso: d.occurredIso } : null;
  } else if ('stepStarted' in anchor) {
    const d = done.get(anchor.stepStarted);
    found = d ? { ms: isoMs(d.startedIso), iso: d.startedIso } : null;
  } else if ('stepDataDate' in anchor) {
    const date = done.get(anchor.stepDataDate.step)?.dates?.[anchor.stepDataDate.field];
    const instant = date ? calendar.timeZone.toInstant(date, 0) : null;
    // The date lies ahead of the act: the clock is read backwards from it, and the row exists once the act is done.
    return instant ? { ms: instant.getTime(), iso: isoText(instant.getTime()) } : null;
  } else {
    const given = cohortDateBy(state, version, anchor.cohortDate, done);
    // A date before the filing (a filing made after its round's acceptance had ended) starts the clock at the filing's
    // own date where the cohort date says so (notBeforeFiling): the case cannot be late before it existed.
    const date =
      given && notBeforeFiling(version, anchor.cohortDate)
        ? maxDate(given, calendar.timeZone.toLocal(new Date(state.submittedAt)).date)
        : given;
    const instant = date ? calendar.timeZone.toInstant(date, 0) : null;
    found = instant ? { ms: instant.getTime(), iso: isoText(instant.getTime()) } : null;
  }
  return found && found.ms <= asOf.getTime() ? found : null;
}

/** The annual windows of a track and channel, by what they count from: computed once per version, track and channel. */
const windowSequences = new WeakMap<RegulationVersion, Map<string, Map<string, AnnualWindowSpec[]>>>();

function windowSequence(
  version: RegulationVersion,
  state: Pick<CaseState, 'trackId' | 'channel'>,
  anchor: Anchor,
): readonly AnnualWindowSpec[] {
  let byCase = windowSequences.get(version);
  if (!byCase) windowSequences.set(version, (byCase = new Map()));
  const caseKey = `${state.trackId}\u0000${state.channel}`;
  let byAnchor = byCase.get(caseKey);
  if (!byAnchor) {
    byAnchor = new Map();
    for (const step of stepsOnTrack(version, state.trackId))
      for (const limit of step.limits)
        if (limit.spec.kind === 'annual-window' && limitApplies(limit, state)) {
          const key = anchorKey(limit.anchor);
          byAnchor.set(key, [...(byAnchor.get(key) ?? []), limit.spec]);
        }
    byCase.set(caseKey, byAnchor);
  }
  return byAnchor.get(anchorKey(anchor)) ?? [];
}

/**
 * The year an annual-window limit of this case resolves in: the annual windows the case counts from the same act are
 * one sequence in one year, the first in which none of them had closed at that act (order 184, appendix 3, p.5
 * pp.2-4: the exams, the competition and the enrolment of one admission). Undefined for a limit of another kind.
 */
export function windowYearOf(
  limit: Limit,
  state: Pick<CaseState, 'trackId' | 'channel'>,
  version: RegulationVersion,
  anchor: Date,
  calendar: WorkingCalendar,
): number | undefined {
  if (limit.spec.kind !== 'annual-window') return undefined;
  const specs = windowSequence(version, state, limit.anchor);
  // A window whose last day moves to a working day (none yet in a sequence) is read with the calendar it needs.
  const workingDay = specs.some((s) => s.untilMovesToWorkingDay)
    ? (date: string) => !calendar.covers(date) || calendar.isWorkingDay(date)
    : undefined;
  return sequenceYear(specs, anchor, calendar.timeZone, workingDay);
}

/** Later than any act: every clock that has started counts as started. */
const END_OF_TIME = new Date(8.64e15);

/**
 * The period a step has its place in (withinPeriod: the appeal commission's 5 working days for an appeal), as the
 * SLA counts it in this case: the named limit, its deadline, and the step it belongs to; null when the step names
 * none, the limit does not apply to the case, or its clock has not started.
 */
export function periodOf(
  state: CaseState,
  version: RegulationVersion,
  step: Pick<RegulationStep, 'withinPeriod'>,
  calendar: WorkingCalendar,
): { stepId: string; limit: Limit; deadline: Date } | null {
  const within = step.withinPeriod;
  if (!within) return null;
  const limit = version.steps.find((s) => s.id === within.step)?.limits.find((l) => l.id === within.limit);
  if (!limit || !limitApplies(limit, state)) return null;
  const anchor = anchorOf(limit, state, version, calendar, END_OF_TIME, doneBy(state, END_OF_TIME));
  if (!anchor) return null;
  const at = new Date(anchor.ms);
  const windowYear = windowYearOf(limit, state, version, at, calendar);
  const { deadline } = computeDeadline(limit, at, calendar, {
    withoutDays: true,
    programmeDeadline: programmeDeadline(state, calendar),
    ...(windowYear === undefined ? {} : { windowYear }),
  });
  return deadline ? { stepId: within.step, limit, deadline } : null;
}

/** The instant a limit's clock started, or null while it has not (as of `asOf`). */
export function anchorInstant(
  limit: Limit,
  state: CaseState,
  version: RegulationVersion,
  calendar: WorkingCalendar,
  asOf: Date,
): Date | null {
  const anchor = anchorOf(limit, state, version, calendar, asOf, doneBy(state, asOf));
  return anchor ? new Date(anchor.ms) : null;
}

/**
 * A row's status at asOf. A step left undone when its case closed is no longer open: breached when its
 * deadline had passed at the close, met (nothing missed) when it had not. An act before its window opened
 * (`opensAt`) is not met either: a window has two edges.
 */
export function statusOf(
  deadline: Date | null,
  completedAt: Date | null,
  asOf: Date,
  closedAt: Date | null = null,
  opensAt: Date | null = null,
): SlaStatus {
  if (completedAt)
    return (deadline && completedAt.getTime() >= deadline.getTime()) ||
      (opensAt && completedAt.getTime() < opensAt.getTime())
      ? 'breached'
      : 'met';
  if (closedAt) return deadline && deadline.getTime() <= closedAt.getTime() ? 'breached' : 'met';
  return deadline && asOf.getTime() >= deadline.getTime() ? 'overdue' : 'open';
}

/**
 * The by-programme deadline as it stood at asOf: the programme end an act done by then recorded (its dates), none
 * before one was. The state's own programme end is the latest act's, later than asOf too: an auditor's asOf before the
 * schedule was set saw a deadline, and an overdue row, the case did not have then.
 */
function programmeDeadlineBy(state: CaseState, calendar: WorkingCalendar, done: Done): Date | undefined {
  if (!state.programmeEndsOn) return undefined;
  let endsOn: string | undefined;
  let at = -Infinity;
  for (const d of done.values())
    if (d.dates?.programmeEndsOn && d.occurred > at) {
      endsOn = d.dates.programmeEndsOn;
      at = d.occurred;
    }
  return endsOn ? calendar.timeZone.endOfDay(dayNumber(endsOn)) : undefined;
}

/** The by-programme deadline: the end of the programme's last day. */
export function programmeDeadline(state: CaseState, calendar: WorkingCalendar): Date | undefined {
  return state.programmeEndsOn ? calendar.timeZone.endOfDay(dayNumber(state.programmeEndsOn)) : undefined;
}

export interface SlaRowWithResult extends SlaRow {
  /** The engine's result, whose explanation is built only when read; null while the row waits for its date. */
  result: DeadlineResult | null;
  alternativeResult: DeadlineResult | null;
}

/** Every SLA row of the case as it stood at `asOf` (acts that occurred later are not counted). */
export function caseSla(
  state: CaseState,
  version: RegulationVersion,
  calendar: WorkingCalendar,
  asOf: Date,
  explain: { withDays?: boolean } = {},
): SlaRowWithResult[] {
  const rows: SlaRowWithResult[] = [];
  const done = doneBy(state, asOf);
  const closedMs = state.closedAt ? isoMs(state.closedAt) : Number.NaN;
  const closedAt = closedMs <= asOf.getTime() ? new Date(closedMs) : null;
  // Bulk computation leaves out the day-by-day list; an auditor's explanation asks for it.
  const options = { withoutDays: !explain.withDays, programmeDeadline: programmeDeadlineBy(state, calendar, done) };
  const dueness = duenessOf(version, state.trackId, done);
  for (const step of stepsOnTrack(version, state.trackId)) {
    const completion = done.get(step.id);
    const completedAt = completion ? new Date(completion.occurred) : null;
    if (!completion && step.optional && !prerequisitesOn(version, state.trackId, step).every((id) => done.has(id)))
      continue;
    // A limit counts only once its step is due: before (or without) that, it is reported as not applicable. A case
    // that ended with a result (or the portal's refusal) needs none of the steps it left undone; a cancelled one
    // keeps the deadlines missed before the applicant withdrew.
    const endedWithout = !completion && closedAt !== null && state.status !== 'cancelled';
    const applicable = !endedWithout && limitsCount(step, dueness.get(step.id) ?? 'due');
    for (const limit of step.limits) {
      if (!limitApplies(limit, state)) continue;
      const own = anchorOf(limit, state, version, calendar, asOf, done);
      // The other reading may count from another act or date (its own anchor), whose clock may run while this one's
      // has not started: the row then exists, the applied reading waiting for its date.
      const elsewhere = limit.alternative?.anchor;
      const alternativeAnchor = elsewhere ? anchorOf({ anchor: elsewhere }, state, version, calendar, asOf, done) : own;
      // An act's own start the act has not recorded is not known; where the other reading counts from the end of the act
      // before (the earliest it can have started: decide refuses a start before it), the row counts from there, so a
      // test never timed reads neither met for no time spent nor waiting while it is late.
      const startNotRecorded = elsewhere !== undefined && alternativeAnchor !== null && ownStartUnknown(limit, done);
      const anchor = startNotRecorded ? alternativeAnchor : own;
      // A clock that has not started is no row, unless the step is due and only the date it counts from is missing:
      // that row waits for its date (a due step whose clock never starts could never be breached).
      const waiting = !anchor && applicable && waitsForDate(limit.anchor, state, version, done);
      if (!anchor && !waiting && !alternativeAnchor) continue;
      const anchorDate = anchor ? new Date(anchor.ms) : null;
      // A case's annual windows counted from one act are one sequence in one year (windowYearOf).
      const windowYear = anchorDate ? windowYearOf(limit, state, version, anchorDate, calendar) : undefined;
      const limitOptions = windowYear === undefined ? options : { ...options, windowYear };
      const result = anchorDate ? computeDeadline(limit, anchorDate, calendar, limitOptions) : null;
      const alternative =
        limit.alternative && alternativeAnchor
          ? computeDeadline(
              {
                ...limit,
                spec: limit.alternative.spec,
                clause: limit.alternative.clause,
                anchor: elsewhere ?? limit.anchor,
              },
              new Date(alternativeAnchor.ms),
              calendar,
              elsewhere ? options : limitOptions,
            )
          : null;
      // A step left undone by a case that closed: only a deadline that had already passed at the close counts (one
      // never known, none; while the applied reading's is unknown, the other reading's).
      const decisive = result ?? alternative;
      if (
        applicable &&
        !completedAt &&
        closedAt &&
        !(decisive?.deadline && decisive.deadline.getTime() <= closedAt.getTime())
      )
        continue;
      // A case that closed while the applied reading's clock had not started: that reading counted nothing, and its row
      // would wait for good. Kept only where the other reading's clock ran (its verdict stands, a breach before the close
      // included), the applied one then not applicable.
      if (closedAt && !result && applicable && !alternative) continue;
      // An act done before the date its clock counts forward from, a date an earlier act recorded (the corps «A» test
      // before the schedule's first testing day), did not keep to it: breached, as an act before its window opens.
      const startsOn =
        anchorDate && 'stepDataDate' in limit.anchor && limit.anchor.stepDataDate.step !== step.id ? anchorDate : null;
      const status =
        !applicable || (closedAt && !result)
          ? 'not-applicable'
          : result
            ? statusOf(result.deadline, completedAt, asOf, closedAt, result.opensAt ?? startsOn)
            : 'waiting';
      const alternativeRow = limit.alternative
        ? {
            spec: limit.alternative.spec,
            clause: limit.alternative.clause,
            // Said only where the other reading counts from elsewhere: what, and when its clock started.
            ...(elsewhere ? { anchor: elsewhere, startedAt: alternativeAnchor ? alternativeAnchor.iso : null } : {}),
            deadline: alternative?.deadline ? isoText(alternative.deadline.getTime()) : null,
            status: !applicable
              ? ('not-applicable' as const)
              : alternative
                ? statusOf(alternative.deadline, completedAt, asOf, closedAt, alternative.opensAt ?? null)
                : ('waiting' as const),
          }
        : null;
      // One literal, opensAt in place even where it is undefined (JSON and every reader leave it out), rather than a
      // spread of it among the fields: a spread in the middle of a literal adds every field after it one at a time, and
      // rows are built for every case each catch-up batch touches.
      rows.push({
        stepId: step.id,
        limitId: limit.id,
        clause: limit.clause,
        kind: limit.spec.kind,
        spec: limit.spec,
        anchor: limit.anchor,
        startedAt: anchor ? anchor.iso : null,
        startNotRecorded: startNotRecorded ? true : undefined,
        deadline: result?.deadline ? isoText(result.deadline.getTime()) : null,
        opensAt: result?.opensAt ? isoText(result.opensAt.getTime()) : undefined,
        completedAt: completion?.occurredIso ?? null,
        status,
        alternative: alternativeRow,
        result,
        alternativeResult: alternative,
      });
    }
  }
  return rows;
}
