/**
 * The kinds' order in round `round` (from 0): a balanced Latin square (a Williams design: 0, 1, n−1, 2, n−2, … shifted by
 * the round), so over `balancedRounds(n)` rounds each kind goes first equally often and follows every other kind
 * equally often. For an even number of kinds one square of n rounds does that; for an odd number, no single square
 * can, so rounds n to 2n − 1 run the square's mirror image (each round's order reversed). Two kinds alternate.
 */
export function roundOrder<T>(kinds: readonly T[], round: number): T[] {
  const n = kinds.length;
  const order = Array.from({ length: n }, (_, i) => {
    const first = i % 2 === 1 ? (i + 1) / 2 : (n - i / 2) % n;
    return kinds[(first + round) % n]!;
  });
  return n % 2 === 1 && Math.floor(round / n) % 2 === 1 ? order.reverse() : order;
}

/** How many rounds of `kinds` kinds roundOrder needs to be balanced: n for an even n, 2n for an odd one. */
export function balancedRounds(kinds: number): number {
  return kinds % 2 === 0 ? kinds : 2 * kinds;
}
