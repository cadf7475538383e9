import { balancedRounds, roundOrder } from './round-order';

describe('the order of kinds in a round of a bench', () => {
  it('over four rounds of four kinds, each goes first once and follows every other exactly once', () => {
    const kinds = ['plain', 'encrypted', 'same size', 'keys in memory'];
    const rounds = [0, 1, 2, 3].map((r) => roundOrder(kinds, r));
    for (const order of rounds) expect([...order].sort()).toEqual([...kinds].sort());
    expect(new Set(rounds.map((order) => order[0])).size).toBe(4);
    const follows = rounds.flatMap((order) => order.slice(1).map((kind, i) => `${order[i]} → ${kind}`));
    expect(new Set(follows).size).toBe(12);
  });

  it('five kinds need ten rounds: the square, then its mirror image; each goes first twice and follows every other twice', () => {
    const kinds = ['plain', 'encrypted', 'same size', 'keys in memory', 'cipher alone'];
    expect(balancedRounds(kinds.length)).toBe(10);
    const rounds = Array.from({ length: 10 }, (_, r) => roundOrder(kinds, r));
    for (const order of rounds) expect([...order].sort()).toEqual([...kinds].sort());
    const count = (keys: string[]) => {
      const counts = new Map<string, number>();
      for (const key of keys) counts.set(key, (counts.get(key) ?? 0) + 1);
      return counts;
    };
    const firsts = count(rounds.map((order) => order[0]!));
    expect([...firsts.values()]).toEqual([2, 2, 2, 2, 2]);
    const follows = count(rounds.flatMap((order) => order.slice(1).map((kind, i) => `${order[i]} → ${kind}`)));
    expect(follows.size).toBe(20);
    expect(new Set(follows.values())).toEqual(new Set([2]));
    // The first square alone is not balanced: that is why the mirror image follows it.
    const firstSquare = count(
      rounds.slice(0, 5).flatMap((order) => order.slice(1).map((kind, i) => `${order[i]} → ${kind}`)),
    );
    expect(firstSquare.size).toBeLessThan(20);
  });

  it('two kinds alternate, and one kind runs alone', () => {
    expect([0, 1, 2].map((r) => roundOrder(['plain', 'encrypted'], r))).toEqual([
      ['plain', 'encrypted'],
      ['encrypted', 'plain'],
      ['plain', 'encrypted'],
    ]);
    expect(roundOrder(['encrypted'], 3)).toEqual(['encrypted']);
  });
});
