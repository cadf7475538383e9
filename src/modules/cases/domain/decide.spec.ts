import { join } from 'node:path';
import { loadCalendars } from '../../calendar/domain/load-calendar';
import type { Role } from '../../identity/domain/principal';
import { loadCatalog, type RegulationVersion } from '../../regulations/domain/catalog';
import { STEP_DATA_SCHEMAS, parseStepData } from './case-event-data';
import { openSteps } from './case-rules';
import {
  CaseSpecification,
  CaseWalk,
  VALID_DATA,
  mainPath,
  makeIin,
  offeredChannel,
  pathTo,
  principal,
  validData,
} from '../../../../test/support/case-specification';
import { foldCase, stepsOnTrack } from './case-state';
import { clauseReference } from './case-event';
import type { SubmitApplication } from './decide';

const DATA = join(__dirname, '../../../../data');
const catalog = loadCatalog(join(DATA, 'regulations'));
const calendar = loadCalendars(join(DATA, 'calendars')).get('KZ')!;
const zone = calendar.timeZone;

const UNIT = 'astana-department';
const IIN = makeIin('880101', 3, 123);
const OTHER_IIN = makeIin('920315', 4, 456);

/** A working Tuesday inside each version's period; the 2019 postgraduate intake is open in April. */
const startOf = (version: RegulationVersion): Date =>
  new Date(version.effective.from.startsWith('2019') ? '2019-04-16T10:00:00+06:00' : '2015-09-15T10:00:00+06:00');
const version = (id: string): RegulationVersion => catalog.byId.get(id)!;
const walk = (versionId: string, trackId: string, start?: Date) =>
  new CaseWalk(catalog, zone, version(versionId), trackId, {
    unit: UNIT,
    iin: IIN,
    start: start ?? startOf(version(versionId)),
  });
const versionTracks: [string, string][] = catalog.versions.flatMap((v) =>
  v.tracks.map((t) => [v.versionId, t.id] as [string, string]),
);

/** A specification with a fixed clock. */
const specAt = (now: string | Date) => new CaseSpecification({ catalog, zone, clock: () => new Date(now) });
const applicant = principal('applicant', 'public', { iin: IIN });

function submission(overrides: Partial<SubmitApplication> = {}): SubmitApplication {
  return {
    kind: 'submit',
    caseId: 'c-1',
    receiptNumber: 'RG-1',
    serviceId: 'personnel-reserve',
    trackId: 'competition-recommended',
    channel: 'portal',
    unit: UNIT,
    applicant: { iin: IIN, fullName: 'Әлия Сәрсенова' },
    ...overrides,
  };
}

/**
 * The result each track ends with when every non-optional step is taken with a positive outcome, read off
 * the regulation files: the result the path's steps name, or else the track's one positive result.
 */
const MAIN_PATH_RESULT: Record<string, string[]> = {
  // extract-issued names admission-extract; student-documents-issued closes the case.
  'academy-admission/order-184-2015 default': ['admission-extract'],
  // extract-issued names no result; the track's positive result is the admission extract / listener extract.
  'academy-admission/order-58-2019 postgraduate': ['admission-extract'],
  'academy-admission/order-58-2019 qualification-improvement': ['listener-extract'],
  'academy-postgraduate-study/order-184-2015 default': ['diploma-with-transcript'],
  // Retraining and qualification improvement share one track and differ only in the document (p.3 pp.1-2);
  // nothing in the case says which programme it is, so either positive result is acceptable here.
  'academy-retraining/order-184-2015 default': ['retraining-completion-document', 'qualification-completion-document'],
  'civil-service-testing/order-184-2015 default': ['test-certificate'],
  'personnel-reserve/order-184-2015 competition-recommended': ['reserve-enrolment-extract'],
  'personnel-reserve/order-184-2015 priority-graduates': ['reserve-enrolment-extract'],
  'personnel-reserve/order-184-2015 corps-a-selection': ['candidate-list-submitted'],
};

/**
 * Optional steps that end a case other than by cancellation, the result each issues (named on the step, or the
 * track's negative notice) and the case's status: refused only by the portal's refusal of the service (p.10,
 * process 5); a result of the service (p.3), favourable or not, completes the case.
 */
const OPTIONAL_ENDING: Record<string, { result: string; status: 'completed' | 'refused' }> = {
  'academy-admission/order-184-2015 default portal-refusal': { result: 'portal-refusal', status: 'refused' },
  'academy-admission/order-184-2015 default not-admitted': { result: 'not-admitted', status: 'completed' },
  'academy-admission/order-58-2019 postgraduate portal-refusal': { result: 'portal-refusal', status: 'refused' },
  'academy-admission/order-58-2019 postgraduate refusal-issued': {
    result: 'admission-refusal-notice',
    status: 'completed',
  },
  'academy-admission/order-58-2019 qualification-improvement portal-refusal': {
    result: 'portal-refusal',
    status: 'refused',
  },
  'academy-admission/order-58-2019 qualification-improvement refusal-issued': {
    result: 'listener-refusal-notice',
    status: 'completed',
  },
  'academy-postgraduate-study/order-184-2015 default incomplete-study-reference-issued': {
    result: 'incomplete-study-reference',
    status: 'completed',
  },
  'civil-service-testing/order-184-2015 default portal-refusal': { result: 'portal-refusal', status: 'refused' },
  'personnel-reserve/order-184-2015 competition-recommended portal-refusal': {
    result: 'portal-refusal',
    status: 'refused',
  },
  'personnel-reserve/order-184-2015 priority-graduates portal-refusal': { result: 'portal-refusal', status: 'refused' },
  'personnel-reserve/order-184-2015 corps-a-selection portal-refusal': { result: 'portal-refusal', status: 'refused' },
  'personnel-reserve/order-184-2015 corps-a-selection not-admitted': { result: 'not-admitted', status: 'completed' },
};

describe('valid data per event type', () => {
  it.each(Object.keys(STEP_DATA_SCHEMAS).filter((t) => t !== 'ApplicationSubmitted'))(
    '%s: the table holds data its schema accepts',
    (type) => {
      expect(parseStepData(type as never, validData(type))).toMatchObject({ ok: true });
    },
  );

  it('has data for every event type a step of the catalog records', () => {
    const types = new Set(
      catalog.versions.flatMap((v) => v.steps.map((s) => s.eventType)).filter((t) => t !== 'ApplicationSubmitted'),
    );
    expect([...types].filter((t) => !(t in VALID_DATA))).toEqual([]);
  });
});

describe('every non-optional step of every version and track, in the order of `after`', () => {
  it('the expected results cover exactly the catalog’s tracks', () => {
    expect(Object.keys(MAIN_PATH_RESULT).sort()).toEqual(versionTracks.map(([v, t]) => `${v} ${t}`).sort());
  });

  it.each(versionTracks)('%s / %s', (versionId, trackId) => {
    const v = version(versionId);
    const path = mainPath(v, trackId);
    const w = walk(versionId, trackId);
    const submitted = w.submit();
    expect(submitted.state).toMatchObject({ status: 'open', versionId, trackId, unit: UNIT, applicant: { iin: IIN } });
    // The submission took the clock's instant as its business time.
    expect(submitted.produced[0]!.metadata.occurredAt).toBe(startOf(v).toISOString());

    for (const step of path.slice(1)) {
      expect(openSteps(w.state, v).map((s) => s.id)).toContain(step.id);
      expect(w.state.status).toBe('open');
      if (step.requiresAll) {
        // One caller per role: the step is done only once every role has signed.
        const [first, ...rest] = step.roles as Role[];
        const partial = w.take(step.id, { roles: [first!] });
        expect(partial.state.completed[step.id]).toBeUndefined();
        expect(openSteps(partial.state, v).map((s) => s.id)).toContain(step.id);
        w.take(step.id, { roles: rest });
      } else {
        const outcome = w.take(step.id);
        expect(outcome.produced[0]!.metadata.occurredAt).toBe(w.clock.toISOString());
      }
      expect(w.state.completed[step.id]).toEqual(expect.objectContaining({ revision: w.state.revision }));
    }

    const state = w.state;
    const terminal = path[path.length - 1]!;
    expect(terminal.terminal).toBe(true);
    expect(state.status).toBe('completed');
    expect(MAIN_PATH_RESULT[`${versionId} ${trackId}`]).toContain(state.result?.id);
    expect(state.result?.kind).toBe('positive');
    expect(state.closedAt).toBe(w.clock.toISOString());
    expect(Object.keys(state.completed).sort()).toEqual(path.map((s) => s.id).sort());
    expect(openSteps(state, v)).toEqual([]);
    // evolve spells the state's fields out: every one the first act makes, in its order (stored documents keep it).
    expect(Object.keys(state)).toEqual(Object.keys(foldCase(w.events.slice(0, 1), version)!));
  });
});

describe('optional steps, each from the state where it becomes possible', () => {
  const optional = versionTracks.flatMap(([versionId, trackId]) =>
    stepsOnTrack(version(versionId), trackId)
      .filter((s) => s.optional)
      .map((s) => [versionId, trackId, s.id] as [string, string, string]),
  );

  it('the expected endings cover exactly the optional steps that end a case, cancellations aside', () => {
    const endings = optional.filter(([v, , s]) => {
      const step = version(v).steps.find((x) => x.id === s)!;
      return step.terminal && step.eventType !== 'ApplicationCancelled';
    });
    expect(Object.keys(OPTIONAL_ENDING).sort()).toEqual(endings.map(([v, t, s]) => `${v} ${t} ${s}`).sort());
  });

  it.each(optional)('%s / %s: %s', (versionId, trackId, stepId) => {
    const v = version(versionId);
    const step = v.steps.find((s) => s.id === stepId)!;
    const w = walk(versionId, trackId);
    w.submit();
    // Walk the prerequisites (optional ones included, e.g. the appeal before its resolution), and the act that
    // makes a conditional step due (a failed exam before a non-admission), until the step opens.
    w.openUpTo(stepId);
    expect(openSteps(w.state, v).map((s) => s.id)).toContain(stepId);

    const outcome = w.take(stepId);
    if (step.eventType === 'ApplicationCancelled') {
      expect(outcome.state).toMatchObject({ status: 'cancelled', result: null, closedAt: w.clock.toISOString() });
    } else if (step.terminal) {
      const ending = OPTIONAL_ENDING[`${versionId} ${trackId} ${stepId}`]!;
      expect(outcome.state).toMatchObject({
        status: ending.status,
        result: { id: ending.result, kind: 'negative' },
        closedAt: w.clock.toISOString(),
      });
      expect(openSteps(outcome.state, v)).toEqual([]);
    } else {
      expect(step.terminal).toBe(false);
      expect(outcome.state.status).toBe('open');
      expect(outcome.state.completed[stepId]).toBeDefined();
    }
  });

  it('an appeal resolved in the applicant’s favour leaves the case on its way to enrolment', () => {
    const w = walk('academy-admission/order-184-2015', 'default');
    w.submit();
    w.take('documents-accepted');
    w.take('entrance-exams-passed', { data: { passed: false, score: 40 } });
    w.take('appeal-opened', { data: { reason: 'оценка занижена' } });
    const resolved = w.take('appeal-resolved', { data: { decision: 'upheld', note: 'балл пересчитан' } });
    expect(resolved.produced[0]).toMatchObject({
      type: 'AppealResolved',
      data: { decision: 'upheld' },
      metadata: { actor: { role: 'appeal-commission' } },
    });
    const open = openSteps(resolved.state, version('academy-admission/order-184-2015')).map((s) => s.id);
    expect(open).toContain('competition-decided');
    expect(open).not.toContain('appeal-resolved');
  });

  // Order 184 of 2015, appendix 3, p.7 pp.3: the appeal commission answers a filed appeal within 5 working days, and its
  // answer decides whether the exams were passed (p.5 pp.2). The non-admission closed the case over an unanswered
  // appeal, which then read its period as not applicable.
  it('a non-admission waits for the answer to a filed appeal, and follows a rejected one', () => {
    const w = walk('academy-admission/order-184-2015', 'default');
    w.submit();
    w.take('documents-accepted');
    w.take('entrance-exams-passed', { data: { passed: false, score: 40 } });
    w.take('appeal-opened', { data: { reason: 'оценка занижена' } });
    const admission = version('academy-admission/order-184-2015');
    expect(openSteps(w.state, admission).map((s) => s.id)).not.toContain('not-admitted');
    w.advance();
    w.spec
      .given(w.events)
      .when(
        { kind: 'take-step', stepId: 'not-admitted', data: { reason: 'экзамен не сдан' } },
        w.callerFor('admission-commission'),
      )
      .thenRefused('step-not-allowed', {
        stepId: 'not-admitted',
        detail: expect.stringMatching(/waits for appeal-resolved, due in this case and not recorded yet/),
      });
    w.take('appeal-resolved', { data: { decision: 'rejected' } });
    expect(openSteps(w.state, admission).map((s) => s.id)).toContain('not-admitted');
    expect(w.take('not-admitted', { data: { reason: 'экзамен не сдан' } }).state).toMatchObject({
      status: 'completed',
      result: { id: 'not-admitted' },
    });
  });

  // Before the acceptance was a step of its own, the filing stood for both acts and the exams followed it: such a case is
  // not asked for an acceptance after its exams (the worklist offered it, and it would have been recorded out of order).
  it('a case recorded before the acceptance was its own step is not asked for one once its exams are recorded', () => {
    const w = walk('academy-admission/order-184-2015', 'default');
    w.submit();
    w.take('documents-accepted');
    w.take('entrance-exams-passed');
    const asBefore = w.events.filter((e) => e.type !== 'DocumentsAccepted').map((e, revision) => ({ ...e, revision }));
    const admission = version('academy-admission/order-184-2015');
    const open = openSteps(w.spec.given(asBefore).state!, admission).map((s) => s.id);
    expect(open).not.toContain('documents-accepted');
    expect(open).toContain('competition-decided');
    w.advance();
    w.spec
      .given(asBefore)
      .when({ kind: 'take-step', stepId: 'documents-accepted', data: {} }, w.callerFor('technical-secretary'))
      .thenRefused('step-not-allowed', {
        stepId: 'documents-accepted',
        detail: expect.stringMatching(
          /can no longer be recorded: the case went past it \(entrance-exams-passed is done\)/,
        ),
      });
  });

  // Order 184 of 2015, appendix 3, p.7 pp.3: with no appeal filed, the non-admission waits out the days in which one may
  // still be (second law review, finding B); it closed the case at once and cut the appeal off.
  it('a non-admission after a failed exam with no appeal filed is held until an appeal can no longer be filed', () => {
    const w = walk('academy-admission/order-184-2015', 'default');
    w.submit();
    w.take('documents-accepted');
    w.take('entrance-exams-passed', { data: { passed: false, score: 40 } });
    w.advance();
    w.spec
      .given(w.events)
      .when(
        { kind: 'take-step', stepId: 'not-admitted', data: { reason: 'экзамен не сдан' } },
        w.callerFor('admission-commission'),
      )
      .thenRefused('rule', { code: 'period-not-ended', field: 'occurredAt' });
    w.pastFilingPeriods('not-admitted');
    expect(w.take('not-admitted', { data: { reason: 'экзамен не сдан' } }).state.status).toBe('completed');
  });

  it('the appeal resolution needs the appeal first', () => {
    const w = walk('academy-admission/order-184-2015', 'default');
    w.submit();
    w.take('documents-accepted');
    w.take('entrance-exams-passed');
    w.advance();
    w.spec
      .given(w.events)
      .when(
        { kind: 'take-step', stepId: 'appeal-resolved', data: { decision: 'rejected' } },
        w.callerFor('appeal-commission'),
      )
      .thenRefused('step-not-allowed', { stepId: 'appeal-resolved', missingPrerequisites: ['appeal-opened'] });
  });
});

describe('test outcome decides the result of civil-service testing', () => {
  const testedCase = (passed: boolean) => {
    const w = walk('civil-service-testing/order-184-2015', 'default');
    w.submit();
    w.take('admitted-to-test');
    w.take('applicant-briefed');
    w.take('test-completed', { data: { score: passed ? 82 : 41, passed } });
    w.take('test-results-signed');
    return w.take('test-result-issued').state;
  };

  it('a failed test completes the case with the below-threshold reference: a result of the service (app. 1 p.3 pp.2), not a refusal', () => {
    expect(testedCase(false)).toMatchObject({
      status: 'completed',
      result: { id: 'below-threshold-reference', kind: 'negative' },
    });
  });

  it('a passed test ends with the test certificate', () => {
    expect(testedCase(true)).toMatchObject({
      status: 'completed',
      result: { id: 'test-certificate', kind: 'positive' },
    });
  });
});

// The applicant takes the test (app.1 p.5 pp.4 «прохождение услугополучателем тестирования»), but its results are the
// administrator's and the operator's to sign (p.7 pp.4) and the administrator's to hand over (p.7 pp.5); the outcome
// recorded (passed) decides the certificate or the reference. The applicant recorded {score: 99, passed: true} and
// got the certificate.
describe('the applicant does not record the test result that decides what they get', () => {
  const briefedCase = () => {
    const w = walk('civil-service-testing/order-184-2015', 'default');
    w.submit('applicant', { channel: 'portal' });
    w.take('admitted-to-test');
    w.take('applicant-briefed');
    w.advance();
    return w;
  };
  const result = { kind: 'take-step' as const, stepId: 'test-completed', data: { score: 99, passed: true } };

  it('civil-service testing: the applicant is refused (403), nothing is written; the administrator or the operator records it', () => {
    const w = briefedCase();
    w.spec
      .given(w.events)
      .when(result, applicant)
      .thenRefused('forbidden', { requiredRoles: ['test-administrator', 'test-operator'] });
    for (const role of ['test-administrator', 'test-operator'] as const)
      w.spec
        .given(w.events)
        .when(result, principal(role, UNIT))
        .then([{ type: 'TestCompleted', stepId: 'test-completed', role, data: { score: 99, passed: true } }]);
  });

  // The test's 2 h 05 min count from the start its act records (p.7 pp.3 «Длительность выполнения»): a start before the
  // briefing it follows was done (found by a review) would count the briefing's time as the test's.
  it('a test whose recorded start lies before the briefing was done is 422 before-previous-act naming startedAt', () => {
    const w = briefedCase();
    const briefed = new Date(w.state.completed['applicant-briefed']!.occurredAt);
    const at = (startedAt: Date) => ({ ...result, startedAt, occurredAt: w.clock });
    const refused = w.spec
      .given(w.events)
      .when(at(new Date(briefed.getTime() - 60_000)), principal('test-administrator', UNIT))
      .thenRefused('rule', { code: 'before-previous-act', field: 'startedAt' });
    expect(refused).toMatchObject({ extensions: { previousStepId: 'applicant-briefed' } });
    w.spec
      .given(w.events)
      .when(at(briefed), principal('test-administrator', UNIT))
      .then([
        {
          type: 'TestCompleted',
          stepId: 'test-completed',
          role: 'test-administrator',
          data: { score: 99, passed: true },
        },
      ]);
  });

  // Appendix 5: the listener sits the final test (p.5 pp.5 «сдача услугополучателем итогового контроля знаний»); a
  // passed one makes the completion document due. The listener recorded their own pass.
  it('retraining: the listener is refused (403), nothing is written; the teaching staff records it', () => {
    const w = walk('academy-retraining/order-184-2015', 'default');
    w.submit();
    w.openUpTo('final-test-passed');
    w.advance();
    const passed = {
      kind: 'take-step' as const,
      stepId: 'final-test-passed',
      data: { exam: 'Итоговое тестирование', score: 99, passed: true },
    };
    w.spec
      .given(w.events)
      .when(passed, applicant)
      .thenRefused('forbidden', { requiredRoles: ['teaching-staff'] });
    w.spec
      .given(w.events)
      .when(passed, principal('teaching-staff', UNIT))
      .then([{ type: 'ExamResultRecorded', stepId: 'final-test-passed', role: 'teaching-staff' }]);
  });
});

// Appendices 4 and 5 are paper services whose procedure starts with «получение услугодателем документов от
// услугополучателя» (p.4); appendix 5 names the registry clerk who receives them (p.5 pp.1 «прием сотрудником
// канцелярии услугодателя»). Only the applicant could open these cases: a registry clerk holding a listener's letter
// was refused.
describe("the provider opens a case of the Academy's paper services on receiving the documents", () => {
  const opening = (serviceId: string) =>
    submission({ serviceId, trackId: undefined, channel: 'office', occurredAt: new Date('2015-09-15T10:00:00+06:00') });

  it.each([
    ['academy-retraining', 'registry-clerk'],
    ['academy-postgraduate-study', 'academic-programmes-centre'],
  ] as const)('%s: the %s opens it; the applicant is refused (403) and nothing is written', (serviceId, role) => {
    const spec = specAt('2015-09-15T10:00:00+06:00');
    spec
      .given()
      .when(opening(serviceId), principal(role, UNIT))
      .then([{ type: 'ApplicationSubmitted', stepId: 'application-submitted', role }]);
    spec
      .given()
      .when(opening(serviceId), applicant)
      .thenRefused('forbidden', { requiredRoles: [role] });
  });
});

// The student recorded their own dissertation defence, which makes the diploma due: on a paper-only service (p.2
// «бумажная») the applicant records no act.
describe('the applicant records no act of a paper-only service', () => {
  it('no step of a version whose only form is paper names the applicant', () => {
    const paperOnly = [...catalog.byId.values()].filter((v) => v.forms.length === 1 && v.forms[0] === 'paper');
    expect(paperOnly.map((v) => v.versionId).sort()).toEqual([
      'academy-postgraduate-study/order-184-2015',
      'academy-retraining/order-184-2015',
    ]);
    for (const version of paperOnly)
      expect(
        version.steps.filter((s) => s.roles.includes('applicant')).map((s) => `${version.versionId} ${s.id}`),
      ).toEqual([]);
  });

  it('postgraduate study: the student recording the defence is refused (403), the department records it', () => {
    const w = walk('academy-postgraduate-study/order-184-2015', 'default');
    w.submit('academic-programmes-centre');
    w.openUpTo('dissertation-defended');
    w.advance();
    const defended = {
      kind: 'take-step' as const,
      stepId: 'dissertation-defended',
      data: validData('DissertationDefended'),
    };
    w.spec
      .given(w.events)
      .when(defended, applicant)
      .thenRefused('forbidden', { requiredRoles: ['department'] });
    w.spec
      .given(w.events)
      .when(defended, principal('department', UNIT))
      .then([{ type: 'DissertationDefended', stepId: 'dissertation-defended', role: 'department' }]);
  });
});

describe('steps that need every role (requiresAll)', () => {
  const signingCase = () => {
    const w = walk('civil-service-testing/order-184-2015', 'default');
    w.submit();
    w.take('admitted-to-test');
    w.take('applicant-briefed');
    w.take('test-completed');
    w.advance();
    return w;
  };
  const signStep = { kind: 'take-step' as const, stepId: 'test-results-signed', data: {} };

  it('the same person cannot sign in both roles', () => {
    const w = signingCase();
    const both = principal(['test-administrator', 'test-operator'], UNIT, { id: 'both-roles' });
    const first = w.spec
      .given(w.events)
      .when(signStep, both)
      .then([{ type: 'TestResultsSigned', stepId: 'test-results-signed', role: 'test-administrator' }]);
    expect(first.state.completed['test-results-signed']).toBeUndefined();
    const again = w.spec.given(first.events).when(signStep, both).thenRefused('forbidden');
    expect(again.detail).toMatch(/both-roles has already signed/);
  });

  it('a second person in a role already signed is refused; the missing role completes the step', () => {
    const w = signingCase();
    const admin1 = principal('test-administrator', UNIT, { id: 'admin-1' });
    const admin2 = principal('test-administrator', UNIT, { id: 'admin-2' });
    const operator = principal('test-operator', UNIT, { id: 'operator-1' });
    const first = w.spec
      .given(w.events)
      .when(signStep, admin1)
      .then([{ type: 'TestResultsSigned', stepId: 'test-results-signed', role: 'test-administrator' }]);
    w.spec
      .given(first.events)
      .when(signStep, admin2)
      .thenRefused('forbidden', { requiredRoles: ['test-operator'] });
    expect(openSteps(first.state, version('civil-service-testing/order-184-2015')).map((s) => s.id)).toContain(
      'test-results-signed',
    );
    const second = w.spec
      .given(first.events)
      .when(signStep, operator)
      .then([{ type: 'TestResultsSigned', stepId: 'test-results-signed', role: 'test-operator' }]);
    expect(second.state.completed['test-results-signed']).toMatchObject({ revision: second.state.revision });
    expect(second.state.signatures['test-results-signed']!.map((s) => [s.role, s.actorId])).toEqual([
      ['test-administrator', 'admin-1'],
      ['test-operator', 'operator-1'],
    ]);
    // Once both have signed, the step is done for everyone, signers or not (not "done by nobody").
    for (const caller of [
      admin1,
      operator,
      principal('test-operator', UNIT, { id: 'operator-2' }),
      principal(['test-operator', 'test-administrator'], UNIT, { id: 'both' }),
    ]) {
      const refused = w.spec
        .given(second.events)
        .when(signStep, caller)
        .thenRefused('step-not-allowed', { stepId: 'test-results-signed' });
      expect(refused.detail).toMatch(/already done \(revision 5\)/);
    }
  });
});

describe('refusals of a step', () => {
  const reserve = () => {
    const w = walk('personnel-reserve/order-184-2015', 'competition-recommended');
    w.submit();
    w.advance();
    return w;
  };

  it('a step before its prerequisites names what is missing and what is open', () => {
    const w = reserve();
    const refused = w.spec
      .given(w.events)
      .when({ kind: 'take-step', stepId: 'order-signed', data: validData('OrderSigned') }, w.callerFor('signatory'))
      .thenRefused('step-not-allowed', {
        stepId: 'order-signed',
        caseStatus: 'open',
        missingPrerequisites: ['order-drafted'],
      });
    expect(refused.openSteps).toEqual(['portal-refusal', 'application-cancelled', 'documents-registered']);
    expect(refused.callerMayTake).toEqual([]);
  });

  // p.10 of each regulation orders the portal's check and refusal (condition 2, process 5) before its receipt (process 6):
  // the refusal answers the filing. It was offered, and taken, at any later point of a case, after the exams too.
  it.each([
    ['academy-admission/order-184-2015', 'default', 'documents-accepted'],
    ['academy-admission/order-58-2019', 'postgraduate', 'entrance-exams-passed'],
    ['academy-admission/order-58-2019', 'qualification-improvement', 'group-formed'],
    ['civil-service-testing/order-184-2015', 'default', 'admitted-to-test'],
    ['personnel-reserve/order-184-2015', 'competition-recommended', 'documents-registered'],
    ['personnel-reserve/order-184-2015', 'priority-graduates', 'documents-registered'],
    ['personnel-reserve/order-184-2015', 'corps-a-selection', 'corps-a-documents-reviewed'],
  ])('%s / %s: the portal refuses only until the provider takes the case up (%s)', (versionId, trackId, takenUp) => {
    const w = walk(versionId, trackId);
    w.submit();
    const v = version(versionId);
    expect(openSteps(w.state, v).map((s) => s.id)).toContain('portal-refusal');
    w.take(takenUp);
    expect(openSteps(w.state, v).map((s) => s.id)).not.toContain('portal-refusal');
    w.advance();
    w.spec
      .given(w.events)
      .when(
        { kind: 'take-step', stepId: 'portal-refusal', data: validData('PortalRefusalIssued') },
        w.callerFor('e-government-portal'),
      )
      // With its step gone the portal has no part in the case: refused before the step is looked at, it learns
      // nothing of where the case stands (the open steps would say how the exams went).
      .thenRefused('forbidden', { detail: expect.stringContaining('a step is theirs to take now'), requiredRoles: [] });
  });

  it('only the prerequisites on the case’s track count', () => {
    // extract-issued follows admission-order-drafted (postgraduate) and enrolment-order-signed (qualification improvement).
    const w = walk('academy-admission/order-58-2019', 'postgraduate');
    w.submit();
    w.advance();
    w.spec
      .given(w.events)
      .when(
        { kind: 'take-step', stepId: 'extract-issued', data: validData('ExtractIssued') },
        w.callerFor('technical-secretary'),
      )
      .thenRefused('step-not-allowed', { missingPrerequisites: ['admission-order-drafted'] });
  });

  it('a step on a closed case is refused', () => {
    const w = reserve();
    w.take('portal-refusal');
    w.advance();
    const refused = w.spec
      .given(w.events)
      .when(
        { kind: 'take-step', stepId: 'documents-registered', data: validData('DocumentRegistered') },
        w.callerFor('registry-clerk'),
      )
      .thenRefused('step-not-allowed', { caseStatus: 'refused', openSteps: [] });
    expect(refused.detail).toMatch(/the case is refused since/);
  });

  it('a step already done is refused', () => {
    const w = reserve();
    w.take('documents-registered');
    w.advance();
    const refused = w.spec
      .given(w.events)
      .when(
        { kind: 'take-step', stepId: 'documents-registered', data: validData('DocumentRegistered') },
        w.callerFor('registry-clerk'),
      )
      .thenRefused('step-not-allowed', { stepId: 'documents-registered' });
    expect(refused.detail).toMatch(/already done \(revision 1\)/);
  });

  it('a step of another track is refused', () => {
    const w = walk('personnel-reserve/order-184-2015', 'corps-a-selection');
    w.submit();
    w.advance();
    const refused = w.spec
      .given(w.events)
      .when(
        { kind: 'take-step', stepId: 'documents-registered', data: validData('DocumentRegistered') },
        w.callerFor('registry-clerk'),
      )
      .thenRefused('step-not-allowed', { stepId: 'documents-registered' });
    expect(refused.detail).toMatch(/not on track corps-a-selection/);
  });

  it('an unknown step is refused with the steps of the track', () => {
    const w = reserve();
    w.spec
      .given(w.events)
      .when({ kind: 'take-step', stepId: 'documents-stamped', data: {} }, w.callerFor('registry-clerk'))
      .thenRefused('unknown-step', {
        stepId: 'documents-stamped',
        steps: stepsOnTrack(version('personnel-reserve/order-184-2015'), 'competition-recommended').map((s) => s.id),
      });
  });

  it('the submission is not a step to take on an existing case', () => {
    const w = reserve();
    w.spec
      .given(w.events)
      .when({ kind: 'take-step', stepId: 'application-submitted', data: {} }, applicant)
      .thenRefused('step-not-allowed', { stepId: 'application-submitted' });
  });

  it('data that break the event’s schema are refused field by field', () => {
    const w = reserve();
    w.take('documents-registered');
    w.take('assigned-to-employee');
    w.advance();
    const refused = w.spec
      .given(w.events)
      .when(
        { kind: 'take-step', stepId: 'documents-reviewed', data: { outcome: 'non-compliant', stamp: 'x' } },
        w.callerFor('employee'),
      )
      .thenRefused('invalid');
    expect(refused.errors.map((e) => e.field).sort()).toEqual(['data', 'data.reasons']);
  });

  it('an act in the future is refused; one at the clock’s instant is accepted', () => {
    const w = reserve();
    const now = w.clock;
    const refused = w.spec
      .given(w.events)
      .when(
        {
          kind: 'take-step',
          stepId: 'documents-registered',
          occurredAt: new Date(now.getTime() + 60_000),
          data: validData('DocumentRegistered'),
        },
        w.callerFor('registry-clerk'),
      )
      .thenRefused('invalid');
    expect(refused.errors).toEqual([
      expect.objectContaining({ field: 'occurredAt', allowed: 'an instant not after now' }),
    ]);
    w.spec
      .given(w.events)
      .when(
        { kind: 'take-step', stepId: 'documents-registered', occurredAt: now, data: validData('DocumentRegistered') },
        w.callerFor('registry-clerk'),
      )
      .then([{ type: 'DocumentRegistered', stepId: 'documents-registered', role: 'registry-clerk' }]);
  });

  it('an act before the case’s previous act is refused; one at the same instant is accepted', () => {
    const w = reserve();
    const submittedAt = new Date(w.state.lastOccurredAt);
    const refused = w.spec
      .given(w.events)
      .when(
        {
          kind: 'take-step',
          stepId: 'documents-registered',
          occurredAt: new Date(submittedAt.getTime() - 60_000),
          data: validData('DocumentRegistered'),
        },
        w.callerFor('registry-clerk'),
      )
      .thenRefused('rule', {
        code: 'before-previous-act',
        field: 'occurredAt',
        extensions: { previousActAt: submittedAt.toISOString() },
      });
    expect(refused.detail).toMatch(/before the case's previous act/);
    w.spec
      .given(w.events)
      .when(
        {
          kind: 'take-step',
          stepId: 'documents-registered',
          occurredAt: submittedAt,
          data: validData('DocumentRegistered'),
        },
        w.callerFor('registry-clerk'),
      )
      .then([{ type: 'DocumentRegistered', stepId: 'documents-registered', role: 'registry-clerk' }]);
  });

  it('an act that started after it occurred is refused', () => {
    const w = reserve();
    const now = w.clock;
    w.spec
      .given(w.events)
      .when(
        {
          kind: 'take-step',
          stepId: 'documents-registered',
          occurredAt: now,
          startedAt: new Date(now.getTime() + 1),
          data: validData('DocumentRegistered'),
        },
        w.callerFor('registry-clerk'),
      )
      .thenRefused('invalid', { errors: [expect.objectContaining({ field: 'startedAt' })] });
  });
});

describe('cancellation', () => {
  it('the applicant cancels before the result', () => {
    const w = walk('personnel-reserve/order-184-2015', 'competition-recommended');
    w.submit();
    w.take('documents-registered');
    w.advance();
    const outcome = w.spec
      .given(w.events)
      .when({ kind: 'cancel', reason: 'нашёл другую работу' }, applicant)
      .then([
        {
          type: 'ApplicationCancelled',
          stepId: 'application-cancelled',
          role: 'applicant',
          data: { reason: 'нашёл другую работу' },
        },
      ]);
    expect(outcome.state).toMatchObject({ status: 'cancelled', result: null });
  });

  it('a PSC operator of the unit cancels on the applicant’s behalf a case filed at the PSC, not one filed on the portal', () => {
    for (const channel of ['psc', 'portal'] as const) {
      const w = walk('civil-service-testing/order-184-2015', 'default');
      w.submit('applicant', { channel });
      w.advance();
      const when = w.spec.given(w.events).when({ kind: 'cancel' }, principal('psc-operator', UNIT));
      if (channel === 'psc')
        when.then([
          {
            type: 'ApplicationCancelled',
            stepId: 'application-cancelled',
            role: 'psc-operator',
            onBehalfOf: 'applicant',
          },
        ]);
      else when.thenRefused('forbidden', { requiredRoles: ['applicant'] });
    }
    const w = walk('civil-service-testing/order-184-2015', 'default');
    w.submit('applicant', { channel: 'psc' });
    w.advance();
    w.spec
      .given(w.events)
      .when({ kind: 'cancel' }, principal('psc-operator', 'almaty-psc'))
      .thenRefused('forbidden', { requiredUnit: UNIT, callerUnit: 'almaty-psc' });
  });

  it('is refused once the result was issued', () => {
    // academy-admission 2015: the extract (the result) is issued before the student documents close the case.
    const w = walk('academy-admission/order-184-2015', 'default');
    w.submit();
    w.takeAll(
      mainPath(version('academy-admission/order-184-2015'), 'default').filter(
        (s) => s.id !== 'student-documents-issued',
      ),
    );
    expect(w.state).toMatchObject({ status: 'open', result: { id: 'admission-extract' } });
    expect(openSteps(w.state, version('academy-admission/order-184-2015')).map((s) => s.id)).not.toContain(
      'application-cancelled',
    );
    w.advance();
    w.spec
      .given(w.events)
      .when({ kind: 'cancel' }, applicant)
      .thenRefused('rule', {
        code: 'result-issued',
        extensions: { result: { id: 'admission-extract', kind: 'positive' } },
      });
  });

  it('a portal refusal after an issued extract is refused: the portal’s chance ended with the acceptance of the package', () => {
    const w = walk('academy-admission/order-184-2015', 'default');
    w.submit();
    w.takeAll(
      mainPath(version('academy-admission/order-184-2015'), 'default').filter(
        (s) => s.id !== 'student-documents-issued',
      ),
    );
    expect(openSteps(w.state, version('academy-admission/order-184-2015')).map((s) => s.id)).not.toContain(
      'portal-refusal',
    );
    w.advance();
    w.spec
      .given(w.events)
      .when(
        { kind: 'take-step', stepId: 'portal-refusal', data: validData('RefusalIssued') },
        w.callerFor('e-government-portal'),
      )
      // The portal's chance ended long before (until: the acceptance of the package): it has no part in the case now.
      .thenRefused('forbidden', { detail: expect.stringContaining('a step is theirs to take now'), requiredRoles: [] });
  });

  it('is refused on a closed case', () => {
    const w = walk('personnel-reserve/order-184-2015', 'priority-graduates');
    w.submit();
    w.takeAll(mainPath(version('personnel-reserve/order-184-2015'), 'priority-graduates'));
    w.advance();
    w.spec
      .given(w.events)
      .when({ kind: 'cancel' }, applicant)
      .thenRefused('step-not-allowed', { stepId: 'application-cancelled', caseStatus: 'completed' });
  });

  it('is refused where the regulation provides none', () => {
    for (const versionId of ['academy-retraining/order-184-2015', 'academy-postgraduate-study/order-184-2015']) {
      const w = walk(versionId, 'default');
      w.submit();
      w.advance();
      w.spec.given(w.events).when({ kind: 'cancel' }, applicant).thenRefused('rule', { code: 'no-cancellation' });
    }
  });

  it('by someone else’s applicant is refused', () => {
    const w = walk('personnel-reserve/order-184-2015', 'competition-recommended');
    w.submit();
    w.advance();
    const refused = w.spec
      .given(w.events)
      .when({ kind: 'cancel' }, principal('applicant', 'public', { iin: OTHER_IIN }))
      .thenRefused('forbidden');
    expect(refused.detail).toMatch(/own IIN/);
  });
});

describe('submission', () => {
  const postgraduate = (occurredAt: string) =>
    submission({
      serviceId: 'academy-admission',
      trackId: 'postgraduate',
      channel: 'portal',
      occurredAt: new Date(occurredAt),
    });
  const submitted = { type: 'ApplicationSubmitted' as const, stepId: 'application-submitted', role: 'applicant' };

  it('records the version in force, the channel and the applicant', () => {
    const outcome = specAt('2015-09-15T10:00:00+06:00').given().when(submission(), applicant).then([submitted]);
    expect(outcome.produced[0]!.data).toEqual({
      caseId: 'c-1',
      serviceId: 'personnel-reserve',
      versionId: 'personnel-reserve/order-184-2015',
      trackId: 'competition-recommended',
      channel: 'portal',
      requestedChannel: 'portal',
      unit: UNIT,
      applicant: { iin: IIN, fullName: 'Әлия Сәрсенова' },
      receiptNumber: 'RG-1',
      cohortDates: {},
    });
    expect(outcome.produced[0]!.metadata.regulation).toEqual({
      versionId: 'personnel-reserve/order-184-2015',
      clause: clauseReference(version('personnel-reserve/order-184-2015').steps[0]!.clause),
    });
  });

  it("records the applicant acting on their own case as the case's applicant, with no unit and not as their token names them (with or without a unit in the token, with a staff role beside); staff with theirs", () => {
    const citizen = { id: `egov-${IIN}`, name: 'Әлия Сәрсенова', roles: ['applicant' as Role], iin: IIN };
    for (const caller of [
      citizen,
      { ...citizen, unit: 'public' },
      { ...citizen, roles: ['applicant', 'head'] as Role[], unit: UNIT },
    ]) {
      const outcome = specAt('2015-09-15T10:00:00+06:00').given().when(submission(), caller).then([submitted]);
      expect(outcome.produced[0]!.metadata.actor).toEqual({ id: 'applicant', name: 'Applicant', role: 'applicant' });
    }
    const operator = principal('psc-operator', UNIT);
    const atPsc = specAt('2015-09-15T10:00:00+06:00')
      .given()
      .when(submission({ serviceId: 'civil-service-testing', trackId: 'default', channel: 'psc' }), operator)
      .then([{ ...submitted, role: 'psc-operator' }]);
    expect(atPsc.produced[0]!.metadata.actor).toMatchObject({ role: 'psc-operator', unit: UNIT });
  });

  describe('postgraduate intake of order 58 (2019): 1 January 00:00 to 18:30 on the second Friday of July, Asia/Almaty', () => {
    // July 2019 began on a Monday, so its Fridays are the 5th and the 12th: the window closes 2019-07-12 18:30 (UTC+6).
    it.each([
      '2019-07-12T18:29:00+06:00',
      '2019-07-12T18:29:59.999+06:00',
      '2019-07-05T18:30:00+06:00',
      '2020-01-01T00:00:00+06:00',
    ])('open at %s', (at) => {
      specAt(at).given().when(postgraduate(at), applicant).then([submitted]);
    });

    it('closed from 18:30 on the second Friday of July until the next 1 January', () => {
      const closedAt = '2019-07-12T12:30:00.000Z';
      const opensAt = '2019-12-31T18:00:00.000Z';
      for (const at of ['2019-07-12T18:30:00+06:00', '2019-08-01T10:00:00+06:00', '2019-12-31T23:59:00+06:00']) {
        const refused = specAt(at)
          .given()
          .when(postgraduate(at), applicant)
          .thenRefused('rule', {
            code: 'intake-closed',
            field: 'occurredAt',
            extensions: expect.objectContaining({ window: 'postgraduate-document-acceptance', closedAt, opensAt }),
          });
        expect(refused.detail).toMatch(/2019-07-12.*18:30.*2020-01-01.*00:00/);
      }
    });

    it('does not bind the qualification-improvement track', () => {
      const at = '2019-07-12T18:30:00+06:00';
      specAt(at)
        .given()
        .when({ ...postgraduate(at), trackId: 'qualification-improvement' }, applicant)
        .then([submitted]);
    });
  });

  it('is refused when no version is in force on its date', () => {
    const at = '2017-05-15T10:00:00+06:00';
    const refused = specAt(at)
      .given()
      .when(submission({ occurredAt: new Date(at) }), applicant)
      .thenRefused('rule', {
        code: 'version-not-in-force',
        field: 'occurredAt',
        extensions: expect.objectContaining({ serviceId: 'personnel-reserve', localDate: '2017-05-15' }),
      });
    expect(refused.detail).toMatch(/personnel-reserve\/order-184-2015 2015-08-11 to 2016-08-08/);
  });

  it('takes the version by the Almaty date of the act, not the UTC date', () => {
    // 2016-08-08T19:00Z is already 9 August in Almaty (UTC+6), the first day after order 184's version.
    const at = '2016-08-08T19:00:00Z';
    specAt(at)
      .given()
      .when(submission({ occurredAt: new Date(at) }), applicant)
      .thenRefused('rule', {
        code: 'version-not-in-force',
        extensions: expect.objectContaining({ localDate: '2016-08-09' }),
      });
    const before = '2016-08-08T17:59:00Z';
    specAt(before)
      .given()
      .when(submission({ occurredAt: new Date(before) }), applicant)
      .then([submitted]);
  });

  it('is refused with an IIN whose check digit is wrong', () => {
    const wrong = `${IIN.slice(0, 11)}${(Number(IIN[11]) + 1) % 10}`;
    const refused = specAt('2015-09-15T10:00:00+06:00')
      .given()
      .when(
        submission({ applicant: { iin: wrong, fullName: 'Әлия Сәрсенова' } }),
        principal('applicant', 'public', { iin: wrong }),
      )
      .thenRefused('rule', { code: 'invalid-iin', field: 'applicant.iin' });
    expect(refused.detail).toMatch(/check digit is \d, expected \d/);
  });

  it('is refused through a channel the version does not offer', () => {
    const spec = specAt('2015-09-15T10:00:00+06:00');
    spec
      .given()
      .when(submission({ serviceId: 'academy-retraining', trackId: undefined, channel: 'portal' }), applicant)
      .thenRefused('rule', { code: 'channel-not-offered', field: 'channel', extensions: { offered: ['office'] } });
    spec
      .given()
      .when(submission({ channel: 'psc' }), applicant)
      .thenRefused('rule', { code: 'channel-not-offered', extensions: { offered: ['portal', 'office'] } });
    spec
      .given()
      .when(submission({ channel: 'office' }), applicant)
      .then([submitted]);
  });

  it('needs a track where the version has several, and one of them', () => {
    const spec = specAt('2015-09-15T10:00:00+06:00');
    spec
      .given()
      .when(submission({ trackId: undefined }), applicant)
      .thenRefused('invalid', {
        errors: [
          expect.objectContaining({
            field: 'trackId',
            allowed: 'competition-recommended | priority-graduates | corps-a-selection',
          }),
        ],
      });
    spec
      .given()
      .when(submission({ trackId: 'corps-b' }), applicant)
      .thenRefused('invalid', { errors: [expect.objectContaining({ field: 'trackId' })] });
  });

  it('is refused for an unknown service, and a second time for the same case', () => {
    const spec = specAt('2015-09-15T10:00:00+06:00');
    spec
      .given()
      .when(submission({ serviceId: 'driving-licence' }), applicant)
      .thenRefused('unknown-service', { serviceId: 'driving-licence' });
    const first = spec.given().when(submission(), applicant).then([submitted]);
    spec
      .given(first.events)
      .when(submission(), applicant)
      .thenRefused('step-not-allowed', { stepId: 'application-submitted' });
  });

  it('is refused in the future and from an applicant filing for another IIN', () => {
    const spec = specAt('2015-09-15T10:00:00+06:00');
    spec
      .given()
      .when(submission({ occurredAt: new Date('2015-09-15T10:01:00+06:00') }), applicant)
      .thenRefused('invalid', { errors: [expect.objectContaining({ field: 'occurredAt' })] });
    spec
      .given()
      .when(submission(), principal('applicant', 'public', { iin: OTHER_IIN }))
      .thenRefused('forbidden');
  });

  it('every version offers the channel the walks use', () => {
    for (const v of catalog.versions) expect(['office', 'portal', 'psc']).toContain(offeredChannel(v));
  });
});

describe('a terminal step that can issue more than one result', () => {
  const retraining = version('academy-retraining/order-184-2015');
  const positive = retraining.results.filter((r) => r.kind === 'positive').map((r) => r.id);

  function toLastStep() {
    const w = walk('academy-retraining/order-184-2015', 'default');
    w.submit();
    for (const step of mainPath(retraining, 'default').slice(1, -1)) w.take(step.id);
    return w;
  }

  it('records the result the data names (qualification improvement rather than retraining)', () => {
    expect(positive.length).toBeGreaterThan(1);
    const w = toLastStep();
    w.take('completion-document-issued', { data: { documentNumber: 'D-1', resultId: positive[1]! } });
    expect(w.state.result).toEqual({ id: positive[1], kind: 'positive' });
  });

  /** The completion act with this data, refused as invalid. */
  function refusedCompletion(data: Record<string, unknown>) {
    const w = toLastStep();
    w.advance();
    return w.spec
      .given(w.events)
      .when({ kind: 'take-step', stepId: 'completion-document-issued', data }, w.callerFor('signatory'))
      .thenRefused('invalid');
  }

  it('refuses a result the step cannot issue, naming data.resultId and the results allowed', () => {
    const refusal = refusedCompletion({ documentNumber: 'D-1', resultId: 'test-certificate' });
    expect(refusal.errors).toEqual([
      { field: 'data.resultId', problem: expect.stringContaining('test-certificate'), allowed: positive.join(' | ') },
    ]);
  });

  it('refuses the act that does not name which document it issued (appendix 5 p.3: retraining or qualification improvement), naming data.resultId and both; a step with one result to issue implies it', () => {
    const refusal = refusedCompletion({ documentNumber: 'D-1' });
    expect(refusal.errors).toEqual([
      { field: 'data.resultId', problem: expect.stringMatching(/^required: /), allowed: positive.join(' | ') },
    ]);
    // Postgraduate study issues one document: the act need not name it.
    const study = version('academy-postgraduate-study/order-184-2015');
    const p = walk('academy-postgraduate-study/order-184-2015', 'default');
    p.submit();
    for (const step of mainPath(study, 'default').slice(1, -1)) p.take(step.id);
    p.take('completion-document-issued', { data: { documentNumber: 'D-2' } });
    expect(p.state.result).toEqual({ id: 'diploma-with-transcript', kind: 'positive' });
  });

  it('a completion recorded before the act had to name its document folds to a completed case with no result, not a guess', () => {
    const w = toLastStep();
    w.take('completion-document-issued', { data: { documentNumber: 'D-1', resultId: positive[1]! } });
    const last = w.events.at(-1)!;
    const unnamed = [...w.events.slice(0, -1), { ...last, data: { documentNumber: 'D-1' } }];
    const state = w.spec.given(unnamed as typeof w.events).state!;
    expect([state.status, state.result]).toEqual(['completed', null]);
  });
});

describe('a repeatable step: the study milestones of postgraduate study', () => {
  const study = version('academy-postgraduate-study/order-184-2015');

  function atMilestones() {
    const w = walk('academy-postgraduate-study/order-184-2015', 'default');
    w.submit();
    for (const step of pathTo(study, 'default', 'study-milestones-recorded').slice(1)) w.take(step.id);
    return w;
  }

  it('records one milestone after another; the next step opens with the first; the latest completes the step', () => {
    const w = atMilestones();
    for (const milestone of ['disciplines', 'research practice', 'publication', 'external review'])
      w.take('study-milestones-recorded', { data: { milestone } });
    expect(w.events.filter((e) => e.type === 'StudyMilestoneRecorded')).toHaveLength(4);
    expect(openSteps(w.state, study).map((s) => s.id)).toEqual([
      'study-milestones-recorded',
      'comprehensive-exam-passed',
      'incomplete-study-reference-issued',
    ]);
    expect(w.state.completed['study-milestones-recorded']!.revision).toBe(w.events.at(-1)!.revision);
  });

  it('closes once a step that follows it is done', () => {
    const w = atMilestones();
    w.take('study-milestones-recorded', { data: { milestone: 'disciplines' } });
    w.take('comprehensive-exam-passed');
    w.advance();
    const refusal = w.spec
      .given(w.events)
      .when(
        { kind: 'take-step', stepId: 'study-milestones-recorded', data: { milestone: 'late publication' } },
        w.callerFor('department'),
      )
      .thenRefused('step-not-allowed');
    expect(refusal.detail).toMatch(/can no longer be recorded: a step that follows it is done/);
  });
});

// Found by an attack: an act's start in 2010, nine years before its case, or a testing day whose 5 working days back
// left the calendar, was accepted; the case's SLA could then not be counted, and it vanished from every overdue list
// and summary.
describe('times no deadline could be counted from are refused', () => {
  const covered = (w: CaseWalk) =>
    new CaseWalk(w.catalog, zone, w.version, w.trackId, { ...w.options, covers: (d) => calendar.covers(d) });

  it('a start outside the calendar, or before the case was filed, is 400 naming startedAt', () => {
    const w = covered(walk('personnel-reserve/order-184-2015', 'competition-recommended'));
    w.submit();
    w.advance();
    for (const [startedAt, problem] of [
      [new Date('2010-01-01T10:00:00+06:00'), /outside the years the working-day calendar covers/],
      [new Date(new Date(w.state.submittedAt).getTime() - 86_400_000), /before the case was filed/],
    ] as const) {
      const refused = w.spec
        .given(w.events)
        .when(
          {
            kind: 'take-step',
            stepId: 'documents-registered',
            startedAt,
            occurredAt: w.clock,
            data: validData('DocumentRegistered'),
          },
          w.callerFor('registry-clerk'),
        )
        .thenRefused('invalid');
      expect(refused.errors).toEqual([
        expect.objectContaining({ field: 'startedAt', problem: expect.stringMatching(problem) }),
      ]);
    }
  });

  it('a testing day whose working days counted back leave the calendar is 400 naming it', () => {
    const w = covered(
      walk('personnel-reserve/order-184-2015', 'corps-a-selection', new Date('2015-10-05T09:00:00+06:00')),
    );
    w.submit();
    w.openUpTo('test-schedule-announced');
    w.advance();
    const refused = w.spec
      .given(w.events)
      .when(
        {
          kind: 'take-step',
          stepId: 'test-schedule-announced',
          occurredAt: w.clock,
          data: { ...validData('TestScheduleAnnounced'), testingStartsOn: '2015-01-02' },
        },
        w.callerFor('employee'),
      )
      .thenRefused('invalid');
    expect(refused.errors).toEqual([
      expect.objectContaining({ field: 'data.testingStartsOn', problem: expect.stringMatching(/working days back/) }),
    ]);
  });

  it('a testing day whose month of testing would leave the calendar is 400 naming it (the month counts from it)', () => {
    const w = covered(
      walk('personnel-reserve/order-184-2015', 'corps-a-selection', new Date('2015-10-05T09:00:00+06:00')),
    );
    w.submit();
    w.openUpTo('test-schedule-announced');
    w.advance();
    const refused = w.spec
      .given(w.events)
      .when(
        {
          kind: 'take-step',
          stepId: 'test-schedule-announced',
          occurredAt: w.clock,
          data: { ...validData('TestScheduleAnnounced'), testingStartsOn: '2027-12-10' },
        },
        w.callerFor('employee'),
      )
      .thenRefused('invalid');
    expect(refused.errors).toEqual([
      expect.objectContaining({
        field: 'data.testingStartsOn',
        problem: expect.stringMatching(/too near the end of the working-day calendar: the limit testing-month/),
      }),
    ]);
  });
});
