/**
 * The kinds' order in round `round` (from 0): a balanced Latin square (a Williams design: 0, 1, n−1, 2, n−2, … shifted by
 * the round), so over as many rounds as there are kinds each kind goes first once and, for an even number of kinds,
 * follows every other kind exactly once. Two kinds alternate.
 */
export function roundOrder<T>(kinds: readonly T[], round: number): T[] {
  const n = kinds.length;
  return Array.from({ length: n }, (_, i) => {
    const first = i % 2 === 1 ? (i + 1) / 2 : (n - i / 2) % n;
    return kinds[(first + round) % n]!;
  });
}
