import { deadlineEventId } from './deadline-events';

describe('deadline event ids', () => {
  it('are the UUID v5 of the case and the instant under the fixed namespace, as every build of the scheduler makes them', () => {
    // A scheduler of another build recording the same instant must append the same id (its append is then recognised
    // as the same event): the value below is v5("case-1|registration:100", the namespace) as the uuid package gives it.
    expect(deadlineEventId('case-1', 'registration:100')).toBe('d55ebbbc-1f8f-5328-9068-d3e06edaea10');
    expect(deadlineEventId('case-1', 'registration:80')).not.toBe(deadlineEventId('case-1', 'registration:100'));
    expect(deadlineEventId('case-2', 'registration:100')).not.toBe(deadlineEventId('case-1', 'registration:100'));
  });
});
