import fc from 'fast-check';
import { createHash } from 'node:crypto';
import {
  consistencyProof,
  CompactRange,
  EMPTY_ROOT,
  hashChildren,
  hashLeaf,
  inclusionProof,
  leavesOfNodeCount,
  nodePosition,
  storedNodeCount,
  largestPowerOfTwoBelow,
  MemoryTree,
  verifyConsistency,
  verifyInclusion,
} from './merkle';

const leaf = (i: number) => createHash('sha256').update(`event ${i}`).digest();

/** RFC 9162 §2.1.1 as written: the reference the stored tree must agree with. */
function mth(leaves: Buffer[]): Buffer {
  if (leaves.length === 0) return createHash('sha256').digest();
  if (leaves.length === 1) return hashLeaf(leaves[0]!);
  const k = largestPowerOfTwoBelow(leaves.length);
  return hashChildren(mth(leaves.slice(0, k)), mth(leaves.slice(k)));
}

/** §2.1.3.1 PATH as written. */
function path(m: number, leaves: Buffer[]): Buffer[] {
  if (leaves.length <= 1) return [];
  const k = largestPowerOfTwoBelow(leaves.length);
  return m < k
    ? [...path(m, leaves.slice(0, k)), mth(leaves.slice(k))]
    : [...path(m - k, leaves.slice(k)), mth(leaves.slice(0, k))];
}

/** §2.1.4.1 SUBPROOF as written. */
function subproof(m: number, leaves: Buffer[], whole: boolean): Buffer[] {
  const n = leaves.length;
  if (m === n) return whole ? [] : [mth(leaves)];
  const k = largestPowerOfTwoBelow(n);
  return m <= k
    ? [...subproof(m, leaves.slice(0, k), whole), mth(leaves.slice(k))]
    : [...subproof(m - k, leaves.slice(k), false), mth(leaves.slice(0, k))];
}

function treeOf(size: number): { tree: MemoryTree; leaves: Buffer[] } {
  const tree = new MemoryTree();
  const leaves = Array.from({ length: size }, (_, i) => leaf(i));
  for (const l of leaves) tree.appendLeaf(l);
  return { tree, leaves };
}

const EDGE_SIZES = [0, 1, 2, 3, 4, 5, 7, 8, 9, 15, 16, 17, 31, 32, 33, 63, 64, 65, 127, 128, 129, 255, 256, 257];
const BIG = treeOf(1100);
const hex = (proof: Uint8Array[]) => proof.map((p) => Buffer.from(p).toString('hex'));

describe('the Merkle tree (RFC 9162 §2.1)', () => {
  it('the root of every edge size equals the full recomputation, and the empty tree has the hash of the empty string', () => {
    for (const size of EDGE_SIZES)
      expect(Buffer.from(BIG.tree.root(size)).toString('hex')).toBe(mth(BIG.leaves.slice(0, size)).toString('hex'));
    expect(new MemoryTree().root()).toEqual(EMPTY_ROOT);
    expect(EMPTY_ROOT.toString('hex')).toBe('e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855');
  });

  it('a tree rebuilt leaf by leaf in O(log n) memory has the root of the full recomputation at every size', () => {
    const range = new CompactRange();
    expect(Buffer.from(range.root())).toEqual(EMPTY_ROOT);
    for (let size = 1; size <= 300; size++) {
      range.appendLeafHash(hashLeaf(BIG.leaves[size - 1]!));
      expect(Buffer.from(range.root())).toEqual(mth(BIG.leaves.slice(0, size)));
    }
  });

  it('nodes stored in post-order: appends complete nodes at consecutive positions, and the count gives the size back', () => {
    const order: number[] = [];
    const tree = new MemoryTree();
    for (let i = 0; i < 300; i++) {
      const before = tree.levels.map((l) => l.length);
      tree.appendLeaf(leaf(i));
      tree.levels.forEach((l, level) => {
        for (let k = before[level] ?? 0; k < l.length; k++) order.push(nodePosition(level, k));
      });
      expect(leavesOfNodeCount(storedNodeCount(i + 1))).toBe(i + 1);
    }
    expect(order).toEqual(order.map((_, i) => i));
    expect(leavesOfNodeCount(0)).toBe(0);
    expect(leavesOfNodeCount(2)).toBeNull();
  });

  it('a leaf hash and a node hash of the same bytes differ (domain separation)', () => {
    const a = leaf(1);
    expect(hashLeaf(Buffer.concat([a, a]))).not.toEqual(hashChildren(a, a));
  });

  it('inclusion proofs equal PATH recomputed from all leaves and verify, for every leaf of every edge size', () => {
    for (const size of EDGE_SIZES.filter((s) => s > 0)) {
      const leaves = BIG.leaves.slice(0, size);
      const root = BIG.tree.root(size);
      for (let m = 0; m < size; m++) {
        const proof = inclusionProof(BIG.tree, m, size);
        expect(hex(proof)).toEqual(hex(path(m, leaves)));
        expect(verifyInclusion(hashLeaf(leaves[m]!), m, size, proof, root)).toEqual({ ok: true });
      }
    }
  });

  it('consistency proofs equal PROOF recomputed from all leaves and verify, for every pair of edge sizes', () => {
    for (const second of EDGE_SIZES) {
      for (let first = 0; first <= second; first++) {
        const proof = consistencyProof(BIG.tree, first, second);
        expect(hex(proof)).toEqual(
          first === 0 || first === second ? [] : hex(subproof(first, BIG.leaves.slice(0, second), true)),
        );
        expect(verifyConsistency(first, second, proof, BIG.tree.root(first), BIG.tree.root(second))).toEqual({
          ok: true,
        });
      }
    }
  });

  it('random sizes and indexes agree with the full recomputation', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 1100 }), fc.nat(), fc.nat(), (size, a, b) => {
        const leaves = BIG.leaves.slice(0, size);
        const m = a % size;
        const first = b % (size + 1);
        expect(hex(inclusionProof(BIG.tree, m, size))).toEqual(hex(path(m, leaves)));
        const proof = consistencyProof(BIG.tree, first, size);
        expect(verifyConsistency(first, size, proof, mth(leaves.slice(0, first)), mth(leaves))).toEqual({ ok: true });
      }),
      { numRuns: 200 },
    );
  });
});

/** What a malicious or broken server may send instead of the proof: each must be rejected. */
const tamperings: Array<[string, (proof: Uint8Array[]) => Uint8Array[] | null]> = [
  ['a node dropped', (p) => (p.length ? p.slice(1) : null)],
  ['the last node dropped', (p) => (p.length ? p.slice(0, -1) : null)],
  ['a node added', (p) => [...p, leaf(9999)]],
  ['a node repeated', (p) => (p.length ? [...p, p[p.length - 1]!] : null)],
  [
    'two nodes swapped',
    (p) => (p.length >= 2 && !Buffer.from(p[0]!).equals(p[1]!) ? [p[1]!, p[0]!, ...p.slice(2)] : null),
  ],
  [
    'a byte flipped',
    (p) => (p.length ? [Buffer.from(p[0]!).map((b, i) => (i === 5 ? b ^ 1 : b)), ...p.slice(1)] : null),
  ],
  ['a node truncated', (p) => (p.length ? [p[0]!.subarray(0, 31), ...p.slice(1)] : null)],
  ['a node lengthened', (p) => (p.length ? [Buffer.concat([p[0]!, Buffer.from([0])]), ...p.slice(1)] : null)],
];

describe('proofs from a malicious server are rejected at every step (GHSA-672p-m5jq-mrh8)', () => {
  it.each(tamperings)('inclusion: %s', (_name, tamper) => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 1100 }), fc.nat(), (size, a) => {
        const m = a % size;
        const forged = tamper(inclusionProof(BIG.tree, m, size));
        if (!forged) return;
        expect(verifyInclusion(hashLeaf(BIG.leaves[m]!), m, size, forged, BIG.tree.root(size)).ok).toBe(false);
      }),
      { numRuns: 150 },
    );
  });

  it.each(tamperings)('consistency: %s', (_name, tamper) => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 1100 }), fc.nat(), (second, b) => {
        const first = b % (second + 1);
        const forged = tamper(consistencyProof(BIG.tree, first, second));
        if (!forged) return;
        expect(verifyConsistency(first, second, forged, BIG.tree.root(first), BIG.tree.root(second)).ok).toBe(false);
      }),
      { numRuns: 150 },
    );
  });

  it('inclusion: a proof for another index, another size, another leaf or another root is rejected', () => {
    fc.assert(
      fc.property(fc.integer({ min: 2, max: 1099 }), fc.nat(), (size, a) => {
        const m = a % size;
        const proof = inclusionProof(BIG.tree, m, size);
        const root = BIG.tree.root(size);
        expect(verifyInclusion(hashLeaf(BIG.leaves[m]!), (m + 1) % size, size, proof, root).ok).toBe(false);
        expect(verifyInclusion(hashLeaf(BIG.leaves[(m + 1) % size]!), m, size, proof, root).ok).toBe(false);
        expect(verifyInclusion(hashLeaf(BIG.leaves[m]!), m, size, proof, BIG.tree.root(size - 1)).ok).toBe(false);
        expect(verifyInclusion(BIG.leaves[m]!, m, size, proof, root).ok).toBe(false);
        expect(verifyInclusion(hashLeaf(BIG.leaves[m]!), m, size + 1, proof, BIG.tree.root(size + 1)).ok).toBe(false);
      }),
      { numRuns: 200 },
    );
    expect(verifyInclusion(hashLeaf(BIG.leaves[0]!), 0, 0, [], EMPTY_ROOT).ok).toBe(false);
    expect(verifyInclusion(hashLeaf(BIG.leaves[3]!), 3, 3, [], BIG.tree.root(3)).ok).toBe(false);
  });

  it('consistency: a rewritten or shrunk history, or a proof for other sizes, is rejected', () => {
    const other = treeOf(0).tree;
    BIG.leaves.slice(0, 700).forEach((l, i) => other.appendLeaf(i === 300 ? leaf(-1) : l));
    fc.assert(
      fc.property(fc.integer({ min: 302, max: 700 }), fc.integer({ min: 301, max: 700 }), (second, f) => {
        const first = Math.min(f, second);
        // The second tree rewrote leaf 300: no proof from it reaches the honest first root.
        expect(
          verifyConsistency(
            first,
            second,
            consistencyProof(other, first, second),
            BIG.tree.root(first),
            other.root(second),
          ).ok,
        ).toBe(false);
      }),
      { numRuns: 100 },
    );
    expect(verifyConsistency(10, 9, [], BIG.tree.root(10), BIG.tree.root(9))).toEqual({
      ok: false,
      problem: 'the first tree (10) is larger than the second (9): the log shrank',
    });
    expect(verifyConsistency(9, 9, [], BIG.tree.root(9), other.root(9)).ok).toBe(true);
    expect(verifyConsistency(9, 9, [], BIG.tree.root(9), BIG.tree.root(8)).ok).toBe(false);
    expect(verifyConsistency(0, 5, [], BIG.tree.root(0), BIG.tree.root(5)).ok).toBe(true);
    expect(verifyConsistency(0, 5, [], BIG.tree.root(1), BIG.tree.root(5)).ok).toBe(false);
    expect(verifyConsistency(5, 9, consistencyProof(BIG.tree, 5, 9), BIG.tree.root(5), BIG.tree.root(9)).ok).toBe(true);
    expect(verifyConsistency(6, 9, consistencyProof(BIG.tree, 5, 9), BIG.tree.root(6), BIG.tree.root(9)).ok).toBe(
      false,
    );
  });
});
