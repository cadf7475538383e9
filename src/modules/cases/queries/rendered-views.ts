/**
 * Case views already rendered, kept for the callers who read them again. Back-office screens re-read the
 * cases they work on far more often than those cases change, and rendering (parse the document, build the
 * view, serialise its labels) was most of a read's time.
 *
 * An entry is exact, never merely recent: it is used only while the document's version (from the store,
 * without reading the document) is the one it was rendered from, for the same caller, and before the first
 * instant at which the view would read differently by time alone. Least recently used entries leave first
 * once the text kept passes the budget. The text is kept as UTF-8, as it is sent: a third less memory than
 * a string of Cyrillic labels, and nothing to encode per answer.
 */
import { LRUCache } from 'lru-cache';

export interface RenderedViewStats {
  hits: number;
  misses: number;
  entries: number;
  /** Bytes of text kept, the measure of the budget. */
  bytes: number;
}

/** Makes the answer from the view's text (without its position) and the model position it names. */
export type Compose = (json: Buffer, position: number) => Buffer;

interface Entry {
  version: number;
  /** The store's change mark when `version` was last found to be the document's: while it stands, nothing changed. */
  mark: string | null;
  validUntil: number;
  /** The last answer made, at `position`; its first `jsonLength` bytes are the view without its position. */
  answer: Buffer;
  position: number;
  jsonLength: number;
}

export class RenderedViews {
  /** Sized by the bytes of each answer; lookups peek, and only a served entry counts as used. */
  private readonly entries: LRUCache<string, Entry>;
  private hits = 0;
  private misses = 0;

  /** @param budgetBytes most text kept. */
  constructor(private readonly budgetBytes: number) {
    // A budget of 0 keeps nothing (put never stores an answer larger than the budget); the cache still needs a size.
    this.entries = new LRUCache({
      maxSize: Math.max(1, budgetBytes),
      sizeCalculation: (entry) => Math.max(1, entry.answer.length),
    });
  }

  /**
   * The answer from the view kept for `key` if the store has not changed since its version was last confirmed (the
   * same change mark, not null): no need to ask the store for the document's version. Null otherwise, counting nothing.
   */
  unchangedSince(key: string, mark: string | null, now: number, position: number, compose: Compose): Buffer | null {
    const entry = this.entries.peek(key);
    if (mark === null || !entry || entry.mark !== mark || now >= entry.validUntil) return null;
    this.hits++;
    return this.serve(key, entry, position, compose);
  }

  /** The answer at `position` from the view kept for `key`, if it still stands; the same Buffer again while the position stays. */
  answer(
    key: string,
    version: number,
    mark: string | null,
    now: number,
    position: number,
    compose: Compose,
  ): Buffer | null {
    const entry = this.entries.peek(key);
    if (!entry || entry.version !== version || now >= entry.validUntil) {
      this.misses++;
      return null;
    }
    this.hits++;
    entry.mark = mark;
    return this.serve(key, entry, position, compose);
  }

  private serve(key: string, entry: Entry, position: number, compose: Compose): Buffer {
    if (entry.position === position) {
      this.entries.get(key);
      return entry.answer;
    }
    // Set again, so the cache counts the new answer's size (and evicts what no longer fits).
    const served = { ...entry, answer: compose(entry.answer.subarray(0, entry.jsonLength), position), position };
    this.entries.set(key, served);
    return served.answer;
  }

  /** Keeps a view just rendered from the document at `version` (looked up at `mark`), and answers with it at `position`. */
  put(
    key: string,
    version: number,
    mark: string | null,
    validUntil: number,
    json: Buffer,
    position: number,
    compose: Compose,
  ): Buffer {
    const answer = compose(json, position);
    if (answer.length > this.budgetBytes) {
      this.entries.delete(key);
      return answer;
    }
    this.entries.set(key, { version, mark, validUntil, answer, position, jsonLength: json.length });
    return answer;
  }

  stats(): RenderedViewStats {
    return { hits: this.hits, misses: this.misses, entries: this.entries.size, bytes: this.entries.calculatedSize };
  }
}
