import { roundOrder } from './round-order';

describe('the order of kinds in a round of a bench', () => {
  it('over four rounds of four kinds, each goes first once and follows every other exactly once', () => {
    const kinds = ['plain', 'encrypted', 'same size', 'keys in memory'];
    const rounds = [0, 1, 2, 3].map((r) => roundOrder(kinds, r));
    for (const order of rounds) expect([...order].sort()).toEqual([...kinds].sort());
    expect(new Set(rounds.map((order) => order[0])).size).toBe(4);
    const follows = rounds.flatMap((order) => order.slice(1).map((kind, i) => `${order[i]} → ${kind}`));
    expect(new Set(follows).size).toBe(12);
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
