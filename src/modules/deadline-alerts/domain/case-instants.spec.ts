import { join } from 'node:path';
import { loadCalendars } from '../../calendar/domain/load-calendar';
import { loadCatalog } from '../../regulations/domain/catalog';
import { CaseWalk, makeIin } from '../../../../test/support/case-specification';
import { caseInstants, pendingInstants } from './case-instants';
import { DEFAULT_WARNING_POLICY } from './warning-instants';
import { sealDeadlineEvents, deadlinesStreamId } from './deadline-events';
import { verifyChain } from '../../cases/domain/hash-chain';

const DATA = join(__dirname, '../../../../data');
const catalog = loadCatalog(join(DATA, 'regulations'));
const calendar = loadCalendars(join(DATA, 'calendars')).get('KZ')!;
const version = catalog.byId.get('personnel-reserve/order-184-2015')!;
const almaty = (local: string) => new Date(`${local}+06:00`);

function filedOnSunday(): CaseWalk {
  const walk = new CaseWalk(catalog, calendar.timeZone, version, 'competition-recommended', {
    unit: 'astana',
    iin: makeIin('880101', 3, 123),
    start: almaty('2016-03-06T11:00:00'),
  });
  walk.submit(undefined, { channel: 'portal' });
  return walk;
}

describe('the timer instants of a case', () => {
  it('a filed case has the registration and assignment limits (1 working day) warn on Wednesday 9 March, past the transferred day off and the holiday', () => {
    const walk = filedOnSunday();
    const instants = caseInstants(walk.state, version, calendar, DEFAULT_WARNING_POLICY).filter(
      (i) => i.stepId === 'documents-registered',
    );
    expect(instants.map((i) => [i.threshold, i.at])).toEqual([
      [50, almaty('2016-03-09T12:00:00').toISOString()],
      [80, almaty('2016-03-09T19:12:00').toISOString()],
      [100, almaty('2016-03-10T00:00:00').toISOString()],
    ]);
  });

  it('a step done after its first warning keeps that warning and loses the later ones', () => {
    const walk = filedOnSunday();
    walk.take('documents-registered', { at: almaty('2016-03-09T15:00:00') });
    const instants = caseInstants(walk.state, version, calendar, DEFAULT_WARNING_POLICY).filter(
      (i) => i.stepId === 'documents-registered',
    );
    expect(instants.map((i) => i.threshold)).toEqual([50]);
  });

  it('a limit made inapplicable by another ending (the portal refused the service) has no instants at all', () => {
    const walk = filedOnSunday();
    walk.take('portal-refusal', { at: almaty('2016-03-06T11:05:00') });
    expect(walk.state.status).not.toBe('open');
    expect(
      caseInstants(walk.state, version, calendar, DEFAULT_WARNING_POLICY).filter(
        (i) => i.stepId !== 'application-submitted',
      ),
    ).toEqual([]);
  });

  it('the instants due now are those not yet recorded; the next is the earliest after now', () => {
    const instants = caseInstants(filedOnSunday().state, version, calendar, DEFAULT_WARNING_POLICY);
    const fired = new Set([instants.find((i) => i.stepId === 'documents-registered' && i.threshold === 50)!.key]);
    const { due, next } = pendingInstants(instants, fired, almaty('2016-03-09T13:00:00'));
    expect(due.map((i) => `${i.stepId}/${i.threshold}`)).toEqual(['assigned-to-employee/50']);
    expect(next!.threshold).toBe(80);
  });

  it('recorded instants are chained like case events and say how late they were recorded', () => {
    const instants = caseInstants(filedOnSunday().state, version, calendar, DEFAULT_WARNING_POLICY).filter(
      (i) => i.stepId === 'documents-registered',
    );
    const now = almaty('2016-03-10T02:00:00');
    const sealed = sealDeadlineEvents(
      { caseId: 'c1', unit: 'astana', serviceId: version.serviceId, versionId: version.versionId },
      instants,
      null,
      now,
    );
    expect(sealed.map((e) => [e.type, e.data.threshold, e.data.late, e.data.lateByMs])).toEqual([
      ['DeadlineApproaching', 50, true, 14 * 3_600_000],
      ['DeadlineApproaching', 80, true, 6 * 3_600_000 + 48 * 60_000],
      ['DeadlineBreached', 100, true, 2 * 3_600_000],
    ]);
    const chain = verifyChain(
      sealed.map((e, revision) => ({
        streamId: deadlinesStreamId('c1'),
        revision,
        type: e.type,
        data: e.data,
        metadata: e.metadata as unknown as Record<string, unknown>,
      })),
    );
    expect(chain.valid).toBe(true);
  });
});
