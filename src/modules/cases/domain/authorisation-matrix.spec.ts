/**
 * Who may take which step: every role tokens can carry × every step of every version and track, each asked
 * of `decide` with the step open and a caller holding that one role. Allowed exactly when the regulation
 * file lists the role on the step for that track (a step shared by tracks may name other roles on each).
 */
import { join } from 'node:path';
import { loadCalendars } from '../../calendar/domain/load-calendar';
import { ROLES, type Principal, type Role } from '../../identity/domain/principal';
import { loadCatalog, type RegulationVersion } from '../../regulations/domain/catalog';
import { rolesOn, type RegulationStep } from '../../regulations/domain/regulation-schema';
import { EXTERNAL_ROLES, openSteps } from './case-rules';
import {
  CaseWalk,
  makeIin,
  offeredChannel,
  principal,
  validStepData,
  type Given,
} from '../../../../test/support/case-specification';
import { clauseReference } from './case-event';
import { stepsOnTrack } from './case-state';
import type { CaseCommand } from './decide';

const DATA = join(__dirname, '../../../../data');
const catalog = loadCatalog(join(DATA, 'regulations'));
const zone = loadCalendars(join(DATA, 'calendars')).get('KZ')!.timeZone;

const UNIT = 'astana-department';
const OTHER_UNIT = 'almaty-department';
const IIN = makeIin('880101', 3, 123);
const OTHER_IIN = makeIin('920315', 4, 456);
const ALL_ROLES = Object.keys(ROLES) as Role[];

const startOf = (version: RegulationVersion): Date =>
  new Date(version.effective.from.startsWith('2019') ? '2019-04-16T10:00:00+06:00' : '2015-09-15T10:00:00+06:00');

interface Case {
  version: RegulationVersion;
  trackId: string;
  step: RegulationStep;
}

const cases: Case[] = catalog.versions.flatMap((version) =>
  version.tracks.flatMap((t) => stepsOnTrack(version, t.id).map((step) => ({ version, trackId: t.id, step }))),
);
const label = (c: Case) => `${c.version.versionId} / ${c.trackId} / ${c.step.id}`;
const isSubmission = (c: Case) => c.step.after.length === 0;

/** The case with every prerequisite of the step taken by its own roles; built once per step. */
const opened = new Map<string, CaseWalk>();
function openFor(c: Case): CaseWalk {
  const key = label(c);
  let walk = opened.get(key);
  if (!walk) {
    walk = new CaseWalk(catalog, zone, c.version, c.trackId, { unit: UNIT, iin: IIN, start: startOf(c.version) });
    walk.submit();
    walk.openUpTo(c.step.id);
    walk.advance();
    expect(openSteps(walk.state, c.version).map((s) => s.id)).toContain(c.step.id);
    opened.set(key, walk);
  }
  return walk;
}

/** `decide` asked to take the step (or, for the first step, to file the case) by this caller. */
function ask(c: Case, caller: Principal) {
  if (isSubmission(c)) {
    const start = startOf(c.version);
    const walk = new CaseWalk(catalog, zone, c.version, c.trackId, { unit: UNIT, iin: IIN, start });
    const command: CaseCommand = {
      kind: 'submit',
      caseId: 'matrix-case',
      receiptNumber: 'RG-M',
      serviceId: c.version.serviceId,
      trackId: c.trackId,
      channel: offeredChannel(c.version),
      unit: UNIT,
      applicant: { iin: IIN, fullName: 'Әлия Сәрсенова' },
    };
    return walk.spec.given([]).when(command, caller);
  }
  const walk = openFor(c);
  const given: Given = walk.spec.given(walk.events);
  return given.when(
    { kind: 'take-step', stepId: c.step.id, data: validStepData(c.version, c.step, c.trackId) },
    caller,
  );
}

/** A caller with exactly this role in the case's unit; the applicant also carries the case's IIN. */
const holder = (role: Role, unit = UNIT, iin = IIN): Principal =>
  role === 'applicant' ? principal('applicant', unit, { iin }) : principal(role, unit);

const NO_PART =
  'the e-government portal and state bodies act only on a case where they recorded an act or a step is theirs to take now';

describe('every role × every step of every version and track', () => {
  it('covers every step of the catalog', () => {
    expect(cases.length).toBe(
      catalog.versions.reduce((n, v) => n + v.tracks.reduce((m, t) => m + stepsOnTrack(v, t.id).length, 0), 0),
    );
    expect(new Set(cases.map((c) => `${c.version.versionId}/${c.step.id}`)).size).toBe(
      catalog.versions.reduce((n, v) => n + v.steps.length, 0),
    );
  });

  it('no step names the auditor or the admin', () => {
    expect(cases.filter((c) => c.step.roles.some((r) => r === 'auditor' || r === 'admin')).map(label)).toEqual([]);
  });

  const matrix = cases.flatMap((c) =>
    ALL_ROLES.map(
      (role) => [label(c), role, rolesOn(c.step, c.trackId).includes(role) ? 'allowed' : 'refused', c] as const,
    ),
  );

  it.each(matrix)('%s as %s: %s', (_label, role, expected, c) => {
    const when = ask(c, holder(role));
    if (expected === 'allowed') {
      when.then([{ type: c.step.eventType as never, stepId: c.step.id, role, clause: clauseReference(c.step.clause) }]);
    } else {
      const refused = when.thenRefused('forbidden', { callerRoles: [role] });
      // The portal and a state body with no part in the case (no act of theirs, no open step theirs) are refused
      // before the step is looked at: they may not read the case, so its refusal names no step of it.
      if (EXTERNAL_ROLES.has(role) && refused.requiredRoles.length === 0) expect(refused.detail).toBe(NO_PART);
      else if (role !== 'auditor') expect(refused.requiredRoles).toEqual(rolesOn(c.step, c.trackId));
    }
  });
});

describe('the caller’s unit and IIN', () => {
  const staffRoles = cases.flatMap((c) =>
    rolesOn(c.step, c.trackId)
      .filter((r) => r !== 'applicant' && !EXTERNAL_ROLES.has(r))
      .map((role) => [label(c), role as Role, c] as const),
  );
  const externalRoles = cases.flatMap((c) =>
    rolesOn(c.step, c.trackId)
      .filter((r) => EXTERNAL_ROLES.has(r))
      .map((role) => [label(c), role as Role, c] as const),
  );
  const applicantSteps = cases
    .filter((c) => rolesOn(c.step, c.trackId).includes('applicant'))
    .map((c) => [label(c), c] as const);

  it('the catalog has steps for each kind of caller', () => {
    expect(staffRoles.length).toBeGreaterThan(0);
    expect(externalRoles.map(([, role]) => role).sort()).toEqual(
      expect.arrayContaining(['e-government-portal', 'state-body']),
    );
    expect(applicantSteps.length).toBeGreaterThan(0);
  });

  it.each(staffRoles)('%s: %s of another unit is refused, naming the case’s unit', (_label, role, c) => {
    const refused = ask(c, holder(role, OTHER_UNIT)).thenRefused('forbidden', {
      requiredUnit: UNIT,
      callerUnit: OTHER_UNIT,
    });
    expect(refused.detail).toContain(`"${UNIT}"`);
  });

  it.each(externalRoles)('%s: %s acts from outside the case’s unit', (_label, role, c) => {
    ask(c, holder(role, 'egov.kz')).then([{ type: c.step.eventType as never, stepId: c.step.id, role }]);
  });

  it.each(applicantSteps)('%s: an applicant with another IIN is refused', (_label, c) => {
    const refused = ask(c, holder('applicant', UNIT, OTHER_IIN)).thenRefused('forbidden');
    expect(refused.detail).toMatch(/own IIN/);
  });

  // Found attacking the service: a token with the applicant's role and a staff role, in the case's unit, admitted,
  // briefed, scored and signed its holder's own test.
  const ownCaseRoles = [...staffRoles, ...externalRoles].filter(([, , c]) => !isSubmission(c));
  it.each(ownCaseRoles)('%s: %s who is the case’s applicant acts on it as its applicant only', (_label, role, c) => {
    const caller = principal(['applicant', role], UNIT, { iin: IIN });
    const when = ask(c, caller);
    if (rolesOn(c.step, c.trackId).includes('applicant')) {
      when.then([{ type: c.step.eventType as never, stepId: c.step.id, role: 'applicant' }]);
    } else {
      const refused = when.thenRefused('forbidden');
      expect(refused.detail).toContain(`this case's applicant`);
    }
    // The same staff member on another person's case is not refused for it.
    ask(c, principal([role], UNIT, { iin: OTHER_IIN })).then([
      { type: c.step.eventType as never, stepId: c.step.id, role },
    ]);
  });

  it.each(applicantSteps)('%s: the applicant is not bound to the provider’s unit', (_label, c) => {
    ask(c, holder('applicant', 'public')).then([
      { type: c.step.eventType as never, stepId: c.step.id, role: 'applicant' },
    ]);
  });
});

/**
 * Order 58 p.6–7: on the postgraduate track the technical secretary accepts the documents (p.7 pp.1) and
 * gives the extract or the notice of non-admission (p.7 pp.5); on qualification improvement an Institute
 * employee does both (p.7 pp.1–2, pp.5). The steps are shared by the two tracks; the role is the track's.
 */
describe('order 58: who acts on a shared step is decided by the case’s track', () => {
  const version = catalog.byId.get('academy-admission/order-58-2019')!;
  const at = (trackId: string, stepId: string): Case => ({
    version,
    trackId,
    step: version.steps.find((s) => s.id === stepId)!,
  });

  it.each<[string, string, Role, 'allowed' | 'refused', string]>([
    ['postgraduate', 'application-submitted', 'technical-secretary', 'allowed', 'p.7 pp.1 (postgraduate)'],
    ['postgraduate', 'application-submitted', 'institute-employee', 'refused', 'p.7 pp.1 (postgraduate)'],
    [
      'qualification-improvement',
      'application-submitted',
      'institute-employee',
      'allowed',
      'p.7 pp.1–2 (qualification improvement)',
    ],
    [
      'qualification-improvement',
      'application-submitted',
      'technical-secretary',
      'refused',
      'p.7 pp.1–2 (qualification improvement)',
    ],
    ['postgraduate', 'extract-issued', 'technical-secretary', 'allowed', 'p.7 pp.5 (postgraduate)'],
    ['postgraduate', 'extract-issued', 'institute-employee', 'refused', 'p.7 pp.5 (postgraduate)'],
    [
      'qualification-improvement',
      'extract-issued',
      'institute-employee',
      'allowed',
      'p.7 pp.5 (qualification improvement)',
    ],
    [
      'qualification-improvement',
      'extract-issued',
      'technical-secretary',
      'refused',
      'p.7 pp.5 (qualification improvement)',
    ],
    ['postgraduate', 'refusal-issued', 'technical-secretary', 'allowed', 'p.7 pp.5 (postgraduate)'],
    ['postgraduate', 'refusal-issued', 'institute-employee', 'refused', 'p.7 pp.5 (postgraduate)'],
    [
      'qualification-improvement',
      'refusal-issued',
      'institute-employee',
      'allowed',
      'p.7 pp.5 (qualification improvement)',
    ],
    [
      'qualification-improvement',
      'refusal-issued',
      'technical-secretary',
      'refused',
      'p.7 pp.5 (qualification improvement)',
    ],
    ['postgraduate', 'portal-refusal', 'e-government-portal', 'allowed', 'p.10 pp.8 (either track)'],
    ['qualification-improvement', 'portal-refusal', 'e-government-portal', 'allowed', 'p.10 pp.8 (either track)'],
  ])('%s / %s as %s: %s (%s)', (trackId, stepId, role, expected) => {
    const c = at(trackId, stepId);
    const when = ask(c, holder(role));
    if (expected === 'allowed') when.then([{ type: c.step.eventType as never, stepId, role }]);
    else {
      const refused = when.thenRefused('forbidden', { callerRoles: [role] });
      expect(refused.detail).toContain(`on track ${trackId}`);
      expect(refused.requiredRoles).not.toContain(role);
    }
  });
});
