/**
 * Seeds a realistic history of cases through the command path the API uses: every act is a command to
 * CaseCommandService by a principal carrying the regulation role, so it is decided (prerequisites, roles,
 * unit, applicant IIN, version in force, intake window), validated, sealed into the stream's hash chain
 * and durably appended, exactly like an HTTP command.
 *
 * recordedAt is simulated by the demo's clock: each case has its own clock, injected as
 * `CaseCommandOptions.clock`, that says when each act was recorded — normally minutes after it occurred,
 * for a share of acts days later, so the service flags them back-dated by its own rule. The business
 * times (occurredAt, startedAt) lie inside each version's period, on working days in office hours
 * (Asia/Almaty), and mostly within the regulation's limits (demo-timing.ts).
 *
 * The same seed gives the same plans, business times and outcomes; case ids, event ids and hashes are
 * new on every run, as they would be for the same commands sent again over HTTP. Every command of a demo
 * case carries the correlation id `demo:<seed>/case-<n>` (over HTTP it is the request's id), so a demo
 * case can be found again, and compared between runs, by its place in the run.
 */
import { dayNumber } from '../modules/calendar/domain/local-date';
import type { WorkingCalendar } from '../modules/calendar/domain/working-calendar';
import type { EventLog } from '../modules/event-log/event-log.port';
import type { Catalog } from '../modules/regulations/domain/catalog';
import {
  CaseCommandService,
  type PersonalDataProtection,
  type CommandOutcome,
  type CommandRefusal,
} from '../modules/cases/commands/case-command-service';
import { StaffDirectory } from './demo-people';
import { planCase, type CasePlan, type PlannedAct } from './demo-scenarios';
import { DemoTimeline, DEFAULT_LATE_RATES, type ChosenTimes, type LateRates } from './demo-timing';
import { Rng } from './prng';

const MINUTE = 60_000;
const DAY = 24 * 60 * MINUTE;

export const DEFAULT_DEMO_SEED = 'reglament-demo';

export interface DemoOptions {
  cases: number;
  seed: string;
  /** Cases seeded at the same time (their commands share the log's group commits). */
  concurrency: number;
  /** Share of acts recorded days after they occurred. */
  backDatedShare?: number;
  lateRates?: LateRates;
  /** Called when a case is done (for a progress bar). */
  onCaseDone?: () => void;
}

export interface DemoDependencies {
  eventLog: EventLog;
  catalog: Catalog;
  calendar: WorkingCalendar;
  /** The service's rule: an act recorded more than this long after it occurred is back-dated. */
  backDatedAfterMs: number;
  /** Encrypts the demo people's personal data as the service does. */
  personalData?: PersonalDataProtection;
}

export interface SeededCase {
  index: number;
  caseId: string | null;
  versionId: string;
  trackId: string;
  story: string;
  /** Commands accepted, the submission included. */
  accepted: number;
}

/** A command the service refused: the demo's plan and the regulation disagree. Reported, never worked around. */
export interface DemoRefusal {
  index: number;
  caseId: string | null;
  versionId: string;
  trackId: string;
  stepId: string;
  actor: string;
  occurredAt: string;
  refusal: CommandRefusal;
}

export interface DemoRun {
  cases: SeededCase[];
  refusals: DemoRefusal[];
  /** The log's head before the first demo command: the run's events are those after it. */
  headBefore: number;
}

/**
 * The case's recording clock: when the act was entered into the system. Minutes after the act; for a
 * back-dated act, in office hours some days later. Acts of a case are entered in order, so an act that
 * happened while an earlier one still waited to be entered is entered after it, in the same sitting.
 */
class RecordingClock {
  private current = 0;

  constructor(
    private readonly timeline: DemoTimeline,
    private readonly backDatedAfterMs: number,
  ) {}

  now(): Date {
    return new Date(this.current);
  }

  record(rng: Rng, occurredAt: Date, backDated: boolean): void {
    const at = backDated
      ? this.timeline
          .officeMoment(rng, new Date(occurredAt.getTime() + this.backDatedAfterMs + rng.between(0.05, 5) * DAY))
          .getTime()
      : occurredAt.getTime() + Math.round(rng.between(0.2, 25) * MINUTE);
    this.current = Math.max(at, this.current + Math.round(rng.between(0.5, 4) * MINUTE));
  }
}

export async function seedDemo(deps: DemoDependencies, options: DemoOptions): Promise<DemoRun> {
  if (!Number.isInteger(options.cases) || options.cases < 1)
    throw new RangeError(`cases must be a whole number ≥ 1, got ${options.cases}`);
  const root = new Rng(options.seed);
  const staff = new StaffDirectory(root.fork('staff'));
  const timeline = new DemoTimeline(deps.calendar, options.lateRates ?? DEFAULT_LATE_RATES);
  const headBefore = await deps.eventLog.headPosition();
  const cases: SeededCase[] = new Array(options.cases);
  const refusals: DemoRefusal[] = [];

  let next = 0;
  const worker = async () => {
    while (next < options.cases) {
      const index = next++;
      const rng = root.fork(`case-${index}`);
      const plan = planCase(index, rng, staff, deps.calendar.timeZone);
      cases[index] = await runCase(deps, timeline, rng, plan, options.backDatedShare ?? 0.025, refusals);
      options.onCaseDone?.();
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(options.concurrency, options.cases)) }, worker));
  refusals.sort((a, b) => a.index - b.index);
  return { cases, refusals, headBefore };
}

async function runCase(
  deps: DemoDependencies,
  timeline: DemoTimeline,
  rng: Rng,
  plan: CasePlan,
  backDatedShare: number,
  refusals: DemoRefusal[],
): Promise<SeededCase> {
  const version = deps.catalog.byId.get(plan.versionId);
  if (!version) throw new Error(`the catalog has no ${plan.versionId}; the demo needs all six versions`);
  const clock = new RecordingClock(timeline, deps.backDatedAfterMs);
  const service = new CaseCommandService(deps.eventLog, deps.catalog, deps.calendar, {
    backDatedAfterMs: deps.backDatedAfterMs,
    clock: () => clock.now(),
    ...(deps.personalData ? { personalData: deps.personalData } : {}),
  });
  const zone = deps.calendar.timeZone;
  const meta = { correlationId: `demo:${rng.seed}` };
  const seeded: SeededCase = {
    index: plan.index,
    caseId: null,
    versionId: plan.versionId,
    trackId: plan.trackId,
    story: plan.story,
    accepted: 0,
  };
  const channelId =
    version.channels.find((c) =>
      (plan.channel === 'office' ? ['provider', 'provider-registry'] : [plan.channel]).includes(c.id),
    )?.id ?? plan.channel;

  const refused = (
    stepId: string,
    actor: string,
    times: ChosenTimes,
    outcome: Extract<CommandOutcome, { ok: false }>,
  ) => {
    refusals.push({
      index: plan.index,
      caseId: seeded.caseId,
      versionId: plan.versionId,
      trackId: plan.trackId,
      stepId,
      actor,
      occurredAt: zone.formatLocal(times.occurredAt),
      refusal: outcome.refusal,
    });
    return seeded;
  };

  const filed = timeline.submission(
    rng,
    version,
    { trackId: plan.trackId, channel: channelId },
    plan.submission.from,
    plan.submission.to,
    plan.submission.hours,
  );
  clock.record(rng, filed.occurredAt, rng.chance(backDatedShare));
  const submitted = await service.submit(
    plan.submittedBy,
    {
      serviceId: plan.serviceId,
      trackId: plan.trackId,
      channel: plan.channel,
      unit: plan.unit,
      applicant: { iin: plan.applicant.iin, fullName: plan.applicant.fullName },
      occurredAt: filed.occurredAt,
      startedAt: filed.startedAt,
      ...(plan.cohortDates ? { cohortDates: plan.cohortDates } : {}),
    },
    meta,
  );
  if (!submitted.ok) return refused('application-submitted', plan.submittedBy.id, filed, submitted);
  seeded.caseId = submitted.accepted.caseId;
  seeded.accepted++;

  for (let i = 0; i < plan.acts.length; i++) {
    const act: PlannedAct = plan.acts[i]!;
    const loaded = await service.repository.load(seeded.caseId);
    const state = loaded!.state;
    const step = version.steps.find((s) => s.id === act.stepId);
    if (!step) throw new Error(`the demo plans step ${act.stepId}, which ${version.versionId} does not have`);
    const laterSteps = plan.acts.slice(i + 1).flatMap((a) => version.steps.filter((s) => s.id === a.stepId));
    const times = timeline.act(rng, {
      state,
      version,
      step,
      laterSteps,
      hours: act.hours ?? 'office',
      ...(act.gap ? { gap: act.gap } : {}),
      ...(act.notBefore ? { notBefore: new Date(zone.wallTimeMs(dayNumber(act.notBefore), 0)) } : {}),
      ...(act.startedBefore ? { startedBefore: act.startedBefore } : {}),
    });
    clock.record(rng, times.occurredAt, rng.chance(backDatedShare));
    const outcome = act.cancel
      ? await service.cancel(
          act.as,
          seeded.caseId,
          { occurredAt: times.occurredAt, ...(act.cancel.reason ? { reason: act.cancel.reason } : {}) },
          state.revision,
          meta,
        )
      : await service.takeStep(
          act.as,
          seeded.caseId,
          {
            stepId: act.stepId,
            occurredAt: times.occurredAt,
            startedAt: times.startedAt,
            data: act.data?.(times) ?? {},
          },
          state.revision,
          meta,
        );
    if (!outcome.ok) return refused(act.stepId, act.as.id, times, outcome);
    seeded.accepted++;
  }
  return seeded;
}
