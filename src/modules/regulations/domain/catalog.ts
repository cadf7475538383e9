/**
 * The regulation catalog: every version file validated on its own and against the others.
 * A bad catalog is refused as a whole, listing each file, the path inside it and the problem.
 */
import { readdirSync } from 'node:fs';
import { basename, join } from 'node:path';
import { isEventType } from '../../../events/event-types';
import { isRole, ROLES } from '../../identity/domain/principal';
import { DataFileError, loadDataFile, type DataFileProblem } from '../../../shared/data-files/load-data-file';
import type { Anchor } from '../../deadlines/domain/limit';
import { regulationFileSchema, type RegulationFile } from './regulation-schema';

export interface RegulationVersion extends RegulationFile {
  /** The file it was loaded from. */
  file: string;
}

export interface Catalog {
  versions: RegulationVersion[];
  byId: ReadonlyMap<string, RegulationVersion>;
  /** Versions of each service, oldest first. */
  byService: ReadonlyMap<string, RegulationVersion[]>;
}

/** The version a stored case names; a catalog that lost it cannot serve the case (a deployment error, not bad input). */
export function caseVersion(catalog: Catalog, versionId: string): RegulationVersion {
  const version = catalog.byId.get(versionId);
  if (!version) throw new Error(`a case names regulation version ${versionId}, which the catalog does not hold`);
  return version;
}

export class CatalogError extends Error {
  constructor(readonly failures: DataFileError[]) {
    super(`the regulation catalog is invalid:\n${failures.map((f) => `  ${f.message}`).join('\n')}`);
    this.name = 'CatalogError';
  }
}

export function loadCatalog(dir: string): Catalog {
  let names: string[];
  try {
    names = readdirSync(dir)
      .filter((n) => n.endsWith('.yaml') || n.endsWith('.yml'))
      .sort();
  } catch (error) {
    throw new CatalogError([
      new DataFileError(dir, [{ path: '', problem: `cannot be read: ${(error as NodeJS.ErrnoException).code}` }]),
    ]);
  }
  if (names.length === 0)
    throw new CatalogError([new DataFileError(dir, [{ path: '', problem: 'holds no regulation files (*.yaml)' }])]);

  const failures: DataFileError[] = [];
  const versions: RegulationVersion[] = [];
  for (const name of names) {
    const file = join(dir, name);
    try {
      const data = loadDataFile(file, regulationFileSchema);
      const problems = checkVersion(data, name);
      if (problems.length > 0) failures.push(new DataFileError(file, problems));
      else versions.push({ ...data, file });
    } catch (error) {
      if (error instanceof DataFileError) failures.push(error);
      else throw error;
    }
  }
  failures.push(...checkAcrossVersions(versions));
  if (failures.length > 0) throw new CatalogError(failures);

  const byService = new Map<string, RegulationVersion[]>();
  for (const version of versions) {
    const list = byService.get(version.serviceId) ?? [];
    list.push(version);
    byService.set(version.serviceId, list);
  }
  for (const list of byService.values()) list.sort((a, b) => a.effective.from.localeCompare(b.effective.from));
  return { versions, byId: new Map(versions.map((v) => [v.versionId, v])), byService };
}

/** Cross-references inside one file. */
export function checkVersion(data: RegulationFile, fileName: string): DataFileProblem[] {
  const problems: DataFileProblem[] = [];
  const add = (path: string, problem: string) => problems.push({ path, problem });

  if (!data.versionId.startsWith(`${data.serviceId}/`))
    add('versionId', `must start with the service id "${data.serviceId}/"`);
  if (data.versionId !== `${data.serviceId}/${data.act.id}`)
    add('versionId', `must be "${data.serviceId}/${data.act.id}" (service id / act id)`);
  const expectedName = `${data.serviceId}.${data.act.id}.yaml`;
  if (basename(fileName) !== expectedName) add('', `the file must be named ${expectedName} after its version`);
  if (data.effective.until !== null && data.effective.until < data.effective.from)
    add('effective.until', `must not be before effective.from (${data.effective.from})`);

  const acts = new Set([data.act.id, ...(data.act.amends ? [data.act.amends.id] : [])]);
  const tracks = unique(
    data.tracks.map((t) => t.id),
    'tracks',
    add,
  );
  const roles = unique(
    data.roles.map((r) => r.id),
    'roles',
    add,
  );
  const results = unique(
    data.results.map((r) => r.id),
    'results',
    add,
  );
  const steps = unique(
    data.steps.map((s) => s.id),
    'steps',
    add,
  );
  const cohortDates = unique(
    data.cohortDates.map((c) => c.id),
    'cohortDates',
    add,
  );
  const channels = unique(
    data.channels.map((c) => c.id),
    'channels',
    add,
  );

  const checkClause = (path: string, clause: { act: string; track?: string }) => {
    if (!acts.has(clause.act))
      add(`${path}.act`, `"${clause.act}" is not this version's act (${[...acts].join(' or ')})`);
    if (clause.track && !tracks.has(clause.track))
      add(`${path}.track`, `"${clause.track}" is not a declared track (${[...tracks].join(', ')})`);
  };
  const checkTracks = (path: string, list: string[]) =>
    list.forEach((t, i) => {
      if (!tracks.has(t)) add(`${path}[${i}]`, `"${t}" is not a declared track (${[...tracks].join(', ')})`);
    });

  data.channels.forEach((c, i) => checkClause(`channels[${i}].clause`, c.clause));
  data.tracks.forEach((t, i) => checkClause(`tracks[${i}].clause`, t.clause));
  data.roles.forEach((r, i) => {
    checkClause(`roles[${i}].clause`, r.clause);
    // A role no token can carry would make its steps impossible to take.
    if (!isRole(r.id))
      add(
        `roles[${i}].id`,
        `"${r.id}" is not a role tokens can carry (src/modules/identity/domain/principal.ts: ${Object.keys(ROLES).join(', ')})`,
      );
  });
  data.results.forEach((r, i) => {
    checkClause(`results[${i}].clause`, r.clause);
    checkTracks(`results[${i}].tracks`, r.tracks);
  });
  data.cohortDates.forEach((c, i) => checkClause(`cohortDates[${i}].clause`, c.clause));
  data.intakeWindows.forEach((w, i) => {
    checkClause(`intakeWindows[${i}].clause`, w.clause);
    checkTracks(`intakeWindows[${i}].tracks`, w.tracks);
    if (w.spec.kind !== 'annual-window') add(`intakeWindows[${i}].spec.kind`, 'must be annual-window');
    // The filing is checked against its intake without the working-day calendar.
    else if (w.spec.untilMovesToWorkingDay)
      add(
        `intakeWindows[${i}].spec.untilMovesToWorkingDay`,
        'an intake window keeps its dates: its last day does not move to a working day',
      );
  });

  const eventTypeOnTrack = new Map<string, string>();
  data.steps.forEach((step, i) => {
    const path = `steps[${i}]`;
    if (!isEventType(step.eventType))
      add(`${path}.eventType`, `"${step.eventType}" is not in the event vocabulary (src/events/event-types.ts)`);
    step.roles.forEach((r, j) => {
      if (!roles.has(r)) add(`${path}.roles[${j}]`, `"${r}" is not a declared role (${[...roles].join(', ')})`);
    });
    if (step.requiresAll && step.roles.length < 2) add(`${path}.requiresAll`, 'needs at least two roles');
    // Each role of such a step signs in person, told apart by who signed; the applicant is recorded as the case's
    // applicant, not by name, so a person who is also staff could sign for both.
    if (step.requiresAll && step.roles.includes('applicant'))
      add(
        `${path}.requiresAll`,
        'cannot include the applicant: each role signs in person, and the applicant is recorded by no name',
      );
    if (step.rolesByTrack) {
      const byTrack = step.rolesByTrack;
      for (const [track, list] of Object.entries(byTrack)) {
        if (!step.tracks.includes(track))
          add(
            `${path}.rolesByTrack.${track}`,
            `"${track}" is not one of this step's tracks (${step.tracks.join(', ')})`,
          );
        list.forEach((r, j) => {
          if (!step.roles.includes(r))
            add(
              `${path}.rolesByTrack.${track}[${j}]`,
              `"${r}" is not in the step's roles (${step.roles.join(', ')}), which list everyone who performs it on any track`,
            );
        });
        if (step.requiresAll && list.length < 2)
          add(`${path}.rolesByTrack.${track}`, 'needs at least two roles (requiresAll)');
      }
      // Deny by default: a track left out would silently fall back to every role of the step.
      step.tracks.forEach((t) => {
        if (!byTrack[t])
          add(`${path}.rolesByTrack`, `names no roles for track "${t}"; give every track of the step its roles`);
      });
      const used = new Set(Object.values(byTrack).flat());
      step.roles.forEach((r, j) => {
        if (!used.has(r)) add(`${path}.roles[${j}]`, `"${r}" performs the step on no track of rolesByTrack`);
      });
    }
    step.after.forEach((a, j) => {
      if (!steps.has(a)) add(`${path}.after[${j}]`, `"${a}" is not a step of this version`);
      if (a === step.id) add(`${path}.after[${j}]`, 'a step cannot follow itself');
    });
    checkTracks(`${path}.tracks`, step.tracks);
    if (step.result && !results.has(step.result))
      add(`${path}.result`, `"${step.result}" is not a declared result (${[...results].join(', ')})`);
    if (step.optional && !step.condition) add(`${path}.condition`, 'an optional step must say when it happens');
    // A limit of a step that happens only in some cases must not count in the others: it needs the act that makes it due.
    if (step.optional && step.limits.length > 0 && !step.dueWhen)
      add(
        `${path}.dueWhen`,
        'an optional step with a time limit must name the act that makes it due (dueWhen); its limits count only from then',
      );
    step.dueWhen?.forEach((d, j) => {
      const other = data.steps.find((s) => s.id === d.step);
      if (!other) add(`${path}.dueWhen[${j}].step`, `"${d.step}" is not a step of this version`);
      else if (!other.tracks.some((t) => step.tracks.includes(t)))
        add(`${path}.dueWhen[${j}].step`, `"${d.step}" shares no track with this step`);
      else if (d.step === step.id) add(`${path}.dueWhen[${j}].step`, 'a step cannot be made due by itself');
    });
    /** What is wrong with the j-th step a list of this step names (unknown, on no shared track, itself, twice), or null. */
    const namingProblem = (ids: readonly string[], j: number, itself: string): string | null => {
      const id = ids[j]!;
      const other = data.steps.find((s) => s.id === id);
      if (!other) return `"${id}" is not a step of this version`;
      if (!other.tracks.some((t) => step.tracks.includes(t))) return `"${id}" shares no track with this step`;
      if (id === step.id) return itself;
      return ids.indexOf(id) !== j ? `"${id}" is listed twice` : null;
    };
    step.waitsFor?.forEach((w, j) => {
      const other = data.steps.find((s) => s.id === w)!;
      const naming = namingProblem(step.waitsFor!, j, 'a step cannot wait for itself');
      if (naming) add(`${path}.waitsFor[${j}]`, naming);
      // The hold lasts until the step is first recorded, so a repeatable step would release it after its first time.
      else if (other.repeatable)
        add(
          `${path}.waitsFor[${j}]`,
          `"${w}" is repeatable: waiting for it would hold this step only until its first time`,
        );
      // An optional step without a condition would hold this step in every case until taken, even where it never happens.
      else if (!other.dueWhen && other.optional)
        add(
          `${path}.waitsFor[${j}]`,
          `"${w}" is optional with no condition (dueWhen): it would hold this step until taken, also in cases where it never happens`,
        );
      // Its chance may end while it is due: this step would wait for it for ever.
      else if (other.until?.length || other.withinPeriod)
        add(
          `${path}.waitsFor[${j}]`,
          `"${w}" may stop being recordable (${other.withinPeriod ? 'withinPeriod' : 'until'}): this step would wait for it for ever`,
        );
      // A step with no condition is due in every case: waiting for it is following it, which is what after says.
      else if (!other.dueWhen)
        add(
          `${path}.waitsFor[${j}]`,
          `"${w}" has no condition (dueWhen), so it is due in every case: a step that must come first goes in after`,
        );
      else {
        // A waited-for step that is due but follows an optional step the case may never take could never be
        // recorded: the wait would never end. Its optional predecessors must be among the acts that make it due.
        const makesDue = new Set(other.dueWhen.map((d) => d.step));
        for (const a of other.after) {
          const before = data.steps.find((s) => s.id === a);
          if (before?.optional && !makesDue.has(a))
            add(
              `${path}.waitsFor[${j}]`,
              `"${w}" follows the optional step "${a}", which is not among its dueWhen: a case without "${a}" would wait for "${w}" for ever`,
            );
        }
      }
    });
    step.until?.forEach((u, j) => {
      const naming = namingProblem(step.until!, j, 'a step cannot end its own chance');
      if (naming) add(`${path}.until[${j}]`, naming);
      else if (stepsBefore(data.steps, step.id).has(u))
        add(`${path}.until[${j}]`, `"${u}" comes before this step (through after): the step could never be recorded`);
    });
    if (step.withinPeriod) {
      const { step: owner, limit: limitId } = step.withinPeriod;
      const other = data.steps.find((s) => s.id === owner);
      const limit = other?.limits.find((l) => l.id === limitId);
      const from =
        limit &&
        ('step' in limit.anchor ? limit.anchor.step : 'stepStarted' in limit.anchor ? limit.anchor.stepStarted : null);
      if (!other) add(`${path}.withinPeriod.step`, `"${owner}" is not a step of this version`);
      else if (!other.tracks.some((t) => step.tracks.includes(t)))
        add(`${path}.withinPeriod.step`, `"${owner}" shares no track with this step`);
      else if (!limit)
        add(
          `${path}.withinPeriod.limit`,
          `"${limitId}" is not a limit of step "${owner}" (${other.limits.map((l) => l.id).join(', ') || 'none'})`,
        );
      else if (limit.spec.kind === 'by-programme')
        add(`${path}.withinPeriod.limit`, `"${limitId}" is set by a programme: it has no end until one is set`);
      // The period's end must be known whenever the step may be taken: its clock starts with a step this one follows.
      else if (!from || !stepsBefore(data.steps, step.id).has(from))
        add(
          `${path}.withinPeriod.limit`,
          `"${limitId}" must count from a step this step follows (through after): its end must be known when the step is open`,
        );
    }
    // A step whose chance may end must be one a case can do without, and owe no time: a step every case needs would be
    // left undone for ever, and its limits read overdue (dueness does not know the chance ended).
    for (const [key, ends] of [
      ['until', !!step.until?.length],
      ['withinPeriod', !!step.withinPeriod],
    ] as const) {
      if (ends && !step.optional)
        add(`${path}.${key}`, `only an optional step may have its chance ended (${key}): every case needs this one`);
      else if (ends && step.limits.length > 0)
        add(
          `${path}.${key}`,
          `a step whose chance may end (${key}) owes no time: its limits would read overdue once it ended`,
        );
    }
    if (step.repeatable && (step.terminal || step.requiresAll || step.result))
      add(`${path}.repeatable`, 'a repeatable step cannot be terminal, need every role, or issue a result');
    // A cohort date recorded after the filing: by the provider's staff, once, in an act of its own that ends nothing.
    if ((step.setsCohortDate !== undefined) !== (step.eventType === 'CohortDateRecorded'))
      add(
        step.setsCohortDate !== undefined ? `${path}.eventType` : `${path}.setsCohortDate`,
        'a step records a cohort date (setsCohortDate) exactly when its act is CohortDateRecorded',
      );
    if (step.setsCohortDate !== undefined) {
      if (!cohortDates.has(step.setsCohortDate))
        add(
          `${path}.setsCohortDate`,
          `"${step.setsCohortDate}" is not a declared cohort date (${[...cohortDates].join(', ') || 'none'})`,
        );
      if (step.roles.some((r) => r === 'applicant' || r === 'e-government-portal' || r === 'state-body'))
        add(`${path}.roles`, "a cohort date starts the provider's clocks: only the provider's staff record it");
      if (step.terminal || step.repeatable || step.requiresAll || step.result || step.limits.length > 0)
        add(
          `${path}.setsCohortDate`,
          'a step that records a cohort date is recorded once, by one role, ends nothing and owes no time of its own',
        );
    }
    checkClause(`${path}.clause`, step.clause);
    for (const track of step.tracks) {
      const key = `${track}\u0000${step.eventType}`;
      const other = eventTypeOnTrack.get(key);
      if (other)
        add(
          `${path}.eventType`,
          `${step.eventType} already completes step "${other}" on track ${track}; a case could not tell them apart`,
        );
      else eventTypeOnTrack.set(key, step.id);
    }
    /**
     * What a limit (or its other reading) counts from: a step of the version; a cohort date it declares; a date recorded
     * by this step's act, counted back from (working-days-before), or by the act of a step this one follows, counted
     * forward (the first testing day the published schedule names).
     */
    const checkAnchor = (apath: string, specPath: string, spec: { kind: string }, anchor: Anchor) => {
      if ('step' in anchor && !steps.has(anchor.step))
        add(`${apath}.step`, `"${anchor.step}" is not a step of this version`);
      if ('stepStarted' in anchor && !steps.has(anchor.stepStarted))
        add(`${apath}.stepStarted`, `"${anchor.stepStarted}" is not a step of this version`);
      if ('cohortDate' in anchor && !cohortDates.has(anchor.cohortDate))
        add(
          `${apath}.cohortDate`,
          `"${anchor.cohortDate}" is not a declared cohort date (${[...cohortDates].join(', ') || 'none'})`,
        );
      const backwards = spec.kind === 'working-days-before';
      if ('stepDataDate' in anchor) {
        const from = anchor.stepDataDate.step;
        if (backwards && from !== step.id)
          add(
            `${apath}.stepDataDate.step`,
            `must be this step ("${step.id}"): the date comes with the act the limit is on`,
          );
        else if (!backwards && from === step.id)
          add(
            `${apath}.stepDataDate.step`,
            'a period counted forward from a date its own act records would start when it ends: count it back (working-days-before), or from a step this one follows',
          );
        else if (!backwards && !stepsBefore(data.steps, step.id).has(from))
          add(
            `${apath}.stepDataDate.step`,
            `"${from}" is not a step this one follows (through after): the date must be recorded before the act the limit is on`,
          );
      } else if (backwards)
        add(
          specPath,
          'working-days-before and a stepDataDate anchor go together: the limit counts back from a date the act records',
        );
    };
    const limitIds = new Set<string>();
    step.limits.forEach((limit, j) => {
      const lpath = `${path}.limits[${j}]`;
      if (limitIds.has(limit.id)) add(`${lpath}.id`, `"${limit.id}" is used twice in this step`);
      limitIds.add(limit.id);
      checkAnchor(`${lpath}.anchor`, `${lpath}.spec.kind`, limit.spec, limit.anchor);
      // The other reading counts from its own anchor, or from the applied one's.
      if (limit.alternative)
        checkAnchor(
          `${lpath}.alternative.anchor`,
          `${lpath}.alternative.spec.kind`,
          limit.alternative.spec,
          limit.alternative.anchor ?? limit.anchor,
        );
      limit.channels?.forEach((c, k) => {
        if (!channels.has(c))
          add(`${lpath}.channels[${k}]`, `"${c}" is not a declared channel (${[...channels].join(', ')})`);
      });
      if (limit.clause.track && !step.tracks.includes(limit.clause.track))
        add(`${lpath}.clause.track`, `"${limit.clause.track}" is not one of this step's tracks`);
      checkClause(`${lpath}.clause`, limit.clause);
      if (limit.alternative) checkClause(`${lpath}.alternative.clause`, limit.alternative.clause);
      // A limit counted back from a date its act records (working-days-before) has no other start to count from.
      if (limit.alternative?.anchor && limit.spec.kind === 'working-days-before')
        add(
          `${lpath}.alternative.anchor`,
          'a limit counted back from a date its act records has no other start: give the alternative no anchor',
        );
    });
  });

  const cycle = findCycle(data.steps);
  if (cycle)
    add(
      `steps[${data.steps.findIndex((s) => s.id === cycle[0])}].after`,
      `the steps form a cycle: ${cycle.join(' → ')}`,
    );
  else {
    // A step that waits for one that follows it (or for one that waits for it) could never be taken once both are due.
    const waiting = findCycle(data.steps.map((s) => ({ id: s.id, after: [...s.after, ...(s.waitsFor ?? [])] })));
    if (waiting)
      add(
        `steps[${data.steps.findIndex((s) => s.id === waiting[0])}].waitsFor`,
        `the steps wait for each other, through after and waitsFor: ${waiting.join(' → ')}; such a case could never go on`,
      );
  }
  return problems;
}

function checkAcrossVersions(versions: RegulationVersion[]): DataFileError[] {
  const failures: DataFileError[] = [];
  const seen = new Map<string, RegulationVersion>();
  for (const version of versions) {
    const other = seen.get(version.versionId);
    if (other)
      failures.push(
        new DataFileError(version.file, [
          { path: 'versionId', problem: `"${version.versionId}" is also the version id of ${other.file}` },
        ]),
      );
    seen.set(version.versionId, version);
  }
  const byService = new Map<string, RegulationVersion[]>();
  for (const v of versions) byService.set(v.serviceId, [...(byService.get(v.serviceId) ?? []), v]);
  for (const list of byService.values()) {
    const sorted = [...list].sort((a, b) => a.effective.from.localeCompare(b.effective.from));
    for (let i = 1; i < sorted.length; i++) {
      const previous = sorted[i - 1];
      const current = sorted[i];
      if (previous.effective.until === null || previous.effective.until >= current.effective.from) {
        failures.push(
          new DataFileError(current.file, [
            {
              path: 'effective.from',
              problem: `${current.effective.from} overlaps ${previous.versionId} (in force ${previous.effective.from} to ${previous.effective.until ?? 'open-ended'}); one service has one version in force at a time`,
            },
          ]),
        );
      }
    }
  }
  return failures;
}

function unique(ids: string[], what: string, add: (path: string, problem: string) => void): Set<string> {
  const set = new Set<string>();
  ids.forEach((id, i) => {
    if (set.has(id)) add(`${what}[${i}].id`, `"${id}" is declared twice`);
    set.add(id);
  });
  return set;
}

function findCycle(steps: { id: string; after: string[] }[]): string[] | null {
  const after = new Map(steps.map((s) => [s.id, s.after]));
  const state = new Map<string, 'visiting' | 'done'>();
  const stack: string[] = [];
  const visit = (id: string): string[] | null => {
    if (state.get(id) === 'done' || !after.has(id)) return null;
    if (state.get(id) === 'visiting') return [...stack.slice(stack.indexOf(id)), id];
    state.set(id, 'visiting');
    stack.push(id);
    for (const next of after.get(id)!) {
      const cycle = visit(next);
      if (cycle) return cycle;
    }
    stack.pop();
    state.set(id, 'done');
    return null;
  };
  for (const s of steps) {
    const cycle = visit(s.id);
    if (cycle) return cycle;
  }
  return null;
}

/** Every step a step follows, directly or through others (after); a cycle, refused elsewhere, ends the walk. */
function stepsBefore(steps: readonly { id: string; after: readonly string[] }[], id: string): Set<string> {
  const byId = new Map(steps.map((s) => [s.id, s]));
  const seen = new Set<string>();
  const walk = (from: string) => {
    for (const a of byId.get(from)?.after ?? [])
      if (!seen.has(a)) {
        seen.add(a);
        walk(a);
      }
  };
  walk(id);
  return seen;
}
