import { overallHealth, readinessProblems } from './health.controller';

describe('/health status from its parts', () => {
  const live = { name: 'case-view', state: 'live', lagSeconds: 0 };

  it('is up when the stores answer and every projection is live and close behind the log', () => {
    expect(
      overallHealth(['up', 'up'], [live, { ...live, name: 'worklist', state: 'catching-up', lagSeconds: 299 }], 300),
    ).toBe('up');
  });

  it('is degraded while a projection retries after a store or subscription error', () => {
    expect(overallHealth(['up', 'up'], [live, { name: 'worklist', state: 'retrying', lagSeconds: 1 }], 300)).toBe(
      'degraded',
    );
  });

  it('is degraded while a projection is further behind the log than PROJECTION_STALE_SECONDS, whatever its state says', () => {
    expect(overallHealth(['up', 'up'], [live, { name: 'worklist', state: 'live', lagSeconds: 301 }], 300)).toBe(
      'degraded',
    );
  });

  it('is degraded and not ready while a build ahead of the log waits to be rebuilt, however young the log', () => {
    const ahead = { name: 'cases', state: 'ahead-of-log', lagSeconds: 2 };
    expect(overallHealth(['up', 'up'], [live, ahead], 300)).toBe('degraded');
    expect(readinessProblems({}, [live, ahead], 300)).toEqual([
      'projection cases is ahead of the log: it waits to be rebuilt',
    ]);
  });

  it('is down when a projection failed on an event it cannot apply, or a store does not answer', () => {
    expect(overallHealth(['up', 'up'], [{ name: 'worklist', state: 'failed' }], 300)).toBe('down');
    expect(overallHealth(['up', 'down'], [live], 300)).toBe('down');
    expect(overallHealth(['degraded', 'up'], [live], 300)).toBe('degraded');
  });
});
