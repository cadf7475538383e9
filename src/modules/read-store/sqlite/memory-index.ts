/**
 * Indexes over a collection's parsed in-memory copy, so a list costs what its page costs, not the collection:
 * each index keeps the documents' ids sorted by its key (fields in order, each ascending or descending). A query
 * whose equality conditions cover a prefix of an index's fields, and whose sort (if any) is the rest of the index
 * or its exact reverse, walks only that prefix's range, in order, testing each document against the whole filter
 * with mingo, and stops when the page is full. Anything else falls back to mingo over the whole collection.
 */
import { Query } from 'mingo';
import type { Filter, IndexSpec, ReadDocument, Sort } from '../read-store.port';

type Key = readonly unknown[];

/** Reads a dotted path (`state.serviceId`) of a document. */
function valueAt(doc: ReadDocument, path: string): unknown {
  let value: unknown = doc;
  for (const part of path.split('.')) {
    if (value === null || typeof value !== 'object' || Array.isArray(value)) return undefined;
    value = (value as Record<string, unknown>)[part];
  }
  return value;
}

/** MongoDB's order of the scalar types an index holds: missing and null, numbers, strings, booleans; others last. */
function rank(v: unknown): number {
  if (v === undefined || v === null) return 0;
  if (typeof v === 'number') return 1;
  if (typeof v === 'string') return 2;
  if (typeof v === 'boolean') return 3;
  return 4;
}

function compareValues(a: unknown, b: unknown): number {
  const ra = rank(a);
  const rb = rank(b);
  if (ra !== rb) return ra - rb;
  if (ra === 0 || ra === 4) return 0;
  if (ra === 2) return (a as string) < (b as string) ? -1 : (a as string) > (b as string) ? 1 : 0;
  return (a as number) < (b as number) ? -1 : (a as number) > (b as number) ? 1 : 0;
}

/** A scalar an equality condition may name (an index of arrays or objects is not kept). */
const isScalar = (v: unknown): boolean => v === null || ['string', 'number', 'boolean'].includes(typeof v);

export class MemoryIndex {
  readonly fields: readonly string[];
  readonly directions: readonly (1 | -1)[];
  /** Sorted by key (each field in its direction), then by id. */
  private entries: { key: Key; id: string }[] = [];
  private readonly keys = new Map<string, Key>();

  constructor(readonly spec: IndexSpec) {
    this.fields = Object.keys(spec.key);
    this.directions = Object.values(spec.key);
  }

  private compare(a: { key: Key; id: string }, b: { key: Key; id: string }): number {
    for (let i = 0; i < this.fields.length; i++) {
      const c = compareValues(a.key[i], b.key[i]) * this.directions[i]!;
      if (c !== 0) return c;
    }
    return a.id < b.id ? -1 : a.id > b.id ? 1 : 0;
  }

  private keyOf(doc: ReadDocument): Key | null {
    const key = this.fields.map((f) => valueAt(doc, f));
    // A document whose indexed field holds an array or object is not in the index: queries on it fall back.
    return key.every((v) => v === undefined || isScalar(v)) ? key : null;
  }

  /** Whether every document is in the index (none has an array or object in an indexed field). */
  complete = true;

  rebuild(docs: Iterable<ReadDocument>): void {
    this.entries = [];
    this.keys.clear();
    this.complete = true;
    for (const doc of docs) {
      const key = this.keyOf(doc);
      if (key === null) {
        this.complete = false;
        continue;
      }
      this.keys.set(doc._id, key);
      this.entries.push({ key, id: doc._id });
    }
    this.entries.sort((a, b) => this.compare(a, b));
  }

  /** The first entry not before `probe`. */
  private lowerBound(
    probe: { key: Key; id: string },
    cmp = (a: { key: Key; id: string }) => this.compare(a, probe),
  ): number {
    let lo = 0;
    let hi = this.entries.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (cmp(this.entries[mid]!) < 0) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  remove(id: string): void {
    const key = this.keys.get(id);
    if (!key) return;
    const at = this.lowerBound({ key, id });
    if (this.entries[at]?.id === id) this.entries.splice(at, 1);
    this.keys.delete(id);
  }

  put(doc: ReadDocument): void {
    this.remove(doc._id);
    const key = this.keyOf(doc);
    if (key === null) {
      this.complete = false;
      return;
    }
    const entry = { key, id: doc._id };
    this.entries.splice(this.lowerBound(entry), 0, entry);
    this.keys.set(doc._id, key);
  }

  /**
   * The ids whose first `prefix.length` fields equal `prefix`, in index order (or reversed), starting at the first
   * entry whose next field is within `bound` (a range on the first sort field, e.g. a page cursor): the entries
   * before it cannot match, so a deep page does not walk the pages before it.
   */
  *range(prefix: Key, reverse: boolean, bound: Bound = {}): Generator<string> {
    const n = prefix.length;
    const cmpPrefix = (e: { key: Key }) => {
      for (let i = 0; i < n; i++) {
        const c = compareValues(e.key[i], prefix[i]) * this.directions[i]!;
        if (c !== 0) return c;
      }
      return 0;
    };
    let start = this.lowerBound({ key: prefix, id: '' }, (e) => (cmpPrefix(e) < 0 ? -1 : 1));
    let end = this.lowerBound({ key: prefix, id: '' }, (e) => (cmpPrefix(e) <= 0 ? -1 : 1));
    if (n < this.fields.length) {
      // In iteration order the next field's values rise (+1) or fall (-1); leading entries beyond the bound are skipped.
      const rising = this.directions[n]! * (reverse ? -1 : 1) > 0;
      const limit = rising ? bound.min : bound.max;
      if (limit !== undefined) {
        const skippable = (i: number) => {
          const c = compareValues(this.entries[i]!.key[n], limit);
          return rising ? c < 0 : c > 0;
        };
        // Skippable entries form a run at the start of the iteration: find where it ends by bisection.
        let lo = start;
        let hi = end;
        while (lo < hi) {
          const mid = (lo + hi) >>> 1;
          const skip = reverse ? !skippable(mid) : skippable(mid);
          if (skip) lo = mid + 1;
          else hi = mid;
        }
        if (reverse) end = lo;
        else start = lo;
      }
    }
    if (reverse) for (let i = end - 1; i >= start; i--) yield this.entries[i]!.id;
    else for (let i = start; i < end; i++) yield this.entries[i]!.id;
  }
}

/** Inclusive bounds on one field implied by a filter (looser than the filter is fine: every document is still tested). */
export interface Bound {
  min?: unknown;
  max?: unknown;
}

/**
 * The bounds a filter puts on a field: `$lt`/`$lte`/`$gt`/`$gte` at the top level or in `$and` members, and an `$or`
 * whose every branch bounds it (a page cursor: `{ f: { $lt: X } }` or `{ f: X, … }`).
 */
function boundOf(filter: Filter, field: string): Bound {
  const out: Bound = {};
  const tighten = (b: Bound) => {
    if (b.max !== undefined && (out.max === undefined || compareValues(b.max, out.max) < 0)) out.max = b.max;
    if (b.min !== undefined && (out.min === undefined || compareValues(b.min, out.min) > 0)) out.min = b.min;
  };
  const ofCondition = (value: unknown): Bound => {
    if (isScalar(value)) return { min: value, max: value };
    if (!value || typeof value !== 'object' || Array.isArray(value)) return {};
    const ops = value as Record<string, unknown>;
    const b: Bound = {};
    for (const op of ['$lt', '$lte'] as const) if (op in ops && isScalar(ops[op])) b.max = ops[op];
    for (const op of ['$gt', '$gte'] as const) if (op in ops && isScalar(ops[op])) b.min = ops[op];
    if ('$eq' in ops && isScalar(ops.$eq)) b.min = b.max = ops.$eq;
    return b;
  };
  const visit = (f: Filter) => {
    for (const [key, value] of Object.entries(f)) {
      if (key === field) tighten(ofCondition(value));
      else if (key === '$and' && Array.isArray(value)) {
        for (const m of value) if (m && typeof m === 'object') visit(m as Filter);
      } else if (key === '$or' && Array.isArray(value) && value.length > 0) {
        const branches = value.map((m) => (m && typeof m === 'object' ? boundOf(m as Filter, field) : {}));
        // The union of the branches: bounded only where every branch is; the loosest of their bounds.
        const union: Bound = {};
        if (branches.every((b) => b.max !== undefined))
          union.max = branches.map((b) => b.max).reduce((a, b) => (compareValues(a, b) >= 0 ? a : b));
        if (branches.every((b) => b.min !== undefined))
          union.min = branches.map((b) => b.min).reduce((a, b) => (compareValues(a, b) <= 0 ? a : b));
        tighten(union);
      }
    }
  };
  visit(filter);
  return out;
}

/** The equality conditions of a filter on scalar values: top-level fields and those of `$and` members. */
function equalities(filter: Filter): Map<string, unknown> {
  const out = new Map<string, unknown>();
  const visit = (f: Filter) => {
    for (const [field, value] of Object.entries(f)) {
      if (field === '$and' && Array.isArray(value)) {
        for (const member of value)
          if (member && typeof member === 'object' && !Array.isArray(member)) visit(member as Filter);
      } else if (!field.startsWith('$') && isScalar(value)) {
        // null in MongoDB also matches a missing field; the index keeps both as the same key, so both are found.
        out.set(field, value);
      } else if (
        !field.startsWith('$') &&
        value &&
        typeof value === 'object' &&
        !Array.isArray(value) &&
        Object.keys(value).length === 1 &&
        '$eq' in value &&
        isScalar((value as { $eq: unknown }).$eq)
      ) {
        out.set(field, (value as { $eq: unknown }).$eq);
      }
    }
  };
  visit(filter);
  return out;
}

export interface IndexPlan {
  index: MemoryIndex;
  prefix: unknown[];
  reverse: boolean;
  /** Bounds on the first field after the prefix, where the walk starts. */
  bound: Bound;
}

/**
 * The index that serves a query: its leading fields are all equal to a value in the filter, and the remaining
 * fields are exactly the requested sort (or its reverse). Without a sort (a count), any equality prefix serves.
 * The longest prefix wins. Null when none serves.
 */
export function planQuery(indexes: readonly MemoryIndex[], filter: Filter, sort: Sort | undefined): IndexPlan | null {
  const eq = equalities(filter);
  const sortFields = sort ? Object.keys(sort) : [];
  const sortDirs = sort ? Object.values(sort) : [];
  let best: IndexPlan | null = null;
  for (const index of indexes) {
    if (!index.complete) continue;
    let n = 0;
    while (n < index.fields.length && eq.has(index.fields[n]!)) n++;
    // Try every prefix length from the longest: the sort must be the rest of the index.
    for (let k = n; k >= 0; k--) {
      let reverse: boolean | null = null;
      if (sort) {
        const rest = index.fields.slice(k);
        if (rest.length !== sortFields.length || rest.some((f, i) => f !== sortFields[i])) continue;
        const same = rest.every((_, i) => index.directions[k + i] === sortDirs[i]);
        const opposite = rest.every((_, i) => index.directions[k + i] === -sortDirs[i]!);
        if (!same && !opposite) continue;
        reverse = !same;
      } else if (k === 0) continue;
      if (!best || k > best.prefix.length) {
        best = {
          index,
          prefix: index.fields.slice(0, k).map((f) => eq.get(f)),
          reverse: reverse ?? false,
          bound: k < index.fields.length ? boundOf(filter, index.fields[k]!) : {},
        };
      }
      break;
    }
  }
  return best;
}

/** Walks a plan: ids in order, each document tested against the whole filter; counts what it examined. */
export function* runPlan(
  plan: IndexPlan,
  filter: Filter,
  docs: ReadonlyMap<string, ReadDocument>,
  stats: { examined: number },
): Generator<ReadDocument> {
  const query = new Query(filter);
  for (const id of plan.index.range(plan.prefix, plan.reverse, plan.bound)) {
    const doc = docs.get(id);
    if (!doc) continue;
    stats.examined++;
    if (query.test(doc)) yield doc;
  }
}
