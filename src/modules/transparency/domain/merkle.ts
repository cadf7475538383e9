/**
 * The Merkle tree of RFC 9162 §2.1 over the whole event log, one leaf per event in log order: leaf hashes
 * SHA-256(0x00 || leaf), interior hashes SHA-256(0x01 || left || right), so a leaf can never pass for a node.
 *
 * The tree is kept as its perfect subtrees: node (level, index) is the hash of leaves
 * [index·2^level, (index+1)·2^level). Any MTH(D[a:b]) the proofs need is assembled from O(log n) of them,
 * so a proof on a log of a million events is a few dozen reads. Proof verification follows §2.1.3.2 and
 * §2.1.4.2 step by step and rejects a proof with a missing, extra, reordered or malformed node (the
 * lesson of immudb's GHSA-672p-m5jq-mrh8: a verifier that skips a step accepts what it should not). Pure.
 */
import { createHash, hash as oneShotHash } from 'node:crypto';

export const HASH_SIZE = 32;
const LEAF_PREFIX = Buffer.from([0]);
const NODE_PREFIX = Buffer.from([1]);

// One-shot hashing of the concatenated input: for 33 or 65 bytes it costs a fraction of a createHash pipeline.
export function hashLeaf(leaf: Uint8Array): Buffer {
  return oneShotHash('sha256', Buffer.concat([LEAF_PREFIX, leaf]), 'buffer');
}

export function hashChildren(left: Uint8Array, right: Uint8Array): Buffer {
  return oneShotHash('sha256', Buffer.concat([NODE_PREFIX, left, right]), 'buffer');
}

/** MTH({}) = SHA-256 of the empty string. */
export const EMPTY_ROOT: Buffer = createHash('sha256').digest();

/** Where the perfect subtrees are read from: the SQLite table in production, arrays in tests. */
export interface NodeSource {
  /** The hash of leaves [index·2^level, (index+1)·2^level); throws when that subtree is not stored. */
  node(level: number, index: number): Uint8Array;
}

/** The largest power of two strictly below n (n > 1). */
export function largestPowerOfTwoBelow(n: number): number {
  let k = 1;
  while (k * 2 < n) k *= 2;
  return k;
}

function isPowerOfTwo(n: number): boolean {
  let k = 1;
  while (k < n) k *= 2;
  return k === n;
}

/**
 * Subtree hashes of one tree, memoised for the length of one proof: the incomplete right-edge subtrees of a
 * proof are nested, so each is computed from the one inside it instead of from its perfect nodes again.
 */
class SubtreeHasher {
  private readonly memo = new Map<string, Uint8Array>();
  constructor(private readonly source: NodeSource) {}

  /** MTH(D[start:end]) for 0 ≤ start < end, start aligned as the RFC's recursion always leaves it. */
  hash(start: number, end: number): Uint8Array {
    const size = end - start;
    if (isPowerOfTwo(size) && start % size === 0) return this.source.node(Math.log2(size), start / size);
    const key = `${start}:${end}`;
    const known = this.memo.get(key);
    if (known) return known;
    const k = largestPowerOfTwoBelow(size);
    const value = hashChildren(this.hash(start, start + k), this.hash(start + k, end));
    this.memo.set(key, value);
    return value;
  }
}

/** MTH(D[0:size]). */
export function rootAt(source: NodeSource, size: number): Uint8Array {
  checkSize(size, 'size');
  return size === 0 ? EMPTY_ROOT : new SubtreeHasher(source).hash(0, size);
}

/** PATH(index, D[0:size]) of RFC 9162 §2.1.3.1, leaf to root. */
export function inclusionProof(source: NodeSource, index: number, size: number): Uint8Array[] {
  checkSize(size, 'size');
  if (!Number.isSafeInteger(index) || index < 0 || index >= size)
    throw new RangeError(`leaf index ${index} is not in a tree of ${size} leaves`);
  const hasher = new SubtreeHasher(source);
  const path: Uint8Array[] = [];
  // Iterative form of PATH(m, D[start:end]); siblings are collected root-down and returned leaf-up.
  let start = 0;
  let end = size;
  let m = index;
  while (end - start > 1) {
    const k = largestPowerOfTwoBelow(end - start);
    if (m < k) {
      path.push(hasher.hash(start + k, end));
      end = start + k;
    } else {
      path.push(hasher.hash(start, start + k));
      start += k;
      m -= k;
    }
  }
  return path.reverse();
}

/** PROOF(first, D[0:second]) of RFC 9162 §2.1.4.1. Empty when first is 0 or equals second. */
export function consistencyProof(source: NodeSource, first: number, second: number): Uint8Array[] {
  checkSize(first, 'first');
  checkSize(second, 'second');
  if (first > second) throw new RangeError(`first size ${first} exceeds second size ${second}`);
  if (first === 0 || first === second) return [];
  const hasher = new SubtreeHasher(source);
  const proof: Uint8Array[] = [];
  // SUBPROOF(m, D[start:end], b), unrolled: each step appends the sibling to the proof tail, so collect in reverse.
  let start = 0;
  let end = second;
  let m = first;
  let whole = true;
  while (true) {
    const n = end - start;
    if (m === n) {
      if (!whole) proof.push(hasher.hash(start, end));
      break;
    }
    const k = largestPowerOfTwoBelow(n);
    if (m <= k) {
      proof.push(hasher.hash(start + k, end));
      end = start + k;
    } else {
      proof.push(hasher.hash(start, start + k));
      start += k;
      m -= k;
      whole = false;
    }
  }
  return proof.reverse();
}

function checkSize(size: number, name: string): void {
  if (!Number.isSafeInteger(size) || size < 0) throw new RangeError(`${name} ${size} is not a tree size`);
}

export type ProofVerification = { ok: true } | { ok: false; problem: string };

const fail = (problem: string): ProofVerification => ({ ok: false, problem });

function badNode(proof: readonly Uint8Array[]): string | null {
  for (let i = 0; i < proof.length; i++) {
    if (!(proof[i] instanceof Uint8Array) || proof[i]!.length !== HASH_SIZE)
      return `proof node ${i} is not a ${HASH_SIZE}-byte hash`;
  }
  return null;
}

/** RFC 9162 §2.1.3.2: does `proof` show the leaf with hash `leafHash` at `index` in the tree of `size` with `root`? */
export function verifyInclusion(
  leafHash: Uint8Array,
  index: number,
  size: number,
  proof: readonly Uint8Array[],
  root: Uint8Array,
): ProofVerification {
  if (!Number.isSafeInteger(size) || size < 1) return fail(`tree size ${size} holds no leaf`);
  if (!Number.isSafeInteger(index) || index < 0 || index >= size)
    return fail(`leaf index ${index} is not below tree size ${size}`);
  if (leafHash.length !== HASH_SIZE || root.length !== HASH_SIZE)
    return fail('leaf hash and root must be 32-byte hashes');
  const malformed = badNode(proof);
  if (malformed) return fail(malformed);
  let fn = index;
  let sn = size - 1;
  let r: Uint8Array = leafHash;
  for (const p of proof) {
    if (sn === 0) return fail('the proof has more nodes than the path from the leaf to the root');
    if (fn % 2 === 1 || fn === sn) {
      r = hashChildren(p, r);
      if (fn % 2 === 0) {
        while (fn % 2 === 0 && fn !== 0) {
          fn = Math.floor(fn / 2);
          sn = Math.floor(sn / 2);
        }
      }
    } else {
      r = hashChildren(r, p);
    }
    fn = Math.floor(fn / 2);
    sn = Math.floor(sn / 2);
  }
  if (sn !== 0) return fail('the proof has fewer nodes than the path from the leaf to the root');
  if (!Buffer.from(r).equals(root)) return fail('the proof does not lead to the root hash');
  return { ok: true };
}

/** RFC 9162 §2.1.4.2: is the tree of `second` leaves with `secondRoot` an append-only extension of the one of `first` with `firstRoot`? */
export function verifyConsistency(
  first: number,
  second: number,
  proof: readonly Uint8Array[],
  firstRoot: Uint8Array,
  secondRoot: Uint8Array,
): ProofVerification {
  if (!Number.isSafeInteger(first) || !Number.isSafeInteger(second) || first < 0 || second < 0)
    return fail('tree sizes must be non-negative integers');
  if (firstRoot.length !== HASH_SIZE || secondRoot.length !== HASH_SIZE) return fail('roots must be 32-byte hashes');
  const malformed = badNode(proof);
  if (malformed) return fail(malformed);
  if (first > second) return fail(`the first tree (${first}) is larger than the second (${second}): the log shrank`);
  if (first === second) {
    if (proof.length !== 0) return fail('a proof between equal sizes must be empty');
    return Buffer.from(firstRoot).equals(secondRoot)
      ? { ok: true }
      : fail('two different roots for the same tree size: the log forked');
  }
  if (first === 0) {
    if (proof.length !== 0) return fail('a proof from the empty tree must be empty');
    return Buffer.from(firstRoot).equals(EMPTY_ROOT)
      ? { ok: true }
      : fail('the root of an empty tree must be the hash of the empty string');
  }
  if (proof.length === 0) return fail('the proof is empty');
  const path = isPowerOfTwo(first) ? [firstRoot, ...proof] : [...proof];
  let fn = first - 1;
  let sn = second - 1;
  while (fn % 2 === 1) {
    fn = Math.floor(fn / 2);
    sn = Math.floor(sn / 2);
  }
  let fr: Uint8Array = path[0]!;
  let sr: Uint8Array = path[0]!;
  for (const c of path.slice(1)) {
    if (sn === 0) return fail('the proof has more nodes than the two trees need');
    if (fn % 2 === 1 || fn === sn) {
      fr = hashChildren(c, fr);
      sr = hashChildren(c, sr);
      if (fn % 2 === 0) {
        while (fn % 2 === 0 && fn !== 0) {
          fn = Math.floor(fn / 2);
          sn = Math.floor(sn / 2);
        }
      }
    } else {
      sr = hashChildren(sr, c);
    }
    fn = Math.floor(fn / 2);
    sn = Math.floor(sn / 2);
  }
  if (sn !== 0) return fail('the proof has fewer nodes than the two trees need');
  if (!Buffer.from(fr).equals(firstRoot))
    return fail(`the proof does not lead to the root of the first tree (${first}): the log was rewritten`);
  if (!Buffer.from(sr).equals(secondRoot))
    return fail(`the proof does not lead to the root of the second tree (${second})`);
  return { ok: true };
}

/**
 * Appends leaf hash number `index` to a tree kept as perfect subtrees: every subtree it completes is hashed
 * and stored, about one per leaf. `put` and `source` are the same store.
 */
export function appendLeafHash(
  source: NodeSource,
  put: (level: number, index: number, hash: Uint8Array) => void,
  index: number,
  leafHash: Uint8Array,
): void {
  put(0, index, leafHash);
  let level = 0;
  let i = index;
  let hash = leafHash;
  while (i % 2 === 1) {
    hash = hashChildren(source.node(level, i - 1), hash);
    level++;
    i = (i - 1) / 2;
    put(level, i, hash);
  }
}

function popcount(n: number): number {
  let count = 0;
  for (let v = n; v > 0; v = Math.floor(v / 2)) count += v % 2;
  return count;
}

/** Nodes a tree of `leaves` leaves stores: every leaf and every perfect subtree above one. */
export function storedNodeCount(leaves: number): number {
  return 2 * leaves - popcount(leaves);
}

/**
 * Where node (level, index) stands in post-order, the order in which appends complete nodes: leaf j, then the
 * subtrees it completes, bottom up. Storing nodes under this number makes every commit add rows at the end of one
 * B-tree, instead of touching one region per level.
 */
export function nodePosition(level: number, index: number): number {
  const lastLeaf = (index + 1) * 2 ** level - 1;
  return storedNodeCount(lastLeaf) + level;
}

/** The leaves of the tree that stores exactly `nodes` nodes; null when no tree does (a partly written tree). */
export function leavesOfNodeCount(nodes: number): number | null {
  let leaves = Math.max(0, Math.floor(nodes / 2));
  while (storedNodeCount(leaves) < nodes) leaves++;
  return storedNodeCount(leaves) === nodes ? leaves : null;
}

/** A tree held in memory, level by level: rebuilds, offline verification and tests. */
export class MemoryTree implements NodeSource {
  readonly levels: Uint8Array[][] = [[]];

  get size(): number {
    return this.levels[0]!.length;
  }

  node(level: number, index: number): Uint8Array {
    const hash = this.levels[level]?.[index];
    if (!hash) throw new RangeError(`node (${level}, ${index}) is not in a tree of ${this.size} leaves`);
    return hash;
  }

  appendLeaf(leaf: Uint8Array): void {
    this.appendLeafHash(hashLeaf(leaf));
  }

  appendLeafHash(leafHash: Uint8Array): void {
    appendLeafHash(this, (level, index, hash) => ((this.levels[level] ??= [])[index] = hash), this.size, leafHash);
  }

  root(size = this.size): Uint8Array {
    return rootAt(this, size);
  }
}

/**
 * The right edge of a tree being built leaf by leaf (its perfect subtrees, largest first): O(log n) memory, so a
 * verifier can rebuild the root of a log of any size in one pass and compare it with every checkpoint on the way.
 */
export class CompactRange {
  private readonly stack: Array<{ size: number; hash: Uint8Array }> = [];
  size = 0;

  appendLeafHash(leafHash: Uint8Array): void {
    let node = { size: 1, hash: leafHash };
    while (this.stack.length > 0 && this.stack[this.stack.length - 1]!.size === node.size) {
      const left = this.stack.pop()!;
      node = { size: left.size * 2, hash: hashChildren(left.hash, node.hash) };
    }
    this.stack.push(node);
    this.size++;
  }

  root(): Uint8Array {
    if (this.stack.length === 0) return EMPTY_ROOT;
    let hash = this.stack[this.stack.length - 1]!.hash;
    for (let i = this.stack.length - 2; i >= 0; i--) hash = hashChildren(this.stack[i]!.hash, hash);
    return hash;
  }
}
