import { ProblemError } from '../problem/problem';
import { CallerRateLimiter } from './caller-rate-limiter';

const refusal = (take: () => void): number | null => {
  try {
    take();
    return null;
  } catch (error) {
    return error instanceof ProblemError ? error.status : -1;
  }
};

describe('the per-caller rate limiter', () => {
  const at = 1_000_000;
  const limiter = (maxCallers: number) =>
    new CallerRateLimiter({ max: 1, windowMs: 60_000, clock: () => at, maxCallers });

  it('429 for a caller past their budget in the window, while another caller is still served', () => {
    const limits = limiter(10);
    limits.take('a', 'filings');
    expect(refusal(() => limits.take('a', 'filings'))).toBe(429);
    expect(refusal(() => limits.take('b', 'filings'))).toBeNull();
  });

  it('keeps at most maxCallers windows: past it the oldest caller is forgotten, the others still counted', () => {
    const limits = limiter(2);
    limits.take('a', 'filings');
    limits.take('b', 'filings');
    limits.take('c', 'filings');
    expect(refusal(() => limits.take('a', 'filings'))).toBeNull();
    expect(refusal(() => limits.take('c', 'filings'))).toBe(429);
  });
});
