/**
 * The cases and compliance projections of one runtime compute each case's SLA rows once between them (SharedSlaRows):
 * what either reads must be what it would have computed itself, for the very history it folded.
 */
import { join } from 'node:path';
import { loadCalendars } from '../../calendar/domain/load-calendar';
import { loadCatalog } from '../../regulations/domain/catalog';
import { SharedSlaRows, storedSlaRows } from './cases.projection';
import { CaseWalk, makeIin } from '../../../../test/support/case-specification';

const DATA = join(__dirname, '../../../../data');
const catalog = loadCatalog(join(DATA, 'regulations'));
const calendar = loadCalendars(join(DATA, 'calendars')).get('KZ')!;
const reserve = catalog.byId.get('personnel-reserve/order-184-2015')!;

function submitted(start: string): CaseWalk {
  const w = new CaseWalk(catalog, calendar.timeZone, reserve, 'competition-recommended', {
    unit: 'astana-department',
    iin: makeIin('880101', 3, 123),
    start: new Date(`${start}+06:00`),
  });
  w.submit('applicant', { channel: 'portal' });
  return w;
}

describe('SLA rows shared by the cases and compliance projections', () => {
  it("the second projection to fold a case to the same event gets the first one's rows, equal to its own computation", () => {
    const shared = new SharedSlaRows();
    const w = submitted('2015-08-28T10:00:00');
    const first = shared.of(w.state, reserve, calendar);
    expect(first).toEqual(storedSlaRows(w.state, reserve, calendar));
    expect(first.length).toBeGreaterThan(0);
    // The other projection folded its own state from the same events: the same rows, not computed again.
    expect(shared.of(w.state, reserve, calendar)).toBe(first);
  });

  it('a case moved on by an event gets the rows of its new state', () => {
    const shared = new SharedSlaRows();
    const w = submitted('2015-08-28T10:00:00');
    const before = shared.of(w.state, reserve, calendar);
    w.take('documents-registered', { at: new Date('2015-09-02T09:00:00+06:00') });
    const after = shared.of(w.state, reserve, calendar);
    expect(after).not.toBe(before);
    expect(after).toEqual(storedSlaRows(w.state, reserve, calendar));
    expect(after.find((r) => r.stepId === 'documents-registered')).toMatchObject({ settled: 'breached' });
  });

  it('another history of the same case id and revision (its last hash differs) is never served the kept rows', () => {
    const shared = new SharedSlaRows();
    const onTime = submitted('2015-08-28T10:00:00');
    onTime.take('documents-registered', { at: new Date('2015-09-01T17:45:00+06:00') });
    const late = submitted('2015-08-28T10:00:00');
    late.take('documents-registered', { at: new Date('2015-09-02T09:00:00+06:00') });
    expect(late.state.caseId).toBe(onTime.state.caseId);
    expect(late.state.revision).toBe(onTime.state.revision);
    expect(late.state.lastHash).not.toBe(onTime.state.lastHash);

    shared.of(onTime.state, reserve, calendar);
    const rows = shared.of(late.state, reserve, calendar);
    expect(rows).toEqual(storedSlaRows(late.state, reserve, calendar));
    expect(rows.find((r) => r.stepId === 'documents-registered')).toMatchObject({ settled: 'breached' });
  });

  it('keeps the newest cases up to its capacity, the oldest dropped and computed again when asked', () => {
    const shared = new SharedSlaRows(1);
    const a = submitted('2015-08-28T10:00:00').state;
    const b = { ...submitted('2015-09-14T10:00:00').state, caseId: 'another-case' };
    const rowsOfA = shared.of(a, reserve, calendar);
    shared.of(b, reserve, calendar);
    const again = shared.of(a, reserve, calendar);
    expect(again).not.toBe(rowsOfA);
    expect(again).toEqual(rowsOfA);
  });
});
