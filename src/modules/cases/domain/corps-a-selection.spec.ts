/**
 * Corps «A» selection to the personnel reserve (order 184, appendix 2, p.7, the third track), on the real decider and
 * the real regulation file: who records the test result that decides the case.
 */
import { join } from 'node:path';
import { loadCalendars } from '../../calendar/domain/load-calendar';
import { loadCatalog } from '../../regulations/domain/catalog';
import { CaseWalk, makeIin } from '../../../../test/support/case-specification';

const DATA = join(__dirname, '../../../../data');
const catalog = loadCatalog(join(DATA, 'regulations'));
const calendar = loadCalendars(join(DATA, 'calendars')).get('KZ')!;
const zone = calendar.timeZone;
const version = catalog.byId.get('personnel-reserve/order-184-2015')!;
const almaty = (local: string) => new Date(`${local}+06:00`);

function corpsA(filedAt = '2015-09-21T10:00:00'): CaseWalk {
  return new CaseWalk(catalog, zone, version, 'corps-a-selection', {
    unit: 'astana',
    iin: makeIin('880101', 3, 123),
    start: almaty(filedAt),
  });
}

/** Filed by the responsible person with the round's end; reviewed, admitted and the schedule published. */
function scheduled(): CaseWalk {
  const w = corpsA();
  w.submit('responsible-person', { channel: 'office', cohortDates: { 'document-acceptance-end': '2015-09-25' } });
  w.take('corps-a-documents-reviewed', { at: almaty('2015-10-02T12:00:00'), roles: ['employee'] });
  w.take('admission-to-testing-decided', { at: almaty('2015-10-05T12:00:00'), roles: ['head'] });
  w.take('test-schedule-announced', {
    at: almaty('2015-10-20T12:00:00'),
    roles: ['employee'],
    data: { url: 'https://example.kz/schedule', testingStartsOn: '2015-10-28' },
  });
  return w;
}

describe('corps «A»: the test result that decides the case is the provider’s to record (p.7 pp.3-4)', () => {
  it('the applicant recording their own result, passed, is refused 403 and nothing is recorded', () => {
    const w = scheduled();
    w.at(almaty('2015-11-02T12:00:00'));
    const refused = w.spec
      .given(w.events)
      .when(
        { kind: 'take-step', stepId: 'corps-a-test-completed', data: { score: 99, passed: true } },
        w.callerFor('applicant'),
      )
      .thenRefused('forbidden', { requiredRoles: ['employee'] });
    expect(refused.detail).toMatch(/step corps-a-test-completed is done by employee/);
    expect(w.state.completed['corps-a-test-completed']).toBeUndefined();
  });

  it("the provider's employee records it, and a negative result ends the case not admitted", () => {
    const w = scheduled();
    w.take('corps-a-test-completed', {
      at: almaty('2015-11-02T12:00:00'),
      roles: ['employee'],
      data: { score: 20, passed: false },
    });
    expect(w.events.at(-1)!.metadata.actor.role).toBe('employee');
    w.take('not-admitted', {
      at: almaty('2015-11-03T12:00:00'),
      roles: ['employee'],
      data: { reason: 'тест не сдан' },
    });
    expect(w.state).toMatchObject({ status: 'completed', result: { id: 'not-admitted', kind: 'negative' } });
  });
});
